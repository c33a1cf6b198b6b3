package server_test

import (
	"fmt"
	"net/http"
	"net/netip"
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

func openRegistration(a server.AnonymousClients) func(*server.Options) {
	return func(o *server.Options) {
		o.Registration = register.ModeOpen
		o.AnonymousClients = a
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}
}

func registerFrom(e *servertest.Env, source, body string) servertest.Response {
	return e.Do("POST", "/oauth2/register", "application/json", "", body, "X-Forwarded-For: "+source)
}

// TestAgentRegistration: open registration takes what MCP clients send:
// a public client (token_endpoint_auth_method none) with loopback
// redirect URIs, which then may use any port (RFC 8252 §7.3).
func TestAgentRegistration(t *testing.T) {
	e := servertest.New(t, openRegistration(server.AnonymousClients{}))
	for _, cb := range []string{"http://127.0.0.1:54321/callback", "http://[::1]:54321/callback", "http://localhost:54321/callback"} {
		r := registerFrom(e, "203.0.113.1", `{"client_name":"MCP Inspector","redirect_uris":["`+cb+`"],"token_endpoint_auth_method":"none",
			"grant_types":["authorization_code","refresh_token"],"response_types":["code"]}`)
		o := r.Object(t)
		if r.Status != http.StatusCreated || o["token_endpoint_auth_method"] != "none" || o["client_secret"] != nil {
			t.Fatalf("%s: %d %s", cb, r.Status, r.Body)
		}
		u, _ := url.Parse(cb)
		port := "60001"
		if u.Hostname() == "localhost" {
			port = u.Port() // a name is matched exactly, port included
		}
		u.Host = u.Hostname() + ":" + port
		if u.Hostname() == "::1" {
			u.Host = "[::1]:" + port
		}
		q := url.Values{"response_type": {"code"}, "client_id": {o["client_id"].(string)}, "redirect_uri": {u.String()},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
		if p := get(t, browser(t), e.URL+"/oauth2/authorize?"+q.Encode()); p.status != http.StatusOK {
			t.Errorf("%s: authorize with %s: %d", cb, u, p.status)
		}
	}
	// Not http for another host, and never a secret-less confidential client.
	for _, body := range []string{
		`{"redirect_uris":["http://agent.example.com/cb"],"token_endpoint_auth_method":"none"}`,
		`{"redirect_uris":["http://127.0.0.1:1/cb"],"token_endpoint_auth_method":"none","scope":"admin"}`,
	} {
		if r := registerFrom(e, "203.0.113.1", body); r.Status != http.StatusBadRequest || r.Object(t)["error"] != "invalid_client_metadata" && r.Object(t)["error"] != "invalid_redirect_uri" {
			t.Errorf("%s: %d %s", body, r.Status, r.Body)
		}
	}
}

const agentBody = `{"redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none"}`

func TestAgentRegistrationPerSource(t *testing.T) {
	e := servertest.New(t, openRegistration(server.AnonymousClients{PerSourcePerHour: 2}))
	for i := range 2 {
		if r := registerFrom(e, "203.0.113.7", agentBody); r.Status != http.StatusCreated {
			t.Fatalf("registration %d: %d %s", i, r.Status, r.Body)
		}
	}
	r := registerFrom(e, "203.0.113.7", agentBody)
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || r.Object(t)["error"] != "temporarily_unavailable" {
		t.Errorf("third registration: %d %v %s", r.Status, r.Header, r.Body)
	}
	if r := registerFrom(e, "203.0.113.8", agentBody); r.Status != http.StatusCreated {
		t.Errorf("another source: %d", r.Status)
	}
	e.Clock.Advance(time.Hour)
	if r := registerFrom(e, "203.0.113.7", agentBody); r.Status != http.StatusCreated {
		t.Errorf("an hour later: %d", r.Status)
	}
}

func TestAgentRegistrationCapAndExpiry(t *testing.T) {
	e := servertest.New(t, openRegistration(server.AnonymousClients{Max: 2, TTL: 30 * 24 * time.Hour}))
	var ids []string
	for i := range 2 {
		r := registerFrom(e, "203.0.113.9", agentBody)
		if r.Status != http.StatusCreated {
			t.Fatalf("registration %d: %d %s", i, r.Status, r.Body)
		}
		ids = append(ids, r.Object(t)["client_id"].(string))
	}
	r := registerFrom(e, "203.0.113.10", agentBody)
	if r.Status != http.StatusServiceUnavailable || r.Object(t)["error"] != "temporarily_unavailable" || r.Header.Get("Retry-After") == "" {
		t.Errorf("at the cap: %d %s", r.Status, r.Body)
	}
	// Clients made by an admin do not count toward the cap.
	if n := e.CountClients(); n < 2 {
		t.Fatalf("%d clients", n)
	}

	// 20 days on, the first client is used (an authorization that issues
	// a code); 31 days after registration only the unused one expires.
	e.Clock.Advance(20 * 24 * time.Hour)
	addAlice(t, e)
	issueCode(t, e, ids[0])
	e.Clock.Advance(11 * 24 * time.Hour)
	n, err := e.App.ExpireAnonymousClients(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("expired %d, %v; want 1", n, err)
	}
	if _, err := e.Store.GetClientByClientID(t.Context(), ids[1]); err == nil {
		t.Error("the unused client is still there")
	}
	if _, err := e.Store.GetClientByClientID(t.Context(), ids[0]); err != nil {
		t.Errorf("the used client was deleted: %v", err)
	}
	// Below the cap again, registration works.
	if r := registerFrom(e, "203.0.113.10", agentBody); r.Status != http.StatusCreated {
		t.Errorf("after expiry: %d %s", r.Status, r.Body)
	}
}

// TestAnonymousClientNoResourceWithoutUser: a client registered without
// authentication may hold a resource's scope (here mcp:tools, not a
// default scope), but cannot get a machine token for that resource:
// client_credentials with resource= is invalid_target. Without resource=
// it gets Latchkey's own audience, which the resource refuses; a client
// an admin registered still gets resource tokens.
func TestAnonymousClientNoResourceWithoutUser(t *testing.T) {
	e := servertest.New(t, openRegistration(server.AnonymousClients{}))
	registerResources(t, e)
	r := registerFrom(e, "203.0.113.9", `{"grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_basic","scope":"mcp:tools"}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	o := r.Object(t)
	basic := servertest.BasicAuth(o["client_id"].(string), o["client_secret"].(string))
	tok := func(auth string, form url.Values) servertest.Response {
		form.Set("grant_type", "client_credentials")
		return e.Do("POST", "/oauth2/token", "application/x-www-form-urlencoded", "", form.Encode(), "Authorization: "+auth)
	}
	oauthError(t, tok(basic, url.Values{"resource": {resA}}), http.StatusBadRequest, "invalid_target")
	own := tok(basic, url.Values{"scope": {"mcp:tools"}})
	if own.Status != http.StatusOK {
		t.Fatalf("without resource: %d %s", own.Status, own.Body)
	}
	if aud := claimsOf(t, own.Object(t)["access_token"].(string))["aud"]; aud == resA || fmt.Sprint(aud) == "["+resA+"]" {
		t.Errorf("an anonymous client's token is for the resource: aud %v", aud)
	}
	c, secret := e.ServiceClient("admin-made", "mcp:tools")
	if r := tok(servertest.BasicAuth(c.ClientID, secret.Expose()), url.Values{"resource": {resA}}); r.Status != http.StatusOK {
		t.Errorf("an admin-registered client: %d %s", r.Status, r.Body)
	}
}

// TestUntrustedClientErrorsNotRedirected: a client anybody could register
// (open registration) must not turn the authorization endpoint into an
// open redirector (RFC 9700 §4.11.2): an error found before the user took
// part, or a prompt=none refusal, is shown on a page naming the host, with
// no Location; once the user has acted (denied), the answer goes back to
// the client. An admin-registered client's errors are redirected as
// RFC 6749 §4.1.2.1 says.
func TestUntrustedClientErrorsNotRedirected(t *testing.T) {
	e := servertest.New(t, openRegistration(server.AnonymousClients{}))
	if _, err := e.App.Users.Create(t.Context(), userActor, user.CreateInput{Username: "alice", Password: alicePassword}); err != nil {
		t.Fatal(err)
	}
	const evil = "https://evil.example/landing"
	r := registerFrom(e, "203.0.113.7", `{"redirect_uris":["`+evil+`"],"token_endpoint_auth_method":"none"}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	anon := r.Object(t)["client_id"].(string)
	pkce := url.Values{"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
	authorize := func(clientID string, extra url.Values) page {
		q := url.Values{"client_id": {clientID}, "response_type": {"code"}, "state": {"s"}}
		for k, v := range pkce {
			q[k] = v
		}
		for k, v := range extra {
			q[k] = v
		}
		return get(t, browser(t), e.URL+"/oauth2/authorize?"+q.Encode())
	}
	for name, extra := range map[string]url.Values{
		"response_type=token": {"response_type": {"token"}},
		"no PKCE":             {"code_challenge": {""}, "code_challenge_method": {""}},
		"bad scope":           {"scope": {"admin"}},
		"prompt=none":         {"prompt": {"none"}},
		"request object":      {"request": {"x.y.z"}},
	} {
		p := authorize(anon, extra)
		if p.status != http.StatusBadRequest || p.header.Get("Location") != "" || !strings.Contains(p.body, "evil.example") {
			t.Errorf("%s: %d Location %q %.200s", name, p.status, p.header.Get("Location"), p.body)
		}
	}
	// The user denies: back to the client, as the user chose.
	b := browser(t)
	p := get(t, b, e.URL+"/oauth2/authorize?"+url.Values{"client_id": {anon}, "response_type": {"code"}, "state": {"s"},
		"code_challenge": pkce["code_challenge"], "code_challenge_method": {"S256"}}.Encode())
	action, form := formOf(t, p)
	form.Set("username", "alice")
	form.Set("password", alicePassword)
	p = post(t, b, e.URL+action, form)
	action, form = formOf(t, p)
	form.Set("consent", "deny")
	if q := location(t, post(t, b, e.URL+action, form), evil); q.Get("error") != "access_denied" {
		t.Errorf("denied: %v", q)
	}
	// An admin-registered client: redirected.
	c, _ := e.CreateClient(client.CreateInput{Name: "web", Type: client.Public, GrantTypes: []string{client.GrantAuthorizationCode},
		RedirectURIs: []string{loopbackCB}, AllowedScopes: []string{"openid"}})
	if q := location(t, authorize(c.ClientID, url.Values{"response_type": {"token"}}), loopbackCB); q.Get("error") != "unsupported_response_type" {
		t.Errorf("trusted client: %v", q)
	}
}
