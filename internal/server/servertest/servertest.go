// Package servertest runs a fully assembled latchkey server for tests: the
// real handler over a fresh SQLite store, behind a real HTTP listener, so a
// test exercises routing, middleware, storage and token signing together
// rather than a hand-wired subset. It exists so the suites that need such a
// server share one setup instead of each keeping a copy that drifts. Only
// tests import it.
package servertest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/clocktest"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/keys/keystest"
	"github.com/latchkey/latchkey/internal/sealed/sealedtest"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/store/sqlite"
	"github.com/latchkey/latchkey/internal/token"
)

// DefaultScopes are the scopes New gives clients registered without any,
// exported so tests can assert them without repeating the list.
var DefaultScopes = []string{"openid", "api:public"}

// Scopes are the scopes New defines beside the built-in ones: the default
// ones, and those the suites give their clients. Scopes must be defined
// (issue 11), so a suite that needs another one adds it here, or passes
// an option that sets server.Options.Scopes.
var Scopes = []string{"api:public", "api:read", "api:write", "read", "reports:read", "x"}

// LockedBuffer is an in-memory log sink that the server's goroutines may
// write to while the test reads it; a bare bytes.Buffer would race.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p; it implements io.Writer for slog handlers.
func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far, so tests can check what
// reached the logs (and, above all, what did not).
func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Env is a fully assembled server on a fresh SQLite store, served by
// httptest. Its fields are the pieces tests reach past HTTP for: the
// services to set up state directly, the store to inspect what was
// persisted, the clock to move time and the logs to check for leaks.
type Env struct {
	App    *server.App      // the services, to set up state without HTTP
	Store  *sqlite.Store    // the store, to check what was persisted
	Server *httptest.Server // the listener, for its client or to close it early
	URL    string           // the server's base URL, which is also the issuer
	Clock  *clocktest.Clock // the server's only time source
	Logs   *LockedBuffer    // every log line the server wrote, as JSON

	t       testing.TB
	handler atomic.Pointer[http.Handler]
}

// New assembles a server for t and starts serving it; everything is torn
// down by t's cleanups. The issuer is the listener's own address, so tokens
// and URLs the server hands out point back at it. Each opt may adjust the
// Options (registration mode, cache lifetime, …) before Assemble runs.
func New(t testing.TB, opts ...func(*server.Options)) *Env {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &Env{Store: st, Clock: clocktest.New(time.Now()), Logs: &LockedBuffer{}, t: t}
	// The listener must exist before Assemble, which needs the issuer;
	// the server starts once the handler is built.
	e.Server = httptest.NewUnstartedServer(http.HandlerFunc(e.serve))
	o := server.Options{
		Store: st, Box: sealedtest.Box(t, 7), KeyOptions: []keys.Option{keystest.Option()}, Issuer: "http://" + e.Server.Listener.Addr().String(), AccessTokenTTL: time.Hour,
		DefaultScopes: slices.Clone(DefaultScopes), Scopes: slices.Clone(Scopes), Now: e.Clock.Now,
		Log: slog.New(slog.NewJSONHandler(e.Logs, nil)),
	}
	for _, opt := range opts {
		opt(&o)
	}
	e.App, err = server.Assemble(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	e.SetHandler(e.App.Handler)
	e.Server.Start()
	t.Cleanup(e.Server.Close)
	e.URL = e.Server.URL
	return e
}

// SetHandler makes the server answer with h instead of App.Handler, for
// suites that put middleware (a recorder, an extra route) in front of the
// app while keeping the issuer the listener's address. It is safe to call
// while requests are in flight.
func (e *Env) SetHandler(h http.Handler) { e.handler.Store(&h) }

// serve dispatches to the current handler; the indirection lets
// SetHandler swap it without racing the server's goroutines.
func (e *Env) serve(w http.ResponseWriter, r *http.Request) {
	(*e.handler.Load()).ServeHTTP(w, r)
}

// CreateClient creates a client straight through the core as the root
// actor (as the CLI and bootstrap do), failing the test if it cannot.
func (e *Env) CreateClient(in client.CreateInput) (client.Client, client.Secret) {
	e.t.Helper()
	c, secret, err := e.App.Clients.Create(e.t.Context(), domain.Actor{Root: true}, in)
	if err != nil {
		e.t.Fatal(err)
	}
	return c, secret
}

// ServiceClient creates a confidential client_credentials client that may
// ask for scopes.
func (e *Env) ServiceClient(name string, scopes ...string) (client.Client, client.Secret) {
	e.t.Helper()
	return e.CreateClient(client.CreateInput{Name: name, GrantTypes: []string{client.GrantClientCredentials}, AllowedScopes: scopes})
}

// TokenWith returns an access token carrying exactly scopes, issued to a
// fresh confidential client that holds them. It bypasses the token
// endpoint so tests of other endpoints do not depend on it.
func (e *Env) TokenWith(scopes ...string) string {
	e.t.Helper()
	// "x" keeps AllowedScopes non-empty when no scope is asked for.
	c, _ := e.ServiceClient("caller", append([]string{"x"}, scopes...)...)
	m, err := e.App.Issuer.Mint(e.t.Context(), token.Spec{Subject: c.ClientID, ClientID: c.ClientID, Scopes: scopes})
	if err != nil {
		e.t.Fatal(err)
	}
	return m.Raw
}

// CountClients returns how many clients the store holds, so a test can
// show that a refused request persisted nothing.
func (e *Env) CountClients() int {
	e.t.Helper()
	n, err := e.Store.CountClients(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// Response is what the server answered, read in full so tests can check
// it after the connection is gone.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Object decodes the body as a JSON object, failing the test if it is not
// one: every API answer under test is an object, so anything else is a bug.
func (r Response) Object(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// String returns the body, for messages and whole-body comparisons.
func (r Response) String() string { return string(r.Body) }

// Do sends method path to the server. An empty contentType, token or body
// sends no Content-Type, no Authorization header or no body; each of
// headers is "Key: value" and set after them, so it may override them.
func (e *Env) Do(method, path, contentType, token, body string, headers ...string) Response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	return e.Send(req)
}

// Send sends a request the test built itself (for what Do cannot express,
// such as a query-string token) and reads the whole answer.
func (e *Env) Send(req *http.Request) Response {
	e.t.Helper()
	return Fetch(e.t, req)
}

// Fetch sends req with the default HTTP client and reads the whole answer,
// failing t if either fails. It serves any server under test, including a
// real latchkey process.
func Fetch(t testing.TB, req *http.Request) Response {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// BasicAuth returns the Authorization header value with which a client
// authenticates by client_secret_basic: RFC 6749 §2.3.1 form-encodes the
// id and secret before HTTP Basic encodes them.
func BasicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}
