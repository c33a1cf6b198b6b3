-- Sign-in (authorization code flow): browser sessions and authorization
-- codes. Both are keyed by the SHA-256 of the secret the browser or client
-- holds, never the secret itself. A code is marked used, not deleted, on
-- redemption, so a second redemption is told apart from an unknown code.
CREATE TABLE sessions (
    token_hash text COLLATE "C" PRIMARY KEY,
    id         text NOT NULL,
    user_id    text NOT NULL DEFAULT '',
    auth_time  timestamptz,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE TABLE auth_codes (
    hash                  text COLLATE "C" PRIMARY KEY,
    client_id             text NOT NULL,
    redirect_uri          text NOT NULL,
    code_challenge        text NOT NULL,
    code_challenge_method text NOT NULL,
    scopes                text NOT NULL,
    nonce                 text NOT NULL,
    user_id               text NOT NULL,
    session_id            text NOT NULL,
    auth_time             timestamptz NOT NULL,
    created_at            timestamptz NOT NULL,
    expires_at            timestamptz NOT NULL,
    used_at               timestamptz
);
CREATE INDEX auth_codes_expires ON auth_codes (expires_at);
