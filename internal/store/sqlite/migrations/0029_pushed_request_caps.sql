-- RFC 9126 pushed requests are capped per client and, for clients that
-- authenticate with none, per source address (par.Limits): source is the
-- caller's address for those, '' otherwise; the indexes count live rows.
ALTER TABLE pushed_requests ADD COLUMN source TEXT NOT NULL DEFAULT '';
CREATE INDEX pushed_requests_client ON pushed_requests (client_id, expires_at);
CREATE INDEX pushed_requests_source ON pushed_requests (source, expires_at) WHERE source <> '';
