package clientauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/clocktest"
	"github.com/latchkey/latchkey/internal/keys/keystest"
	"github.com/latchkey/latchkey/internal/oauth2"
)

const (
	testIssuer = "https://auth.example.com"
	testToken  = testIssuer + "/oauth2/token"
)

var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// spentMap is an in-memory AssertionRepository.
type spentMap struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func (s *spentMap) SpendAssertion(_ context.Context, clientID, jti string, exp, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := clientID + "\x00" + jti
	if old, ok := s.m[k]; ok && old.After(now) {
		return ErrReplayed
	}
	s.m[k] = exp
	return nil
}

func (s *spentMap) SweepAssertions(context.Context, time.Time, int) (int, error) { return 0, nil }

func (s *spentMap) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// uriKeys is a KeySource serving fixed sets, counting refreshes.
type uriKeys struct {
	sets      map[string][]jose.JSONWebKey
	refreshes int
	err       error
}

func (u *uriKeys) JWKS(_ context.Context, uri string, refresh bool) ([]jose.JSONWebKey, error) {
	if refresh {
		u.refreshes++
	}
	if u.err != nil {
		return nil, u.err
	}
	return u.sets[uri], nil
}

// signer is a test client's private key.
type signer struct {
	kid string
	alg jose.SignatureAlgorithm
	key crypto.Signer
}

func (s signer) public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: s.key.Public(), KeyID: s.kid, Use: "sig"}
}

func setOf(t testing.TB, signers ...signer) []byte {
	var set jose.JSONWebKeySet
	for _, s := range signers {
		set.Keys = append(set.Keys, s.public())
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sign makes a compact JWS of claims (a map, so tests can write any
// shape) with s, putting s.kid in the header unless noKid.
func (s signer) sign(t testing.TB, claims any, noKid bool) string {
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if !noKid && s.kid != "" {
		opts = opts.WithHeader("kid", s.kid)
	}
	sg, err := jose.NewSigner(jose.SigningKey{Algorithm: s.alg, Key: s.key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(sg).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

type pkFixture struct {
	ec, ed, rsa, ps, other signer
	spent                  *spentMap
	keys                   *uriKeys
	clock                  *clocktest.Clock
	method                 PrivateKeyJWT
}

func newPKFixture(t testing.TB) *pkFixture {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, err := keystest.RSAGenerator()
	if err != nil {
		t.Fatal(err)
	}
	f := &pkFixture{
		ec:    signer{"ec-1", jose.ES256, ecKey},
		ed:    signer{"ed-1", jose.EdDSA, edKey},
		rsa:   signer{"rsa-1", jose.RS256, rsaKey},
		ps:    signer{"rsa-1", jose.PS256, rsaKey},
		other: signer{"ec-1", jose.ES256, otherKey}, // same kid, another key
		spent: &spentMap{m: map[string]time.Time{}},
		clock: clocktest.New(t0),
	}
	f.keys = &uriKeys{sets: map[string][]jose.JSONWebKey{"https://app.example.com/jwks": {f.ec.public()}}}
	cs := []client.Client{
		{ClientID: "pk", Type: client.Confidential, TokenEndpointAuthMethod: client.AuthMethodPrivateKeyJWT, Enabled: true,
			JWKS: setOf(t, f.ec, f.ed, f.rsa)},
		{ClientID: "pk2", Type: client.Confidential, TokenEndpointAuthMethod: client.AuthMethodPrivateKeyJWT, Enabled: true,
			JWKS: setOf(t, f.ec)},
		{ClientID: "pk-es", Type: client.Confidential, TokenEndpointAuthMethod: client.AuthMethodPrivateKeyJWT, Enabled: true,
			JWKS: setOf(t, f.ec, f.rsa), AssertionAlg: "ES256"},
		{ClientID: "pk-uri", Type: client.Confidential, TokenEndpointAuthMethod: client.AuthMethodPrivateKeyJWT, Enabled: true,
			JWKSURI: "https://app.example.com/jwks"},
		{ClientID: "pk-off", Type: client.Confidential, TokenEndpointAuthMethod: client.AuthMethodPrivateKeyJWT,
			JWKS: setOf(t, f.ec)},
		{ClientID: "basic", Type: client.Confidential, TokenEndpointAuthMethod: client.AuthMethodSecretBasic, Enabled: true},
	}
	fc := fakeClients{byID: map[string]client.Client{}}
	for _, c := range cs {
		fc.byID[c.ClientID] = c
	}
	f.method = PrivateKeyJWT{Clients: fc, Keys: f.keys, Spent: f.spent, Now: f.clock.Now,
		Audiences: []string{testIssuer, testToken, testIssuer + "/oauth2/par"}, inline: newInlineKeys(2)}
	return f
}

// claims are valid claims for client id at t0.
func claims(id string, change func(map[string]any)) map[string]any {
	m := map[string]any{"iss": id, "sub": id, "aud": testToken, "iat": t0.Unix(), "exp": t0.Add(time.Minute).Unix(),
		"jti": fmt.Sprintf("jti-%d", time.Now().UnixNano())}
	if change != nil {
		change(m)
	}
	return m
}

// unsigned builds a JWS with the given header and claims and a garbage
// signature (for alg none and other forgeries).
func unsigned(header, claims map[string]any, sig string) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(c) + "." + sig
}

func TestPrivateKeyJWT(t *testing.T) {
	f := newPKFixture(t)
	// HS256 keyed with the client's public key, as a confused verifier
	// would check it.
	pubDER, _ := json.Marshal(f.ec.public())
	hs, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: pubDER}, nil)
	hsRaw, _ := jwt.Signed(hs).Claims(claims("pk", nil)).Serialize()
	for _, tc := range []struct {
		name      string
		clientID  string
		assertion func() string
		want      string // "" → success; else a fragment of the description
	}{
		{"ES256 with kid", "pk", func() string { return f.ec.sign(t, claims("pk", nil), false) }, ""},
		{"ES256 without kid", "pk", func() string { return f.ec.sign(t, claims("pk", nil), true) }, ""},
		{"EdDSA", "pk", func() string { return f.ed.sign(t, claims("pk", nil), false) }, ""},
		{"RS256", "pk", func() string { return f.rsa.sign(t, claims("pk", nil), false) }, ""},
		{"PS256 with the RSA key", "pk", func() string { return f.ps.sign(t, claims("pk", nil), false) }, ""},
		{"aud the issuer", "pk", func() string {
			return f.ec.sign(t, claims("pk", func(m map[string]any) { m["aud"] = testIssuer }), false)
		}, ""},
		{"aud a list with the PAR endpoint", "pk", func() string {
			return f.ec.sign(t, claims("pk", func(m map[string]any) { m["aud"] = []string{"https://x.example", testIssuer + "/oauth2/par"} }), false)
		}, ""},
		{"nbf and iat within the leeway", "pk", func() string {
			return f.ec.sign(t, claims("pk", func(m map[string]any) {
				m["nbf"], m["iat"] = t0.Add(20*time.Second).Unix(), t0.Add(20*time.Second).Unix()
			}), false)
		}, ""},
		{"jwks_uri", "pk-uri", func() string { return f.ec.sign(t, claims("pk-uri", nil), false) }, ""},
		{"registered alg used", "pk-es", func() string { return f.ec.sign(t, claims("pk-es", nil), false) }, ""},

		{"alg none", "pk", func() string { return unsigned(map[string]any{"alg": "none"}, claims("pk", nil), "") }, "is not a JWS"},
		{"HS256 keyed with the public key", "pk", func() string { return hsRaw }, "is not a JWS"},
		{"unknown alg", "pk", func() string { return unsigned(map[string]any{"alg": "ES256K"}, claims("pk", nil), "AAAA") }, "is not a JWS"},
		{"not a JWT", "pk", func() string { return "not.a.jwt" }, "is not a JWS"},
		{"oversized", "pk", func() string { return strings.Repeat("a", MaxAssertionBytes+1) }, "larger than"},
		{"forged signature", "pk", func() string {
			raw := f.ec.sign(t, claims("pk", nil), false)
			return raw[:strings.LastIndex(raw, ".")+1] + base64.RawURLEncoding.EncodeToString(make([]byte, 64))
		}, "client authentication failed"},
		{"unknown kid", "pk", func() string { return signer{"nope", jose.ES256, f.ec.key}.sign(t, claims("pk", nil), false) }, "client authentication failed"},
		{"right kid, another key", "pk", func() string { return f.other.sign(t, claims("pk", nil), false) }, "client authentication failed"},
		{"no kid, another key", "pk", func() string { return f.other.sign(t, claims("pk", nil), true) }, "client authentication failed"},
		{"alg that does not fit the kid's key", "pk", func() string {
			return signer{"ec-1", jose.ES384, mustEC(elliptic.P384())}.sign(t, claims("pk", nil), false)
		}, "client authentication failed"},
		{"registered alg not used", "pk-es", func() string { return f.rsa.sign(t, claims("pk-es", nil), false) }, "token_endpoint_auth_signing_alg ES256"},
		{"wrong iss", "pk", func() string {
			return f.ec.sign(t, claims("pk", func(m map[string]any) { m["iss"] = "pk2" }), false)
		}, "iss must be the client_id"},
		{"wrong sub", "pk", func() string {
			return f.ec.sign(t, claims("pk", func(m map[string]any) { m["sub"] = "pk2" }), false)
		}, "sub must be the client_id"},
		{"wrong aud", "pk", func() string {
			return f.ec.sign(t, claims("pk", func(m map[string]any) { m["aud"] = "https://evil.example/oauth2/token" }), false)
		}, "aud must name this server"},
		{"no aud", "pk", func() string { return f.ec.sign(t, claims("pk", func(m map[string]any) { delete(m, "aud") }), false) }, "aud must name"},
		{"no exp", "pk", func() string { return f.ec.sign(t, claims("pk", func(m map[string]any) { delete(m, "exp") }), false) }, "has no exp"},
		{"expired", "pk", func() string {
			return f.ec.sign(t, claims("pk", func(m map[string]any) { m["exp"] = t0.Add(-time.Minute).Unix() }), false)
		}, "has expired"},
		{"far-future exp", "pk", func() string {
			return f.ec.sign(t, claims("pk", func(m map[string]any) { m["exp"] = t0.Add(time.Hour).Unix() }), false)
		}, "ahead"},
		{"nbf in the future", "pk", func() string {
			return f.ec.sign(t, claims("pk", func(m map[string]any) { m["nbf"] = t0.Add(2 * time.Minute).Unix() }), false)
		}, "nbf"},
		{"iat in the future", "pk", func() string {
			return f.ec.sign(t, claims("pk", func(m map[string]any) { m["iat"] = t0.Add(2 * time.Minute).Unix() }), false)
		}, "iat"},
		{"no jti", "pk", func() string { return f.ec.sign(t, claims("pk", func(m map[string]any) { delete(m, "jti") }), false) }, "has no jti"},
		{"long jti", "pk", func() string {
			return f.ec.sign(t, claims("pk", func(m map[string]any) { m["jti"] = strings.Repeat("j", 257) }), false)
		}, "jti is longer"},
		{"string exp", "pk", func() string {
			return f.ec.sign(t, claims("pk", func(m map[string]any) { m["exp"] = "tomorrow" }), false)
		}, "malformed claims"},
		{"unknown client", "ghost", func() string { return f.ec.sign(t, claims("ghost", nil), false) }, "client authentication failed"},
		{"client registered for a secret", "basic", func() string { return f.ec.sign(t, claims("basic", nil), false) }, "client authentication failed"},
		{"another client's key", "pk2", func() string { return f.ed.sign(t, claims("pk2", nil), false) }, "client authentication failed"},
		{"disabled client", "pk-off", func() string { return f.ec.sign(t, claims("pk-off", nil), false) }, "client is disabled"},
		{"malformed client_id", "a\x00b", func() string { return f.ec.sign(t, claims("a\x00b", nil), false) }, "client authentication failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.spent.len()
			c, err := f.method.Authenticate(t.Context(), oauth2.Credentials{ClientID: tc.clientID, Assertion: tc.assertion(), Method: client.AuthMethodPrivateKeyJWT})
			if tc.want == "" {
				if err != nil || c.ClientID != tc.clientID {
					t.Fatalf("got %q, %v; want %q", c.ClientID, err, tc.clientID)
				}
				if f.spent.len() != before+1 {
					t.Errorf("the jti was not recorded")
				}
				return
			}
			var oe *oauth2.Error
			if !errors.As(err, &oe) || oe.Code != oauth2.CodeInvalidClient || !strings.Contains(oe.Description, tc.want) {
				t.Fatalf("err %v, want invalid_client mentioning %q", err, tc.want)
			}
			if f.spent.len() != before {
				t.Errorf("a refused assertion recorded its jti")
			}
		})
	}
}

func mustEC(c elliptic.Curve) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

// TestInlineKeysCache: a parsed set is reused; a changed set is parsed
// afresh (an update takes effect at once); a bad set is never cached; the
// cache stays bounded.
func TestInlineKeysCache(t *testing.T) {
	f := newPKFixture(t)
	c := newInlineKeys(2)
	a, b := setOf(t, f.ec), setOf(t, f.ed)
	for range 3 {
		if keys, err := c.keys(a); err != nil || len(keys) != 1 || keys[0].KeyID != "ec-1" {
			t.Fatalf("a: %v, %v", keys, err)
		}
	}
	if c.hits != 2 {
		t.Errorf("hits = %d, want 2", c.hits)
	}
	if keys, err := c.keys(b); err != nil || keys[0].KeyID != "ed-1" {
		t.Errorf("b: %v, %v", keys, err)
	}
	if _, err := c.keys([]byte(`{"keys":[{"kty":"oct","k":"AA"}]}`)); err == nil {
		t.Error("a symmetric key was accepted")
	}
	c.keys(setOf(t, f.rsa))
	if len(c.m) > 2 {
		t.Errorf("%d sets cached, want at most 2", len(c.m))
	}
	var nilCache *inlineKeys
	if keys, err := nilCache.keys(a); err != nil || len(keys) != 1 {
		t.Errorf("nil cache: %v, %v", keys, err)
	}
}

// TestPrivateKeyJWTReplay: a jti is single use per client; the same jti
// from another client is its own; after the assertion expires the record
// does not matter (a new assertion could not be older).
func TestPrivateKeyJWTReplay(t *testing.T) {
	f := newPKFixture(t)
	auth := func(id, raw string) error {
		_, err := f.method.Authenticate(t.Context(), oauth2.Credentials{ClientID: id, Assertion: raw, Method: client.AuthMethodPrivateKeyJWT})
		return err
	}
	raw := f.ec.sign(t, claims("pk", func(m map[string]any) { m["jti"] = "once" }), false)
	if err := auth("pk", raw); err != nil {
		t.Fatal(err)
	}
	err := auth("pk", raw)
	var oe *oauth2.Error
	if !errors.As(err, &oe) || oe.Code != oauth2.CodeInvalidClient || !strings.Contains(oe.Description, "already used") || !errors.Is(err, ErrReplayed) {
		t.Fatalf("replay: %v", err)
	}
	// Re-signed with the same jti: still a replay.
	if err := auth("pk", f.ed.sign(t, claims("pk", func(m map[string]any) { m["jti"] = "once" }), false)); !errors.Is(err, ErrReplayed) {
		t.Errorf("same jti, new signature: %v", err)
	}
	if err := auth("pk2", f.ec.sign(t, claims("pk2", func(m map[string]any) { m["jti"] = "once" }), false)); err != nil {
		t.Errorf("same jti on another client: %v", err)
	}
}

// TestPrivateKeyJWTKeySource: a jwks_uri client's unknown kid asks the
// source for a fresh set once; a failing source is invalid_client.
func TestPrivateKeyJWTKeySource(t *testing.T) {
	f := newPKFixture(t)
	_, err := f.method.Authenticate(t.Context(), oauth2.Credentials{ClientID: "pk-uri", Method: client.AuthMethodPrivateKeyJWT,
		Assertion: f.ed.sign(t, claims("pk-uri", nil), false)})
	if err == nil || f.keys.refreshes != 1 {
		t.Errorf("unknown kid: %v after %d refreshes, want a failure after 1", err, f.keys.refreshes)
	}
	// The client rotates: the new key is published and found on refresh.
	f.keys.sets["https://app.example.com/jwks"] = append(f.keys.sets["https://app.example.com/jwks"], f.ed.public())
	if _, err := f.method.Authenticate(t.Context(), oauth2.Credentials{ClientID: "pk-uri", Method: client.AuthMethodPrivateKeyJWT,
		Assertion: f.ed.sign(t, claims("pk-uri", nil), false)}); err != nil {
		t.Errorf("rotated key: %v", err)
	}
	f.keys.err = errors.New("connection refused")
	_, err = f.method.Authenticate(t.Context(), oauth2.Credentials{ClientID: "pk-uri", Method: client.AuthMethodPrivateKeyJWT,
		Assertion: f.ec.sign(t, claims("pk-uri", nil), false)})
	var oe *oauth2.Error
	if !errors.As(err, &oe) || oe.Code != oauth2.CodeInvalidClient || !strings.Contains(oe.Description, "jwks_uri") {
		t.Errorf("failing jwks_uri: %v", err)
	}
}

// TestAuthenticatorPrivateKeyJWT: through the Authenticator, with the
// registered-method check and discovery's lists.
func TestAuthenticatorPrivateKeyJWT(t *testing.T) {
	f := newPKFixture(t)
	a := Default(f.method.Clients, f.method)
	if got := a.Methods(); strings.Join(got, " ") != "client_secret_basic client_secret_post none private_key_jwt" {
		t.Errorf("Methods() = %v", got)
	}
	if got := a.SigningAlgs(); strings.Join(got, " ") != strings.Join(client.AssertionAlgs, " ") {
		t.Errorf("SigningAlgs() = %v", got)
	}
	if algs := Default(f.method.Clients, PrivateKeyJWT{}).SigningAlgs(); algs != nil {
		t.Errorf("without private_key_jwt, SigningAlgs() = %v", algs)
	}
	form := url.Values{"client_assertion_type": {AssertionType}, "client_assertion": {f.ec.sign(t, claims("pk", nil), false)}}
	cr, err := FromRequest("", form, "198.51.100.7")
	if err != nil {
		t.Fatal(err)
	}
	if c, err := a.Authenticate(t.Context(), cr); err != nil || c.ClientID != "pk" {
		t.Errorf("Authenticate: %q, %v", c.ClientID, err)
	}
	// A private_key_jwt client's secret (it has none) is refused as any wrong secret.
	if _, err := a.Authenticate(t.Context(), oauth2.Credentials{ClientID: "pk", Secret: "s-pk", Method: client.AuthMethodSecretBasic}); err == nil {
		t.Error("a private_key_jwt client authenticated with a secret")
	}
}

func TestFromRequestAssertion(t *testing.T) {
	f := newPKFixture(t)
	good := f.ec.sign(t, claims("pk", nil), false)
	noSub := f.ec.sign(t, claims("pk", func(m map[string]any) { delete(m, "sub") }), false)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("pk:secret"))
	for _, tc := range []struct {
		name   string
		header string
		form   url.Values
		code   string // "" → ok
		want   string
	}{
		{"assertion", "", url.Values{"client_assertion_type": {AssertionType}, "client_assertion": {good}}, "", ""},
		{"with a matching client_id", "", url.Values{"client_id": {"pk"}, "client_assertion_type": {AssertionType}, "client_assertion": {good}}, "", ""},
		{"with another client_id", "", url.Values{"client_id": {"pk2"}, "client_assertion_type": {AssertionType}, "client_assertion": {good}}, "invalid_request", "does not match"},
		{"no type", "", url.Values{"client_assertion": {good}}, "invalid_request", "client_assertion_type"},
		{"no assertion", "", url.Values{"client_assertion_type": {AssertionType}}, "invalid_request", "needs a client_assertion"},
		{"wrong type", "", url.Values{"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:saml2-bearer"}, "client_assertion": {good}}, "invalid_client", "unsupported client_assertion_type"},
		{"with HTTP Basic", basic, url.Values{"client_assertion_type": {AssertionType}, "client_assertion": {good}}, "invalid_request", "not both"},
		{"with client_secret", "", url.Values{"client_id": {"pk"}, "client_secret": {"x"}, "client_assertion_type": {AssertionType}, "client_assertion": {good}}, "invalid_request", "not both"},
		{"no sub", "", url.Values{"client_assertion_type": {AssertionType}, "client_assertion": {noSub}}, "invalid_client", "no sub"},
		{"garbage", "", url.Values{"client_assertion_type": {AssertionType}, "client_assertion": {"....."}}, "invalid_client", "not a JWS"},
		{"oversized", "", url.Values{"client_assertion_type": {AssertionType}, "client_assertion": {strings.Repeat("x", MaxAssertionBytes+1)}}, "invalid_client", "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr, err := FromRequest(tc.header, tc.form, "src")
			if cr.Method != client.AuthMethodPrivateKeyJWT {
				t.Errorf("method %q", cr.Method)
			}
			if tc.code == "" {
				if err != nil || cr.ClientID != "pk" || cr.Assertion != good || cr.Source != "src" {
					t.Fatalf("got %+v, %v", cr, err)
				}
				return
			}
			var oe *oauth2.Error
			if !errors.As(err, &oe) || oe.Code != tc.code || !strings.Contains(oe.Description, tc.want) {
				t.Fatalf("err %v, want %s mentioning %q", err, tc.code, tc.want)
			}
		})
	}
}

// FuzzFromRequestAssertion: no form and header make FromRequest panic; what it
// accepts as an assertion names a client and carries the assertion.
func FuzzFromRequestAssertion(f *testing.F) {
	fx := newPKFixture(f)
	good := fx.ec.sign(f, claims("pk", nil), false)
	f.Add("", "client_assertion_type="+url.QueryEscape(AssertionType)+"&client_assertion="+good)
	f.Add("", "client_id=pk&client_assertion_type="+url.QueryEscape(AssertionType)+"&client_assertion="+good)
	f.Add("Basic cGs6cw==", "client_assertion="+good)
	f.Add("", "client_assertion_type=x&client_assertion=eyJhbGciOiJub25lIn0.e30.")
	f.Add("", "client_id=a&client_secret=b")
	f.Add("Basic !!!", "client_id=a")
	f.Add("", "client_assertion_type="+url.QueryEscape(AssertionType)+"&client_assertion=eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOjF9.AAAA")
	f.Fuzz(func(t *testing.T, header, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		cr, err := FromRequest(header, form, "src")
		if err != nil {
			var oe *oauth2.Error
			if !errors.As(err, &oe) || (oe.Code != oauth2.CodeInvalidRequest && oe.Code != oauth2.CodeInvalidClient) {
				t.Fatalf("error %v is not invalid_request or invalid_client", err)
			}
			return
		}
		if cr.Method == client.AuthMethodPrivateKeyJWT && (cr.ClientID == "" || cr.Assertion == "" || len(cr.Assertion) > MaxAssertionBytes) {
			t.Fatalf("accepted %+v", cr)
		}
		if cr.Method != client.AuthMethodPrivateKeyJWT && cr.Assertion != "" {
			t.Fatalf("assertion carried by method %s", cr.Method)
		}
	})
}

func BenchmarkPrivateKeyJWT(b *testing.B) {
	f := newPKFixture(b)
	for _, s := range []signer{f.ec, f.ed, f.rsa} {
		b.Run(string(s.alg), func(b *testing.B) {
			// Each run its own jtis, as a real client's.
			run := time.Now().UnixNano()
			assertions := make([]string, b.N)
			for i := range assertions {
				assertions[i] = s.sign(b, claims("pk", func(m map[string]any) { m["jti"] = fmt.Sprintf("b-%d-%d", run, i) }), false)
			}
			form := url.Values{"client_assertion_type": {AssertionType}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				form.Set("client_assertion", assertions[i])
				cr, err := FromRequest("", form, "src")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := f.method.Authenticate(b.Context(), cr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
