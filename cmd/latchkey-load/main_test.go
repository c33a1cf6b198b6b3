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
	c, secret := e.ServiceClient("load", "clients:create")
	for _, sc := range []string{"token", "register", "introspect"} {
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
