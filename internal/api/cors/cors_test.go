package cors_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/api/cors"
	"github.com/latchkey/latchkey/internal/client"
)

// fakeClients: "spa" lists https://spa.example; "other" lists
// https://other.example; "off" is disabled and lists https://off.example.
type fakeClients struct{ fail bool }

var clients = map[string]client.Client{
	"spa":   {ClientID: "spa", Enabled: true, AllowedOrigins: []string{"https://spa.example", "http://127.0.0.1:5173"}},
	"other": {ClientID: "other", Enabled: true, AllowedOrigins: []string{"https://other.example"}},
	"off":   {ClientID: "off", Enabled: false, AllowedOrigins: []string{"https://off.example"}},
}

var errStore = errors.New("store down")

func (f fakeClients) Lookup(_ context.Context, id string) (client.Client, error) {
	if f.fail {
		return client.Client{}, errStore
	}
	c, ok := clients[id]
	if !ok {
		return client.Client{}, client.ErrNotFound
	}
	return c, nil
}

func (f fakeClients) OriginAllowed(_ context.Context, origin string) (bool, error) {
	if f.fail {
		return false, errStore
	}
	for _, c := range clients {
		if c.AllowsOrigin(origin) {
			return true, nil
		}
	}
	return false, nil
}

func policy(fail bool) *cors.Policy {
	return cors.New(fakeClients{fail: fail}, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

var corsHeaders = []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
	"Access-Control-Max-Age", "Access-Control-Expose-Headers", "Access-Control-Allow-Credentials", "Vary"}

func noCORS(t *testing.T, h http.Header) {
	t.Helper()
	for _, k := range corsHeaders {
		if v := h.Values(k); len(v) > 0 {
			t.Errorf("%s: %q, want none", k, v)
		}
	}
}

// TestWrap: an actual request's origin is judged against the client the
// handler identified, on success and error alike; unidentified requests
// against the origin index; no Origin, no headers.
func TestWrap(t *testing.T) {
	tests := []struct {
		name     string
		origins  []string // Origin header values
		identify *string  // client the handler names (nil: none)
		status   int
		fail     bool
		want     bool
	}{
		{name: "listed origin, success", origins: []string{"https://spa.example"}, identify: ptr("spa"), status: 200, want: true},
		{name: "listed origin, error", origins: []string{"https://spa.example"}, identify: ptr("spa"), status: 400, want: true},
		{name: "listed origin, 401", origins: []string{"http://127.0.0.1:5173"}, identify: ptr("spa"), status: 401, want: true},
		{name: "another client's origin", origins: []string{"https://other.example"}, identify: ptr("spa"), status: 200},
		{name: "unlisted origin", origins: []string{"https://evil.example"}, identify: ptr("spa"), status: 200},
		{name: "origin differs in port", origins: []string{"http://127.0.0.1:5174"}, identify: ptr("spa"), status: 200},
		{name: "origin differs in case", origins: []string{"https://SPA.example"}, identify: ptr("spa"), status: 200},
		{name: "origin with path", origins: []string{"https://spa.example/"}, identify: ptr("spa"), status: 200},
		{name: "null origin", origins: []string{"null"}, identify: ptr("spa"), status: 200},
		{name: "wildcard origin", origins: []string{"*"}, identify: ptr("spa"), status: 200},
		{name: "repeated Origin", origins: []string{"https://spa.example", "https://spa.example"}, identify: ptr("spa"), status: 200},
		{name: "disabled client", origins: []string{"https://off.example"}, identify: ptr("off"), status: 401},
		{name: "unknown client", origins: []string{"https://spa.example"}, identify: ptr("nobody"), status: 401},
		{name: "hostile client_id", origins: []string{"https://spa.example"}, identify: ptr("\xff\x00"), status: 401},
		{name: "unidentified, origin of an enabled client", origins: []string{"https://other.example"}, status: 400, want: true},
		{name: "unidentified, origin of a disabled client", origins: []string{"https://off.example"}, status: 400},
		{name: "unidentified, unknown origin", origins: []string{"https://evil.example"}, status: 400},
		{name: "store failure", origins: []string{"https://spa.example"}, identify: ptr("spa"), status: 200, fail: true},
		{name: "store failure, unidentified", origins: []string{"https://spa.example"}, status: 400, fail: true},
		{name: "no Origin", identify: ptr("spa"), status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := policy(tt.fail).Wrap(func(w http.ResponseWriter, r *http.Request) {
				if tt.identify != nil {
					cors.Identify(r.Context(), *tt.identify)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(`{}`))
			})
			req := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader("x=y"))
			for _, o := range tt.origins {
				req.Header.Add("Origin", o)
			}
			rec := httptest.NewRecorder()
			h(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if !tt.want {
				noCORS(t, rec.Header())
				return
			}
			if got := rec.Header().Get("Access-Control-Allow-Origin"); got != tt.origins[0] {
				t.Errorf("Allow-Origin %q, want %q", got, tt.origins[0])
			}
			if got := rec.Header().Values("Vary"); !slices.Contains(got, "Origin") {
				t.Errorf("Vary %q, want Origin", got)
			}
			if got := rec.Header().Get("Access-Control-Expose-Headers"); !strings.Contains(got, "WWW-Authenticate") {
				t.Errorf("Expose-Headers %q", got)
			}
			if rec.Header().Get("Access-Control-Allow-Credentials") != "" {
				t.Error("credentials allowed: the endpoints take no cookies")
			}
		})
	}
}

// TestWrapImplicitWrite: a handler that only writes a body (implicit 200)
// still gets the headers.
func TestWrapImplicitWrite(t *testing.T) {
	h := policy(false).Wrap(func(w http.ResponseWriter, r *http.Request) {
		cors.Identify(r.Context(), "spa")
		_, _ = w.Write([]byte("ok"))
	})
	req := httptest.NewRequest(http.MethodGet, "/userinfo", nil)
	req.Header.Set("Origin", "https://spa.example")
	rec := httptest.NewRecorder()
	h(rec, req)
	if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "https://spa.example" {
		t.Errorf("Allow-Origin %q", got)
	}
}

// TestWrapNothingWritten: a handler that writes nothing (an implicit
// 200) still gets the headers.
func TestWrapNothingWritten(t *testing.T) {
	h := policy(false).Wrap(func(w http.ResponseWriter, r *http.Request) { cors.Identify(r.Context(), "spa") })
	req := httptest.NewRequest(http.MethodPost, "/oauth2/revoke", nil)
	req.Header.Set("Origin", "https://spa.example")
	rec := httptest.NewRecorder()
	h(rec, req)
	if got := rec.Result().Header.Get("Access-Control-Allow-Origin"); got != "https://spa.example" {
		t.Errorf("Allow-Origin %q", got)
	}
}

// TestIdentifyOutsideWrap is a no-op, not a panic.
func TestIdentifyOutsideWrap(t *testing.T) {
	cors.Identify(context.Background(), "spa")
}

// TestPreflight: 204 always; CORS headers only for an origin some enabled
// client lists, on a real preflight (Access-Control-Request-Method).
func TestPreflight(t *testing.T) {
	tests := []struct {
		name    string
		origins []string
		reqMeth string
		fail    bool
		nilPol  bool
		want    bool
	}{
		{name: "listed origin", origins: []string{"https://spa.example"}, reqMeth: "POST", want: true},
		{name: "other client's origin", origins: []string{"https://other.example"}, reqMeth: "POST", want: true},
		{name: "disabled client's origin", origins: []string{"https://off.example"}, reqMeth: "POST"},
		{name: "unknown origin", origins: []string{"https://evil.example"}, reqMeth: "POST"},
		{name: "null", origins: []string{"null"}, reqMeth: "POST"},
		{name: "no Origin", reqMeth: "POST"},
		{name: "repeated Origin", origins: []string{"https://spa.example", "https://evil.example"}, reqMeth: "POST"},
		{name: "not a preflight", origins: []string{"https://spa.example"}},
		{name: "oversized origin", origins: []string{"https://" + strings.Repeat("a", 5000) + ".example"}, reqMeth: "POST"},
		{name: "store failure", origins: []string{"https://spa.example"}, reqMeth: "POST", fail: true},
		{name: "nil policy", origins: []string{"https://spa.example"}, reqMeth: "POST", nilPol: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policy(tt.fail)
			if tt.nilPol {
				p = nil
			}
			req := httptest.NewRequest(http.MethodOptions, "/userinfo", nil)
			for _, o := range tt.origins {
				req.Header.Add("Origin", o)
			}
			if tt.reqMeth != "" {
				req.Header.Set("Access-Control-Request-Method", tt.reqMeth)
				req.Header.Set("Access-Control-Request-Headers", "authorization, dpop")
			}
			rec := httptest.NewRecorder()
			p.Preflight("GET, POST")(rec, req)
			if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
				t.Fatalf("status %d body %q, want 204 and no body", rec.Code, rec.Body)
			}
			if got := rec.Header().Get("Allow"); got != "OPTIONS, GET, POST" {
				t.Errorf("Allow %q", got)
			}
			if !tt.want {
				noCORS(t, rec.Header())
				return
			}
			h := rec.Header()
			for k, want := range map[string]string{
				"Access-Control-Allow-Origin":  tt.origins[0],
				"Access-Control-Allow-Methods": "GET, POST",
				"Access-Control-Allow-Headers": "Authorization, Content-Type, DPoP",
				"Access-Control-Max-Age":       "600",
				"Vary":                         "Origin",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestAnyOrigin(t *testing.T) {
	rec := httptest.NewRecorder()
	cors.AnyOrigin(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })(rec, httptest.NewRequest("GET", "/.well-known/jwks.json", nil))
	if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("Allow-Origin %q, want *", got)
	}
}

// FuzzOrigin: no Origin header value makes the policy panic or allow an
// origin that is not exactly one a client lists.
func FuzzOrigin(f *testing.F) {
	for _, s := range []string{"https://spa.example", "null", "*", "", "https://spa.example/", "\xff", "https://spa.example\x00", "HTTPS://SPA.EXAMPLE"} {
		f.Add(s, "spa")
	}
	p := policy(false)
	f.Fuzz(func(t *testing.T, origin, id string) {
		req := httptest.NewRequest(http.MethodOptions, "/oauth2/token", nil)
		req.Header["Origin"] = []string{origin}
		req.Header.Set("Access-Control-Request-Method", "POST")
		rec := httptest.NewRecorder()
		p.Preflight("POST")(rec, req)
		listed := origin == "https://spa.example" || origin == "http://127.0.0.1:5173" || origin == "https://other.example"
		if got := rec.Header().Get("Access-Control-Allow-Origin"); (got != "") != listed || listed && got != origin {
			t.Fatalf("preflight for %q: Allow-Origin %q", origin, got)
		}
		req = httptest.NewRequest(http.MethodPost, "/oauth2/token", nil)
		req.Header["Origin"] = []string{origin}
		rec = httptest.NewRecorder()
		p.Wrap(func(w http.ResponseWriter, r *http.Request) {
			cors.Identify(r.Context(), id)
			w.WriteHeader(200)
		})(rec, req)
		c, ok := clients[id]
		want := ok && c.AllowsOrigin(origin)
		if got := rec.Header().Get("Access-Control-Allow-Origin"); (got != "") != want {
			t.Fatalf("request for %q by %q: Allow-Origin %q", origin, id, got)
		}
	})
}

func ptr(s string) *string { return &s }

// BenchmarkWrap: what CORS adds to a request without an Origin (the
// machine clients: nothing) and to a browser request from an allowed
// origin (a cached client lookup, a context value, a wrapped writer).
func BenchmarkWrap(b *testing.B) {
	h := policy(false).Wrap(func(w http.ResponseWriter, r *http.Request) {
		cors.Identify(r.Context(), "spa")
		w.WriteHeader(200)
	})
	for _, origin := range []string{"", "https://spa.example"} {
		name := "no Origin"
		if origin != "" {
			name = "allowed Origin"
		}
		b.Run(name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodPost, "/oauth2/token", nil)
			if origin != "" {
				req.Header.Set("Origin", origin)
			}
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h(rec, req)
			}
		})
	}
}
