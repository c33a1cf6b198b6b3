package server_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/server/servertest"
	"github.com/latchkey/latchkey/internal/user"
)

// nodeDir holds the Node client tests (package.json, package-lock.json,
// *.test.js), relative to this package.
var nodeDir = filepath.Join("..", "..", "tests", "node")

// The user and the public (SPA) client the Node sign-in tests use. The
// SPA registers a port-less loopback redirect URI and signs in on an
// ephemeral port, as RFC 8252 §7.3 allows; nobody serves it: the tests
// stop at the redirect and read the code from its URL.
const (
	spaUser     = "nora"
	spaPassword = "node sign-in passphrase"
	spaCB       = "http://127.0.0.1/callback"
	spaAppCB    = "http://127.0.0.1:53682/callback"
)

// nodeEnv starts a server with a user who can sign in, a public SPA
// client and two private_key_jwt clients (keys inline, and at a jwks_uri
// this test serves over TLS), and returns it with the environment
// variables that name them.
func nodeEnv(t *testing.T) (*servertest.Env, []string) {
	t.Helper()
	key := servertest.NewClientKey(t, "node-1")
	keys := newKeyServer(t, servertest.JWKS(t, key))
	e := servertest.New(t, keys.options)
	if _, err := e.App.Users.Create(t.Context(), userActor, user.CreateInput{Username: spaUser, DisplayName: "Nora", Password: spaPassword}); err != nil {
		t.Fatal(err)
	}
	spa, _ := e.CreateClient(client.CreateInput{Name: "Acme Notes", Type: client.Public, GrantTypes: []string{client.GrantAuthorizationCode},
		RedirectURIs: []string{spaCB}, AllowedScopes: []string{"openid", "api:read"}, ClientURI: "https://notes.acme.example/"})
	// A second public client, with refresh tokens (refresh.test.js), so
	// its consent never covers the SPA's.
	mobile, _ := e.CreateClient(client.CreateInput{Name: "Acme Mobile", Type: client.Public,
		GrantTypes:   []string{client.GrantAuthorizationCode, client.GrantRefreshToken},
		RedirectURIs: []string{spaCB}, AllowedScopes: []string{"openid", "offline_access", "api:read", "api:write"}})
	signed, _ := e.CreateClient(client.CreateInput{Name: "Acme Signed Service", TokenEndpointAuthMethod: client.AuthMethodPrivateKeyJWT,
		GrantTypes: []string{client.GrantAuthorizationCode, client.GrantClientCredentials}, RedirectURIs: []string{spaCB},
		AllowedScopes: []string{"openid", "api:read"}, JWKS: []byte(servertest.JWKS(t, key))})
	byURI, _ := e.CreateClient(client.CreateInput{Name: "Acme Key Server Job", TokenEndpointAuthMethod: client.AuthMethodPrivateKeyJWT,
		GrantTypes: []string{client.GrantClientCredentials}, AllowedScopes: []string{"api:read"}, JWKSURI: keys.URL + "/jwks"})
	return e, []string{"ISSUER=" + e.URL, "SPA_CLIENT_ID=" + spa.ClientID, "SPA_REDIRECT_URI=" + spaAppCB,
		"SPA_SCOPE=openid api:read", "SPA_USERNAME=" + spaUser, "SPA_PASSWORD=" + spaPassword, "REFRESH_CLIENT_ID=" + mobile.ClientID,
		"PKJWT_CLIENT_ID=" + signed.ClientID, "PKJWT_URI_CLIENT_ID=" + byURI.ClientID, "PKJWT_PRIVATE_JWK=" + key.PrivateJWK(t),
		"PKJWT_REDIRECT_URI=" + spaAppCB, "PKJWT_SCOPE=api:read"}
}

// nodeOrSkip is servertest.NodeOrSkip for tests/node.
func nodeOrSkip(ctx context.Context, t *testing.T, required string) string {
	t.Helper()
	return servertest.NodeOrSkip(ctx, t, nodeDir, required)
}

// TestNodeClients runs tests/node/*.test.js — openid-client discovery
// and client_credentials, oauth4webapi's RFC 9068 access-token validation
// and jose's jwtVerify, and openid-client's authorization code flow with
// PKCE through the login and consent forms — against a real server.
// Without node (or without the packages and npm to install them) it skips
// visibly, unless LATCHKEY_REQUIRE_NODE=1 (as .ci/run sets), when it
// fails instead.
func TestNodeClients(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the Node client tests start node")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	required := ""
	if os.Getenv("LATCHKEY_REQUIRE_NODE") == "1" {
		required = "LATCHKEY_REQUIRE_NODE=1"
	}
	node := nodeOrSkip(ctx, t, required)

	e, env := nodeEnv(t)
	e.FollowWallClock()
	c, secret := e.ServiceClient("node-interop", "api:read")
	cmd := exec.CommandContext(ctx, node, "--test")
	cmd.Dir = nodeDir
	cmd.Env = append(append(os.Environ(), env...),
		"CLIENT_ID="+c.ClientID, "CLIENT_SECRET="+secret.Expose(), "SCOPE=api:read")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test tests/node: %v\n%s\nserver log:\n%s", err, out, e.Logs)
	}
	t.Logf("node --test tests/node:\n%s", out)
	noteSkips(t, out)
}

// noteSkips repeats the Node tests' skipped steps and known bugs (TAP
// "# SKIP" and "# TODO") on stderr, so go test -v shows them apart from
// the rest of the log.
func noteSkips(t *testing.T, out []byte) {
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "# SKIP") || strings.Contains(line, "# TODO") {
			fmt.Fprintf(os.Stderr, "note: %s: %s\n", t.Name(), strings.TrimSpace(line))
		}
	}
}
