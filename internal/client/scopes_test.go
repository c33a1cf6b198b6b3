package client

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/domain"
)

func scopeService(t *testing.T, policy Policy) (*Service, *countingRepo) {
	t.Helper()
	repo := &countingRepo{clients: map[string]Client{}}
	h, _ := NewHasher(make([]byte, HashKeyBytes))
	return NewService(repo, nil, h, policy, nil), repo
}

// TestUndefinedScopesRefused: a client may hold only defined scopes (the
// OpenID Connect and admin scopes, and those the server configures), on
// create, on update and on dynamic registration, for every caller, the
// operator included; the error is an *UndefinedScopeError that is also a
// *domain.ValidationError and tells how to define the scope.
func TestUndefinedScopesRefused(t *testing.T) {
	policy := Policy{DefaultScopes: []string{"api:public"}, Scopes: NewScopes([]string{"api:public", "reports:read"})}
	admin := domain.Actor{Subject: "admin", ClientID: "admin", Scopes: []string{"clients:create", "clients:update"}}
	tests := []struct {
		name      string
		actor     domain.Actor
		scopes    []string
		undefined []string // nil: accepted
	}{
		{"oidc scopes", admin, []string{"openid", "profile", "email", "address", "phone", "offline_access"}, nil},
		{"configured scopes", admin, []string{"api:public", "reports:read"}, nil},
		{"admin scope held", admin, []string{"clients:create"}, nil},
		{"undefined beside a held admin scope", admin, []string{"clients:create", "admin"}, []string{"admin"}},
		{"undefined", admin, []string{"reports:write"}, []string{"reports:write"}},
		{"several undefined", admin, []string{"a", "openid", "b"}, []string{"a", "b"}},
		{"undefined admin-looking scope", admin, []string{"clients:everything"}, []string{"clients:everything"}},
		{"case matters", admin, []string{"OpenID"}, []string{"OpenID"}},
		{"operator too", domain.Actor{Root: true}, []string{"anything"}, []string{"anything"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, repo := scopeService(t, policy)
			_, _, err := s.Create(t.Context(), tt.actor, CreateInput{Name: "c", GrantTypes: []string{GrantClientCredentials}, AllowedScopes: tt.scopes})
			checkUndefined(t, err, tt.undefined)
			if tt.undefined != nil && len(repo.clients) != 0 {
				t.Errorf("a refused client was stored")
			}

			// The same scopes added by an update.
			c, _, err := s.Create(t.Context(), domain.Actor{Root: true}, CreateInput{Name: "c", GrantTypes: []string{GrantClientCredentials}, AllowedScopes: []string{"openid"}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Update(t.Context(), tt.actor, c.ID, Patch{AllowedScopes: &tt.scopes}, "")
			checkUndefined(t, err, tt.undefined)
			if got := repo.clients[c.ID].AllowedScopes; tt.undefined != nil && !slices.Equal(got, []string{"openid"}) {
				t.Errorf("refused update stored scopes %v", got)
			}
		})
	}
}

func checkUndefined(t *testing.T, err error, want []string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	var ue *UndefinedScopeError
	if !errors.As(err, &ue) || !slices.Equal(ue.Scopes, want) {
		t.Fatalf("err = %v, want *UndefinedScopeError for %v", err, want)
	}
	var ve *domain.ValidationError
	if !errors.As(err, &ve) || ve.First().Field != "allowed_scopes" {
		t.Fatalf("err = %v, want it to be a *domain.ValidationError on allowed_scopes too", err)
	}
	if !strings.Contains(err.Error(), "--scopes") {
		t.Errorf("message %q does not say how to define a scope", err)
	}
}

// TestUndefinedScopesAlreadyHeldStay: a client stored with a scope that
// is no longer defined (before scopes had to be, or since the operator
// dropped it) can still be changed otherwise, disabled included; it just
// cannot gain more undefined scopes.
func TestUndefinedScopesAlreadyHeldStay(t *testing.T) {
	s, repo := scopeService(t, Policy{Scopes: NewScopes(nil)})
	c := validClient()
	c.AllowedScopes = []string{"openid", "legacy:read"}
	repo.clients[c.ID] = c
	name := "renamed"
	if _, err := s.Update(t.Context(), domain.Actor{Root: true}, c.ID, Patch{Name: &name}, ""); err != nil {
		t.Fatalf("rename: %v", err)
	}
	if _, err := s.SetEnabled(t.Context(), domain.Actor{Root: true}, c.ID, false); err != nil {
		t.Fatalf("disable: %v", err)
	}
	more := []string{"openid", "legacy:read", "legacy:write"}
	_, err := s.Update(t.Context(), domain.Actor{Root: true}, c.ID, Patch{AllowedScopes: &more}, "")
	checkUndefined(t, err, []string{"legacy:write"})
}

// TestAllowUndefinedScopes: the operator's escape hatch for migrations.
func TestAllowUndefinedScopes(t *testing.T) {
	s, _ := scopeService(t, Policy{Scopes: NewScopes(nil), AllowUndefinedScopes: true})
	c, _, err := s.Create(t.Context(), domain.Actor{Root: true}, CreateInput{Name: "c", GrantTypes: []string{GrantClientCredentials}, AllowedScopes: []string{"legacy:read"}})
	if err != nil || !slices.Equal(c.AllowedScopes, []string{"legacy:read"}) {
		t.Fatalf("Create = %v, %v; want legacy:read allowed", c.AllowedScopes, err)
	}
}

// TestNewScopes: the catalog always holds the OpenID Connect and admin
// scopes, plus the configured ones, listed sorted and once.
func TestNewScopes(t *testing.T) {
	sc := NewScopes([]string{"reports:read", "api:public"}, []string{"api:public"})
	for _, want := range append(append([]string{"reports:read", "api:public"}, OIDCScopes...), AdminScopes...) {
		if !sc.Defined(want) {
			t.Errorf("%q is not defined", want)
		}
	}
	for _, undefined := range []string{"", "admin", "reports:write", "clients:*"} {
		if sc.Defined(undefined) {
			t.Errorf("%q is defined", undefined)
		}
	}
	l := sc.List()
	if !slices.IsSorted(l) || len(slices.Compact(slices.Clone(l))) != len(l) {
		t.Errorf("List() = %v, want sorted and without duplicates", l)
	}
	l[0] = "mutated"
	if sc.Defined("mutated") {
		t.Error("List() exposes the catalog's own slice")
	}
}

// TestPolicyValidate: every default client scope must be defined.
func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		ok     bool
	}{
		{"defaults defined", Policy{DefaultScopes: []string{"openid", "api:public"}, Scopes: NewScopes([]string{"api:public"})}, true},
		{"no defaults", Policy{Scopes: NewScopes(nil)}, true},
		{"default undefined", Policy{DefaultScopes: []string{"openid", "api:public"}, Scopes: NewScopes(nil)}, false},
		{"default undefined even when undefined scopes are allowed", Policy{DefaultScopes: []string{"api:public"}, Scopes: NewScopes(nil), AllowUndefinedScopes: true}, false},
		{"default malformed", Policy{DefaultScopes: []string{"a\"b"}, Scopes: NewScopes([]string{"a\"b"})}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "--scopes") && !strings.Contains(err.Error(), "RFC 6749") {
				t.Errorf("message %q does not say what to do", err)
			}
		})
	}
}
