-- private_key_jwt (RFC 7523 §2.2): the client's public JWK Set, inline
-- (compact JSON) or by URL, and its token_endpoint_auth_signing_alg.
ALTER TABLE clients DROP CONSTRAINT clients_token_endpoint_auth_method_check;
ALTER TABLE clients ADD CONSTRAINT clients_token_endpoint_auth_method_check
    CHECK (token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post', 'none', 'private_key_jwt'));
ALTER TABLE clients ADD COLUMN jwks text;
ALTER TABLE clients ADD COLUMN jwks_uri text;
ALTER TABLE clients ADD COLUMN token_endpoint_auth_signing_alg text;
