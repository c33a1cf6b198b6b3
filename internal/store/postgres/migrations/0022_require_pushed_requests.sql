-- RFC 9126 require_pushed_authorization_requests per client.
ALTER TABLE clients ADD COLUMN require_pushed_requests boolean NOT NULL DEFAULT false;
