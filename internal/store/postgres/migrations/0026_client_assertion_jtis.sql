-- Spent private_key_jwt client assertions (RFC 7523 §3 jti): a jti is
-- kept per client until its assertion expires, so a replay on any node
-- is refused; internal/sweep deletes expired rows.
CREATE TABLE client_assertion_jtis (
    client_id  text        NOT NULL,
    jti        text        NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX client_assertion_jtis_expires ON client_assertion_jtis (expires_at);
