package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/oauth2/clientauth"
)

// SpendAssertion records a client assertion's jti: inserted, or taking
// the place of an expired record; a live record is a replay. A
// concurrent insert of the same key waits for the first to commit and
// then sees the conflict, so exactly one wins.
func (s *Store) SpendAssertion(ctx context.Context, clientID, jti string, expiresAt, now time.Time) error {
	if !storable(clientID) || !storable(jti) {
		return fmt.Errorf("client %q: %w", clientID, clientauth.ErrReplayed)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO client_assertion_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = EXCLUDED.expires_at
		WHERE client_assertion_jtis.expires_at <= $4`, clientID, jti, ts(expiresAt), ts(now))
	if err != nil {
		return classify(fmt.Errorf("spend client assertion: %w", err), true)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("client %q: %w", clientID, clientauth.ErrReplayed)
	}
	return nil
}

// SweepAssertions deletes up to limit spent assertion records that
// expired before now, skipping rows another node is deleting.
func (s *Store) SweepAssertions(ctx context.Context, now time.Time, limit int) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM client_assertion_jtis WHERE ctid IN (SELECT ctid FROM client_assertion_jtis
			WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, ts(now), limit)
		if err != nil {
			return fmt.Errorf("sweep client_assertion_jtis: %w", err)
		}
		n = tag.RowsAffected()
		return nil
	})
	return int(n), err
}
