package server

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestTwoChains: an API route answers like an API (JSON, even when it
// panics) and a page route like a page (HTML, CSP, no caching), each with
// its own chain around the same mux.
func TestTwoChains(t *testing.T) {
	mux := http.NewServeMux()
	r := router{mux: mux, log: slog.New(slog.DiscardHandler)}
	r.api("GET /api/boom", func(http.ResponseWriter, *http.Request) { panic("api boom") })
	r.page("GET /page/boom", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("page boom") }))
	r.api("GET /api/ok", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("{}")) })
	r.page("GET /page/ok", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<p>hi</p>")) }))

	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	if rec := get("/api/boom"); rec.Code != 500 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") ||
		!strings.Contains(rec.Body.String(), `"server_error"`) {
		t.Errorf("API panic: %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	if rec := get("/page/boom"); rec.Code != 500 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Errorf("page panic: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	api, page := get("/api/ok"), get("/page/ok")
	if api.Header().Get("X-Frame-Options") != "DENY" || api.Header().Get("Content-Security-Policy") != "" {
		t.Errorf("API headers: %v", api.Header())
	}
	if !strings.Contains(page.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
		page.Header().Get("Cache-Control") != "no-store" || page.Header().Get("X-Frame-Options") != "DENY" {
		t.Errorf("page headers: %v", page.Header())
	}
}
