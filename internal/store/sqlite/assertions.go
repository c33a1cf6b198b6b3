package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/oauth2/clientauth"
)

// SpendAssertion records a client assertion's jti: inserted, or taking
// the place of an expired record; a live record is a replay.
func (s *Store) SpendAssertion(ctx context.Context, clientID, jti string, expiresAt, now time.Time) error {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO client_assertion_jtis (client_id, jti, expires_at) VALUES (?, ?, ?)
			ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = excluded.expires_at
			WHERE client_assertion_jtis.expires_at <= ?`, clientID, jti, micros(expiresAt), micros(now))
		if err != nil {
			return fmt.Errorf("spend client assertion: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("client %q: %w", clientID, clientauth.ErrReplayed)
	}
	return nil
}

// SweepAssertions deletes up to limit spent assertion records that
// expired before now.
func (s *Store) SweepAssertions(ctx context.Context, now time.Time, limit int) (int, error) {
	return s.sweep(ctx, "client_assertion_jtis", now, limit)
}
