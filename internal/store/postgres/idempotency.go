package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/latchkey/latchkey/internal/idempotency"
)

const idemColumns = `scope, key, fingerprint, owner, created_at, expires_at, locked_until, done, response, replay_until, resource`

// idemSweepBatch bounds the cleanup one claim does; SKIP LOCKED lets
// concurrent claims on several nodes clean up side by side without
// waiting for (or deadlocking on) each other's rows.
const idemSweepBatch = 100

// ClaimIdempotencyKey stores rec unless a live record holds its key. The
// INSERT ... ON CONFLICT is one statement, so of concurrent claims (on any
// node) exactly one wins; the losers read the winner's row. Expired keys
// and responses past their window are cleaned up on the way.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, rec idempotency.Record, now time.Time) (idempotency.Record, bool, error) {
	if err := s.sweepIdempotency(ctx, now); err != nil {
		return idempotency.Record{}, false, err
	}
	for range 3 {
		tag, err := s.pool.Exec(ctx, `INSERT INTO idempotency_keys (`+idemColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, false, NULL, NULL, '')
			ON CONFLICT (scope, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, owner = EXCLUDED.owner,
				created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at, locked_until = EXCLUDED.locked_until,
				done = false, response = NULL, replay_until = NULL, resource = ''
			WHERE idempotency_keys.expires_at <= $8 OR (NOT idempotency_keys.done AND idempotency_keys.locked_until <= $8)`,
			rec.Scope, rec.Key, rec.Fingerprint, rec.Owner, ts(rec.CreatedAt), ts(rec.ExpiresAt), ts(rec.LockedUntil), ts(now))
		if err != nil {
			return idempotency.Record{}, false, fmt.Errorf("claim idempotency key: %w", err)
		}
		if tag.RowsAffected() == 1 {
			return rec, true, nil
		}
		got, err := s.getIdempotency(ctx, rec.Scope, rec.Key)
		if errors.Is(err, pgx.ErrNoRows) { // released or swept since: claim again
			continue
		}
		if err != nil {
			return idempotency.Record{}, false, fmt.Errorf("read idempotency key: %w", err)
		}
		if got.ReplayUntil.Before(now) || got.ReplayUntil.Equal(now) {
			got.Response = nil // past its window, though not yet swept
		}
		return got, false, nil
	}
	return idempotency.Record{}, false, errors.New("claim idempotency key: the key kept changing hands")
}

func (s *Store) sweepIdempotency(ctx context.Context, now time.Time) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE (scope, key) IN (
		SELECT scope, key FROM idempotency_keys WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, ts(now), idemSweepBatch); err != nil {
		return fmt.Errorf("delete expired idempotency keys: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE idempotency_keys SET response = NULL WHERE (scope, key) IN (
		SELECT scope, key FROM idempotency_keys WHERE response IS NOT NULL AND replay_until <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, ts(now), idemSweepBatch); err != nil {
		return fmt.Errorf("drop idempotent responses: %w", err)
	}
	return nil
}

func (s *Store) getIdempotency(ctx context.Context, scope, key string) (idempotency.Record, error) {
	var (
		r      idempotency.Record
		replay pgtype.Timestamptz
	)
	err := s.pool.QueryRow(ctx, `SELECT `+idemColumns+` FROM idempotency_keys WHERE scope = $1 AND key = $2`, scope, key).
		Scan(&r.Scope, &r.Key, &r.Fingerprint, &r.Owner, &r.CreatedAt, &r.ExpiresAt, &r.LockedUntil, &r.Done, &r.Response, &replay, &r.Resource)
	if err != nil {
		return idempotency.Record{}, err
	}
	r.CreatedAt, r.ExpiresAt, r.LockedUntil = r.CreatedAt.UTC(), r.ExpiresAt.UTC(), r.LockedUntil.UTC()
	if replay.Valid {
		r.ReplayUntil = replay.Time.UTC()
	}
	return r, nil
}

// CompleteIdempotencyKey marks rec's claim done with its response.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, rec idempotency.Record) error {
	tag, err := s.pool.Exec(ctx, `UPDATE idempotency_keys SET done = true, response = $1, replay_until = $2, resource = $3
		WHERE scope = $4 AND key = $5 AND owner = $6 AND NOT done`,
		rec.Response, nullTS(rec.ReplayUntil), rec.Resource, rec.Scope, rec.Key, rec.Owner)
	if err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("complete idempotency key: %w", idempotency.ErrNotClaimed)
	}
	return nil
}

// ReleaseIdempotencyKey deletes owner's claim if it is still in flight.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, scope, key, owner string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND owner = $3 AND NOT done`, scope, key, owner); err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}
