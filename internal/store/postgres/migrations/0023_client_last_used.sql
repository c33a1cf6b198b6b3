-- When an anonymous (open dynamic registration) client was last used, so
-- abandoned ones can be deleted; NULL until first used.
ALTER TABLE clients ADD COLUMN last_used_at timestamptz;
CREATE INDEX clients_owner ON clients (owner_id) WHERE owner_id IS NOT NULL;
