package openapi_test

import (
	"net/url"
	"strings"
	"testing"
)

// resourceTraffic exercises the resources routes (RFC 8707) for the
// traffic test, each answer validated against the document.
func resourceTraffic(t *testing.T, e *env) {
	t.Helper()
	id, secret := rootClient(t, e, "resources admin", "resources:create", "resources:read", "resources:update", "resources:delete")
	tok := func(scope string) string {
		r := e.do(call{name: "resources token " + scope, path: "/oauth2/token", ctype: formCT, basic: []string{id, secret},
			body: form("grant_type", "client_credentials", "scope", scope), want: 200})
		return str(r.Object(t), "access_token")
	}
	full := tok("resources:create resources:read resources:update resources:delete")
	readOnly := tok("resources:read")
	res := func(c call) map[string]any {
		t.Helper()
		if c.path == "" {
			c.path = "/v1/admin/resources"
		}
		if c.method == "" && c.ctype == "" {
			c.ctype = jsonCT
		}
		r := e.do(c)
		if r.Status >= 300 || len(r.Body) == 0 {
			return nil
		}
		return r.Object(t)
	}
	created := res(call{name: "create", bearer: full, body: `{"identifier":"https://mcp.example.com/mcp","name":"Example MCP server","scopes":["mcp:tools"],"access_token_ttl":300}`, want: 201})
	rid := str(created["resource"].(map[string]any), "id")
	res(call{name: "second", bearer: full, body: `{"identifier":"urn:example:api","name":"API"}`, want: 201})
	res(call{name: "conflict (host case)", bearer: full, body: `{"identifier":"https://MCP.example.com/mcp","name":"dup"}`, want: 409})
	res(call{name: "fragment", bearer: full, body: `{"identifier":"https://x.example/#f","name":"x"}`, want: 400})
	res(call{name: "no name", bearer: full, body: `{"identifier":"https://x.example/"}`, want: 400, malformed: "body"})
	res(call{name: "server-set id", bearer: full, body: `{"identifier":"https://x.example/","name":"x","id":"a"}`, want: 400, malformed: "body"})
	res(call{name: "no token", body: `{"identifier":"https://x.example/","name":"x"}`, want: 401})
	res(call{name: "lacks resources:create", bearer: readOnly, body: `{"identifier":"https://x.example/","name":"x"}`, want: 403})
	res(call{name: "text/plain", ctype: "text/plain", bearer: full, body: `{}`, want: 415, malformed: "body"})
	res(call{name: "oversized", bearer: full, body: `{"identifier":"https://x.example/","name":"` + strings.Repeat("a", 70<<10) + `"}`, want: 413, malformed: "body"})
	page := res(call{name: "list, limit 1", method: "GET", path: "/v1/admin/resources?limit=1", bearer: readOnly, want: 200})
	res(call{name: "list, next", method: "GET", path: "/v1/admin/resources?limit=1&cursor=" + url.QueryEscape(str(page, "next_cursor")), bearer: readOnly, want: 200})
	res(call{name: "list, limit 0", method: "GET", path: "/v1/admin/resources?limit=0", bearer: readOnly, want: 400, malformed: "query"})
	res(call{name: "list, no token", method: "GET", want: 401})
	res(call{name: "list, lacks resources:read", method: "GET", bearer: tok("resources:delete"), want: 403})
	res(call{name: "get", method: "GET", path: "/v1/admin/resources/" + rid, bearer: readOnly, want: 200})
	res(call{name: "get unknown", method: "GET", path: "/v1/admin/resources/nope", bearer: readOnly, want: 404})
	res(call{name: "get, no token", method: "GET", path: "/v1/admin/resources/" + rid, want: 401})
	res(call{name: "get, lacks resources:read", method: "GET", path: "/v1/admin/resources/" + rid, bearer: tok("resources:create"), want: 403})
	patch := func(name, path, token, body string, want int, malformed string) {
		res(call{name: name, method: "PATCH", path: path, ctype: "application/merge-patch+json", bearer: token, body: body, want: want, malformed: malformed})
	}
	patch("patch ttl", "/v1/admin/resources/"+rid, full, `{"access_token_ttl":600}`, 200, "")
	patch("patch to a taken identifier", "/v1/admin/resources/"+rid, full, `{"identifier":"urn:example:api"}`, 409, "")
	patch("patch name null", "/v1/admin/resources/"+rid, full, `{"name":null}`, 400, "body")
	patch("patch unknown", "/v1/admin/resources/nope", full, `{"name":"x"}`, 404, "")
	patch("patch, no token", "/v1/admin/resources/"+rid, "", `{"name":"x"}`, 401, "")
	patch("patch, lacks resources:update", "/v1/admin/resources/"+rid, readOnly, `{"name":"x"}`, 403, "")
	res(call{name: "patch text/plain", method: "PATCH", path: "/v1/admin/resources/" + rid, ctype: "text/plain", bearer: full, body: `{}`, want: 415, malformed: "body"})
	patch("patch oversized", "/v1/admin/resources/"+rid, full, `{"name":"`+strings.Repeat("a", 70<<10)+`"}`, 413, "body")
	// A token for the resource (whose scope a client may now hold), then
	// introspected (a resource audience).
	id, secret = rootClient(t, e, "agent", "mcp:tools")
	r := e.do(call{name: "token for a resource", path: "/oauth2/token", ctype: formCT, basic: []string{id, secret},
		body: form("grant_type", "client_credentials", "scope", "mcp:tools", "resource", "https://mcp.example.com/mcp"), want: 200})
	e.do(call{name: "introspect a resource token", path: "/oauth2/introspect", ctype: formCT, basic: []string{id, secret},
		body: form("token", str(r.Object(t), "access_token")), want: 200})
	e.do(call{name: "unregistered resource", path: "/oauth2/token", ctype: formCT, basic: []string{id, secret},
		body: form("grant_type", "client_credentials", "resource", "https://unknown.example/"), want: 400})
	res(call{name: "delete, lacks resources:delete", method: "DELETE", path: "/v1/admin/resources/" + rid, bearer: readOnly, want: 403})
	res(call{name: "delete, no token", method: "DELETE", path: "/v1/admin/resources/" + rid, want: 401})
	res(call{name: "delete", method: "DELETE", path: "/v1/admin/resources/" + rid, bearer: full, want: 204})
	res(call{name: "delete again", method: "DELETE", path: "/v1/admin/resources/" + rid, bearer: full, want: 404})
}
