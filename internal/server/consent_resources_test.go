package server_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/resource"
)

// resPayroll is a third resource that defines the same scope as resA
// (mcp:tools): the confused deputy's target. Its name is hostile HTML.
const resPayroll = "https://payroll.example.com/mcp"

// consentResourcesEnv is a signin env with resources A, B and Payroll, and
// a public (not first-party) agent that may ask for all their scopes.
type consentResourcesEnv struct {
	*signinEnv
	agent client.Client
	b     *http.Client
}

func newConsentResourcesEnv(t *testing.T) *consentResourcesEnv {
	t.Helper()
	e := newSigninEnv(t, false)
	registerResources(t, e.Env)
	if _, err := e.App.Resources.Create(t.Context(), domain.Actor{Root: true}, resource.CreateInput{Identifier: resPayroll,
		Name: `Payroll <script>alert(1)</script>`, Scopes: []string{"mcp:tools"}}); err != nil {
		t.Fatal(err)
	}
	agent, _ := e.CreateClient(client.CreateInput{Name: "Agent", Type: client.Public, GrantTypes: []string{client.GrantAuthorizationCode},
		RedirectURIs: []string{loopbackCB}, AllowedScopes: []string{"openid", "mcp:tools", "b:read"}})
	return &consentResourcesEnv{signinEnv: e, agent: agent, b: browser(t)}
}

// authURL is the agent's authorization URL for scope and resources, with
// more parameters as name, value pairs.
func (e *consentResourcesEnv) authURL(scope string, resources []string, more ...string) string {
	u := url.Values{"response_type": {"code"}, "client_id": {e.agent.ClientID}, "redirect_uri": {appCB}, "scope": {scope}, "state": {"s"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}, "resource": resources}
	for i := 0; i+1 < len(more); i += 2 {
		u.Set(more[i], more[i+1])
	}
	return e.URL + "/oauth2/authorize?" + u.Encode()
}

// isConsent reports whether p is the consent page.
func isConsent(p page) bool {
	return p.status == http.StatusOK && strings.Contains(p.body, `name="consent"`)
}

// allow answers the consent page p with allow and checks a code came back.
func (e *consentResourcesEnv) allow(t *testing.T, p page) {
	t.Helper()
	if !isConsent(p) {
		t.Fatalf("want the consent page, got %d %q: %.300s", p.status, p.header.Get("Location"), p.body)
	}
	action, form := formOf(t, p)
	form.Set("consent", "allow")
	if q := location(t, post(t, e.b, e.URL+action, form), appCB); q.Get("code") == "" {
		t.Fatalf("after allow: %v", q)
	}
}

func (e *consentResourcesEnv) stored(t *testing.T) consent.Grant {
	t.Helper()
	g, err := e.Store.GetConsent(t.Context(), e.alice.ID, e.agent.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestConsentCoversResources: a remembered consent covers a request only
// if it covers every requested scope and every requested resource (RFC
// 8707: the audience is part of what is authorised). Consent to resource
// A does not carry over to Payroll, which defines the same scope.
func TestConsentCoversResources(t *testing.T) {
	e := newConsentResourcesEnv(t)
	skips := func(name string, u string) {
		t.Helper()
		p := get(t, e.b, u)
		if q := location(t, p, appCB); q.Get("code") == "" {
			t.Errorf("%s: want a code without the consent page: %v", name, q)
		}
	}
	asks := func(name string, u string) page {
		t.Helper()
		p := get(t, e.b, u)
		if !isConsent(p) {
			t.Fatalf("%s: want the consent page, got %d %q", name, p.status, p.header.Get("Location"))
		}
		return p
	}

	// Consent to A (its host in upper case: stored canonical).
	first := signIn(t, e.signinEnv, e.b, e.authURL("mcp:tools", []string{"https://TOOLS.example.com/mcp"}))
	if !strings.Contains(first.body, "Tools") || !strings.Contains(first.body, resA) {
		t.Errorf("the consent page does not name resource A:\n%s", first.body)
	}
	e.allow(t, first)
	if g := e.stored(t); !slices.Equal(g.Resources, []string{resA}) || !slices.Equal(g.Scopes, []string{"mcp:tools"}) {
		t.Fatalf("stored consent %+v", g)
	}
	skips("A again", e.authURL("mcp:tools", []string{resA}))

	// The same scope for Payroll: asked again, and the page names Payroll
	// (escaped), not A.
	p := asks("same scope, resource never allowed", e.authURL("mcp:tools", []string{resPayroll}))
	if !strings.Contains(p.body, resPayroll) || !strings.Contains(p.body, "Payroll &lt;script&gt;alert(1)&lt;/script&gt;") || strings.Contains(p.body, "<script>") ||
		strings.Contains(p.body, resA) {
		t.Errorf("the consent page for Payroll:\n%s", p.body)
	}
	if q := location(t, get(t, e.b, e.authURL("mcp:tools", []string{resPayroll}, "prompt", "none")), appCB); q.Get("error") != "consent_required" {
		t.Errorf("prompt=none for a resource never allowed: %v", q)
	}
	// A and Payroll together: Payroll is not covered.
	asks("one of two resources not allowed", e.authURL("mcp:tools", []string{resA, resPayroll}))
	if g := e.stored(t); !slices.Equal(g.Resources, []string{resA}) {
		t.Errorf("showing the page changed the consent: %+v", g)
	}

	// Allowing A and B together covers each alone, and both in any order.
	e.allow(t, asks("B never allowed", e.authURL("mcp:tools b:read", []string{resA, resB})))
	if g := e.stored(t); !slices.Equal(g.Resources, []string{resB, resA}) || !slices.Equal(g.Scopes, []string{"b:read", "mcp:tools"}) {
		t.Fatalf("merged consent %+v", g)
	}
	skips("A after A+B", e.authURL("mcp:tools", []string{resA}))
	skips("B after A+B", e.authURL("b:read", []string{resB}))
	skips("B+A after A+B", e.authURL("b:read mcp:tools", []string{resB, resA}))
	skips("prompt=none within the consent", e.authURL("mcp:tools", []string{resA}, "prompt", "none"))

	// A request without resource is for Latchkey's own audience, which
	// the consent covers as far as its scopes go.
	skips("own audience, scopes allowed", e.authURL("mcp:tools", nil))
	asks("own audience, a scope not allowed", e.authURL("openid", nil))
}

// TestConsentScopesWithoutResource: scopes allowed for Latchkey's own
// audience do not cover the same scopes at a resource.
func TestConsentScopesWithoutResource(t *testing.T) {
	e := newConsentResourcesEnv(t)
	e.allow(t, signIn(t, e.signinEnv, e.b, e.authURL("openid b:read", nil)))
	if g := e.stored(t); g.Resources != nil {
		t.Fatalf("a consent without resources stored %q", g.Resources)
	}
	if q := location(t, get(t, e.b, e.authURL("openid b:read", nil)), appCB); q.Get("code") == "" {
		t.Errorf("own audience again: %v", q)
	}
	p := get(t, e.b, e.authURL("b:read", []string{resB}))
	if !isConsent(p) || !strings.Contains(p.body, "Other") || !strings.Contains(p.body, resB) {
		t.Fatalf("scopes covered but resource not: want the consent page naming B, got %d %q", p.status, p.header.Get("Location"))
	}
	e.allow(t, p)
	if g := e.stored(t); !slices.Equal(g.Resources, []string{resB}) || !slices.Equal(g.Scopes, []string{"b:read", "openid"}) {
		t.Errorf("after allowing B: %+v", g)
	}
	// Revoking the consent (admin API) forgets the resources too, and the
	// list shows them until then.
	admin := e.TokenWith("users:read", "users:update")
	r := e.Do("GET", "/v1/admin/users/"+e.alice.ID+"/consents", "", admin, "")
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"resources":["`+resB+`"]`) {
		t.Errorf("admin consents: %d %s", r.Status, r.Body)
	}
	if r := e.Do("DELETE", "/v1/admin/users/"+e.alice.ID+"/consents/"+e.agent.ClientID, "", admin, ""); r.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if p := get(t, e.b, e.authURL("b:read", []string{resB})); !isConsent(p) {
		t.Errorf("after revoking: %d %q", p.status, p.header.Get("Location"))
	}
}

// TestConsentFormHostileResources: a consent form whose resource values
// were tampered with (unregistered, malformed, oversized, too many,
// controls) is refused as invalid_target (or 413 for a body over the
// limit) and changes nothing: no consent remembered, no code.
func TestConsentFormHostileResources(t *testing.T) {
	e := newConsentResourcesEnv(t)
	e.allow(t, signIn(t, e.signinEnv, e.b, e.authURL("mcp:tools", []string{resA})))
	before := e.stored(t)
	consentPage := get(t, e.b, e.authURL("b:read", []string{resB}))
	action, form := formOf(t, consentPage)
	if len(form["resource"]) != 1 {
		t.Fatalf("the consent form carries resources %q", form["resource"])
	}
	many := make([]string, 0, resource.MaxPerRequest+1)
	for i := range resource.MaxPerRequest + 1 {
		many = append(many, resB+"?"+strings.Repeat("x", i))
	}
	for _, tt := range []struct {
		name      string
		resources []string
		status    int
	}{
		{"unregistered", []string{"https://unregistered.example.com/mcp"}, http.StatusSeeOther},
		{"fragment", []string{resB + "#frag"}, http.StatusSeeOther},
		{"relative", []string{"/mcp"}, http.StatusSeeOther},
		{"userinfo", []string{"https://user@other.example.com/api"}, http.StatusSeeOther},
		{"control character", []string{resB + "\x00"}, http.StatusSeeOther},
		{"not UTF-8", []string{resB + "\xff"}, http.StatusSeeOther},
		{"oversized", []string{"https://other.example.com/" + strings.Repeat("a", resource.MaxIdentifierLen)}, http.StatusSeeOther},
		{"registered and unregistered", []string{resB, "https://unregistered.example.com/mcp"}, http.StatusSeeOther},
		{"too many", many, http.StatusSeeOther},
		{"body over the form limit", []string{"https://other.example.com/" + strings.Repeat("a", 70<<10)}, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := url.Values{}
			for k, v := range form {
				f[k] = slices.Clone(v)
			}
			f["resource"] = tt.resources
			f.Set("consent", "allow")
			p := post(t, e.b, e.URL+action, f)
			if p.status != tt.status {
				t.Fatalf("status %d, want %d: %.300s", p.status, tt.status, p.body)
			}
			if p.status == http.StatusSeeOther {
				if q := location(t, p, appCB); q.Get("error") != "invalid_target" || q.Has("code") {
					t.Errorf("answer %v, want invalid_target and no code", q)
				}
			}
			if g := e.stored(t); !slices.Equal(g.Resources, before.Resources) || !slices.Equal(g.Scopes, before.Scopes) || !g.UpdatedAt.Equal(before.UpdatedAt) {
				t.Errorf("the consent changed: %+v, was %+v", g, before)
			}
		})
	}
	// The untampered form still works.
	e.allow(t, consentPage)
}
