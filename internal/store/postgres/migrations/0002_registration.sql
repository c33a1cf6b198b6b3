-- RFC 7592: the keyed hash of a dynamically registered client's
-- registration access token; NULL for clients made any other way.
ALTER TABLE clients ADD COLUMN registration_token_hash bytea;
