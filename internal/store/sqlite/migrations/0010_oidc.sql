-- Remembered consent: the scopes a user allowed a client at the
-- authorization endpoint (space-separated, sorted), one row per user and
-- client, replaced when the user allows more.
CREATE TABLE consents (
    user_id    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    updated_at INTEGER NOT NULL,   -- Unix microseconds, UTC
    PRIMARY KEY (user_id, client_id)
) STRICT;
-- OpenID Connect RP-Initiated Logout: where a client may have the browser
-- sent back after signing out.
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';  -- JSON array
