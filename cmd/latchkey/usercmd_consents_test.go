package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/api/admin"
	"github.com/latchkey/latchkey/internal/consent"
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
	for _, c := range []string{"client-b", "client-a"} {
		if err := st.SaveConsent(context.Background(), consent.Grant{UserID: id, ClientID: c, BrandID: "default", Scopes: []string{"openid", "profile"}, UpdatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	var list consentsResponse
	d.okJSON(&list, "user", "consents", "ann", "--json")
	if len(list.Consents) != 2 || list.Consents[0].ClientID != "client-a" || strings.Join(list.Consents[0].Scopes, " ") != "openid profile" {
		t.Fatalf("consents: %+v", list)
	}
	if out := d.ok("user", "consents", id); !strings.Contains(out, "client-b") || !strings.Contains(out, "openid profile") {
		t.Errorf("table:\n%s", out)
	}
	if out := d.ok("user", "revoke-consent", "ann", "client-a"); !strings.Contains(out, "revoked 1") {
		t.Errorf("revoke one: %s", out)
	}
	if out := d.ok("user", "revoke-consent", id); !strings.Contains(out, "revoked 1") {
		t.Errorf("revoke all: %s", out)
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
}
