// Package token mints and verifies the JWTs Latchkey issues: access tokens
// (RFC 9068) and ID tokens (OIDC Core §2). It knows nothing of grants or
// endpoints: a grant says what to mint in a Spec, and whoever checks a
// bearer token gets back a Principal.
package token

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchkey/latchkey/internal/compactjws"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/keys"
)

// Kind says what a minted token is for.
type Kind int

const (
	// Access is an RFC 9068 access token (typ at+jwt).
	Access Kind = iota
	// ID is an OpenID Connect ID token (typ JWT), for the client itself.
	ID
)

// Confirmation binds a token to a key its holder proves possession of
// (RFC 7800 cnf; RFC 9449 §6 jkt for DPoP).
type Confirmation struct {
	JKT string `json:"jkt,omitempty"`
}

// Act names the party acting on the subject's behalf (RFC 8693 §4.1).
type Act struct {
	Subject  string `json:"sub"`
	ClientID string `json:"client_id,omitempty"`
}

// Spec is what a grant asks to be minted. Zero fields are left out,
// except where noted.
type Spec struct {
	Kind Kind
	// Alg is the JWS algorithm. An ID token is signed with RS256 unless
	// Alg is ES256 (OIDC Core §15.1: RS256 is every OP's default); the
	// grant that mints ID tokens passes the client's registered
	// id_token_signed_response_alg here. Access tokens are ES256 only;
	// any other Alg is refused, not replaced.
	Alg      jose.SignatureAlgorithm
	Subject  string
	ClientID string
	Scopes   []string
	// Audience defaults to the issuer for access tokens and to ClientID
	// for ID tokens. This server's own Parse and Verify (admin API,
	// introspection, revocation) accept only access tokens whose audience
	// includes the issuer, so a grant that narrows it (RFC 8707 resource
	// tokens) needs a verifier for that audience too.
	Audience []string
	// TTL defaults to the issuer's access token lifetime.
	TTL          time.Duration
	AuthTime     time.Time
	Nonce        string
	SessionID    string
	AccessHash   string // at_hash (OIDC Core §3.1.3.6)
	Confirmation *Confirmation
	Act          *Act
	// GrantID names the grant (refresh token family) an access token was
	// minted from, as the grant_id claim; revoking the grant revokes the
	// token (Revocations.GrantRevoked).
	GrantID string
}

// ClaimGrantID is the private claim carrying an access token's grant id.
const ClaimGrantID = "grant_id"

// Claims are the claims Latchkey puts in the tokens it mints.
type Claims struct {
	Issuer       string           `json:"iss"`
	Subject      string           `json:"sub"`
	Audience     jwt.Audience     `json:"aud"`
	Expiry       *jwt.NumericDate `json:"exp"`
	IssuedAt     *jwt.NumericDate `json:"iat"`
	AuthTime     *jwt.NumericDate `json:"auth_time,omitempty"`
	JTI          string           `json:"jti,omitempty"`
	ClientID     string           `json:"client_id,omitempty"`
	AZP          string           `json:"azp,omitempty"`
	Scope        string           `json:"scope,omitempty"`
	Nonce        string           `json:"nonce,omitempty"`
	SessionID    string           `json:"sid,omitempty"`
	AccessHash   string           `json:"at_hash,omitempty"`
	Confirmation *Confirmation    `json:"cnf,omitempty"`
	Act          *Act             `json:"act,omitempty"`
	GrantID      string           `json:"grant_id,omitempty"`
}

// Minted is a signed token and when it expires.
type Minted struct {
	Raw       string
	ID        string // jti
	IssuedAt  time.Time
	ExpiresAt time.Time
	Scope     string
}

// Principal is who a verified access token speaks for: what an endpoint
// that accepts bearer tokens needs, and nothing about how they are encoded.
type Principal struct {
	Subject      string
	ClientID     string
	Scopes       []string
	Audience     []string
	Confirmation *Confirmation // nil unless the token is sender-constrained
	TokenID      string
	GrantID      string // "" for a token from no revocable grant
	Issuer       string
	IssuedAt     time.Time
	ExpiresAt    time.Time
}

// Actor is the principal as the domain cores record who made a change.
func (p Principal) Actor() domain.Actor {
	return domain.Actor{Subject: p.Subject, ClientID: p.ClientID, Scopes: p.Scopes}
}

// HasScope reports whether the principal holds scope s.
func (p Principal) HasScope(s string) bool { return slices.Contains(p.Scopes, s) }

// ErrInvalidToken is wrapped by every verification failure.
var ErrInvalidToken = errors.New("invalid token")

// Revocations is what verification needs to know about revoked tokens.
type Revocations interface {
	TokenRevoked(ctx context.Context, jti string) (bool, error)
	RevokeToken(ctx context.Context, jti string, expiresAt time.Time) error
	// GrantRevoked reports whether the grant (refresh token family) an
	// access token was minted from was revoked.
	GrantRevoked(ctx context.Context, grantID string) (bool, error)
}

// ClientStatus tells whether the client a token was issued to may still
// use it (exists and is enabled).
type ClientStatus interface {
	ClientActive(ctx context.Context, clientID string) (active bool, allowedScopes []string, err error)
}

// Issuer mints tokens and verifies the access tokens it (or another node
// on the same store) minted.
type Issuer struct {
	keys        *keys.Manager
	issuer      string
	ttl         time.Duration
	revocations Revocations
	clients     ClientStatus
	now         func() time.Time
	leeway      time.Duration
	verified    *compactjws.Cache[cachedToken] // see fastverify.go
}

// IssuerConfig configures an Issuer.
type IssuerConfig struct {
	Keys        *keys.Manager
	Issuer      string        // iss and default aud
	TTL         time.Duration // access token lifetime
	Revocations Revocations
	Clients     ClientStatus // may be nil: client state is then not checked
	Now         func() time.Time
	// Leeway is how far past exp, or before iat, Parse and Verify still
	// accept a token, for clock differences between nodes; 0 (or less)
	// tolerates none. serve's --token-leeway sets it (default 5s).
	Leeway time.Duration
}

// NewIssuer returns an Issuer.
func NewIssuer(cfg IssuerConfig) *Issuer {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TTL <= 0 {
		cfg.TTL = time.Hour
	}
	cfg.Leeway = max(cfg.Leeway, 0)
	return &Issuer{keys: cfg.Keys, issuer: cfg.Issuer, ttl: cfg.TTL, revocations: cfg.Revocations, clients: cfg.Clients, now: cfg.Now, leeway: cfg.Leeway,
		verified: compactjws.NewCache(verifiedCacheSize, func(e cachedToken) time.Time { return e.p.ExpiresAt })}
}

// Name returns the issuer identifier.
func (i *Issuer) Name() string { return i.issuer }

// TTL returns the access token lifetime.
func (i *Issuer) TTL() time.Duration { return i.ttl }

// Mint signs the token spec describes (fastjwt.go) with the current key
// of its algorithm (signingAlg).
func (i *Issuer) Mint(_ context.Context, spec Spec) (Minted, error) {
	alg, err := signingAlg(spec)
	if err != nil {
		return Minted{}, fmt.Errorf("mint token: %w", err)
	}
	k, err := i.keys.CurrentFor(alg)
	if err != nil {
		return Minted{}, fmt.Errorf("mint token: %w", err)
	}
	return i.mint(k, spec)
}

// DefaultIDTokenAlg signs ID tokens whose Spec names no algorithm.
const DefaultIDTokenAlg = keys.RS256

// IDTokenAlgs lists the algorithms ID tokens may be signed with, the
// default first: every algorithm the key manager keeps a key for.
func (i *Issuer) IDTokenAlgs() []string {
	var out []string
	for _, alg := range i.keys.Algorithms() {
		out = append(out, string(alg))
	}
	return out
}

// AccessTokenAlgs lists the algorithm access tokens are signed with.
func (i *Issuer) AccessTokenAlgs() []string { return []string{string(keys.Algorithm)} }

// signingAlg is the algorithm spec is signed with.
func signingAlg(spec Spec) (jose.SignatureAlgorithm, error) {
	switch {
	case spec.Kind == Access && (spec.Alg == "" || spec.Alg == keys.Algorithm):
		return keys.Algorithm, nil
	case spec.Kind == ID && spec.Alg == "":
		return DefaultIDTokenAlg, nil
	case spec.Kind == ID && (spec.Alg == keys.RS256 || spec.Alg == keys.ES256):
		return spec.Alg, nil
	case spec.Kind != Access && spec.Kind != ID:
		return "", fmt.Errorf("unknown kind %d", spec.Kind)
	}
	return "", fmt.Errorf("cannot sign a kind %d token with %q", spec.Kind, spec.Alg)
}

// maxTokenLen bounds what we try to parse.
const maxTokenLen = 8192

// parseJOSE is Parse through go-jose: the reference the fast path
// (fastverify.go) is tested against, and what verifies the tokens it
// does not handle.
func (i *Issuer) parseJOSE(ctx context.Context, raw string) (Principal, error) {
	if len(raw) > maxTokenLen {
		return Principal{}, fmt.Errorf("%w: too long", ErrInvalidToken)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{keys.Algorithm})
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if len(tok.Headers) != 1 {
		return Principal{}, fmt.Errorf("%w: want one signature", ErrInvalidToken)
	}
	h := tok.Headers[0]
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	if !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return Principal{}, fmt.Errorf("%w: typ %q is not at+jwt", ErrInvalidToken, typ)
	}
	pub, err := i.keys.Public(ctx, h.KeyID)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	var c Claims
	if err := tok.Claims(pub, &c); err != nil {
		return Principal{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	return i.principal(c)
}

// principal checks verified claims c (all but the audience, which Parse
// and ParseAudience check) and returns who they speak for.
func (i *Issuer) principal(c Claims) (Principal, error) {
	if c.Expiry == nil || c.IssuedAt == nil || c.JTI == "" || c.ClientID == "" || c.Subject == "" {
		return Principal{}, fmt.Errorf("%w: required claim missing", ErrInvalidToken)
	}
	now := i.now()
	switch {
	case c.Issuer != i.issuer:
		return Principal{}, fmt.Errorf("%w: issuer %q is not this server", ErrInvalidToken, c.Issuer)
	case !now.Before(c.Expiry.Time().Add(i.leeway)):
		return Principal{}, fmt.Errorf("%w: expired", ErrInvalidToken)
	case c.IssuedAt.Time().After(now.Add(i.leeway)):
		return Principal{}, fmt.Errorf("%w: issued in the future", ErrInvalidToken)
	}
	return Principal{
		Subject: c.Subject, ClientID: c.ClientID, Scopes: strings.Fields(c.Scope), Audience: c.Audience,
		Confirmation: c.Confirmation, TokenID: c.JTI, GrantID: c.GrantID, Issuer: c.Issuer,
		IssuedAt: c.IssuedAt.Time(), ExpiresAt: c.Expiry.Time(),
	}, nil
}

// ownAudience refuses a principal whose audience does not include this
// server: such a token is for a resource server (RFC 8707), and only
// introspection and revocation (ParseAudience) accept it.
func (i *Issuer) ownAudience(p Principal, err error) (Principal, error) {
	if err != nil {
		return Principal{}, err
	}
	if !slices.Contains(p.Audience, i.issuer) {
		return Principal{}, fmt.Errorf("%w: audience does not include this server", ErrInvalidToken)
	}
	return p, nil
}

// AudienceFunc reports whether an access token whose audience is aud (and
// does not include this server) may be accepted: for introspection and
// revocation, whether aud names registered resources.
type AudienceFunc func(ctx context.Context, aud []string) (bool, error)

// ParseAudience is Parse for a token whose audience is this server or
// one accept allows (RFC 8707 resource tokens). The admin API and
// userinfo use Parse and Verify, which accept only this server.
func (i *Issuer) ParseAudience(ctx context.Context, raw string, accept AudienceFunc) (Principal, error) {
	p, err := i.parseAny(ctx, raw)
	if err != nil || slices.Contains(p.Audience, i.issuer) {
		return p, err
	}
	ok, err := accept(ctx, p.Audience)
	if err != nil {
		return Principal{}, fmt.Errorf("check audience: %w", err)
	}
	if !ok {
		return Principal{}, fmt.Errorf("%w: audience is neither this server nor a registered resource", ErrInvalidToken)
	}
	return p, nil
}

// VerifyAudience is Verify for a token whose audience is this server or
// one accept allows (see ParseAudience).
func (i *Issuer) VerifyAudience(ctx context.Context, raw string, accept AudienceFunc) (Principal, error) {
	p, err := i.ParseAudience(ctx, raw, accept)
	if err != nil {
		return Principal{}, err
	}
	return i.checkLive(ctx, p)
}

// Verify is Parse plus the store checks: the token is not revoked and its
// client still exists and is enabled. Scopes taken from the client since
// issuance are taken from the principal too.
func (i *Issuer) Verify(ctx context.Context, raw string) (Principal, error) {
	p, err := i.Parse(ctx, raw)
	if err != nil {
		return Principal{}, err
	}
	return i.checkLive(ctx, p)
}

// checkLive is Verify's store checks.
func (i *Issuer) checkLive(ctx context.Context, p Principal) (Principal, error) {
	revoked, err := i.revocations.TokenRevoked(ctx, p.TokenID)
	if err != nil {
		return Principal{}, fmt.Errorf("check revocation: %w", err)
	}
	if !revoked && p.GrantID != "" {
		if revoked, err = i.revocations.GrantRevoked(ctx, p.GrantID); err != nil {
			return Principal{}, fmt.Errorf("check grant revocation: %w", err)
		}
	}
	if revoked {
		return Principal{}, fmt.Errorf("%w: revoked", ErrInvalidToken)
	}
	if i.clients != nil {
		ok, allowed, err := i.clients.ClientActive(ctx, p.ClientID)
		if err != nil {
			return Principal{}, fmt.Errorf("check client: %w", err)
		}
		if !ok {
			return Principal{}, fmt.Errorf("%w: client no longer active", ErrInvalidToken)
		}
		p.Scopes = slices.DeleteFunc(p.Scopes, func(sc string) bool { return !slices.Contains(allowed, sc) })
	}
	return p, nil
}

// AccessTokenHash is at_hash (OIDC Core §3.1.3.6) for an RS256 or ES256
// signed ID token: the left half of the SHA-256 of the access token,
// base64url.
func AccessTokenHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:sha256.Size/2])
}

// Revoke records the token's id as revoked until it expires.
func (i *Issuer) Revoke(ctx context.Context, p Principal) error {
	return i.revocations.RevokeToken(ctx, p.TokenID, p.ExpiresAt)
}
