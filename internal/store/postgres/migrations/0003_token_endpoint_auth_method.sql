-- RFC 7591 token_endpoint_auth_method: how the client authenticates at
-- the token endpoint. Existing clients get their type's default: none for
-- public clients, client_secret_basic for confidential ones. The client
-- service always writes it; the DEFAULT only fills the existing rows.
ALTER TABLE clients ADD COLUMN token_endpoint_auth_method text NOT NULL DEFAULT 'client_secret_basic'
    CHECK (token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post', 'none'));
UPDATE clients SET token_endpoint_auth_method = 'none' WHERE client_type = 'public';
