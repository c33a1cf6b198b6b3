package admin

import (
	"slices"
	"testing"

	"github.com/latchkey/latchkey/internal/client"
)

// TestRouteScopesAreDefined holds the scopes the admin routes require and
// the client core's AdminScopes together: a route whose scope were not
// defined could never be called, and a defined admin scope no route
// requires would be a scope that grants nothing.
func TestRouteScopesAreDefined(t *testing.T) {
	routes := []string{ScopeClientsCreate, ScopeClientsRead, ScopeClientsUpdate, ScopeClientsDelete,
		ScopeUsersCreate, ScopeUsersRead, ScopeUsersUpdate, ScopeUsersDelete, ScopeKeysRotate, ScopeAuditRead,
		ScopeResourcesCreate, ScopeResourcesRead, ScopeResourcesUpdate, ScopeResourcesDelete,
		client.ScopeTokensIntrospect} // required by POST /oauth2/introspect to see others' tokens
	for _, sc := range routes {
		if !slices.Contains(client.AdminScopes, sc) {
			t.Errorf("route scope %q is not in client.AdminScopes", sc)
		}
		if !client.IsAdminScope(sc) {
			t.Errorf("route scope %q is not an admin scope", sc)
		}
	}
	for _, sc := range client.AdminScopes {
		if !slices.Contains(routes, sc) {
			t.Errorf("client.AdminScopes lists %q, which no admin route requires", sc)
		}
	}
}
