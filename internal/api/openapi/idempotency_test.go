package openapi_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/api/register"
	"github.com/latchkey/latchkey/internal/server"
)

// TestIdempotencyTrafficMatchesDocument drives Idempotency-Key through
// every operation that takes it: first answer, replay, another request
// (422), a malformed key (400) and a retry after the replay window (409),
// each exchange validated against the document.
func TestIdempotencyTrafficMatchesDocument(t *testing.T) {
	for _, mode := range []register.Mode{register.ModeToken, register.ModeOpen} {
		t.Run(string(mode), func(t *testing.T) {
			e := newEnvWith(t, func(o *server.Options) { o.Registration = mode })
			admin, secret := rootClient(t, e, "admin", "clients:create", "clients:update", "users:create")
			token := func() string {
				t.Helper()
				r := e.do(call{name: "admin token", path: "/oauth2/token", ctype: formCT, basic: []string{admin, secret},
					body: form("grant_type", "client_credentials", "scope", "clients:create clients:update users:create"), want: 200})
				return str(r.Object(t), "access_token")
			}
			rotated, _ := e.ServiceClient("rotated", "x")
			ops := []struct{ path, body, other string }{
				{"/v1/admin/oauth-clients", `{"client_name":"A","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"]}`,
					`{"client_name":"B","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"]}`},
				{"/v1/admin/oauth-clients/" + rotated.ID + "/secret", `{"grace_seconds":60}`, `{"grace_seconds":0}`},
				{"/v1/admin/users", `{"username":"bot-a","bot":true}`, `{"username":"bot-b","bot":true}`},
				{"/api/clients", `{"client_name":"A","redirect_uri":"https://a.example/cb","grant_types":"authorization_code","is_confidential":true}`,
					`{"client_name":"B","redirect_uri":"https://a.example/cb","grant_types":"authorization_code","is_confidential":true}`},
				{"/api/v1/auth/clients", `{"displayName":"A","redirectUri":"https://a.example/cb","m2m":false}`,
					`{"displayName":"B","redirectUri":"https://a.example/cb","m2m":false}`},
				{"/oauth2/register", `{"redirect_uris":["https://a.example/cb"]}`, `{"redirect_uris":["https://b.example/cb"]}`},
			}
			key := func(k string) http.Header { return http.Header{"Idempotency-Key": {k}} }
			tok := token()
			for i, op := range ops {
				k := fmt.Sprintf("k-%d", i) // a key is the caller's, whatever the path
				first := e.do(call{name: "first", path: op.path, ctype: jsonCT, bearer: tok, body: op.body, header: key(`"` + k + `"`)})
				if first.Status/100 != 2 {
					t.Fatalf("%s first: %d %s", op.path, first.Status, first.Body)
				}
				e.do(call{name: "replay", path: op.path, ctype: jsonCT, bearer: tok, body: op.body, header: key(`"` + k + `"`), want: first.Status})
				e.do(call{name: "another request", path: op.path, ctype: jsonCT, bearer: tok, body: op.other, header: key(k), want: 422})
				e.do(call{name: "malformed key", path: op.path, ctype: jsonCT, bearer: tok, body: op.body, header: key(`"unterminated`), want: 400})
			}
			e.Clock.Advance(time.Hour)
			tok = token()
			for i, op := range ops {
				e.do(call{name: "after the replay window", path: op.path, ctype: jsonCT, bearer: tok, body: op.body, header: key(fmt.Sprintf("k-%d", i)), want: 409})
			}
		})
	}
}
