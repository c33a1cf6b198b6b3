package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/latchkey/latchkey/internal/oauth2/par"
)

// CreatePushedRequest stores r unless a cap of lim is reached; the one
// writer connection serialises the counts and the insert, so concurrent
// pushes never overshoot a cap. Requests expired before r's creation are
// pruned on the way.
func (s *Store) CreatePushedRequest(ctx context.Context, r par.Request, lim par.Limits) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM pushed_requests WHERE expires_at < ?`, micros(r.CreatedAt)); err != nil {
			return fmt.Errorf("prune pushed requests: %w", err)
		}
		if err := capPushed(ctx, tx, "client_id", r.ClientID, r.CreatedAt, lim.PerClient); err != nil {
			return err
		}
		if r.Source != "" {
			if err := capPushed(ctx, tx, "source", r.Source, r.CreatedAt, lim.PerSource); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO pushed_requests (hash, client_id, source, params, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
			r.Hash, r.ClientID, r.Source, r.Params.Encode(), micros(r.CreatedAt), micros(r.ExpiresAt)); err != nil {
			return fmt.Errorf("create pushed request: %w", err)
		}
		return nil
	})
}

// capPushed returns par.ErrTooMany when max requests with column's value
// are live at now.
func capPushed(ctx context.Context, tx *sql.Tx, column, value string, now time.Time, max int) error {
	var n int
	// column is one of two constants, never input.
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM pushed_requests WHERE `+column+` = ? AND expires_at > ? LIMIT ?)`,
		value, micros(now), max).Scan(&n); err != nil {
		return fmt.Errorf("count pushed requests: %w", err)
	}
	if n >= max {
		return fmt.Errorf("pushed requests by %s: %w", column, par.ErrTooMany)
	}
	return nil
}

// ConsumePushedRequest deletes clientID's request and returns it; the one
// writer connection serialises the DELETE, so one of concurrent callers
// gets it. Another client's request is not deleted.
func (s *Store) ConsumePushedRequest(ctx context.Context, hash, clientID string) (par.Request, error) {
	var out par.Request
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var (
			params           string
			created, expires int64
		)
		err := tx.QueryRowContext(ctx, `DELETE FROM pushed_requests WHERE hash = ? AND client_id = ? RETURNING hash, client_id, source, params, created_at, expires_at`, hash, clientID).
			Scan(&out.Hash, &out.ClientID, &out.Source, &params, &created, &expires)
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
