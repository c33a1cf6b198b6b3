-- Initial schema. Identifiers and keyset columns use COLLATE "C" so that
-- ordering and "id > $cursor" comparisons are plain byte order, as in the
-- SQLite backend, whatever collation the database was created with (a
-- linguistic collation such as en_US ignores punctuation, which would
-- reorder UUIDs and break keyset pagination across backends).

-- Users (human and bot). Bot users own M2M clients and cannot log in.
CREATE TABLE users (
    id            text COLLATE "C" PRIMARY KEY,
    username      text COLLATE "C" NOT NULL UNIQUE,
    display_name  text NOT NULL DEFAULT '',
    bot           boolean NOT NULL,
    password_hash text,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX users_created ON users (created_at, id);

CREATE TABLE clients (
    id              text COLLATE "C" PRIMARY KEY,
    client_id       text COLLATE "C" NOT NULL UNIQUE,
    client_name     text NOT NULL,
    client_type     text NOT NULL CHECK (client_type IN ('confidential', 'public')),
    -- Lists keep their order; one-dimensional and free of NULL elements so
    -- they map one-to-one onto Go []string.
    redirect_uris   text[] NOT NULL CHECK (array_ndims(redirect_uris) IS NULL OR (array_ndims(redirect_uris) = 1 AND array_position(redirect_uris, NULL) IS NULL)),
    allowed_scopes  text[] NOT NULL CHECK (array_ndims(allowed_scopes) IS NULL OR (array_ndims(allowed_scopes) = 1 AND array_position(allowed_scopes, NULL) IS NULL)),
    allowed_origins text[] NOT NULL CHECK (array_ndims(allowed_origins) IS NULL OR (array_ndims(allowed_origins) = 1 AND array_position(allowed_origins, NULL) IS NULL)),
    grant_types     text[] NOT NULL CHECK (array_ndims(grant_types) IS NULL OR (array_ndims(grant_types) = 1 AND array_position(grant_types, NULL) IS NULL)),
    client_uri      text,
    logo_uri        text,
    owner_id        text,
    brand_id        text NOT NULL,
    is_first_party  boolean NOT NULL,
    enabled         boolean NOT NULL,
    bot_user_id     text COLLATE "C" REFERENCES users (id),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX clients_created ON clients (created_at, id);
-- Deleting a user must look for clients still naming it as their bot;
-- without this index that foreign-key check scans every client.
CREATE INDEX clients_bot_user ON clients (bot_user_id) WHERE bot_user_id IS NOT NULL;

-- Only keyed hashes of secrets are stored; a client has at most two live.
CREATE TABLE client_secrets (
    client_pk  text COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    hash       bytea NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    PRIMARY KEY (client_pk, hash)
);

CREATE TABLE signing_keys (
    kid        text COLLATE "C" PRIMARY KEY,
    algorithm  text NOT NULL,
    private    bytea NOT NULL, -- sealed with the master key
    public     bytea NOT NULL, -- public JWK JSON, kept as the exact bytes written
    created_at timestamptz NOT NULL,
    sign_from  timestamptz NOT NULL,
    retire_at  timestamptz
);

CREATE TABLE settings (
    name  text COLLATE "C" PRIMARY KEY,
    value bytea NOT NULL
);

CREATE TABLE revoked_tokens (
    jti        text COLLATE "C" PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);

-- Every admin change, written in the same transaction as the change.
-- details is json rather than jsonb: jsonb re-formats and re-orders the
-- object, and the event must read back byte for byte as it was recorded.
CREATE TABLE audit_events (
    id              text COLLATE "C" PRIMARY KEY,
    time            timestamptz NOT NULL,
    actor_subject   text NOT NULL,
    actor_client_id text NOT NULL,
    action          text NOT NULL,
    target_type     text NOT NULL,
    target_id       text NOT NULL,
    details         json NOT NULL
);
CREATE INDEX audit_events_time ON audit_events (time, id);
CREATE INDEX audit_events_target ON audit_events (target_id);
