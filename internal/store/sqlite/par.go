package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"

	"github.com/latchkey/latchkey/internal/oauth2/par"
)

// CreatePushedRequest stores r; requests expired before its creation are
// pruned on the way.
func (s *Store) CreatePushedRequest(ctx context.Context, r par.Request) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM pushed_requests WHERE expires_at < ?`, micros(r.CreatedAt)); err != nil {
			return fmt.Errorf("prune pushed requests: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO pushed_requests (hash, client_id, params, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			r.Hash, r.ClientID, r.Params.Encode(), micros(r.CreatedAt), micros(r.ExpiresAt)); err != nil {
			return fmt.Errorf("create pushed request: %w", err)
		}
		return nil
	})
}

// ConsumePushedRequest deletes the request and returns it; the one writer
// connection serialises the DELETE, so one of concurrent callers gets it.
func (s *Store) ConsumePushedRequest(ctx context.Context, hash string) (par.Request, error) {
	var out par.Request
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var (
			params           string
			created, expires int64
		)
		err := tx.QueryRowContext(ctx, `DELETE FROM pushed_requests WHERE hash = ? RETURNING hash, client_id, params, created_at, expires_at`, hash).
			Scan(&out.Hash, &out.ClientID, &params, &created, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return par.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("consume pushed request: %w", err)
		}
		if out.Params, err = url.ParseQuery(params); err != nil {
			return fmt.Errorf("consume pushed request: stored parameters: %w", err)
		}
		out.CreatedAt, out.ExpiresAt = fromMicros(created), fromMicros(expires)
		return nil
	})
	if err != nil {
		return par.Request{}, err
	}
	return out, nil
}
