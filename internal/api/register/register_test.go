package register_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/latchkey/latchkey/internal/api/register"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
)

func strs(v any) []string {
	l, _ := v.([]any)
	out := []string{}
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func wantError(t *testing.T, r servertest.Response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	m := r.Object(t)
	if m["error"] != code {
		t.Errorf("error = %v, want %s: %s", m["error"], code, r.Body)
	}
	if status != http.StatusInternalServerError {
		if d, _ := m["error_description"].(string); d == "" {
			t.Errorf("no error_description: %s", r.Body)
		}
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q", cc)
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]register.Mode{"": register.ModeToken, "open": register.ModeOpen, "token": register.ModeToken, "off": register.ModeOff} {
		if got, err := register.ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"OPEN", "on", "none", " token"} {
		if _, err := register.ParseMode(bad); err == nil {
			t.Errorf("ParseMode(%q) accepted", bad)
		}
	}
	if _, err := register.New(register.Deps{Mode: "sometimes"}); err == nil {
		t.Error("New accepted an unknown mode")
	}
	if _, err := register.New(register.Deps{Clients: &client.Service{}, Mode: register.ModeToken}); err == nil {
		t.Error("New accepted token mode without an authenticator")
	}
}

func discovery(t *testing.T, e *env) map[string]any {
	t.Helper()
	var last map[string]any
	for _, p := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		r := e.do("GET", p, "", "")
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d", p, r.Status)
		}
		m := r.Object(t)
		if last != nil && fmt.Sprint(m["registration_endpoint"]) != fmt.Sprint(last["registration_endpoint"]) {
			t.Errorf("the two discovery documents disagree on registration_endpoint")
		}
		last = m
	}
	return last
}

const ccBody = `{"client_name":"CC app","grant_types":["client_credentials"],"scope":"api:public"}`

func TestModeOpen(t *testing.T) {
	e := newEnv(t, register.ModeOpen)
	if got := discovery(t, e)["registration_endpoint"]; got != e.URL+"/oauth2/register" {
		t.Errorf("registration_endpoint = %v", got)
	}
	m := e.register("", ccBody)
	if m["client_id"] == "" || m["client_secret"] == "" {
		t.Fatalf("no credentials: %v", m)
	}
	// A bearer header is not needed and not looked at in open mode.
	e.register("garbage", ccBody)
}

func TestModeToken(t *testing.T) {
	e := newEnv(t, register.ModeToken)
	if got := discovery(t, e)["registration_endpoint"]; got != e.URL+"/oauth2/register" {
		t.Errorf("registration_endpoint = %v", got)
	}
	before := e.CountClients()

	r := e.do("POST", "/oauth2/register", "", ccBody)
	wantError(t, r, http.StatusUnauthorized, "invalid_token")
	if ch := r.Header.Get("WWW-Authenticate"); ch != `Bearer realm="latchkey"` {
		t.Errorf("no-token challenge = %q, want no error code", ch)
	}

	r = e.do("POST", "/oauth2/register", "not-a-real-token", ccBody)
	wantError(t, r, http.StatusUnauthorized, "invalid_token")
	if ch := r.Header.Get("WWW-Authenticate"); !strings.Contains(ch, `error="invalid_token"`) {
		t.Errorf("bad-token challenge = %q", ch)
	}

	r = e.do("POST", "/oauth2/register", e.TokenWith("clients:read"), ccBody)
	wantError(t, r, http.StatusForbidden, "insufficient_scope")
	if ch := r.Header.Get("WWW-Authenticate"); !strings.Contains(ch, `error="insufficient_scope"`) || !strings.Contains(ch, `scope="clients:create"`) {
		t.Errorf("insufficient-scope challenge = %q", ch)
	}

	req, _ := http.NewRequest("POST", e.URL+"/oauth2/register?access_token=x", strings.NewReader(ccBody))
	req.Header.Set("Content-Type", "application/json")
	wantError(t, e.Send(req), http.StatusBadRequest, "invalid_request")

	if n := e.CountClients(); n != before+1 { // +1: the clients:read caller
		t.Fatalf("refused requests created clients: %d → %d", before, n)
	}

	tok := e.TokenWith("clients:create")
	m := e.register(tok, ccBody)
	// The initial access token's holder may pass on scopes it holds, and
	// no others.
	e.register(tok, `{"grant_types":["client_credentials"],"scope":"clients:create"}`)
	r = e.do("POST", "/oauth2/register", tok, `{"grant_types":["client_credentials"],"scope":"users:read"}`)
	wantError(t, r, http.StatusBadRequest, "invalid_client_metadata")

	// The registration is audited under the token's subject.
	c, err := e.App.Clients.Lookup(t.Context(), m["client_id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	evs, err := e.Store.ListAudit(t.Context(), audit.Filter{TargetID: c.ID})
	if err != nil || len(evs) != 1 {
		t.Fatalf("audit: %v, %v", evs, err)
	}
	if evs[0].ActorSubject == "" || evs[0].ActorSubject == client.DCRSubject || evs[0].ActorSubject != c.OwnerID {
		t.Errorf("actor = %q, owner = %q; want the token's subject", evs[0].ActorSubject, c.OwnerID)
	}
}

func TestModeOff(t *testing.T) {
	e := newEnv(t, register.ModeOff)
	if _, ok := discovery(t, e)["registration_endpoint"]; ok {
		t.Error("discovery advertises registration_endpoint while registration is off")
	}
	tok := e.TokenWith("clients:create")
	before := e.CountClients()
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/oauth2/register", ccBody},
		{"GET", "/oauth2/register/abc", ""},
		{"PUT", "/oauth2/register/abc", `{"client_id":"abc"}`},
		{"DELETE", "/oauth2/register/abc", ""},
	} {
		if r := e.do(tc.method, tc.path, tok, tc.body); r.Status != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404", tc.method, tc.path, r.Status)
		}
	}
	if n := e.CountClients(); n != before {
		t.Errorf("clients %d → %d", before, n)
	}
}

func TestRegisterThenClientCredentials(t *testing.T) {
	e := newEnv(t, register.ModeOpen)
	r := e.do("POST", "/oauth2/register", "", `{
		"client_name": "Reporting job",
		"grant_types": ["client_credentials"],
		"token_endpoint_auth_method": "client_secret_basic",
		"scope": "api:public openid",
		"client_uri": "https://reports.example.com",
		"logo_uri": "https://reports.example.com/logo.png",
		"contacts": ["ops@example.com"],
		"software_id": "4NRB1-0XZABZI9E6-5SM3R",
		"software_version": "2.1"
	}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q", cc)
	}
	m := r.Object(t)
	id, _ := m["client_id"].(string)
	secret, _ := m["client_secret"].(string)
	regToken, _ := m["registration_access_token"].(string)
	if id == "" || len(secret) < 43 || len(regToken) < 43 || secret == regToken {
		t.Fatalf("credentials: %s", r.Body)
	}
	if m["registration_client_uri"] != e.URL+"/oauth2/register/"+id {
		t.Errorf("registration_client_uri = %v", m["registration_client_uri"])
	}
	if iat, _ := m["client_id_issued_at"].(float64); iat <= 0 {
		t.Errorf("client_id_issued_at = %v", m["client_id_issued_at"])
	}
	if exp, ok := m["client_secret_expires_at"].(float64); !ok || exp != 0 {
		t.Errorf("client_secret_expires_at = %v, want 0", m["client_secret_expires_at"])
	}
	want := map[string]any{
		"client_name": "Reporting job", "token_endpoint_auth_method": "client_secret_basic",
		"scope": "api:public openid", "client_uri": "https://reports.example.com", "logo_uri": "https://reports.example.com/logo.png",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if g := strs(m["grant_types"]); !reflect.DeepEqual(g, []string{"client_credentials"}) {
		t.Errorf("grant_types = %v", g)
	}
	if rt := strs(m["response_types"]); len(rt) != 0 {
		t.Errorf("response_types = %v, want []", rt)
	}
	if u := strs(m["redirect_uris"]); len(u) != 0 {
		t.Errorf("redirect_uris = %v, want []", u)
	}
	for _, k := range []string{"contacts", "software_id", "software_version"} {
		if _, ok := m[k]; ok {
			t.Errorf("%s is not stored and must not be reported as registered", k)
		}
	}

	// The credentials work at the token endpoint with the real client.
	cfg := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: e.URL + "/oauth2/token", Scopes: []string{"api:public"}}
	tok, err := cfg.Token(context.Background())
	if err != nil {
		t.Fatalf("client credentials: %v", err)
	}
	if !e.introspect(tok.AccessToken) {
		t.Error("the new client's token is not active")
	}
	// The registration access token is not a client secret.
	cfg.ClientSecret = regToken
	if _, err := cfg.Token(context.Background()); err == nil {
		t.Error("the registration access token worked as a client secret")
	}
}

func TestClientSecretPost(t *testing.T) {
	e := newEnv(t, register.ModeOpen)
	m := e.register("", `{"grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_post"}`)
	cfg := clientcredentials.Config{ClientID: m["client_id"].(string), ClientSecret: m["client_secret"].(string),
		TokenURL: e.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}
	if _, err := cfg.Token(context.Background()); err != nil {
		t.Fatalf("client_secret_post: %v", err)
	}
}

func TestPublicClient(t *testing.T) {
	e := newEnv(t, register.ModeOpen)
	m := e.register("", `{
		"client_name": "CLI",
		"token_endpoint_auth_method": "none",
		"grant_types": ["authorization_code", "refresh_token"],
		"response_types": ["code"],
		"redirect_uris": ["http://127.0.0.1:9000/callback", "com.example.cli:/cb"]
	}`)
	if _, ok := m["client_secret"]; ok {
		t.Errorf("a public client got a client_secret: %v", m)
	}
	if _, ok := m["client_secret_expires_at"]; ok {
		t.Errorf("a public client got client_secret_expires_at: %v", m)
	}
	if m["token_endpoint_auth_method"] != "none" {
		t.Errorf("token_endpoint_auth_method = %v", m["token_endpoint_auth_method"])
	}
	if rt := strs(m["response_types"]); !reflect.DeepEqual(rt, []string{"code"}) {
		t.Errorf("response_types = %v", rt)
	}
	c, err := e.App.Clients.Lookup(t.Context(), m["client_id"].(string))
	if err != nil || c.Type != client.Public || len(c.Secrets) != 0 {
		t.Errorf("stored: %+v, %v", c, err)
	}
	// A public client may not use client_credentials.
	r := e.do("POST", "/oauth2/register", "", `{"token_endpoint_auth_method":"none","grant_types":["client_credentials"]}`)
	wantError(t, r, http.StatusBadRequest, "invalid_client_metadata")
}

func TestDefaults(t *testing.T) {
	e := newEnv(t, register.ModeOpen)
	m := e.register("", `{"redirect_uris":["https://app.example.com/cb"]}`)
	want := map[string]any{
		"token_endpoint_auth_method": "client_secret_basic",
		"client_name":                register.DefaultClientName,
		"scope":                      strings.Join(servertest.DefaultScopes, " "),
		// OpenID Connect Dynamic Client Registration §2's default.
		"id_token_signed_response_alg": "RS256",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if g := strs(m["grant_types"]); !reflect.DeepEqual(g, []string{"authorization_code"}) {
		t.Errorf("grant_types = %v, want [authorization_code] (RFC 7591 §2)", g)
	}
	if rt := strs(m["response_types"]); !reflect.DeepEqual(rt, []string{"code"}) {
		t.Errorf("response_types = %v, want [code]", rt)
	}
	if _, ok := m["client_uri"]; ok {
		t.Errorf("client_uri reported though not registered")
	}
	if m["client_secret"] == nil {
		t.Error("the default client is confidential and needs a secret")
	}
}

func TestUnknownMembersIgnored(t *testing.T) {
	e := newEnv(t, register.ModeOpen)
	m := e.register("", `{
		"grant_types": ["client_credentials"],
		"x_vendor_extension": {"nested": [1, 2, {"a": null}]},
		"client_name#ja-Jpan-JP": "クライアント名",
		"Client_Name": "not the same member",
		"tos_uri": "https://example.com/tos",
		"policy_uri": "https://example.com/policy",
		"post_logout_redirect_uris": ["https://example.com/bye"],
		"subject_type": "public",
		"id_token_signed_response_alg": "RS256",
		"dpop_bound_access_tokens": false,
		"jwks": null
	}`)
	for _, k := range []string{"x_vendor_extension", "client_name#ja-Jpan-JP", "Client_Name", "tos_uri", "policy_uri"} {
		if _, ok := m[k]; ok {
			t.Errorf("unknown member %s was echoed back", k)
		}
	}
	// post_logout_redirect_uris is known (RP-Initiated Logout §3.1): stored.
	if l, _ := m["post_logout_redirect_uris"].([]any); len(l) != 1 || l[0] != "https://example.com/bye" {
		t.Errorf("post_logout_redirect_uris = %v", m["post_logout_redirect_uris"])
	}
	if m["client_name"] != register.DefaultClientName {
		t.Errorf("client_name = %v: member names are case-sensitive", m["client_name"])
	}
}

func TestRegistrationErrors(t *testing.T) {
	e := newEnv(t, register.ModeOpen)
	before := e.CountClients()
	const (
		redirect = "invalid_redirect_uri"
		metadata = "invalid_client_metadata"
	)
	cases := []struct {
		name, body string
		status     int
		code       string
	}{
		{"http to a non-loopback host", `{"redirect_uris":["http://app.example.com/cb"]}`, 400, redirect},
		{"fragment", `{"redirect_uris":["https://app.example.com/cb#x"]}`, 400, redirect},
		{"javascript scheme", `{"redirect_uris":["javascript:alert(1)"]}`, 400, redirect},
		{"data scheme", `{"redirect_uris":["data:text/html,hi"]}`, 400, redirect},
		{"wildcard", `{"redirect_uris":["https://*.example.com/cb"]}`, 400, redirect},
		{"relative", `{"redirect_uris":["/cb"]}`, 400, redirect},
		{"authorization_code without redirect_uris", `{}`, 400, redirect},
		{"one good one bad redirect", `{"redirect_uris":["https://ok.example.com/cb","http://evil.example.com"]}`, 400, redirect},
		{"bad redirect and bad grant", `{"redirect_uris":["http://evil.example.com"],"grant_types":["authorization_code","magic"],"response_types":["code"]}`, 400, metadata},
		{"unknown grant type", `{"grant_types":["urn:example:magic"]}`, 400, metadata},
		{"implicit grant", `{"grant_types":["implicit"],"redirect_uris":["https://a.example.com/cb"]}`, 400, metadata},
		{"empty grant_types", `{"grant_types":[]}`, 400, metadata},
		{"duplicate grant type", `{"grant_types":["client_credentials","client_credentials"]}`, 400, metadata},
		{"response type token", `{"response_types":["token"],"redirect_uris":["https://a.example.com/cb"]}`, 400, metadata},
		{"code without authorization_code", `{"grant_types":["client_credentials"],"response_types":["code"]}`, 400, metadata},
		{"authorization_code without code", `{"grant_types":["authorization_code"],"response_types":[],"redirect_uris":["https://a.example.com/cb"]}`, 400, metadata},
		{"code twice", `{"response_types":["code","code"],"redirect_uris":["https://a.example.com/cb"]}`, 400, metadata},
		{"jwks_uri", `{"grant_types":["client_credentials"],"jwks_uri":"https://a.example.com/jwks"}`, 400, metadata},
		{"jwks", `{"grant_types":["client_credentials"],"jwks":{"keys":[]}}`, 400, metadata},
		{"software_statement", `{"grant_types":["client_credentials"],"software_statement":"eyJ..."}`, 400, metadata},
		{"private_key_jwt", `{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt"}`, 400, metadata},
		{"tls_client_auth", `{"grant_types":["client_credentials"],"token_endpoint_auth_method":"tls_client_auth"}`, 400, metadata},
		{"pairwise subject", `{"grant_types":["client_credentials"],"subject_type":"pairwise"}`, 400, metadata},
		// ID tokens are RS256 or ES256, nothing else.
		{"HS256 ID tokens", `{"grant_types":["client_credentials"],"id_token_signed_response_alg":"HS256"}`, 400, metadata},
		{"unsigned ID tokens", `{"grant_types":["client_credentials"],"id_token_signed_response_alg":"none"}`, 400, metadata},
		{"ID token alg not a string", `{"grant_types":["client_credentials"],"id_token_signed_response_alg":256}`, 400, metadata},
		{"dpop required", `{"grant_types":["client_credentials"],"dpop_bound_access_tokens":true}`, 400, metadata},
		{"admin scope in open mode", `{"grant_types":["client_credentials"],"scope":"api:public clients:create"}`, 400, metadata},
		{"audit scope in open mode", `{"grant_types":["client_credentials"],"scope":"audit:read"}`, 400, metadata},
		{"empty scope", `{"grant_types":["client_credentials"],"scope":""}`, 400, metadata},
		{"invalid scope character", `{"grant_types":["client_credentials"],"scope":"a\"b"}`, 400, metadata},
		{"empty client_name", `{"grant_types":["client_credentials"],"client_name":""}`, 400, metadata},
		{"client_name too long", `{"grant_types":["client_credentials"],"client_name":"` + strings.Repeat("n", 256) + `"}`, 400, metadata},
		{"client_uri not a URL", `{"grant_types":["client_credentials"],"client_uri":"nope"}`, 400, metadata},
		{"logo_uri javascript", `{"grant_types":["client_credentials"],"logo_uri":"javascript:x"}`, 400, metadata},
		{"redirect_uris a string", `{"redirect_uris":"https://a.example.com/cb"}`, 400, metadata},
		{"client_name a number", `{"grant_types":["client_credentials"],"client_name":5}`, 400, metadata},
		{"grant_types an object", `{"grant_types":{"a":1}}`, 400, metadata},
		{"scope an array", `{"grant_types":["client_credentials"],"scope":["a"]}`, 400, metadata},
		{"contacts a string", `{"grant_types":["client_credentials"],"contacts":"a@example.com"}`, 400, metadata},
		{"token_endpoint_auth_method a bool", `{"grant_types":["client_credentials"],"token_endpoint_auth_method":true}`, 400, metadata},
		{"duplicate member", `{"grant_types":["client_credentials"],"client_name":"a","client_name":"b"}`, 400, metadata},
		{"duplicate unknown member", `{"grant_types":["client_credentials"],"x":1,"x":2}`, 400, metadata},
		{"not JSON", `{"grant_types":`, 400, metadata},
		{"an array", `[]`, 400, metadata},
		{"too large", `{"client_name":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "payload_too_large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do("POST", "/oauth2/register", "", tc.body), tc.status, tc.code)
		})
	}
	t.Run("no content type", func(t *testing.T) {
		req, _ := http.NewRequest("POST", e.URL+"/oauth2/register", strings.NewReader(ccBody))
		wantError(t, e.Send(req), http.StatusUnsupportedMediaType, "unsupported_media_type")
	})
	t.Run("form body", func(t *testing.T) {
		req, _ := http.NewRequest("POST", e.URL+"/oauth2/register", strings.NewReader("client_name=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		wantError(t, e.Send(req), http.StatusUnsupportedMediaType, "unsupported_media_type")
	})
	if n := e.CountClients(); n != before {
		t.Errorf("rejected registrations created clients: %d → %d", before, n)
	}
}

// registered is a client made through the endpoint, with what the 201
// returned.
type registered struct {
	id, secret, token, path string
	body                    map[string]any
}

func registerOne(t *testing.T, e *env, body string) registered {
	t.Helper()
	m := e.register("", body)
	sec, _ := m["client_secret"].(string)
	return registered{id: m["client_id"].(string), secret: sec, token: m["registration_access_token"].(string),
		path: path(t, m["registration_client_uri"]), body: m}
}

const acBody = `{"client_name":"Web app","redirect_uris":["https://web.example.com/cb"],"grant_types":["authorization_code","refresh_token"],"scope":"openid"}`

func TestManagementRead(t *testing.T) {
	e := newEnv(t, register.ModeOpen)
	c := registerOne(t, e, acBody)
	r := e.do("GET", c.path, c.token, "")
	if r.Status != http.StatusOK {
		t.Fatalf("GET: %d %s", r.Status, r.Body)
	}
	if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("headers: %v", r.Header)
	}
	got := r.Object(t)
	if _, ok := got["client_secret"]; ok {
		t.Error("GET shows the client secret again")
	}
	want := c.body
	delete(want, "client_secret")
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("GET body differs from the registration response:\n got %v\nwant %v", got, want)
	}
}

func TestManagementAuthentication(t *testing.T) {
	e := newEnv(t, register.ModeOpen)
	a := registerOne(t, e, acBody)
	b := registerOne(t, e, acBody)
	plain, _ := e.ServiceClient("admin-made")
	for _, method := range []string{"GET", "PUT", "DELETE"} {
		body := ""
		if method == "PUT" {
			body = `{"client_id":"` + a.id + `","redirect_uris":["https://x.example.com/cb"]}`
		}
		for _, tc := range []struct {
			name, path, token string
			challenge         string
		}{
			{"no token", a.path, "", `Bearer realm="latchkey"`},
			{"wrong token", a.path, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", `Bearer realm="latchkey", error="invalid_token"`},
			{"another client's token", a.path, b.token, `Bearer realm="latchkey", error="invalid_token"`},
			{"client not made by registration", "/oauth2/register/" + plain.ClientID, a.token, `Bearer realm="latchkey", error="invalid_token"`},
			{"unknown client", "/oauth2/register/nope", a.token, `Bearer realm="latchkey", error="invalid_token"`},
			{"the client secret", b.path, b.secret, `Bearer realm="latchkey", error="invalid_token"`},
		} {
			r := e.do(method, tc.path, tc.token, body)
			if r.Status != http.StatusUnauthorized {
				t.Errorf("%s %s: %d, want 401: %s", method, tc.name, r.Status, r.Body)
				continue
			}
			if ch := r.Header.Get("WWW-Authenticate"); ch != tc.challenge {
				t.Errorf("%s %s: challenge %q, want %q", method, tc.name, ch, tc.challenge)
			}
			if r.Object(t)["error"] != "invalid_token" {
				t.Errorf("%s %s: body %s", method, tc.name, r.Body)
			}
		}
	}
	// Nothing changed.
	for _, c := range []registered{a, b} {
		if r := e.do("GET", c.path, c.token, ""); r.Status != http.StatusOK || fmt.Sprint(strs(r.Object(t)["redirect_uris"])) != "[https://web.example.com/cb]" {
			t.Errorf("client %s changed: %d %s", c.id, r.Status, r.Body)
		}
	}
}

func TestManagementReplace(t *testing.T) {
	e := newEnv(t, register.ModeOpen)
	c := registerOne(t, e, acBody)
	r := e.do("PUT", c.path, c.token, `{
		"client_id": "`+c.id+`",
		"client_secret": "`+c.secret+`",
		"client_name": "Web app v2",
		"redirect_uris": ["https://web.example.com/cb2", "http://localhost:3000/cb"],
		"grant_types": ["authorization_code", "client_credentials"],
		"scope": "api:public",
		"client_uri": "https://web.example.com",
		"unknown_thing": 1
	}`)
	if r.Status != http.StatusOK {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	m := r.Object(t)
	if m["client_name"] != "Web app v2" || m["scope"] != "api:public" || m["client_uri"] != "https://web.example.com" ||
		m["registration_access_token"] != c.token || m["client_id"] != c.id {
		t.Errorf("PUT response: %s", r.Body)
	}
	if _, ok := m["client_secret"]; ok {
		t.Error("PUT shows the client secret")
	}
	if g := strs(m["grant_types"]); !reflect.DeepEqual(g, []string{"authorization_code", "client_credentials"}) {
		t.Errorf("grant_types = %v", g)
	}
	if got := e.do("GET", c.path, c.token, "").Object(t); fmt.Sprint(got) != fmt.Sprint(m) {
		t.Errorf("GET after PUT:\n got %v\nwant %v", got, m)
	}
	// The secret still works after the update.
	cfg := clientcredentials.Config{ClientID: c.id, ClientSecret: c.secret, TokenURL: e.URL + "/oauth2/token"}
	if _, err := cfg.Token(context.Background()); err != nil {
		t.Errorf("token after PUT: %v", err)
	}

	// Omitted values are reset to their defaults (a full replacement).
	r = e.do("PUT", c.path, c.token, `{"client_id":"`+c.id+`","redirect_uris":["https://web.example.com/cb"]}`)
	if r.Status != http.StatusOK {
		t.Fatalf("minimal PUT: %d %s", r.Status, r.Body)
	}
	m = r.Object(t)
	if m["client_name"] != register.DefaultClientName || m["scope"] != strings.Join(servertest.DefaultScopes, " ") ||
		fmt.Sprint(strs(m["grant_types"])) != "[authorization_code]" || m["client_uri"] != nil ||
		m["token_endpoint_auth_method"] != "client_secret_basic" {
		t.Errorf("minimal PUT did not reset to defaults: %s", r.Body)
	}
}

func TestManagementReplaceErrors(t *testing.T) {
	e := newEnv(t, register.ModeOpen)
	c := registerOne(t, e, acBody)
	pub := registerOne(t, e, `{"token_endpoint_auth_method":"none","redirect_uris":["http://127.0.0.1/cb"]}`)
	before := e.do("GET", c.path, c.token, "").String()
	id := `"client_id":"` + c.id + `"`
	cases := []struct {
		name, body string
		status     int
		code       string
	}{
		{"no client_id", `{"redirect_uris":["https://web.example.com/cb"]}`, 400, "invalid_client_metadata"},
		{"null client_id", `{"client_id":null,"redirect_uris":["https://web.example.com/cb"]}`, 400, "invalid_client_metadata"},
		{"client_id changed", `{"client_id":"someone-else","redirect_uris":["https://web.example.com/cb"]}`, 400, "invalid_client_metadata"},
		{"client_id a number", `{"client_id":5}`, 400, "invalid_client_metadata"},
		{"wrong client_secret", `{` + id + `,"client_secret":"wrong","redirect_uris":["https://web.example.com/cb"]}`, 400, "invalid_client_metadata"},
		{"client_secret a number", `{` + id + `,"client_secret":1,"redirect_uris":["https://web.example.com/cb"]}`, 400, "invalid_client_metadata"},
		{"registration_access_token", `{` + id + `,"registration_access_token":"` + c.token + `"}`, 400, "invalid_client_metadata"},
		{"registration_client_uri", `{` + id + `,"registration_client_uri":"x"}`, 400, "invalid_client_metadata"},
		{"client_id_issued_at", `{` + id + `,"client_id_issued_at":1}`, 400, "invalid_client_metadata"},
		{"client_secret_expires_at", `{` + id + `,"client_secret_expires_at":0}`, 400, "invalid_client_metadata"},
		{"bad redirect", `{` + id + `,"redirect_uris":["http://evil.example.com/cb"]}`, 400, "invalid_redirect_uri"},
		{"unknown grant", `{` + id + `,"redirect_uris":["https://web.example.com/cb"],"grant_types":["authorization_code","magic"]}`, 400, "invalid_client_metadata"},
		{"admin scope", `{` + id + `,"redirect_uris":["https://web.example.com/cb"],"scope":"clients:delete"}`, 400, "invalid_client_metadata"},
		{"to public", `{` + id + `,"redirect_uris":["https://web.example.com/cb"],"token_endpoint_auth_method":"none"}`, 400, "invalid_client_metadata"},
		{"jwks_uri", `{` + id + `,"redirect_uris":["https://web.example.com/cb"],"jwks_uri":"https://x.example.com"}`, 400, "invalid_client_metadata"},
		{"wrong type", `{` + id + `,"redirect_uris":"https://web.example.com/cb"}`, 400, "invalid_client_metadata"},
		{"duplicate", `{` + id + `,` + id + `}`, 400, "invalid_client_metadata"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do("PUT", c.path, c.token, tc.body), tc.status, tc.code)
		})
	}
	t.Run("public to confidential", func(t *testing.T) {
		r := e.do("PUT", pub.path, pub.token, `{"client_id":"`+pub.id+`","redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"client_secret_basic"}`)
		wantError(t, r, 400, "invalid_client_metadata")
		// Omitting the method keeps the client public.
		r = e.do("PUT", pub.path, pub.token, `{"client_id":"`+pub.id+`","redirect_uris":["http://127.0.0.1/cb2"]}`)
		if r.Status != http.StatusOK || r.Object(t)["token_endpoint_auth_method"] != "none" {
			t.Errorf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("a public client has no secret to present", func(t *testing.T) {
		r := e.do("PUT", pub.path, pub.token, `{"client_id":"`+pub.id+`","client_secret":"","redirect_uris":["http://127.0.0.1/cb"]}`)
		wantError(t, r, 400, "invalid_client_metadata")
	})
	if after := e.do("GET", c.path, c.token, "").String(); after != before {
		t.Errorf("rejected updates changed the client:\nbefore %s\nafter  %s", before, after)
	}
}

func TestManagementDelete(t *testing.T) {
	e := newEnv(t, register.ModeOpen)
	c := registerOne(t, e, `{"grant_types":["client_credentials"]}`)
	cfg := clientcredentials.Config{ClientID: c.id, ClientSecret: c.secret, TokenURL: e.URL + "/oauth2/token"}
	tok, err := cfg.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !e.introspect(tok.AccessToken) {
		t.Fatal("token inactive before delete")
	}
	r := e.do("DELETE", c.path, c.token, "")
	if r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("DELETE: %d %s", r.Status, r.Body)
	}
	if e.introspect(tok.AccessToken) {
		t.Error("the deleted client's token is still active")
	}
	if _, err := cfg.Token(context.Background()); err == nil {
		t.Error("the deleted client still gets tokens")
	}
	for _, method := range []string{"GET", "DELETE"} {
		if r := e.do(method, c.path, c.token, ""); r.Status != http.StatusUnauthorized {
			t.Errorf("%s after delete: %d, want 401", method, r.Status)
		}
	}
}

func TestAuditAndLogsHoldNoSecrets(t *testing.T) {
	e := newEnv(t, register.ModeOpen)
	c := registerOne(t, e, acBody)
	if r := e.do("PUT", c.path, c.token, `{"client_id":"`+c.id+`","client_secret":"`+c.secret+`","client_name":"Renamed","redirect_uris":["https://web.example.com/cb"]}`); r.Status != http.StatusOK {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	stored, err := e.App.Clients.Lookup(t.Context(), c.id)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.RegistrationTokenHash) == 0 {
		t.Fatal("no registration token hash stored")
	}
	if r := e.do("DELETE", c.path, c.token, ""); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.Status, r.Body)
	}
	evs, err := e.Store.ListAudit(t.Context(), audit.Filter{TargetID: stored.ID})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for i := len(evs) - 1; i >= 0; i-- { // oldest first
		actions = append(actions, evs[i].Action+" by "+evs[i].ActorSubject)
	}
	want := []string{audit.ClientCreate + " by " + client.DCRSubject, audit.ClientUpdate + " by " + c.id, audit.ClientDelete + " by " + c.id}
	if !reflect.DeepEqual(actions, want) {
		t.Errorf("audit trail = %v, want %v", actions, want)
	}
	forbidden := map[string]string{
		"client secret":                    c.secret,
		"registration access token":        c.token,
		"registration token hash (hex)":    hex.EncodeToString(stored.RegistrationTokenHash),
		"registration token hash (base64)": base64.StdEncoding.EncodeToString(stored.RegistrationTokenHash),
		"registration token hash (b64url)": base64.RawURLEncoding.EncodeToString(stored.RegistrationTokenHash),
		"secret hash (base64)":             base64.StdEncoding.EncodeToString(stored.Secrets[0].Hash),
	}
	for _, ev := range evs {
		for what, s := range forbidden {
			if strings.Contains(string(ev.Details), s) {
				t.Errorf("audit event %s contains the %s", ev.Action, what)
			}
		}
	}
	logs := e.Logs.String()
	if !strings.Contains(logs, `"client registered"`) {
		t.Error("registration was not logged")
	}
	for what, s := range forbidden {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain the %s", what)
		}
	}
}

// TestOpenModeScopes: nobody authenticated an open registration, so it may
// ask only for the default client scopes, at registration and later
// through RFC 7592; an initial access token lifts the limit.
func TestOpenModeScopes(t *testing.T) {
	// payments:write is defined, so open registration refuses it for
	// being outside the defaults, not for being undefined.
	withPayments := func(mode register.Mode) *env {
		return &env{Env: servertest.New(t, func(o *server.Options) {
			o.Registration, o.Scopes = mode, append(o.Scopes, "payments:write")
		}), t: t}
	}
	e := withPayments(register.ModeOpen)
	for _, scope := range []string{"payments:write", "openid payments:write", "admin superuser"} {
		body := `{"grant_types":["client_credentials"],"scope":"` + scope + `"}`
		r := e.do("POST", "/oauth2/register", "", body)
		if r.Status != 400 || r.Object(t)["error"] != "invalid_client_metadata" {
			t.Errorf("open registration with scope %q: %d %s", scope, r.Status, r.Body)
		}
	}
	m := e.register("", `{"grant_types":["client_credentials"],"scope":"api:public"}`)
	p := path(t, m["registration_client_uri"])
	tok := m["registration_access_token"].(string)
	r := e.do("PUT", p, tok, `{"client_id":"`+m["client_id"].(string)+`","grant_types":["client_credentials"],"scope":"payments:write"}`)
	if r.Status != 400 || r.Object(t)["error"] != "invalid_client_metadata" {
		t.Errorf("RFC 7592 replace widening an anonymous client's scopes: %d %s", r.Status, r.Body)
	}
	// With an initial access token, other non-admin scopes are fine.
	te := withPayments(register.ModeToken)
	te.register(te.TokenWith("clients:create"), `{"grant_types":["client_credentials"],"scope":"payments:write"}`)
}

// TestDisabledClientCannotManageItsRegistration: an admin suspended it.
func TestDisabledClientCannotManageItsRegistration(t *testing.T) {
	e := newEnv(t, register.ModeOpen)
	m := e.register("", ccBody)
	p := path(t, m["registration_client_uri"])
	tok := m["registration_access_token"].(string)
	c, err := e.App.Clients.Lookup(t.Context(), m["client_id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.App.Clients.SetEnabled(t.Context(), domain.Actor{Root: true}, c.ID, false); err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"GET", "PUT", "DELETE"} {
		body := ""
		if method == "PUT" {
			body = `{"client_id":"` + m["client_id"].(string) + `","grant_types":["client_credentials"]}`
		}
		if r := e.do(method, p, tok, body); r.Status != 401 {
			t.Errorf("%s by a disabled client: %d %s", method, r.Status, r.Body)
		}
	}
}

// A client may register for ES256 ID tokens; the choice is stored and
// reported, and a replace that omits it goes back to the RS256 default.
func TestIDTokenSignedResponseAlg(t *testing.T) {
	e := newEnv(t, register.ModeOpen)
	m := e.register("", `{"redirect_uris":["https://app.example.com/cb"],"id_token_signed_response_alg":"ES256"}`)
	if m["id_token_signed_response_alg"] != "ES256" {
		t.Fatalf("registered: %v", m["id_token_signed_response_alg"])
	}
	c, err := e.App.Clients.Lookup(t.Context(), m["client_id"].(string))
	if err != nil || c.IDTokenAlg != "ES256" {
		t.Errorf("stored %q, %v", c.IDTokenAlg, err)
	}
}

// An anonymous registration (open mode) may not ask for the password
// grant, neither at registration nor later by replacing its metadata
// (invalid_client_metadata, nothing stored); an authenticated one may.
func TestAnonymousNoPasswordGrant(t *testing.T) {
	e := newEnv(t, register.ModeOpen)
	before := e.CountClients()
	for _, body := range []string{
		`{"client_name":"Pw","grant_types":["password"],"scope":"api:public"}`,
		`{"client_name":"Pw","grant_types":["client_credentials","password"],"scope":"api:public"}`,
		`{"client_name":"Pw","grant_types":["password","password"]}`,
	} {
		r := e.do("POST", "/oauth2/register", "", body)
		wantError(t, r, http.StatusBadRequest, "invalid_client_metadata")
		if !strings.Contains(string(r.Body), "password") {
			t.Errorf("error does not name the password grant: %s", r.Body)
		}
	}
	if n := e.CountClients(); n != before {
		t.Fatalf("refused registrations created clients: %d → %d", before, n)
	}
	c := registerOne(t, e, ccBody)
	r := e.do("PUT", c.path, c.token, `{"client_id":"`+c.id+`","client_secret":"`+c.secret+`","client_name":"CC app","grant_types":["client_credentials","password"],"scope":"api:public"}`)
	wantError(t, r, http.StatusBadRequest, "invalid_client_metadata")
	if r := e.do("GET", c.path, c.token, ""); r.Status != http.StatusOK || fmt.Sprint(strs(r.Object(t)["grant_types"])) != "[client_credentials]" {
		t.Errorf("after the refused replace: %d %s", r.Status, r.Body)
	}

	// With a token (an admin registering), the password grant is allowed.
	te := newEnv(t, register.ModeToken)
	r = te.do("POST", "/oauth2/register", te.TokenWith("clients:create"), `{"client_name":"Pw","grant_types":["password"],"scope":"api:public"}`)
	if r.Status != http.StatusCreated || fmt.Sprint(strs(r.Object(t)["grant_types"])) != "[password]" {
		t.Errorf("authenticated registration with the password grant: %d %s", r.Status, r.Body)
	}
}
