package client

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/latchkey/latchkey/internal/domain"
)

// Scopes are not free-form: a client may hold only a scope the server
// defines. The catalog is the OpenID Connect scopes, the admin scopes the
// admin API's routes require, and the scopes the operator configures
// (latchkey serve --scopes). Registered resources' scopes will join it:
// the client core only asks a ScopeCatalog, so a catalog that also
// consults resources can replace Scopes without touching the rules.

// OIDCScopes are the scopes OpenID Connect Core 1.0 defines (§5.4, §11).
var OIDCScopes = []string{"openid", "profile", "email", "address", "phone", "offline_access"}

// AdminScopes are the scopes the admin API's routes require (see
// internal/api/admin; a test there holds the two lists together), and
// tokens:introspect, which lets a client introspect any token.
var AdminScopes = []string{
	"clients:create", "clients:read", "clients:update", "clients:delete",
	"users:create", "users:read", "users:update", "users:delete",
	"resources:create", "resources:read", "resources:update", "resources:delete",
	"keys:rotate",
	"audit:read",
	ScopeTokensIntrospect,
}

// ScopeCatalog answers whether a scope is defined.
type ScopeCatalog interface {
	Defined(scope string) bool
}

// Scopes is the server's scope catalog: the built-in scopes (OIDCScopes,
// AdminScopes) and the configured ones. Build it with NewScopes; the zero
// value defines nothing.
type Scopes struct {
	set  map[string]bool
	list []string
}

// NewScopes returns the catalog of the built-in scopes and every scope in
// configured.
func NewScopes(configured ...[]string) Scopes {
	all := slices.Concat(append([][]string{OIDCScopes, AdminScopes}, configured...)...)
	slices.Sort(all)
	all = slices.Compact(all)
	set := make(map[string]bool, len(all))
	for _, s := range all {
		set[s] = true
	}
	return Scopes{set: set, list: all}
}

// Defined reports whether scope is in the catalog.
func (s Scopes) Defined(scope string) bool { return s.set[scope] }

// List returns every defined scope, sorted (discovery's scopes_supported).
func (s Scopes) List() []string { return slices.Clone(s.list) }

// HowToDefine is what an operator does to define a scope; error messages
// end with it.
const HowToDefine = "define scopes with latchkey serve --scopes (env LATCHKEY_SCOPES)"

// UndefinedScopeError says a client was to be given scopes the server
// does not define. It is also a *domain.ValidationError on
// allowed_scopes (errors.As finds both), so every dialect reports it in
// its own shape; the admin API names it invalid_scope.
type UndefinedScopeError struct {
	Scopes []string
}

func (e *UndefinedScopeError) Error() string {
	q := make([]string, len(e.Scopes))
	for i, s := range e.Scopes {
		q[i] = fmt.Sprintf("%q", s)
	}
	if len(q) == 1 {
		return fmt.Sprintf("scope %s is not defined on this server; %s", q[0], HowToDefine)
	}
	return fmt.Sprintf("scopes %s are not defined on this server; %s", strings.Join(q, ", "), HowToDefine)
}

// Unwrap returns the same problem as a validation error on
// allowed_scopes.
func (e *UndefinedScopeError) Unwrap() error {
	return &domain.ValidationError{Errors: []domain.FieldError{{Field: "allowed_scopes", Message: e.Error()}}}
}

// checkDefined refuses scopes the catalog does not define, except those
// the client already holds (already): a client stored before its scope
// was defined, or whose scope the operator dropped, can still be renamed
// or disabled, but gains nothing undefined.
func (s *Service) checkDefined(scopes, already []string) error {
	if s.policy.AllowUndefinedScopes || s.policy.Scopes == nil {
		return nil
	}
	var undefined []string
	for _, sc := range scopes {
		if !s.policy.Scopes.Defined(sc) && !slices.Contains(already, sc) {
			undefined = append(undefined, sc)
		}
	}
	if undefined != nil {
		return &UndefinedScopeError{Scopes: undefined}
	}
	return nil
}

// Validate checks the policy before a server starts on it: every default
// client scope is well formed and defined, whatever AllowUndefinedScopes
// says, since every client of the seed 000 and 002 dialects gets them.
func (p Policy) Validate() error {
	if p.Scopes == nil {
		return errors.New("no scope catalog: scopes could not be checked")
	}
	var errs []error
	for _, sc := range p.DefaultScopes {
		if prob := ScopeProblem(sc); prob != "" {
			errs = append(errs, fmt.Errorf("default scope %q: %s", sc, prob))
		} else if !p.Scopes.Defined(sc) {
			errs = append(errs, fmt.Errorf("default scope %q is not defined; %s", sc, HowToDefine))
		}
	}
	return errors.Join(errs...)
}
