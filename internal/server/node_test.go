package server_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/server/servertest"
)

// nodeDir holds the Node client tests (package.json, package-lock.json,
// *.test.js), relative to this package.
var nodeDir = filepath.Join("..", "..", "tests", "node")

// TestNodeClients runs tests/node — openid-client discovery and
// client_credentials, oauth4webapi's RFC 9068 access-token validation and
// jose's jwtVerify — against a real server. Without node (or without the
// packages and npm to install them) it skips visibly, unless
// LATCHKEY_REQUIRE_NODE=1 (as .ci/run sets), when it fails instead.
func TestNodeClients(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the Node client tests start node")
	}
	unavailable := func(why string) {
		t.Helper()
		if os.Getenv("LATCHKEY_REQUIRE_NODE") == "1" {
			t.Fatalf("LATCHKEY_REQUIRE_NODE=1 but %s", why)
		}
		msg := "SKIP TestNodeClients (openid-client interop): " + why
		fmt.Fprintln(os.Stderr, msg)
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable("node is not on PATH")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules")); err != nil {
		npm, err := exec.LookPath("npm")
		if err != nil {
			unavailable("tests/node/node_modules is missing and npm is not on PATH (run npm ci --prefix tests/node)")
		}
		out, err := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--prefix", nodeDir).CombinedOutput()
		if err != nil {
			unavailable(fmt.Sprintf("npm ci --prefix tests/node failed: %v\n%s", err, out))
		}
	}

	e := servertest.New(t)
	c, secret := e.ServiceClient("node-interop", "api:read")
	cmd := exec.CommandContext(ctx, node, "--test")
	cmd.Dir = nodeDir
	cmd.Env = append(os.Environ(),
		"ISSUER="+e.URL, "CLIENT_ID="+c.ClientID, "CLIENT_SECRET="+secret.Expose(), "SCOPE=api:read")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test tests/node: %v\n%s\nserver log:\n%s", err, out, e.Logs)
	}
	t.Logf("node --test tests/node:\n%s", out)
}
