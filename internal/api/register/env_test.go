package register_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/api/register"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/sealed"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// env is a fully assembled server on a fresh SQLite store, served by
// httptest (after internal/server's env_test.go).
type env struct {
	t     *testing.T
	app   *server.App
	store *sqlite.Store
	srv   *httptest.Server
	logs  *lockedBuffer
}

var defaultScopes = []string{"openid", "api:public"}

func newEnv(t *testing.T, mode register.Mode) *env {
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
	logs := &lockedBuffer{}
	e := &env{t: t, store: st, logs: logs}
	e.srv = httptest.NewUnstartedServer(nil)
	issuer := "http://" + e.srv.Listener.Addr().String()
	app, err := server.Assemble(t.Context(), server.Options{
		Store: st, Box: box, Issuer: issuer, AccessTokenTTL: time.Hour,
		DefaultScopes: defaultScopes, Registration: mode,
		Log: slog.New(slog.NewJSONHandler(logs, nil)),
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

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tokenWith returns an access token carrying exactly scopes, issued to a
// fresh confidential client that holds them.
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

func (r resp) String() string { return string(r.body) }

// do sends a request; body "" sends none, token "" sends no
// Authorization header.
func (e *env) do(method, path, token, body string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
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

// register posts body to /oauth2/register and requires a 201.
func (e *env) register(token, body string) map[string]any {
	e.t.Helper()
	r := e.do("POST", "/oauth2/register", token, body)
	if r.status != http.StatusCreated {
		e.t.Fatalf("register: status %d, want 201: %s", r.status, r.body)
	}
	return r.object(e.t)
}

// introspect asks whether tok is active, authenticating as a fresh
// confidential client.
func (e *env) introspect(tok string) bool {
	e.t.Helper()
	c, secret, err := e.app.Clients.Create(e.t.Context(), client.Actor{Root: true}, client.CreateInput{
		Name: "introspector", GrantTypes: []string{client.GrantClientCredentials},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/oauth2/introspect", strings.NewReader(url.Values{"token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.ClientID), url.QueryEscape(secret.Expose()))
	r := e.send(req)
	if r.status != http.StatusOK {
		e.t.Fatalf("introspect: %d %s", r.status, r.body)
	}
	active, _ := r.object(e.t)["active"].(bool)
	return active
}

func (e *env) countClients() int {
	e.t.Helper()
	n, err := e.store.CountClients(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// path returns the path of a registration_client_uri.
func path(t *testing.T, registrationClientURI any) string {
	t.Helper()
	s, _ := registrationClientURI.(string)
	u, err := url.Parse(s)
	if err != nil || s == "" {
		t.Fatalf("registration_client_uri %v is not a URL", registrationClientURI)
	}
	return u.Path
}
