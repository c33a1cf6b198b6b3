// Package refresh implements the refresh_token grant (RFC 6749 §6) with
// rotation and reuse detection (RFC 9700 §4.14), and the stored grant
// ("family") that refresh tokens belong to.
//
// A family is one authorization: what a user granted a client when a code
// was redeemed (or a password grant succeeded). It holds exactly one live
// refresh token. Every use rotates it: the store swaps the family's
// current token hash for a new one in one atomic step, so of concurrent
// redemptions exactly one wins. Presenting a rotated token again (outside
// the optional overlap period) revokes the whole family: its refresh
// token and every access token minted from it, which carry the family id
// in their grant_id claim (token.Spec.GrantID).
//
// Refresh tokens are 256 random bits, base64url; the store keeps only an
// HMAC of them under a server key (Hasher).
package refresh

import (
	"context"
	"errors"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
)

// Family is a stored grant and the state of its refresh token chain.
type Family struct {
	ID       string // the grant id: access tokens carry it as grant_id
	ClientID string
	UserID   string
	Scopes   []string // what was granted; a refresh may narrow, never widen
	// Resources are the canonical identifiers of the RFC 8707 resources
	// granted (nil: none); a refresh may narrow them, never widen them.
	Resources []string
	AuthTime  time.Time
	SessionID string // sid of the sign-in, "" when there was none
	CreatedAt time.Time
	// ExpiresAt is the absolute lifetime: rotation never extends it.
	ExpiresAt time.Time
	// IdleExpiresAt is when the current refresh token expires unused
	// (never after ExpiresAt).
	IdleExpiresAt time.Time
	// CurrentHash is the keyed hash of the one live refresh token;
	// PrevHash the one it replaced at RotatedAt (the overlap period
	// counts from then).
	CurrentHash string
	PrevHash    string
	RotatedAt   time.Time
	RevokedAt   time.Time // zero while live
}

var (
	// ErrNotFound means no family holds a token with that hash.
	ErrNotFound = errors.New("refresh token not found")
	// ErrReused means a rotated refresh token was presented again after
	// the overlap period; the store has revoked the family.
	ErrReused = errors.New("refresh token reused: family revoked")
	// ErrRevoked means the token's family was revoked.
	ErrRevoked = errors.New("refresh token family revoked")
	// ErrExpired means the family's idle or absolute lifetime is over.
	ErrExpired = errors.New("refresh token expired")
)

// Rotation is one redemption of a refresh token, as the store performs it.
type Rotation struct {
	Hash    string // the presented token's hash
	NewHash string // the hash of the token that replaces it
	Now     time.Time
	// Overlap is how long after a rotation the previous token may still
	// be redeemed (a client that lost the response retries); 0: never.
	Overlap time.Duration
	// Idle is the idle lifetime of the new token.
	Idle time.Duration
	// RevokeUntil is how long a revocation caused by reuse is recorded
	// (until every access token from the family has expired).
	RevokeUntil time.Time
	// Check, if set, runs on the family before anything changes; its
	// error is returned and nothing is written (wrong client, widened
	// scope).
	Check func(Family) error
}

// Next decides a rotation of f: the family after it, or the error it
// ends with. ErrReused tells the store to revoke the family (and commit
// that) before returning ErrReused. Both backends call it inside their
// atomic step, so the rules live in one place:
//
//   - the current token rotates; the overlap period starts;
//   - the previous token, within the overlap period, rotates too and
//     replaces the current one (so a family never forks: it always has
//     exactly one live token, the newest), keeping the original rotation
//     time so the overlap is never extended;
//   - any other token of the family is reuse.
func (r Rotation) Next(f Family) (Family, error) {
	if r.Check != nil {
		if err := r.Check(f); err != nil {
			return f, err
		}
	}
	switch {
	case !f.RevokedAt.IsZero():
		return f, ErrRevoked
	case !r.Now.Before(f.ExpiresAt), !r.Now.Before(f.IdleExpiresAt):
		return f, ErrExpired
	case r.Hash == f.CurrentHash:
		f.PrevHash, f.RotatedAt = r.Hash, r.Now
	case r.Hash == f.PrevHash && r.Overlap > 0 && r.Now.Before(f.RotatedAt.Add(r.Overlap)):
		// Retry inside the overlap period: the token issued by the
		// previous rotation stops working, this one is the live one.
	default:
		return f, ErrReused
	}
	f.CurrentHash = r.NewHash
	f.IdleExpiresAt = r.Now.Add(r.Idle)
	if f.IdleExpiresAt.After(f.ExpiresAt) {
		f.IdleExpiresAt = f.ExpiresAt
	}
	return f, nil
}

// Live reports whether f can still be refreshed at now.
func (f Family) Live(now time.Time) bool {
	return f.RevokedAt.IsZero() && now.Before(f.ExpiresAt) && now.Before(f.IdleExpiresAt)
}

// GrantSelector picks a user's grants: all of them, or only one grant,
// or only those given to one client ("" fields select everything).
type GrantSelector struct {
	UserID   string
	GrantID  string
	ClientID string
}

// Repository stores families, their refresh tokens, and revoked grants.
type Repository interface {
	// CreateRefresh stores a new family whose one token is f.CurrentHash.
	CreateRefresh(ctx context.Context, f Family) error
	// RotateRefresh redeems r.Hash in one atomic step (see Rotation.Next):
	// of concurrent redemptions of one token exactly one succeeds. It
	// returns the family after the rotation. An unknown hash is
	// ErrNotFound; reuse revokes the family, commits, and is ErrReused.
	RotateRefresh(ctx context.Context, r Rotation) (Family, error)
	// RefreshFamily returns the family holding a token (current or past)
	// with that hash.
	RefreshFamily(ctx context.Context, hash string) (Family, error)
	// RevokeGrant revokes the grant id: its family, if it has one, and
	// every access token carrying it (GrantRevoked) until until. Revoking
	// twice, or a grant with no family, is not an error.
	RevokeGrant(ctx context.Context, id string, now, until time.Time) error
	// GrantRevoked reports whether grant id was revoked.
	GrantRevoked(ctx context.Context, id string) (bool, error)
	// ListUserGrants returns the user's families live at now, newest first.
	ListUserGrants(ctx context.Context, userID string, now time.Time) ([]Family, error)
	// RevokeUserGrants revokes, in one transaction, the families of
	// sel.UserID live at now (only sel.GrantID's, or only those of
	// sel.ClientID, when set), recording each grant revoked until until,
	// and the audit event that event makes of the revoked ids (none when
	// nothing was revoked). It returns the ids.
	RevokeUserGrants(ctx context.Context, sel GrantSelector, now, until time.Time, event func(ids []string) (audit.Event, error)) ([]string, error)
	// DeleteExpiredRefresh deletes up to limit rows that no longer matter
	// at now: families expired or revoked (with their tokens) and grant
	// revocations past their end. It returns how many it deleted; the
	// caller repeats while that equals limit.
	DeleteExpiredRefresh(ctx context.Context, now time.Time, limit int) (int, error)
}
