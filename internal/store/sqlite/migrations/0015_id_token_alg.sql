-- OpenID Connect Dynamic Client Registration's id_token_signed_response_alg:
-- the algorithm of the client's ID tokens (RS256, the OpenID Connect
-- default, or ES256).
ALTER TABLE clients ADD COLUMN id_token_signed_response_alg TEXT NOT NULL DEFAULT 'RS256';
