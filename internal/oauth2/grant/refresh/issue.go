package refresh

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/oauth2/grant/usertokens"
)

// Lifetime defaults (SPEC §7).
const (
	DefaultIdle     = 30 * 24 * time.Hour
	DefaultAbsolute = 90 * 24 * time.Hour
)

// Policy is the operator's refresh token settings (serve's
// --refresh-idle-lifetime, --refresh-absolute-lifetime,
// --refresh-overlap).
type Policy struct {
	Idle     time.Duration // 0: DefaultIdle
	Absolute time.Duration // 0: DefaultAbsolute
	Overlap  time.Duration // 0: a rotated token never works again
	// AccessTTL is the access token lifetime: a revocation is recorded
	// until every access token of the grant has expired.
	AccessTTL time.Duration
}

// Validate checks the durations make sense together.
func (p Policy) Validate() error {
	p = p.withDefaults()
	switch {
	case p.Idle < 0 || p.Absolute < 0 || p.Overlap < 0:
		return errors.New("refresh token lifetimes and overlap must not be negative")
	case p.Idle > p.Absolute:
		return fmt.Errorf("refresh idle lifetime %s exceeds the absolute lifetime %s", p.Idle, p.Absolute)
	case p.Overlap >= p.Idle:
		return fmt.Errorf("refresh overlap %s must be shorter than the idle lifetime %s", p.Overlap, p.Idle)
	}
	return nil
}

func (p Policy) withDefaults() Policy {
	if p.Idle == 0 {
		p.Idle = DefaultIdle
	}
	if p.Absolute == 0 {
		p.Absolute = DefaultAbsolute
	}
	return p
}

// Hasher is the keyed hash (HMAC-SHA-256 under a sealed server key)
// refresh tokens are stored under; client.Hasher is one.
type Hasher interface {
	Hash(plain string) []byte
}

// Service issues, rotates and revokes refresh tokens. A grant that
// issues refresh tokens (authorization_code, password) calls Start.
type Service struct {
	store  Repository
	hasher Hasher
	policy Policy
	now    func() time.Time
}

// NewService returns a Service; now nil means time.Now.
func NewService(store Repository, hasher Hasher, policy Policy, now func() time.Time) (*Service, error) {
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, hasher: hasher, policy: policy.withDefaults(), now: now}, nil
}

// Policy returns the settings in force (defaults applied).
func (s *Service) Policy() Policy { return s.policy }

// TokenBytes is the entropy of a refresh token: 256 bits.
const TokenBytes = 32

// maxTokenLen bounds what is hashed: a token is 43 characters.
const maxTokenLen = 256

// newToken returns a fresh refresh token and its hash.
func (s *Service) newToken() (raw, hash string) {
	b := make([]byte, TokenBytes)
	_, _ = rand.Read(b)
	raw = base64.RawURLEncoding.EncodeToString(b)
	return raw, s.hash(raw)
}

func (s *Service) hash(raw string) string { return hex.EncodeToString(s.hasher.Hash(raw)) }

// NewGrantID returns a fresh grant id (128 random bits, hex), for a grant
// that is not derived from a stored artefact.
func NewGrantID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Wants reports whether a grant of scopes to c carries a refresh token:
// the client must have the refresh_token grant and, for an OpenID
// Connect request, offline_access must have been granted (OIDC Core
// §11).
func Wants(c client.Client, scopes []string) bool {
	if !c.HasGrant(client.GrantRefreshToken) {
		return false
	}
	return !slices.Contains(scopes, "openid") || slices.Contains(scopes, ScopeOfflineAccess)
}

// ScopeOfflineAccess asks for a refresh token in an OpenID request.
const ScopeOfflineAccess = "offline_access"

// Grant is what a grant records when it starts a family.
type Grant = usertokens.Grant

// Start stores a new family for g and returns its first refresh token.
func (s *Service) Start(ctx context.Context, g Grant) (string, error) {
	now := s.now()
	raw, hash := s.newToken()
	f := Family{
		ID: g.ID, ClientID: g.ClientID, UserID: g.UserID, Scopes: slices.Clone(g.Scopes),
		Resources: slices.Clone(g.Resources),
		AuthTime:  g.AuthTime, SessionID: g.SessionID, CreatedAt: now,
		ExpiresAt: now.Add(s.policy.Absolute), IdleExpiresAt: now.Add(s.policy.Idle), CurrentHash: hash,
	}
	if err := s.store.CreateRefresh(ctx, f); err != nil {
		return "", fmt.Errorf("start refresh family: %w", err)
	}
	return raw, nil
}

// revokeUntil is how long a revocation at now must be remembered: until
// the last access token a family could have minted has expired.
func (s *Service) revokeUntil(now time.Time) time.Time {
	return now.Add(s.policy.Absolute + s.policy.AccessTTL + time.Hour)
}

// RevokeGrant revokes grant id and everything issued from it.
func (s *Service) RevokeGrant(ctx context.Context, id string) error {
	now := s.now()
	return s.store.RevokeGrant(ctx, id, now, s.revokeUntil(now))
}

// RevokeToken revokes the family of a raw refresh token presented by
// clientID (RFC 7009). found is false when raw is no refresh token of
// that client, so the caller can try it as an access token; another
// client's token is left alone (errOtherClient).
func (s *Service) RevokeToken(ctx context.Context, clientID, raw string) (found bool, err error) {
	if raw == "" || len(raw) > maxTokenLen {
		return false, nil
	}
	f, err := s.store.RefreshFamily(ctx, s.hash(raw))
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if f.ClientID != clientID {
		return true, ErrOtherClient
	}
	return true, s.RevokeGrant(ctx, f.ID)
}

// Lookup returns the family of raw and whether raw would be redeemed now
// (the user's and the client's state aside): it is the family's current
// token, or the one that token replaced while the overlap period lasts,
// and the family is live. A token that is no refresh token is simply not
// ok.
func (s *Service) Lookup(ctx context.Context, raw string) (f Family, ok bool, err error) {
	if raw == "" || len(raw) > maxTokenLen {
		return Family{}, false, nil
	}
	h := s.hash(raw)
	f, err = s.store.RefreshFamily(ctx, h)
	if errors.Is(err, ErrNotFound) {
		return Family{}, false, nil
	}
	if err != nil {
		return Family{}, false, err
	}
	now := s.now()
	current := h == f.CurrentHash ||
		h == f.PrevHash && s.policy.Overlap > 0 && now.Before(f.RotatedAt.Add(s.policy.Overlap))
	return f, current && f.Live(now), nil
}

// ErrOtherClient means a refresh token was presented by a client it was
// not issued to.
var ErrOtherClient = errors.New("refresh token issued to another client")

// UserGrants lists the user's live grants.
func (s *Service) UserGrants(ctx context.Context, userID string) ([]Family, error) {
	return s.store.ListUserGrants(ctx, userID, s.now())
}

// RevokeUserGrants revokes every live grant of the user, or only grantID
// when it is not empty (ErrNotFound if the user has no such live grant),
// audited as actor's user.revoke_grants in the same transaction. It
// returns how many it revoked.
func (s *Service) RevokeUserGrants(ctx context.Context, actor domain.Actor, userID, grantID string) (int, error) {
	n, err := s.revoke(ctx, actor, GrantSelector{UserID: userID, GrantID: grantID})
	if err == nil && grantID != "" && n == 0 {
		return 0, ErrNotFound
	}
	return n, err
}

// RevokeClientGrants revokes every live grant the user gave clientID, or
// every live grant of the user when clientID is "" (what forgetting a
// consent does to the tokens that consent let out), audited like
// RevokeUserGrants. It returns how many it revoked; none is no error.
func (s *Service) RevokeClientGrants(ctx context.Context, actor domain.Actor, userID, clientID string) (int, error) {
	return s.revoke(ctx, actor, GrantSelector{UserID: userID, ClientID: clientID})
}

func (s *Service) revoke(ctx context.Context, actor domain.Actor, sel GrantSelector) (int, error) {
	now := s.now()
	ids, err := s.store.RevokeUserGrants(ctx, sel, now, s.revokeUntil(now), func(ids []string) (audit.Event, error) {
		details := map[string]any{"grant_ids": ids}
		if sel.ClientID != "" {
			details["client_id"] = sel.ClientID
		}
		return audit.New(now, actor.AuditSubject(), actor.ClientID, audit.UserRevokeGrants, "user", sel.UserID, details)
	})
	if err != nil {
		return 0, err
	}
	return len(ids), nil
}
