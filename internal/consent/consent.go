// Package consent is the domain core for remembered consent: the scopes a
// user has allowed a client at the authorization endpoint, and the RFC 8707
// resources (audiences) the user allowed it tokens for, so that a later
// authorization for the same scopes and resources or fewer skips the
// consent page. It knows nothing of HTTP or SQL.
package consent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/domain"
)

// Grant is what a user allowed a client.
type Grant struct {
	UserID   string
	ClientID string
	// BrandID is the user's (and so the client's) brand.
	BrandID string
	Scopes  []string // sorted, no duplicates
	// Resources are the RFC 8707 resources the user allowed the client
	// tokens for: canonical identifiers (resource.Canonical), sorted, no
	// duplicates; nil when none (this server's own audience only). The
	// audience is part of what is authorised: the same scope at another
	// resource is another permission.
	Resources []string
	UpdatedAt time.Time
}

// ErrNotFound means the user has allowed the client nothing yet.
var ErrNotFound = errors.New("consent not found")

// Repository stores grants, one per user and client.
type Repository interface {
	// GetConsent returns the user's grant to the client, or ErrNotFound.
	GetConsent(ctx context.Context, userID, clientID string) (Grant, error)
	// SaveConsent stores g, replacing the user's earlier grant to the
	// client.
	SaveConsent(ctx context.Context, g Grant) error
	// ListConsents returns the user's grants, ordered by client_id.
	ListConsents(ctx context.Context, userID string) ([]Grant, error)
	// DeleteConsents forgets the user's grant to clientID, or every grant
	// of the user when clientID is "", and returns how many it removed;
	// when it removed any, ev is recorded in the same transaction.
	DeleteConsents(ctx context.Context, userID, clientID string, ev audit.Event) (int, error)
}

// Covers reports whether g allows every one of scopes and every one of
// resources (canonical identifiers). A request that names no resource is
// for this server's own audience, which every grant covers as far as its
// scopes go; a request for a resource the user has not allowed the client
// is not covered, whatever its scopes (the confused deputy the MCP
// authorization specification warns about).
func (g Grant) Covers(scopes, resources []string) bool {
	for _, s := range scopes {
		if !slices.Contains(g.Scopes, s) {
			return false
		}
	}
	for _, r := range resources {
		if !slices.Contains(g.Resources, r) {
			return false
		}
	}
	return true
}

// Allow returns g after the user allowed scopes and resources as well:
// each merged with what g held, sorted, without duplicates.
func (g Grant) Allow(scopes, resources []string) Grant {
	g.Scopes = merge(g.Scopes, scopes)
	g.Resources = merge(g.Resources, resources)
	return g
}

func merge(held, more []string) []string {
	if len(held) == 0 && len(more) == 0 {
		return nil
	}
	out := append(slices.Clone(held), more...)
	slices.Sort(out)
	return slices.Compact(out)
}

// Service lists and revokes users' remembered consents for the admin API
// and the CLI.
type Service struct {
	repo   Repository
	grants Grants
	now    func() time.Time
}

// Grants revokes the grants (refresh token families, and every access
// token minted from them) a user gave a client: what a consent let out.
// The refresh token service is one.
type Grants interface {
	// RevokeClientGrants revokes the user's live grants to clientID, or
	// all of them when clientID is "", audited, and returns how many.
	RevokeClientGrants(ctx context.Context, actor domain.Actor, userID, clientID string) (int, error)
}

// NewService returns a Service; now may be nil. grants may be nil only
// where no tokens are ever issued (forgetting a consent then revokes
// nothing).
func NewService(repo Repository, grants Grants, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{repo: repo, grants: grants, now: now}
}

// List returns the user's remembered consents, by client_id.
func (s *Service) List(ctx context.Context, userID string) ([]Grant, error) {
	return s.repo.ListConsents(ctx, userID)
}

// Revoked is what Revoke did.
type Revoked struct {
	Consents int // remembered consents forgotten
	Grants   int // live grants revoked
}

// Revoke withdraws what the user allowed clientID, or every client when
// clientID is "", as Hydra and Keycloak do: first the grants the user
// gave that client are revoked (its refresh tokens and every access token
// minted from them stop working at once, on every node; audited as
// user.revoke_grants), then the remembered consent is forgotten so that
// the consent page is shown again (audited as user.revoke_consent when
// there was one). Each step commits on its own; if the second fails the
// first stands and the error says so, and calling Revoke again finishes
// the job.
func (s *Service) Revoke(ctx context.Context, actor domain.Actor, userID, clientID string) (Revoked, error) {
	var r Revoked
	if s.grants != nil {
		n, err := s.grants.RevokeClientGrants(ctx, actor, userID, clientID)
		if err != nil {
			return r, fmt.Errorf("revoke the grants: %w", err)
		}
		r.Grants = n
	}
	ev, err := audit.New(s.now(), actor.AuditSubject(), actor.ClientID, audit.UserRevokeConsent, "user", userID,
		map[string]any{"client_id": clientID})
	if err != nil {
		return r, err
	}
	n, err := s.repo.DeleteConsents(ctx, userID, clientID, ev)
	if err != nil {
		return r, fmt.Errorf("grants revoked (%d), but forgetting the consent failed: %w", r.Grants, err)
	}
	r.Consents = n
	return r, nil
}
