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

const userColumns = `id, username, display_name, bot, password_hash, created_at, updated_at`

// CreateUser inserts u and ev in one transaction.
func (s *Store) CreateUser(ctx context.Context, u user.User, ev audit.Event) error {
	return s.insertAudited(ctx, ev, "user", u.Username, u.ID, user.ErrConflict,
		`INSERT INTO users (`+userColumns+`) VALUES (?,?,?,?,?,?,?)`,
		u.ID, u.Username, u.DisplayName, u.Bot, nullString(u.PasswordHash), micros(u.CreatedAt), micros(u.UpdatedAt))
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
	var pw sql.NullString
	var created, updated int64
	if err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Bot, &pw, &created, &updated); err != nil {
		return user.User{}, err
	}
	u.PasswordHash, u.CreatedAt, u.UpdatedAt = pw.String, fromMicros(created), fromMicros(updated)
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
