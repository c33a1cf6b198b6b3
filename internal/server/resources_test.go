package server_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/resource"
	"github.com/latchkey/latchkey/internal/server/servertest"
	"github.com/latchkey/latchkey/internal/token"
)

const (
	resA = "https://tools.example.com/mcp"
	resB = "https://other.example.com/api"
)

// registerResources registers resource A (scope mcp:tools, 5 min tokens)
// and B (scope b:read, 10 min) through the core.
func registerResources(t *testing.T, e *servertest.Env) {
	t.Helper()
	for _, in := range []resource.CreateInput{
		{Identifier: resA, Name: "Tools", Scopes: []string{"mcp:tools"}, AccessTokenTTL: 5 * time.Minute},
		{Identifier: resB, Name: "Other", Scopes: []string{"b:read"}, AccessTokenTTL: 10 * time.Minute},
	} {
		if _, err := e.App.Resources.Create(t.Context(), domain.Actor{Root: true}, in); err != nil {
			t.Fatal(err)
		}
	}
}

// claimsOf decodes a JWT's payload without verifying it.
func claimsOf(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func audOf(t *testing.T, raw string) string {
	t.Helper()
	switch a := claimsOf(t, raw)["aud"].(type) {
	case string:
		return a
	case []any:
		var s []string
		for _, x := range a {
			s = append(s, fmt.Sprint(x))
		}
		return strings.Join(s, " ")
	}
	return ""
}

func TestAdminResources(t *testing.T) {
	e := servertest.New(t)
	admin := e.TokenWith("resources:create", "resources:read", "resources:update", "resources:delete")
	const js = "application/json"

	// Scopes are required, per route.
	readOnly := e.TokenWith("resources:read")
	if r := e.Do("POST", "/v1/admin/resources", js, readOnly, `{"identifier":"https://a.example/","name":"A"}`); r.Status != http.StatusForbidden {
		t.Errorf("create with resources:read: %d %s", r.Status, r.Body)
	}
	if r := e.Do("GET", "/v1/admin/resources", "", "", ""); r.Status != http.StatusUnauthorized {
		t.Errorf("no token: %d", r.Status)
	}

	r := e.Do("POST", "/v1/admin/resources", js, admin, `{"identifier":"HTTPS://Tools.Example.com/mcp","name":"Tools","scopes":["mcp:tools","mcp:tools","a:b"],"access_token_ttl":300}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	res := r.Object(t)["resource"].(map[string]any)
	id := res["id"].(string)
	if res["identifier"] != resA || fmt.Sprint(res["scopes"]) != "[a:b mcp:tools]" || res["access_token_ttl"] != float64(300) || sortedKeys(res) != "access_token_ttl,created_at,id,identifier,name,scopes,updated_at" {
		t.Errorf("created %v", res)
	}
	for _, tt := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"identifier":"https://tools.EXAMPLE.com/mcp","name":"dup"}`, http.StatusConflict, "conflict"},
		{`{"identifier":"https://x.example/#frag","name":"x"}`, http.StatusBadRequest, "invalid_request"},
		{`{"identifier":"relative/path","name":"x"}`, http.StatusBadRequest, "invalid_request"},
		{`{"name":"x"}`, http.StatusBadRequest, "invalid_request"},
		{`{"identifier":"https://x.example/"}`, http.StatusBadRequest, "invalid_request"},
		{`{"identifier":"https://x.example/","name":"x","scopes":["bad scope"]}`, http.StatusBadRequest, "invalid_request"},
		{`{"identifier":"https://x.example/","name":"x","access_token_ttl":-1}`, http.StatusBadRequest, "invalid_request"},
		{`{"identifier":"https://x.example/","name":"x","access_token_ttl":86401}`, http.StatusBadRequest, "invalid_request"},
		{`{"identifier":"https://x.example/","name":"x","id":"mine"}`, http.StatusBadRequest, ""},
		{`{"identifier":"https://x.example/","name":"x","extra":1}`, http.StatusBadRequest, ""},
		{`{"identifier":"https://x.example/","name":"x","identifier":"https://y.example/"}`, http.StatusBadRequest, ""},
		{"{\"identifier\":\"https://x.example/\",\"name\":\"\xff\"}", http.StatusBadRequest, ""},
	} {
		r := e.Do("POST", "/v1/admin/resources", js, admin, tt.body)
		if r.Status != tt.status || tt.code != "" && r.Object(t)["error"] != tt.code {
			t.Errorf("POST %s: %d %s, want %d %s", tt.body, r.Status, r.Body, tt.status, tt.code)
		}
	}
	if r := e.Do("GET", "/v1/admin/resources/"+id, "", admin, ""); r.Status != http.StatusOK || r.Object(t)["resource"].(map[string]any)["name"] != "Tools" {
		t.Errorf("get: %d %s", r.Status, r.Body)
	}
	if r := e.Do("GET", "/v1/admin/resources/nope", "", admin, ""); r.Status != http.StatusNotFound {
		t.Errorf("get unknown: %d", r.Status)
	}
	r = e.Do("PATCH", "/v1/admin/resources/"+id, "application/merge-patch+json", admin, `{"name":"Renamed","scopes":null,"access_token_ttl":null}`)
	if got := r.Object(t)["resource"]; r.Status != http.StatusOK || got.(map[string]any)["name"] != "Renamed" ||
		fmt.Sprint(got.(map[string]any)["scopes"]) != "[]" || got.(map[string]any)["access_token_ttl"] != float64(0) {
		t.Errorf("patch: %d %s", r.Status, r.Body)
	}
	for body, want := range map[string]int{`{"name":null}`: 400, `{"id":"x"}`: 400, `{"identifier":"urn:"}`: 400, `{"access_token_ttl":-5}`: 400} {
		if r := e.Do("PATCH", "/v1/admin/resources/"+id, "application/merge-patch+json", admin, body); r.Status != want {
			t.Errorf("PATCH %s: %d %s", body, r.Status, r.Body)
		}
	}
	// Pages.
	for i := range 3 {
		if r := e.Do("POST", "/v1/admin/resources", js, admin, fmt.Sprintf(`{"identifier":"urn:example:%d","name":"n%d"}`, i, i)); r.Status != 201 {
			t.Fatal(r.String())
		}
	}
	var all []string
	for next := "/v1/admin/resources?limit=3"; next != ""; {
		r := e.Do("GET", next, "", readOnly, "")
		if r.Status != http.StatusOK {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		var page struct {
			Resources  []struct{ Identifier string }
			NextCursor *string `json:"next_cursor"`
		}
		_ = json.Unmarshal(r.Body, &page)
		for _, x := range page.Resources {
			all = append(all, x.Identifier)
		}
		next = ""
		if page.NextCursor != nil {
			next = "/v1/admin/resources?limit=3&cursor=" + url.QueryEscape(*page.NextCursor)
		}
	}
	if strings.Join(all, " ") != resA+" urn:example:0 urn:example:1 urn:example:2" {
		t.Errorf("listed %v", all)
	}
	if r := e.Do("GET", "/v1/admin/resources?bogus=1", "", admin, ""); r.Status != http.StatusBadRequest {
		t.Errorf("unknown query parameter: %d", r.Status)
	}
	if r := e.Do("DELETE", "/v1/admin/resources/"+id, "", admin, ""); r.Status != http.StatusNoContent {
		t.Errorf("delete: %d %s", r.Status, r.Body)
	}
	if r := e.Do("DELETE", "/v1/admin/resources/"+id, "", admin, ""); r.Status != http.StatusNotFound {
		t.Errorf("delete again: %d", r.Status)
	}
	for action, want := range map[string]int{resource.AuditCreate: 4, resource.AuditUpdate: 1, resource.AuditDelete: 1} {
		evs, err := e.Store.ListAudit(t.Context(), audit.Filter{Action: action})
		if err != nil || len(evs) != want {
			t.Errorf("%s events: %d, %v; want %d", action, len(evs), err, want)
		}
	}
}

// The bootstrap admin holds the resources scopes, and only an admin
// scope holder may hand them on.
func TestResourceScopesAreAdminScopes(t *testing.T) {
	for _, sc := range []string{"resources:create", "resources:read", "resources:update", "resources:delete"} {
		if !slices.Contains(client.AdminScopes, sc) || !client.IsAdminScope(sc) {
			t.Errorf("%s is not an admin scope", sc)
		}
	}
}

func tokenRequest(e *servertest.Env, id, secret string, form url.Values) servertest.Response {
	return e.Do("POST", "/oauth2/token", "application/x-www-form-urlencoded", "", form.Encode(), "Authorization: "+servertest.BasicAuth(id, secret))
}

func TestClientCredentialsWithResource(t *testing.T) {
	e := servertest.New(t)
	registerResources(t, e)
	// Resource scopes are defined by the resources: a client may hold them.
	c, secret := e.ServiceClient("svc", "mcp:tools", "b:read", "api:read")
	cc := func(extra string) servertest.Response {
		form, _ := url.ParseQuery("grant_type=client_credentials&" + extra)
		return tokenRequest(e, c.ClientID, secret.Expose(), form)
	}
	r := cc("resource=" + url.QueryEscape("HTTPS://TOOLS.example.com/mcp"))
	tok := r.Object(t)
	if r.Status != 200 || tok["scope"] != "mcp:tools" || tok["expires_in"] != float64(300) {
		t.Fatalf("token for A: %d %s", r.Status, r.Body)
	}
	at := tok["access_token"].(string)
	if got := audOf(t, at); got != resA {
		t.Errorf("aud %q, want %q", got, resA)
	}
	r = cc("scope=mcp:tools+b:read+api:read&resource=" + url.QueryEscape(resA) + "&resource=" + url.QueryEscape(resB))
	if tok := r.Object(t); r.Status != 200 || tok["scope"] != "mcp:tools b:read" || tok["expires_in"] != float64(300) ||
		audOf(t, tok["access_token"].(string)) != resA+" "+resB {
		t.Errorf("token for A and B: %d %s", r.Status, r.Body)
	}
	// Without a resource: today's token (the issuer as audience).
	r = cc("")
	if tok := r.Object(t); r.Status != 200 || tok["scope"] != "mcp:tools b:read api:read" || audOf(t, tok["access_token"].(string)) != e.URL {
		t.Errorf("no resource: %d %s", r.Status, r.Body)
	}
	for _, bad := range []string{
		"resource=" + url.QueryEscape("https://unknown.example.com/"),
		"resource=" + url.QueryEscape(resA+"#frag"),
		"resource=relative",
		"resource=" + url.QueryEscape(resA) + "&resource=" + url.QueryEscape("https://unknown.example.com/"),
		"resource=" + url.QueryEscape("https://tools.example.com/\xff"),
		strings.Repeat("resource=urn:a&", resource.MaxPerRequest+1),
	} {
		r := cc(bad)
		if r.Status != http.StatusBadRequest || r.Object(t)["error"] != "invalid_target" {
			t.Errorf("%s: %d %s, want 400 invalid_target", bad, r.Status, r.Body)
		}
	}
	// Other parameters still may not repeat.
	if r := cc("scope=a&scope=b&resource=" + url.QueryEscape(resA)); r.Status != 400 || r.Object(t)["error"] != "invalid_request" {
		t.Errorf("repeated scope: %d %s", r.Status, r.Body)
	}

	// Introspection and revocation accept a resource's token; the admin
	// API and userinfo do not.
	introspect := func(raw string) map[string]any {
		r := e.Do("POST", "/oauth2/introspect", "application/x-www-form-urlencoded", "", "token="+raw, "Authorization: "+servertest.BasicAuth(c.ClientID, secret.Expose()))
		return r.Object(t)
	}
	if got := introspect(at); got["active"] != true || fmt.Sprint(got["aud"]) != "["+resA+"]" || got["scope"] != "mcp:tools" {
		t.Errorf("introspection of a resource token: %v", got)
	}
	adminish, err := e.App.Issuer.Mint(t.Context(), token.Spec{Subject: c.ClientID, ClientID: c.ClientID, Scopes: []string{"resources:read"}, Audience: []string{resA}})
	if err != nil {
		t.Fatal(err)
	}
	if r := e.Do("GET", "/v1/admin/resources", "", adminish.Raw, ""); r.Status != http.StatusUnauthorized {
		t.Errorf("admin API took a resource token: %d %s", r.Status, r.Body)
	}
	if r := e.Do("GET", "/userinfo", "", at, ""); r.Status != http.StatusUnauthorized {
		t.Errorf("userinfo took a resource token: %d %s", r.Status, r.Body)
	}
	// A token for an audience that is no registered resource is inactive.
	stray, _ := e.App.Issuer.Mint(t.Context(), token.Spec{Subject: c.ClientID, ClientID: c.ClientID, Audience: []string{"https://stray.example/"}})
	if got := introspect(stray.Raw); got["active"] != false {
		t.Errorf("stray audience introspected active: %v", got)
	}
	if r := e.Do("POST", "/oauth2/revoke", "application/x-www-form-urlencoded", "", "token="+at, "Authorization: "+servertest.BasicAuth(c.ClientID, secret.Expose())); r.Status != 200 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if got := introspect(at); got["active"] != false {
		t.Errorf("revoked resource token still active: %v", got)
	}
	// Deleting the resource makes its tokens inactive at introspection.
	r = cc("resource=" + url.QueryEscape(resB))
	bTok := r.Object(t)["access_token"].(string)
	rs, _ := e.App.Resources.List(t.Context(), resource.Page{Limit: 10})
	for _, x := range rs {
		if x.Identifier == resB {
			if err := e.App.Resources.Delete(t.Context(), domain.Actor{Root: true}, x.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := introspect(bTok); got["active"] != false {
		t.Errorf("token of a deleted resource still active: %v", got)
	}
}

// The authorization code flow with resource: the code keeps the
// resources; the token request may narrow them, never widen.
func TestAuthorizeWithResource(t *testing.T) {
	e := newSigninEnv(t, true)
	registerResources(t, e.Env)
	app, _ := e.CreateClient(client.CreateInput{Name: "Agent", Type: client.Public, GrantTypes: []string{client.GrantAuthorizationCode},
		RedirectURIs: []string{loopbackCB}, AllowedScopes: []string{"openid", "mcp:tools", "b:read"}, FirstParty: true})
	cfg := e.config
	cfg.ClientID, cfg.Scopes = app.ClientID, []string{"openid", "mcp:tools", "b:read"}
	verifier := oauth2.GenerateVerifier()
	authURL := func(state string, resources ...string) string {
		u := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
		for _, r := range resources {
			u += "&resource=" + url.QueryEscape(r)
		}
		return u
	}
	codeFor := func(resources ...string) string {
		q := location(t, signIn(t, e, browser(t), authURL("s", resources...)), appCB)
		if q.Get("code") == "" {
			t.Fatalf("no code: %v", q)
		}
		return q.Get("code")
	}
	exchange := func(code string, resources ...string) (*oauth2.Token, error) {
		opts := []oauth2.AuthCodeOption{oauth2.VerifierOption(verifier)}
		if len(resources) > 0 {
			opts = append(opts, oauth2.SetAuthURLParam("resource", resources[0]))
		}
		return cfg.Exchange(t.Context(), code, opts...)
	}

	// Both resources at authorize (B's host in upper case: canonicalised);
	// no resource at the token endpoint: the token is for both.
	tok, err := exchange(codeFor(resA, "https://OTHER.example.com/api"))
	if err != nil {
		t.Fatal(err)
	}
	if audOf(t, tok.AccessToken) != resA+" "+resB || tok.Extra("scope") != "mcp:tools b:read" || tok.Extra("id_token") == nil {
		t.Errorf("token aud %q scope %v", audOf(t, tok.AccessToken), tok.Extra("scope"))
	}
	// Narrowed to B at the token endpoint.
	tok, err = exchange(codeFor(resA, resB), resB)
	if err != nil || audOf(t, tok.AccessToken) != resB || tok.Extra("scope") != "b:read" || tok.Expiry.Sub(time.Now()) > 11*time.Minute {
		t.Errorf("narrowed: %v %v", tok, err)
	}
	// Widening is invalid_target: to a resource the code was not for, or
	// to any resource for a code issued without one.
	for _, tt := range []struct {
		at  []string
		tok string
	}{{[]string{resA}, resB}, {nil, resA}} {
		_, err = exchange(codeFor(tt.at...), tt.tok)
		if re := (*oauth2.RetrieveError)(nil); !errors.As(err, &re) || re.ErrorCode != "invalid_target" || re.Response.StatusCode != 400 {
			t.Errorf("widening %v to %s: %v, want invalid_target", tt.at, tt.tok, err)
		}
	}
	// Unregistered or malformed at authorize: invalid_target back to the
	// client, with state and iss.
	for _, bad := range []string{"https://unknown.example.com/", resA + "#x", "not-absolute"} {
		q := location(t, get(t, browser(t), authURL("st", bad)), appCB)
		if q.Get("error") != "invalid_target" || q.Get("state") != "st" || q.Get("iss") != e.URL || q.Has("code") {
			t.Errorf("authorize with %s: %v", bad, q)
		}
	}
}

// The resources survive the login and consent pages (hidden fields, the
// parameter repeated).
func TestResourceSurvivesConsent(t *testing.T) {
	e := newSigninEnv(t, false)
	registerResources(t, e.Env)
	app, _ := e.CreateClient(client.CreateInput{Name: "Agent", Type: client.Public, GrantTypes: []string{client.GrantAuthorizationCode},
		RedirectURIs: []string{loopbackCB}, AllowedScopes: []string{"mcp:tools", "b:read"}})
	cfg := e.config
	cfg.ClientID, cfg.Scopes = app.ClientID, []string{"mcp:tools", "b:read"}
	verifier := oauth2.GenerateVerifier()
	b := browser(t)
	authURL := cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)) + "&resource=" + url.QueryEscape(resA) + "&resource=" + url.QueryEscape(resB)
	consent := signIn(t, e, b, authURL)
	action, form := formOf(t, consent)
	if len(form["resource"]) != 2 {
		t.Fatalf("consent page carries resources %v", form["resource"])
	}
	form.Set("consent", "allow")
	q := location(t, post(t, b, e.URL+action, form), appCB)
	tok, err := cfg.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil || audOf(t, tok.AccessToken) != resA+" "+resB {
		t.Errorf("after consent: %v %v", tok, err)
	}
}
