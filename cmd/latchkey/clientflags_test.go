package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/api/admin"
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
