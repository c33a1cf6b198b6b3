-- Users (human and bot). Bot users own M2M clients and cannot log in.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL DEFAULT '',
    bot           INTEGER NOT NULL CHECK (bot IN (0, 1)),
    password_hash TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE clients (
    id              TEXT PRIMARY KEY,
    client_id       TEXT NOT NULL UNIQUE,
    client_name     TEXT NOT NULL,
    client_type     TEXT NOT NULL CHECK (client_type IN ('confidential', 'public')),
    redirect_uris   TEXT NOT NULL,  -- JSON array
    allowed_scopes  TEXT NOT NULL,  -- JSON array
    allowed_origins TEXT NOT NULL,  -- JSON array
    grant_types     TEXT NOT NULL,  -- JSON array
    client_uri      TEXT,
    logo_uri        TEXT,
    owner_id        TEXT,
    brand_id        TEXT NOT NULL,
    is_first_party  INTEGER NOT NULL CHECK (is_first_party IN (0, 1)),
    enabled         INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    bot_user_id     TEXT REFERENCES users (id),
    created_at      INTEGER NOT NULL, -- Unix microseconds, UTC
    updated_at      INTEGER NOT NULL
) STRICT;

-- Only keyed hashes of secrets are stored; a client has at most two live.
CREATE TABLE client_secrets (
    client_pk  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    hash       BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (client_pk, hash)
) STRICT;

CREATE TABLE signing_keys (
    kid        TEXT PRIMARY KEY,
    algorithm  TEXT NOT NULL,
    private    BLOB NOT NULL, -- sealed with the master key
    public     BLOB NOT NULL, -- public JWK JSON
    created_at INTEGER NOT NULL,
    sign_from  INTEGER NOT NULL,
    retire_at  INTEGER
) STRICT;

CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;

CREATE TABLE revoked_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);

CREATE INDEX clients_created ON clients (created_at, id);

-- Every admin change, written in the same transaction as the change.
CREATE TABLE audit_events (
    id              TEXT PRIMARY KEY,
    time            INTEGER NOT NULL,
    actor_subject   TEXT NOT NULL,
    actor_client_id TEXT NOT NULL,
    action          TEXT NOT NULL,
    target_type     TEXT NOT NULL,
    target_id       TEXT NOT NULL,
    details         TEXT NOT NULL -- JSON, redacted
) STRICT;
CREATE INDEX audit_events_time ON audit_events (time, id);
CREATE INDEX audit_events_target ON audit_events (target_id);
