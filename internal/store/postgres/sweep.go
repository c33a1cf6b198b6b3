package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// sweep deletes up to limit rows of table whose expires_at is before
// cutoff, in one short transaction. Rows another node is deleting at the
// same time are skipped (SKIP LOCKED), so concurrent sweeps do not wait
// on each other.
func (s *Store) sweep(ctx context.Context, table, key string, cutoff time.Time, limit int) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE `+key+` IN (SELECT `+key+` FROM `+table+
			` WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, ts(cutoff), limit)
		if err != nil {
			return fmt.Errorf("sweep %s: %w", table, err)
		}
		n = tag.RowsAffected()
		return nil
	})
	return int(n), err
}

// SweepSessions deletes up to limit sessions expired before now.
func (s *Store) SweepSessions(ctx context.Context, now time.Time, limit int) (int, error) {
	return s.sweep(ctx, "sessions", "token_hash", now, limit)
}

// SweepAuthCodes deletes up to limit codes expired more than keep ago.
func (s *Store) SweepAuthCodes(ctx context.Context, now time.Time, keep time.Duration, limit int) (int, error) {
	return s.sweep(ctx, "auth_codes", "hash", now.Add(-keep), limit)
}

// SweepRevocations deletes up to limit revocations of expired tokens.
func (s *Store) SweepRevocations(ctx context.Context, now time.Time, limit int) (int, error) {
	return s.sweep(ctx, "revoked_tokens", "jti", now, limit)
}
