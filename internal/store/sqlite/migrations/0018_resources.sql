-- Registered resources (RFC 8707 resource indicators): the APIs access
-- tokens can be issued for. identifier is the canonical resource URI, the
-- tokens' aud; scopes is a JSON array of the scopes it defines.
CREATE TABLE resources (
    id               TEXT NOT NULL PRIMARY KEY,
    identifier       TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    scopes           TEXT NOT NULL DEFAULT '[]',  -- JSON array, sorted
    access_token_ttl INTEGER NOT NULL DEFAULT 0,  -- seconds; 0: the server default
    created_at       INTEGER NOT NULL,            -- Unix microseconds, UTC
    updated_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX resources_created ON resources (created_at, id);
-- The resources an authorization code was issued for (space-separated
-- canonical identifiers; '' for none).
ALTER TABLE auth_codes ADD COLUMN resources TEXT NOT NULL DEFAULT '';
