package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/idempotency"
)

const idemColumns = `scope, key, fingerprint, owner, created_at, expires_at, locked_until, done, response, replay_until, resource`

// ClaimIdempotencyKey stores rec unless a live record holds its key; the
// write first deletes expired keys and drops responses past their window.
// Writes are serialised on the one writer connection, so of concurrent
// claims exactly one wins.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, rec idempotency.Record, now time.Time) (idempotency.Record, bool, error) {
	var (
		out idempotency.Record
		won bool
	)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE expires_at <= ?`, micros(now)); err != nil {
			return fmt.Errorf("delete expired: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET response = NULL WHERE response IS NOT NULL AND replay_until <= ?`, micros(now)); err != nil {
			return fmt.Errorf("drop responses: %w", err)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (`+idemColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, 0, NULL, NULL, '')
			ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint, owner = excluded.owner,
				created_at = excluded.created_at, expires_at = excluded.expires_at, locked_until = excluded.locked_until,
				done = 0, response = NULL, replay_until = NULL, resource = ''
			WHERE idempotency_keys.done = 0 AND idempotency_keys.locked_until <= ?`,
			rec.Scope, rec.Key, rec.Fingerprint, rec.Owner, micros(rec.CreatedAt), micros(rec.ExpiresAt), micros(rec.LockedUntil), micros(now))
		if err != nil {
			return fmt.Errorf("claim: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("claim: %w", err)
		} else if n == 1 {
			out, won = rec, true
			return nil
		}
		out, err = scanIdem(tx.QueryRowContext(ctx, `SELECT `+idemColumns+` FROM idempotency_keys WHERE scope = ? AND key = ?`, rec.Scope, rec.Key))
		return err
	})
	if err != nil {
		return idempotency.Record{}, false, fmt.Errorf("idempotency key: %w", err)
	}
	return out, won, nil
}

func scanIdem(row *sql.Row) (idempotency.Record, error) {
	var (
		r                        idempotency.Record
		created, expires, locked int64
		done                     bool
		replay                   sql.NullInt64
	)
	if err := row.Scan(&r.Scope, &r.Key, &r.Fingerprint, &r.Owner, &created, &expires, &locked, &done, &r.Response, &replay, &r.Resource); err != nil {
		return idempotency.Record{}, err
	}
	r.CreatedAt, r.ExpiresAt, r.LockedUntil, r.Done, r.ReplayUntil = fromMicros(created), fromMicros(expires), fromMicros(locked), done, fromNullMicros(replay)
	return r, nil
}

// CompleteIdempotencyKey marks rec's claim done with its response.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, rec idempotency.Record) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET done = 1, response = ?, replay_until = ?, resource = ?
			WHERE scope = ? AND key = ? AND owner = ? AND done = 0`,
			rec.Response, nullMicros(rec.ReplayUntil), rec.Resource, rec.Scope, rec.Key, rec.Owner)
		if err != nil {
			return fmt.Errorf("complete idempotency key: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("complete idempotency key: %w", err)
		} else if n == 0 {
			return fmt.Errorf("complete idempotency key: %w", idempotency.ErrNotClaimed)
		}
		return nil
	})
}

// ReleaseIdempotencyKey deletes owner's claim if it is still in flight.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, scope, key, owner string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND owner = ? AND done = 0`, scope, key, owner); err != nil {
			return fmt.Errorf("release idempotency key: %w", err)
		}
		return nil
	})
}
