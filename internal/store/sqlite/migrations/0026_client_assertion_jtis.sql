-- Spent private_key_jwt client assertions (RFC 7523 §3 jti): a jti is
-- kept per client until its assertion expires, so a replay on any node
-- is refused; internal/sweep deletes expired rows.
CREATE TABLE client_assertion_jtis (
    client_id  TEXT    NOT NULL,
    jti        TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX client_assertion_jtis_expires ON client_assertion_jtis (expires_at);
