-- Registered resources (RFC 8707 resource indicators): the APIs access
-- tokens can be issued for. identifier is the canonical resource URI, the
-- tokens' aud; scopes are the scopes it defines.
CREATE TABLE resources (
    id               text COLLATE "C" PRIMARY KEY,
    identifier       text COLLATE "C" NOT NULL UNIQUE,
    name             text NOT NULL,
    scopes           text[] NOT NULL DEFAULT '{}'
        CHECK (array_ndims(scopes) IS NULL OR (array_ndims(scopes) = 1 AND array_position(scopes, NULL) IS NULL)),
    access_token_ttl integer NOT NULL DEFAULT 0 CHECK (access_token_ttl >= 0),  -- seconds; 0: the server default
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX resources_created ON resources (created_at, id);
CREATE INDEX resources_scopes ON resources USING gin (scopes);
-- The resources an authorization code was issued for (space-separated
-- canonical identifiers; '' for none).
ALTER TABLE auth_codes ADD COLUMN resources text NOT NULL DEFAULT '';
