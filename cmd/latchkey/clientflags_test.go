package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/api/admin"
	"github.com/latchkey/latchkey/internal/server/servertest"
)

// client create and update set post_logout_redirect_uris and
// id_token_signed_response_alg; client get shows them; bad values are
// usage errors.
func TestCLIClientLogoutURIsAndIDTokenAlg(t *testing.T) {
	d := newCLIDB(t)
	var c admin.ClientJSON
	d.okJSON(&c, "client", "create", "--name", "spa", "--scopes", "openid", "--public", "--redirect-uri", "https://a.example/cb",
		"--post-logout-redirect-uri", "https://a.example/bye", "--post-logout-redirect-uri", "https://a.example/bye2", "--id-token-alg", "ES256", "--json")
	if !slices.Equal(c.PostLogoutRedirectURIs, []string{"https://a.example/bye", "https://a.example/bye2"}) || c.IDTokenSignedResponseAlg != "ES256" {
		t.Fatalf("create: %v %q", c.PostLogoutRedirectURIs, c.IDTokenSignedResponseAlg)
	}
	if out := d.ok("client", "get", c.ID); !strings.Contains(out, "https://a.example/bye2") || !strings.Contains(out, "ES256") {
		t.Errorf("client get:\n%s", out)
	}
	d.ok("client", "update", c.ID, "--post-logout-redirect-uri", "", "--id-token-alg", "")
	if got := d.get(c.ID); len(got.PostLogoutRedirectURIs) != 0 || got.IDTokenSignedResponseAlg != "RS256" {
		t.Errorf("after clearing: %v %q", got.PostLogoutRedirectURIs, got.IDTokenSignedResponseAlg)
	}
	d.fails(2, "client", "update", c.ID, "--id-token-alg", "HS256")
	d.fails(2, "client", "update", c.ID, "--post-logout-redirect-uri", "javascript:alert(1)")
	d.fails(2, "client", "create", "--name", "x", "--scopes", "openid", "--id-token-alg", "none")
}

// client create --jwks makes a private_key_jwt client with no secret;
// update replaces its keys or moves them to a jwks_uri; bad sets and
// mixed keys are usage errors.
func TestCLIClientPrivateKeyJWT(t *testing.T) {
	d := newCLIDB(t)
	key := servertest.NewClientKey(t, "cli-1")
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, []byte(servertest.JWKS(t, key)), 0o600); err != nil {
		t.Fatal(err)
	}
	var created struct {
		admin.ClientJSON
		ClientSecret *string `json:"client_secret"`
	}
	d.okJSON(&created, "client", "create", "--name", "signed job", "--scopes", "openid", "--jwks", "@"+path, "--auth-signing-alg", "ES256", "--json")
	if created.TokenEndpointAuthMethod != "private_key_jwt" || created.ClientSecret != nil || created.TokenEndpointAuthSigningAlg == nil ||
		*created.TokenEndpointAuthSigningAlg != "ES256" || !strings.Contains(string(created.JWKS), `"cli-1"`) {
		t.Fatalf("create: %+v", created)
	}
	if out := d.ok("client", "create", "--name", "by uri", "--scopes", "openid", "--jwks-uri", "https://keys.example.com/jwks"); strings.Contains(out, "client_secret") ||
		!strings.Contains(out, "private_key_jwt") {
		t.Errorf("create with --jwks-uri:\n%s", out)
	}
	if out := d.ok("client", "get", created.ID); !strings.Contains(out, "cli-1") || strings.Contains(out, "secrets:") {
		t.Errorf("client get:\n%s", out)
	}
	d.ok("client", "update", created.ID, "--jwks", "", "--jwks-uri", "https://keys.example.com/jwks")
	if got := d.get(created.ID); got.JWKSURI == nil || *got.JWKSURI != "https://keys.example.com/jwks" || string(got.JWKS) != "null" {
		t.Errorf("after moving to a jwks_uri: %v %s", got.JWKSURI, got.JWKS)
	}
	d.fails(2, "client", "create", "--name", "x", "--scopes", "openid", "--jwks", `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`)
	d.fails(2, "client", "create", "--name", "x", "--scopes", "openid", "--jwks", "@"+path, "--jwks-uri", "https://keys.example.com/jwks")
	d.fails(2, "client", "create", "--name", "x", "--scopes", "openid", "--jwks-uri", "http://keys.example.com/jwks")
	d.fails(2, "client", "create", "--name", "x", "--scopes", "openid", "--jwks", "@"+path+".missing")
	d.fails(2, "client", "update", created.ID, "--auth-signing-alg", "HS256")
	d.fails(2, "client", "rotate-secret", created.ID)
}
