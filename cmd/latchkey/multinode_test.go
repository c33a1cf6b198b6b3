package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/server/servertest"
	"github.com/latchkey/latchkey/internal/store/postgres/pgtest"
)

// TestMain lets the test binary act as the latchkey binary, so the
// multi-node test can start real, separate server processes.
func TestMain(m *testing.M) {
	if os.Getenv("LATCHKEY_TEST_EXEC_MAIN") == "1" {
		limitOpenFiles(os.Getenv("LATCHKEY_TEST_NOFILE")) // a child that must run out of descriptors
		main()
		os.Exit(0)
	}
	os.Exit(pgtest.Main(m, "cmd/latchkey"))
}

// node is a `latchkey serve` child process.
type node struct {
	URL string
	cmd *exec.Cmd
	log *servertest.LockedBuffer
}

func startNode(t *testing.T, dsn, masterKey, issuer string) *node {
	t.Helper()
	addr := freeAddr(t)
	n := &node{URL: "http://" + addr, log: &servertest.LockedBuffer{}}
	n.cmd = exec.Command(os.Args[0], "serve", "--addr", addr, "--metrics-addr", "", "--db", dsn, "--issuer", issuer,
		"--key-refresh", "500ms", "--jwks-max-age", "1s", "--key-publish-delay", "3s", "--client-cache-ttl", "1s", "--log-level", "warn",
		"--scopes", "api:public api:read reports:read reports:write") // the suites' clients hold these
	n.cmd.Env = append(os.Environ(), "LATCHKEY_TEST_EXEC_MAIN=1", "LATCHKEY_MASTER_KEY="+masterKey,
		"LATCHKEY_BOOTSTRAP_CLIENT_ID="+adminID, "LATCHKEY_BOOTSTRAP_CLIENT_SECRET="+adminSecret)
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- n.cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = n.cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("node %s log:\n%s", n.URL, n.log)
		}
	})
	return n
}

func (n *node) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(n.URL + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("node %s not ready:\n%s", n.URL, n.log)
}

// as returns a testServer view of n so the e2e helpers work on it.
func (n *node) as() *testServer { return &testServer{URL: n.URL} }

// eventually polls cond until it holds or the bound passes.
func eventually(t *testing.T, bound time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < bound {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s", what, bound)
	return 0
}

func kidOf(t *testing.T, tok string) string {
	t.Helper()
	h, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	var hdr struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &hdr); err != nil {
		t.Fatal(err)
	}
	return hdr.Kid
}

// TestMultiNode runs two real server processes on one PostgreSQL database
// and checks that any node serves any request.
func TestMultiNode(t *testing.T) {
	dsn := pgtest.FreshDSN(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	masterKey := base64.StdEncoding.EncodeToString(key)
	const issuer = "http://latchkey.fleet.test"
	// Both start at once on the empty database: one bootstrap, one schema.
	a := startNode(t, dsn, masterKey, issuer)
	b := startNode(t, dsn, masterKey, issuer)
	a.waitReady(t)
	b.waitReady(t)
	for _, n := range []*node{a, b} {
		if strings.Contains(n.log.String(), "bootstrapped before") {
			t.Errorf("node %s warned of a missing admin while the other node bootstrapped:\n%s", n.URL, n.log)
		}
	}
	A, B := a.as(), b.as()

	// Register on A, get a token on B, validate it on A.
	admin := A.adminToken(t, "clients:create", "clients:read", "clients:update", "keys:rotate")
	r := A.do(t, "POST", "/v1/admin/oauth-clients", seed001Body, authz(admin), jsonCT)
	mustStatus(t, r, http.StatusCreated)
	body := r.Object(t)
	id, clientID, secret := str(body, "client", "id"), str(body, "client", "client_id"), str(body, "client_secret")
	tok := B.token(t, clientID, secret, "reports:read")
	introspect := func(s *testServer, tok string) bool {
		r := s.do(t, "POST", "/oauth2/introspect", url.Values{"token": {tok}}.Encode(), formCT, basic(adminID, adminSecret))
		mustStatus(t, r, http.StatusOK)
		return r.Object(t)["active"] == true
	}
	if !introspect(A, tok) {
		t.Fatal("token from B is not active on A")
	}
	// The admin token from A works on B's admin API.
	mustStatus(t, B.do(t, "GET", "/v1/admin/oauth-clients/"+id, nil, authz(admin)), http.StatusOK)

	// Revoke on B: refused on A at once (revocations are never cached).
	mustStatus(t, B.do(t, "POST", "/oauth2/revoke", url.Values{"token": {tok}}.Encode(), formCT, basic(clientID, secret)), http.StatusOK)
	if introspect(A, tok) {
		t.Error("token revoked on B is still active on A")
	}
	adminB := B.adminToken(t, "clients:read")
	mustStatus(t, B.do(t, "POST", "/oauth2/revoke", url.Values{"token": {adminB}}.Encode(), formCT, basic(adminID, adminSecret)), http.StatusOK)
	mustStatus(t, A.do(t, "GET", "/v1/admin/oauth-clients/"+id, nil, authz(adminB)), http.StatusUnauthorized)

	// Disable on A: B stops issuing within the client cache TTL (1s here).
	mustStatus(t, A.do(t, "PATCH", "/v1/admin/oauth-clients/"+id, `{"enabled":false}`, authz(admin), jsonCT), http.StatusOK)
	took := eventually(t, 3*time.Second, "disable on A reaches B", func() bool {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}}
		return B.do(t, "POST", "/oauth2/token", form.Encode(), formCT).Status == http.StatusUnauthorized
	})
	t.Logf("disable on A refused on B after %s", took)
	mustStatus(t, A.do(t, "PATCH", "/v1/admin/oauth-clients/"+id, `{"enabled":true}`, authz(admin), jsonCT), http.StatusOK)
	eventually(t, 3*time.Second, "enable on A reaches B", func() bool {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}}
		return B.do(t, "POST", "/oauth2/token", form.Encode(), formCT).Status == http.StatusOK
	})

	// Rotate keys on A: B publishes the new key before anyone signs with
	// it, then signs with it; A validates B's new tokens.
	before := kidOf(t, B.token(t, clientID, secret))
	r = A.do(t, "POST", "/v1/admin/keys/rotate", nil, authz(admin))
	mustStatus(t, r, http.StatusCreated)
	var newKid string
	for _, k := range r.Object(t)["keys"].([]any) {
		if m := k.(map[string]any); m["signing"] == false && m["published"] == true && m["kid"] != before {
			newKid = m["kid"].(string)
		}
	}
	if newKid == "" {
		t.Fatalf("rotation response has no new, not-yet-signing key: %s", r.Body)
	}
	eventually(t, 2*time.Second, "B publishes the new key", func() bool {
		var set struct {
			Keys []struct {
				Kid string `json:"kid"`
			} `json:"keys"`
		}
		getJSON(t, B.URL+"/.well-known/jwks.json", &set)
		for _, k := range set.Keys {
			if k.Kid == newKid {
				return true
			}
		}
		return false
	})
	if got := kidOf(t, B.token(t, clientID, secret)); got != before {
		t.Errorf("B signed with the new key %s before the publish delay", got)
	}
	eventually(t, 6*time.Second, "B signs with the new key", func() bool {
		return kidOf(t, B.token(t, clientID, secret)) == newKid
	})
	fresh := B.token(t, clientID, secret)
	if !introspect(A, fresh) {
		t.Error("A rejects a token B signed with the rotated key")
	}
	// Concurrent registrations on both nodes: none lost, none duplicated.
	const perNode = 15
	var wg sync.WaitGroup
	ids := make(chan string, 2*perNode)
	for _, s := range []*testServer{A, B} {
		for i := range perNode {
			wg.Go(func() {
				body := fmt.Sprintf(`{"client_name":"concurrent %s %d","redirect_uris":["https://c.example/cb"],"allowed_scopes":["api:read"]}`, s.URL, i)
				r := s.do(t, "POST", "/v1/admin/oauth-clients", body, authz(admin), jsonCT)
				if r.Status != http.StatusCreated {
					t.Errorf("concurrent register on %s: %d %s", s.URL, r.Status, r.Body)
					return
				}
				ids <- str(r.Object(t), "client", "client_id")
			})
		}
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Errorf("duplicate client_id %s", id)
		}
		seen[id] = true
	}
	r = B.do(t, "GET", "/v1/admin/oauth-clients?limit=200&name_prefix=concurrent", nil, authz(admin))
	mustStatus(t, r, http.StatusOK)
	listed := r.Object(t)["clients"].([]any)
	if len(seen) != 2*perNode || len(listed) != 2*perNode {
		t.Errorf("registered %d, listed %d, want %d", len(seen), len(listed), 2*perNode)
	}
	for _, c := range listed {
		if !seen[c.(map[string]any)["client_id"].(string)] {
			t.Errorf("listed a client nobody registered: %v", c)
		}
	}
	// One bootstrap admin for the fleet, not one per node.
	r = A.do(t, "GET", "/v1/admin/oauth-clients?limit=200&name_prefix=Latchkey", nil, authz(admin))
	if n := len(r.Object(t)["clients"].([]any)); n != 1 {
		t.Errorf("%d bootstrap admin clients, want 1", n)
	}
	// One admin user for the fleet, its password printed by one node.
	if n := strings.Count(a.log.String()+b.log.String(), "created a user who can sign in"); n != 1 {
		t.Errorf("%d nodes printed an admin user's password, want 1", n)
	}
}
