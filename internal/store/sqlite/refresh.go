package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/oauth2/grant/refresh"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/internal/sqlrows"
)

const familyColumns = `f.id, f.client_id, f.user_id, f.scopes, f.auth_time, f.session_id, f.created_at, f.expires_at,
	f.idle_expires_at, f.current_hash, f.prev_hash, f.rotated_at, f.revoked_at, f.resources`

func scanFamily(row sqlrows.Scanner) (refresh.Family, error) {
	var (
		f                      refresh.Family
		scopes, resources      string
		auth, rotated, revoked sql.NullInt64
		created, expires, idle int64
	)
	if err := row.Scan(&f.ID, &f.ClientID, &f.UserID, &scopes, &auth, &f.SessionID, &created, &expires,
		&idle, &f.CurrentHash, &f.PrevHash, &rotated, &revoked, &resources); err != nil {
		return refresh.Family{}, err
	}
	f.Scopes = strings.Fields(scopes)
	if resources != "" {
		f.Resources = strings.Fields(resources)
	}
	f.AuthTime, f.RotatedAt, f.RevokedAt = fromNullMicros(auth), fromNullMicros(rotated), fromNullMicros(revoked)
	f.CreatedAt, f.ExpiresAt, f.IdleExpiresAt = fromMicros(created), fromMicros(expires), fromMicros(idle)
	return f, nil
}

// CreateRefresh stores a new family and its first token.
func (s *Store) CreateRefresh(ctx context.Context, f refresh.Family) error {
	return s.batched(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO refresh_families (id, client_id, user_id, scopes, auth_time, session_id,
			created_at, expires_at, idle_expires_at, current_hash, prev_hash, rotated_at, revoked_at, resources) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			f.ID, f.ClientID, f.UserID, strings.Join(f.Scopes, " "), nullMicros(f.AuthTime), f.SessionID,
			micros(f.CreatedAt), micros(f.ExpiresAt), micros(f.IdleExpiresAt), f.CurrentHash, f.PrevHash,
			nullMicros(f.RotatedAt), nullMicros(f.RevokedAt), strings.Join(f.Resources, " ")); err != nil {
			return fmt.Errorf("create refresh family: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO refresh_tokens (hash, family_id) VALUES (?, ?)`, f.CurrentHash, f.ID); err != nil {
			return fmt.Errorf("create refresh token: %w", err)
		}
		// A copied family (migrate-store) brings its previous token, so
		// that the overlap and reuse detection work on for it.
		if f.PrevHash != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO refresh_tokens (hash, family_id) VALUES (?, ?)`, f.PrevHash, f.ID); err != nil {
				return fmt.Errorf("create refresh token: %w", err)
			}
		}
		return nil
	})
}

// RotateRefresh redeems a refresh token. The group-commit writer runs
// one member at a time on the one writer connection, so the read, the
// decision (refresh.Rotation.Next) and the write are one atomic step.
func (s *Store) RotateRefresh(ctx context.Context, r refresh.Rotation) (refresh.Family, error) {
	var (
		out    refresh.Family
		result error
	)
	err := s.batched(ctx, func(ctx context.Context, tx *sql.Tx) error {
		out, result = refresh.Family{}, nil
		f, err := scanFamily(tx.QueryRowContext(ctx, `SELECT `+familyColumns+` FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.hash = ?`, r.Hash))
		if errors.Is(err, sql.ErrNoRows) {
			return refresh.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("rotate refresh token: %w", err)
		}
		next, err := r.Next(f)
		if errors.Is(err, refresh.ErrReused) {
			result = err
			return revokeGrant(ctx, tx, f.ID, r.Now, r.RevokeUntil)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE refresh_families SET current_hash = ?, prev_hash = ?, rotated_at = ?, idle_expires_at = ? WHERE id = ?`,
			next.CurrentHash, next.PrevHash, nullMicros(next.RotatedAt), micros(next.IdleExpiresAt), f.ID); err != nil {
			return fmt.Errorf("rotate refresh token: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO refresh_tokens (hash, family_id) VALUES (?, ?)`, next.CurrentHash, f.ID); err != nil {
			return fmt.Errorf("rotate refresh token: %w", err)
		}
		out = next
		return nil
	})
	if err == nil {
		err = result
	}
	if err != nil {
		return refresh.Family{}, err
	}
	return out, nil
}

// revokeGrant marks the family revoked (if there is one) and records the
// grant id revoked until until.
func revokeGrant(ctx context.Context, tx *sql.Tx, id string, now, until time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE refresh_families SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, micros(now), id); err != nil {
		return fmt.Errorf("revoke grant: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO revoked_grants (grant_id, expires_at) VALUES (?, ?)
		ON CONFLICT (grant_id) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`, id, micros(until)); err != nil {
		return fmt.Errorf("revoke grant: %w", err)
	}
	return nil
}

// RefreshFamily returns the family holding a token with that hash.
func (s *Store) RefreshFamily(ctx context.Context, hash string) (refresh.Family, error) {
	f, err := scanFamily(s.db.QueryRowContext(ctx, `SELECT `+familyColumns+` FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return refresh.Family{}, refresh.ErrNotFound
	}
	if err != nil {
		return refresh.Family{}, classify(fmt.Errorf("get refresh family: %w", err), false)
	}
	return f, nil
}

// RevokeGrant revokes grant id.
func (s *Store) RevokeGrant(ctx context.Context, id string, now, until time.Time) error {
	return s.batched(ctx, func(ctx context.Context, tx *sql.Tx) error { return revokeGrant(ctx, tx, id, now, until) })
}

// GrantRevoked reports whether grant id was revoked.
func (s *Store) GrantRevoked(ctx context.Context, id string) (bool, error) {
	var n int
	if err := s.grantRevoked.QueryRowContext(ctx, id).Scan(&n); err != nil {
		return false, classify(fmt.Errorf("check grant revocation: %w", err), false)
	}
	return n > 0, nil
}

// ListUserGrants returns the user's live families, newest first.
func (s *Store) ListUserGrants(ctx context.Context, userID string, now time.Time) ([]refresh.Family, error) {
	return queryAll(ctx, s, "refresh family", `SELECT `+familyColumns+` FROM refresh_families f
		WHERE f.user_id = ? AND f.revoked_at IS NULL AND f.expires_at > ? AND f.idle_expires_at > ? ORDER BY f.created_at DESC, f.id`,
		[]any{userID, micros(now), micros(now)}, scanFamily)
}

// RevokeUserGrants revokes the user's live families (or one) and audits it.
func (s *Store) RevokeUserGrants(ctx context.Context, sel refresh.GrantSelector, now, until time.Time, event func([]string) (audit.Event, error)) ([]string, error) {
	var ids []string
	err := s.batched(ctx, func(ctx context.Context, tx *sql.Tx) error {
		ids = nil
		q := `SELECT id FROM refresh_families WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? AND idle_expires_at > ?`
		args := []any{sel.UserID, micros(now), micros(now)}
		if sel.GrantID != "" {
			q += ` AND id = ?`
			args = append(args, sel.GrantID)
		}
		if sel.ClientID != "" {
			q += ` AND client_id = ?`
			args = append(args, sel.ClientID)
		}
		rows, err := tx.QueryContext(ctx, q+` ORDER BY id`, args...)
		if err != nil {
			return fmt.Errorf("revoke user grants: %w", err)
		}
		ids, err = sqlrows.Collect(rows, "grant", func(r sqlrows.Scanner) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
		rows.Close()
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := revokeGrant(ctx, tx, id, now, until); err != nil {
				return err
			}
		}
		if len(ids) == 0 {
			return nil
		}
		ev, err := event(ids)
		if err != nil {
			return err
		}
		return insertAudit(ctx, tx, ev)
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// DeleteExpiredRefresh deletes up to limit dead families (with their
// tokens) and ended grant revocations.
func (s *Store) DeleteExpiredRefresh(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	n := 0
	err := s.batched(ctx, func(ctx context.Context, tx *sql.Tx) error {
		n = 0
		res, err := tx.ExecContext(ctx, `DELETE FROM refresh_families WHERE id IN (SELECT id FROM refresh_families
			WHERE expires_at <= ?1 OR idle_expires_at <= ?1 OR revoked_at IS NOT NULL LIMIT ?2)`, micros(now), limit)
		if err != nil {
			return fmt.Errorf("delete expired refresh families: %w", err)
		}
		k, _ := res.RowsAffected()
		n = int(k)
		if n >= limit {
			return nil
		}
		res, err = tx.ExecContext(ctx, `DELETE FROM revoked_grants WHERE grant_id IN (SELECT grant_id FROM revoked_grants WHERE expires_at <= ? LIMIT ?)`,
			micros(now), limit-n)
		if err != nil {
			return fmt.Errorf("delete expired grant revocations: %w", err)
		}
		k, _ = res.RowsAffected()
		n += int(k)
		return nil
	})
	return n, err
}

// ListRefreshFamilies returns up to limit families with ids after afterID.
func (s *Store) ListRefreshFamilies(ctx context.Context, afterID string, limit int) ([]refresh.Family, error) {
	return queryAll(ctx, s, "refresh family record", `SELECT `+familyColumns+` FROM refresh_families f WHERE f.id > ? ORDER BY f.id LIMIT ?`,
		[]any{afterID, limit}, scanFamily)
}

// ListGrantRevocations returns every recorded grant revocation.
func (s *Store) ListGrantRevocations(ctx context.Context) ([]store.GrantRevocation, error) {
	return queryAll(ctx, s, "grant revocation", `SELECT grant_id, expires_at FROM revoked_grants ORDER BY grant_id`, nil,
		func(row sqlrows.Scanner) (store.GrantRevocation, error) {
			var (
				r   store.GrantRevocation
				exp int64
			)
			if err := row.Scan(&r.GrantID, &exp); err != nil {
				return store.GrantRevocation{}, err
			}
			r.ExpiresAt = fromMicros(exp)
			return r, nil
		})
}
