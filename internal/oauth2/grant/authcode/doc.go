// Package authcode implements the authorization code grant (RFC 6749
// §4.1) with PKCE (RFC 7636, S256 only) at the token endpoint, and the
// stored code it redeems: issued at the authorization endpoint
// (internal/web), kept only hashed, single use, bound to its client,
// redirect URI, PKCE challenge, scopes, nonce and sign-in.
package authcode
