package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/internal/sqlrows"
)

// RevokeToken records a revoked jti; expired rows are pruned on the way.
func (s *Store) RevokeToken(ctx context.Context, jti string, expiresAt time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO revoked_tokens (jti, expires_at) VALUES (?, ?) ON CONFLICT (jti) DO NOTHING`, jti, micros(expiresAt)); err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM revoked_tokens WHERE expires_at < ?`, micros(time.Now().Add(-time.Hour))); err != nil {
			return fmt.Errorf("prune revocations: %w", err)
		}
		return nil
	})
}

// TokenRevoked reports whether jti is revoked.
func (s *Store) TokenRevoked(ctx context.Context, jti string) (bool, error) {
	var n int
	if err := s.revoked.QueryRowContext(ctx, jti).Scan(&n); err != nil {
		return false, fmt.Errorf("check revocation: %w", err)
	}
	return n > 0, nil
}

// ListRevocations returns every recorded revocation.
func (s *Store) ListRevocations(ctx context.Context) ([]store.Revocation, error) {
	return queryAll(ctx, s, "revocation", `SELECT jti, expires_at FROM revoked_tokens ORDER BY jti`, nil, func(row sqlrows.Scanner) (store.Revocation, error) {
		var r store.Revocation
		var exp int64
		if err := row.Scan(&r.JTI, &exp); err != nil {
			return store.Revocation{}, err
		}
		r.ExpiresAt = fromMicros(exp)
		return r, nil
	})
}
