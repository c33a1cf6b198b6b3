package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/postgres/pgtest"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/token"
	"github.com/latchkey/latchkey/internal/user"
)

const (
	spaOrigin   = "http://127.0.0.1:5173"
	otherOrigin = "https://other.example"
	evilOrigin  = "https://evil.example"
	form        = "application/x-www-form-urlencoded"
)

// corsEnv: a public SPA client listing spaOrigin, a confidential client
// listing otherOrigin, a user, and the client cache on (2 s).
type corsEnv struct {
	*servertest.Env
	spa, conf  client.Client
	confSecret client.Secret
	alice      user.User
}

func newCORSEnv(t *testing.T) *corsEnv {
	t.Helper()
	e := servertest.New(t, func(o *server.Options) { o.ClientCacheTTL = server.DefaultClientCacheTTL })
	alice, err := e.App.Users.Create(t.Context(), userActor, user.CreateInput{Username: "alice", Password: alicePassword})
	if err != nil {
		t.Fatal(err)
	}
	spa, _ := e.CreateClient(client.CreateInput{Name: "spa", Type: client.Public, GrantTypes: []string{client.GrantAuthorizationCode},
		RedirectURIs: []string{spaOrigin + "/cb"}, AllowedScopes: []string{"openid", "api:read"}, AllowedOrigins: []string{spaOrigin}})
	conf, secret := e.CreateClient(client.CreateInput{Name: "conf", GrantTypes: []string{client.GrantClientCredentials},
		AllowedScopes: []string{"api:read"}, AllowedOrigins: []string{otherOrigin}})
	return &corsEnv{Env: e, spa: spa, conf: conf, confSecret: secret, alice: alice}
}

func allowOrigin(r servertest.Response) string { return r.Header.Get("Access-Control-Allow-Origin") }

func hasNoCORS(t *testing.T, what string, h http.Header) {
	t.Helper()
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") {
			t.Errorf("%s: %s: %q, want no CORS headers", what, k, h.Values(k))
		}
	}
}

// TestCORSActualRequests: the calling client's allowed_origins decide, on
// successes and errors alike, at token (and its alias), revocation and
// userinfo; introspection never answers CORS.
func TestCORSActualRequests(t *testing.T) {
	e := newCORSEnv(t)
	basic := servertest.BasicAuth(e.conf.ClientID, e.confSecret.Expose())
	wrongBasic := servertest.BasicAuth(e.conf.ClientID, "wrong-secret")
	ccForm := "grant_type=client_credentials&scope=api%3Aread"
	spaForm := url.Values{"grant_type": {"authorization_code"}, "client_id": {e.spa.ClientID}, "code": {"nope"},
		"redirect_uri": {spaOrigin + "/cb"}, "code_verifier": {strings.Repeat("v", 43)}}.Encode()
	m, err := e.App.Issuer.Mint(t.Context(), token.Spec{Subject: e.alice.ID, ClientID: e.spa.ClientID, Scopes: []string{"openid"}})
	if err != nil {
		t.Fatal(err)
	}
	spaToken := m.Raw
	confToken := e.TokenWith("api:read") // another client's token, no openid

	tests := []struct {
		name, method, path, ctype, bearer, body, auth, origin string
		status                                                int
		allowed                                               bool
	}{
		{name: "token success, own origin", method: "POST", path: "/oauth2/token", ctype: form, auth: basic, body: ccForm, origin: otherOrigin, status: 200, allowed: true},
		{name: "alias success, own origin", method: "POST", path: "/openid/token", ctype: form, auth: basic, body: ccForm, origin: otherOrigin, status: 200, allowed: true},
		{name: "token success, another client's origin", method: "POST", path: "/oauth2/token", ctype: form, auth: basic, body: ccForm, origin: spaOrigin, status: 200},
		{name: "token success, unknown origin", method: "POST", path: "/oauth2/token", ctype: form, auth: basic, body: ccForm, origin: evilOrigin, status: 200},
		{name: "token wrong secret, own origin", method: "POST", path: "/oauth2/token", ctype: form, auth: wrongBasic, body: ccForm, origin: otherOrigin, status: 401, allowed: true},
		{name: "public client by client_id, bad code", method: "POST", path: "/oauth2/token", ctype: form, body: spaForm, origin: spaOrigin, status: 400, allowed: true},
		{name: "public client, another origin", method: "POST", path: "/oauth2/token", ctype: form, body: spaForm, origin: otherOrigin, status: 400},
		{name: "public client, alias", method: "POST", path: "/openid/token", ctype: form, body: spaForm, origin: spaOrigin, status: 400, allowed: true},
		{name: "unknown client_id", method: "POST", path: "/oauth2/token", ctype: form, body: "grant_type=authorization_code&client_id=nobody&code=x", origin: spaOrigin, status: 401},
		{name: "unsupported grant, public client", method: "POST", path: "/oauth2/token", ctype: form, body: "grant_type=urn%3Ax&client_id=" + e.spa.ClientID, origin: spaOrigin, status: 400, allowed: true},
		{name: "no client named, listed origin", method: "POST", path: "/oauth2/token", ctype: "text/plain", body: "x", origin: spaOrigin, status: 400, allowed: true},
		{name: "no client named, unknown origin", method: "POST", path: "/oauth2/token", ctype: "text/plain", body: "x", origin: evilOrigin, status: 400},
		{name: "revoke, own origin", method: "POST", path: "/oauth2/revoke", ctype: form, body: "token=junk&client_id=" + e.spa.ClientID, origin: spaOrigin, status: 200, allowed: true},
		{name: "revoke, other origin", method: "POST", path: "/oauth2/revoke", ctype: form, body: "token=junk&client_id=" + e.spa.ClientID, origin: otherOrigin, status: 200},
		{name: "userinfo GET, token's client origin", method: "GET", path: "/userinfo", bearer: spaToken, origin: spaOrigin, status: 200, allowed: true},
		{name: "userinfo POST, token's client origin", method: "POST", path: "/userinfo", bearer: spaToken, origin: spaOrigin, status: 200, allowed: true},
		{name: "userinfo, another client's origin", method: "GET", path: "/userinfo", bearer: spaToken, origin: otherOrigin, status: 200},
		{name: "userinfo, invalid token, listed origin", method: "GET", path: "/userinfo", bearer: "junk", origin: spaOrigin, status: 401, allowed: true},
		{name: "userinfo, invalid token, unknown origin", method: "GET", path: "/userinfo", bearer: "junk", origin: evilOrigin, status: 401},
		{name: "userinfo, no openid", method: "GET", path: "/userinfo", bearer: confToken, origin: otherOrigin, status: 403, allowed: true},
		{name: "introspection, own origin", method: "POST", path: "/oauth2/introspect", ctype: form, auth: basic, body: "token=junk", origin: otherOrigin, status: 200},
		{name: "introspection, bad secret", method: "POST", path: "/oauth2/introspect", ctype: form, auth: wrongBasic, body: "token=junk", origin: otherOrigin, status: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headers := []string{"Origin: " + tt.origin}
			if tt.auth != "" {
				headers = append(headers, "Authorization: "+tt.auth)
			}
			r := e.Do(tt.method, tt.path, tt.ctype, tt.bearer, tt.body, headers...)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r)
			}
			if !tt.allowed {
				hasNoCORS(t, tt.name, r.Header)
				return
			}
			if allowOrigin(r) != tt.origin || r.Header.Get("Vary") != "Origin" {
				t.Errorf("Allow-Origin %q Vary %q, want %q and Origin", allowOrigin(r), r.Header.Get("Vary"), tt.origin)
			}
		})
	}
}

// TestCORSPreflight: OPTIONS answers 204 at token, its alias, revocation
// and userinfo, with CORS headers only for an origin some enabled client
// lists; introspection has no preflight (405, no CORS).
func TestCORSPreflight(t *testing.T) {
	e := newCORSEnv(t)
	for _, tt := range []struct {
		path, origin, methods string
		allowed               bool
	}{
		{"/oauth2/token", spaOrigin, "POST", true},
		{"/oauth2/token", otherOrigin, "POST", true},
		{"/oauth2/token", evilOrigin, "POST", false},
		{"/oauth2/token", "null", "POST", false},
		{"/openid/token", spaOrigin, "POST", true},
		{"/oauth2/revoke", otherOrigin, "POST", true},
		{"/oauth2/revoke", evilOrigin, "POST", false},
		{"/userinfo", spaOrigin, "GET, POST", true},
		{"/userinfo", evilOrigin, "GET, POST", false},
	} {
		r := e.Do("OPTIONS", tt.path, "", "", "", "Origin: "+tt.origin, "Access-Control-Request-Method: POST",
			"Access-Control-Request-Headers: authorization, content-type, dpop")
		if r.Status != http.StatusNoContent || len(r.Body) != 0 {
			t.Errorf("OPTIONS %s from %s: %d %q, want 204", tt.path, tt.origin, r.Status, r)
			continue
		}
		if !tt.allowed {
			hasNoCORS(t, "OPTIONS "+tt.path+" from "+tt.origin, r.Header)
			continue
		}
		h := r.Header
		if allowOrigin(r) != tt.origin || h.Get("Access-Control-Allow-Methods") != tt.methods ||
			h.Get("Access-Control-Allow-Headers") != "Authorization, Content-Type, DPoP" || h.Get("Access-Control-Max-Age") == "" {
			t.Errorf("OPTIONS %s from %s: %v", tt.path, tt.origin, h)
		}
	}
	r := e.Do("OPTIONS", "/oauth2/introspect", "", "", "", "Origin: "+otherOrigin, "Access-Control-Request-Method: POST")
	if r.Status != http.StatusMethodNotAllowed {
		t.Errorf("OPTIONS /oauth2/introspect: %d", r.Status)
	}
	hasNoCORS(t, "OPTIONS /oauth2/introspect", r.Header)
}

// TestCORSOriginIndexFollowsChanges: a client change made on another node
// (straight to the store) reaches preflight answers within the client
// cache TTL; one made through this node at once.
func TestCORSOriginIndexFollowsChanges(t *testing.T) {
	e := newCORSEnv(t)
	preflight := func() bool {
		r := e.Do("OPTIONS", "/oauth2/token", "", "", "", "Origin: "+spaOrigin, "Access-Control-Request-Method: POST")
		return allowOrigin(r) == spaOrigin
	}
	if !preflight() {
		t.Fatal("listed origin refused")
	}
	// Another node disables the client: seen here within the TTL.
	if _, err := e.Store.UpdateClient(t.Context(), e.spa.ID, func(c client.Client) (client.Client, audit.Event, error) {
		c.Enabled = false
		return c, storetest.Event(audit.ClientUpdate, c.ID), nil
	}); err != nil {
		t.Fatal(err)
	}
	if !preflight() {
		t.Error("within the TTL the cached answer should stand")
	}
	e.Clock.Advance(server.DefaultClientCacheTTL)
	if preflight() {
		t.Error("after the client-cache TTL a client disabled elsewhere still passes preflight")
	}
	// Re-enabled through this node: at once.
	if _, err := e.App.Clients.SetEnabled(t.Context(), userActor, e.spa.ID, true); err != nil {
		t.Fatal(err)
	}
	if !preflight() {
		t.Error("re-enabled here, still refused")
	}
	// Its origins removed through this node: at once.
	none := []string{}
	if _, err := e.App.Clients.Update(t.Context(), userActor, e.spa.ID, client.Patch{AllowedOrigins: &none}, ""); err != nil {
		t.Fatal(err)
	}
	if preflight() {
		t.Error("origin removed here still passes preflight")
	}
}

// TestCORSPublicDocuments: discovery and the JWKS allow any origin.
func TestCORSPublicDocuments(t *testing.T) {
	e := newCORSEnv(t)
	for _, p := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server", "/.well-known/jwks.json"} {
		r := e.Do("GET", p, "", "", "", "Origin: "+evilOrigin)
		if r.Status != 200 || allowOrigin(r) != "*" {
			t.Errorf("GET %s: %d, Allow-Origin %q, want 200 and *", p, r.Status, allowOrigin(r))
		}
	}
}

// TestCORSNeverOnPages: the authorization endpoint and the pages (login,
// consent, logout) never answer CORS, whatever the method, even to an
// origin a client lists.
func TestCORSNeverOnPages(t *testing.T) {
	e := newCORSEnv(t)
	q := url.Values{"response_type": {"code"}, "client_id": {e.spa.ClientID}, "redirect_uri": {spaOrigin + "/cb"},
		"scope": {"openid"}, "code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"}}.Encode()
	for _, p := range []string{"/oauth2/authorize?" + q, "/oauth2/authorize", "/oauth2/logout"} {
		for _, m := range []string{"GET", "POST", "OPTIONS"} {
			var r servertest.Response
			if m == "POST" {
				r = e.Do(m, p, form, "", "username=alice&password=x", "Origin: "+spaOrigin)
			} else {
				r = e.Do(m, p, "", "", "", "Origin: "+spaOrigin, "Access-Control-Request-Method: POST")
			}
			if r.Status == 0 {
				t.Fatalf("%s %s: no answer", m, p)
			}
			hasNoCORS(t, m+" "+p, r.Header)
		}
	}
}

// TestCORSOriginIndexTwoNodesPostgres: two nodes on one PostgreSQL. A
// client created on node A is allowed in node B's preflights once B's
// cached "no" expires; disabling it on A reaches B's preflights within
// B's client-cache TTL; the actual request on B is judged by the client.
func TestCORSOriginIndexTwoNodesPostgres(t *testing.T) {
	dsn := pgtest.FreshDSN(t)
	node := func() *servertest.Env {
		st, err := postgres.Open(t.Context(), dsn, postgres.Options{MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return servertest.New(t, func(o *server.Options) { o.Store = st; o.ClientCacheTTL = server.DefaultClientCacheTTL })
	}
	a, b := node(), node()
	const origin = "https://spa.example"
	preflight := func(e *servertest.Env) bool {
		r := e.Do("OPTIONS", "/oauth2/token", "", "", "", "Origin: "+origin, "Access-Control-Request-Method: POST")
		return r.Status == http.StatusNoContent && allowOrigin(r) == origin
	}
	if preflight(b) {
		t.Fatal("no client yet, but B allows the origin")
	}
	spa, _ := a.CreateClient(client.CreateInput{Name: "spa", Type: client.Public, GrantTypes: []string{client.GrantAuthorizationCode},
		RedirectURIs: []string{origin + "/cb"}, AllowedScopes: []string{"openid"}, AllowedOrigins: []string{origin}})
	if !preflight(a) {
		t.Error("A refuses the origin of a client it just created")
	}
	if preflight(b) {
		t.Error("B's cached answer should stand within its TTL")
	}
	b.Clock.Advance(server.DefaultClientCacheTTL)
	if !preflight(b) {
		t.Fatal("after its TTL B still refuses the new client's origin")
	}
	if _, err := a.App.Clients.SetEnabled(t.Context(), userActor, spa.ID, false); err != nil {
		t.Fatal(err)
	}
	if preflight(a) {
		t.Error("A allows the origin of a client it just disabled")
	}
	b.Clock.Advance(server.DefaultClientCacheTTL)
	if preflight(b) {
		t.Error("after its TTL B still allows a client disabled on A")
	}
	r := b.Do("POST", "/oauth2/token", form, "", "grant_type=authorization_code&code=x&client_id="+spa.ClientID, "Origin: "+origin)
	if allowOrigin(r) != "" {
		t.Errorf("B answered a disabled client's origin: %d %v", r.Status, r.Header)
	}
}
