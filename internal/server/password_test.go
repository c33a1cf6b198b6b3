package server_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/server/servertest"
	"github.com/latchkey/latchkey/internal/user"
)

// passwordEnv: signinEnv (alice, a public client) plus a confidential
// client listing the password grant, one without it, a bot and a
// disabled human.
type passwordEnv struct {
	*signinEnv
	pw, noGrant             client.Client
	pwSecret, noGrantSecret client.Secret
}

func newPasswordEnv(t *testing.T) *passwordEnv {
	t.Helper()
	e := newSigninEnv(t, false)
	ctx := t.Context()
	for _, in := range []user.CreateInput{
		{Username: "robot", Bot: true},
		{Username: "carol", Password: alicePassword + " carol", Disabled: true},
	} {
		if _, err := e.App.Users.Create(ctx, userActor, in); err != nil {
			t.Fatal(err)
		}
	}
	pw, pwSecret := e.CreateClient(client.CreateInput{Name: "legacy", GrantTypes: []string{client.GrantPassword},
		AllowedScopes: []string{"openid", "profile", "api:read"}})
	noGrant, noGrantSecret := e.CreateClient(client.CreateInput{Name: "svc", GrantTypes: []string{client.GrantClientCredentials},
		AllowedScopes: []string{"openid", "api:read"}})
	return &passwordEnv{signinEnv: e, pw: pw, noGrant: noGrant, pwSecret: pwSecret, noGrantSecret: noGrantSecret}
}

// TestPasswordGrantErrors: every refusal, with the RFC 6749 §5.2 status
// and code.
func TestPasswordGrantErrors(t *testing.T) {
	e := newPasswordEnv(t)
	basic := servertest.BasicAuth(e.pw.ClientID, e.pwSecret.Expose())
	tests := []struct {
		name, auth, body string
		status           int
		code             string
	}{
		{"missing username", basic, "grant_type=password&password=x", 400, "invalid_request"},
		{"missing password", basic, "grant_type=password&username=alice", 400, "invalid_request"},
		{"empty password", basic, "grant_type=password&username=alice&password=", 400, "invalid_request"},
		{"repeated username", basic, "grant_type=password&username=alice&username=bob&password=x", 400, "invalid_request"},
		{"repeated password", basic, "grant_type=password&username=alice&password=a&password=b", 400, "invalid_request"},
		{"wrong password", basic, "grant_type=password&username=alice&password=wrong", 400, "invalid_grant"},
		{"unknown user", basic, "grant_type=password&username=nobody&password=x", 400, "invalid_grant"},
		{"invalid UTF-8 username", basic, "grant_type=password&username=%ff%fe&password=x", 400, "invalid_grant"},
		{"bot", basic, "grant_type=password&username=robot&password=x", 400, "invalid_grant"},
		{"disabled user, right password", basic, "grant_type=password&username=carol&password=" + url.QueryEscape(alicePassword+" carol"), 400, "invalid_grant"},
		{"scope not allowed", basic, "grant_type=password&username=alice&password=" + url.QueryEscape(alicePassword) + "&scope=clients%3Acreate", 400, "invalid_scope"},
		{"public client", "", "grant_type=password&client_id=" + e.app.ClientID + "&username=alice&password=" + url.QueryEscape(alicePassword), 400, "unauthorized_client"},
		{"client without the grant", servertest.BasicAuth(e.noGrant.ClientID, e.noGrantSecret.Expose()), "grant_type=password&username=alice&password=" + url.QueryEscape(alicePassword), 400, "unauthorized_client"},
		{"wrong client secret", servertest.BasicAuth(e.pw.ClientID, "nope"), "grant_type=password&username=alice&password=" + url.QueryEscape(alicePassword), 401, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var headers []string
			if tt.auth != "" {
				headers = append(headers, "Authorization: "+tt.auth)
			}
			r := e.Do("POST", "/oauth2/token", form, "", tt.body, headers...)
			if r.Status != tt.status || r.Object(t)["error"] != tt.code {
				t.Fatalf("%d %s, want %d %s", r.Status, r, tt.status, tt.code)
			}
			if strings.Contains(r.String(), "access_token") {
				t.Error("a refused request carries a token")
			}
		})
	}
}

// TestPasswordGrantThrottleSharedWithLoginPage: wrong passwords through
// the grant use up the username's budget; then the grant answers 429
// invalid_grant with Retry-After, the right password included, and so
// does the login page, until the window passes.
func TestPasswordGrantThrottleSharedWithLoginPage(t *testing.T) {
	e := newPasswordEnv(t)
	basic := "Authorization: " + servertest.BasicAuth(e.pw.ClientID, e.pwSecret.Expose())
	grant := func(password string) servertest.Response {
		return e.Do("POST", "/oauth2/token", form, "", "grant_type=password&username=Alice&password="+url.QueryEscape(password), basic)
	}
	for i := range user.MaxLoginFailures {
		if r := grant("wrong"); r.Status != 400 {
			t.Fatalf("wrong password %d: %d %s", i+1, r.Status, r)
		}
	}
	for _, pw := range []string{"wrong", alicePassword} {
		r := grant(pw)
		retry, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if r.Status != http.StatusTooManyRequests || r.Object(t)["error"] != "invalid_grant" || err != nil || retry <= 0 || retry > int(user.LoginFailureWindow.Seconds()) {
			t.Errorf("throttled grant (%q): %d %s Retry-After %q", pw, r.Status, r, r.Header.Get("Retry-After"))
		}
	}
	// The login page shares the budget.
	authURL := e.config.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	b := browser(t)
	action, f := formOf(t, get(t, b, authURL))
	f.Set("username", "alice")
	f.Set("password", alicePassword)
	if p := post(t, b, e.URL+action, f); p.status != http.StatusTooManyRequests {
		t.Errorf("login page after grant failures: %d, want 429", p.status)
	}
	e.Clock.Advance(user.LoginFailureWindow)
	if r := grant(alicePassword); r.Status != 200 {
		t.Errorf("after the window: %d %s", r.Status, r)
	}
}

// TestPasswordGrantWithOAuth2Client: golang.org/x/oauth2's
// PasswordCredentialsToken gets an access token and an ID token that
// go-oidc verifies, and the access token works at /userinfo.
func TestPasswordGrantWithOAuth2Client(t *testing.T) {
	e := newPasswordEnv(t)
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, http.DefaultClient)
	conf := oauth2.Config{ClientID: e.pw.ClientID, ClientSecret: e.pwSecret.Expose(), Scopes: []string{"openid", "profile"},
		Endpoint: oauth2.Endpoint{TokenURL: e.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}}
	tok, err := conf.PasswordCredentialsToken(ctx, "ALICE", alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.RefreshToken != "" || tok.Extra("scope") != "openid profile" {
		t.Fatalf("token %+v scope %v", tok, tok.Extra("scope"))
	}
	raw, _ := tok.Extra("id_token").(string)
	provider, err := oidc.NewProvider(ctx, e.URL)
	if err != nil {
		t.Fatal(err)
	}
	id, err := provider.Verifier(&oidc.Config{ClientID: e.pw.ClientID, Now: e.Clock.Now}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	if id.Subject != e.alice.ID || id.VerifyAccessToken(tok.AccessToken) != nil {
		t.Errorf("ID token sub %q, at_hash %v", id.Subject, id.VerifyAccessToken(tok.AccessToken))
	}
	var claims struct {
		AuthTime int64 `json:"auth_time"`
	}
	if err := id.Claims(&claims); err != nil || claims.AuthTime != e.Clock.Now().Unix() {
		t.Errorf("auth_time %d, want %d (%v)", claims.AuthTime, e.Clock.Now().Unix(), err)
	}
	r := e.Do("GET", "/userinfo", "", tok.AccessToken, "")
	if r.Status != 200 || r.Object(t)["preferred_username"] != "alice" {
		t.Errorf("userinfo: %d %s", r.Status, r)
	}
	// A wrong password through the library: invalid_grant.
	_, err = conf.PasswordCredentialsToken(ctx, "alice", "wrong")
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("wrong password: %v", err)
	}
}

// TestPasswordGrantNotByDefault: no way of making a client gives it the
// password grant unless asked for by name, and discovery lists it.
func TestPasswordGrantNotByDefault(t *testing.T) {
	e := newPasswordEnv(t)
	for _, ty := range []client.Type{client.Confidential, client.Public} {
		for _, g := range client.DefaultGrantTypes(ty) {
			if g == client.GrantPassword {
				t.Errorf("%s clients get the password grant by default", ty)
			}
		}
	}
	r := e.Do("GET", "/.well-known/openid-configuration", "", "", "")
	gts, _ := r.Object(t)["grant_types_supported"].([]any)
	found := false
	for _, g := range gts {
		found = found || g == "password"
	}
	if !found {
		t.Errorf("grant_types_supported %v lacks password", gts)
	}
}

// TestPasswordGrantRefresh: a client that also has refresh_token gets a
// refresh token from the password grant (SPEC §7; with openid, when
// offline_access is granted); x/oauth2's TokenSource then refreshes
// through rotation, and the refreshed access token carries the same grant,
// so revoking the refresh token ends it at /userinfo too.
func TestPasswordGrantRefresh(t *testing.T) {
	e := newPasswordEnv(t)
	rc, rcSecret := e.CreateClient(client.CreateInput{Name: "legacy with refresh", GrantTypes: []string{client.GrantPassword, client.GrantRefreshToken},
		AllowedScopes: []string{"openid", "offline_access", "api:read"}})
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, http.DefaultClient)
	conf := oauth2.Config{ClientID: rc.ClientID, ClientSecret: rcSecret.Expose(), Scopes: []string{"openid", "offline_access"},
		Endpoint: oauth2.Endpoint{TokenURL: e.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}}
	tok, err := conf.PasswordCredentialsToken(ctx, "alice", alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" {
		t.Fatalf("no refresh token for a client with refresh_token and offline_access: %+v", tok)
	}
	// openid without offline_access: no refresh token (OIDC Core §11).
	conf.Scopes = []string{"openid"}
	if t2, err := conf.PasswordCredentialsToken(ctx, "alice", alicePassword); err != nil || t2.RefreshToken != "" {
		t.Errorf("openid without offline_access: %v, refresh token %q", err, t2.RefreshToken)
	}
	// The legacy client without refresh_token gets none either.
	legacy := oauth2.Config{ClientID: e.pw.ClientID, ClientSecret: e.pwSecret.Expose(), Scopes: []string{"api:read"},
		Endpoint: conf.Endpoint}
	if t3, err := legacy.PasswordCredentialsToken(ctx, "alice", alicePassword); err != nil || t3.RefreshToken != "" {
		t.Errorf("client without refresh_token: %v, refresh token %q", err, t3.RefreshToken)
	}

	tok.Expiry = e.Clock.Now().Add(-time.Second) // make the TokenSource refresh
	next, err := conf.TokenSource(ctx, tok).Token()
	if err != nil {
		t.Fatal(err)
	}
	if next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken || next.AccessToken == tok.AccessToken {
		t.Fatalf("refresh did not rotate: %+v", next)
	}
	if r := e.Do("GET", "/userinfo", "", next.AccessToken, ""); r.Status != 200 {
		t.Fatalf("userinfo with the refreshed token: %d %s", r.Status, r)
	}
	basic := "Authorization: " + servertest.BasicAuth(rc.ClientID, rcSecret.Expose())
	if r := e.Do("POST", "/oauth2/revoke", form, "", "token="+url.QueryEscape(next.RefreshToken)+"&token_type_hint=refresh_token", basic); r.Status != 200 {
		t.Fatalf("revoke: %d %s", r.Status, r)
	}
	if r := e.Do("GET", "/userinfo", "", next.AccessToken, ""); r.Status != 401 {
		t.Errorf("userinfo after revoking the grant: %d, want 401", r.Status)
	}
}
