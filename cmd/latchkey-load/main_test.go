package main

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
)

// TestScenarios drives a real, in-process server briefly with every
// scenario and checks the report is sane.
func TestScenarios(t *testing.T) {
	// Real time, not the test clock: the load generator measures it.
	e := servertest.New(t, func(o *server.Options) { o.ClientCacheTTL, o.Now = time.Second, time.Now })
	c, secret := e.ServiceClient("load", "clients:create", "users:create")
	for _, sc := range []string{"token", "register", "introspect", "refresh"} {
		var out bytes.Buffer
		err := run(t.Context(), []string{"-targets", e.URL + "," + e.URL, "-client-id", c.ClientID, "-client-secret", secret.Expose(),
			"-scenario", sc, "-duration", "300ms", "-concurrency", "2", "-max-requests", "50", "-json"}, &out, io.Discard)
		if err != nil {
			t.Fatalf("%s: %v", sc, err)
		}
		var r Result
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.Requests == 0 || r.Requests > 50 || r.Errors != 0 || r.P50 > r.P99 || r.P99 > r.Max || r.RPS <= 0 || r.Targets != 2 {
			t.Errorf("%s: implausible result %+v", sc, r)
		}
	}
	// The refresh scenario's setup needs users:create, and a scope the
	// server defines; both failures are reported before any timed run.
	narrow, narrowSecret := e.ServiceClient("narrow", "clients:create")
	for _, tc := range []struct {
		id, secret string
		extra      []string
		want       string
	}{
		{narrow.ClientID, narrowSecret.Expose(), nil, "admin token"},
		{c.ClientID, secret.Expose(), []string{"-refresh-scope", "undefined:scope"}, "create client: POST " + e.URL + "/v1/admin/oauth-clients: 400"},
	} {
		err := run(t.Context(), append([]string{"-targets", e.URL, "-client-id", tc.id, "-client-secret", tc.secret, "-scenario", "refresh",
			"-duration", "100ms"}, tc.extra...), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("refresh setup %v: %v, want %q", tc.extra, err, tc.want)
		}
	}
	// A wrong secret is reported, not ignored.
	err := run(t.Context(), []string{"-targets", e.URL, "-client-id", c.ClientID, "-client-secret", "wrong", "-scenario", "register"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong secret: %v", err)
	}
	for _, args := range [][]string{{"-scenario", "token"}, {"-client-id", "x", "-client-secret", "y", "-duration", "10m"},
		{"-client-id", "x", "-client-secret", "y", "-targets", "ftp://x"}, {"-client-id", "x", "-client-secret", "y", "-scenario", "nope", "-targets", e.URL}} {
		if run(t.Context(), args, io.Discard, io.Discard) == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// TestRefreshChains: every worker gets a chain of its own; a rotation
// keeps the new token and the old one is spent; a failed rotation is an
// error and the worker starts a fresh chain that rotates again.
func TestRefreshChains(t *testing.T) {
	e := servertest.New(t, func(o *server.Options) { o.ClientCacheTTL, o.Now = time.Second, time.Now })
	c, secret := e.ServiceClient("load", "clients:create", "users:create")
	l := &loader{hc: e.Server.Client(), bases: []string{e.URL}, id: c.ClientID, secret: secret.Expose(), refreshScope: "api:read"}
	rf, err := l.newRefresher(t.Context(), 3)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for w, tok := range rf.chains {
		if len(tok) < 43 || seen[tok] {
			t.Fatalf("worker %d: chain token %q empty, short or shared", w, tok)
		}
		seen[tok] = true
	}

	old := rf.chains[1]
	if err := rf.rotate(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	if rf.chains[1] == old || seen[rf.chains[1]] || rf.chains[0] == "" || rf.chains[2] == "" {
		t.Fatalf("rotation did not keep a new token: %q → %q", old, rf.chains[1])
	}

	for _, bad := range []string{"not-a-refresh-token", old, strings.Repeat("é", 100)} {
		rf.chains[0] = bad
		err := rf.rotate(t.Context(), 0)
		if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "invalid_grant") {
			t.Errorf("rotating %.20q: %v, want a 400 invalid_grant error", bad, err)
		}
		if rf.chains[0] == bad || rf.chains[0] == "" {
			t.Errorf("after a failed rotation the worker kept %.20q", rf.chains[0])
		}
		if err := rf.rotate(t.Context(), 0); err != nil {
			t.Errorf("the fresh chain does not rotate: %v", err)
		}
	}
}
