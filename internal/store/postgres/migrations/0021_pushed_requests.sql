-- RFC 9126 pushed authorization requests, keyed by the SHA-256 of the
-- request_uri. A request is deleted when the authorization endpoint
-- consumes it (single use); expired ones are pruned on later pushes.
CREATE TABLE pushed_requests (
    hash       text COLLATE "C" PRIMARY KEY,
    client_id  text NOT NULL,
    params     text NOT NULL, -- application/x-www-form-urlencoded
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX pushed_requests_expires ON pushed_requests (expires_at);
