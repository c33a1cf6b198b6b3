-- Refresh tokens (SPEC §7): a family per grant, holding exactly one live
-- refresh token (current_hash) and the one it replaced (prev_hash, for the
-- overlap period); every token a family ever had is in refresh_tokens so
-- that a rotated one presented again is recognised as reuse. Hashes are
-- HMAC-SHA-256 under a sealed server key, hex. revoked_grants records
-- revoked grant ids (the grant_id claim of access tokens) until every
-- access token of the grant has expired.
CREATE TABLE refresh_families (
    id              text COLLATE "C" PRIMARY KEY,
    client_id       text NOT NULL,
    user_id         text NOT NULL,
    scopes          text NOT NULL,  -- space-separated
    auth_time       timestamptz,
    session_id      text NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    idle_expires_at timestamptz NOT NULL,
    current_hash    text NOT NULL,
    prev_hash       text NOT NULL DEFAULT '',
    rotated_at      timestamptz,
    revoked_at      timestamptz
);
CREATE INDEX refresh_families_user ON refresh_families (user_id, created_at);
CREATE INDEX refresh_families_expires ON refresh_families (expires_at);
CREATE INDEX refresh_families_idle ON refresh_families (idle_expires_at);
CREATE INDEX refresh_families_revoked ON refresh_families (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE TABLE refresh_tokens (
    hash      text COLLATE "C" PRIMARY KEY,
    family_id text NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE TABLE revoked_grants (
    grant_id   text COLLATE "C" PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX revoked_grants_expires ON revoked_grants (expires_at);
