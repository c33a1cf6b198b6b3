// Package store defines the one storage interface every backend implements.
// Each backend (store/sqlite, store/postgres) must pass the conformance
// suite in store/storetest. Errors wrap the domain sentinels
// (client.ErrNotFound, client.ErrConflict, user.ErrNotFound, user.ErrConflict) so callers test them with
// errors.Is regardless of backend.
package store

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/idempotency"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/oauth2/clientauth"
	"github.com/latchkey/latchkey/internal/oauth2/grant/authcode"
	"github.com/latchkey/latchkey/internal/oauth2/grant/refresh"
	"github.com/latchkey/latchkey/internal/oauth2/par"
	"github.com/latchkey/latchkey/internal/resource"
	"github.com/latchkey/latchkey/internal/session"
	"github.com/latchkey/latchkey/internal/user"
)

// Store is the whole persistence surface of Latchkey.
type Store interface {
	client.Repository
	// The CORS origin index (SPEC §7).
	client.OriginRepository
	user.Repository
	keys.Repository
	// Idempotency-Key records (internal/idempotency).
	idempotency.Repository
	// Browser sessions and authorization codes (sign-in).
	session.Repository
	authcode.Repository
	// Remembered consent (the authorization endpoint's consent page).
	consent.Repository
	// Registered resources (RFC 8707).
	resource.Repository
	// Expired rows deleted in bounded batches (internal/sweep).
	Sweeps
	// RFC 9126 pushed authorization requests.
	par.Repository
	// Open-registration clients: count, last use, expiry.
	client.AnonymousRepository
	// Refresh token families and revoked grants (refresh_token grant).
	refresh.Repository
	// Spent private_key_jwt client assertions (jti, single use).
	clientauth.AssertionRepository

	// ListAudit returns audit events matching f, newest first.
	ListAudit(ctx context.Context, f audit.Filter) ([]audit.Event, error)

	// CountClients returns how many clients exist.
	CountClients(ctx context.Context) (int, error)
	// HasClients reports whether any client exists (bootstrap asks it on
	// every start; unlike a count it costs the same for any number).
	HasClients(ctx context.Context) (bool, error)

	// InitSetting stores value under name unless a value is already there,
	// and returns whichever value is stored afterwards. Concurrent callers
	// all get the same value.
	InitSetting(ctx context.Context, name string, value []byte) ([]byte, error)

	// RevokeToken records that the token with jti is revoked until it
	// would have expired anyway. Revoking twice is not an error.
	RevokeToken(ctx context.Context, jti string, expiresAt time.Time) error
	// TokenRevoked reports whether jti has been revoked.
	TokenRevoked(ctx context.Context, jti string) (bool, error)

	// Ping checks the store is reachable (readiness).
	Ping(ctx context.Context) error
	Close() error
}

// Copier is what migrate-store needs beyond Store to move a whole store
// to another backend; the server never calls it. Every backend implements
// both. (Store writes given an audit.Event with an empty ID record no
// event, so a copy can write the audit trail itself with AppendAudit.)
type Copier interface {
	// AppendAudit stores a copied audit event verbatim.
	AppendAudit(ctx context.Context, ev audit.Event) error
	// ListSettings returns every setting.
	ListSettings(ctx context.Context) (map[string][]byte, error)
	// ListRevocations returns every recorded revocation.
	ListRevocations(ctx context.Context) ([]Revocation, error)
	// ListRefreshFamilies returns up to limit refresh token families
	// (revoked ones too) with ids after afterID, by id; past tokens of a
	// family are not listed (only its current and previous hashes).
	ListRefreshFamilies(ctx context.Context, afterID string, limit int) ([]refresh.Family, error)
	// ListGrantRevocations returns every recorded grant revocation.
	ListGrantRevocations(ctx context.Context) ([]GrantRevocation, error)
}

// GrantRevocation is a revoked grant id (refresh token family) and how
// long the revocation is kept.
type GrantRevocation struct {
	GrantID   string
	ExpiresAt time.Time
}

// Revocation is a revoked token id and when the token would have expired.
type Revocation struct {
	JTI       string
	ExpiresAt time.Time
}

// GroupCommitter is implemented by a store whose writes go through a
// batching writer (group commit): concurrent writes share one
// transaction and one commit, each in its own savepoint, and a write
// returns only after that commit. Both backends implement it; the
// conformance suite uses it to queue writes deterministically.
type GroupCommitter interface {
	// HoldWrites stops the writer before its next batch until release is
	// called (tests only).
	HoldWrites() (release func())
	// PendingWrites is how many writes are queued or running.
	PendingWrites() int
	// WriteBatches is how many batches have run (one whose first run
	// failed in a member and ran again with savepoints counts once).
	WriteBatches() int
}
