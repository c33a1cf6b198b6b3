package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/resource"
)

func TestCLIResource(t *testing.T) {
	d := newCLIDB(t)
	out := d.ok("resource", "create", "--identifier", "HTTPS://MCP.Example.com/mcp", "--name", "Tools", "--scopes", "mcp:tools mcp:admin", "--access-token-ttl", "5m", "--json")
	var created struct {
		Resource struct{ ID, Identifier string }
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Resource.Identifier != "https://mcp.example.com/mcp" {
		t.Fatalf("create: %s %v", out, err)
	}
	id := created.Resource.ID
	d.ok("resource", "create", "--identifier", "urn:example:two", "--name", "Two")
	// A resource's scopes are defined: a client may now hold them.
	d.ok("client", "create", "--name", "agent", "--grant-types", "client_credentials", "--scopes", "mcp:tools")
	if msg, _ := d.fails(2, "client", "create", "--name", "x", "--grant-types", "client_credentials", "--scopes", "mcp:nobody"); !strings.Contains(msg, "not defined") {
		t.Errorf("undefined scope: %s", msg)
	}
	// Refused: duplicates (in another case), bad identifiers, bad TTLs,
	// missing flags.
	for _, tc := range []struct {
		code int
		args []string
		want string
	}{
		{1, []string{"resource", "create", "--identifier", "https://mcp.EXAMPLE.com/mcp", "--name", "dup"}, "another resource"},
		{2, []string{"resource", "create", "--identifier", "https://x.example/#f", "--name", "x"}, "--identifier"},
		{2, []string{"resource", "create", "--identifier", "https://x.example/", "--name", "x", "--access-token-ttl", "1500ms"}, "--access-token-ttl"},
		{2, []string{"resource", "create", "--name", "x"}, "--identifier and --name"},
		{2, []string{"resource", "update", id}, "nothing to change"},
		{1, []string{"resource", "get", "nope"}, "no resource"},
		{2, []string{"resource", "frobnicate"}, "unknown resource subcommand"},
		{2, []string{"resource", "list", "--limit", "0"}, "--limit"},
	} {
		msg, _ := d.fails(tc.code, tc.args...)
		if !strings.Contains(msg, tc.want) {
			t.Errorf("%v: %q, want it to mention %q", tc.args, msg, tc.want)
		}
	}
	// get by id or by identifier in any case of scheme and host.
	for _, ref := range []string{id, "https://MCP.example.com/mcp"} {
		if out := d.ok("resource", "get", ref); !strings.Contains(out, "mcp:admin mcp:tools") || !strings.Contains(out, "5m0s") {
			t.Errorf("get %s: %s", ref, out)
		}
	}
	out = d.ok("resource", "update", id, "--scopes", "", "--access-token-ttl", "0", "--name", "Renamed", "--json")
	var upd struct {
		Resource struct {
			Name           string
			Scopes         []string
			AccessTokenTTL int `json:"access_token_ttl"`
		}
	}
	if err := json.Unmarshal([]byte(out), &upd); err != nil || upd.Resource.Name != "Renamed" || len(upd.Resource.Scopes) != 0 || upd.Resource.AccessTokenTTL != 0 {
		t.Errorf("update: %s", out)
	}
	out = d.ok("resource", "list", "--limit", "1", "--all")
	if !strings.Contains(out, "urn:example:two") || !strings.Contains(out, "https://mcp.example.com/mcp") {
		t.Errorf("list --all: %s", out)
	}
	d.ok("resource", "delete", "urn:example:two")
	if msg, _ := d.fails(1, "resource", "get", "urn:example:two"); !strings.Contains(msg, "no resource") {
		t.Errorf("deleted resource still found: %s", msg)
	}
	st := openCLIStore(t, d)
	for action, want := range map[string]int{resource.AuditCreate: 2, resource.AuditUpdate: 1, resource.AuditDelete: 1} {
		evs, err := st.ListAudit(t.Context(), audit.Filter{Action: action})
		if err != nil || len(evs) != want || evs[0].ActorSubject != "cli" {
			t.Errorf("%s: %d events, %v", action, len(evs), err)
		}
	}
}
