package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/store/internal/sqlrows"
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
// clients (their secrets go by ON DELETE CASCADE), each audited.
func (s *Store) DeleteUnusedAnonymousClients(ctx context.Context, cutoff time.Time, limit int, event func(id, clientID string) (audit.Event, error)) (int, error) {
	var n int
	err := s.tx(ctx, func(tx pgx.Tx) error {
		n = 0
		rows, err := tx.Query(ctx, `DELETE FROM clients WHERE id IN (SELECT id FROM clients
			WHERE owner_id = $1 AND COALESCE(last_used_at, created_at) < $2 ORDER BY id LIMIT $3) RETURNING id, client_id`, client.DCRSubject, ts(cutoff), limit)
		if err != nil {
			return fmt.Errorf("delete unused anonymous clients: %w", err)
		}
		gone, err := sqlrows.Collect(rows, "client", func(r sqlrows.Scanner) ([2]string, error) {
			var ids [2]string
			return ids, r.Scan(&ids[0], &ids[1])
		})
		rows.Close() // before the next statement on this connection
		if err != nil {
			return err
		}
		for _, ids := range gone {
			ev, err := event(ids[0], ids[1])
			if err != nil {
				return err
			}
			if err := insertAudit(ctx, tx, ev); err != nil {
				return err
			}
		}
		n = len(gone)
		return nil
	})
	return n, err
}
