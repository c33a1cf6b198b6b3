package server_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/resource"
	"github.com/latchkey/latchkey/internal/server/servertest"
)

// TestRefreshKeepsResources: a refresh token family keeps the RFC 8707
// resources of its authorization code, so a refreshed access token has
// their audience, not the server's; a refresh may narrow them (RFC 8707
// §2.2) but never widen them, and a refused refresh does not rotate the
// token.
func TestRefreshKeepsResources(t *testing.T) {
	e := newRefreshEnv(t)
	registerResources(t, e.Env)
	const resC = "https://third.example.com/api"
	third, err := e.App.Resources.Create(t.Context(), domain.Actor{Root: true}, resource.CreateInput{Identifier: resC, Name: "Third"})
	if err != nil {
		t.Fatal(err)
	}
	agent, secret := e.CreateClient(client.CreateInput{Name: "agent", Type: client.Confidential,
		GrantTypes:   []string{client.GrantAuthorizationCode, client.GrantRefreshToken},
		RedirectURIs: []string{loopbackCB}, AllowedScopes: []string{"openid", "offline_access", "mcp:tools", "b:read"}, FirstParty: true})
	conf := e.config
	conf.ClientID, conf.ClientSecret, conf.Scopes = agent.ClientID, secret.Expose(), []string{"openid", "offline_access", "mcp:tools", "b:read"}
	auth := servertest.BasicAuth(agent.ClientID, secret.Expose())

	// signIn returns the refresh token of a sign-in for resources, and
	// the first access token (narrowed to tokenRes when set).
	signIn := func(tokenRes string, resources ...string) (rt, at string) {
		t.Helper()
		verifier := oauth2.GenerateVerifier()
		u := conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n"))
		for _, r := range resources {
			u += "&resource=" + url.QueryEscape(r)
		}
		b := browser(t)
		p := get(t, b, u)
		if p.status == http.StatusOK {
			action, form := formOf(t, p)
			form.Set("username", "alice")
			form.Set("password", alicePassword)
			p = post(t, b, e.URL+action, form)
		}
		q := location(t, p, loopbackCB)
		opts := []oauth2.AuthCodeOption{oauth2.VerifierOption(verifier)}
		if tokenRes != "" {
			opts = append(opts, oauth2.SetAuthURLParam("resource", tokenRes))
		}
		tok, err := conf.Exchange(t.Context(), q.Get("code"), opts...)
		if err != nil || tok.RefreshToken == "" {
			t.Fatalf("exchange: %v %v", tok, err)
		}
		return tok.RefreshToken, tok.AccessToken
	}
	refresh := func(rt string, resources ...string) servertest.Response {
		t.Helper()
		return e.refreshForm(auth, url.Values{"refresh_token": {rt}, "resource": resources})
	}
	// ok checks a refresh succeeded with aud and scope; it returns the
	// rotated refresh token.
	ok := func(r servertest.Response, aud, scope string) string {
		t.Helper()
		if r.Status != http.StatusOK {
			t.Fatalf("refresh: %d %s", r.Status, r.Body)
		}
		o := r.Object(t)
		at, _ := o["access_token"].(string)
		if got := audOf(t, at); got != aud || o["scope"] != scope {
			t.Errorf("refreshed token aud %q scope %v; want %q %q", got, o["scope"], aud, scope)
		}
		in := e.Do("POST", "/oauth2/introspect", "application/x-www-form-urlencoded", "", url.Values{"token": {at}}.Encode(), "Authorization: "+auth)
		if in.Status != http.StatusOK || in.Object(t)["active"] != true {
			t.Error("refreshed resource token is not active at introspection")
		}
		rt, _ := o["refresh_token"].(string)
		return rt
	}

	// The code's token narrowed to A; the family keeps A and B.
	rt, at := signIn(resA, resA, resB)
	if audOf(t, at) != resA {
		t.Fatalf("first token aud %q", audOf(t, at))
	}
	rt = ok(refresh(rt), resA+" "+resB, "mcp:tools b:read")
	rt = ok(refresh(rt, resB), resB, "b:read")
	rt = ok(refresh(rt, "HTTPS://TOOLS.example.com/mcp"), resA, "mcp:tools")
	rt = ok(refresh(rt, resA, resB, resA), resA+" "+resB, "mcp:tools b:read")

	// Widening, unregistered, malformed: invalid_target, and the token
	// did not rotate (it still works after).
	for _, bad := range [][]string{{resC}, {resA, resC}, {"https://unknown.example.com/"}, {resA + "#frag"}, {"not-absolute"}} {
		oauthError(t, refresh(rt, bad...), http.StatusBadRequest, "invalid_target")
	}
	rt = ok(refresh(rt), resA+" "+resB, "mcp:tools b:read")

	// A family granted without resources cannot be widened to one, and
	// keeps the server's audience.
	plain, _ := signIn("")
	oauthError(t, refresh(plain, resA), http.StatusBadRequest, "invalid_target")
	ok(refresh(plain), e.URL, "openid offline_access mcp:tools b:read")

	// A resource deleted since the grant: invalid_target, and the token
	// did not rotate: the client can go on with the resources that are
	// left by naming them.
	withC, _ := signIn("", resA, resC)
	if err := e.App.Resources.Delete(t.Context(), domain.Actor{Root: true}, third.ID); err != nil {
		t.Fatal(err)
	}
	oauthError(t, refresh(withC), http.StatusBadRequest, "invalid_target")
	oauthError(t, refresh(withC, resC), http.StatusBadRequest, "invalid_target")
	ok(refresh(withC, resA), resA, "mcp:tools")
	ok(refresh(rt, resA), resA, "mcp:tools")
}
