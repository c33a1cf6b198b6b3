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
// resource metadata at MetadataURL(resource) (the well-known path
// between the host and the resource's path and query), which MCP clients
// read to find the authorization server.
//
// Tokens of the shape Latchkey signs (ES256 or RS256, a header of alg,
// kid and typ) are verified by a compact path shared with the server
// (internal/compactjws), tested against go-jose, which verifies every
// other token; a verified token is remembered until it expires (see
// Config.VerifiedCacheSize). The package imports none of Latchkey's
// internals but that one, which imports only the standard library, so
// other modules can use it.
package rs

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
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
	"github.com/latchkey/latchkey/internal/compactjws"
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
	// VerifiedCacheSize bounds the verified-token cache: tokens whose
	// signature and claims were checked, remembered by SHA-256 until they
	// expire, so that a token presented again (a client sends the same
	// one for its whole lifetime) skips the signature. On every hit the
	// lifetime is checked again against Now, and the key that verified
	// the token must still be the one the JWKS names by its kid.
	// 0: 4096 tokens (a few hundred bytes each); negative: no cache.
	VerifiedCacheSize int
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

	verified *compactjws.Cache[verifiedToken] // nil: VerifiedCacheSize < 0
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
	v := &Verifier{cfg: cfg, client: c}
	if cfg.VerifiedCacheSize == 0 {
		cfg.VerifiedCacheSize = DefaultVerifiedCacheSize
	}
	if cfg.VerifiedCacheSize > 0 {
		v.verified = compactjws.NewCache(cfg.VerifiedCacheSize, func(e verifiedToken) time.Time { return e.claims.Expiry.Time() })
	}
	return v, nil
}

// maxTokenLen bounds what is parsed.
const maxTokenLen = 8192

// Verify checks raw and returns its claims, or an error wrapping
// ErrInvalidToken (or, when the issuer cannot be reached, another error).
//
// ES256 and RS256 tokens of the shape Latchkey signs (a header of alg,
// kid and typ) are verified by a compact path shared with the server;
// any other header goes through go-jose, which the tests hold the
// compact path to. A token verified before is answered from the
// verified-token cache (Config.VerifiedCacheSize) after its lifetime and
// its key are checked again.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	if len(raw) > maxTokenLen {
		return nil, fmt.Errorf("%w: too long", ErrInvalidToken)
	}
	// Go's base64 decoders skip CR and LF; a compact JWS has none, and
	// refusing them keeps one spelling per token.
	if strings.IndexByte(raw, '\n') >= 0 || strings.IndexByte(raw, '\r') >= 0 {
		return nil, fmt.Errorf("%w: line break in token", ErrInvalidToken)
	}
	var sum [sha256.Size]byte
	if v.verified != nil {
		sum = sha256.Sum256([]byte(raw))
		if e, ok := v.verified.Get(sum); ok {
			if err := v.stillValid(ctx, e); err == nil {
				return e.claims.clone(), nil
			}
			// Expired, or its key is gone: verify afresh, for the exact
			// error (or a key fetched again).
			v.verified.Remove(sum)
		}
	}
	e, handled, err := v.verifyCompact(ctx, raw)
	if !handled {
		return v.verifyJOSE(ctx, raw)
	}
	if err != nil {
		return nil, err
	}
	if v.verified == nil {
		return e.claims, nil
	}
	v.verified.Put(sum, e, v.cfg.Now())
	return e.claims.clone(), nil
}

// verifyCompact verifies raw by the compact path (internal/compactjws).
// handled is false for a header of another shape, left to go-jose;
// otherwise err says whether raw is valid.
func (v *Verifier) verifyCompact(ctx context.Context, raw string) (e verifiedToken, handled bool, err error) {
	tok, handled, err := compactjws.Split(raw)
	if !handled {
		return verifiedToken{}, false, nil
	}
	if err != nil {
		return verifiedToken{}, true, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	h := tok.Header
	if h.Alg != string(jose.ES256) && h.Alg != string(jose.RS256) {
		return verifiedToken{}, true, fmt.Errorf("%w: alg %q is not accepted", ErrInvalidToken, h.Alg)
	}
	if err := checkTyp(h.Typ); err != nil {
		return verifiedToken{}, true, err
	}
	key, err := v.key(ctx, h.Kid)
	if err != nil {
		return verifiedToken{}, true, err
	}
	if key.Algorithm != "" && key.Algorithm != h.Alg {
		return verifiedToken{}, true, fmt.Errorf("%w: key %q is for %s, not %s", ErrInvalidToken, h.Kid, key.Algorithm, h.Alg)
	}
	var ok bool
	switch pub := key.Key.(type) {
	case *ecdsa.PublicKey:
		ok = h.Alg == string(jose.ES256) && compactjws.VerifyES256(pub, tok.SigningInput, tok.Signature)
	case *rsa.PublicKey:
		ok = h.Alg == string(jose.RS256) && compactjws.VerifyRS256(pub, tok.SigningInput, tok.Signature)
	}
	if !ok {
		return verifiedToken{}, true, fmt.Errorf("%w: signature does not verify", ErrInvalidToken)
	}
	payload, err := tok.DecodePayload()
	if err != nil {
		return verifiedToken{}, true, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	c, err := v.claims(payload)
	if err != nil {
		return verifiedToken{}, true, err
	}
	return verifiedToken{claims: c, kid: h.Kid, alg: h.Alg, key: key.Key}, true, nil
}

// verifyJOSE verifies raw with go-jose: the reference, and the path for
// every header the compact path leaves alone. A JWT is a compact JWS
// (RFC 7519 §7.2), so the JSON serialization is not accepted.
func (v *Verifier) verifyJOSE(ctx context.Context, raw string) (*Claims, error) {
	jws, err := jose.ParseSignedCompact(raw, Algorithms)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: want one signature", ErrInvalidToken)
	}
	h := jws.Signatures[0].Protected
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	if err := checkTyp(typ); err != nil {
		return nil, err
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
	return v.claims(payload)
}

// checkTyp: RFC 9068 §2.1 access tokens are typed, so an ID token (typ
// JWT) is never taken for one.
func checkTyp(typ string) error {
	if !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return fmt.Errorf("%w: typ %q is not at+jwt", ErrInvalidToken, typ)
	}
	return nil
}

// claims decodes a verified payload and checks iss, aud and the lifetime.
func (v *Verifier) claims(payload []byte) (*Claims, error) {
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrInvalidToken, err)
	}
	switch {
	case c.Issuer != v.cfg.Issuer:
		return nil, fmt.Errorf("%w: iss %q is not %q", ErrInvalidToken, c.Issuer, v.cfg.Issuer)
	case !c.Audience.Contains(v.cfg.Audience):
		return nil, fmt.Errorf("%w: aud does not name %q", ErrInvalidToken, v.cfg.Audience)
	case c.Expiry == nil:
		return nil, fmt.Errorf("%w: no exp", ErrInvalidToken)
	}
	if err := v.lifetime(&c); err != nil {
		return nil, err
	}
	return &c, nil
}

// lifetime checks exp, nbf and iat against the clock.
func (v *Verifier) lifetime(c *Claims) error {
	now := v.cfg.Now()
	switch {
	case !now.Before(c.Expiry.Time().Add(v.cfg.Leeway)):
		return fmt.Errorf("%w: expired", ErrInvalidToken)
	case c.NotBefore != nil && now.Add(v.cfg.Leeway).Before(c.NotBefore.Time()):
		return fmt.Errorf("%w: not valid yet (nbf)", ErrInvalidToken)
	case c.IssuedAt != nil && now.Add(v.cfg.Leeway).Before(c.IssuedAt.Time()):
		return fmt.Errorf("%w: issued in the future", ErrInvalidToken)
	}
	return nil
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
