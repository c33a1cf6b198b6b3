package rs_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/resource"
	"github.com/latchkey/latchkey/internal/server/servertest"
	"github.com/latchkey/latchkey/rs"
)

const (
	resA = "https://a.example.com/mcp"
	resB = "https://b.example.com/mcp"
)

// latchkey starts a real Latchkey server with resources A and B and a
// client that may get tokens for them, and returns a function that gets
// one for a resource.
func latchkey(t *testing.T) (*servertest.Env, func(resource string) string, [2]string) {
	return latchkeyB(t)
}

func latchkeyB(t testing.TB) (*servertest.Env, func(resource string) string, [2]string) {
	t.Helper()
	e := servertest.New(t)
	for _, in := range []resource.CreateInput{{Identifier: resA, Name: "A", Scopes: []string{"mcp:tools"}}, {Identifier: resB, Name: "B", Scopes: []string{"mcp:tools"}}} {
		if _, err := e.App.Resources.Create(t.Context(), domain.Actor{Root: true}, in); err != nil {
			t.Fatal(err)
		}
	}
	c, secret := e.ServiceClient("agent", "mcp:tools", "tokens:introspect")
	get := func(res string) string {
		t.Helper()
		r := e.Do("POST", "/oauth2/token", "application/x-www-form-urlencoded", "", "grant_type=client_credentials&scope=mcp:tools&resource="+url.QueryEscape(res),
			"Authorization: "+servertest.BasicAuth(c.ClientID, secret.Expose()))
		if r.Status != 200 {
			t.Fatalf("token: %d %s", r.Status, r.Body)
		}
		return r.Object(t)["access_token"].(string)
	}
	return e, get, [2]string{c.ClientID, secret.Expose()}
}

func newVerifier(t *testing.T, cfg rs.Config) *rs.Verifier {
	t.Helper()
	v, err := rs.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifyAgainstLatchkey(t *testing.T) {
	e, token, _ := latchkey(t)
	v := newVerifier(t, rs.Config{Issuer: e.URL, Audience: resA, Now: e.Clock.Now})
	raw := token(resA)
	c, err := v.Verify(t.Context(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != e.URL || !c.Audience.Contains(resA) || !c.HasScope("mcp:tools") || c.ClientID == "" {
		t.Errorf("claims %+v", c)
	}
	// A token for resource B is refused by resource A, and the other way.
	if _, err := v.Verify(t.Context(), token(resB)); !errors.Is(err, rs.ErrInvalidToken) {
		t.Errorf("token for B accepted by A: %v", err)
	}
	vB := newVerifier(t, rs.Config{Issuer: e.URL, Audience: resB, Now: e.Clock.Now})
	if _, err := vB.Verify(t.Context(), raw); !errors.Is(err, rs.ErrInvalidToken) {
		t.Errorf("token for A accepted by B: %v", err)
	}
	// A token for Latchkey itself (no resource) is not for A either.
	if _, err := v.Verify(t.Context(), e.TokenWith("mcp:tools")); !errors.Is(err, rs.ErrInvalidToken) {
		t.Errorf("token for the issuer accepted by A: %v", err)
	}
	// Expired, per the injected clock.
	e.Clock.Advance(2 * time.Hour)
	if _, err := v.Verify(t.Context(), raw); !errors.Is(err, rs.ErrInvalidToken) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired token: %v", err)
	}
}

// hostile tokens, built from a real one.
func TestHostileTokens(t *testing.T) {
	e, token, _ := latchkey(t)
	v := newVerifier(t, rs.Config{Issuer: e.URL, Audience: resA, Now: e.Clock.Now})
	raw := token(resA)
	parts := strings.Split(raw, ".")
	header := func(h map[string]any) string {
		b, _ := json.Marshal(h)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	var realHeader map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	_ = json.Unmarshal(hb, &realHeader)
	kid := realHeader["kid"].(string)

	// HS256 with the issuer's public key as the HMAC secret.
	jwks := e.Do("GET", "/.well-known/jwks.json", "", "", "")
	hsSigner, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: jwks.Body}, (&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	hsJWS, _ := hsSigner.Sign(payload)
	hs, _ := hsJWS.CompactSerialize()

	// A token signed by a key the issuer never published, under its kid.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forger, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: other}, (&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", kid))
	fJWS, _ := forger.Sign(payload)
	forged, _ := fJWS.CompactSerialize()

	for name, tok := range map[string]string{
		"alg none":           header(map[string]any{"alg": "none", "typ": "at+jwt", "kid": kid}) + "." + parts[1] + ".",
		"HS256 confusion":    hs,
		"wrong kid":          header(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": "no-such-key"}) + "." + parts[1] + "." + parts[2],
		"forged signature":   forged,
		"typ JWT":            header(map[string]any{"alg": "ES256", "typ": "JWT", "kid": kid}) + "." + parts[1] + "." + parts[2],
		"payload swapped":    parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+e.URL+`","aud":"`+resA+`","exp":9999999999}`)) + "." + parts[2],
		"not a JWS":          "garbage",
		"empty":              "",
		"two dots":           "a.b",
		"oversized":          strings.Repeat("a", 9000),
		"invalid UTF-8":      "\xff\xfe.\xff.\xff",
		"JWE-shaped":         "a.b.c.d.e",
		"signature stripped": parts[0] + "." + parts[1] + ".",
	} {
		if _, err := v.Verify(t.Context(), tok); !errors.Is(err, rs.ErrInvalidToken) {
			t.Errorf("%s: %v, want ErrInvalidToken", name, err)
		}
	}
	if _, err := v.Verify(t.Context(), raw); err != nil {
		t.Errorf("the real token after the hostile ones: %v", err)
	}
}

// fakeIssuer serves metadata and a JWKS with an RS256 key, counting JWKS
// fetches; sign makes tokens with claims.
type fakeIssuer struct {
	srv     *httptest.Server
	key     *rsa.PrivateKey
	kid     string
	fetches atomic.Int32
}

func newFakeIssuer(t *testing.T) *fakeIssuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeIssuer{key: key, kid: "rsa-1"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": f.srv.URL, "jwks_uri": f.srv.URL + "/jwks"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		f.fetches.Add(1)
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &f.key.PublicKey, KeyID: f.kid, Algorithm: "RS256", Use: "sig"}}})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIssuer) sign(t *testing.T, kid string, c jwt.Claims) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: f.key}, (&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(s).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestRS256ClaimsAndKeyRefresh(t *testing.T) {
	f := newFakeIssuer(t)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	v := newVerifier(t, rs.Config{Issuer: f.srv.URL, Audience: resA, Now: clock, MinRefreshInterval: 10 * time.Second, KeysTTL: time.Hour})
	base := jwt.Claims{Issuer: f.srv.URL, Audience: jwt.Audience{resA}, Subject: "s", Expiry: jwt.NewNumericDate(now.Add(time.Minute)), IssuedAt: jwt.NewNumericDate(now)}
	if _, err := v.Verify(t.Context(), f.sign(t, f.kid, base)); err != nil {
		t.Fatalf("RS256: %v", err)
	}
	for name, mut := range map[string]func(*jwt.Claims){
		"wrong iss":   func(c *jwt.Claims) { c.Issuer = "https://evil.example" },
		"wrong aud":   func(c *jwt.Claims) { c.Audience = jwt.Audience{resB} },
		"expired":     func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(-time.Second)) },
		"no exp":      func(c *jwt.Claims) { c.Expiry = nil },
		"nbf future":  func(c *jwt.Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Minute)) },
		"iat future":  func(c *jwt.Claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Minute)) },
		"exp exactly": func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(now) },
	} {
		c := base
		mut(&c)
		if _, err := v.Verify(t.Context(), f.sign(t, f.kid, c)); !errors.Is(err, rs.ErrInvalidToken) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Unknown kids refresh the keys at most once per MinRefreshInterval.
	before := f.fetches.Load()
	for range 20 {
		if _, err := v.Verify(t.Context(), f.sign(t, "unknown", base)); !errors.Is(err, rs.ErrInvalidToken) {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if got := f.fetches.Load() - before; got > 1 {
		t.Errorf("20 unknown-kid tokens fetched the JWKS %d times, want at most 1", got)
	}
	// A rotated key is picked up once the interval has passed.
	f.kid = "rsa-2"
	now = now.Add(11 * time.Second)
	base.Expiry = jwt.NewNumericDate(now.Add(time.Minute))
	if _, err := v.Verify(t.Context(), f.sign(t, "rsa-2", base)); err != nil {
		t.Errorf("rotated key: %v", err)
	}
}

func TestMiddleware(t *testing.T) {
	e, token, creds := latchkey(t)
	metaURL := rs.MetadataURL(resA)
	v := newVerifier(t, rs.Config{Issuer: e.URL, Audience: resA, Now: e.Clock.Now, ClientID: creds[0], ClientSecret: creds[1]})
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := rs.ClaimsFrom(r.Context())
		if !ok {
			t.Error("no claims in the context")
		}
		_, _ = w.Write([]byte("hello " + c.Subject))
	})
	mux := http.NewServeMux()
	mux.Handle("/tool", v.Require(rs.Options{ResourceMetadata: metaURL, Scopes: []string{"mcp:tools"}}, hello))
	mux.Handle("/admin", v.Require(rs.Options{ResourceMetadata: metaURL, Scopes: []string{"mcp:admin"}}, hello))
	mux.Handle("/sensitive", v.Require(rs.Options{ResourceMetadata: metaURL, Scopes: []string{"mcp:tools"}, Active: true}, hello))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	call := func(path string, headers ...string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		for _, h := range headers {
			k, val, _ := strings.Cut(h, ": ")
			req.Header.Add(k, val)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		return res, res.Header.Get("WWW-Authenticate")
	}
	raw := token(resA)
	for _, tt := range []struct {
		name, path string
		headers    []string
		status     int
		challenge  string
	}{
		{"no token", "/tool", nil, 401, `Bearer resource_metadata="https://a.example.com/.well-known/oauth-protected-resource/mcp", scope="mcp:tools"`},
		{"valid", "/tool", []string{"Authorization: Bearer " + raw}, 200, ""},
		{"lower-case scheme", "/tool", []string{"Authorization: bearer " + raw}, 200, ""},
		{"token for B", "/tool", []string{"Authorization: Bearer " + token(resB)}, 401, `error="invalid_token"`},
		{"garbage", "/tool", []string{"Authorization: Bearer x.y.z"}, 401, `error="invalid_token"`},
		// RFC 6750 §3.1: credentials of another scheme are no bearer
		// token: a challenge without an error code, as for no header.
		{"basic", "/tool", []string{"Authorization: Basic eDp5"}, 401, `Bearer resource_metadata="https://a.example.com/.well-known/oauth-protected-resource/mcp", scope="mcp:tools"`},
		{"basic, lower case", "/tool", []string{"Authorization: basic eDp5"}, 401, `scope="mcp:tools"`},
		{"scheme alone", "/tool", []string{"Authorization: Negotiate"}, 401, `scope="mcp:tools"`},
		{"DPoP", "/tool", []string{"Authorization: DPoP " + raw}, 401, `scope="mcp:tools"`},
		{"bearer-ish scheme", "/tool", []string{"Authorization: Bearerx " + raw}, 401, `scope="mcp:tools"`},
		// What is malformed stays 400 invalid_request.
		{"Bearer without token", "/tool", []string{"Authorization: Bearer"}, 400, `error="invalid_request"`},
		{"Bearer and a space", "/tool", []string{"Authorization: Bearer "}, 400, `error="invalid_request"`},
		{"two tokens", "/tool", []string{"Authorization: Bearer " + raw + " " + raw}, 400, `error="invalid_request"`},
		{"empty header", "/tool", []string{"Authorization: "}, 400, `error="invalid_request"`},
		{"two headers", "/tool", []string{"Authorization: Bearer " + raw, "Authorization: Bearer " + raw}, 400, `error="invalid_request"`},
		{"missing scope", "/admin", []string{"Authorization: Bearer " + raw}, 403, `scope="mcp:admin", error="insufficient_scope"`},
		{"introspected, active", "/sensitive", []string{"Authorization: Bearer " + raw}, 200, ""},
	} {
		res, ch := call(tt.path, tt.headers...)
		noError := !strings.Contains(tt.challenge, "error=") && strings.Contains(ch, "error=")
		if res.StatusCode != tt.status || !strings.Contains(ch, tt.challenge) || noError || (tt.status == 401 && !strings.Contains(ch, "resource_metadata=")) {
			t.Errorf("%s: %d %q, want %d %q", tt.name, res.StatusCode, ch, tt.status, tt.challenge)
		}
	}
	// Revoked: still valid locally, refused where introspection is asked.
	r := e.Do("POST", "/oauth2/revoke", "application/x-www-form-urlencoded", "", "token="+raw, "Authorization: "+servertest.BasicAuth(creds[0], creds[1]))
	if r.Status != 200 {
		t.Fatal(r.String())
	}
	if res, _ := call("/tool", "Authorization: Bearer "+raw); res.StatusCode != 200 {
		t.Errorf("locally verified route after revocation: %d", res.StatusCode)
	}
	if res, ch := call("/sensitive", "Authorization: Bearer "+raw); res.StatusCode != 401 || !strings.Contains(ch, "invalid_token") {
		t.Errorf("introspected route after revocation: %d %q", res.StatusCode, ch)
	}
}

func TestMetadataHandler(t *testing.T) {
	h := rs.MetadataHandler(rs.Metadata{Resource: resA, AuthorizationServers: []string{"https://as.example"}, ScopesSupported: []string{"mcp:tools"}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/oauth-protected-resource/mcp", nil))
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || rec.Code != 200 || m["resource"] != resA ||
		rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	for k, want := range map[string]string{"authorization_servers": "[https://as.example]", "scopes_supported": "[mcp:tools]", "bearer_methods_supported": "[header]"} {
		if got, _ := json.Marshal(m[k]); strings.ReplaceAll(strings.Trim(string(got), "[]"), `"`, "") != strings.Trim(want, "[]") {
			t.Errorf("%s = %s", k, got)
		}
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
	for in, want := range map[string]string{
		"https://a.example.com/mcp": "https://a.example.com/.well-known/oauth-protected-resource/mcp",
		"https://a.example.com/":    "https://a.example.com/.well-known/oauth-protected-resource",
		"http://127.0.0.1:8080":     "http://127.0.0.1:8080/.well-known/oauth-protected-resource",
		"urn:example:no-host":       "",
		// RFC 9728 §3.1: the query stays after the path, and a path's
		// trailing slash is part of it.
		"https://a.example.com/mcp?tenant=1":  "https://a.example.com/.well-known/oauth-protected-resource/mcp?tenant=1",
		"https://a.example.com/mcp/":          "https://a.example.com/.well-known/oauth-protected-resource/mcp/",
		"https://a.example.com/mcp/?tenant=1": "https://a.example.com/.well-known/oauth-protected-resource/mcp/?tenant=1",
		"https://a.example.com/?tenant=1":     "https://a.example.com/.well-known/oauth-protected-resource?tenant=1",
		"https://a.example.com?tenant=1":      "https://a.example.com/.well-known/oauth-protected-resource?tenant=1",
		"https://a.example.com/a%2Fb/c":       "https://a.example.com/.well-known/oauth-protected-resource/a%2Fb/c",
		"https://a.example.com:8443/mcp":      "https://a.example.com:8443/.well-known/oauth-protected-resource/mcp",
		"https://a.example.com/mcp#frag":      "",
		"https://a.example.com/mcp#":          "",
		"/mcp":                                "",
		"":                                    "",
	} {
		if got := rs.MetadataURL(in); got != want {
			t.Errorf("MetadataURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewVerifierNeedsIssuerAndAudience(t *testing.T) {
	if _, err := rs.NewVerifier(rs.Config{Issuer: "https://as"}); err == nil {
		t.Error("no audience accepted")
	}
}

// The issuer being unreachable is not an invalid token: the middleware
// answers 503, not 401.
func TestIssuerDown(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	v := newVerifier(t, rs.Config{Issuer: srv.URL, Audience: resA})
	f := newFakeIssuer(t)
	raw := f.sign(t, f.kid, jwt.Claims{Issuer: srv.URL, Audience: jwt.Audience{resA}, Expiry: jwt.NewNumericDate(time.Now().Add(time.Minute))})
	if _, err := v.Verify(t.Context(), raw); err == nil || errors.Is(err, rs.ErrInvalidToken) {
		t.Errorf("issuer down: %v", err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+raw)
	v.Require(rs.Options{}, http.NotFoundHandler()).ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("middleware with the issuer down: %d", rec.Code)
	}
}

// A resource with a query has its metadata at the URL with that query
// (RFC 9728 §3.1); the handler refuses another query, which names another
// resource.
func TestMetadataHandlerQuery(t *testing.T) {
	const resource = "https://a.example.com/mcp?tenant=1"
	h := rs.MetadataHandler(rs.Metadata{Resource: resource})
	metadata, err := url.Parse(rs.MetadataURL(resource))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		target string
		status int
	}{
		{metadata.RequestURI(), 200},
		{"/.well-known/oauth-protected-resource/mcp", 404},
		{"/.well-known/oauth-protected-resource/mcp?tenant=2", 404},
		{"/.well-known/oauth-protected-resource/mcp?tenant=1&x=y", 404},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", tt.target, nil))
		if rec.Code != tt.status {
			t.Errorf("GET %s: %d, want %d", tt.target, rec.Code, tt.status)
		}
		if tt.status == 200 && !strings.Contains(rec.Body.String(), `"resource":"https://a.example.com/mcp?tenant=1"`) {
			t.Errorf("GET %s: %s", tt.target, rec.Body)
		}
	}
	// Without a query in the resource, a query changes nothing.
	rec := httptest.NewRecorder()
	rs.MetadataHandler(rs.Metadata{Resource: "https://a.example.com/mcp"}).ServeHTTP(rec, httptest.NewRequest("GET", "/x?y=1", nil))
	if rec.Code != 200 {
		t.Errorf("query on a resource without one: %d", rec.Code)
	}
}
