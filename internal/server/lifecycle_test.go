package server_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
)

// adminAll is every admin scope the lifecycle tests need.
var adminAll = []string{"clients:create", "clients:read", "clients:update", "clients:delete", "audit:read", "users:create"}

func (e *env) mustStatus(r servertest.Response, want int) {
	e.t.Helper()
	if r.Status != want {
		e.t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
}

// register creates a confidential client with client_credentials through
// the admin API and returns (id, client_id, secret).
func (e *env) register(tok, name string) (string, string, string) {
	e.t.Helper()
	body := fmt.Sprintf(`{"client_name":%q,"redirect_uris":["https://a.example/cb"],"allowed_scopes":["api:read","clients:read"]}`, name)
	r := e.Do("POST", "/v1/admin/oauth-clients", "application/json", tok, body)
	e.mustStatus(r, 201)
	m := r.Object(e.t)
	c := m["client"].(map[string]any)
	return c["id"].(string), c["client_id"].(string), m["client_secret"].(string)
}

// clientToken runs the token endpoint with client_secret_post.
func (e *env) clientToken(id, secret string) servertest.Response {
	e.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	return e.Do("POST", "/oauth2/token", "application/x-www-form-urlencoded", "", form.Encode())
}

func (e *env) accessToken(id, secret string) string {
	e.t.Helper()
	r := e.clientToken(id, secret)
	e.mustStatus(r, 200)
	return r.Object(e.t)["access_token"].(string)
}

func (e *env) active(callerID, callerSecret, tok string) bool {
	e.t.Helper()
	form := url.Values{"token": {tok}, "client_id": {callerID}, "client_secret": {callerSecret}}
	r := e.Do("POST", "/oauth2/introspect", "application/x-www-form-urlencoded", "", form.Encode())
	e.mustStatus(r, 200)
	return r.Object(e.t)["active"] == true
}

func TestListClientsPagination(t *testing.T) {
	e := newEnv(t)
	tok := e.TokenWith(adminAll...)
	for i := range 5 {
		e.register(tok, fmt.Sprintf("Paged %d", i))
		e.Clock.Advance(time.Millisecond)
	}
	var names []string
	path := "/v1/admin/oauth-clients?limit=2&name_prefix=Paged"
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		r := e.Do("GET", path, "", tok, "")
		e.mustStatus(r, 200)
		var body struct {
			Clients []struct {
				ClientName string `json:"client_name"`
			} `json:"clients"`
			NextCursor *string `json:"next_cursor"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		for _, c := range body.Clients {
			names = append(names, c.ClientName)
		}
		if body.NextCursor == nil {
			break
		}
		path = "/v1/admin/oauth-clients?limit=2&name_prefix=Paged&cursor=" + url.QueryEscape(*body.NextCursor)
	}
	if got := strings.Join(names, ","); got != "Paged 0,Paged 1,Paged 2,Paged 3,Paged 4" {
		t.Errorf("pages: %s", got)
	}
	for _, q := range []string{"limit=0", "limit=201", "limit=x", "cursor=garbage", "enabled=maybe", "client_type=private", "enabeld=false", "limit=1&limit=2"} {
		r := e.Do("GET", "/v1/admin/oauth-clients?"+q, "", tok, "")
		if r.Status != 400 || sortedKeys(r.Object(t)) != "error,message" {
			t.Errorf("?%s: %d %s", q, r.Status, r.Body)
		}
	}
	r := e.Do("GET", "/v1/admin/oauth-clients?enabled=false", "", tok, "")
	e.mustStatus(r, 200)
	if !strings.Contains(string(r.Body), `"clients":[]`) {
		t.Errorf("enabled=false should be empty: %s", r.Body)
	}
	if r := e.Do("GET", "/v1/admin/oauth-clients", "", e.TokenWith("clients:create"), ""); r.Status != 403 {
		t.Errorf("list without clients:read: %d", r.Status)
	}
}

func TestPatchClient(t *testing.T) {
	e := newEnv(t)
	tok := e.TokenWith(adminAll...)
	id, _, _ := e.register(tok, "Before")
	path := "/v1/admin/oauth-clients/" + id
	get := e.Do("GET", path, "", tok, "")
	e.mustStatus(get, 200)
	etag := get.Header.Get("ETag")
	if etag == "" {
		t.Fatal("GET sends no ETag")
	}
	e.Clock.Advance(time.Second)

	r := e.Do("PATCH", path, "application/merge-patch+json", tok, `{"client_name":"After","client_uri":"https://a.example","allowed_origins":["https://a.example"]}`, "If-Match: "+etag)
	e.mustStatus(r, 200)
	c := r.Object(t)["client"].(map[string]any)
	if c["client_name"] != "After" || c["client_uri"] != "https://a.example" || c["updated_at"] == c["created_at"] {
		t.Errorf("after patch: %v", c)
	}
	if r.Header.Get("ETag") == etag {
		t.Error("ETag did not change")
	}
	// The stale ETag now conflicts, and changes nothing.
	r = e.Do("PATCH", path, "application/json", tok, `{"client_name":"Lost"}`, "If-Match: "+etag)
	if r.Status != 409 {
		t.Errorf("stale If-Match: %d %s", r.Status, r.Body)
	}
	// null removes a nullable member; arrays are replaced whole.
	r = e.Do("PATCH", path, "application/json", tok, `{"client_uri":null,"redirect_uris":["https://b.example/cb","https://c.example/cb"]}`)
	e.mustStatus(r, 200)
	c = r.Object(t)["client"].(map[string]any)
	if c["client_uri"] != nil || c["client_name"] != "After" || len(c["redirect_uris"].([]any)) != 2 {
		t.Errorf("merge patch semantics: %v", c)
	}
	bad := []struct {
		name, ct, body string
		status         int
		header         string
	}{
		{"immutable client_id", "application/json", `{"client_id":"x"}`, 400, ""},
		{"immutable client_type", "application/json", `{"client_type":"public"}`, 400, ""},
		{"immutable created_at", "application/json", `{"created_at":"2020-01-01T00:00:00Z"}`, 400, ""},
		{"null client_name", "application/json", `{"client_name":null}`, 400, ""},
		{"empty client_name", "application/json", `{"client_name":""}`, 400, ""},
		{"bad redirect", "application/json", `{"redirect_uris":["http://evil.example/cb"]}`, 400, ""},
		{"no scopes", "application/json", `{"allowed_scopes":null}`, 400, ""},
		{"wrong type", "application/json", `{"enabled":"no"}`, 400, ""},
		{"null enabled", "application/json", `{"enabled":null}`, 400, ""},
		{"unknown member", "application/json", `{"colour":"red"}`, 400, ""},
		{"duplicate member", "application/json", `{"client_name":"A","client_name":"B"}`, 400, ""},
		{"admin scope not held", "application/json", `{"allowed_scopes":["keys:rotate"]}`, 403, ""},
		{"text/plain", "text/plain", `{}`, 415, ""},
		{"weak etag", "application/json", `{"client_name":"X"}`, 400, `If-Match: W/"1"`},
		{"unquoted etag", "application/json", `{"client_name":"X"}`, 400, `If-Match: 123`},
		{"oversized", "application/json", `{"client_name":"` + strings.Repeat("a", 70000) + `"}`, 413, ""},
	}
	before := e.Do("GET", path, "", tok, "").Body
	for _, b := range bad {
		var hs []string
		if b.header != "" {
			hs = append(hs, b.header)
		}
		r := e.Do("PATCH", path, b.ct, tok, b.body, hs...)
		if r.Status != b.status {
			t.Errorf("%s: %d, want %d: %s", b.name, r.Status, b.status, r.Body)
		} else if sortedKeys(r.Object(t)) != "error,message" {
			t.Errorf("%s: error shape %s", b.name, r.Body)
		}
	}
	if after := e.Do("GET", path, "", tok, "").Body; string(after) != string(before) {
		t.Errorf("failed patches changed the client:\n%s\n%s", before, after)
	}
	if r := e.Do("PATCH", "/v1/admin/oauth-clients/nope", "application/json", tok, `{"client_name":"X"}`); r.Status != 404 {
		t.Errorf("unknown id: %d", r.Status)
	}
	if r := e.Do("PATCH", path, "application/json", e.TokenWith("clients:read"), `{"client_name":"X"}`); r.Status != 403 {
		t.Errorf("without clients:update: %d", r.Status)
	}
}

func TestDisableAndDeleteStopTokens(t *testing.T) {
	e := newEnv(t)
	tok := e.TokenWith(adminAll...)
	// The observer may introspect any token (tokens:introspect); once the
	// victim is disabled it could not introspect its own.
	observer, observerKey := e.ServiceClient("observer", client.ScopeTokensIntrospect)
	obs, observerSecret := observer.ClientID, observerKey.Expose()
	id, clientID, secret := e.register(tok, "Victim")
	issued := e.accessToken(clientID, secret)
	if !e.active(obs, observerSecret, issued) {
		t.Fatal("fresh token inactive")
	}
	path := "/v1/admin/oauth-clients/" + id
	e.mustStatus(e.Do("PATCH", path, "application/json", tok, `{"enabled":false}`), 200)
	if e.active(obs, observerSecret, issued) {
		t.Error("token of a disabled client is active")
	}
	if r := e.clientToken(clientID, secret); r.Status != 401 || r.Object(t)["error"] != "invalid_client" {
		t.Errorf("disabled client got a token: %d %s", r.Status, r.Body)
	}
	// Its token is refused by the admin API too (it holds clients:read).
	if r := e.Do("GET", path, "", issued, ""); r.Status != 401 {
		t.Errorf("admin API accepted a disabled client's token: %d", r.Status)
	}
	e.mustStatus(e.Do("PATCH", path, "application/json", tok, `{"enabled":true}`), 200)
	if !e.active(obs, observerSecret, issued) {
		t.Error("re-enabled client's token is still inactive")
	}
	e.mustStatus(e.Do("DELETE", path, "", tok, ""), 204)
	if e.active(obs, observerSecret, issued) {
		t.Error("token of a deleted client is active")
	}
	if r := e.Do("GET", path, "", tok, ""); r.Status != 404 {
		t.Errorf("GET deleted: %d", r.Status)
	}
	if r := e.Do("DELETE", path, "", tok, ""); r.Status != 404 {
		t.Errorf("second DELETE: %d", r.Status)
	}
	if r := e.clientToken(clientID, secret); r.Status != 401 {
		t.Errorf("deleted client got a token: %d", r.Status)
	}
	if r := e.Do("DELETE", "/v1/admin/oauth-clients/x", "", e.TokenWith("clients:update"), ""); r.Status != 403 {
		t.Errorf("DELETE without clients:delete: %d", r.Status)
	}
}

func TestRotateSecretGracePeriod(t *testing.T) {
	e := newEnv(t)
	tok := e.TokenWith(adminAll...)
	id, clientID, old := e.register(tok, "Rotating")
	path := "/v1/admin/oauth-clients/" + id + "/secret"

	r := e.Do("POST", path, "application/json", tok, `{"grace_seconds":3600}`)
	e.mustStatus(r, 200)
	m := r.Object(t)
	fresh := m["client_secret"].(string)
	if fresh == old || m["previous_secret_expires_at"] == nil {
		t.Fatalf("rotation response: %s", r.Body)
	}
	e.mustStatus(e.clientToken(clientID, fresh), 200)
	e.mustStatus(e.clientToken(clientID, old), 200) // within the grace period
	e.Clock.Advance(59 * time.Minute)
	e.mustStatus(e.clientToken(clientID, old), 200)
	e.Clock.Advance(2 * time.Minute)
	if r := e.clientToken(clientID, old); r.Status != 401 {
		t.Errorf("old secret after grace: %d", r.Status)
	}
	e.mustStatus(e.clientToken(clientID, fresh), 200)
	tok = e.TokenWith(adminAll...) // the first one expired with the clock

	// Default grace is 24h; a second rotation leaves at most two live secrets.
	r = e.Do("POST", path, "", tok, "")
	e.mustStatus(r, 200)
	second := r.Object(t)["client_secret"].(string)
	r = e.Do("POST", path, "", tok, "")
	e.mustStatus(r, 200)
	third := r.Object(t)["client_secret"].(string)
	e.mustStatus(e.clientToken(clientID, third), 200)
	e.mustStatus(e.clientToken(clientID, second), 200)
	if r := e.clientToken(clientID, fresh); r.Status != 401 {
		t.Errorf("third-newest secret still works: %d", r.Status)
	}
	// grace 0 revokes the previous secret at once.
	r = e.Do("POST", path, "application/json", tok, `{"grace_seconds":0}`)
	e.mustStatus(r, 200)
	if r := e.clientToken(clientID, third); r.Status != 401 {
		t.Errorf("grace 0: previous secret still works: %d", r.Status)
	}
	for _, b := range []string{`{"grace_seconds":-1}`, `{"grace_seconds":99999999}`, `{"grace_seconds":"1"}`, `{"grace":1}`} {
		if r := e.Do("POST", path, "application/json", tok, b); r.Status != 400 {
			t.Errorf("%s: %d", b, r.Status)
		}
	}
	pub := e.Do("POST", "/v1/admin/oauth-clients", "application/json", tok, `{"client_name":"P","client_type":"public","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"]}`)
	e.mustStatus(pub, 201)
	pid := pub.Object(t)["client"].(map[string]any)["id"].(string)
	if r := e.Do("POST", "/v1/admin/oauth-clients/"+pid+"/secret", "", tok, ""); r.Status != 400 {
		t.Errorf("public client rotation: %d", r.Status)
	}
	if r := e.Do("POST", "/v1/admin/oauth-clients/nope/secret", "", tok, ""); r.Status != 404 {
		t.Errorf("unknown client rotation: %d", r.Status)
	}
}

func TestAuditTrail(t *testing.T) {
	e := newEnv(t)
	tok := e.TokenWith(adminAll...)
	id, _, secret := e.register(tok, "Audited")
	path := "/v1/admin/oauth-clients/" + id
	e.mustStatus(e.Do("PATCH", path, "application/json", tok, `{"client_name":"Audited 2"}`), 200)
	e.mustStatus(e.Do("PATCH", path, "application/json", tok, `{"enabled":false}`), 200)
	e.mustStatus(e.Do("PATCH", path, "application/json", tok, `{"enabled":true}`), 200)
	rot := e.Do("POST", path+"/secret", "", tok, "")
	e.mustStatus(rot, 200)
	newSecret := rot.Object(t)["client_secret"].(string)
	e.mustStatus(e.Do("POST", "/v1/admin/users", "application/json", tok, `{"username":"bob","password":"correct horse battery"}`), 201)
	e.mustStatus(e.Do("DELETE", path, "", tok, ""), 204)

	r := e.Do("GET", "/v1/admin/audit?target_id="+id, "", tok, "")
	e.mustStatus(r, 200)
	var body struct {
		Events []struct {
			Action string `json:"action"`
			Actor  struct {
				Subject string `json:"subject"`
			} `json:"actor"`
			Details map[string]any `json:"details"`
		} `json:"events"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range body.Events {
		actions = append(actions, ev.Action)
		if ev.Actor.Subject == "" {
			t.Errorf("%s has no actor", ev.Action)
		}
	}
	want := "client.delete,client.rotate_secret,client.enable,client.disable,client.update,client.create"
	if got := strings.Join(actions, ","); got != want {
		t.Errorf("actions newest first: %s\nwant %s", got, want)
	}
	if d, _ := body.Events[4].Details["client_name"].(map[string]any); d["from"] != "Audited" || d["to"] != "Audited 2" {
		t.Errorf("update diff: %v", body.Events[4].Details)
	}
	all := e.Do("GET", "/v1/admin/audit?limit=200", "", tok, "")
	e.mustStatus(all, 200)
	for _, s := range []string{secret, newSecret, "correct horse", "argon2", "hash"} {
		if strings.Contains(string(all.Body), s) || strings.Contains(e.Logs.String(), s) {
			t.Errorf("audit trail or logs contain %q", s)
		}
	}
	if !strings.Contains(e.Logs.String(), `"action":"client.rotate_secret"`) {
		t.Error("no structured log line for the rotation event")
	}
	if r := e.Do("GET", "/v1/admin/audit?action=user.create", "", tok, ""); !strings.Contains(string(r.Body), `"user.create"`) {
		t.Errorf("user.create not audited: %s", r.Body)
	}
	// Pagination.
	p1 := e.Do("GET", "/v1/admin/audit?limit=2", "", tok, "")
	e.mustStatus(p1, 200)
	next, _ := p1.Object(t)["next_cursor"].(string)
	if next == "" {
		t.Fatal("no next_cursor")
	}
	p2 := e.Do("GET", "/v1/admin/audit?limit=2&cursor="+url.QueryEscape(next), "", tok, "")
	e.mustStatus(p2, 200)
	if string(p1.Body) == string(p2.Body) {
		t.Error("second page equals the first")
	}
	if r := e.Do("GET", "/v1/admin/audit", "", e.TokenWith("clients:read"), ""); r.Status != 403 {
		t.Errorf("audit without audit:read: %d", r.Status)
	}
	if r := e.Do("GET", "/v1/admin/audit?nope=1", "", tok, ""); r.Status != 400 {
		t.Errorf("unknown audit filter: %d", r.Status)
	}
}

// TestCannotManageMorePowerfulClients: a caller holding clients:update and
// clients:delete but not the admin's other scopes must not be able to
// rotate the admin's secret (and so become the admin), disable, edit or
// delete it; it may still manage ordinary clients and itself.
func TestCannotManageMorePowerfulClients(t *testing.T) {
	e := newEnv(t)
	root := e.TokenWith(append(adminAll, "keys:rotate")...)
	adminID, _, _ := e.register(root, "Admin")
	e.mustStatus(e.Do("PATCH", "/v1/admin/oauth-clients/"+adminID, "application/json", root, `{"allowed_scopes":["clients:read","keys:rotate","users:create"]}`), 200)
	plainID, _, _ := e.register(root, "Plain")

	limitedBody := `{"client_name":"Limited","redirect_uris":["https://a.example/cb"],"allowed_scopes":["clients:read","clients:update","clients:delete"]}`
	r := e.Do("POST", "/v1/admin/oauth-clients", "application/json", root, limitedBody)
	e.mustStatus(r, 201)
	m := r.Object(t)
	limitedID := m["client"].(map[string]any)["id"].(string)
	limitedClientID := m["client"].(map[string]any)["client_id"].(string)
	limited := e.accessToken(limitedClientID, m["client_secret"].(string))

	admin := "/v1/admin/oauth-clients/" + adminID
	for _, attempt := range []struct{ method, path, body string }{
		{"POST", admin + "/secret", `{"grace_seconds":0}`},
		{"PATCH", admin, `{"enabled":false}`},
		{"PATCH", admin, `{"client_name":"Mine now"}`},
		{"PATCH", admin, `{"redirect_uris":["https://attacker.example/cb"]}`},
		{"DELETE", admin, ""},
	} {
		ct := ""
		if attempt.body != "" {
			ct = "application/json"
		}
		r := e.Do(attempt.method, attempt.path, ct, limited, attempt.body)
		if r.Status != 403 || r.Object(t)["error"] != "insufficient_privilege" {
			t.Errorf("%s %s by a less privileged caller: %d %s", attempt.method, attempt.path, r.Status, r.Body)
		}
	}
	if r := e.Do("GET", admin, "", root, ""); r.Object(t)["client"].(map[string]any)["enabled"] != true {
		t.Fatal("the admin client was changed")
	}
	// Ordinary clients and the caller itself remain manageable.
	e.mustStatus(e.Do("POST", "/v1/admin/oauth-clients/"+plainID+"/secret", "", limited, ""), 200)
	e.mustStatus(e.Do("PATCH", "/v1/admin/oauth-clients/"+plainID, "application/json", limited, `{"enabled":false}`), 200)
	e.mustStatus(e.Do("POST", "/v1/admin/oauth-clients/"+limitedID+"/secret", "", limited, ""), 200)
	e.mustStatus(e.Do("DELETE", "/v1/admin/oauth-clients/"+plainID, "", limited, ""), 204)
}

// TestRemovedScopesLeaveIssuedTokens: narrowing a client's allowed scopes
// narrows the tokens it already holds (admin API and introspection).
func TestRemovedScopesLeaveIssuedTokens(t *testing.T) {
	e := newEnv(t)
	root := e.TokenWith(adminAll...)
	id, clientID, secret := e.register(root, "Narrowed") // api:read clients:read
	tok := e.accessToken(clientID, secret)
	e.mustStatus(e.Do("GET", "/v1/admin/oauth-clients/"+id, "", tok, ""), 200)
	e.mustStatus(e.Do("PATCH", "/v1/admin/oauth-clients/"+id, "application/json", root, `{"allowed_scopes":["api:read"]}`), 200)
	if r := e.Do("GET", "/v1/admin/oauth-clients/"+id, "", tok, ""); r.Status != 403 {
		t.Errorf("a token whose client lost clients:read still reads: %d", r.Status)
	}
	// The client itself introspects its token (only its parties may).
	r := e.Do("POST", "/oauth2/introspect", "application/x-www-form-urlencoded", "", "token="+tok,
		basicHeader(clientID, secret))
	e.mustStatus(r, 200)
	if m := r.Object(t); m["active"] != true || m["scope"] != "api:read" {
		t.Errorf("introspection after narrowing: %s", r.Body)
	}
}

func TestKeyRotationIsAudited(t *testing.T) {
	e := newEnv(t)
	tok := e.TokenWith("keys:rotate", "audit:read")
	if r := e.Do("POST", "/v1/admin/keys/rotate", "application/json", tok, `{"publish_delay_seconds":5}`); r.Status != 400 {
		t.Errorf("a body that would be ignored: %d", r.Status)
	}
	r := e.Do("POST", "/v1/admin/keys/rotate", "", tok, "")
	e.mustStatus(r, 201)
	r = e.Do("GET", "/v1/admin/audit?action=key.rotate", "", tok, "")
	e.mustStatus(r, 200)
	evs := r.Object(t)["events"].([]any)
	if len(evs) != 2 {
		t.Fatalf("key.rotate events: %s; want one per algorithm", r.Body)
	}
	algs := map[any]bool{}
	for _, e := range evs {
		ev := e.(map[string]any)
		if ev["target"].(map[string]any)["type"] != "key" || ev["actor"].(map[string]any)["subject"] == "" {
			t.Errorf("event: %v", ev)
		}
		algs[ev["details"].(map[string]any)["alg"]] = true
	}
	if !algs["RS256"] || !algs["ES256"] {
		t.Errorf("rotated algorithms %v, want RS256 and ES256", algs)
	}
	if strings.Contains(string(r.Body), "PRIVATE") || strings.Contains(string(r.Body), `"d"`) {
		t.Error("key material in the audit trail")
	}
}

// server.Options.TokenLeeway reaches the issuer that guards the admin API:
// an admin token expired by less than the leeway still works, one expired
// by more is refused.
func TestTokenLeewayIsWired(t *testing.T) {
	e := servertest.New(t, func(o *server.Options) { o.TokenLeeway = 5 * time.Second })
	tok := e.TokenWith("clients:read") // an hour's lifetime
	list := func() int { return e.Do("GET", "/v1/admin/oauth-clients", "", tok, "").Status }
	e.Clock.Advance(time.Hour + 4*time.Second)
	if got := list(); got != 200 {
		t.Errorf("expired 4s ago, leeway 5s: %d, want 200", got)
	}
	e.Clock.Advance(2 * time.Second)
	if got := list(); got != 401 {
		t.Errorf("expired 6s ago, leeway 5s: %d, want 401", got)
	}
}
