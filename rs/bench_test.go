package rs_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/latchkey/latchkey/rs"
)

// BenchmarkMiddleware is one request through Require with a warm JWKS
// cache: parse, one ES256 verification, the claim checks, the scope
// check, the context value.
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
