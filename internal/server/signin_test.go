package server_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/server/servertest"
	"github.com/latchkey/latchkey/internal/token"
	"github.com/latchkey/latchkey/internal/user"
)

const (
	alicePassword = "correct horse battery"
	loopbackCB    = "http://127.0.0.1/callback"
	// A native app listens on an ephemeral port: RFC 8252 §7.3 lets it
	// use any port with the loopback redirect URI it registered.
	appCB = "http://127.0.0.1:53682/callback"
)

// signinEnv is a server with a user who can sign in and a public client.
type signinEnv struct {
	*servertest.Env
	alice  user.User
	app    client.Client
	config oauth2.Config
}

func newSigninEnv(t *testing.T, firstParty bool) *signinEnv {
	t.Helper()
	e := servertest.New(t)
	alice, err := e.App.Users.Create(t.Context(), userActor, user.CreateInput{Username: "alice", DisplayName: "Alice", Password: alicePassword})
	if err != nil {
		t.Fatal(err)
	}
	app, _ := e.CreateClient(client.CreateInput{Name: "Demo <App> & Co", Type: client.Public, GrantTypes: []string{client.GrantAuthorizationCode},
		RedirectURIs: []string{loopbackCB}, AllowedScopes: []string{"openid", "api:read"}, FirstParty: firstParty})
	return &signinEnv{Env: e, alice: alice, app: app, config: oauth2.Config{
		ClientID: app.ClientID, RedirectURL: appCB, Scopes: []string{"openid", "api:read"},
		Endpoint: oauth2.Endpoint{AuthURL: e.URL + "/oauth2/authorize", TokenURL: e.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams},
	}}
}

// browser is an HTTP client with a cookie jar that stops at redirects,
// as a browser would hand the final one to the client's redirect URI.
func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type page struct {
	status int
	header http.Header
	body   string
}

func fetch(t *testing.T, b *http.Client, req *http.Request) page {
	t.Helper()
	res, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{res.StatusCode, res.Header, string(body)}
}

func get(t *testing.T, b *http.Client, u string) page {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return fetch(t, b, req)
}

func post(t *testing.T, b *http.Client, u string, form url.Values) page {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return fetch(t, b, req)
}

// formOf returns the first POST form's action and its inputs' values
// (hidden ones filled in, the others empty; a repeated name keeps all).
func formOf(t *testing.T, p page) (string, url.Values) {
	t.Helper()
	action, v, ok := servertest.FormOf(p.body)
	if !ok {
		t.Fatalf("no POST form in the page (%d): %.500s", p.status, p.body)
	}
	return action, v
}

// location returns the redirect's target and its query, checking it went
// to the app's redirect URI.
func location(t *testing.T, p page, want string) url.Values {
	t.Helper()
	if p.status != http.StatusSeeOther {
		t.Fatalf("status %d, want 303: %.500s", p.status, p.body)
	}
	u, err := url.Parse(p.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	u.RawQuery = ""
	if u.String() != want {
		t.Fatalf("redirected to %s, want %s", u, want)
	}
	return q
}

// TestSignInEndToEnd drives the whole authorization code flow as a
// relying party does, with golang.org/x/oauth2 and go-oidc: discovery,
// the login and consent pages, the code exchange with PKCE, and the ID
// token's signature and claims.
func TestSignInEndToEnd(t *testing.T) {
	e := newSigninEnv(t, false)
	ctx := t.Context()
	provider, err := oidc.NewProvider(ctx, e.URL)
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		AuthorizationEndpoint string   `json:"authorization_endpoint"`
		Methods               []string `json:"code_challenge_methods_supported"`
		Iss                   bool     `json:"authorization_response_iss_parameter_supported"`
	}
	if err := provider.Claims(&claims); err != nil || claims.AuthorizationEndpoint != e.config.Endpoint.AuthURL ||
		strings.Join(claims.Methods, " ") != "S256" || !claims.Iss {
		t.Fatalf("discovery: %+v, %v", claims, err)
	}
	verifier := oauth2.GenerateVerifier()
	authURL := e.config.AuthCodeURL("state-123", oauth2.S256ChallengeOption(verifier), oidc.Nonce("nonce-456"))
	b := browser(t)

	login := get(t, b, authURL)
	if login.status != http.StatusOK || !strings.Contains(login.body, "Demo &lt;App&gt; &amp; Co") || strings.Contains(login.body, "<App>") {
		t.Fatalf("login page %d: %.800s", login.status, login.body)
	}
	for h, want := range map[string]string{"Cache-Control": "no-store", "X-Frame-Options": "DENY"} {
		if got := login.header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if !strings.Contains(login.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("CSP %q", login.header.Get("Content-Security-Policy"))
	}
	sc := login.header.Get("Set-Cookie")
	if !strings.HasPrefix(sc, "latchkey_session=") || !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") || strings.Contains(sc, "Secure") {
		t.Errorf("session cookie over http: %s", sc)
	}
	action, form := formOf(t, login)
	if action != "/oauth2/authorize" || form.Get("csrf_token") == "" || !form.Has("username") || !form.Has("password") {
		t.Fatalf("login form %s %v", action, form)
	}

	// An unknown user and a wrong password get the same page.
	form.Set("username", "mallory")
	form.Set("password", alicePassword)
	unknown := post(t, b, e.URL+action, form)
	form.Set("username", "alice")
	form.Set("password", "not the password")
	wrong := post(t, b, e.URL+action, form)
	if unknown.status != http.StatusOK || unknown.body != wrong.body || !strings.Contains(wrong.body, "not correct") {
		t.Errorf("failed logins differ or say nothing: %d %q / %d %q", unknown.status, unknown.body, wrong.status, wrong.body)
	}

	form.Set("password", alicePassword)
	consent := post(t, b, e.URL+action, form)
	if consent.status != http.StatusOK || !strings.Contains(consent.body, "Demo &lt;App&gt; &amp; Co") ||
		!strings.Contains(consent.body, "<code>api:read</code>") || !strings.Contains(consent.body, `name="consent" value="allow"`) {
		t.Fatalf("consent page %d: %.1000s", consent.status, consent.body)
	}
	if sc2 := consent.header.Get("Set-Cookie"); sc2 == "" || sc2 == sc {
		t.Error("signing in did not replace the session cookie")
	}
	// The login form's CSRF token died with the session it belonged to.
	if _, cf := formOf(t, consent); cf.Get("csrf_token") == form.Get("csrf_token") {
		t.Error("CSRF token unchanged by signing in")
	}
	action, form = formOf(t, consent)
	form.Set("consent", "allow")
	q := location(t, post(t, b, e.URL+action, form), appCB)
	if q.Get("state") != "state-123" || q.Get("iss") != e.URL || len(q.Get("code")) < 43 {
		t.Fatalf("callback %v", q)
	}
	code := q.Get("code")

	tok, err := e.config.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.Extra("scope") != "openid api:read" {
		t.Errorf("token %+v scope %v", tok, tok.Extra("scope"))
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: e.app.ClientID}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	if idt.Subject != e.alice.ID || idt.Nonce != "nonce-456" || idt.Issuer != e.URL {
		t.Errorf("ID token sub %q nonce %q iss %q", idt.Subject, idt.Nonce, idt.Issuer)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	var idc struct {
		AuthTime int64  `json:"auth_time"`
		AZP      string `json:"azp"`
		SID      string `json:"sid"`
	}
	if err := idt.Claims(&idc); err != nil || idc.AZP != e.app.ClientID || idc.SID == "" || idc.AuthTime == 0 ||
		time.Since(time.Unix(idc.AuthTime, 0)).Abs() > time.Minute {
		t.Errorf("ID token claims %+v, %v", idc, err)
	}
	if !strings.HasPrefix(rawID, "eyJhbGciOiJSUzI1NiI") {
		t.Errorf("ID token is not RS256: %.40s", rawID)
	}

	// The code is single use.
	_, err = e.config.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if re := (*oauth2.RetrieveError)(nil); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("second redemption: %v, want invalid_grant", err)
	}

	// Signed in, a second authorization for the same scopes gets a code
	// at once (the consent is remembered); with prompt=consent it goes to
	// consent, where deny sends access_denied back with state and iss.
	q = location(t, get(t, b, e.config.AuthCodeURL("state-r", oauth2.S256ChallengeOption(verifier))), appCB)
	if q.Get("code") == "" || q.Get("state") != "state-r" {
		t.Fatalf("remembered consent: %v", q)
	}
	again := get(t, b, e.config.AuthCodeURL("state-2", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "consent")))
	action, form = formOf(t, again)
	if !form.Has("consent") && !strings.Contains(again.body, `name="consent"`) {
		t.Fatalf("signed-in request did not go to consent: %.500s", again.body)
	}
	form.Set("consent", "deny")
	q = location(t, post(t, b, e.URL+action, form), appCB)
	if q.Get("error") != "access_denied" || q.Get("state") != "state-2" || q.Get("iss") != e.URL || q.Has("code") {
		t.Errorf("deny: %v", q)
	}
}

// signIn signs b in as alice through the login page of authURL and
// returns the page that follows.
func signIn(t *testing.T, e *signinEnv, b *http.Client, authURL string) page {
	t.Helper()
	action, form := formOf(t, get(t, b, authURL))
	form.Set("username", "alice")
	form.Set("password", alicePassword)
	return post(t, b, e.URL+action, form)
}

func TestFirstPartySkipsConsentAndCodeExpires(t *testing.T) {
	e := newSigninEnv(t, true)
	verifier := oauth2.GenerateVerifier()
	b := browser(t)
	q := location(t, signIn(t, e, b, e.config.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier))), appCB)
	if q.Get("code") == "" {
		t.Fatalf("no code: %v", q)
	}
	e.Clock.Advance(61 * time.Second)
	_, err := e.config.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if re := (*oauth2.RetrieveError)(nil); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("expired code: %v, want invalid_grant", err)
	}
	// A wrong verifier is invalid_grant too.
	q = location(t, get(t, b, e.config.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier))), appCB)
	_, err = e.config.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier()))
	if re := (*oauth2.RetrieveError)(nil); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("wrong verifier: %v, want invalid_grant", err)
	}
}

func TestAuthorizeErrors(t *testing.T) {
	e := newSigninEnv(t, false)
	conf, _ := e.CreateClient(client.CreateInput{Name: "web", GrantTypes: []string{client.GrantAuthorizationCode, client.GrantClientCredentials},
		RedirectURIs: []string{"https://web.example/cb", "https://web.example/cb2"}, AllowedScopes: []string{"openid"}})
	svc, _ := e.ServiceClient("svc", "api:read")
	disabled, _ := e.CreateClient(client.CreateInput{Name: "off", Type: client.Public, GrantTypes: []string{client.GrantAuthorizationCode}, RedirectURIs: []string{loopbackCB}})
	if _, err := e.App.Clients.SetEnabled(t.Context(), domain.Actor{Root: true}, disabled.ID, false); err != nil {
		t.Fatal(err)
	}
	challenge := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())
	base := func(kv ...string) string {
		v := url.Values{"response_type": {"code"}, "client_id": {e.app.ClientID}, "redirect_uri": {appCB}, "state": {"st"},
			"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				v.Del(kv[i])
			} else {
				v.Set(kv[i], kv[i+1])
			}
		}
		return v.Encode()
	}
	cases := []struct {
		name  string
		query string
		page  int    // an error page with this status, never a redirect
		code  string // or a redirect to appCB with this error
	}{
		{"unknown client", base("client_id", "nobody"), 400, ""},
		{"no client", base("client_id", ""), 400, ""},
		{"disabled client", base("client_id", disabled.ClientID), 400, ""},
		{"unregistered redirect", base("redirect_uri", "https://evil.example/cb"), 400, ""},
		{"loopback by name is not a literal", base("redirect_uri", "http://localhost:53682/callback"), 400, ""},
		{"loopback with another path", base("redirect_uri", "http://127.0.0.1:53682/other"), 400, ""},
		{"redirect omitted with two registered", base("client_id", conf.ClientID, "redirect_uri", ""), 400, ""},
		{"repeated client_id", base() + "&client_id=" + e.app.ClientID, 400, ""},
		{"repeated redirect_uri", base() + "&redirect_uri=" + url.QueryEscape(appCB), 400, ""},
		{"missing PKCE for a public client", base("code_challenge", "", "code_challenge_method", ""), 0, "invalid_request"},
		{"plain", base("code_challenge_method", "plain"), 0, "invalid_request"},
		{"challenge without method (plain)", base("code_challenge_method", ""), 0, "invalid_request"},
		{"malformed challenge", base("code_challenge", "short"), 0, "invalid_request"},
		{"response_type=token", base("response_type", "token"), 0, "unsupported_response_type"},
		{"no response_type", base("response_type", ""), 0, "invalid_request"},
		{"repeated scope", base("scope", "openid") + "&scope=openid", 0, "invalid_request"},
		{"scope not allowed", base("scope", "openid admin"), 0, "invalid_scope"},
		{"prompt=none signed out", base("prompt", "none"), 0, "login_required"},
		{"request object", base("request", "eyJ9.e30."), 0, "request_not_supported"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := get(t, browser(t), e.URL+"/oauth2/authorize?"+tc.query)
			if tc.page != 0 {
				if p.status != tc.page || p.header.Get("Location") != "" || !strings.Contains(p.header.Get("Content-Type"), "text/html") {
					t.Errorf("status %d, Location %q; want a %d page", p.status, p.header.Get("Location"), tc.page)
				}
				return
			}
			q := location(t, p, appCB)
			if q.Get("error") != tc.code || q.Get("state") != "st" || q.Get("iss") != e.URL || q.Get("error_description") == "" {
				t.Errorf("redirect query %v; want error %s", q, tc.code)
			}
		})
	}
	// A client not registered for the grant: unauthorized_client, sent
	// back to its (only) redirect URI... it has none, so a page.
	if p := get(t, browser(t), e.URL+"/oauth2/authorize?"+base("client_id", svc.ClientID, "redirect_uri", "")); p.status != 400 {
		t.Errorf("client without redirect URIs: %d", p.status)
	}
	// A confidential client may skip PKCE; redirect_uri omitted, its one
	// code is bound to no redirect_uri.
	one, _ := e.CreateClient(client.CreateInput{Name: "one", GrantTypes: []string{client.GrantAuthorizationCode}, RedirectURIs: []string{"https://one.example/cb"}})
	p := get(t, browser(t), e.URL+"/oauth2/authorize?"+url.Values{"response_type": {"code"}, "client_id": {one.ClientID}}.Encode())
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="password"`) {
		t.Errorf("confidential client without PKCE: %d", p.status)
	}
}

// TestCSRF: a login or consent form without its session's CSRF token is
// refused with 403, and nothing changes: no sign-in, no code.
func TestCSRF(t *testing.T) {
	e := newSigninEnv(t, false)
	authURL := e.config.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	b := browser(t)
	action, form := formOf(t, get(t, b, authURL))
	form.Set("username", "alice")
	form.Set("password", alicePassword)
	good := form.Get("csrf_token")
	for name, tok := range map[string]string{"missing": "", "wrong": good[:len(good)-2] + "xx"} {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		if tok == "" {
			f.Del("csrf_token")
		} else {
			f.Set("csrf_token", tok)
		}
		if p := post(t, b, e.URL+action, f); p.status != http.StatusForbidden || p.header.Get("Set-Cookie") != "" {
			t.Errorf("login, %s CSRF token: %d, Set-Cookie %q", name, p.status, p.header.Get("Set-Cookie"))
		}
	}
	// Still signed out: the login page again.
	if p := get(t, b, authURL); !strings.Contains(p.body, `name="password"`) {
		t.Fatalf("a refused login signed in: %.300s", p.body)
	}
	// Another browser's token does not fit this session.
	_, other := formOf(t, get(t, browser(t), authURL))
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	f.Set("csrf_token", other.Get("csrf_token"))
	if p := post(t, b, e.URL+action, f); p.status != http.StatusForbidden {
		t.Errorf("login with another session's CSRF token: %d", p.status)
	}

	consent := post(t, b, e.URL+action, form)
	action, cf := formOf(t, consent)
	cf.Set("consent", "allow")
	cf.Del("csrf_token")
	if p := post(t, b, e.URL+action, cf); p.status != http.StatusForbidden || p.header.Get("Location") != "" {
		t.Errorf("consent without CSRF token: %d %q", p.status, p.header.Get("Location"))
	}
	// Without any session at all (no cookie), a form is refused too.
	if p := post(t, &http.Client{CheckRedirect: browser(t).CheckRedirect}, e.URL+action, form); p.status != http.StatusForbidden {
		t.Errorf("login without a session: %d", p.status)
	}
}

// TestUserInfo: go-oidc's provider.UserInfo with the access token of a
// sign-in reads sub and the claims of the scopes granted; a token
// without openid is refused (403), and so is one whose user is disabled
// (401 invalid_token).
func TestUserInfo(t *testing.T) {
	e := newSigninEnv(t, true)
	ctx := t.Context()
	email := "alice@example.com"
	if _, err := e.App.Users.Update(ctx, userActor, e.alice.ID, user.Patch{Email: &email, EmailVerified: ptrTo(true)}); err != nil {
		t.Fatal(err)
	}
	rp, _ := e.CreateClient(client.CreateInput{Name: "rp", Type: client.Public, GrantTypes: []string{client.GrantAuthorizationCode},
		RedirectURIs: []string{loopbackCB}, AllowedScopes: []string{"openid", "profile", "email", "api:read"}, FirstParty: true})
	provider, err := oidc.NewProvider(ctx, e.URL)
	if err != nil {
		t.Fatal(err)
	}
	var disc struct {
		UserInfo string   `json:"userinfo_endpoint"`
		Claims   []string `json:"claims_supported"`
		Subjects []string `json:"subject_types_supported"`
	}
	if err := provider.Claims(&disc); err != nil || disc.UserInfo != e.URL+"/userinfo" || !slices.Contains(disc.Claims, "email_verified") ||
		strings.Join(disc.Subjects, " ") != "public" {
		t.Fatalf("discovery: %+v, %v", disc, err)
	}
	b := browser(t)
	signedIn := false
	tokenFor := func(scopes ...string) *oauth2.Token {
		t.Helper()
		conf := e.config
		conf.ClientID, conf.Scopes = rp.ClientID, scopes
		verifier := oauth2.GenerateVerifier()
		authURL := conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier))
		var p page
		if signedIn {
			p = get(t, b, authURL)
		} else {
			p, signedIn = signIn(t, e, b, authURL), true
		}
		tok, err := conf.Exchange(ctx, location(t, p, appCB).Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	full := tokenFor("openid", "profile", "email")
	ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(full))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Name              string `json:"name"`
		PreferredUsername string `json:"preferred_username"`
		UpdatedAt         int64  `json:"updated_at"`
	}
	if err := ui.Claims(&c); err != nil || ui.Subject != e.alice.ID || ui.Email != email || !ui.EmailVerified ||
		c.Name != "Alice" || c.PreferredUsername != "alice" || c.UpdatedAt == 0 {
		t.Errorf("userinfo %+v %+v, %v", ui, c, err)
	}

	// openid alone: sub and nothing else.
	ui, err = provider.UserInfo(ctx, oauth2.StaticTokenSource(tokenFor("openid")))
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]any
	if err := ui.Claims(&all); err != nil || len(all) != 1 || all["sub"] != e.alice.ID {
		t.Errorf("openid only: %v, %v", all, err)
	}

	// No openid: 403 insufficient_scope.
	status := func(tok *oauth2.Token) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, e.URL+"/userinfo", nil)
		tok.SetAuthHeader(req)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode, res.Header.Get("WWW-Authenticate")
	}
	if st, ch := status(tokenFor("api:read")); st != http.StatusForbidden || !strings.Contains(ch, `error="insufficient_scope", scope="openid"`) {
		t.Errorf("without openid: %d %q", st, ch)
	}

	// A disabled user's token no longer works.
	if _, err := e.App.Users.Update(ctx, userActor, e.alice.ID, user.Patch{Enabled: ptrTo(false)}); err != nil {
		t.Fatal(err)
	}
	if st, ch := status(full); st != http.StatusUnauthorized || !strings.Contains(ch, `error="invalid_token"`) {
		t.Errorf("disabled user: %d %q", st, ch)
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestRememberedConsent: consent is remembered per user and client for
// the scopes allowed; the same or fewer scopes skip the consent page,
// more ask again (and prompt=none then gets consent_required).
func TestRememberedConsent(t *testing.T) {
	e := newSigninEnv(t, false)
	rp, _ := e.CreateClient(client.CreateInput{Name: "rp", Type: client.Public, GrantTypes: []string{client.GrantAuthorizationCode},
		RedirectURIs: []string{loopbackCB}, AllowedScopes: []string{"openid", "profile", "api:read"}})
	conf := e.config
	conf.ClientID = rp.ClientID
	b := browser(t)
	authURL := func(scope string, more ...string) string {
		opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("scope", scope)}
		for i := 0; i < len(more); i += 2 {
			opts = append(opts, oauth2.SetAuthURLParam(more[i], more[i+1]))
		}
		return conf.AuthCodeURL("s", opts...)
	}
	allow := func(p page) {
		t.Helper()
		if !strings.Contains(p.body, `name="consent"`) {
			t.Fatalf("want the consent page, got %d %q: %.300s", p.status, p.header.Get("Location"), p.body)
		}
		action, form := formOf(t, p)
		form.Set("consent", "allow")
		if q := location(t, post(t, b, e.URL+action, form), appCB); q.Get("code") == "" {
			t.Fatalf("after allow: %v", q)
		}
	}
	code := func(p page) {
		t.Helper()
		if q := location(t, p, appCB); q.Get("code") == "" {
			t.Fatalf("want a code: %v", q)
		}
	}
	allow(signIn(t, e, b, authURL("openid")))
	code(get(t, b, authURL("openid")))
	allow(get(t, b, authURL("openid api:read"))) // more scopes: asked again
	code(get(t, b, authURL("api:read openid")))
	code(get(t, b, authURL("api:read"))) // fewer
	code(get(t, b, authURL("openid", "prompt", "none")))
	allow(get(t, b, authURL("openid", "prompt", "consent")))
	if q := location(t, get(t, b, authURL("openid profile", "prompt", "none")), appCB); q.Get("error") != "consent_required" {
		t.Errorf("more scopes with prompt=none: %v", q)
	}
	// Another client is asked for itself.
	if p := get(t, b, e.config.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))); !strings.Contains(p.body, `name="consent"`) {
		t.Errorf("another client skipped consent: %d %q", p.status, p.header.Get("Location"))
	}
	g, err := e.Store.GetConsent(t.Context(), e.alice.ID, rp.ClientID)
	if err != nil || strings.Join(g.Scopes, " ") != "api:read openid" {
		t.Errorf("stored consent %+v, %v", g, err)
	}
}

// TestFormPost: response_mode=form_post answers with an auto-submitting
// form posting code, state and iss to the redirect URI, whose CSP lets
// forms post there and runs only the submitting script; errors go back
// the same way, and an unknown response_mode is invalid_request.
func TestFormPost(t *testing.T) {
	e := newSigninEnv(t, true)
	verifier := oauth2.GenerateVerifier()
	mode := oauth2.SetAuthURLParam("response_mode", "form_post")
	b := browser(t)

	// Signed out with prompt=none: the error, posted.
	p := get(t, b, e.config.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), mode, oauth2.SetAuthURLParam("prompt", "none")))
	action, fields := formOf(t, p)
	if p.status != http.StatusOK || action != appCB || fields.Get("error") != "login_required" || fields.Get("state") != "st" || fields.Get("iss") != e.URL {
		t.Fatalf("form_post error: %d %s %v", p.status, action, fields)
	}

	p = signIn(t, e, b, e.config.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), mode))
	action, fields = formOf(t, p)
	if p.status != http.StatusOK || action != appCB || fields.Get("state") != "st" || fields.Get("iss") != e.URL || fields.Get("code") == "" {
		t.Fatalf("form_post: %d %s %v", p.status, action, fields)
	}
	if strings.Contains(p.body, `name="csrf_token"`) || !strings.Contains(p.body, "<noscript>") || !strings.Contains(p.body, `<button type="submit">`) {
		t.Errorf("form_post page: %s", p.body)
	}
	csp := p.header.Get("Content-Security-Policy")
	script := regexp.MustCompile(`<script>(.*?)</script>`).FindStringSubmatch(p.body)
	if script == nil {
		t.Fatalf("no script: %s", p.body)
	}
	sum := sha256.Sum256([]byte(script[1]))
	wantHash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	if !strings.Contains(csp, "form-action "+appCB+";") || !strings.Contains(csp, "script-src "+wantHash) ||
		strings.Contains(csp, "form-action 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q (script hash %s)", csp, wantHash)
	}
	if _, err := e.config.Exchange(t.Context(), fields.Get("code"), oauth2.VerifierOption(verifier)); err != nil {
		t.Errorf("exchanging the posted code: %v", err)
	}
	// The login page itself still posts only to this server.
	if p := get(t, browser(t), e.config.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), mode)); !strings.Contains(p.header.Get("Content-Security-Policy"), "form-action 'self'") {
		t.Errorf("login page CSP: %q", p.header.Get("Content-Security-Policy"))
	}

	q := location(t, get(t, b, e.config.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("response_mode", "fragment"))), appCB)
	if q.Get("error") != "invalid_request" {
		t.Errorf("response_mode=fragment: %v", q)
	}
	var disc struct {
		Modes []string `json:"response_modes_supported"`
	}
	if res, err := http.Get(e.URL + "/.well-known/openid-configuration"); err != nil {
		t.Fatal(err)
	} else {
		defer res.Body.Close()
		if err := json.NewDecoder(res.Body).Decode(&disc); err != nil || strings.Join(disc.Modes, " ") != "query form_post" {
			t.Errorf("response_modes_supported %v, %v", disc.Modes, err)
		}
	}
}

// TestLogout: RP-initiated logout with an id_token_hint of the signed-in
// user ends the session at once and returns to the registered
// post_logout_redirect_uri with state; without a hint the user confirms
// (CSRF-checked); an unregistered return address is an error page.
func TestLogout(t *testing.T) {
	e := newSigninEnv(t, true)
	ctx := t.Context()
	const bye = "http://127.0.0.1/bye"
	rp, _ := e.CreateClient(client.CreateInput{Name: "rp", Type: client.Public, GrantTypes: []string{client.GrantAuthorizationCode},
		RedirectURIs: []string{loopbackCB}, PostLogoutRedirectURIs: []string{bye}, AllowedScopes: []string{"openid"}, FirstParty: true})
	conf := e.config
	conf.ClientID, conf.Scopes = rp.ClientID, []string{"openid"}
	provider, err := oidc.NewProvider(ctx, e.URL)
	if err != nil {
		t.Fatal(err)
	}
	var disc struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := provider.Claims(&disc); err != nil || disc.EndSession != e.URL+"/oauth2/logout" {
		t.Fatalf("end_session_endpoint %q, %v", disc.EndSession, err)
	}
	signedInBrowser := func() (*http.Client, string) {
		t.Helper()
		b := browser(t)
		verifier := oauth2.GenerateVerifier()
		q := location(t, signIn(t, e, b, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier))), appCB)
		tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		return b, tok.Extra("id_token").(string)
	}
	signedOut := func(b *http.Client) bool {
		t.Helper()
		q := location(t, get(t, b, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "none"))), appCB)
		return q.Get("error") == "login_required"
	}

	b, idToken := signedInBrowser()
	logout := e.URL + "/oauth2/logout?" + url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {bye}, "state": {"z"}}.Encode()
	p := get(t, b, logout)
	if q := location(t, p, bye); q.Get("state") != "z" {
		t.Errorf("logout redirect: %v", q)
	}
	if sc := p.header.Get("Set-Cookie"); !strings.Contains(sc, "Max-Age=0") {
		t.Errorf("session cookie not cleared: %q", sc)
	}
	if !signedOut(b) {
		t.Error("still signed in after logout")
	}
	// The same again, signed out: nothing to end, back all the same.
	location(t, get(t, b, logout), bye)

	// Without a hint: asked first; the form needs its CSRF token.
	b, _ = signedInBrowser()
	p = get(t, b, e.URL+"/oauth2/logout?"+url.Values{"client_id": {rp.ClientID}, "post_logout_redirect_uri": {bye}, "state": {"y"}}.Encode())
	action, form := formOf(t, p)
	if p.status != http.StatusOK || action != "/oauth2/logout" || form.Get("csrf_token") == "" || !strings.Contains(p.body, `name="logout" value="yes"`) {
		t.Fatalf("confirmation page %d: %.500s", p.status, p.body)
	}
	form.Set("logout", "yes")
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Del("csrf_token")
	if p := post(t, b, e.URL+action, bad); p.status != http.StatusForbidden || signedOut(b) {
		t.Errorf("logout without CSRF token: %d", p.status)
	}
	if q := location(t, post(t, b, e.URL+action, form), bye); q.Get("state") != "y" || !signedOut(b) {
		t.Errorf("confirmed logout: %v", q)
	}

	// Another user's hint does not end this session without asking.
	b, _ = signedInBrowser()
	other, err := e.App.Issuer.Mint(ctx, token.Spec{Kind: token.ID, Subject: "someone-else", ClientID: rp.ClientID})
	if err != nil {
		t.Fatal(err)
	}
	if p := get(t, b, e.URL+"/oauth2/logout?id_token_hint="+other.Raw); !strings.Contains(p.body, `name="logout"`) || signedOut(b) {
		t.Errorf("another user's hint: %d %.300s", p.status, p.body)
	}
	// Errors are pages, never redirects.
	for name, q := range map[string]url.Values{
		"unregistered return":        {"id_token_hint": {idToken}, "post_logout_redirect_uri": {"http://127.0.0.1/elsewhere"}},
		"return without a client":    {"post_logout_redirect_uri": {bye}},
		"client_id not the audience": {"id_token_hint": {idToken}, "client_id": {e.app.ClientID}},
		"foreign hint":               {"id_token_hint": {"eyJhbGciOiJub25lIn0.e30."}},
	} {
		if p := get(t, b, e.URL+"/oauth2/logout?"+q.Encode()); p.status != http.StatusBadRequest || p.header.Get("Location") != "" {
			t.Errorf("%s: %d %q", name, p.status, p.header.Get("Location"))
		}
	}
	if signedOut(b) {
		t.Error("a refused logout ended the session")
	}
}
