// Package token issues and verifies access tokens (RFC 9068 JWTs) and
// implements the token endpoint's grants, introspection and revocation in
// protocol terms. HTTP framing lives in api/oauth.
package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/keys"
)

// Claims are the claims of a Latchkey access token (RFC 9068 §2.2).
type Claims struct {
	Issuer   string           `json:"iss"`
	Subject  string           `json:"sub"`
	Audience jwt.Audience     `json:"aud"`
	Expiry   *jwt.NumericDate `json:"exp"`
	IssuedAt *jwt.NumericDate `json:"iat"`
	JTI      string           `json:"jti"`
	ClientID string           `json:"client_id"`
	Scope    string           `json:"scope,omitempty"`
}

// Scopes splits the scope claim.
func (c Claims) Scopes() []string { return strings.Fields(c.Scope) }

// HasScope reports whether the token carries scope s.
func (c Claims) HasScope(s string) bool { return slices.Contains(c.Scopes(), s) }

// ErrInvalidToken is wrapped by every verification failure.
var ErrInvalidToken = errors.New("invalid token")

// Revocations is what verification needs to know about revoked tokens.
type Revocations interface {
	TokenRevoked(ctx context.Context, jti string) (bool, error)
	RevokeToken(ctx context.Context, jti string, expiresAt time.Time) error
}

// ClientStatus tells whether the client a token was issued to may still
// use it (exists and is enabled).
type ClientStatus interface {
	ClientActive(ctx context.Context, clientID string) (active bool, allowedScopes []string, err error)
}

// Issuer signs access tokens and verifies the ones it (or another node on
// the same store) signed.
type Issuer struct {
	keys        *keys.Manager
	issuer      string
	ttl         time.Duration
	revocations Revocations
	clients     ClientStatus
	now         func() time.Time
}

// IssuerConfig configures an Issuer.
type IssuerConfig struct {
	Keys        *keys.Manager
	Issuer      string        // iss and default aud
	TTL         time.Duration // access token lifetime
	Revocations Revocations
	Clients     ClientStatus // may be nil: client state is then not checked
	Now         func() time.Time
}

// NewIssuer returns an Issuer.
func NewIssuer(cfg IssuerConfig) *Issuer {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TTL <= 0 {
		cfg.TTL = time.Hour
	}
	return &Issuer{keys: cfg.Keys, issuer: cfg.Issuer, ttl: cfg.TTL, revocations: cfg.Revocations, clients: cfg.Clients, now: cfg.Now}
}

// Name returns the issuer identifier.
func (i *Issuer) Name() string { return i.issuer }

// TTL returns the access token lifetime.
func (i *Issuer) TTL() time.Duration { return i.ttl }

// Issue signs an access token for subject sub, client clientID and scopes.
func (i *Issuer) Issue(sub, clientID string, scopes []string) (string, Claims, error) {
	k, err := i.keys.Current()
	if err != nil {
		return "", Claims{}, fmt.Errorf("issue token: %w", err)
	}
	now := i.now()
	id, err := uuid.NewV7()
	if err != nil {
		return "", Claims{}, fmt.Errorf("issue token: %w", err)
	}
	c := Claims{
		Issuer:   i.issuer,
		Subject:  sub,
		Audience: jwt.Audience{i.issuer},
		Expiry:   jwt.NewNumericDate(now.Add(i.ttl)),
		IssuedAt: jwt.NewNumericDate(now),
		JTI:      id.String(),
		ClientID: clientID,
		Scope:    strings.Join(scopes, " "),
	}
	// Sign the marshalled claims with go-jose's JWS signer directly: the
	// jwt builder would marshal, unmarshal into a map and marshal again,
	// which cost a fifth of issuance.
	payload, err := json.Marshal(c)
	if err != nil {
		return "", Claims{}, fmt.Errorf("encode claims: %w", err)
	}
	jws, err := k.Signer().Sign(payload)
	if err != nil {
		return "", Claims{}, fmt.Errorf("sign token: %w", err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		return "", Claims{}, fmt.Errorf("serialize token: %w", err)
	}
	return raw, c, nil
}

// maxTokenLen bounds what we try to parse.
const maxTokenLen = 8192

// leeway tolerates small clock differences between nodes.
const leeway = 30 * time.Second

// Parse verifies signature, typ, issuer, audience and lifetime, without
// consulting the store (but for loading a key another node just made). It
// returns errors wrapping ErrInvalidToken.
func (i *Issuer) Parse(ctx context.Context, raw string) (Claims, error) {
	if len(raw) > maxTokenLen {
		return Claims{}, fmt.Errorf("%w: too long", ErrInvalidToken)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{keys.Algorithm})
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if len(tok.Headers) != 1 {
		return Claims{}, fmt.Errorf("%w: want one signature", ErrInvalidToken)
	}
	h := tok.Headers[0]
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	if !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return Claims{}, fmt.Errorf("%w: typ %q is not at+jwt", ErrInvalidToken, typ)
	}
	pub, err := i.keys.Public(ctx, h.KeyID)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	var c Claims
	if err := tok.Claims(pub, &c); err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if c.Expiry == nil || c.IssuedAt == nil || c.JTI == "" || c.ClientID == "" || c.Subject == "" {
		return Claims{}, fmt.Errorf("%w: required claim missing", ErrInvalidToken)
	}
	now := i.now()
	switch {
	case c.Issuer != i.issuer:
		return Claims{}, fmt.Errorf("%w: issuer %q is not this server", ErrInvalidToken, c.Issuer)
	case !c.Audience.Contains(i.issuer):
		return Claims{}, fmt.Errorf("%w: audience does not include this server", ErrInvalidToken)
	case !now.Before(c.Expiry.Time().Add(leeway)):
		return Claims{}, fmt.Errorf("%w: expired", ErrInvalidToken)
	case c.IssuedAt.Time().After(now.Add(leeway)):
		return Claims{}, fmt.Errorf("%w: issued in the future", ErrInvalidToken)
	}
	return c, nil
}

// Verify is Parse plus the store checks: the token is not revoked and its
// client still exists and is enabled.
func (i *Issuer) Verify(ctx context.Context, raw string) (Claims, error) {
	c, err := i.Parse(ctx, raw)
	if err != nil {
		return Claims{}, err
	}
	revoked, err := i.revocations.TokenRevoked(ctx, c.JTI)
	if err != nil {
		return Claims{}, fmt.Errorf("check revocation: %w", err)
	}
	if revoked {
		return Claims{}, fmt.Errorf("%w: revoked", ErrInvalidToken)
	}
	if i.clients != nil {
		ok, allowed, err := i.clients.ClientActive(ctx, c.ClientID)
		if err != nil {
			return Claims{}, fmt.Errorf("check client: %w", err)
		}
		if !ok {
			return Claims{}, fmt.Errorf("%w: client no longer active", ErrInvalidToken)
		}
		// A scope taken from the client since issuance is taken from its
		// tokens too.
		var kept []string
		for _, sc := range c.Scopes() {
			if slices.Contains(allowed, sc) {
				kept = append(kept, sc)
			}
		}
		c.Scope = strings.Join(kept, " ")
	}
	return c, nil
}

// Revoke records the token's jti as revoked until it expires.
func (i *Issuer) Revoke(ctx context.Context, c Claims) error {
	return i.revocations.RevokeToken(ctx, c.JTI, c.Expiry.Time())
}
