package server_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
	"github.com/latchkey/latchkey/internal/user"
)

// refreshEnv is a server whose access tokens live 5 s (less than
// x/oauth2's 10 s expiry margin, so every TokenSource.Token refreshes),
// alice, and a first-party confidential web app with refresh tokens.
type refreshEnv struct {
	*servertest.Env
	alice  user.User
	web    client.Client
	secret client.Secret
	config oauth2.Config
}

func newRefreshEnv(t *testing.T, opts ...func(*server.Options)) *refreshEnv {
	t.Helper()
	e := servertest.New(t, append([]func(*server.Options){func(o *server.Options) { o.AccessTokenTTL = 5 * time.Second }}, opts...)...)
	alice, err := e.App.Users.Create(t.Context(), userActor, user.CreateInput{Username: "alice", DisplayName: "Alice", Password: alicePassword})
	if err != nil {
		t.Fatal(err)
	}
	web, secret := e.CreateClient(client.CreateInput{Name: "web", Type: client.Confidential,
		GrantTypes:   []string{client.GrantAuthorizationCode, client.GrantRefreshToken},
		RedirectURIs: []string{loopbackCB}, AllowedScopes: []string{"openid", "offline_access", "api:read", "api:write"}, FirstParty: true})
	return &refreshEnv{Env: e, alice: alice, web: web, secret: secret, config: oauth2.Config{
		ClientID: web.ClientID, ClientSecret: secret.Expose(), RedirectURL: loopbackCB, Scopes: []string{"openid", "offline_access", "api:read"},
		Endpoint: oauth2.Endpoint{AuthURL: e.URL + "/oauth2/authorize", TokenURL: e.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader},
	}}
}

// codeFor signs alice in (once per browser b) and returns a code for conf
// with its PKCE verifier.
func (e *refreshEnv) codeFor(t *testing.T, b *http.Client, conf oauth2.Config) (code, verifier string) {
	t.Helper()
	verifier = oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n-1"))
	p := get(t, b, authURL)
	if p.status == http.StatusOK {
		action, form := formOf(t, p)
		form.Set("username", "alice")
		form.Set("password", alicePassword)
		p = post(t, b, e.URL+action, form)
	}
	q := location(t, p, loopbackCB)
	if q.Get("code") == "" {
		t.Fatalf("no code: %v", q)
	}
	return q.Get("code"), verifier
}

// signInFor returns the token response of a fresh sign-in for conf.
func (e *refreshEnv) signInFor(t *testing.T, conf oauth2.Config) *oauth2.Token {
	t.Helper()
	code, verifier := e.codeFor(t, browser(t), conf)
	tok, err := conf.Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// refreshForm posts a refresh_token grant as the web app (or the client
// whose basic credentials auth gives) and returns the response.
func (e *refreshEnv) refreshForm(auth string, form url.Values) servertest.Response {
	if form.Get("grant_type") == "" {
		form.Set("grant_type", "refresh_token")
	}
	return e.Do("POST", "/oauth2/token", "application/x-www-form-urlencoded", "", form.Encode(), "Authorization: "+auth)
}

func (e *refreshEnv) basic() string { return servertest.BasicAuth(e.web.ClientID, e.secret.Expose()) }

// oauthError checks r is an RFC 6749 §5.2 error with status and code.
func oauthError(t *testing.T, r servertest.Response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("status %d, want %d: %s", r.Status, status, r.Body)
		return
	}
	if got, _ := r.Object(t)["error"].(string); got != code {
		t.Errorf("error %q, want %q: %s", got, code, r.Body)
	}
}

// active reports whether introspection (by the web app) says the access
// token is active.
func (e *refreshEnv) active(t *testing.T, at string) bool {
	t.Helper()
	r := e.Do("POST", "/oauth2/introspect", "application/x-www-form-urlencoded", "", url.Values{"token": {at}}.Encode(), "Authorization: "+e.basic())
	if r.Status != http.StatusOK {
		t.Fatalf("introspect: %d %s", r.Status, r.Body)
	}
	a, _ := r.Object(t)["active"].(bool)
	return a
}

// userinfo returns the /userinfo status for an access token.
func (e *refreshEnv) userinfo(t *testing.T, at string) int {
	t.Helper()
	return e.Do("GET", "/userinfo", "", at, "").Status
}

// TestRefreshTokenSource: golang.org/x/oauth2's TokenSource refreshes
// through rotation after an authorization code flow; the ID token is
// reissued (OIDC Core §12.2); presenting a rotated token revokes the
// family: the live refresh token and every access token from it.
func TestRefreshTokenSource(t *testing.T) {
	e := newRefreshEnv(t)
	ctx := t.Context()
	provider, err := oidc.NewProvider(ctx, e.URL)
	if err != nil {
		t.Fatal(err)
	}
	var disc struct {
		Grants []string `json:"grant_types_supported"`
	}
	if err := provider.Claims(&disc); err != nil || !strings.Contains(strings.Join(disc.Grants, " "), "refresh_token") {
		t.Fatalf("discovery grant_types_supported %v, %v", disc.Grants, err)
	}
	first := e.signInFor(t, e.config)
	if len(first.RefreshToken) < 43 || first.Extra("id_token") == nil {
		t.Fatalf("code exchange gave no refresh or ID token: %+v", first)
	}
	// The server runs on the test's fixed clock and mints 5 s tokens: the
	// verifier, on the real clock, skips the expiry check.
	verifier := provider.Verifier(&oidc.Config{ClientID: e.web.ClientID, SkipExpiryCheck: true})
	firstID, err := verifier.Verify(ctx, first.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var firstClaims struct {
		AuthTime int64 `json:"auth_time"`
	}
	if err := firstID.Claims(&firstClaims); err != nil || firstClaims.AuthTime == 0 {
		t.Fatalf("first ID token auth_time: %v", err)
	}
	ts := e.config.TokenSource(ctx, first)
	seen := map[string]bool{first.RefreshToken: true}
	var issued []*oauth2.Token
	for i := range 3 {
		tok, err := ts.Token()
		if err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
		if seen[tok.RefreshToken] || tok.RefreshToken == "" {
			t.Fatalf("refresh %d did not rotate the refresh token", i)
		}
		seen[tok.RefreshToken] = true
		issued = append(issued, tok)
		if tok.Extra("scope") != "openid offline_access api:read" {
			t.Errorf("refresh %d scope %v", i, tok.Extra("scope"))
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := verifier.Verify(ctx, raw)
		if err != nil {
			t.Fatalf("reissued ID token %d: %v", i, err)
		}
		var c struct {
			Nonce    *string `json:"nonce"`
			AuthTime int64   `json:"auth_time"`
		}
		if err := idt.Claims(&c); err != nil || idt.Subject != e.alice.ID || c.Nonce != nil || c.AuthTime != firstClaims.AuthTime {
			t.Errorf("reissued ID token: sub %q nonce %v auth_time %d (first %v), %v", idt.Subject, c.Nonce, c.AuthTime, firstClaims.AuthTime, err)
		}
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			t.Errorf("reissued ID token at_hash: %v", err)
		}
		if e.userinfo(t, tok.AccessToken) != http.StatusOK {
			t.Errorf("refreshed access token %d refused by /userinfo", i)
		}
	}
	live := issued[len(issued)-1]
	if !e.active(t, live.AccessToken) || !e.active(t, first.AccessToken) {
		t.Fatal("access tokens inactive before any reuse")
	}

	// An attacker replays the first refresh token: invalid_grant, and the
	// whole family goes, however the tokens are checked.
	oauthError(t, e.refreshForm(e.basic(), url.Values{"refresh_token": {first.RefreshToken}}), http.StatusBadRequest, "invalid_grant")
	oauthError(t, e.refreshForm(e.basic(), url.Values{"refresh_token": {live.RefreshToken}}), http.StatusBadRequest, "invalid_grant")
	for name, at := range map[string]string{"first": first.AccessToken, "live": live.AccessToken} {
		if e.active(t, at) {
			t.Errorf("%s access token still active after reuse", name)
		}
		if s := e.userinfo(t, at); s != http.StatusUnauthorized {
			t.Errorf("%s access token at /userinfo after reuse: %d, want 401", name, s)
		}
	}
	if _, err := e.config.TokenSource(ctx, live).Token(); err == nil {
		t.Error("TokenSource refreshed a revoked family")
	}
}

// TestRefreshGrantErrors: the refresh_token grant's refusals, each with
// the RFC 6749 §5.2 status and code, and what survives them.
func TestRefreshGrantErrors(t *testing.T) {
	e := newRefreshEnv(t)
	other, otherSecret := e.CreateClient(client.CreateInput{Name: "other", Type: client.Confidential,
		GrantTypes:   []string{client.GrantAuthorizationCode, client.GrantRefreshToken},
		RedirectURIs: []string{loopbackCB}, AllowedScopes: []string{"openid", "offline_access", "api:read", "api:write"}, FirstParty: true})
	tok := e.signInFor(t, e.config)
	rt := tok.RefreshToken
	for _, tc := range []struct {
		name   string
		auth   string
		form   url.Values
		status int
		code   string
	}{
		{"missing", e.basic(), url.Values{}, 400, "invalid_request"},
		{"unknown", e.basic(), url.Values{"refresh_token": {"bm90IGEgdG9rZW4"}}, 400, "invalid_grant"},
		{"oversized", e.basic(), url.Values{"refresh_token": {strings.Repeat("a", 5000)}}, 400, "invalid_grant"},
		{"invalid utf-8", e.basic(), url.Values{"refresh_token": {"\xff\xfe"}}, 400, "invalid_grant"},
		{"repeated", e.basic(), url.Values{"refresh_token": {rt, rt}}, 400, "invalid_request"},
		{"widened scope", e.basic(), url.Values{"refresh_token": {rt}, "scope": {"openid api:read api:write"}}, 400, "invalid_scope"},
		{"malformed scope", e.basic(), url.Values{"refresh_token": {rt}, "scope": {"api:read \x01"}}, 400, "invalid_scope"},
		{"another client", servertest.BasicAuth(other.ClientID, otherSecret.Expose()), url.Values{"refresh_token": {rt}}, 400, "invalid_grant"},
		{"bad client secret", servertest.BasicAuth(e.web.ClientID, "wrong"), url.Values{"refresh_token": {rt}}, 401, "invalid_client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oauthError(t, e.refreshForm(tc.auth, tc.form), tc.status, tc.code)
		})
	}
	// None of those refusals spent or revoked the token.
	if !e.active(t, tok.AccessToken) {
		t.Fatal("a refused refresh revoked the family")
	}
	// Narrowing is allowed: the access token has the narrower scope and,
	// without openid, no ID token comes back.
	r := e.refreshForm(e.basic(), url.Values{"refresh_token": {rt}, "scope": {"api:read"}})
	if r.Status != http.StatusOK {
		t.Fatalf("narrowing: %d %s", r.Status, r.Body)
	}
	o := r.Object(t)
	if o["scope"] != "api:read" || o["id_token"] != nil || o["refresh_token"] == rt || o["refresh_token"] == nil {
		t.Errorf("narrowed response %v", o)
	}
	// The family keeps its scopes: the next refresh may ask for all again.
	r = e.refreshForm(e.basic(), url.Values{"refresh_token": {o["refresh_token"].(string)}})
	if r.Status != http.StatusOK || r.Object(t)["scope"] != "openid offline_access api:read" {
		t.Errorf("after narrowing: %d %s", r.Status, r.Body)
	}
}

// TestRefreshWhenNotIssued: no refresh token for a client without the
// grant, nor for an OpenID request without offline_access.
func TestRefreshWhenNotIssued(t *testing.T) {
	e := newRefreshEnv(t)
	conf := e.config
	conf.Scopes = []string{"openid", "api:read"}
	if tok := e.signInFor(t, conf); tok.RefreshToken != "" {
		t.Error("refresh token without offline_access in an OpenID request")
	}
	conf.Scopes = []string{"api:read"}
	if tok := e.signInFor(t, conf); tok.RefreshToken == "" {
		t.Error("no refresh token for a plain OAuth request of a client with the grant")
	}
	noRefresh, secret := e.CreateClient(client.CreateInput{Name: "norefresh", Type: client.Confidential, GrantTypes: []string{client.GrantAuthorizationCode},
		RedirectURIs: []string{loopbackCB}, AllowedScopes: []string{"openid", "offline_access", "api:read"}, FirstParty: true})
	conf = e.config
	conf.ClientID, conf.ClientSecret = noRefresh.ClientID, secret.Expose()
	tok := e.signInFor(t, conf)
	if tok.RefreshToken != "" {
		t.Error("refresh token for a client without the refresh_token grant")
	}
}

// TestRefreshLifetimes: idle and absolute lifetimes, with the server's
// clock; rotation never extends the absolute one.
func TestRefreshLifetimes(t *testing.T) {
	e := newRefreshEnv(t, func(o *server.Options) {
		o.Refresh.Idle, o.Refresh.Absolute = time.Hour, 3*time.Hour
	})
	rt := e.signInFor(t, e.config).RefreshToken
	e.Clock.Advance(time.Hour)
	oauthError(t, e.refreshForm(e.basic(), url.Values{"refresh_token": {rt}}), 400, "invalid_grant")

	rt = e.signInFor(t, e.config).RefreshToken
	for i := range 10 {
		e.Clock.Advance(50 * time.Minute)
		r := e.refreshForm(e.basic(), url.Values{"refresh_token": {rt}})
		if i < 3 {
			if r.Status != http.StatusOK {
				t.Fatalf("refresh %d at %d min: %d %s", i, (i+1)*50, r.Status, r.Body)
			}
			rt = r.Object(t)["refresh_token"].(string)
			continue
		}
		oauthError(t, r, 400, "invalid_grant") // 200 min > 3 h absolute
		break
	}
}

// TestRefreshUserOrClientGone: a disabled or deleted user, or a disabled
// client, gets no more tokens.
func TestRefreshUserOrClientGone(t *testing.T) {
	e := newRefreshEnv(t)
	ctx := t.Context()
	tok := e.signInFor(t, e.config)
	if _, err := e.App.Users.Update(ctx, userActor, e.alice.ID, user.Patch{Enabled: ptrTo(false)}); err != nil {
		t.Fatal(err)
	}
	oauthError(t, e.refreshForm(e.basic(), url.Values{"refresh_token": {tok.RefreshToken}}), 400, "invalid_grant")
	if _, err := e.App.Users.Update(ctx, userActor, e.alice.ID, user.Patch{Enabled: ptrTo(true)}); err != nil {
		t.Fatal(err)
	}
	// Refused for a disabled user, the family stays revoked.
	oauthError(t, e.refreshForm(e.basic(), url.Values{"refresh_token": {tok.RefreshToken}}), 400, "invalid_grant")

	// A disabled client fails authentication before its grant is
	// looked at; enabled again, its refresh token still works.
	tok = e.signInFor(t, e.config)
	if _, err := e.App.Clients.SetEnabled(ctx, userActor, e.web.ID, false); err != nil {
		t.Fatal(err)
	}
	oauthError(t, e.refreshForm(e.basic(), url.Values{"refresh_token": {tok.RefreshToken}}), 401, "invalid_client")
	if _, err := e.App.Clients.SetEnabled(ctx, userActor, e.web.ID, true); err != nil {
		t.Fatal(err)
	}
	if r := e.refreshForm(e.basic(), url.Values{"refresh_token": {tok.RefreshToken}}); r.Status != http.StatusOK {
		t.Fatalf("after re-enabling the client: %d %s", r.Status, r.Body)
	}

	tok = e.signInFor(t, e.config)
	if err := e.App.Users.Delete(ctx, userActor, e.alice.ID); err != nil {
		t.Fatal(err)
	}
	oauthError(t, e.refreshForm(e.basic(), url.Values{"refresh_token": {tok.RefreshToken}}), 400, "invalid_grant")
}

// TestSecondCodeRedemptionRevokesGrant: a code presented twice revokes
// what its first redemption issued (RFC 9700 §4.4.1.1): the refresh token
// and the access token.
func TestSecondCodeRedemptionRevokesGrant(t *testing.T) {
	e := newRefreshEnv(t)
	code, verifier := e.codeFor(t, browser(t), e.config)
	tok, err := e.config.Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("exchange: %+v, %v", tok, err)
	}
	if !e.active(t, tok.AccessToken) {
		t.Fatal("fresh access token inactive")
	}
	_, err = e.config.Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
	if re := (*oauth2.RetrieveError)(nil); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("second redemption: %v, want invalid_grant", err)
	}
	if e.active(t, tok.AccessToken) || e.userinfo(t, tok.AccessToken) != http.StatusUnauthorized {
		t.Error("the first redemption's access token survived the second")
	}
	oauthError(t, e.refreshForm(e.basic(), url.Values{"refresh_token": {tok.RefreshToken}}), 400, "invalid_grant")
}

// TestRevokeRefreshToken: RFC 7009 revocation of a refresh token revokes
// its family, whatever token_type_hint says; another client's token is
// refused and left alone; an access token revokes only itself.
func TestRevokeRefreshToken(t *testing.T) {
	e := newRefreshEnv(t)
	other, otherSecret := e.CreateClient(client.CreateInput{Name: "other", Type: client.Confidential, GrantTypes: []string{client.GrantClientCredentials},
		AllowedScopes: []string{"api:read"}})
	revoke := func(auth string, form url.Values) servertest.Response {
		return e.Do("POST", "/oauth2/revoke", "application/x-www-form-urlencoded", "", form.Encode(), "Authorization: "+auth)
	}
	for _, hint := range []string{"", "refresh_token", "access_token", "bogus"} {
		t.Run("hint="+hint, func(t *testing.T) {
			tok := e.signInFor(t, e.config)
			form := url.Values{"token": {tok.RefreshToken}}
			if hint != "" {
				form.Set("token_type_hint", hint)
			}
			oauthError(t, revoke(servertest.BasicAuth(other.ClientID, otherSecret.Expose()), form), 400, "unauthorized_client")
			if !e.active(t, tok.AccessToken) {
				t.Fatal("another client's revocation took effect")
			}
			if r := revoke(e.basic(), form); r.Status != http.StatusOK {
				t.Fatalf("revoke: %d %s", r.Status, r.Body)
			}
			if e.active(t, tok.AccessToken) {
				t.Error("the family's access token is still active")
			}
			oauthError(t, e.refreshForm(e.basic(), url.Values{"refresh_token": {tok.RefreshToken}}), 400, "invalid_grant")
			if r := revoke(e.basic(), form); r.Status != http.StatusOK {
				t.Errorf("revoking again: %d %s", r.Status, r.Body)
			}
		})
	}
	// An access token revokes itself only: the refresh token still works.
	tok := e.signInFor(t, e.config)
	if r := revoke(e.basic(), url.Values{"token": {tok.AccessToken}, "token_type_hint": {"refresh_token"}}); r.Status != http.StatusOK {
		t.Fatalf("revoke access token: %d %s", r.Status, r.Body)
	}
	if e.active(t, tok.AccessToken) {
		t.Error("revoked access token active")
	}
	r := e.refreshForm(e.basic(), url.Values{"refresh_token": {tok.RefreshToken}})
	if r.Status != http.StatusOK {
		t.Errorf("refresh after revoking only the access token: %d %s", r.Status, r.Body)
	}
}

// TestRevokeConsentRevokesGrants: forgetting a user's consent to a client
// through the admin API (as Hydra and Keycloak do) revokes the grants the
// user gave that client, at once: its refresh token and every access
// token minted from it. Another client's grant stays until every consent
// is revoked; each revocation is audited.
func TestRevokeConsentRevokesGrants(t *testing.T) {
	e := newRefreshEnv(t)
	other, otherSecret := e.CreateClient(client.CreateInput{Name: "other", Type: client.Confidential,
		GrantTypes:   []string{client.GrantAuthorizationCode, client.GrantRefreshToken},
		RedirectURIs: []string{loopbackCB}, AllowedScopes: []string{"openid", "offline_access", "api:read"}, FirstParty: true})
	otherConf := e.config
	otherConf.ClientID, otherConf.ClientSecret = other.ClientID, otherSecret.Expose()
	webTok, otherTok := e.signInFor(t, e.config), e.signInFor(t, otherConf)
	admin := e.TokenWith("users:update", "audit:read")
	consents := "/v1/admin/users/" + e.alice.ID + "/consents"

	if r := e.Do("DELETE", consents+"/"+e.web.ClientID, "", admin, ""); r.Status != http.StatusNoContent {
		t.Fatalf("revoke consent: %d %s", r.Status, r.Body)
	}
	oauthError(t, e.refreshForm(e.basic(), url.Values{"refresh_token": {webTok.RefreshToken}}), 400, "invalid_grant")
	if e.active(t, webTok.AccessToken) || e.userinfo(t, webTok.AccessToken) != http.StatusUnauthorized {
		t.Error("the web app's access token survived revoking its consent")
	}
	if e.userinfo(t, otherTok.AccessToken) != http.StatusOK {
		t.Error("revoking the web app's consent revoked the other client's access token")
	}
	otherBasic := servertest.BasicAuth(other.ClientID, otherSecret.Expose())
	r := e.refreshForm(otherBasic, url.Values{"refresh_token": {otherTok.RefreshToken}})
	if r.Status != http.StatusOK {
		t.Fatalf("other client's refresh after revoking the web app's consent: %d %s", r.Status, r.Body)
	}
	rotated, _ := r.Object(t)["refresh_token"].(string)

	// Every client: the other one's (rotated) grant goes too.
	if r := e.Do("DELETE", consents, "", admin, ""); r.Status != http.StatusNoContent {
		t.Fatalf("revoke all consents: %d %s", r.Status, r.Body)
	}
	oauthError(t, e.refreshForm(otherBasic, url.Values{"refresh_token": {rotated}}), 400, "invalid_grant")
	if e.userinfo(t, otherTok.AccessToken) != http.StatusUnauthorized {
		t.Error("the other client's access token survived revoking every consent")
	}
	// Nothing left: still 204, nothing more audited.
	if r := e.Do("DELETE", consents, "", admin, ""); r.Status != http.StatusNoContent {
		t.Fatalf("revoke again: %d %s", r.Status, r.Body)
	}
	a := e.Do("GET", "/v1/admin/audit?action=user.revoke_grants", "", admin, "")
	if n := strings.Count(string(a.Body), `"user.revoke_grants"`); a.Status != http.StatusOK || n != 2 {
		t.Errorf("audit: %d, %d user.revoke_grants events, want 2: %s", a.Status, n, a.Body)
	}
	if !strings.Contains(string(a.Body), e.web.ClientID) {
		t.Errorf("the revocation by client does not name the client: %s", a.Body)
	}
}

// TestIntrospectRefreshToken: RFC 7662 introspection of a refresh token
// says whether it would be redeemed now, to the client it was issued to
// (or one holding tokens:introspect) and to nobody else; a rotated,
// revoked or disabled user's token is inactive, and so is anything that
// merely looks like one.
func TestIntrospectRefreshToken(t *testing.T) {
	e := newRefreshEnv(t)
	tok := e.signInFor(t, e.config)
	introspect := func(auth, raw string) map[string]any {
		t.Helper()
		r := e.Do("POST", "/oauth2/introspect", "application/x-www-form-urlencoded", "", url.Values{"token": {raw}}.Encode(), "Authorization: "+auth)
		if r.Status != http.StatusOK {
			t.Fatalf("introspect: %d %s", r.Status, r.Body)
		}
		return r.Object(t)
	}
	in := introspect(e.basic(), tok.RefreshToken)
	if in["active"] != true || in["client_id"] != e.web.ClientID || in["sub"] != e.alice.ID || in["token_use"] != "refresh_token" ||
		in["scope"] != "openid offline_access api:read" || in["token_type"] != nil {
		t.Errorf("live refresh token: %v", in)
	}
	exp, _ := in["exp"].(float64)
	iat, _ := in["iat"].(float64)
	if now := float64(time.Now().Unix()); iat > now+1 || iat < now-60 || exp <= now {
		t.Errorf("iat %v exp %v around %v", iat, exp, now)
	}
	// Another client learns nothing; an introspecting admin does.
	other, otherSecret := e.ServiceClient("rs", "api:read")
	if in := introspect(servertest.BasicAuth(other.ClientID, otherSecret.Expose()), tok.RefreshToken); len(in) != 1 || in["active"] != false {
		t.Errorf("to another client: %v", in)
	}
	admin, adminSecret := e.ServiceClient("introspector", "tokens:introspect")
	if in := introspect(servertest.BasicAuth(admin.ClientID, adminSecret.Expose()), tok.RefreshToken); in["active"] != true {
		t.Errorf("to a tokens:introspect client: %v", in)
	}

	// Rotated: the old one is inactive, the new one active.
	r := e.refreshForm(e.basic(), url.Values{"refresh_token": {tok.RefreshToken}})
	if r.Status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
	next, _ := r.Object(t)["refresh_token"].(string)
	if in := introspect(e.basic(), tok.RefreshToken); in["active"] != false {
		t.Errorf("rotated-out token: %v", in)
	}
	if in := introspect(e.basic(), next); in["active"] != true {
		t.Errorf("its replacement: %v", in)
	}
	// A disabled user's token is inactive, and active again once enabled
	// (introspection changes nothing).
	if _, err := e.App.Users.Update(t.Context(), userActor, e.alice.ID, user.Patch{Enabled: ptrTo(false)}); err != nil {
		t.Fatal(err)
	}
	if in := introspect(e.basic(), next); in["active"] != false {
		t.Errorf("disabled user's token: %v", in)
	}
	if _, err := e.App.Users.Update(t.Context(), userActor, e.alice.ID, user.Patch{Enabled: ptrTo(true)}); err != nil {
		t.Fatal(err)
	}
	if in := introspect(e.basic(), next); in["active"] != true {
		t.Errorf("re-enabled user's token: %v", in)
	}
	// Revoked (RFC 7009): inactive.
	if r := e.Do("POST", "/oauth2/revoke", "application/x-www-form-urlencoded", "", url.Values{"token": {next}}.Encode(), "Authorization: "+e.basic()); r.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if in := introspect(e.basic(), next); in["active"] != false {
		t.Errorf("revoked token: %v", in)
	}
	// Hostile or unknown values are simply inactive.
	for _, raw := range []string{"x", strings.Repeat("A", 43), strings.Repeat("A", 10000), "%00", "' OR 1=1 --"} {
		if in := introspect(e.basic(), raw); len(in) != 1 || in["active"] != false {
			t.Errorf("introspect(%.20q) = %v", raw, in)
		}
	}
}
