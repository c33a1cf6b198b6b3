-- Sign-in (authorization code flow): browser sessions and authorization
-- codes. Both are keyed by the SHA-256 of the secret the browser or client
-- holds, never the secret itself. A code is marked used, not deleted, on
-- redemption, so a second redemption is told apart from an unknown code.
CREATE TABLE sessions (
    token_hash TEXT NOT NULL PRIMARY KEY,
    id         TEXT NOT NULL,
    user_id    TEXT NOT NULL DEFAULT '',
    auth_time  INTEGER,            -- Unix microseconds, UTC; NULL before sign-in
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE TABLE auth_codes (
    hash                  TEXT NOT NULL PRIMARY KEY,
    client_id             TEXT NOT NULL,
    redirect_uri          TEXT NOT NULL,
    code_challenge        TEXT NOT NULL,
    code_challenge_method TEXT NOT NULL,
    scopes                TEXT NOT NULL,
    nonce                 TEXT NOT NULL,
    user_id               TEXT NOT NULL,
    session_id            TEXT NOT NULL,
    auth_time             INTEGER NOT NULL,
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL,
    used_at               INTEGER
) STRICT;
CREATE INDEX auth_codes_expires ON auth_codes (expires_at);
