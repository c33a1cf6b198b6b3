// Package rs is for resource servers that accept access tokens issued by
// Latchkey (or any OAuth 2.0 authorization server that issues RFC 9068
// JWT access tokens and publishes RFC 8414 metadata with a jwks_uri).
//
// A Verifier checks a token's signature against the issuer's JWKS
// (fetched through its discovery document, cached, and fetched again at
// most once per MinRefreshInterval when a token names an unknown key), and
// its iss, aud, exp, nbf and iat against an injectable clock. Require
// wraps an http.Handler: it answers 401 or 403 with an RFC 6750 / RFC 9728
// WWW-Authenticate challenge, or puts the verified Claims in the request
// context (ClaimsFrom). MetadataHandler serves the RFC 9728 protected
// resource metadata at /.well-known/oauth-protected-resource, which MCP
// clients read to find the authorization server.
//
// The package imports nothing of Latchkey's internals, so other modules
// can use it.
package rs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Algorithms are the JWS algorithms a Verifier accepts: ES256 (Latchkey's
// access tokens) and RS256. Never "none" nor HMAC: a public key must not
// double as a shared secret.
var Algorithms = []jose.SignatureAlgorithm{jose.ES256, jose.RS256}

// Config configures a Verifier.
type Config struct {
	// Issuer is the authorization server's issuer identifier: tokens
	// must carry it as iss, and its metadata is read from
	// Issuer + "/.well-known/oauth-authorization-server".
	Issuer string
	// Audience is this resource's identifier (RFC 8707), which tokens
	// must name in aud.
	Audience string
	// HTTPClient fetches metadata, keys and introspection (nil: a client
	// with a 10 s timeout).
	HTTPClient *http.Client
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Leeway tolerates clock skew on exp, nbf and iat (0: none).
	Leeway time.Duration
	// KeysTTL is how long fetched keys are used before they are fetched
	// again (0: 5 minutes).
	KeysTTL time.Duration
	// MinRefreshInterval bounds how often a token with an unknown kid
	// makes the Verifier fetch the keys again (0: 10 s), so garbage
	// tokens cannot turn it into a flood of JWKS requests.
	MinRefreshInterval time.Duration
	// ClientID and ClientSecret authenticate this resource server at the
	// issuer's introspection endpoint (client_secret_basic), for
	// Introspect and RequireActive. The client must be allowed to
	// introspect the tokens (Latchkey: scope tokens:introspect).
	ClientID, ClientSecret string
}

// Claims are a verified access token's claims.
type Claims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.Audience     `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf,omitempty"`
	IssuedAt  *jwt.NumericDate `json:"iat,omitempty"`
	ID        string           `json:"jti,omitempty"`
	ClientID  string           `json:"client_id,omitempty"`
	Scope     string           `json:"scope,omitempty"`
}

// Scopes returns the token's scopes.
func (c *Claims) Scopes() []string { return strings.Fields(c.Scope) }

// HasScope reports whether the token carries scope s.
func (c *Claims) HasScope(s string) bool { return slices.Contains(c.Scopes(), s) }

// ErrInvalidToken is wrapped by every reason a token is refused.
var ErrInvalidToken = errors.New("invalid token")

// Verifier verifies access tokens for one resource. It is safe for
// concurrent use.
type Verifier struct {
	cfg    Config
	client *http.Client

	mu        sync.Mutex
	meta      *serverMetadata
	keys      map[string]jose.JSONWebKey
	fetchedAt time.Time // when keys were fetched; zero: never
	fetching  chan struct{}
}

type serverMetadata struct {
	Issuer                string `json:"issuer"`
	JWKSURI               string `json:"jwks_uri"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
}

// NewVerifier returns a Verifier; nothing is fetched until a token is
// verified.
func NewVerifier(cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("rs: Issuer and Audience are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.KeysTTL <= 0 {
		cfg.KeysTTL = 5 * time.Minute
	}
	if cfg.MinRefreshInterval <= 0 {
		cfg.MinRefreshInterval = 10 * time.Second
	}
	c := cfg.HTTPClient
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	return &Verifier{cfg: cfg, client: c}, nil
}

// maxTokenLen bounds what is parsed.
const maxTokenLen = 8192

// Verify checks raw and returns its claims, or an error wrapping
// ErrInvalidToken (or, when the issuer cannot be reached, another error).
func (v *Verifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	if len(raw) > maxTokenLen {
		return nil, fmt.Errorf("%w: too long", ErrInvalidToken)
	}
	jws, err := jose.ParseSigned(raw, Algorithms)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: want one signature", ErrInvalidToken)
	}
	h := jws.Signatures[0].Protected
	// RFC 9068 §2.1: access tokens are typed, so an ID token (typ JWT)
	// is never taken for one.
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return nil, fmt.Errorf("%w: typ %q is not at+jwt", ErrInvalidToken, typ)
	}
	key, err := v.key(ctx, h.KeyID)
	if err != nil {
		return nil, err
	}
	if key.Algorithm != "" && key.Algorithm != h.Algorithm {
		return nil, fmt.Errorf("%w: key %q is for %s, not %s", ErrInvalidToken, h.KeyID, key.Algorithm, h.Algorithm)
	}
	payload, err := jws.Verify(key.Key)
	if err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrInvalidToken, err)
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrInvalidToken, err)
	}
	now := v.cfg.Now()
	switch {
	case c.Issuer != v.cfg.Issuer:
		return nil, fmt.Errorf("%w: iss %q is not %q", ErrInvalidToken, c.Issuer, v.cfg.Issuer)
	case !c.Audience.Contains(v.cfg.Audience):
		return nil, fmt.Errorf("%w: aud does not name %q", ErrInvalidToken, v.cfg.Audience)
	case c.Expiry == nil:
		return nil, fmt.Errorf("%w: no exp", ErrInvalidToken)
	case !now.Before(c.Expiry.Time().Add(v.cfg.Leeway)):
		return nil, fmt.Errorf("%w: expired", ErrInvalidToken)
	case c.NotBefore != nil && now.Add(v.cfg.Leeway).Before(c.NotBefore.Time()):
		return nil, fmt.Errorf("%w: not valid yet (nbf)", ErrInvalidToken)
	case c.IssuedAt != nil && now.Add(v.cfg.Leeway).Before(c.IssuedAt.Time()):
		return nil, fmt.Errorf("%w: issued in the future", ErrInvalidToken)
	}
	return &c, nil
}

// key returns the verification key kid names, fetching the JWKS when none
// is cached, when it is older than KeysTTL, or (at most once per
// MinRefreshInterval) when kid is unknown.
func (v *Verifier) key(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	for attempt := 0; ; attempt++ {
		v.mu.Lock()
		now := v.cfg.Now()
		k, ok := v.keys[kid]
		fresh := !v.fetchedAt.IsZero() && now.Sub(v.fetchedAt) < v.cfg.KeysTTL
		mayRefresh := v.fetchedAt.IsZero() || now.Sub(v.fetchedAt) >= v.cfg.MinRefreshInterval
		if ok && fresh || attempt > 0 || !ok && !mayRefresh {
			v.mu.Unlock()
			if !ok {
				return jose.JSONWebKey{}, fmt.Errorf("%w: unknown key %q", ErrInvalidToken, kid)
			}
			return k, nil
		}
		if v.fetching != nil { // another caller fetches: wait for it
			ch := v.fetching
			v.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return jose.JSONWebKey{}, ctx.Err()
			}
			continue
		}
		ch := make(chan struct{})
		v.fetching = ch
		v.mu.Unlock()
		keys, err := v.fetchKeys(ctx)
		v.mu.Lock()
		v.fetching = nil
		close(ch)
		if err == nil {
			v.keys, v.fetchedAt = keys, v.cfg.Now()
		} else if v.fetchedAt.IsZero() || ok {
			// Nothing cached to fall back on (or the key is known but
			// stale): report the outage rather than a bad token.
			v.mu.Unlock()
			if ok {
				return k, nil // a stale key still verifies; try again later
			}
			return jose.JSONWebKey{}, fmt.Errorf("rs: fetch keys: %w", err)
		} else {
			v.fetchedAt = v.cfg.Now() // rate-limit retries after a failure too
		}
		v.mu.Unlock()
	}
}

const maxDocBytes = 1 << 20

func (v *Verifier) getJSON(ctx context.Context, url string, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	res, err := v.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return json.NewDecoder(io.LimitReader(res.Body, maxDocBytes)).Decode(dst)
}

// metadata reads the issuer's RFC 8414 metadata once.
func (v *Verifier) metadata(ctx context.Context) (*serverMetadata, error) {
	v.mu.Lock()
	m := v.meta
	v.mu.Unlock()
	if m != nil {
		return m, nil
	}
	var got serverMetadata
	if err := v.getJSON(ctx, strings.TrimSuffix(v.cfg.Issuer, "/")+"/.well-known/oauth-authorization-server", &got); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	// RFC 8414 §3.3: the document must name the issuer it was fetched for.
	if got.Issuer != v.cfg.Issuer || got.JWKSURI == "" {
		return nil, fmt.Errorf("metadata: issuer %q (want %q) or no jwks_uri", got.Issuer, v.cfg.Issuer)
	}
	v.mu.Lock()
	v.meta = &got
	v.mu.Unlock()
	return &got, nil
}

func (v *Verifier) fetchKeys(ctx context.Context) (map[string]jose.JSONWebKey, error) {
	m, err := v.metadata(ctx)
	if err != nil {
		return nil, err
	}
	var set jose.JSONWebKeySet
	if err := v.getJSON(ctx, m.JWKSURI, &set); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	keys := make(map[string]jose.JSONWebKey, len(set.Keys))
	for _, k := range set.Keys {
		if k.IsPublic() && (k.Use == "" || k.Use == "sig") {
			keys[k.KeyID] = k
		}
	}
	return keys, nil
}

// Introspect asks the issuer's introspection endpoint (RFC 7662) whether
// raw is still active (not revoked, its client still enabled): for routes
// where a revocation must take effect at once. It needs Config.ClientID
// and ClientSecret.
func (v *Verifier) Introspect(ctx context.Context, raw string) (bool, error) {
	if v.cfg.ClientID == "" {
		return false, errors.New("rs: introspection needs Config.ClientID and ClientSecret")
	}
	m, err := v.metadata(ctx)
	if err != nil {
		return false, err
	}
	if m.IntrospectionEndpoint == "" {
		return false, errors.New("rs: the issuer advertises no introspection_endpoint")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.IntrospectionEndpoint, strings.NewReader("token="+urlEscape(raw)))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(urlEscape(v.cfg.ClientID), urlEscape(v.cfg.ClientSecret))
	res, err := v.client.Do(req)
	if err != nil {
		return false, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return false, fmt.Errorf("rs: introspection: %s", res.Status)
	}
	var out struct {
		Active bool `json:"active"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, maxDocBytes)).Decode(&out); err != nil {
		return false, fmt.Errorf("rs: introspection: %w", err)
	}
	return out.Active, nil
}
