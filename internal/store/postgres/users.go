package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/store/internal/sqlrows"
	"github.com/latchkey/latchkey/internal/user"
)

const userColumns = `id, username, display_name, bot, password_hash, created_at, updated_at`

// CreateUser inserts u and ev in one transaction.
func (s *Store) CreateUser(ctx context.Context, u user.User, ev audit.Event) error {
	return s.insertAudited(ctx, ev, "user", u.Username, u.ID, user.ErrConflict,
		`INSERT INTO users (`+userColumns+`) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		u.ID, u.Username, u.DisplayName, u.Bot, nullText(u.PasswordHash), ts(u.CreatedAt), ts(u.UpdatedAt))
}

// GetUser returns the user with id.
func (s *Store) GetUser(ctx context.Context, id string) (user.User, error) {
	return s.getUser(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id)
}

// GetUserByUsername returns the user with username.
func (s *Store) GetUserByUsername(ctx context.Context, username string) (user.User, error) {
	return s.getUser(ctx, `SELECT `+userColumns+` FROM users WHERE username = $1`, username)
}

func (s *Store) getUser(ctx context.Context, q, arg string) (user.User, error) {
	if !storable(arg) {
		return user.User{}, fmt.Errorf("user %q: %w", arg, user.ErrNotFound)
	}
	u, err := scanUser(s.pool.QueryRow(ctx, q, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return user.User{}, fmt.Errorf("user %q: %w", arg, user.ErrNotFound)
	}
	if err != nil {
		return user.User{}, classify(fmt.Errorf("get user: %w", err), false)
	}
	return u, nil
}

func scanUser(row sqlrows.Scanner) (user.User, error) {
	var u user.User
	var pw pgtype.Text
	if err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Bot, &pw, &u.CreatedAt, &u.UpdatedAt); err != nil {
		return user.User{}, err
	}
	u.PasswordHash, u.CreatedAt, u.UpdatedAt = pw.String, u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, nil
}

// ListUsers returns users in creation order after the page position.
func (s *Store) ListUsers(ctx context.Context, p user.Page) ([]user.User, error) {
	var where []string
	var a args
	if p.AfterID != "" {
		where = append(where, "(created_at, id) > ("+a.add(ts(p.AfterCreated))+"::timestamptz, "+a.add(p.AfterID)+"::text)")
	}
	q := a.listQuery(`SELECT `+userColumns+` FROM users`, where, "created_at, id", p.Limit)
	return queryAll(ctx, s, "user", q, a, scanUser)
}
