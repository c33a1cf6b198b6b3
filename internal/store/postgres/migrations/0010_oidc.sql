-- Remembered consent: the scopes a user allowed a client at the
-- authorization endpoint (space-separated, sorted), one row per user and
-- client, replaced when the user allows more.
CREATE TABLE consents (
    user_id    text COLLATE "C" NOT NULL,
    client_id  text COLLATE "C" NOT NULL,
    scopes     text NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
-- OpenID Connect RP-Initiated Logout: where a client may have the browser
-- sent back after signing out.
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris text[] NOT NULL DEFAULT '{}'
    CHECK (array_ndims(post_logout_redirect_uris) IS NULL OR (array_ndims(post_logout_redirect_uris) = 1 AND array_position(post_logout_redirect_uris, NULL) IS NULL));
