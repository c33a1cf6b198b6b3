package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/oauth2/par"
)

// CreatePushedRequest stores r; requests expired before its creation are
// pruned on the way.
func (s *Store) CreatePushedRequest(ctx context.Context, r par.Request) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM pushed_requests WHERE expires_at < $1`, ts(r.CreatedAt)); err != nil {
			return fmt.Errorf("prune pushed requests: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO pushed_requests (hash, client_id, params, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			r.Hash, r.ClientID, r.Params.Encode(), ts(r.CreatedAt), ts(r.ExpiresAt)); err != nil {
			return fmt.Errorf("create pushed request: %w", err)
		}
		return nil
	})
}

// ConsumePushedRequest deletes the request and returns it; the DELETE's
// row lock makes one of concurrent callers get it, the others nothing.
func (s *Store) ConsumePushedRequest(ctx context.Context, hash string) (par.Request, error) {
	if !storable(hash) {
		return par.Request{}, par.ErrNotFound
	}
	var out par.Request
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var params string
		err := tx.QueryRow(ctx, `DELETE FROM pushed_requests WHERE hash = $1 RETURNING hash, client_id, params, created_at, expires_at`, hash).
			Scan(&out.Hash, &out.ClientID, &params, &out.CreatedAt, &out.ExpiresAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return par.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("consume pushed request: %w", err)
		}
		if out.Params, err = url.ParseQuery(params); err != nil {
			return fmt.Errorf("consume pushed request: stored parameters: %w", err)
		}
		out.CreatedAt, out.ExpiresAt = out.CreatedAt.UTC(), out.ExpiresAt.UTC()
		return nil
	})
	if err != nil {
		return par.Request{}, err
	}
	return out, nil
}
