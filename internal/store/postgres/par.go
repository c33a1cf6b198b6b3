package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/oauth2/par"
)

// CreatePushedRequest stores r unless a cap of lim is reached. The
// counts and the insert run under transaction-scoped advisory locks on
// the client and (when set) the source, taken in that order by every
// caller, so concurrent pushes for one client or source queue and never
// overshoot a cap. Requests expired before r's creation are pruned on the
// way (those no other transaction is pruning: SKIP LOCKED, bounded).
func (s *Store) CreatePushedRequest(ctx context.Context, r par.Request, lim par.Limits) error {
	if !storable(r.ClientID) || !storable(r.Source) {
		return fmt.Errorf("create pushed request: client_id or source is not valid UTF-8")
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM pushed_requests WHERE hash IN (
			SELECT hash FROM pushed_requests WHERE expires_at < $1 LIMIT 1000 FOR UPDATE SKIP LOCKED)`, ts(r.CreatedAt)); err != nil {
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
		if _, err := tx.Exec(ctx, `INSERT INTO pushed_requests (hash, client_id, source, params, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			r.Hash, r.ClientID, r.Source, r.Params.Encode(), ts(r.CreatedAt), ts(r.ExpiresAt)); err != nil {
			return fmt.Errorf("create pushed request: %w", err)
		}
		return nil
	})
}

// capPushed locks column's value for the rest of the transaction and
// returns par.ErrTooMany when max requests with it are live at now.
func capPushed(ctx context.Context, tx pgx.Tx, column, value string, now time.Time, max int) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "pushed_requests "+column+" "+value); err != nil {
		return fmt.Errorf("lock pushed requests: %w", err)
	}
	var n int
	// column is one of two constants, never input.
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM pushed_requests WHERE `+column+` = $1 AND expires_at > $2 LIMIT $3) live`,
		value, ts(now), max).Scan(&n); err != nil {
		return fmt.Errorf("count pushed requests: %w", err)
	}
	if n >= max {
		return fmt.Errorf("pushed requests by %s: %w", column, par.ErrTooMany)
	}
	return nil
}

// ConsumePushedRequest deletes clientID's request and returns it; the
// DELETE's row lock makes one of concurrent callers get it, the others
// nothing. Another client's request is not deleted.
func (s *Store) ConsumePushedRequest(ctx context.Context, hash, clientID string) (par.Request, error) {
	if !storable(hash) || !storable(clientID) {
		return par.Request{}, par.ErrNotFound
	}
	var out par.Request
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var params string
		err := tx.QueryRow(ctx, `DELETE FROM pushed_requests WHERE hash = $1 AND client_id = $2 RETURNING hash, client_id, source, params, created_at, expires_at`, hash, clientID).
			Scan(&out.Hash, &out.ClientID, &out.Source, &params, &out.CreatedAt, &out.ExpiresAt)
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
