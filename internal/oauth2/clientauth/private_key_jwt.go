package clientauth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/oauth2"
)

// private_key_jwt (RFC 7523 §2.2 and §3, OpenID Connect Core §9): the
// client proves itself with a JWT it signed with a private key whose
// public half it registered, inline (jwks) or by URL (jwks_uri).

// AssertionType is the one client_assertion_type understood (RFC 7523 §2.2).
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Defaults and bounds.
const (
	// MaxAssertionBytes bounds a client_assertion; a JWS signed with an
	// RSA-4096 key and ordinary claims is well under 1 KB.
	MaxAssertionBytes = 8 << 10
	// DefaultMaxLifetime bounds how far ahead of now an assertion's exp
	// may be: a client signs a fresh one for every request (RFC 7523 §3
	// lets the server refuse an exp unreasonably far in the future), and
	// its jti is kept until then.
	DefaultMaxLifetime = 5 * time.Minute
	// DefaultLeeway is the clock skew allowed on exp, nbf and iat.
	DefaultLeeway = 30 * time.Second
	// maxJTILen bounds a jti, which is stored.
	maxJTILen = 256
)

// KeySource gives the keys a client publishes at its jwks_uri.
type KeySource interface {
	// JWKS returns the verification keys published at uri. refresh asks
	// for a fresh copy because a kid was not found; the source may answer
	// from its cache instead when it fetched uri very recently.
	JWKS(ctx context.Context, uri string, refresh bool) ([]jose.JSONWebKey, error)
}

// PrivateKeyJWT is private_key_jwt.
type PrivateKeyJWT struct {
	Clients Clients
	// Keys fetches jwks_uri key sets (nil: clients registered with a
	// jwks_uri cannot authenticate).
	Keys KeySource
	// Spent records every accepted assertion's jti until it expires.
	Spent AssertionRepository
	// Audiences are the values an assertion's aud may name: the issuer
	// identifier and the URLs of the endpoints that authenticate clients
	// (token, PAR, introspection, revocation), as OpenID Connect Core §9
	// and RFC 7523 §3 allow.
	Audiences []string
	// Now is the clock (nil: time.Now); MaxLifetime and Leeway 0 take
	// DefaultMaxLifetime and DefaultLeeway.
	Now         func() time.Time
	MaxLifetime time.Duration
	Leeway      time.Duration

	// inline caches parsed inline key sets (Default sets it; nil: parse
	// every time).
	inline *inlineKeys
}

// DefaultInlineKeySets bounds the parsed inline key sets kept.
const DefaultInlineKeySets = 4096

func (PrivateKeyJWT) Name() string { return client.AuthMethodPrivateKeyJWT }

// Accepts only private_key_jwt: a client that holds a key has no secret.
func (PrivateKeyJWT) Accepts(presented string) bool {
	return presented == client.AuthMethodPrivateKeyJWT
}

// SigningAlgs are the algorithms an assertion may be signed with
// (token_endpoint_auth_signing_alg_values_supported).
func (PrivateKeyJWT) SigningAlgs() []string { return slices.Clone(client.AssertionAlgs) }

// assertionAlgs are client.AssertionAlgs as go-jose names them.
var assertionAlgs = func() []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, len(client.AssertionAlgs))
	for i, a := range client.AssertionAlgs {
		out[i] = jose.SignatureAlgorithm(a)
	}
	return out
}()

// assertionFailed is an invalid_client answer that says what was wrong
// with an assertion; used only once the client is known to hold the key,
// or for faults that do not depend on the client.
func assertionFailed(format string, args ...any) *oauth2.Error {
	return oauth2.Errorf(oauth2.CodeInvalidClient, "client assertion "+format, args...)
}

// parseAssertion parses a client_assertion's JWS (allowed algorithms
// only, one signature) and reads its claims without verifying them; the
// claims are trusted only after Authenticate verified the signature.
func parseAssertion(raw string) (*jwt.JSONWebToken, jwt.Claims, error) {
	if len(raw) > MaxAssertionBytes {
		return nil, jwt.Claims{}, assertionFailed("is larger than %d bytes", MaxAssertionBytes)
	}
	tok, err := jwt.ParseSigned(raw, assertionAlgs)
	if err != nil {
		return nil, jwt.Claims{}, assertionFailed("is not a JWS signed with one of %s", strings.Join(client.AssertionAlgs, ", ")).WithCause(err)
	}
	if len(tok.Headers) != 1 {
		return nil, jwt.Claims{}, assertionFailed("must carry exactly one signature")
	}
	var cl jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&cl); err != nil {
		return nil, jwt.Claims{}, assertionFailed("has malformed claims").WithCause(err)
	}
	return tok, cl, nil
}

func (m PrivateKeyJWT) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Authenticate verifies the assertion in cr: the client must be
// registered for private_key_jwt, the signature must verify with one of
// its keys, the claims must hold (iss = sub = client_id, aud, exp, nbf,
// iat, jti) and the jti must be unspent; only then is the jti recorded, so
// a refused assertion changes nothing.
func (m PrivateKeyJWT) Authenticate(ctx context.Context, cr oauth2.Credentials) (client.Client, error) {
	if !client.ValidID(cr.ClientID) {
		return client.Client{}, failed(errors.New("malformed client_id"))
	}
	tok, cl, err := parseAssertion(cr.Assertion)
	if err != nil {
		return client.Client{}, err
	}
	c, err := m.Clients.Lookup(ctx, cr.ClientID)
	switch {
	case errors.Is(err, client.ErrNotFound):
		return client.Client{}, failed(err)
	case err != nil:
		return client.Client{}, fmt.Errorf("look up client: %w", err)
	case c.TokenEndpointAuthMethod != client.AuthMethodPrivateKeyJWT:
		// Same answer as for an unknown id: no client_id enumeration.
		return client.Client{}, failed(errors.New("the client is not registered for private_key_jwt"))
	}
	if err := m.verify(ctx, c, tok, &cl); err != nil {
		return client.Client{}, err
	}
	// The signature holds: from here on, saying why reveals nothing to a
	// stranger.
	if err := m.checkClaims(c, tok, cl); err != nil {
		return client.Client{}, err
	}
	if !c.Enabled {
		return client.Client{}, (&oauth2.Error{Code: oauth2.CodeInvalidClient, Description: "client is disabled"}).WithCause(client.ErrDisabled)
	}
	leeway := orDefault(m.Leeway, DefaultLeeway)
	err = m.Spent.SpendAssertion(ctx, c.ClientID, cl.ID, cl.Expiry.Time().Add(leeway), m.now())
	switch {
	case errors.Is(err, ErrReplayed):
		return client.Client{}, assertionFailed("was already used (its jti is spent); sign a new one for every request").WithCause(err)
	case err != nil:
		return client.Client{}, fmt.Errorf("record client assertion: %w", err)
	}
	return c, nil
}

// verify checks the signature with the client's keys: the key named by
// the header's kid, or without a kid every key that fits the algorithm.
// An unknown kid refetches a jwks_uri once (the source rate-limits it).
// On success the verified claims replace cl.
func (m PrivateKeyJWT) verify(ctx context.Context, c client.Client, tok *jwt.JSONWebToken, cl *jwt.Claims) error {
	h := tok.Headers[0]
	keys, err := m.clientKeys(ctx, c, false)
	if err != nil {
		return err
	}
	candidates := candidateKeys(keys, h)
	if len(candidates) == 0 && h.KeyID != "" && c.JWKSURI != "" {
		if keys, err = m.clientKeys(ctx, c, true); err != nil {
			return err
		}
		candidates = candidateKeys(keys, h)
	}
	if len(candidates) == 0 {
		return failed(fmt.Errorf("no registered key fits kid %q and alg %s", h.KeyID, h.Algorithm))
	}
	for _, k := range candidates {
		var verified jwt.Claims
		if err := tok.Claims(k.Key, &verified); err == nil {
			*cl = verified
			return nil
		}
	}
	return failed(errors.New("the signature does not verify with any registered key"))
}

func (m PrivateKeyJWT) clientKeys(ctx context.Context, c client.Client, refresh bool) ([]jose.JSONWebKey, error) {
	switch {
	case len(c.JWKS) > 0:
		keys, err := m.inline.keys(c.JWKS)
		if err != nil {
			return nil, failed(fmt.Errorf("the registered jwks: %w", err))
		}
		return keys, nil
	case c.JWKSURI != "" && m.Keys != nil:
		keys, err := m.Keys.JWKS(ctx, c.JWKSURI, refresh)
		if err != nil {
			// The client's own key server failed: say so, it is the
			// client's to fix, and the URL is its registration's.
			return nil, assertionFailed("cannot be checked: the client's jwks_uri could not be used").WithCause(err)
		}
		return keys, nil
	}
	return nil, failed(errors.New("the client has no keys"))
}

// candidateKeys are the keys that may have signed a JWS with header h.
func candidateKeys(keys []jose.JSONWebKey, h jose.Header) []jose.JSONWebKey {
	var out []jose.JSONWebKey
	for _, k := range keys {
		if (h.KeyID == "" || k.KeyID == h.KeyID) && slices.Contains(client.KeyAlgs(k), h.Algorithm) {
			out = append(out, k)
		}
	}
	return out
}

// checkClaims applies RFC 7523 §3 to verified claims.
func (m PrivateKeyJWT) checkClaims(c client.Client, tok *jwt.JSONWebToken, cl jwt.Claims) *oauth2.Error {
	now := m.now()
	leeway := orDefault(m.Leeway, DefaultLeeway)
	maxLife := orDefault(m.MaxLifetime, DefaultMaxLifetime)
	switch alg := tok.Headers[0].Algorithm; {
	case c.AssertionAlg != "" && alg != c.AssertionAlg:
		return assertionFailed("is signed with %s; this client registered token_endpoint_auth_signing_alg %s", alg, c.AssertionAlg)
	case cl.Issuer != c.ClientID:
		return assertionFailed("iss must be the client_id")
	case cl.Subject != c.ClientID:
		return assertionFailed("sub must be the client_id")
	case !slices.ContainsFunc(m.Audiences, func(a string) bool { return slices.Contains(cl.Audience, a) }):
		return assertionFailed("aud must name this server: its issuer identifier (%s) or the endpoint's URL", firstOr(m.Audiences))
	case cl.Expiry == nil:
		return assertionFailed("has no exp")
	case !now.Before(cl.Expiry.Time().Add(leeway)):
		return assertionFailed("has expired")
	case cl.Expiry.Time().After(now.Add(maxLife + leeway)):
		return assertionFailed("exp is more than %s ahead; sign short-lived assertions", maxLife)
	case cl.NotBefore != nil && now.Add(leeway).Before(cl.NotBefore.Time()):
		return assertionFailed("is not valid yet (nbf)")
	case cl.IssuedAt != nil && now.Add(leeway).Before(cl.IssuedAt.Time()):
		return assertionFailed("was issued in the future (iat)")
	case cl.ID == "":
		return assertionFailed("has no jti")
	case len(cl.ID) > maxJTILen:
		return assertionFailed("jti is longer than %d characters", maxJTILen)
	}
	return nil
}

func firstOr(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// assertionCredentials reads private_key_jwt credentials from a form
// that carries client_assertion_type or client_assertion. The client is
// the assertion's sub (RFC 7523 §3), read here unverified to route the
// request; a client_id in the body must name the same client.
func assertionCredentials(form url.Values) (oauth2.Credentials, error) {
	cr := oauth2.Credentials{Method: client.AuthMethodPrivateKeyJWT}
	typ, assertion := form.Get("client_assertion_type"), form.Get("client_assertion")
	switch {
	case typ == "":
		return cr, oauth2.Errorf(oauth2.CodeInvalidRequest, "client_assertion needs client_assertion_type %s", AssertionType)
	case assertion == "":
		return cr, oauth2.Errorf(oauth2.CodeInvalidRequest, "client_assertion_type needs a client_assertion")
	case typ != AssertionType:
		// RFC 7521 §4.2.1: an assertion that cannot be used is invalid_client.
		return cr, oauth2.Errorf(oauth2.CodeInvalidClient, "unsupported client_assertion_type; use %s", AssertionType)
	}
	_, cl, err := parseAssertion(assertion)
	if err != nil {
		return cr, err
	}
	if cl.Subject == "" {
		return cr, assertionFailed("has no sub; it must be the client_id")
	}
	if id := form.Get("client_id"); id != "" && id != cl.Subject {
		return cr, oauth2.Errorf(oauth2.CodeInvalidRequest, "client_id in the body does not match the client assertion's sub")
	}
	cr.ClientID, cr.Assertion = cl.Subject, assertion
	return cr, nil
}
