package server_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/server/servertest"
)

func basicHeader(id, secret string) string {
	return "Authorization: " + servertest.BasicAuth(id, secret)
}

// TestTokenEndpointErrors checks RFC 6749 §5.2 for every error the
// client_credentials flow can produce, and no-store on every answer.
func TestTokenEndpointErrors(t *testing.T) {
	e := newEnv(t)
	c, secret := e.ServiceClient("svc", "api:read", "api:write")
	web, webSecret := e.CreateClient(client.CreateInput{
		Name: "web", GrantTypes: []string{client.GrantAuthorizationCode}, RedirectURIs: []string{"https://w.example/cb"}, AllowedScopes: []string{"openid"},
	})
	post := url.Values{"client_id": {c.ClientID}, "client_secret": {secret.Expose()}}
	form := func(kv ...string) string {
		v := url.Values{}
		for k, vals := range post {
			v[k] = vals
		}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	const ct = "application/x-www-form-urlencoded"
	tests := []struct {
		name, ct, body string
		headers        []string
		status         int
		code           string
	}{
		{"ok, all scopes", ct, form("grant_type", "client_credentials"), nil, 200, ""},
		{"ok, subset", ct, form("grant_type", "client_credentials", "scope", "api:read"), nil, 200, ""},
		{"ok, basic", ct, "grant_type=client_credentials", []string{basicHeader(c.ClientID, secret.Expose())}, 200, ""},
		// RFC 6749 §3.1: parameters sent without a value are as if omitted.
		{"ok, empty scope is no scope", ct, form("grant_type", "client_credentials", "scope", ""), nil, 200, ""},
		{"ok, basic and empty client_id", ct, "grant_type=client_credentials&client_id=", []string{basicHeader(c.ClientID, secret.Expose())}, 200, ""},
		{"no grant_type", ct, form(), nil, 400, "invalid_request"},
		{"unsupported grant", ct, form("grant_type", "implicit"), nil, 400, "unsupported_grant_type"},
		{"password grant, client without it", ct, form("grant_type", "password", "username", "u", "password", "p"), nil, 400, "unauthorized_client"},
		{"scope not allowed", ct, form("grant_type", "client_credentials", "scope", "api:admin"), nil, 400, "invalid_scope"},
		{"blank scope", ct, form("grant_type", "client_credentials", "scope", " "), nil, 400, "invalid_scope"},
		{"bad scope syntax", ct, form("grant_type", "client_credentials", "scope", `a"b`), nil, 400, "invalid_scope"},
		{"wrong secret", ct, form("grant_type", "client_credentials", "client_secret", "nope"), nil, 401, "invalid_client"},
		{"unknown client", ct, form("grant_type", "client_credentials", "client_id", "nobody"), nil, 401, "invalid_client"},
		{"wrong basic", ct, "grant_type=client_credentials", []string{basicHeader(c.ClientID, "nope")}, 401, "invalid_client"},
		{"malformed basic", ct, "grant_type=client_credentials", []string{"Authorization: Basic !!!"}, 401, "invalid_client"},
		{"basic and post", ct, form("grant_type", "client_credentials"), []string{basicHeader(c.ClientID, secret.Expose())}, 400, "invalid_request"},
		{"no secret at all", ct, "grant_type=client_credentials&client_id=" + c.ClientID, nil, 401, "invalid_client"},
		{"grant not registered", ct, url.Values{"grant_type": {"client_credentials"}, "client_id": {web.ClientID}, "client_secret": {webSecret.Expose()}}.Encode(), nil, 400, "unauthorized_client"},
		{"repeated parameter", ct, form("grant_type", "client_credentials") + "&scope=api:read&scope=api:write", nil, 400, "invalid_request"},
		{"JSON body", "application/json", `{"grant_type":"client_credentials"}`, nil, 400, "invalid_request"},
		{"no content type", "", form("grant_type", "client_credentials"), nil, 400, "invalid_request"},
		{"oversized", ct, form("grant_type", "client_credentials", "x", strings.Repeat("a", 20000)), nil, 413, "invalid_request"},
	}
	for _, tt := range tests {
		for _, path := range []string{"/oauth2/token", "/openid/token"} {
			r := e.Do("POST", path, tt.ct, "", tt.body, tt.headers...)
			if r.Status != tt.status {
				t.Errorf("%s %s: status %d, want %d: %s", tt.name, path, r.Status, tt.status, r.Body)
				continue
			}
			if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%s: headers %v", tt.name, r.Header)
			}
			m := r.Object(t)
			if tt.code == "" {
				if m["token_type"] != "Bearer" || m["access_token"] == nil || m["expires_in"] != float64(3600) {
					t.Errorf("%s: %s", tt.name, r.Body)
				}
				continue
			}
			if m["error"] != tt.code {
				t.Errorf("%s: error %v, want %s", tt.name, m["error"], tt.code)
			}
			if tt.status == 401 && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("%s: 401 without a Basic challenge", tt.name)
			}
		}
	}
}

// zeros is an endless body of '0' bytes, so a huge request needs no huge
// buffer.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '0'
	}
	return len(p), nil
}

// The POST-only protocol endpoints answer an oversize body with 413 and
// any other method with 405 and Allow: POST, both as RFC 6749 §5.2 JSON
// that is never cached.
func TestProtocolEndpointsOversizeAndMethod(t *testing.T) {
	e := newEnv(t)
	const fifty = 50 << 20
	type call struct {
		name   string
		method string
		body   func() (io.Reader, int64) // nil: no body
		status int
	}
	calls := []call{
		{"50 MB body", "POST", func() (io.Reader, int64) {
			return io.LimitReader(io.MultiReader(strings.NewReader("grant_type=client_credentials&pad="), zeros{}), fifty), fifty
		}, http.StatusRequestEntityTooLarge},
		{"50 MB body, length unknown", "POST", func() (io.Reader, int64) {
			return io.LimitReader(io.MultiReader(strings.NewReader("token=x&pad="), zeros{}), fifty), -1
		}, http.StatusRequestEntityTooLarge},
		{"GET", "GET", nil, http.StatusMethodNotAllowed},
		{"PUT", "PUT", func() (io.Reader, int64) { return strings.NewReader("token=x"), 7 }, http.StatusMethodNotAllowed},
		{"DELETE", "DELETE", nil, http.StatusMethodNotAllowed},
	}
	for _, path := range []string{"/oauth2/token", "/openid/token", "/oauth2/introspect", "/oauth2/revoke"} {
		for _, c := range calls {
			t.Run(path+" "+c.name, func(t *testing.T) {
				var body io.Reader
				var n int64
				if c.body != nil {
					body, n = c.body()
				}
				req, err := http.NewRequest(c.method, e.URL+path, body)
				if err != nil {
					t.Fatal(err)
				}
				if c.body != nil {
					req.ContentLength = n
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r := e.Send(req)
				if r.Status != c.status {
					t.Fatalf("status %d, want %d: %.200s", r.Status, c.status, r.Body)
				}
				if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Content-Type") != "application/json" {
					t.Errorf("headers %v", r.Header)
				}
				if m := r.Object(t); m["error"] != "invalid_request" || m["error_description"] == nil {
					t.Errorf("body %s", r.Body)
				}
				if c.status == http.StatusMethodNotAllowed && r.Header.Get("Allow") != "POST" {
					t.Errorf("Allow = %q, want POST", r.Header.Get("Allow"))
				}
			})
		}
	}
}

func TestIntrospectionAndRevocation(t *testing.T) {
	e := newEnv(t)
	svc, svcSecret := e.ServiceClient("svc", "api:read")
	other, otherSecret := e.ServiceClient("other", "api:read")
	pub, _ := e.CreateClient(client.CreateInput{
		Name: "spa", Type: client.Public, RedirectURIs: []string{"https://spa.example/cb"}, AllowedScopes: []string{"openid"},
	})
	tok := e.accessToken(svc.ClientID, svcSecret.Expose())
	const ct = "application/x-www-form-urlencoded"
	intro := func(body string, headers ...string) servertest.Response {
		return e.Do("POST", "/oauth2/introspect", ct, "", body, headers...)
	}

	r := intro("token="+tok, basicHeader(svc.ClientID, svcSecret.Expose()))
	e.mustStatus(r, 200)
	m := r.Object(t)
	if m["active"] != true || m["client_id"] != svc.ClientID || m["scope"] != "api:read" || m["sub"] != svc.ClientID || m["iss"] == nil || m["exp"] == nil {
		t.Errorf("active introspection: %s", r.Body)
	}
	// Another client, neither the token's nor in its audience nor holding
	// tokens:introspect, learns nothing of a live token.
	for name, body := range map[string]string{"garbage": "token=abc", "tampered": "token=" + tok[:len(tok)-4] + "AAAA", "another client's token": "token=" + tok} {
		r := intro(body, basicHeader(other.ClientID, otherSecret.Expose()))
		if r.Status != 200 || string(r.Body) != "{\"active\":false}\n" {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	// Public clients (no secret) may not scan tokens (RFC 7662 §4).
	if r := intro("token=" + tok + "&client_id=" + pub.ClientID); r.Status != 401 || r.Object(t)["error"] != "invalid_client" {
		t.Errorf("public client introspection: %d %s", r.Status, r.Body)
	}
	if r := intro("token=" + tok); r.Status != 401 {
		t.Errorf("anonymous introspection: %d", r.Status)
	}
	if r := intro("", basicHeader(other.ClientID, otherSecret.Expose())); r.Status != 400 || r.Object(t)["error"] != "invalid_request" {
		t.Errorf("no token parameter: %d %s", r.Status, r.Body)
	}

	// Revocation: only the owner may revoke; unknown tokens are fine.
	rev := func(body string, headers ...string) servertest.Response {
		return e.Do("POST", "/oauth2/revoke", ct, "", body, headers...)
	}
	if r := rev("token="+tok, basicHeader(other.ClientID, otherSecret.Expose())); r.Status != 400 || r.Object(t)["error"] != "unauthorized_client" {
		t.Errorf("revoking another client's token: %d %s", r.Status, r.Body)
	}
	if !e.active(svc.ClientID, svcSecret.Expose(), tok) {
		t.Fatal("a refused revocation revoked the token")
	}
	if r := rev("token=garbage", basicHeader(svc.ClientID, svcSecret.Expose())); r.Status != 200 {
		t.Errorf("revoking garbage: %d", r.Status)
	}
	if r := rev("token="+tok+"&token_type_hint=access_token", basicHeader(svc.ClientID, svcSecret.Expose())); r.Status != 200 || r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("revoke own token: %d %v", r.Status, r.Header)
	}
	if e.active(svc.ClientID, svcSecret.Expose(), tok) {
		t.Error("revoked token still active")
	}
	if r := rev("token="+tok, basicHeader(svc.ClientID, "wrong")); r.Status != 401 {
		t.Errorf("revoke with a wrong secret: %d", r.Status)
	}
}

func TestTokenEndpointThrottlesFailedAuthentication(t *testing.T) {
	e := newEnv(t)
	c, secret := e.ServiceClient("svc", "api:read")
	wrong := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {"guess"}}.Encode()
	for range client.MaxAuthFailures {
		e.mustStatus(e.Do("POST", "/oauth2/token", "application/x-www-form-urlencoded", "", wrong), 401)
	}
	r := e.clientToken(c.ClientID, secret.Expose())
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "60" || r.Object(t)["error"] != "invalid_client" {
		t.Fatalf("locked-out client: %d %v %s", r.Status, r.Header, r.Body)
	}
	e.Clock.Advance(client.AuthFailureWindow)
	e.mustStatus(e.clientToken(c.ClientID, secret.Expose()), 200)
}

// With client_id alone, a confidential client and an unknown one get the
// same answer, so client_ids cannot be enumerated.
func TestNoneAuthDoesNotRevealClients(t *testing.T) {
	e := newEnv(t)
	c, _ := e.ServiceClient("svc", "api:read")
	known := e.Do("POST", "/oauth2/token", "application/x-www-form-urlencoded", "", "grant_type=client_credentials&client_id="+c.ClientID)
	unknown := e.Do("POST", "/oauth2/token", "application/x-www-form-urlencoded", "", "grant_type=client_credentials&client_id=nobody")
	if known.Status != unknown.Status || string(known.Body) != string(unknown.Body) {
		t.Errorf("answers differ:\n%d %s\n%d %s", known.Status, known.Body, unknown.Status, unknown.Body)
	}
}

// Two Authorization headers are refused at every client-authenticating
// endpoint (as the bearer package does for the admin API), not settled by
// taking the first.
func TestTwoAuthorizationHeadersRefused(t *testing.T) {
	e := newEnv(t)
	c, secret := e.ServiceClient("svc", "api:read")
	other, otherSecret := e.ServiceClient("other", "api:read")
	tok := e.accessToken(c.ClientID, secret.Expose())
	good, second := servertest.BasicAuth(c.ClientID, secret.Expose()), servertest.BasicAuth(other.ClientID, otherSecret.Expose())
	tests := []struct {
		path, body string
		headers    []string
	}{
		{"/oauth2/token", "grant_type=client_credentials", []string{good, second}},
		{"/openid/token", "grant_type=client_credentials", []string{good, good}},
		{"/oauth2/introspect", "token=" + tok, []string{good, second}},
		{"/oauth2/revoke", "token=" + tok, []string{second, good}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			req, err := http.NewRequest("POST", e.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for _, h := range tt.headers {
				req.Header.Add("Authorization", h)
			}
			r := e.Send(req)
			if r.Status != 400 || r.Object(t)["error"] != "invalid_request" || r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("status %d %v: %s", r.Status, r.Header, r.Body)
			}
		})
	}
	if !e.active(c.ClientID, secret.Expose(), tok) {
		t.Error("a refused revocation revoked the token")
	}
}
