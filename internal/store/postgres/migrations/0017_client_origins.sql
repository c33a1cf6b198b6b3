-- The CORS origin index (SPEC §7): a preflight asks "does any enabled
-- client allow this origin?" with allowed_origins @> ARRAY[origin], which
-- this GIN index answers without scanning every client.
CREATE INDEX clients_allowed_origins ON clients USING gin (allowed_origins);
