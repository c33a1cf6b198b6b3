package servertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// NodeOrSkip returns the path of node, with the packages of the Node test
// directory dir installed (npm ci from its lockfile when node_modules is
// missing). When it cannot, it skips visibly, unless required names why
// it must run (LATCHKEY_REQUIRE_NODE=1), when it fails.
func NodeOrSkip(ctx context.Context, t *testing.T, dir, required string) string {
	t.Helper()
	unavailable := func(why string) {
		t.Helper()
		if required != "" {
			t.Fatalf("%s but %s", required, why)
		}
		msg := "SKIP " + t.Name() + ": " + why
		fmt.Fprintln(os.Stderr, msg)
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable("node is not on PATH")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		npm, err := exec.LookPath("npm")
		if err != nil {
			unavailable("tests/node/node_modules is missing and npm is not on PATH (run npm ci --prefix tests/node)")
		}
		out, err := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--prefix", dir).CombinedOutput()
		if err != nil {
			unavailable(fmt.Sprintf("npm ci --prefix tests/node failed: %v\n%s", err, out))
		}
	}
	return node
}
