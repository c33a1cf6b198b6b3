package rs_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/latchkey/latchkey/internal/token"
	"github.com/latchkey/latchkey/rs"
)

// BenchmarkMiddleware is one request through Require with a warm JWKS
// cache, presenting the same token every time (as a client does for its
// token's lifetime): with the verified-token cache, a hash and a lookup;
// without it, parse, one ES256 verification, the claim checks.
func BenchmarkMiddleware(b *testing.B) {
	e, token, _ := latchkeyB(b)
	v, err := rs.NewVerifier(rs.Config{Issuer: e.URL, Audience: resA, Now: e.Clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	h := v.Require(rs.Options{Scopes: []string{"mcp:tools"}}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+token(resA))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req) // warm the key cache
	if rec.Code != 200 {
		b.Fatalf("warm-up: %d", rec.Code)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

// freshTokens is how many distinct tokens BenchmarkMiddlewareFreshToken
// mints beforehand; run it with -benchtime=Nx, N at most this, for every
// request to carry a token never seen before.
const freshTokens = 8192

// BenchmarkMiddlewareFreshToken is one request through Require with a
// warm JWKS cache and a token never presented before: the signature is
// checked every time (and, with the verified-token cache on, the token is
// put in it).
func BenchmarkMiddlewareFreshToken(b *testing.B) {
	e, _, _ := latchkeyB(b)
	c, _ := e.ServiceClient("bench", "mcp:tools")
	v, err := rs.NewVerifier(rs.Config{Issuer: e.URL, Audience: resA, Now: e.Clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	h := v.Require(rs.Options{Scopes: []string{"mcp:tools"}}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	reqs := make([]*http.Request, freshTokens+1)
	for i := range reqs {
		m, err := e.App.Issuer.Mint(b.Context(), token.Spec{Subject: c.ClientID, ClientID: c.ClientID, Scopes: []string{"mcp:tools"}, Audience: []string{resA}})
		if err != nil {
			b.Fatal(err)
		}
		reqs[i] = httptest.NewRequest("GET", "/", nil)
		reqs[i].Header.Set("Authorization", "Bearer "+m.Raw)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, reqs[freshTokens]) // warm the key cache
	if rec.Code != 200 {
		b.Fatalf("warm-up: %d", rec.Code)
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, reqs[i%freshTokens])
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
		i++
	}
	if i > freshTokens {
		b.Logf("%d requests for %d tokens: some were repeated (use -benchtime=%dx)", i, freshTokens, freshTokens)
	}
}
