package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/store/internal/sqlrows"
	"github.com/latchkey/latchkey/internal/user"
)

const userColumns = `id, username, display_name, bot, password_hash, created_at, updated_at, email, email_verified, enabled, brand_id`

// CreateUser inserts u and ev in one transaction.
func (s *Store) CreateUser(ctx context.Context, u user.User, ev audit.Event) error {
	return s.insertAudited(ctx, ev, "user", u.Username, u.ID, user.ErrConflict,
		`INSERT INTO users (`+userColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		u.ID, u.Username, u.DisplayName, u.Bot, nullString(u.PasswordHash), micros(u.CreatedAt), micros(u.UpdatedAt),
		nullString(u.Email), u.EmailVerified, u.Enabled, u.BrandID)
}

// GetUser returns the user with id.
func (s *Store) GetUser(ctx context.Context, id string) (user.User, error) {
	return s.getUser(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id)
}

// GetUserByUsername returns the user with username.
func (s *Store) GetUserByUsername(ctx context.Context, username string) (user.User, error) {
	return s.getUser(ctx, `SELECT `+userColumns+` FROM users WHERE username = ?`, username)
}

func (s *Store) getUser(ctx context.Context, q, arg string) (user.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, q, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return user.User{}, fmt.Errorf("user %q: %w", arg, user.ErrNotFound)
	}
	if err != nil {
		return user.User{}, fmt.Errorf("get user: %w", err)
	}
	return u, nil
}

func scanUser(row sqlrows.Scanner) (user.User, error) {
	var u user.User
	var pw, email sql.NullString
	var created, updated int64
	if err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Bot, &pw, &created, &updated,
		&email, &u.EmailVerified, &u.Enabled, &u.BrandID); err != nil {
		return user.User{}, err
	}
	u.PasswordHash, u.Email, u.CreatedAt, u.UpdatedAt = pw.String, email.String, fromMicros(created), fromMicros(updated)
	return u, nil
}

// ListUsers returns users in creation order after the page position.
func (s *Store) ListUsers(ctx context.Context, p user.Page) ([]user.User, error) {
	var where []string
	var args []any
	if p.AfterID != "" {
		where = append(where, "(created_at > ? OR (created_at = ? AND id > ?))")
		args = append(args, micros(p.AfterCreated), micros(p.AfterCreated), p.AfterID)
	}
	q := listQuery(`SELECT `+userColumns+` FROM users`, where, "created_at, id", p.Limit)
	return queryAll(ctx, s, "user", q, args, scanUser)
}

// UpdateUser is a read-modify-write of one user in one transaction.
func (s *Store) UpdateUser(ctx context.Context, id string, fn func(user.User) (user.User, audit.Event, error)) (user.User, error) {
	var out user.User
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("user %q: %w", id, user.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("get user: %w", err)
		}
		u, ev, err := fn(old)
		if err != nil {
			return err
		}
		// The id and the creation time are the row's; the rest is fn's.
		_, err = tx.ExecContext(ctx, `UPDATE users SET username=?, display_name=?, password_hash=?, updated_at=?,
			email=?, email_verified=?, enabled=?, brand_id=? WHERE id=?`,
			u.Username, u.DisplayName, nullString(u.PasswordHash), micros(u.UpdatedAt),
			nullString(u.Email), u.EmailVerified, u.Enabled, u.BrandID, old.ID)
		if isConstraint(err) {
			return fmt.Errorf("update user %s: %w", u.Username, user.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		if !u.Enabled {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, old.ID); err != nil {
				return fmt.Errorf("end sessions of disabled user: %w", err)
			}
		}
		if err := insertAudit(ctx, tx, ev); err != nil {
			return err
		}
		u.ID, u.Bot, u.CreatedAt = old.ID, old.Bot, old.CreatedAt
		out = u
		return nil
	})
	return out, err
}

// DeleteUser removes a user, recording ev; user.ErrInUse while a client
// names it as its bot. Its subject stays claimed (migration 0007).
func (s *Store) DeleteUser(ctx context.Context, id string, ev audit.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var bound int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM clients WHERE bot_user_id = ?`, id).Scan(&bound); err != nil {
			return fmt.Errorf("clients of user: %w", err)
		}
		if bound > 0 {
			return fmt.Errorf("user %q is the bot of %d clients: %w", id, bound, user.ErrInUse)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
		if isConstraint(err) {
			return fmt.Errorf("delete user %q: %w", id, user.ErrInUse)
		}
		if err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("user %q: %w", id, user.ErrNotFound)
		}
		for _, q := range []string{`DELETE FROM sessions WHERE user_id = ?`, `DELETE FROM consents WHERE user_id = ?`} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return fmt.Errorf("end sessions of deleted user: %w", err)
			}
		}
		return insertAudit(ctx, tx, ev)
	})
}
