package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/client"
)

// CountAnonymousClients counts clients made by open registration.
func (s *Store) CountAnonymousClients(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM clients WHERE owner_id = ?`, client.DCRSubject).Scan(&n); err != nil {
		return 0, classify(fmt.Errorf("count anonymous clients: %w", err), false)
	}
	return n, nil
}

// TouchClient records the use of an anonymous client.
func (s *Store) TouchClient(ctx context.Context, clientID string, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE clients SET last_used_at = ? WHERE client_id = ? AND owner_id = ?`,
			micros(now), clientID, client.DCRSubject); err != nil {
			return fmt.Errorf("touch client: %w", err)
		}
		return nil
	})
}

// DeleteUnusedAnonymousClients deletes up to limit abandoned anonymous
// clients (their secrets go by ON DELETE CASCADE).
func (s *Store) DeleteUnusedAnonymousClients(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM clients WHERE id IN (SELECT id FROM clients
			WHERE owner_id = ? AND COALESCE(last_used_at, created_at) < ? ORDER BY id LIMIT ?)`, client.DCRSubject, micros(cutoff), limit)
		if err != nil {
			return fmt.Errorf("delete unused anonymous clients: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
