package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/store"
)

func testConsents(t *testing.T, s store.Store) {
	if _, err := s.GetConsent(ctx(t), "u1", "c1"); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("GetConsent before any: %v", err)
	}
	g := consent.Grant{UserID: "u1", ClientID: "c1", Scopes: []string{"api:read", "openid"}, UpdatedAt: base}
	if err := s.SaveConsent(ctx(t), g); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetConsent(ctx(t), "u1", "c1"); err != nil || !reflect.DeepEqual(got, g) {
		t.Errorf("GetConsent = %+v, %v; want %+v", got, err, g)
	}
	// Another user, another client: separate grants.
	other := consent.Grant{UserID: "u2", ClientID: "c1", Scopes: []string{"openid"}, UpdatedAt: base}
	if err := s.SaveConsent(ctx(t), other); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetConsent(ctx(t), "u1", "c2"); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("GetConsent of another client: %v", err)
	}
	// Saving again replaces the grant.
	g.Scopes, g.UpdatedAt = []string{"api:read", "email", "openid"}, base.Add(time.Hour)
	if err := s.SaveConsent(ctx(t), g); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetConsent(ctx(t), "u1", "c1"); err != nil || !reflect.DeepEqual(got, g) {
		t.Errorf("GetConsent after replace = %+v, %v; want %+v", got, err, g)
	}
	// RFC 8707 resources round-trip, in GetConsent and ListConsents, and
	// a later save replaces them too (back to none).
	g.Resources, g.UpdatedAt = []string{"https://a.example/mcp", "urn:example:b"}, base.Add(2*time.Hour)
	if err := s.SaveConsent(ctx(t), g); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetConsent(ctx(t), "u1", "c1"); err != nil || !reflect.DeepEqual(got, g) {
		t.Errorf("GetConsent with resources = %+v, %v; want %+v", got, err, g)
	}
	if list, err := s.ListConsents(ctx(t), "u1"); err != nil || len(list) != 1 || !reflect.DeepEqual(list[0], g) {
		t.Errorf("ListConsents with resources = %+v, %v; want [%+v]", list, err, g)
	}
	g.Resources, g.UpdatedAt = nil, base.Add(3*time.Hour)
	if err := s.SaveConsent(ctx(t), g); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetConsent(ctx(t), "u1", "c1"); err != nil || !reflect.DeepEqual(got, g) {
		t.Errorf("GetConsent after dropping resources = %+v, %v; want %+v", got, err, g)
	}
	if got, err := s.GetConsent(ctx(t), "u2", "c1"); err != nil || !reflect.DeepEqual(got, other) {
		t.Errorf("other user's grant = %+v, %v", got, err)
	}
	for _, bad := range []string{"\x00", "\xff"} {
		if _, err := s.GetConsent(ctx(t), bad, "c1"); !errors.Is(err, consent.ErrNotFound) {
			t.Errorf("GetConsent(%q): %v", bad, err)
		}
	}
}

// ConsentResourcesBackfill checks that migration 0028 gives consents
// stored before it no resources: such a consent still covers requests for
// this server's own audience, and none for a resource. It stores a
// consent in s, then has undo run the returned statements (dropping the
// column and forgetting the migration), close s and open the same
// database again, which re-runs the migration.
func ConsentResourcesBackfill(t *testing.T, s store.Store, undo func(statements []string) store.Store) {
	t.Helper()
	g := consent.Grant{UserID: "u1", ClientID: "c1", BrandID: "default", Scopes: []string{"mcp:tools", "openid"}, UpdatedAt: base}
	if err := s.SaveConsent(ctx(t), g); err != nil {
		t.Fatal(err)
	}
	s = undo([]string{
		`ALTER TABLE consents DROP COLUMN resources`,
		`DELETE FROM schema_migrations WHERE version = '0028_consent_resources'`,
	})
	got, err := s.GetConsent(ctx(t), "u1", "c1")
	if err != nil || !reflect.DeepEqual(got, g) {
		t.Fatalf("GetConsent after migration 0028 = %+v, %v; want %+v", got, err, g)
	}
	if !got.Covers([]string{"openid"}, nil) || got.Covers([]string{"mcp:tools"}, []string{"https://a.example/mcp"}) {
		t.Errorf("an old consent covers the wrong requests: %+v", got)
	}
}
