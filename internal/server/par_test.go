package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchkey/latchkey/internal/api/register"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
	"github.com/latchkey/latchkey/internal/user"
)

// parEnv is a sign-in server with a confidential web client that pushes
// its requests.
type parEnv struct {
	*signinEnv
	web    client.Client
	secret string
}

const webCB = "https://web.example/cb"

func newPAREnv(t *testing.T, opts ...func(*server.Options)) *parEnv {
	t.Helper()
	e := servertest.New(t, opts...)
	se := &signinEnv{Env: e}
	var err error
	se.alice, err = e.App.Users.Create(t.Context(), userActor, user.CreateInput{Username: "alice", DisplayName: "Alice", Password: alicePassword})
	if err != nil {
		t.Fatal(err)
	}
	se.app, _ = e.CreateClient(client.CreateInput{Name: "native", Type: client.Public, GrantTypes: []string{client.GrantAuthorizationCode},
		RedirectURIs: []string{loopbackCB}, AllowedScopes: []string{"openid", "api:read"}})
	web, secret := e.CreateClient(client.CreateInput{Name: "web", GrantTypes: []string{client.GrantAuthorizationCode},
		RedirectURIs: []string{webCB}, AllowedScopes: []string{"openid", "api:read"}})
	return &parEnv{signinEnv: se, web: web, secret: secret.Expose()}
}

// push posts form to /oauth2/par as the web client (HTTP Basic).
func (e *parEnv) push(t *testing.T, form url.Values) servertest.Response {
	t.Helper()
	return e.Do("POST", "/oauth2/par", "application/x-www-form-urlencoded", "", form.Encode(),
		"Authorization: "+servertest.BasicAuth(e.web.ClientID, e.secret))
}

func (e *parEnv) pushParams(challenge string, kv ...string) url.Values {
	v := url.Values{"response_type": {"code"}, "redirect_uri": {webCB}, "scope": {"openid api:read"}, "state": {"st"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "nonce": {"n1"}}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			v.Del(kv[i])
		} else {
			v.Set(kv[i], kv[i+1])
		}
	}
	return v
}

func requestURI(t *testing.T, r servertest.Response) string {
	t.Helper()
	if r.Status != http.StatusCreated {
		t.Fatalf("push: %d %s", r.Status, r.Body)
	}
	o := r.Object(t)
	uri, _ := o["request_uri"].(string)
	if !strings.HasPrefix(uri, "urn:ietf:params:oauth:request_uri:") || len(uri) < 70 || o["expires_in"] != float64(60) {
		t.Fatalf("push answer %v", o)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("push Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	return uri
}

func authorizeURI(e *parEnv, clientID, uri string) string {
	return e.URL + "/oauth2/authorize?" + url.Values{"client_id": {clientID}, "request_uri": {uri}}.Encode()
}

// TestPAREndToEnd pushes a request, follows its request_uri through the
// login and consent pages (which carry continuations, never the
// parameters) and redeems the code; the request_uri works once.
func TestPAREndToEnd(t *testing.T) {
	e := newPAREnv(t)
	verifier := oauth2.GenerateVerifier()
	uri := requestURI(t, e.push(t, e.pushParams(oauth2.S256ChallengeFromVerifier(verifier))))
	b := browser(t)
	login := get(t, b, authorizeURI(e, e.web.ClientID, uri))
	action, form := formOf(t, login)
	if login.status != http.StatusOK || form.Get("request_uri") == "" || form.Get("request_uri") == uri || form.Get("client_id") != e.web.ClientID ||
		form.Has("redirect_uri") || form.Has("scope") || form.Has("code_challenge") {
		t.Fatalf("login page %d carries %v", login.status, form)
	}
	// Single use: the request_uri is spent.
	if p := get(t, browser(t), authorizeURI(e, e.web.ClientID, uri)); p.status != http.StatusBadRequest || p.header.Get("Location") != "" {
		t.Errorf("second use of the request_uri: %d %q", p.status, p.header.Get("Location"))
	}
	form.Set("username", "alice")
	form.Set("password", alicePassword)
	consent := post(t, b, e.URL+action, form)
	action, cform := formOf(t, consent)
	if !strings.Contains(consent.body, "<code>api:read</code>") || cform.Get("request_uri") == form.Get("request_uri") || cform.Has("scope") {
		t.Fatalf("consent page %d carries %v: %.500s", consent.status, cform, consent.body)
	}
	// The login page's continuation is spent too.
	if p := post(t, b, e.URL+action, form); p.status != http.StatusBadRequest {
		t.Errorf("replayed login continuation: %d", p.status)
	}
	cform.Set("consent", "allow")
	q := location(t, post(t, b, e.URL+action, cform), webCB)
	if q.Get("state") != "st" || q.Get("iss") != e.URL || q.Get("code") == "" {
		t.Fatalf("callback %v", q)
	}
	conf := oauth2.Config{ClientID: e.web.ClientID, ClientSecret: e.secret, RedirectURL: webCB,
		Endpoint: oauth2.Endpoint{TokenURL: e.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}}
	tok, err := conf.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil || tok.Extra("scope") != "openid api:read" || tok.Extra("id_token") == nil {
		t.Fatalf("exchange: %v %+v", err, tok)
	}
	if p := post(t, b, e.URL+action, cform); p.status != http.StatusBadRequest {
		t.Errorf("replayed consent continuation: %d", p.status)
	}
}

// TestPARPushErrors: every authorization parameter is checked at push
// time, with RFC 9126 §2.3 errors as JSON.
func TestPARPushErrors(t *testing.T) {
	e := newPAREnv(t)
	svc, svcSecret := e.ServiceClient("svc", "api:read")
	challenge := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())
	basic := "Authorization: " + servertest.BasicAuth(e.web.ClientID, e.secret)
	cases := []struct {
		name   string
		body   string
		header string
		status int
		code   string
	}{
		{"no credentials", e.pushParams(challenge, "client_id", "nobody").Encode(), "", 401, "invalid_client"},
		{"wrong secret", e.pushParams(challenge).Encode(), "Authorization: " + servertest.BasicAuth(e.web.ClientID, "wrong"), 401, "invalid_client"},
		{"unregistered redirect_uri", e.pushParams(challenge, "redirect_uri", "https://evil.example/cb").Encode(), basic, 400, "invalid_request"},
		{"response_type=token", e.pushParams(challenge, "response_type", "token").Encode(), basic, 400, "unsupported_response_type"},
		{"no response_type", e.pushParams(challenge, "response_type", "").Encode(), basic, 400, "invalid_request"},
		{"scope not allowed", e.pushParams(challenge, "scope", "openid admin").Encode(), basic, 400, "invalid_scope"},
		{"plain PKCE", e.pushParams(challenge, "code_challenge_method", "plain").Encode(), basic, 400, "invalid_request"},
		{"request_uri pushed", e.pushParams(challenge, "request_uri", "urn:ietf:params:oauth:request_uri:x").Encode(), basic, 400, "invalid_request"},
		{"request object", e.pushParams(challenge, "request", "eyJ9.e30.").Encode(), basic, 400, "request_not_supported"},
		{"repeated state", e.pushParams(challenge).Encode() + "&state=again", basic, 400, "invalid_request"},
		{"client_id differs from Basic", e.pushParams(challenge, "client_id", e.app.ClientID).Encode(), basic, 400, "invalid_request"},
		{"bad max_age", e.pushParams(challenge, "max_age", "-1").Encode(), basic, 400, "invalid_request"},
		{"public client without PKCE", url.Values{"client_id": {e.app.ClientID}, "response_type": {"code"}, "redirect_uri": {appCB}}.Encode(), "", 400, "invalid_request"},
		{"client without the grant", url.Values{"response_type": {"code"}}.Encode(), "Authorization: " + servertest.BasicAuth(svc.ClientID, svcSecret.Expose()), 400, "invalid_request"},
		{"query string only", "", basic, 400, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var headers []string
			if tc.header != "" {
				headers = append(headers, tc.header)
			}
			r := e.Do("POST", "/oauth2/par", "application/x-www-form-urlencoded", "", tc.body, headers...)
			if r.Status != tc.status || r.Object(t)["error"] != tc.code || r.Object(t)["error_description"] == "" {
				t.Errorf("%d %s; want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
		})
	}
	// A public client pushes with client_id alone (method none).
	r := e.Do("POST", "/oauth2/par", "application/x-www-form-urlencoded", "", url.Values{"client_id": {e.app.ClientID}, "response_type": {"code"},
		"redirect_uri": {appCB}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}.Encode())
	requestURI(t, r)
	if r := e.Do("GET", "/oauth2/par", "", "", ""); r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "POST" {
		t.Errorf("GET /oauth2/par: %d %v", r.Status, r.Header)
	}
}

// TestPARAuthorizeErrors: at the authorization endpoint a request_uri is
// bound to its client, expires after 60 s, and other parameters may only
// repeat the pushed ones.
func TestPARAuthorizeErrors(t *testing.T) {
	e := newPAREnv(t)
	challenge := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())
	fresh := func() string { return requestURI(t, e.push(t, e.pushParams(challenge))) }

	if p := get(t, browser(t), authorizeURI(e, e.app.ClientID, fresh())); p.status != http.StatusBadRequest || p.header.Get("Location") != "" {
		t.Errorf("another client's request_uri: %d", p.status)
	}
	if p := get(t, browser(t), e.URL+"/oauth2/authorize?"+url.Values{"request_uri": {fresh()}}.Encode()); p.status != http.StatusBadRequest {
		t.Errorf("request_uri without client_id: %d", p.status)
	}
	for _, bad := range []string{"urn:ietf:params:oauth:request_uri:unknown", "https://evil.example/req", strings.Repeat("u", 300)} {
		if p := get(t, browser(t), authorizeURI(e, e.web.ClientID, bad)); p.status != http.StatusBadRequest {
			t.Errorf("request_uri %.40q: %d", bad, p.status)
		}
	}
	uri := fresh()
	if p := get(t, browser(t), authorizeURI(e, e.web.ClientID, uri)+"&state=other"); p.status != http.StatusBadRequest {
		t.Errorf("conflicting state: %d", p.status)
	}
	uri = fresh()
	if p := get(t, browser(t), authorizeURI(e, e.web.ClientID, uri)+"&request_uri="+url.QueryEscape(uri)); p.status != http.StatusBadRequest {
		t.Errorf("repeated request_uri: %d", p.status)
	}
	// Repeating a pushed value is fine.
	if p := get(t, browser(t), authorizeURI(e, e.web.ClientID, fresh())+"&state=st&response_type=code"); p.status != http.StatusOK {
		t.Errorf("repeating pushed values: %d %.300s", p.status, p.body)
	}
	uri = fresh()
	e.Clock.Advance(61 * time.Second)
	if p := get(t, browser(t), authorizeURI(e, e.web.ClientID, uri)); p.status != http.StatusBadRequest {
		t.Errorf("expired request_uri: %d", p.status)
	}
}

// TestPARPromptLoginAfterLogin: a pushed prompt=login asks for a login
// once; the continuation after it does not ask again.
func TestPARPromptLoginAfterLogin(t *testing.T) {
	e := newPAREnv(t)
	challenge := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())
	b := browser(t)
	signIn(t, e.signinEnv, b, e.URL+"/oauth2/authorize?"+url.Values{"client_id": {e.app.ClientID}, "response_type": {"code"},
		"redirect_uri": {appCB}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}.Encode())
	uri := requestURI(t, e.push(t, e.pushParams(challenge, "prompt", "login", "max_age", "0")))
	after := signIn(t, e.signinEnv, b, authorizeURI(e, e.web.ClientID, uri))
	if after.status != http.StatusOK || !strings.Contains(after.body, `name="consent"`) {
		t.Fatalf("after the login a pushed prompt=login asked for: %d %.400s", after.status, after.body)
	}
}

// TestRequirePushedRequests: with the server flag (or a client's
// require_pushed_authorization_requests) a plain authorization request is
// refused with invalid_request, a pushed one works, and discovery says so.
func TestRequirePushedRequests(t *testing.T) {
	e := newPAREnv(t, func(o *server.Options) { o.RequirePushedRequests = true })
	challenge := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())
	plain := e.URL + "/oauth2/authorize?" + e.pushParams(challenge, "client_id", e.web.ClientID).Encode()
	q := location(t, get(t, browser(t), plain), webCB)
	if q.Get("error") != "invalid_request" || q.Get("state") != "st" {
		t.Errorf("plain request: %v", q)
	}
	uri := requestURI(t, e.push(t, e.pushParams(challenge)))
	if p := get(t, browser(t), authorizeURI(e, e.web.ClientID, uri)); p.status != http.StatusOK {
		t.Errorf("pushed request: %d", p.status)
	}
	d := e.Do("GET", "/.well-known/oauth-authorization-server", "", "", "").Object(t)
	if d["pushed_authorization_request_endpoint"] != e.URL+"/oauth2/par" || d["require_pushed_authorization_requests"] != true {
		t.Errorf("discovery: %v %v", d["pushed_authorization_request_endpoint"], d["require_pushed_authorization_requests"])
	}
	plainEnv := newPAREnv(t)
	d = plainEnv.Do("GET", "/.well-known/openid-configuration", "", "", "").Object(t)
	if d["pushed_authorization_request_endpoint"] != plainEnv.URL+"/oauth2/par" || d["require_pushed_authorization_requests"] != nil {
		t.Errorf("discovery without the flag: %v %v", d["pushed_authorization_request_endpoint"], d["require_pushed_authorization_requests"])
	}
}

// TestClientRequiresPushedRequests: require_pushed_authorization_requests
// set through the admin API and through dynamic registration.
func TestClientRequiresPushedRequests(t *testing.T) {
	e := newPAREnv(t, func(o *server.Options) { o.Registration = register.ModeOpen })
	admin := e.TokenWith("clients:create", "clients:update", "clients:read")
	r := e.Do("POST", "/v1/admin/oauth-clients", "application/json", admin,
		`{"client_name":"strict","client_type":"public","redirect_uris":["`+loopbackCB+`"],"allowed_scopes":["openid"],"require_pushed_authorization_requests":true}`)
	strict, _ := r.Object(t)["client"].(map[string]any)
	if r.Status != http.StatusCreated || strict["require_pushed_authorization_requests"] != true {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	id, clientID := strict["id"].(string), strict["client_id"].(string)
	challenge := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())
	params := url.Values{"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {loopbackCB}, "state": {"st"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	q := location(t, get(t, browser(t), e.URL+"/oauth2/authorize?"+params.Encode()), loopbackCB)
	if q.Get("error") != "invalid_request" || !strings.Contains(q.Get("error_description"), "push") {
		t.Errorf("plain request of a client that must push: %v", q)
	}
	uri := requestURI(t, e.Do("POST", "/oauth2/par", "application/x-www-form-urlencoded", "", params.Encode()))
	if p := get(t, browser(t), authorizeURI(e, clientID, uri)); p.status != http.StatusOK {
		t.Errorf("pushed request: %d", p.status)
	}
	r = e.Do("PATCH", "/v1/admin/oauth-clients/"+id, "application/merge-patch+json", admin, `{"require_pushed_authorization_requests":false}`)
	if patched, _ := r.Object(t)["client"].(map[string]any); r.Status != http.StatusOK || patched["require_pushed_authorization_requests"] != false {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	if p := get(t, browser(t), e.URL+"/oauth2/authorize?"+params.Encode()); p.status != http.StatusOK {
		t.Errorf("plain request after the patch: %d", p.status)
	}
	if r := e.Do("PATCH", "/v1/admin/oauth-clients/"+id, "application/merge-patch+json", admin, `{"require_pushed_authorization_requests":"yes"}`); r.Status != http.StatusBadRequest {
		t.Errorf("non-boolean patch: %d", r.Status)
	}

	r = e.Do("POST", "/oauth2/register", "application/json", "",
		`{"redirect_uris":["`+loopbackCB+`"],"token_endpoint_auth_method":"none","require_pushed_authorization_requests":true}`)
	if r.Status != http.StatusCreated || r.Object(t)["require_pushed_authorization_requests"] != true {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	params.Set("client_id", r.Object(t)["client_id"].(string))
	// Registered by anybody: the error is shown, not redirected (RFC 9700
	// §4.11.2).
	if p := get(t, browser(t), e.URL+"/oauth2/authorize?"+params.Encode()); p.status != http.StatusBadRequest || !strings.Contains(p.body, "push") {
		t.Errorf("plain request of a registered client that must push: %d %.300s", p.status, p.body)
	}
	if r := e.Do("POST", "/oauth2/register", "application/json", "", `{"redirect_uris":["`+loopbackCB+`"],"require_pushed_authorization_requests":"yes"}`); r.Status != http.StatusBadRequest {
		t.Errorf("non-boolean metadata: %d %s", r.Status, r.Body)
	}
}
