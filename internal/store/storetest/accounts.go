package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/session"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/user"
)

// Sessions and consents keep their brand; a user's consents are listed
// by client and forgotten one or all at once.
func testConsentsListDelete(t *testing.T, s store.Store) {
	sess := session.Session{TokenHash: session.HashToken("b1"), ID: "sid-b", UserID: "u1", BrandID: "brand-b",
		AuthTime: base, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.CreateSession(ctx(t), sess); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetSession(ctx(t), sess.TokenHash); err != nil || got.BrandID != "brand-b" {
		t.Errorf("session brand = %q, %v", got.BrandID, err)
	}
	if got, err := s.ListConsents(ctx(t), "u1"); err != nil || len(got) != 0 {
		t.Errorf("ListConsents before any = %v, %v", got, err)
	}
	var want []consent.Grant
	for _, c := range []string{"c2", "c1", "c3"} {
		g := consent.Grant{UserID: "u1", ClientID: c, BrandID: "brand-b", Scopes: []string{"openid"}, UpdatedAt: base}
		if err := s.SaveConsent(ctx(t), g); err != nil {
			t.Fatal(err)
		}
		want = append(want, g)
	}
	want[0], want[1] = want[1], want[0] // by client_id
	other := consent.Grant{UserID: "u2", ClientID: "c1", BrandID: "default", Scopes: []string{"openid"}, UpdatedAt: base}
	if err := s.SaveConsent(ctx(t), other); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ListConsents(ctx(t), "u1"); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ListConsents = %+v, %v; want %+v", got, err, want)
	}
	if n, err := s.DeleteConsents(ctx(t), "u1", "c2", Event(audit.UserRevokeConsent, "u1")); err != nil || n != 1 {
		t.Errorf("DeleteConsents(c2) = %d, %v", n, err)
	}
	if n, err := s.DeleteConsents(ctx(t), "u1", "c2", Event(audit.UserRevokeConsent, "u1")); err != nil || n != 0 {
		t.Errorf("DeleteConsents(c2) again = %d, %v", n, err)
	}
	if _, err := s.GetConsent(ctx(t), "u1", "c2"); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("forgotten consent: %v", err)
	}
	if n, err := s.DeleteConsents(ctx(t), "u1", "", Event(audit.UserRevokeConsent, "u1")); err != nil || n != 2 {
		t.Errorf("DeleteConsents(all) = %d, %v", n, err)
	}
	if got, err := s.ListConsents(ctx(t), "u1"); err != nil || len(got) != 0 {
		t.Errorf("ListConsents after delete = %v, %v", got, err)
	}
	// Two deletions removed something and were recorded; the empty ones not.
	evs, err := s.ListAudit(ctx(t), audit.Filter{Action: audit.UserRevokeConsent, Limit: 10})
	if err != nil || len(evs) != 2 {
		t.Errorf("recorded %d consent revocations, %v; want 2", len(evs), err)
	}
	if got, err := s.GetConsent(ctx(t), "u2", "c1"); err != nil || !reflect.DeepEqual(got, other) {
		t.Errorf("another user's consent = %+v, %v", got, err)
	}
	for _, bad := range []string{"\x00", "\xff"} {
		if got, err := s.ListConsents(ctx(t), bad); err != nil || len(got) != 0 {
			t.Errorf("ListConsents(%q) = %v, %v", bad, got, err)
		}
		if n, err := s.DeleteConsents(ctx(t), "u2", bad, Event(audit.UserRevokeConsent, "u2")); err != nil || n != 0 {
			t.Errorf("DeleteConsents(u2, %q) = %d, %v", bad, n, err)
		}
	}
}

// Disabling a user deletes their sessions in the same transaction (a
// change that keeps them enabled does not); deleting a user deletes their
// sessions and remembered consents. Other users' rows stay.
func testUserEndsSessions(t *testing.T, s store.Store) {
	alice, bob := sampleUser(3, false), sampleUser(4, false)
	alice.Enabled, bob.Enabled = true, true
	for _, u := range []user.User{alice, bob} {
		if err := s.CreateUser(ctx(t), u, Event(audit.UserCreate, u.ID)); err != nil {
			t.Fatal(err)
		}
	}
	newSession := func(name, userID string) session.Session {
		sess := session.Session{TokenHash: session.HashToken(name), ID: name, UserID: userID, BrandID: "default",
			AuthTime: base, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
		if err := s.CreateSession(ctx(t), sess); err != nil {
			t.Fatal(err)
		}
		return sess
	}
	live := func(sess session.Session) bool {
		_, err := s.GetSession(ctx(t), sess.TokenHash)
		if err != nil && !errors.Is(err, session.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	a1, a2, b1, anon := newSession("a1", alice.ID), newSession("a2", alice.ID), newSession("b1", bob.ID), newSession("anon", "")
	update := func(id string, enabled bool) {
		t.Helper()
		if _, err := s.UpdateUser(ctx(t), id, func(u user.User) (user.User, audit.Event, error) {
			u.Enabled, u.DisplayName = enabled, u.DisplayName+"!"
			return u, Event(audit.UserUpdate, id), nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	update(alice.ID, true)
	if !live(a1) || !live(a2) {
		t.Error("an update that keeps the user enabled ended their sessions")
	}
	update(alice.ID, false)
	if live(a1) || live(a2) || !live(b1) || !live(anon) {
		t.Errorf("after disabling alice: a1 %v a2 %v b1 %v anon %v; want only b1 and anon", live(a1), live(a2), live(b1), live(anon))
	}
	if err := s.SaveConsent(ctx(t), consent.Grant{UserID: bob.ID, ClientID: "c1", BrandID: "default", Scopes: []string{"openid"}, UpdatedAt: base}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx(t), bob.ID, Event(audit.UserDelete, bob.ID)); err != nil {
		t.Fatal(err)
	}
	if live(b1) || !live(anon) {
		t.Errorf("after deleting bob: b1 %v anon %v", live(b1), live(anon))
	}
	if got, err := s.ListConsents(ctx(t), bob.ID); err != nil || len(got) != 0 {
		t.Errorf("deleted user's consents = %v, %v", got, err)
	}
}
