package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/oauth2/grant/refresh"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/internal/sqlrows"
)

const familyColumns = `f.id, f.client_id, f.user_id, f.scopes, f.auth_time, f.session_id, f.created_at, f.expires_at,
	f.idle_expires_at, f.current_hash, f.prev_hash, f.rotated_at, f.revoked_at, f.resources`

const familyByToken = `SELECT ` + familyColumns + ` FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.hash = $1`

func scanFamily(row sqlrows.Scanner) (refresh.Family, error) {
	var (
		f                      refresh.Family
		scopes, resources      string
		auth, rotated, revoked pgtype.Timestamptz
	)
	if err := row.Scan(&f.ID, &f.ClientID, &f.UserID, &scopes, &auth, &f.SessionID, &f.CreatedAt, &f.ExpiresAt,
		&f.IdleExpiresAt, &f.CurrentHash, &f.PrevHash, &rotated, &revoked, &resources); err != nil {
		return refresh.Family{}, err
	}
	f.Scopes = strings.Fields(scopes)
	if resources != "" {
		f.Resources = strings.Fields(resources)
	}
	f.AuthTime, f.RotatedAt, f.RevokedAt = fromNullTS(auth), fromNullTS(rotated), fromNullTS(revoked)
	f.CreatedAt, f.ExpiresAt, f.IdleExpiresAt = f.CreatedAt.UTC(), f.ExpiresAt.UTC(), f.IdleExpiresAt.UTC()
	return f, nil
}

// CreateRefresh stores a new family and its first token.
func (s *Store) CreateRefresh(ctx context.Context, f refresh.Family) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO refresh_families (id, client_id, user_id, scopes, auth_time, session_id,
			created_at, expires_at, idle_expires_at, current_hash, prev_hash, rotated_at, revoked_at, resources) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			f.ID, f.ClientID, f.UserID, strings.Join(f.Scopes, " "), nullTS(f.AuthTime), f.SessionID,
			ts(f.CreatedAt), ts(f.ExpiresAt), ts(f.IdleExpiresAt), f.CurrentHash, f.PrevHash,
			nullTS(f.RotatedAt), nullTS(f.RevokedAt), strings.Join(f.Resources, " ")); err != nil {
			return fmt.Errorf("create refresh family: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (hash, family_id) VALUES ($1, $2)`, f.CurrentHash, f.ID); err != nil {
			return fmt.Errorf("create refresh token: %w", err)
		}
		// A copied family (migrate-store) brings its previous token, so
		// that the overlap and reuse detection work on for it.
		if f.PrevHash != "" {
			if _, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (hash, family_id) VALUES ($1, $2)`, f.PrevHash, f.ID); err != nil {
				return fmt.Errorf("create refresh token: %w", err)
			}
		}
		return nil
	})
}

// RotateRefresh redeems a refresh token in one transaction. SELECT ...
// FOR UPDATE locks the family row, so concurrent redemptions (on this
// node or another) wait; each then reads the family as the one before it
// left it, and of redemptions of one token exactly one finds it current.
// It runs in its own transaction, not a group-commit batch: a batch
// holding two families' locks could deadlock with another node's.
func (s *Store) RotateRefresh(ctx context.Context, r refresh.Rotation) (refresh.Family, error) {
	if !storable(r.Hash) {
		return refresh.Family{}, refresh.ErrNotFound
	}
	var (
		out    refresh.Family
		result error
	)
	err := s.tx(ctx, func(tx pgx.Tx) error {
		out, result = refresh.Family{}, nil
		f, err := scanFamily(tx.QueryRow(ctx, familyByToken+` FOR UPDATE OF f`, r.Hash))
		if errors.Is(err, pgx.ErrNoRows) {
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
		if _, err := tx.Exec(ctx, `UPDATE refresh_families SET current_hash = $1, prev_hash = $2, rotated_at = $3, idle_expires_at = $4 WHERE id = $5`,
			next.CurrentHash, next.PrevHash, nullTS(next.RotatedAt), ts(next.IdleExpiresAt), f.ID); err != nil {
			return fmt.Errorf("rotate refresh token: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (hash, family_id) VALUES ($1, $2)`, next.CurrentHash, f.ID); err != nil {
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
func revokeGrant(ctx context.Context, tx pgx.Tx, id string, now, until time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE refresh_families SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, ts(now), id); err != nil {
		return fmt.Errorf("revoke grant: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO revoked_grants (grant_id, expires_at) VALUES ($1, $2)
		ON CONFLICT (grant_id) DO UPDATE SET expires_at = greatest(revoked_grants.expires_at, excluded.expires_at)`, id, ts(until)); err != nil {
		return fmt.Errorf("revoke grant: %w", err)
	}
	return nil
}

// RefreshFamily returns the family holding a token with that hash.
func (s *Store) RefreshFamily(ctx context.Context, hash string) (refresh.Family, error) {
	if !storable(hash) {
		return refresh.Family{}, refresh.ErrNotFound
	}
	f, err := scanFamily(s.pool.QueryRow(ctx, familyByToken, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return refresh.Family{}, refresh.ErrNotFound
	}
	if err != nil {
		return refresh.Family{}, classify(fmt.Errorf("get refresh family: %w", err), false)
	}
	return f, nil
}

// RevokeGrant revokes grant id.
func (s *Store) RevokeGrant(ctx context.Context, id string, now, until time.Time) error {
	if !storable(id) {
		return nil
	}
	return s.tx(ctx, func(tx pgx.Tx) error { return revokeGrant(ctx, tx, id, now, until) })
}

// GrantRevoked reports whether grant id was revoked.
func (s *Store) GrantRevoked(ctx context.Context, id string) (bool, error) {
	if !storable(id) {
		return false, nil
	}
	var revoked bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM revoked_grants WHERE grant_id = $1)`, id).Scan(&revoked); err != nil {
		return false, classify(fmt.Errorf("check grant revocation: %w", err), false)
	}
	return revoked, nil
}

// ListUserGrants returns the user's live families, newest first.
func (s *Store) ListUserGrants(ctx context.Context, userID string, now time.Time) ([]refresh.Family, error) {
	if !storable(userID) {
		return nil, nil
	}
	return queryAll(ctx, s, "refresh family", `SELECT `+familyColumns+` FROM refresh_families f
		WHERE f.user_id = $1 AND f.revoked_at IS NULL AND f.expires_at > $2 AND f.idle_expires_at > $2 ORDER BY f.created_at DESC, f.id`,
		[]any{userID, ts(now)}, scanFamily)
}

// RevokeUserGrants revokes the user's live families (or one) and audits it.
func (s *Store) RevokeUserGrants(ctx context.Context, sel refresh.GrantSelector, now, until time.Time, event func([]string) (audit.Event, error)) ([]string, error) {
	if !storable(sel.UserID) || !storable(sel.GrantID) || !storable(sel.ClientID) {
		return nil, nil
	}
	var ids []string
	err := s.tx(ctx, func(tx pgx.Tx) error {
		ids = nil
		q := `SELECT id FROM refresh_families WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND idle_expires_at > $2`
		args := []any{sel.UserID, ts(now)}
		if sel.GrantID != "" {
			args = append(args, sel.GrantID)
			q += fmt.Sprintf(` AND id = $%d`, len(args))
		}
		if sel.ClientID != "" {
			args = append(args, sel.ClientID)
			q += fmt.Sprintf(` AND client_id = $%d`, len(args))
		}
		rows, err := tx.Query(ctx, q+` ORDER BY id FOR UPDATE`, args...)
		if err != nil {
			return fmt.Errorf("revoke user grants: %w", err)
		}
		ids, err = sqlrows.Collect(rows, "grant", func(r sqlrows.Scanner) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
		rows.Close() // before the next statement on this connection
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
// tokens) and ended grant revocations. SKIP LOCKED lets several nodes
// sweep at once without waiting on each other or on a rotation.
func (s *Store) DeleteExpiredRefresh(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	n := 0
	err := s.tx(ctx, func(tx pgx.Tx) error {
		n = 0
		tag, err := tx.Exec(ctx, `DELETE FROM refresh_families WHERE id IN (SELECT id FROM refresh_families
			WHERE expires_at <= $1 OR idle_expires_at <= $1 OR revoked_at IS NOT NULL LIMIT $2 FOR UPDATE SKIP LOCKED)`, ts(now), limit)
		if err != nil {
			return fmt.Errorf("delete expired refresh families: %w", err)
		}
		n = int(tag.RowsAffected())
		if n >= limit {
			return nil
		}
		tag, err = tx.Exec(ctx, `DELETE FROM revoked_grants WHERE grant_id IN (SELECT grant_id FROM revoked_grants
			WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, ts(now), limit-n)
		if err != nil {
			return fmt.Errorf("delete expired grant revocations: %w", err)
		}
		n += int(tag.RowsAffected())
		return nil
	})
	return n, err
}

// ListRefreshFamilies returns up to limit families with ids after afterID.
func (s *Store) ListRefreshFamilies(ctx context.Context, afterID string, limit int) ([]refresh.Family, error) {
	return queryAll(ctx, s, "refresh family record", `SELECT `+familyColumns+` FROM refresh_families f WHERE f.id > $1 ORDER BY f.id LIMIT $2`,
		[]any{afterID, limit}, scanFamily)
}

// ListGrantRevocations returns every recorded grant revocation.
func (s *Store) ListGrantRevocations(ctx context.Context) ([]store.GrantRevocation, error) {
	return queryAll(ctx, s, "grant revocation", `SELECT grant_id, expires_at FROM revoked_grants ORDER BY grant_id`, nil,
		func(row sqlrows.Scanner) (store.GrantRevocation, error) {
			var r store.GrantRevocation
			if err := row.Scan(&r.GrantID, &r.ExpiresAt); err != nil {
				return store.GrantRevocation{}, err
			}
			r.ExpiresAt = r.ExpiresAt.UTC()
			return r, nil
		})
}
