package client

import (
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/domain"
)

// TestUpdateKeepsIdentity: whatever an update's fn returns, the client
// keeps its ID, ClientID and CreatedAt; the stores no longer enforce it.
func TestUpdateKeepsIdentity(t *testing.T) {
	repo := &countingRepo{clients: map[string]Client{}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h, _ := NewHasher(make([]byte, HashKeyBytes))
	s := NewService(repo, nil, h, Policy{}, func() time.Time { return now })
	ctx := t.Context()
	c, _, err := s.Create(ctx, domain.Actor{Root: true}, CreateInput{Name: "c", GrantTypes: []string{GrantClientCredentials}, AllowedScopes: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, got Client, wantName string) {
		t.Helper()
		stored := repo.clients[c.ID]
		for _, x := range []Client{got, stored} {
			if x.ID != c.ID || x.ClientID != c.ClientID || !x.CreatedAt.Equal(c.CreatedAt) {
				t.Errorf("%s: identity changed: id %q client_id %q created %v; want %q %q %v",
					name, x.ID, x.ClientID, x.CreatedAt, c.ID, c.ClientID, c.CreatedAt)
			}
			if x.Name != wantName {
				t.Errorf("%s: name %q, want %q (the rest of the update must stick)", name, x.Name, wantName)
			}
		}
		if len(repo.clients) != 1 {
			t.Errorf("%s: %d stored clients, want 1", name, len(repo.clients))
		}
	}

	got, err := s.updateClient(ctx, c.ID, func(old Client) (Client, audit.Event, error) {
		old.ID, old.ClientID, old.CreatedAt = "other-id", "other-client-id", old.CreatedAt.Add(time.Hour)
		old.Name = "renamed"
		return old, audit.Event{}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check("updateClient", got, "renamed")

	name := "patched"
	now = now.Add(time.Minute)
	got, err = s.Update(ctx, domain.Actor{Root: true}, c.ID, Patch{Name: &name}, "")
	if err != nil {
		t.Fatal(err)
	}
	check("Update", got, "patched")

	now = now.Add(time.Minute)
	got, _, err = s.RotateSecret(ctx, domain.Actor{Root: true}, c.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	check("RotateSecret", got, "patched")
}

// tokens:introspect is an admin scope: only a caller holding it may hand
// it to a client, as with every other admin scope.
func TestTokensIntrospectIsAdminScope(t *testing.T) {
	if !IsAdminScope(ScopeTokensIntrospect) {
		t.Fatalf("IsAdminScope(%q) = false", ScopeTokensIntrospect)
	}
	tests := []struct {
		name    string
		actor   domain.Actor
		refused bool
	}{
		{"root", domain.Actor{Root: true}, false},
		{"caller holding it", domain.Actor{Subject: "a", ClientID: "a", Scopes: []string{"clients:create", ScopeTokensIntrospect}}, false},
		{"caller without it", domain.Actor{Subject: "a", ClientID: "a", Scopes: []string{"clients:create"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := &countingRepo{clients: map[string]Client{}}
			h, _ := NewHasher(make([]byte, HashKeyBytes))
			s := NewService(repo, nil, h, Policy{}, time.Now)
			_, _, err := s.Create(t.Context(), tt.actor, CreateInput{Name: "rs", GrantTypes: []string{GrantClientCredentials}, AllowedScopes: []string{ScopeTokensIntrospect}})
			var pe *PrivilegeError
			if got := errors.As(err, &pe); got != tt.refused {
				t.Fatalf("err = %v, want refused %v", err, tt.refused)
			}
			if tt.refused && pe.Scope != ScopeTokensIntrospect {
				t.Errorf("PrivilegeError names %q", pe.Scope)
			}
		})
	}
}

// TestNamesAreStoredNFC: a client name is stored in Unicode NFC, on create
// and on update, so two spellings of one name are one name.
func TestNamesAreStoredNFC(t *testing.T) {
	repo := &countingRepo{clients: map[string]Client{}}
	h, _ := NewHasher(make([]byte, HashKeyBytes))
	s := NewService(repo, nil, h, Policy{}, nil)
	ctx := t.Context()
	c, _, err := s.Create(ctx, domain.Actor{Root: true}, CreateInput{Name: "Cafe\u0301", GrantTypes: []string{GrantClientCredentials}, AllowedScopes: []string{"openid"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "Caf\u00e9" || repo.clients[c.ID].Name != "Caf\u00e9" {
		t.Errorf("created name %q (stored %q), want NFC %q", c.Name, repo.clients[c.ID].Name, "Caf\u00e9")
	}
	name := "A\u030angstr\u00f6m"
	u, err := s.Update(ctx, domain.Actor{Root: true}, c.ID, Patch{Name: &name}, "")
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "\u00c5ngstr\u00f6m" || repo.clients[c.ID].Name != "\u00c5ngstr\u00f6m" {
		t.Errorf("updated name %q (stored %q), want NFC %q", u.Name, repo.clients[c.ID].Name, "\u00c5ngstr\u00f6m")
	}
}

// TestLegacyInvalidClientCanBeDisabled: a client stored before a rule
// tightened (an internal logo_uri, a bidi override in its name, a scope
// no longer defined) must still be disableable at once; any other change
// must bring it up to today's rules.
func TestLegacyInvalidClientCanBeDisabled(t *testing.T) {
	repo := &countingRepo{clients: map[string]Client{}}
	h, _ := NewHasher(make([]byte, HashKeyBytes))
	s := NewService(repo, nil, h, Policy{Scopes: NewScopes(nil)}, nil)
	c := validClient()
	c.Name, c.LogoURI, c.AllowedScopes = "evil\u202Egnp", "http://169.254.169.254/latest", []string{"openid", "legacy:read"}
	repo.clients[c.ID] = c
	got, err := s.SetEnabled(t.Context(), domain.Actor{Root: true}, c.ID, false)
	if err != nil || got.Enabled || repo.clients[c.ID].Enabled {
		t.Fatalf("disable: enabled %v, %v; want disabled", got.Enabled, err)
	}
	if _, err := s.SetEnabled(t.Context(), domain.Actor{Root: true}, c.ID, true); err == nil {
		t.Error("enabling a client that breaks today's rules succeeded")
	}
	name := "renamed"
	var ve *domain.ValidationError
	if _, err := s.Update(t.Context(), domain.Actor{Root: true}, c.ID, Patch{Name: &name}, ""); !errors.As(err, &ve) {
		t.Errorf("rename keeping an internal logo_uri: %v, want a validation error", err)
	}
}

// Generated client_ids are 32 hex digits that sort in creation order
// (so that registrations append to the client_id indexes) with a random
// part that differs even within one millisecond.
func TestGeneratedClientIDsAreOrdered(t *testing.T) {
	repo := &countingRepo{clients: map[string]Client{}}
	h, _ := NewHasher(make([]byte, HashKeyBytes))
	s := NewService(repo, nil, h, Policy{}, time.Now)
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	var prev string
	for i := range 50 {
		c, _, err := s.Create(t.Context(), domain.Actor{Root: true}, CreateInput{Name: "c", GrantTypes: []string{GrantClientCredentials}, AllowedScopes: []string{"a"}})
		if err != nil {
			t.Fatal(err)
		}
		if !hex32.MatchString(c.ClientID) {
			t.Fatalf("client_id %q is not 32 hex digits", c.ClientID)
		}
		if i > 0 && c.ClientID <= prev {
			t.Fatalf("client_id %s after %s: not in creation order", c.ClientID, prev)
		}
		prev = c.ClientID
	}
}
