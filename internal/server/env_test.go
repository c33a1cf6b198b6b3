package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/sealed"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// clock is a settable time source; tests move it instead of sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a fully assembled server on a fresh SQLite store, served by
// httptest.
type env struct {
	t     *testing.T
	app   *server.App
	store *sqlite.Store
	srv   *httptest.Server
	clock *clock
	logs  *bytes.Buffer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	box, err := sealed.New(bytes.Repeat([]byte{7}, sealed.KeyBytes))
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now()}
	logs := &bytes.Buffer{}
	e := &env{t: t, store: st, clock: clk, logs: logs}
	e.srv = httptest.NewUnstartedServer(nil)
	issuer := "http://" + e.srv.Listener.Addr().String()
	app, err := server.Assemble(t.Context(), server.Options{
		Store: st, Box: box, Issuer: issuer, AccessTokenTTL: time.Hour,
		DefaultScopes: []string{"openid", "api:public"}, Now: clk.Now,
		Log: slog.New(slog.NewJSONHandler(&lockedWriter{w: logs}, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.app = app
	e.srv.Config.Handler = app.Handler
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	return e
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// tokenWith registers a confidential client holding scopes and returns an
// access token for it carrying exactly those scopes.
func (e *env) tokenWith(scopes ...string) string {
	e.t.Helper()
	c, _, err := e.app.Clients.Create(e.t.Context(), client.Actor{Root: true}, client.CreateInput{
		Name: "caller", GrantTypes: []string{client.GrantClientCredentials}, AllowedScopes: append([]string{"x"}, scopes...),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	tok, _, err := e.app.Issuer.Issue(c.ClientID, c.ClientID, scopes)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

func (e *env) post(path, contentType, token string, body io.Reader) resp {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+path, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.send(req)
}

func (e *env) send(req *http.Request) resp {
	e.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func (e *env) countClients() int {
	e.t.Helper()
	n, err := e.store.CountClients(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func sortedKeys(m map[string]any) string {
	return strings.Join(slices.Sorted(maps.Keys(m)), ",")
}
