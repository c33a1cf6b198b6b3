package server_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/server/servertest"
	"github.com/latchkey/latchkey/internal/token"
)

// dialect describes one registration API and its documented error shape.
type dialect struct {
	name, path string
	valid      string
	// checkError asserts the dialect's error shape, and that field (if
	// any) is named where the dialect names fields.
	checkError func(t *testing.T, r servertest.Response, status int, field string)
	cases      []fieldCase
}

type fieldCase struct {
	name, body, field string
}

// errorObject checks r's Content-Type and returns its JSON object body.
func errorObject(t *testing.T, r servertest.Response, contentType string) map[string]any {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != contentType {
		t.Errorf("Content-Type %q", ct)
	}
	return r.Object(t)
}

// messageNames checks that an error body's message names field, if any.
func messageNames(t *testing.T, m map[string]any, field string) {
	t.Helper()
	if msg, _ := m["message"].(string); field != "" && !strings.Contains(msg, field) {
		t.Errorf("message %q does not name %q", msg, field)
	}
}

func checkSeed001(t *testing.T, r servertest.Response, status int, field string) {
	t.Helper()
	m := errorObject(t, r, "application/json")
	if sortedKeys(m) != "error,message" {
		t.Errorf("error body members %s, want error,message: %s", sortedKeys(m), r.Body)
	}
	messageNames(t, m, field)
}

func checkSeed000(t *testing.T, r servertest.Response, status int, field string) {
	t.Helper()
	m := errorObject(t, r, "application/json")
	if sortedKeys(m) != "message,status" || m["status"] != "error" {
		t.Errorf("error body %s, want {status:error,message}", r.Body)
	}
	messageNames(t, m, field)
}

func checkSeed002(t *testing.T, r servertest.Response, status int, field string) {
	t.Helper()
	m := errorObject(t, r, "application/problem+json")
	for _, k := range []string{"type", "title", "status", "detail"} {
		if _, ok := m[k]; !ok {
			t.Errorf("problem lacks %q: %s", k, r.Body)
		}
	}
	if m["status"] != float64(status) {
		t.Errorf("problem status %v, want %d", m["status"], status)
	}
	if field != "" {
		errs, _ := m["errors"].(map[string]any)
		if l, _ := errs[field].([]any); len(l) == 0 {
			t.Errorf("errors[%q] missing: %s", field, r.Body)
		}
	}
}

var long = func(n int) string { return strings.Repeat("a", n) }

var dialects = []dialect{
	{
		name: "seed001", path: "/v1/admin/oauth-clients",
		valid:      `{"client_name":"App","redirect_uris":["https://app.example.com/cb"],"allowed_scopes":["openid"]}`,
		checkError: checkSeed001,
		cases: []fieldCase{
			{"missing client_name", `{"redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"]}`, "client_name"},
			{"missing redirect_uris", `{"client_name":"A","allowed_scopes":["openid"]}`, "redirect_uris"},
			{"missing allowed_scopes", `{"client_name":"A","redirect_uris":["https://a.example/cb"]}`, "allowed_scopes"},
			{"empty client_name", `{"client_name":"","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"]}`, "client_name"},
			{"client_name too long", `{"client_name":"` + long(256) + `","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"]}`, "client_name"},
			{"client_name wrong type", `{"client_name":5,"redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"]}`, "client_name"},
			{"client_type enum", `{"client_name":"A","client_type":"private","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"]}`, "client_type"},
			{"redirect_uris empty", `{"client_name":"A","redirect_uris":[],"allowed_scopes":["openid"]}`, "redirect_uris"},
			{"redirect_uris not array", `{"client_name":"A","redirect_uris":"https://a.example/cb","allowed_scopes":["openid"]}`, "redirect_uris"},
			{"redirect javascript:", `{"client_name":"A","redirect_uris":["javascript:alert(1)"],"allowed_scopes":["openid"]}`, "redirect_uris"},
			{"redirect data:", `{"client_name":"A","redirect_uris":["data:text/html,hi"],"allowed_scopes":["openid"]}`, "redirect_uris"},
			{"redirect http non-loopback", `{"client_name":"A","redirect_uris":["http://evil.example/cb"],"allowed_scopes":["openid"]}`, "redirect_uris"},
			{"redirect wildcard", `{"client_name":"A","redirect_uris":["https://*.example.com/cb"],"allowed_scopes":["openid"]}`, "redirect_uris"},
			{"redirect fragment", `{"client_name":"A","redirect_uris":["https://a.example/cb#x"],"allowed_scopes":["openid"]}`, "redirect_uris"},
			{"redirect relative", `{"client_name":"A","redirect_uris":["/cb"],"allowed_scopes":["openid"]}`, "redirect_uris"},
			{"allowed_scopes empty", `{"client_name":"A","redirect_uris":["https://a.example/cb"],"allowed_scopes":[]}`, "allowed_scopes"},
			{"scope with quote", `{"client_name":"A","redirect_uris":["https://a.example/cb"],"allowed_scopes":["a\"b"]}`, "allowed_scopes"},
			{"client_uri not a URI", `{"client_name":"A","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"],"client_uri":"javascript:x"}`, "client_uri"},
			{"logo_uri wrong type", `{"client_name":"A","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"],"logo_uri":true}`, "logo_uri"},
			// Issue 11: hostile names, internal URIs, undefined scopes.
			{"client_name NEL", `{"client_name":"A\u0085B","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"]}`, "client_name"},
			{"client_name bidi override", `{"client_name":"evil\u202egnp.exe","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"]}`, "client_name"},
			{"client_name zero-width space", `{"client_name":"Pay\u200bPal","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"]}`, "client_name"},
			{"logo_uri metadata address", `{"client_name":"A","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"],"logo_uri":"http://169.254.169.254/latest"}`, "logo_uri"},
			{"logo_uri hex loopback", `{"client_name":"A","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"],"logo_uri":"https://0x7f000001/"}`, "logo_uri"},
			{"client_uri private", `{"client_name":"A","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"],"client_uri":"https://10.0.0.1/x"}`, "client_uri"},
			{"client_uri mapped loopback", `{"client_name":"A","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"],"client_uri":"https://[::ffff:127.0.0.1]/"}`, "client_uri"},
			{"client_uri userinfo", `{"client_name":"A","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"],"client_uri":"https://user@a.example/"}`, "client_uri"},
			{"undefined scope", `{"client_name":"A","redirect_uris":["https://a.example/cb"],"allowed_scopes":["clients:create","admin"]}`, "allowed_scopes"},
			{"origin with path", `{"client_name":"A","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"],"allowed_origins":["https://a.example/x"]}`, "allowed_origins"},
			{"public with client_credentials", `{"client_name":"A","client_type":"public","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"],"grant_types":["client_credentials"]}`, "grant_types"},
			{"unknown grant type", `{"client_name":"A","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"],"grant_types":["implicit"]}`, "grant_types"},
			{"server-set client_id", `{"client_id":"mine","client_name":"A","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"]}`, "client_id"},
			{"server-set owner_id", `{"owner_id":"x","client_name":"A","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"]}`, "owner_id"},
		},
	},
	{
		name: "seed000", path: "/api/clients",
		valid:      `{"client_name":"App","redirect_uri":"https://app.example.com/cb","grant_types":"authorization_code,refresh_token","is_confidential":true}`,
		checkError: checkSeed000,
		cases: []fieldCase{
			{"missing client_name", `{"redirect_uri":"https://a.example/cb","grant_types":"refresh_token","is_confidential":true}`, "client_name"},
			{"missing redirect_uri", `{"client_name":"A","grant_types":"refresh_token","is_confidential":true}`, "redirect_uri"},
			{"missing grant_types", `{"client_name":"A","redirect_uri":"https://a.example/cb","is_confidential":true}`, "grant_types"},
			{"missing is_confidential", `{"client_name":"A","redirect_uri":"https://a.example/cb","grant_types":"refresh_token"}`, "is_confidential"},
			{"client_name too long", `{"client_name":"` + long(256) + `","redirect_uri":"https://a.example/cb","grant_types":"refresh_token","is_confidential":true}`, "client_name"},
			{"is_confidential wrong type", `{"client_name":"A","redirect_uri":"https://a.example/cb","grant_types":"refresh_token","is_confidential":"yes"}`, "is_confidential"},
			{"grant_types as array", `{"client_name":"A","redirect_uri":"https://a.example/cb","grant_types":["password"],"is_confidential":true}`, "grant_types"},
			{"unknown grant type", `{"client_name":"A","redirect_uri":"https://a.example/cb","grant_types":"password,implicit","is_confidential":true}`, "grant_types"},
			{"duplicate grant type", `{"client_name":"A","redirect_uri":"https://a.example/cb","grant_types":"password, password","is_confidential":true}`, "grant_types"},
			{"empty grant item", `{"client_name":"A","redirect_uri":"https://a.example/cb","grant_types":"password,,refresh_token","is_confidential":true}`, "grant_types"},
			{"public with password", `{"client_name":"A","redirect_uri":"https://a.example/cb","grant_types":"password","is_confidential":false}`, "grant_types"},
			{"public with client_credentials", `{"client_name":"A","redirect_uri":"https://a.example/cb","grant_types":"client_credentials","is_confidential":false}`, "grant_types"},
			{"redirect javascript:", `{"client_name":"A","redirect_uri":"javascript:alert(1)","grant_types":"authorization_code","is_confidential":true}`, "redirect_uri"},
			{"redirect too long", `{"client_name":"A","redirect_uri":"https://a.example/` + long(2000) + `","grant_types":"authorization_code","is_confidential":true}`, "redirect_uri"},
			{"client_name bidi override", `{"client_name":"evil\u202egnp","redirect_uri":"https://a.example/cb","grant_types":"authorization_code","is_confidential":true}`, "client_name"},
			{"client_name NEL", `{"client_name":"A\u0085B","redirect_uri":"https://a.example/cb","grant_types":"authorization_code","is_confidential":true}`, "client_name"},
			{"client_name zero-width space", `{"client_name":"Pay\u200bPal","redirect_uri":"https://a.example/cb","grant_types":"authorization_code","is_confidential":true}`, "client_name"},
		},
	},
	{
		name: "seed002", path: "/api/v1/auth/clients",
		valid:      `{"displayName":"App","redirectUri":"https://app.example.com/cb","m2m":false}`,
		checkError: checkSeed002,
		cases: []fieldCase{
			{"missing m2m", `{"displayName":"A","redirectUri":"https://a.example/cb"}`, "m2m"},
			{"m2m wrong type", `{"m2m":"true","botUserId":"bot-1"}`, "m2m"},
			{"m2m without botUserId", `{"m2m":true,"displayName":"A"}`, "botUserId"},
			{"m2m with null botUserId", `{"m2m":true,"botUserId":null}`, "botUserId"},
			{"unknown bot user", `{"m2m":true,"botUserId":"bot-nope"}`, "botUserId"},
			{"human user as bot", `{"m2m":true,"botUserId":"human-1"}`, "botUserId"},
			{"botUserId too long", `{"m2m":true,"botUserId":"` + long(451) + `"}`, "botUserId"},
			{"interactive without redirectUri", `{"m2m":false,"displayName":"A"}`, "redirectUri"},
			{"displayName too long", `{"m2m":false,"displayName":"` + long(256) + `","redirectUri":"https://a.example/cb"}`, "displayName"},
			{"displayName wrong type", `{"m2m":false,"displayName":["A"],"redirectUri":"https://a.example/cb"}`, "displayName"},
			{"redirectUri too long", `{"m2m":false,"redirectUri":"https://a.example/` + long(2000) + `"}`, "redirectUri"},
			{"redirectUri http non-loopback", `{"m2m":false,"redirectUri":"http://evil.example/cb"}`, "redirectUri"},
			{"displayName bidi override", `{"m2m":false,"displayName":"evil\u202egnp","redirectUri":"https://a.example/cb"}`, "displayName"},
			{"displayName NEL", `{"m2m":false,"displayName":"A\u0085B","redirectUri":"https://a.example/cb"}`, "displayName"},
			{"displayName zero-width space", `{"m2m":false,"displayName":"Pay\u200bPal","redirectUri":"https://a.example/cb"}`, "displayName"},
			{"case-mismatched name", `{"M2M":false,"redirectUri":"https://a.example/cb"}`, "M2M"},
			{"server-set clientSecret", `{"m2m":false,"redirectUri":"https://a.example/cb","clientSecret":"x"}`, "clientSecret"},
		},
	},
}

func TestDialectsErrors(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			e := newEnv(t)
			if _, err := e.App.Users.Create(t.Context(), userActor, userInput("human-1", false)); err != nil {
				t.Fatal(err)
			}
			good := e.TokenWith("clients:create")
			noScope := e.TokenWith("clients:read")
			expired := e.TokenWith("clients:create")
			revoked := e.TokenWith("clients:create")
			claims, err := e.App.Issuer.Parse(t.Context(), revoked)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.App.Issuer.Revoke(t.Context(), claims); err != nil {
				t.Fatal(err)
			}
			foreign := foreignIssuerToken(t, e)
			before := e.CountClients()

			// Authentication and authorization errors (RFC 6750 §3).
			e.Clock.Advance(0)
			authCases := []struct {
				name, token, challenge string
				status                 int
				advance                time.Duration
			}{
				{"no token", "", `Bearer realm="latchkey"`, 401, 0},
				{"garbage token", "not-a-jwt", `Bearer realm="latchkey", error="invalid_token"`, 401, 0},
				{"alg none", algNoneToken(claims), `Bearer realm="latchkey", error="invalid_token"`, 401, 0},
				{"foreign issuer", foreign, `Bearer realm="latchkey", error="invalid_token"`, 401, 0},
				{"revoked", revoked, `Bearer realm="latchkey", error="invalid_token"`, 401, 0},
				{"lacks clients:create", noScope, `Bearer realm="latchkey", error="insufficient_scope", scope="clients:create"`, 403, 0},
			}
			for _, c := range authCases {
				r := e.Do("POST", d.path, "application/json", c.token, d.valid)
				if r.Status != c.status || r.Header.Get("WWW-Authenticate") != c.challenge {
					t.Errorf("%s: status %d challenge %q; want %d %q", c.name, r.Status, r.Header.Get("WWW-Authenticate"), c.status, c.challenge)
				}
				d.checkError(t, r, c.status, "")
			}
			// Token in the query string is refused, even a good one.
			req, _ := http.NewRequest("POST", e.URL+d.path+"?access_token="+good, strings.NewReader(d.valid))
			req.Header.Set("Content-Type", "application/json")
			if r := e.Send(req); r.Status != 400 {
				t.Errorf("query-string token: status %d", r.Status)
			} else {
				d.checkError(t, r, 400, "")
			}

			// Body errors.
			bodyCases := []struct {
				name, ct, body string
				status         int
			}{
				{"no content type", "", d.valid, 415},
				{"text/plain", "text/plain", d.valid, 415},
				{"form", "application/x-www-form-urlencoded", "a=b", 415},
				{"oversized", "application/json", `{"x":"` + long(70<<10) + `"}`, 413},
				{"empty", "application/json", "", 400},
				{"not JSON", "application/json", "{nope", 400},
				{"array", "application/json", "[]", 400},
				{"string", "application/json", `"x"`, 400},
				{"trailing garbage", "application/json", d.valid + "x", 400},
				{"duplicate key", "application/json", "{" + d.valid[1:strings.Index(d.valid, ",")+1] + d.valid[1:], 400},
				{"unknown field", "application/json", strings.Replace(d.valid, "{", `{"surprise":1,`, 1), 400},
			}
			for _, c := range bodyCases {
				r := e.Do("POST", d.path, c.ct, good, c.body)
				if r.Status != c.status {
					t.Errorf("%s: status %d, want %d: %s", c.name, r.Status, c.status, r.Body)
					continue
				}
				d.checkError(t, r, c.status, "")
			}

			// Field errors name the field in the dialect's own terms.
			for _, c := range d.cases {
				r := e.Do("POST", d.path, "application/json", good, c.body)
				if r.Status != 400 {
					t.Errorf("%s: status %d, want 400: %s", c.name, r.Status, r.Body)
					continue
				}
				d.checkError(t, r, 400, c.field)
			}

			// Expired token: move the clock past the lifetime.
			e.Clock.Advance(2 * time.Hour)
			r := e.Do("POST", d.path, "application/json", expired, d.valid)
			if r.Status != 401 || !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("expired token: %d %q", r.Status, r.Header.Get("WWW-Authenticate"))
			}
			d.checkError(t, r, 401, "")

			if after := e.CountClients(); after != before {
				t.Errorf("failed requests stored %d clients", after-before)
			}
			evs, _ := e.Store.ListAudit(t.Context(), audit.Filter{Action: audit.ClientCreate})
			if len(evs) != before {
				t.Errorf("failed requests left audit events: %d events for %d clients", len(evs), before)
			}
			if strings.Contains(e.Logs.String(), "client_secret\":\"") {
				t.Error("a secret reached the logs")
			}
		})
	}
}

// algNoneToken re-packs real claims under an unsigned "alg":"none" header.
func algNoneToken(c token.Principal) string {
	enc := base64.RawURLEncoding
	h := enc.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`))
	p := enc.EncodeToString([]byte(fmt.Sprintf(`{"iss":%q,"sub":%q,"aud":%q,"exp":%d,"iat":%d,"jti":"x","client_id":%q,"scope":"clients:create"}`,
		c.Issuer, c.Subject, c.Issuer, time.Now().Add(time.Hour).Unix(), time.Now().Unix(), c.ClientID)))
	return h + "." + p + "."
}

// foreignIssuerToken is signed with e's own key but names another issuer.
func foreignIssuerToken(t *testing.T, e *env) string {
	other := token.NewIssuer(token.IssuerConfig{Keys: e.App.Keys, Issuer: "https://evil.example", TTL: time.Hour, Revocations: e.Store, Now: e.Clock.Now})
	m, err := other.Mint(t.Context(), token.Spec{Subject: "x", ClientID: "x", Scopes: []string{"clients:create"}})
	if err != nil {
		t.Fatal(err)
	}
	return m.Raw
}

// TestRegistrationRefusesHostileMetadata: RFC 7591 registration refuses
// what the other dialects refuse (issue 11) as invalid_client_metadata.
func TestRegistrationRefusesHostileMetadata(t *testing.T) {
	e := servertest.New(t)
	tok := e.TokenWith("clients:create")
	for name, member := range map[string]string{
		"client_name NEL":           `"client_name":"A\u0085B"`,
		"client_name bidi override": `"client_name":"evil\u202egnp"`,
		"client_name zero-width":    `"client_name":"Pay\u200bPal"`,
		"logo_uri metadata address": `"logo_uri":"http://169.254.169.254/"`,
		"logo_uri decimal loopback": `"logo_uri":"https://2130706433/"`,
		"client_uri short loopback": `"client_uri":"https://127.1/"`,
		"client_uri octal loopback": `"client_uri":"https://0177.0.0.1/"`,
		"client_uri userinfo":       `"client_uri":"https://user@a.example/"`,
		"client_uri redis port":     `"client_uri":"http://127.0.0.1:6379"`,
		"scope undefined":           `"scope":"openid admin"`,
	} {
		t.Run(name, func(t *testing.T) {
			before := e.CountClients()
			r := e.Do("POST", "/oauth2/register", "application/json", tok, `{"redirect_uris":["https://a.example/cb"],`+member+`}`)
			if r.Status != 400 || r.Object(t)["error"] != "invalid_client_metadata" {
				t.Errorf("%d %s, want 400 invalid_client_metadata", r.Status, r)
			}
			if e.CountClients() != before {
				t.Error("a refused registration was stored")
			}
		})
	}
}
