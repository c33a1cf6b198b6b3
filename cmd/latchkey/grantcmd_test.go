package main

import (
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/api/admin"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/oauth2/grant/refresh"
)

// TestCLIUserGrants: `user grants` lists a user's live grants and
// `user revoke-grants` revokes one or all, recording the revocation that
// access tokens are checked against.
func TestCLIUserGrants(t *testing.T) {
	d := newCLIDB(t)
	d.ok("user", "create", "--name", "gina", "--no-password")
	gina := getUser(t, d, "gina")
	st := openCLIStore(t, d)
	now := time.Now()
	for _, id := range []string{"g-old", "g-new"} {
		f := refresh.Family{ID: id, ClientID: "app", UserID: gina.ID, Scopes: []string{"openid", "offline_access"},
			CreatedAt: now, ExpiresAt: now.Add(time.Hour), IdleExpiresAt: now.Add(time.Hour), CurrentHash: "hash-" + id}
		if id == "g-new" {
			f.CreatedAt = now.Add(time.Second)
		}
		if err := st.CreateRefresh(t.Context(), f); err != nil {
			t.Fatal(err)
		}
	}
	var list struct{ Grants []admin.GrantJSON }
	d.okJSON(&list, "user", "grants", "gina", "--json")
	if len(list.Grants) != 2 || list.Grants[0].ID != "g-new" || list.Grants[1].ClientID != "app" {
		t.Fatalf("grants: %+v", list.Grants)
	}
	if out := d.ok("user", "grants", gina.ID); !strings.Contains(out, "g-old") || !strings.Contains(out, "openid offline_access") || strings.Contains(out, "hash-") {
		t.Errorf("grants table:\n%s", out)
	}
	if out := d.ok("user", "revoke-grants", "gina", "--grant", "g-old"); !strings.Contains(out, "revoked 1 grant") {
		t.Errorf("revoke one: %s", out)
	}
	if msg, _ := d.fails(1, "user", "revoke-grants", "gina", "--grant", "g-old"); !strings.Contains(msg, "no live grant") {
		t.Errorf("revoke a revoked grant: %s", msg)
	}
	if out := d.ok("user", "revoke-grants", "gina"); !strings.Contains(out, "revoked 1 grant") {
		t.Errorf("revoke all: %s", out)
	}
	for _, id := range []string{"g-old", "g-new"} {
		if r, err := st.GrantRevoked(t.Context(), id); err != nil || !r {
			t.Errorf("grant %s not recorded revoked: %v", id, err)
		}
	}
	evs, err := st.ListAudit(t.Context(), audit.Filter{Action: audit.UserRevokeGrants})
	if err != nil || len(evs) != 2 || evs[0].ActorSubject != "cli" || evs[0].TargetID != gina.ID || !strings.Contains(string(evs[0].Details), "g-new") {
		t.Errorf("audit: %+v, %v", evs, err)
	}
	d.okJSON(&list, "user", "grants", "gina", "--json")
	if len(list.Grants) != 0 {
		t.Errorf("grants after revoking all: %+v", list.Grants)
	}
	if msg, _ := d.fails(1, "user", "grants", "nobody"); !strings.Contains(msg, "no user") {
		t.Errorf("unknown user: %s", msg)
	}
	d.fails(2, "user", "grants")
	d.fails(2, "user", "revoke-grants")
}
