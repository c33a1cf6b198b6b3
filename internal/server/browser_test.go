package server_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/resource"
)

// chromiumPath is Debian's chromium (apt-get install chromium), which
// .ci/run installs when it is missing. LATCHKEY_CHROMIUM overrides it.
const chromiumPath = "/usr/bin/chromium"

// browserResource is the RFC 8707 resource the SPA of TestBrowserSignin
// asks for.
const browserResource = "https://notes-api.acme.example/v1"

// TestBrowserSignin runs tests/node/browser-signin.js: real headless
// Chromium, driven by playwright-core, signs in through the login and
// consent pages (which names the requested resource) for a public SPA
// client and lands on its redirect URI with a code, which the test then
// redeems for a token whose aud is the resource. It screenshots both pages
// into a temporary directory, or into docs/screenshots (the README's
// pictures) with LATCHKEY_UPDATE_SCREENSHOTS=1. Without chromium or node
// it skips visibly, unless CI=true or LATCHKEY_REQUIRE_BROWSER=1, when it
// fails instead.
func TestBrowserSignin(t *testing.T) {
	chromium, required := chromiumOrSkip(t)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	node := nodeOrSkip(ctx, t, required)

	shots := t.TempDir()
	if os.Getenv("LATCHKEY_UPDATE_SCREENSHOTS") == "1" {
		var err error
		if shots, err = filepath.Abs(filepath.Join("..", "..", "docs", "screenshots")); err != nil {
			t.Fatal(err)
		}
	}
	e, env := nodeEnv(t)
	// The SPA asks for a token for a registered resource (RFC 8707),
	// which the consent page names beside the scopes.
	if _, err := e.App.Resources.Create(t.Context(), domain.Actor{Root: true}, resource.CreateInput{Identifier: browserResource,
		Name: "Acme Notes API", Scopes: []string{"api:read"}}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, node, "--test", "browser-signin.js")
	cmd.Dir = nodeDir
	cmd.Env = append(append(os.Environ(), env...), "CHROMIUM="+chromium, "SCREENSHOT_DIR="+shots, "SPA_RESOURCE="+browserResource)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test tests/node/browser-signin.js: %v\n%s\nserver log:\n%s", err, out, e.Logs)
	}
	for _, name := range []string{"login.png", "consent.png"} {
		if fi, err := os.Stat(filepath.Join(shots, name)); err != nil || fi.Size() == 0 {
			t.Errorf("screenshot %s: %v", name, err)
		}
	}
	t.Logf("node --test tests/node/browser-signin.js (%s):\n%s", time.Since(start).Round(time.Millisecond), out)
	noteSkips(t, out)
}

// chromiumOrSkip returns the chromium to drive and why it is required
// ("" when it is not): without it the test skips visibly, unless CI=true
// or LATCHKEY_REQUIRE_BROWSER=1, when it fails instead; -short skips.
func chromiumOrSkip(t *testing.T) (chromium, required string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the browser test starts chromium")
	}
	if os.Getenv("CI") == "true" || os.Getenv("LATCHKEY_REQUIRE_BROWSER") == "1" {
		required = "CI=true or LATCHKEY_REQUIRE_BROWSER=1"
	}
	chromium = os.Getenv("LATCHKEY_CHROMIUM")
	if chromium == "" {
		chromium = chromiumPath
	}
	if _, err := os.Stat(chromium); err != nil {
		msg := fmt.Sprintf("%s not found (apt-get install chromium; .ci/run does): %v", chromium, err)
		if required != "" {
			t.Fatalf("%s but %s", required, msg)
		}
		fmt.Fprintln(os.Stderr, "SKIP "+t.Name()+": "+msg)
		t.Skip(msg)
	}
	return chromium, required
}
