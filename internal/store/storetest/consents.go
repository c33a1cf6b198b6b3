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
	if got, err := s.GetConsent(ctx(t), "u2", "c1"); err != nil || !reflect.DeepEqual(got, other) {
		t.Errorf("other user's grant = %+v, %v", got, err)
	}
	for _, bad := range []string{"\x00", "\xff"} {
		if _, err := s.GetConsent(ctx(t), bad, "c1"); !errors.Is(err, consent.ErrNotFound) {
			t.Errorf("GetConsent(%q): %v", bad, err)
		}
	}
}
