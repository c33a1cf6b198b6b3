// Package client is the domain core for OAuth client applications: the one
// model every registration dialect maps onto, its validation rules, secret
// generation and verification. It knows nothing of HTTP or SQL.
package client

import (
	"errors"
	"slices"
	"time"
)

// Type says whether a client can keep a secret (RFC 6749 §2.1).
type Type string

const (
	Confidential Type = "confidential"
	Public       Type = "public"
)

// Grant types the server implements. device_code joins once supported.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantClientCredentials = "client_credentials"
	GrantRefreshToken      = "refresh_token"
	GrantPassword          = "password"
)

// KnownGrantTypes lists every grant type a client may be registered for.
var KnownGrantTypes = []string{GrantAuthorizationCode, GrantClientCredentials, GrantRefreshToken, GrantPassword}

// Token endpoint authentication methods (RFC 7591 §2) a client may
// register. The protocol core (oauth2/clientauth) implements one method
// for each; this is the one place their names are declared.
const (
	AuthMethodSecretBasic = "client_secret_basic"
	AuthMethodSecretPost  = "client_secret_post"
	AuthMethodNone        = "none"
	// AuthMethodPrivateKeyJWT is declared in jwks.go.
)

// AuthMethods lists every method a client may register, in the order
// discovery advertises them.
var AuthMethods = []string{AuthMethodSecretBasic, AuthMethodSecretPost, AuthMethodNone, AuthMethodPrivateKeyJWT}

// DefaultAuthMethod is the method a client of type t gets when its
// registration names none: RFC 7591 §2's default for confidential clients,
// and none for public ones, which hold no secret.
func DefaultAuthMethod(t Type) string {
	if t == Public {
		return AuthMethodNone
	}
	return AuthMethodSecretBasic
}

// ID token signing algorithms a client may choose; RS256 is the OpenID
// Connect default.
const (
	IDTokenAlgRS256 = "RS256"
	IDTokenAlgES256 = "ES256"
)

// IDTokenAlgs are the id_token_signed_response_alg values accepted, the
// default first.
var IDTokenAlgs = []string{IDTokenAlgRS256, IDTokenAlgES256}

// DefaultBrandID is the tenant every client belongs to until tenants exist.
const DefaultBrandID = "default"

// Client is a registered OAuth client application. It carries every field
// any of the three registration dialects uses.
type Client struct {
	ID           string // internal, stable identifier (UUIDv7, sorts by creation)
	ClientID     string // the OAuth client_id
	Name         string
	Type         Type
	RedirectURIs []string
	// PostLogoutRedirectURIs are where RP-initiated logout may send the
	// browser back to (validated like RedirectURIs).
	PostLogoutRedirectURIs []string
	AllowedScopes          []string
	AllowedOrigins         []string
	GrantTypes             []string
	// TokenEndpointAuthMethod is how the client authenticates at the
	// token, introspection and revocation endpoints (one of AuthMethods).
	TokenEndpointAuthMethod string
	ClientURI               string // "" means none
	LogoURI                 string // "" means none
	OwnerID                 string // subject of the token that created it; "" means none
	BrandID                 string
	FirstParty              bool
	Enabled                 bool
	BotUserID               string // tokens of an M2M client carry this as sub; "" means none
	// IDTokenAlg is id_token_signed_response_alg (OpenID Connect Dynamic
	// Client Registration §2): how the client's ID tokens are signed, one
	// of IDTokenAlgs.
	IDTokenAlg string
	Secrets    []SecretHash
	// RequirePushedRequests: the authorization endpoint takes this
	// client's requests only by RFC 9126 request_uri
	// (require_pushed_authorization_requests).
	RequirePushedRequests bool
	// JWKS is the client's public JWK Set (RFC 7591 jwks), compact JSON,
	// and JWKSURI where it is published (jwks_uri); a private_key_jwt
	// client has exactly one of them, any other client neither.
	JWKS    []byte
	JWKSURI string
	// AssertionAlg is token_endpoint_auth_signing_alg: the one algorithm
	// its client assertions must use ("" means any of AssertionAlgs).
	AssertionAlg string
	// RegistrationTokenHash is the keyed hash of the RFC 7592 registration
	// access token; nil for clients not made by dynamic registration.
	RegistrationTokenHash []byte
	CreatedAt             time.Time
	UpdatedAt             time.Time
}

// SecretHash is a stored client secret: only its keyed hash is kept.
type SecretHash struct {
	Hash      []byte
	CreatedAt time.Time
	ExpiresAt time.Time // zero: does not expire
}

// Live reports whether the secret may still be used at now.
func (s SecretHash) Live(now time.Time) bool {
	return s.ExpiresAt.IsZero() || now.Before(s.ExpiresAt)
}

// HasGrant reports whether the client is registered for grant type g.
func (c Client) HasGrant(g string) bool { return slices.Contains(c.GrantTypes, g) }

// Subject is the sub claim of tokens the client obtains for itself.
func (c Client) Subject() string {
	if c.BotUserID != "" {
		return c.BotUserID
	}
	return c.ClientID
}

var (
	// ErrNotFound means no client (or referenced record) has that identifier.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a uniqueness or version precondition failed.
	ErrConflict = errors.New("conflict")
	// ErrAuthentication means client authentication failed. Callers must not
	// tell the requester whether the client exists.
	ErrAuthentication = errors.New("client authentication failed")
	// ErrDisabled means the client exists but is disabled.
	ErrDisabled = errors.New("client is disabled")
)
