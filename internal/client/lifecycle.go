package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/domain"
)

// Patch is a partial update in domain terms: nil fields stay as they are.
// ClientURI and LogoURI set to "" clear them.
type Patch struct {
	Name                   *string
	RedirectURIs           *[]string
	PostLogoutRedirectURIs *[]string
	AllowedScopes          *[]string
	AllowedOrigins         *[]string
	GrantTypes             *[]string
	ClientURI              *string
	LogoURI                *string
	// TokenEndpointAuthMethod "" resets it to the type's default.
	TokenEndpointAuthMethod *string
	// IDTokenAlg "" resets it to IDTokenAlgRS256.
	IDTokenAlg            *string
	FirstParty            *bool
	Enabled               *bool
	RequirePushedRequests *bool
	// JWKS, JWKSURI and AssertionAlg replace the private_key_jwt
	// members; an empty value clears one.
	JWKS         *[]byte
	JWKSURI      *string
	AssertionAlg *string
}

// errNoChange aborts the store transaction of an update that changes
// nothing.
var errNoChange = errors.New("no change")

// ErrPrecondition means the caller's version precondition (If-Match) did
// not hold: someone else changed the client first.
var ErrPrecondition = errors.New("the client was changed by someone else")

// Version identifies a client's state for optimistic concurrency; it
// changes on every update.
func (c Client) Version() string { return fmt.Sprintf("%d", c.UpdatedAt.UnixMicro()) }

// List returns clients matching f.
func (s *Service) List(ctx context.Context, f Filter) ([]Client, error) {
	return s.repo.ListClients(ctx, f)
}

// Update applies p to the client with id, validating the result exactly as
// Create does. If ifVersion is not empty it must equal the client's current
// Version, or ErrPrecondition is returned and nothing changes.
func (s *Service) Update(ctx context.Context, actor domain.Actor, id string, p Patch, ifVersion string) (Client, error) {
	var notify audit.Event
	var unchanged Client
	c, err := s.updateClient(ctx, id, func(old Client) (Client, audit.Event, error) {
		if ifVersion != "" && ifVersion != old.Version() {
			return Client{}, audit.Event{}, ErrPrecondition
		}
		if err := checkControl(actor, old); err != nil {
			return Client{}, audit.Event{}, err
		}
		c := old
		c.RedirectURIs, c.AllowedScopes = slices.Clone(old.RedirectURIs), slices.Clone(old.AllowedScopes)
		c.PostLogoutRedirectURIs = slices.Clone(old.PostLogoutRedirectURIs)
		applyPatch(&c, p)
		// Disabling is always possible, even for a client stored before a
		// rule tightened; every other change must meet today's rules.
		disableOnly := onlyEnabledChanged(p) && p.Enabled != nil && !*p.Enabled
		if !disableOnly {
			// A name stored before names were normalised is normalised
			// now, so that it does not block an unrelated change.
			c.Name = domain.DisplayText(c.Name)
			if err := validate(&c); err != nil {
				return Client{}, audit.Event{}, err
			}
			if err := s.checkJWKSURIHost(c); err != nil {
				return Client{}, audit.Event{}, err
			}
			// A private_key_jwt client has no secret, so it cannot
			// become a secret client: it would lock itself out.
			if old.TokenEndpointAuthMethod == AuthMethodPrivateKeyJWT && c.Type == Confidential &&
				c.TokenEndpointAuthMethod != AuthMethodPrivateKeyJWT && len(c.Secrets) == 0 {
				return Client{}, audit.Event{}, &domain.ValidationError{Errors: []domain.FieldError{{Field: "token_endpoint_auth_method",
					Message: "this client authenticates with private_key_jwt and has no secret; it cannot switch to a secret method (register a new client instead)"}}}
			}
		}
		if err := s.checkDefined(c.AllowedScopes, old.AllowedScopes); err != nil {
			return Client{}, audit.Event{}, err
		}
		if err := s.checkPrivilege(actor, c.AllowedScopes, old.AllowedScopes); err != nil {
			return Client{}, audit.Event{}, err
		}
		diff := Diff(old, c)
		if len(diff) == 0 {
			// Nothing changes: no write, no audit event, same version.
			unchanged = old
			return Client{}, audit.Event{}, errNoChange
		}
		c.UpdatedAt = s.stamp(old.UpdatedAt)
		action := audit.ClientUpdate
		if c.Enabled != old.Enabled && onlyEnabledChanged(p) {
			action = map[bool]string{true: audit.ClientEnable, false: audit.ClientDisable}[c.Enabled]
		}
		ev, err := audit.New(s.now(), actor.AuditSubject(), actor.ClientID, action, "client", c.ID, diff)
		notify = ev
		return c, ev, err
	})
	if errors.Is(err, errNoChange) {
		return unchanged, nil
	}
	if err != nil {
		return Client{}, err
	}
	s.forget(c.ClientID)
	s.emit(notify)
	return c, nil
}

// updateClient is repo.UpdateClient with the rule that a client's identity
// never changes: whatever fn returns, the stored client keeps its ID,
// ClientID and CreatedAt. Every update goes through here; the stores
// write what fn returns.
func (s *Service) updateClient(ctx context.Context, id string, fn func(Client) (Client, audit.Event, error)) (Client, error) {
	return s.repo.UpdateClient(ctx, id, func(old Client) (Client, audit.Event, error) {
		c, ev, err := fn(old)
		if err != nil {
			return c, ev, err
		}
		c.ID, c.ClientID, c.CreatedAt = old.ID, old.ClientID, old.CreatedAt
		return c, ev, nil
	})
}

func onlyEnabledChanged(p Patch) bool {
	return p.Name == nil && p.RedirectURIs == nil && p.PostLogoutRedirectURIs == nil && p.AllowedScopes == nil && p.AllowedOrigins == nil &&
		p.GrantTypes == nil && p.ClientURI == nil && p.LogoURI == nil && p.FirstParty == nil &&
		p.TokenEndpointAuthMethod == nil && p.IDTokenAlg == nil && p.RequirePushedRequests == nil &&
		p.JWKS == nil && p.JWKSURI == nil && p.AssertionAlg == nil
}

func applyPatch(c *Client, p Patch) {
	if p.Name != nil {
		c.Name = domain.DisplayText(*p.Name)
	}
	if p.RedirectURIs != nil {
		c.RedirectURIs = nonNil(*p.RedirectURIs)
	}
	if p.PostLogoutRedirectURIs != nil {
		c.PostLogoutRedirectURIs = nonNil(*p.PostLogoutRedirectURIs)
	}
	if p.IDTokenAlg != nil {
		c.IDTokenAlg = *p.IDTokenAlg
		if c.IDTokenAlg == "" {
			c.IDTokenAlg = IDTokenAlgRS256
		}
	}
	if p.AllowedScopes != nil {
		c.AllowedScopes = nonNil(*p.AllowedScopes)
	}
	if p.AllowedOrigins != nil {
		c.AllowedOrigins = nonNil(*p.AllowedOrigins)
	}
	if p.GrantTypes != nil {
		c.GrantTypes = nonNil(*p.GrantTypes)
	}
	if p.ClientURI != nil {
		c.ClientURI = *p.ClientURI
	}
	if p.LogoURI != nil {
		c.LogoURI = *p.LogoURI
	}
	if p.TokenEndpointAuthMethod != nil {
		c.TokenEndpointAuthMethod = *p.TokenEndpointAuthMethod
		if c.TokenEndpointAuthMethod == "" {
			c.TokenEndpointAuthMethod = DefaultAuthMethod(c.Type)
		}
	}
	if p.FirstParty != nil {
		c.FirstParty = *p.FirstParty
	}
	if p.Enabled != nil {
		c.Enabled = *p.Enabled
	}
	if p.RequirePushedRequests != nil {
		c.RequirePushedRequests = *p.RequirePushedRequests
	}
	if p.JWKS != nil {
		c.JWKS = compactJWKS(*p.JWKS)
	}
	if p.JWKSURI != nil {
		c.JWKSURI = *p.JWKSURI
	}
	if p.AssertionAlg != nil {
		c.AssertionAlg = *p.AssertionAlg
	}
	// A client that authenticates with a key keeps no secret.
	if c.TokenEndpointAuthMethod == AuthMethodPrivateKeyJWT {
		c.Secrets = nil
	}
}

// SetEnabled enables or disables a client. A disabled client gets no new
// tokens and its existing tokens stop being active.
func (s *Service) SetEnabled(ctx context.Context, actor domain.Actor, id string, enabled bool) (Client, error) {
	return s.Update(ctx, actor, id, Patch{Enabled: &enabled}, "")
}

// Delete removes a client; its tokens stop being active.
func (s *Service) Delete(ctx context.Context, actor domain.Actor, id string) error {
	c, err := s.repo.GetClient(ctx, id)
	if err != nil {
		return err
	}
	if err := checkControl(actor, c); err != nil {
		return err
	}
	ev, err := audit.New(s.now(), actor.AuditSubject(), actor.ClientID, audit.ClientDelete, "client", id, Summary(c))
	if err != nil {
		return err
	}
	if err := s.repo.DeleteClient(ctx, id, ev); err != nil {
		return err
	}
	s.forget(c.ClientID)
	s.emit(ev)
	return nil
}

// Rotation limits.
const (
	DefaultGrace = 24 * time.Hour
	MaxGrace     = 30 * 24 * time.Hour
)

// RotateSecret gives a confidential client a new secret, shown once. The
// newest previous secret keeps working for grace (0 revokes it at once);
// any older ones stop now, so a client never has more than two live
// secrets.
func (s *Service) RotateSecret(ctx context.Context, actor domain.Actor, id string, grace time.Duration) (Client, Secret, error) {
	if grace < 0 || grace > MaxGrace {
		return Client{}, Secret{}, &domain.ValidationError{Errors: []domain.FieldError{{Field: "grace_seconds", Message: fmt.Sprintf("must be between 0 and %d", int(MaxGrace/time.Second))}}}
	}
	secret := NewSecret()
	var notify audit.Event
	c, err := s.updateClient(ctx, id, func(old Client) (Client, audit.Event, error) {
		if err := checkControl(actor, old); err != nil {
			return Client{}, audit.Event{}, err
		}
		if old.Type != Confidential {
			return Client{}, audit.Event{}, &domain.ValidationError{Errors: []domain.FieldError{{Field: "client_type", Message: "a public client has no secret to rotate"}}}
		}
		if old.TokenEndpointAuthMethod == AuthMethodPrivateKeyJWT {
			return Client{}, audit.Event{}, &domain.ValidationError{Errors: []domain.FieldError{{Field: "token_endpoint_auth_method",
				Message: "a private_key_jwt client has no secret to rotate; replace its jwks or publish new keys at its jwks_uri"}}}
		}
		now := s.now().UTC().Truncate(time.Microsecond)
		c := old
		c.Secrets = []SecretHash{{Hash: s.hasher.Hash(secret.Expose()), CreatedAt: now}}
		if prev, ok := newestLive(old.Secrets, now); ok && grace > 0 {
			exp := now.Add(grace)
			if !prev.ExpiresAt.IsZero() && prev.ExpiresAt.Before(exp) {
				exp = prev.ExpiresAt
			}
			prev.ExpiresAt = exp
			c.Secrets = append([]SecretHash{prev}, c.Secrets...)
		}
		c.UpdatedAt = s.stamp(old.UpdatedAt)
		ev, err := audit.New(now, actor.AuditSubject(), actor.ClientID, audit.ClientRotateSecret, "client", c.ID,
			map[string]any{"grace_seconds": int64(grace / time.Second), "live_secrets": len(c.Secrets)})
		notify = ev
		return c, ev, err
	})
	if err != nil {
		return Client{}, Secret{}, err
	}
	s.forget(c.ClientID)
	s.emit(notify)
	return c, secret, nil
}

func newestLive(secrets []SecretHash, now time.Time) (SecretHash, bool) {
	var best SecretHash
	found := false
	for _, sh := range secrets {
		if sh.Live(now) && (!found || sh.CreatedAt.After(best.CreatedAt)) {
			best, found = sh, true
		}
	}
	return best, found
}

// stamp returns a new UpdatedAt that is strictly after prev, so Version
// changes even when two updates land in one microsecond.
func (s *Service) stamp(prev time.Time) time.Time {
	t := s.now().UTC().Truncate(time.Microsecond)
	if !t.After(prev) {
		t = prev.Add(time.Microsecond)
	}
	return t
}

// checkControl refuses any change to a client that holds an admin scope
// the actor's own token lacks: whoever can rotate a client's secret,
// disable or delete it, or edit it, can act as that client, so managing it
// needs the same power as granting its scopes. A client may manage itself.
func checkControl(actor domain.Actor, target Client) error {
	if actor.Root || (actor.ClientID != "" && actor.ClientID == target.ClientID) {
		return nil
	}
	for _, sc := range target.AllowedScopes {
		if IsAdminScope(sc) && !slices.Contains(actor.Scopes, sc) {
			return &PrivilegeError{Scope: sc, Manage: true}
		}
	}
	return nil
}

// checkPrivilege refuses to add admin scopes the actor does not hold;
// scopes the client already had may stay.
func (s *Service) checkPrivilege(actor domain.Actor, scopes, already []string) error {
	if actor.Root {
		return nil
	}
	for _, sc := range scopes {
		if IsAdminScope(sc) && !slices.Contains(actor.Scopes, sc) && !slices.Contains(already, sc) {
			return &PrivilegeError{Scope: sc}
		}
	}
	return nil
}

// Diff returns the redacted before/after of every field that changed.
func Diff(old, c Client) map[string]any {
	before, after := Summary(old), Summary(c)
	out := map[string]any{}
	for k, v := range after {
		if fmt.Sprint(before[k]) != fmt.Sprint(v) {
			out[k] = map[string]any{"from": before[k], "to": v}
		}
	}
	return out
}

// emit hands a committed event to the observer, if any.
func (s *Service) emit(ev audit.Event) {
	if s.observe != nil && ev.ID != "" {
		s.observe(ev)
	}
}
