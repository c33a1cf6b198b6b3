package server_test

import (
	"net/url"
	"testing"

	"github.com/latchkey/latchkey/internal/server/servertest"
)

// token_endpoint_auth_method is a stored client field: set through the
// admin API (create and PATCH) and RFC 7591, returned by both, and it
// decides how the client may authenticate.
func TestTokenEndpointAuthMethodAdminAPI(t *testing.T) {
	e := newEnv(t)
	tok := e.TokenWith(adminAll...)
	create := func(body string) servertest.Response {
		return e.Do("POST", "/v1/admin/oauth-clients", "application/json", tok, body)
	}
	method := func(r servertest.Response) any {
		return r.Object(t)["client"].(map[string]any)["token_endpoint_auth_method"]
	}

	def := create(`{"client_name":"web","redirect_uris":["https://a.example/cb"],"allowed_scopes":["api:read"]}`)
	e.mustStatus(def, 201)
	if method(def) != "client_secret_basic" {
		t.Errorf("confidential default = %v", method(def))
	}
	pub := create(`{"client_name":"spa","client_type":"public","redirect_uris":["https://a.example/cb"],"allowed_scopes":["api:read"]}`)
	e.mustStatus(pub, 201)
	if method(pub) != "none" {
		t.Errorf("public default = %v", method(pub))
	}
	post := create(`{"client_name":"job","redirect_uris":["https://a.example/cb"],"allowed_scopes":["api:read"],"grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_post"}`)
	e.mustStatus(post, 201)
	if method(post) != "client_secret_post" {
		t.Errorf("chosen method = %v", method(post))
	}
	id := post.Object(t)["client"].(map[string]any)["id"].(string)
	if got := e.Do("GET", "/v1/admin/oauth-clients/"+id, "", tok, ""); method(got) != "client_secret_post" {
		t.Errorf("GET returns %v: not stored", method(got))
	}

	for name, body := range map[string]string{
		"unknown method":        `{"client_name":"x","redirect_uris":["https://a.example/cb"],"allowed_scopes":["api:read"],"token_endpoint_auth_method":"private_key_jwt"}`,
		"none for confidential": `{"client_name":"x","redirect_uris":["https://a.example/cb"],"allowed_scopes":["api:read"],"token_endpoint_auth_method":"none"}`,
		"secret for public":     `{"client_name":"x","client_type":"public","redirect_uris":["https://a.example/cb"],"allowed_scopes":["api:read"],"token_endpoint_auth_method":"client_secret_basic"}`,
		"empty":                 `{"client_name":"x","redirect_uris":["https://a.example/cb"],"allowed_scopes":["api:read"],"token_endpoint_auth_method":""}`,
		"not a string":          `{"client_name":"x","redirect_uris":["https://a.example/cb"],"allowed_scopes":["api:read"],"token_endpoint_auth_method":7}`,
	} {
		r := create(body)
		if r.Status != 400 || r.Object(t)["error"] != "invalid_request" {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	before := e.CountClients()

	patch := func(body string) servertest.Response {
		return e.Do("PATCH", "/v1/admin/oauth-clients/"+id, "application/merge-patch+json", tok, body)
	}
	if r := patch(`{"token_endpoint_auth_method":"client_secret_basic"}`); r.Status != 200 || method(r) != "client_secret_basic" {
		t.Errorf("PATCH to basic: %d %s", r.Status, r.Body)
	}
	if r := patch(`{"token_endpoint_auth_method":"client_secret_post"}`); r.Status != 200 || method(r) != "client_secret_post" {
		t.Errorf("PATCH to post: %d %s", r.Status, r.Body)
	}
	if r := patch(`{"token_endpoint_auth_method":null}`); r.Status != 200 || method(r) != "client_secret_basic" {
		t.Errorf("PATCH null resets to the default: %d %s", r.Status, r.Body)
	}
	if r := patch(`{"token_endpoint_auth_method":"none"}`); r.Status != 400 {
		t.Errorf("PATCH to none on a confidential client: %d %s", r.Status, r.Body)
	}
	if got := e.Do("GET", "/v1/admin/oauth-clients/"+id, "", tok, ""); method(got) != "client_secret_basic" {
		t.Errorf("a refused PATCH changed the method: %v", method(got))
	}
	if e.CountClients() != before {
		t.Error("a refused create stored a client")
	}
}

func TestTokenEndpointAuthMethodRFC7591(t *testing.T) {
	e := newEnv(t)
	tok := e.TokenWith("clients:create")
	r := e.Do("POST", "/oauth2/register", "application/json", tok,
		`{"grant_types":["client_credentials"],"scope":"api:read","token_endpoint_auth_method":"client_secret_post"}`)
	e.mustStatus(r, 201)
	m := r.Object(t)
	if m["token_endpoint_auth_method"] != "client_secret_post" {
		t.Errorf("registered method returned as %v", m["token_endpoint_auth_method"])
	}
	got := e.Do("GET", "/oauth2/register/"+m["client_id"].(string), "", m["registration_access_token"].(string), "")
	if got.Object(t)["token_endpoint_auth_method"] != "client_secret_post" {
		t.Errorf("RFC 7592 read returns %v: not stored", got.Object(t)["token_endpoint_auth_method"])
	}
	// Either secret method authenticates a secret client; none does not.
	id, secret := m["client_id"].(string), m["client_secret"].(string)
	e.mustStatus(e.clientToken(id, secret), 200)
	basic := e.Do("POST", "/oauth2/token", "application/x-www-form-urlencoded", "", "grant_type=client_credentials",
		"Authorization: "+servertest.BasicAuth(id, secret))
	e.mustStatus(basic, 200)
	none := e.Do("POST", "/oauth2/token", "application/x-www-form-urlencoded", "", url.Values{"grant_type": {"client_credentials"}, "client_id": {id}}.Encode())
	if none.Status != 401 || none.Object(t)["error"] != "invalid_client" {
		t.Errorf("method none for a secret client: %d %s", none.Status, none.Body)
	}
}
