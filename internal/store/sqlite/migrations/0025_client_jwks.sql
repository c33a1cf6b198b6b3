-- private_key_jwt (RFC 7523 §2.2): the client's public JWK Set, inline
-- (compact JSON) or by URL, and its token_endpoint_auth_signing_alg.
--
-- SQLite cannot alter a CHECK constraint, so the one migration 0003 put on
-- token_endpoint_auth_method is widened in place, by the procedure the
-- SQLite documentation gives for loosening CHECK constraints ("Making
-- Other Kinds Of Table Schema Changes"): the stored CREATE TABLE text is
-- edited (no row needs rewriting, since every stored value still passes),
-- this connection reloads it (RESET), and the ALTER TABLE statements after
-- it bump the schema version, so every other connection reloads it too.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, '''client_secret_post'', ''none'')', '''client_secret_post'', ''none'', ''private_key_jwt'')')
 WHERE type = 'table' AND name = 'clients';
PRAGMA writable_schema = RESET; -- off, and this connection reloads the schema
ALTER TABLE clients ADD COLUMN jwks TEXT;
ALTER TABLE clients ADD COLUMN jwks_uri TEXT;
ALTER TABLE clients ADD COLUMN token_endpoint_auth_signing_alg TEXT;
