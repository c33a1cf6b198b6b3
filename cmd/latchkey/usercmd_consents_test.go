package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/api/admin"
	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/oauth2/grant/refresh"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// user consents lists a user's remembered consents; user revoke-consent
// forgets one or all; user get shows the brand.
func TestCLIUserConsents(t *testing.T) {
	d := newCLIDB(t)
	var created admin.UserJSON
	d.okJSON(&created, "user", "create", "--name", "ann", "--no-password", "--json")
	id := created.ID
	if created.BrandID != "default" || !strings.Contains(d.ok("user", "get", "ann"), "brand_id:") {
		t.Errorf("brand not shown: %+v", created)
	}
	st, err := sqlite.Open(context.Background(), d.path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, c := range []string{"client-b", "client-a"} {
		g := consent.Grant{UserID: id, ClientID: c, BrandID: "default", Scopes: []string{"openid", "profile"}, UpdatedAt: now}
		if c == "client-b" {
			g.Resources = []string{"https://mcp.example.com/mcp"}
		}
		if err := st.SaveConsent(context.Background(), g); err != nil {
			t.Fatal(err)
		}
		// A live grant (refresh token family) the consent let out.
		if err := st.CreateRefresh(context.Background(), refresh.Family{ID: "grant-" + c, ClientID: c, UserID: id, Scopes: []string{"openid", "offline_access"},
			AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour), IdleExpiresAt: now.Add(time.Hour), CurrentHash: "hash-" + c}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	grantRevoked := func(id string) bool {
		t.Helper()
		st, err := sqlite.Open(context.Background(), d.path)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		revoked, err := st.GrantRevoked(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return revoked
	}
	var list consentsResponse
	d.okJSON(&list, "user", "consents", "ann", "--json")
	if len(list.Consents) != 2 || list.Consents[0].ClientID != "client-a" || strings.Join(list.Consents[0].Scopes, " ") != "openid profile" ||
		list.Consents[0].Resources == nil || len(list.Consents[0].Resources) != 0 || strings.Join(list.Consents[1].Resources, " ") != "https://mcp.example.com/mcp" {
		t.Fatalf("consents: %+v", list)
	}
	if out := d.ok("user", "consents", id); !strings.Contains(out, "client-b") || !strings.Contains(out, "openid profile") ||
		!strings.Contains(out, "RESOURCES") || !strings.Contains(out, "https://mcp.example.com/mcp") {
		t.Errorf("table:\n%s", out)
	}
	if out := d.ok("user", "revoke-consent", "ann", "client-a"); !strings.Contains(out, "revoked 1 consent(s) and 1 grant(s)") {
		t.Errorf("revoke one: %s", out)
	}
	if !grantRevoked("grant-client-a") || grantRevoked("grant-client-b") {
		t.Error("revoking the consent to client-a did not revoke exactly client-a's grant")
	}
	if out := d.ok("user", "revoke-consent", id); !strings.Contains(out, "revoked 1 consent(s) and 1 grant(s)") {
		t.Errorf("revoke all: %s", out)
	}
	if !grantRevoked("grant-client-b") {
		t.Error("revoking every consent left client-b's grant")
	}
	raw := d.ok("user", "consents", "ann", "--json")
	if err := json.Unmarshal([]byte(raw), &list); err != nil || len(list.Consents) != 0 || !strings.Contains(raw, `"consents": []`) {
		t.Errorf("after revoking: %s", raw)
	}
	d.fails(2, "user", "revoke-consent")
	d.fails(2, "user", "revoke-consent", "ann", "a", "b")
	d.fails(1, "user", "consents", "nobody")
	if events, _ := d.audit("--action", "user.revoke_consent"); len(events) != 2 {
		t.Errorf("%d user.revoke_consent events, want 2", len(events))
	}
	if events, _ := d.audit("--action", "user.revoke_grants"); len(events) != 2 {
		t.Errorf("%d user.revoke_grants events, want 2", len(events))
	}
}
