package server_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
)

// TestUndefinedScopesRefusedByEveryDialect: a caller holding only
// clients:create cannot give a client a scope the server does not define
// (issue 11: ["clients:create", "admin"] was accepted). Each dialect that
// carries scopes refuses in its own shape and says how to define one.
func TestUndefinedScopesRefusedByEveryDialect(t *testing.T) {
	e := servertest.New(t)
	tok := e.TokenWith("clients:create", "clients:update")
	tests := []struct {
		name, method, path, contentType, body string
		status                                int
		code                                  string // the error member
	}{
		{"admin create", "POST", "/v1/admin/oauth-clients", "application/json",
			`{"client_name":"x","redirect_uris":["https://a.example/cb"],"allowed_scopes":["clients:create","admin"]}`, 400, "invalid_scope"},
		{"admin create undefined only", "POST", "/v1/admin/oauth-clients", "application/json",
			`{"client_name":"x","redirect_uris":["https://a.example/cb"],"allowed_scopes":["reports:write"]}`, 400, "invalid_scope"},
		{"rfc 7591", "POST", "/oauth2/register", "application/json",
			`{"client_name":"x","redirect_uris":["https://a.example/cb"],"scope":"openid admin"}`, 400, "invalid_client_metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.CountClients()
			res := e.Do(tt.method, tt.path, tt.contentType, tok, tt.body)
			if res.Status != tt.status {
				t.Fatalf("%d %s, want %d", res.Status, res, tt.status)
			}
			m := res.Object(t)
			if m["error"] != tt.code {
				t.Errorf("error %v, want %s", m["error"], tt.code)
			}
			msg, _ := m["message"].(string)
			if msg == "" {
				msg, _ = m["error_description"].(string)
			}
			if !strings.Contains(msg, "--scopes") {
				t.Errorf("message %q does not say how to define a scope", msg)
			}
			if e.CountClients() != before {
				t.Error("a refused client was stored")
			}
		})
	}

	// An update that adds an undefined scope is refused the same way.
	res := e.Do("POST", "/v1/admin/oauth-clients", "application/json", tok,
		`{"client_name":"x","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"]}`)
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res)
	}
	id := res.Object(t)["client"].(map[string]any)["id"].(string)
	res = e.Do("PATCH", "/v1/admin/oauth-clients/"+id, "application/merge-patch+json", tok, `{"allowed_scopes":["openid","admin"]}`)
	if res.Status != http.StatusBadRequest || res.Object(t)["error"] != "invalid_scope" {
		t.Fatalf("patch: %d %s, want 400 invalid_scope", res.Status, res)
	}
}

// TestDiscoveryListsDefinedScopes: scopes_supported is the catalog the
// server enforces, derived, never written by hand.
func TestDiscoveryListsDefinedScopes(t *testing.T) {
	e := servertest.New(t, func(o *server.Options) { o.Scopes = []string{"api:public", "reports:read"} })
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		res := e.Do("GET", path, "", "", "")
		var doc struct {
			Scopes []string `json:"scopes_supported"`
		}
		if err := json.Unmarshal(res.Body, &doc); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"openid", "offline_access", "clients:create", "audit:read", "api:public", "reports:read"} {
			if !slices.Contains(doc.Scopes, want) {
				t.Errorf("%s: scopes_supported %v lacks %q", path, doc.Scopes, want)
			}
		}
		if slices.Contains(doc.Scopes, "api:read") {
			t.Errorf("%s: scopes_supported %v lists a scope the server does not define", path, doc.Scopes)
		}
	}
}

// TestAssembleRefusesUndefinedDefaultScopes: a default client scope the
// server does not define would hand every seed 000 and 002 client a scope
// that cannot exist, so the server does not start.
func TestAssembleRefusesUndefinedDefaultScopes(t *testing.T) {
	o := server.Options{DefaultScopes: []string{"openid", "api:public"}, Scopes: []string{"reports:read"}}
	_, err := server.Assemble(t.Context(), o)
	if err == nil || !strings.Contains(err.Error(), "api:public") || !strings.Contains(err.Error(), "--scopes") {
		t.Fatalf("Assemble = %v, want an error naming api:public and --scopes", err)
	}
}

// TestAllowUndefinedScopesWarns: the migration escape hatch works, and
// says so loudly at start.
func TestAllowUndefinedScopesWarns(t *testing.T) {
	e := servertest.New(t, func(o *server.Options) { o.AllowUndefinedScopes = true })
	if !strings.Contains(e.Logs.String(), `"level":"WARN"`) || !strings.Contains(e.Logs.String(), "--allow-undefined-scopes") {
		t.Errorf("no warning at start; logs: %s", e.Logs)
	}
	res := e.Do("POST", "/v1/admin/oauth-clients", "application/json", e.TokenWith("clients:create"),
		`{"client_name":"x","redirect_uris":["https://a.example/cb"],"allowed_scopes":["legacy:read"]}`)
	if res.Status != http.StatusCreated {
		t.Errorf("undefined scope with --allow-undefined-scopes: %d %s, want 201", res.Status, res)
	}
}
