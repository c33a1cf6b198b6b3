package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// sweep deletes up to limit rows of table whose expires_at is before
// cutoff, in one short transaction.
func (s *Store) sweep(ctx context.Context, table string, cutoff time.Time, limit int) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE rowid IN (SELECT rowid FROM `+table+` WHERE expires_at < ? LIMIT ?)`,
			micros(cutoff), limit)
		if err != nil {
			return fmt.Errorf("sweep %s: %w", table, err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}

// SweepSessions deletes up to limit sessions expired before now.
func (s *Store) SweepSessions(ctx context.Context, now time.Time, limit int) (int, error) {
	return s.sweep(ctx, "sessions", now, limit)
}

// SweepAuthCodes deletes up to limit codes expired more than keep ago.
func (s *Store) SweepAuthCodes(ctx context.Context, now time.Time, keep time.Duration, limit int) (int, error) {
	return s.sweep(ctx, "auth_codes", now.Add(-keep), limit)
}

// SweepRevocations deletes up to limit revocations of expired tokens.
func (s *Store) SweepRevocations(ctx context.Context, now time.Time, limit int) (int, error) {
	return s.sweep(ctx, "revoked_tokens", now, limit)
}
