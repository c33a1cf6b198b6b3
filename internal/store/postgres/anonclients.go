package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/client"
)

// CountAnonymousClients counts clients made by open registration.
func (s *Store) CountAnonymousClients(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM clients WHERE owner_id = $1`, client.DCRSubject).Scan(&n); err != nil {
		return 0, classify(fmt.Errorf("count anonymous clients: %w", err), false)
	}
	return n, nil
}

// TouchClient records the use of an anonymous client.
func (s *Store) TouchClient(ctx context.Context, clientID string, now time.Time) error {
	if !storable(clientID) {
		return nil
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE clients SET last_used_at = $1 WHERE client_id = $2 AND owner_id = $3`,
			ts(now), clientID, client.DCRSubject); err != nil {
			return fmt.Errorf("touch client: %w", err)
		}
		return nil
	})
}

// DeleteUnusedAnonymousClients deletes up to limit abandoned anonymous
// clients (their secrets go by ON DELETE CASCADE).
func (s *Store) DeleteUnusedAnonymousClients(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM clients WHERE id IN (SELECT id FROM clients
			WHERE owner_id = $1 AND COALESCE(last_used_at, created_at) < $2 ORDER BY id LIMIT $3)`, client.DCRSubject, ts(cutoff), limit)
		if err != nil {
			return fmt.Errorf("delete unused anonymous clients: %w", err)
		}
		n = tag.RowsAffected()
		return nil
	})
	return int(n), err
}
