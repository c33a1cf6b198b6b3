-- RFC 9126 pushed authorization requests, keyed by the SHA-256 of the
-- request_uri. A request is deleted when the authorization endpoint
-- consumes it (single use); expired ones are pruned on later pushes.
CREATE TABLE pushed_requests (
    hash       TEXT NOT NULL PRIMARY KEY,
    client_id  TEXT NOT NULL,
    params     TEXT NOT NULL, -- application/x-www-form-urlencoded
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX pushed_requests_expires ON pushed_requests (expires_at);
