package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/internal/sqlrows"
)

// RevokeToken records a revoked jti; expired rows are pruned on the way.
// Rows live an hour past expiry so a node whose clock lags still finds
// them while it would accept the token.
func (s *Store) RevokeToken(ctx context.Context, jti string, expiresAt time.Time) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING`, jti, ts(expiresAt)); err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM revoked_tokens WHERE expires_at < $1`, ts(time.Now().Add(-time.Hour))); err != nil {
			return fmt.Errorf("prune revocations: %w", err)
		}
		return nil
	})
}

// TokenRevoked reports whether jti is revoked.
func (s *Store) TokenRevoked(ctx context.Context, jti string) (bool, error) {
	if !storable(jti) {
		return false, nil
	}
	var revoked bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $1)`, jti).Scan(&revoked); err != nil {
		return false, classify(fmt.Errorf("check revocation: %w", err), false)
	}
	return revoked, nil
}

// ListRevocations returns every recorded revocation.
func (s *Store) ListRevocations(ctx context.Context) ([]store.Revocation, error) {
	return queryAll(ctx, s, "revocation", `SELECT jti, expires_at FROM revoked_tokens ORDER BY jti`, nil, func(row sqlrows.Scanner) (store.Revocation, error) {
		var r store.Revocation
		if err := row.Scan(&r.JTI, &r.ExpiresAt); err != nil {
			return store.Revocation{}, err
		}
		r.ExpiresAt = r.ExpiresAt.UTC()
		return r, nil
	})
}
