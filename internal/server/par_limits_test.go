package server_test

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/oauth2/par"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
)

// TestPARKeepsRepeatedResources: a request pushed with two resource
// values keeps both through the login and consent pages (which carry a
// continuation, not the parameters): the token's aud names both.
func TestPARKeepsRepeatedResources(t *testing.T) {
	e := newPAREnv(t)
	registerResources(t, e.Env)
	web, secret := e.CreateClient(client.CreateInput{Name: "web-res", GrantTypes: []string{client.GrantAuthorizationCode},
		RedirectURIs: []string{webCB}, AllowedScopes: []string{"openid", "mcp:tools", "b:read"}})
	verifier := oauth2.GenerateVerifier()
	params := e.pushParams(oauth2.S256ChallengeFromVerifier(verifier), "scope", "openid mcp:tools b:read")
	params["resource"] = []string{resA, resB}
	uri := requestURI(t, e.Do("POST", "/oauth2/par", "application/x-www-form-urlencoded", "", params.Encode(),
		"Authorization: "+servertest.BasicAuth(web.ClientID, secret.Expose())))
	b := browser(t)
	action, form := formOf(t, get(t, b, authorizeURI(e, web.ClientID, uri)))
	if form.Has("resource") {
		t.Fatalf("login page carries the parameters: %v", form)
	}
	form.Set("username", "alice")
	form.Set("password", alicePassword)
	consent := post(t, b, e.URL+action, form)
	action, cform := formOf(t, consent)
	if consent.status != http.StatusOK || !strings.Contains(consent.body, `name="consent"`) {
		t.Fatalf("consent page %d: %.400s", consent.status, consent.body)
	}
	cform.Set("consent", "allow")
	q := location(t, post(t, b, e.URL+action, cform), webCB)
	conf := oauth2.Config{ClientID: web.ClientID, ClientSecret: secret.Expose(), RedirectURL: webCB,
		Endpoint: oauth2.Endpoint{TokenURL: e.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}}
	tok, err := conf.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if aud := audOf(t, tok.AccessToken); aud != resA+" "+resB {
		t.Errorf("token aud %q, want both resources %q", aud, resA+" "+resB)
	}
}

// TestPAROtherClientLeavesRequest: another client's attempt to use a
// pushed request_uri is refused and changes nothing: the owner can still
// use it, once.
func TestPAROtherClientLeavesRequest(t *testing.T) {
	e := newPAREnv(t)
	uri := requestURI(t, e.push(t, e.pushParams(oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier()))))
	for _, other := range []string{e.app.ClientID, "nobody", e.web.ClientID + "x"} {
		if p := get(t, browser(t), authorizeURI(e, other, uri)); p.status != http.StatusBadRequest || p.header.Get("Location") != "" {
			t.Errorf("request_uri used by %s: %d %q", other, p.status, p.header.Get("Location"))
		}
	}
	if p := get(t, browser(t), authorizeURI(e, e.web.ClientID, uri)); p.status != http.StatusOK || !strings.Contains(p.body, `name="password"`) {
		t.Errorf("owner's use after another client's attempt: %d %.300s", p.status, p.body)
	}
	if p := get(t, browser(t), authorizeURI(e, e.web.ClientID, uri)); p.status != http.StatusBadRequest {
		t.Errorf("second use by the owner: %d", p.status)
	}
}

// tooMany checks an RFC 9126 §2.3 429 answer.
func tooMany(t *testing.T, what string, status int, body map[string]any, retryAfter string) {
	t.Helper()
	if status != http.StatusTooManyRequests || body["error"] != "invalid_request" || body["error_description"] == "" || retryAfter != "60" {
		t.Errorf("%s: %d %v Retry-After %q; want 429 invalid_request, Retry-After 60", what, status, body, retryAfter)
	}
}

// TestPARCaps: live pushed requests are capped per client, and for
// clients authenticating with none per source address (across clients);
// at a cap the push is 429 with Retry-After and nothing is stored; used
// or expired requests free their place. A body beyond the form limit is
// 413.
func TestPARCaps(t *testing.T) {
	e := newPAREnv(t, func(o *server.Options) { o.PushedRequestLimits = par.Limits{PerClient: 4, PerSource: 3} })
	challenge := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())
	other, _ := e.CreateClient(client.CreateInput{Name: "native2", Type: client.Public, GrantTypes: []string{client.GrantAuthorizationCode},
		RedirectURIs: []string{loopbackCB}, AllowedScopes: []string{"openid"}})
	pushPublic := func(clientID string) (int, map[string]any, string) {
		r := e.Do("POST", "/oauth2/par", "application/x-www-form-urlencoded", "", url.Values{"client_id": {clientID}, "response_type": {"code"},
			"redirect_uri": {appCB}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}.Encode())
		return r.Status, r.Object(t), r.Header.Get("Retry-After")
	}
	// Per source: two public clients share the address's budget of 3.
	var first string
	for i, id := range []string{e.app.ClientID, e.app.ClientID, other.ClientID} {
		status, body, _ := pushPublic(id)
		if status != http.StatusCreated {
			t.Fatalf("public push %d: %d %v", i, status, body)
		}
		if i == 0 {
			first = body["request_uri"].(string)
		}
	}
	status, body, ra := pushPublic(other.ClientID)
	tooMany(t, "public push beyond the source's cap", status, body, ra)
	// Using one turns it into the login page's continuation, which takes
	// its place: the page is shown, the budget stays full.
	if p := get(t, browser(t), authorizeURI(e, e.app.ClientID, first)); p.status != http.StatusOK {
		t.Fatalf("using a pushed request at the cap: %d %.300s", p.status, p.body)
	}
	status, body, ra = pushPublic(e.app.ClientID)
	tooMany(t, "public push after a continuation", status, body, ra)

	// Per client: the confidential client is not held to the source's
	// cap, only to its own 4.
	for range 4 {
		requestURI(t, e.push(t, e.pushParams(challenge)))
	}
	r := e.push(t, e.pushParams(challenge))
	tooMany(t, "confidential push beyond the client's cap", r.Status, r.Object(t), r.Header.Get("Retry-After"))

	// Once the pushed requests expire their places are free; the login
	// page's continuation lives on (15 minutes) and still counts.
	e.Clock.Advance(par.Lifetime + time.Second)
	requestURI(t, e.push(t, e.pushParams(challenge)))
	for range 2 {
		if status, body, _ := pushPublic(other.ClientID); status != http.StatusCreated {
			t.Fatalf("public push after expiry: %d %v", status, body)
		}
	}
	status, body, ra = pushPublic(other.ClientID)
	tooMany(t, "public push with the continuation still live", status, body, ra)

	// The whole push is bounded: 413 beyond the form limit.
	big := e.pushParams(challenge, "state", strings.Repeat("s", 17<<10))
	if r := e.push(t, big); r.Status != http.StatusRequestEntityTooLarge || r.Object(t)["error"] != "invalid_request" {
		t.Errorf("oversized push: %d %s", r.Status, r.Body)
	}
}

// TestPARContinuationCountsForTheBrowser: for a client authenticating
// with none, the login page's continuation counts against the browser's
// address; at that address's cap the page is 429 and nothing is stored.
func TestPARContinuationCountsForTheBrowser(t *testing.T) {
	e := newPAREnv(t, func(o *server.Options) {
		o.PushedRequestLimits = par.Limits{PerSource: 2}
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	})
	challenge := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())
	pushFrom := func(source string) string {
		t.Helper()
		return requestURI(t, e.Do("POST", "/oauth2/par", "application/x-www-form-urlencoded", "", url.Values{"client_id": {e.app.ClientID}, "response_type": {"code"},
			"redirect_uri": {appCB}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}.Encode(), "X-Forwarded-For: "+source))
	}
	openFrom := func(source, uri string) page {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, authorizeURI(e, e.app.ClientID, uri), nil)
		req.Header.Set("X-Forwarded-For", source)
		return fetch(t, browser(t), req)
	}
	const pusher, browserAddr = "198.51.100.1", "198.51.100.2"
	uri := pushFrom(pusher)
	pushFrom(browserAddr)
	pushFrom(browserAddr)
	p := openFrom(browserAddr, uri)
	if p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "Too many sign-in requests") || strings.Contains(p.body, "request_uri") {
		t.Errorf("login page at the browser's cap: %d %.300s", p.status, p.body)
	}
	// From an address with room the same flow works (with a fresh push:
	// the first was spent).
	if p := openFrom("198.51.100.3", pushFrom(pusher)); p.status != http.StatusOK {
		t.Errorf("login page from another address: %d %.300s", p.status, p.body)
	}
}
