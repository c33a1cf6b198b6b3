package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/latchkey/latchkey/internal/server/servertest"
)

// Bootstrap credentials the test servers start with.
const (
	adminID     = "test-admin"
	adminSecret = "test-admin-secret-0123456789-abcdefghijklmnop"
)

// testServer is a real latchkey serve started through run().
type testServer struct {
	URL string
	// MetricsURL is the --metrics-addr listener's base URL.
	MetricsURL string
	DBPath     string
	stderr     *servertest.LockedBuffer
	cancel     context.CancelFunc
	done       chan error
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServer runs `latchkey serve` on a fresh SQLite file; extra env
// entries override the defaults.
func startServer(t *testing.T, extraEnv map[string]string, args ...string) *testServer {
	t.Helper()
	return startServerOn(t, "sqlite:"+filepath.Join(t.TempDir(), "latchkey.db"), extraEnv, args...)
}

// startServerOn runs `latchkey serve` on the database db.
func startServerOn(t *testing.T, db string, extraEnv map[string]string, args ...string) *testServer {
	t.Helper()
	addr := freeAddr(t)
	env := map[string]string{
		"LATCHKEY_BOOTSTRAP_CLIENT_ID":     adminID,
		"LATCHKEY_BOOTSTRAP_CLIENT_SECRET": adminSecret,
		"LATCHKEY_LOG_LEVEL":               "warn",
		// The suites' clients hold these scopes, which must be defined.
		"LATCHKEY_SCOPES": "api:public reports:read reports:write",
	}
	for k, v := range extraEnv {
		env[k] = v
	}
	metricsAddr := freeAddr(t)
	ts := &testServer{URL: "http://" + addr, MetricsURL: "http://" + metricsAddr, DBPath: strings.TrimPrefix(db, "sqlite:"), stderr: &servertest.LockedBuffer{}, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	ts.cancel = cancel
	argv := append([]string{"serve", "--addr", addr, "--metrics-addr", metricsAddr, "--db", db}, args...)
	go func() { ts.done <- run(ctx, argv, func(k string) string { return env[k] }, nil, io.Discard, ts.stderr) }()
	t.Cleanup(ts.stop)
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-ts.done:
			ts.cancel = nil // nothing left for stop to wait for
			t.Fatalf("server exited early: %v\n%s", err, ts.stderr)
		default:
		}
		resp, err := http.Get(ts.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return ts
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not healthy: %v\n%s", err, ts.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (ts *testServer) stop() {
	if ts.cancel == nil {
		return
	}
	ts.cancel()
	<-ts.done
	ts.cancel = nil
}

// token gets a client_credentials token with the real x/oauth2 client.
func (ts *testServer) token(t *testing.T, id, secret string, scopes ...string) string {
	t.Helper()
	cfg := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: ts.URL + "/oauth2/token", Scopes: scopes}
	tok, err := cfg.Token(context.Background())
	if err != nil {
		t.Fatalf("token for %s: %v", id, err)
	}
	return tok.AccessToken
}

func (ts *testServer) adminToken(t *testing.T, scopes ...string) string {
	return ts.token(t, adminID, adminSecret, scopes...)
}

// response is the shared test harness's response type.
type response = servertest.Response

// do sends a request; body may be a string, []byte or nil. headers are
// "Key: value" strings.
func (ts *testServer) do(t *testing.T, method, path string, body any, headers ...string) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Add(k, v)
	}
	return servertest.Fetch(t, req)
}

func authz(tok string) string { return "Authorization: Bearer " + tok }

const jsonCT = "Content-Type: application/json"
const formCT = "Content-Type: application/x-www-form-urlencoded"

func mustStatus(t *testing.T, r response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d; body: %s", r.Status, want, r.Body)
	}
}

func str(m map[string]any, path ...string) string {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = mm[p]
	}
	s, _ := cur.(string)
	return s
}

var secretMember = regexp.MustCompile(`"[A-Za-z_]*[Ss]ecret[A-Za-z_]*"\s*:`)

// hasSecretMember reports whether a JSON document has a member whose name
// speaks of a secret. (A value such as client_secret_basic, the name of an
// authentication method, is no secret.)
func hasSecretMember(doc []byte) bool { return secretMember.Match(doc) }
