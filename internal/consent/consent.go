// Package consent is the domain core for remembered consent: the scopes a
// user has allowed a client at the authorization endpoint, so that a later
// authorization for the same scopes or fewer skips the consent page. It
// knows nothing of HTTP or SQL.
package consent

import (
	"context"
	"errors"
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
	BrandID   string
	Scopes    []string // sorted, no duplicates
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

// Covers reports whether g allows every one of scopes.
func (g Grant) Covers(scopes []string) bool {
	for _, s := range scopes {
		if !slices.Contains(g.Scopes, s) {
			return false
		}
	}
	return true
}

// Merge returns the scopes of g together with more, sorted, without
// duplicates: what a grant holds after the user allowed more as well.
func Merge(g Grant, more []string) []string {
	out := append(slices.Clone(g.Scopes), more...)
	slices.Sort(out)
	return slices.Compact(out)
}

// Service lists and revokes users' remembered consents for the admin API
// and the CLI.
type Service struct {
	repo Repository
	now  func() time.Time
}

// NewService returns a Service; now may be nil.
func NewService(repo Repository, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{repo: repo, now: now}
}

// List returns the user's remembered consents, by client_id.
func (s *Service) List(ctx context.Context, userID string) ([]Grant, error) {
	return s.repo.ListConsents(ctx, userID)
}

// Revoke forgets the user's consent to clientID, or all of the user's
// consents when clientID is "", so that the consent page is shown again;
// it returns how many it forgot. Forgetting any is audited
// (audit.UserRevokeConsent). Tokens already issued are not touched.
func (s *Service) Revoke(ctx context.Context, actor domain.Actor, userID, clientID string) (int, error) {
	ev, err := audit.New(s.now(), actor.AuditSubject(), actor.ClientID, audit.UserRevokeConsent, "user", userID,
		map[string]any{"client_id": clientID})
	if err != nil {
		return 0, err
	}
	return s.repo.DeleteConsents(ctx, userID, clientID, ev)
}
