package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/store/internal/sqlrows"
	"github.com/latchkey/latchkey/internal/user"
)

const userColumns = `id, username, display_name, bot, password_hash, created_at, updated_at, email, email_verified, enabled, brand_id`

// CreateUser inserts u and ev in one transaction.
func (s *Store) CreateUser(ctx context.Context, u user.User, ev audit.Event) error {
	return s.insertAudited(ctx, ev, "user", u.Username, u.ID, user.ErrConflict,
		`INSERT INTO users (`+userColumns+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`,
		u.ID, u.Username, u.DisplayName, u.Bot, nullText(u.PasswordHash), ts(u.CreatedAt), ts(u.UpdatedAt),
		nullText(u.Email), u.EmailVerified, u.Enabled, u.BrandID)
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
	var pw, email pgtype.Text
	if err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Bot, &pw, &u.CreatedAt, &u.UpdatedAt,
		&email, &u.EmailVerified, &u.Enabled, &u.BrandID); err != nil {
		return user.User{}, err
	}
	u.PasswordHash, u.Email, u.CreatedAt, u.UpdatedAt = pw.String, email.String, u.CreatedAt.UTC(), u.UpdatedAt.UTC()
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

// UpdateUser is a read-modify-write of one user in one transaction.
func (s *Store) UpdateUser(ctx context.Context, id string, fn func(user.User) (user.User, audit.Event, error)) (user.User, error) {
	if !storable(id) {
		return user.User{}, fmt.Errorf("user %q: %w", id, user.ErrNotFound)
	}
	var out user.User
	err := s.tx(ctx, func(tx pgx.Tx) error {
		old, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("user %q: %w", id, user.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("get user: %w", err)
		}
		u, ev, err := fn(old)
		if err != nil {
			return err
		}
		if !storable(u.Username) || !storable(u.DisplayName) || !storable(u.Email) {
			return fmt.Errorf("update user: a value is not storable text")
		}
		// The id and the creation time are the row's; the rest is fn's.
		_, err = tx.Exec(ctx, `UPDATE users SET username=$1, display_name=$2, password_hash=$3, updated_at=$4,
			email=$5, email_verified=$6, enabled=$7, brand_id=$8 WHERE id=$9`,
			u.Username, u.DisplayName, nullText(u.PasswordHash), ts(u.UpdatedAt),
			nullText(u.Email), u.EmailVerified, u.Enabled, u.BrandID, old.ID)
		if isUnique(err) {
			return fmt.Errorf("update user %s: %w: %w", u.Username, user.ErrConflict, err)
		}
		if err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		if !u.Enabled {
			if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, old.ID); err != nil {
				return fmt.Errorf("end sessions of disabled user: %w", err)
			}
		}
		if err := insertAudit(ctx, tx, ev); err != nil {
			return err
		}
		u.ID, u.Bot, u.CreatedAt, u.UpdatedAt = old.ID, old.Bot, old.CreatedAt, ts(u.UpdatedAt)
		out = u
		return nil
	})
	return out, err
}

// DeleteUser removes a user, recording ev; user.ErrInUse while a client
// names it as its bot. Its subject stays claimed (migration 0007).
func (s *Store) DeleteUser(ctx context.Context, id string, ev audit.Event) error {
	if !storable(id) {
		return fmt.Errorf("user %q: %w", id, user.ErrNotFound)
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		var bound int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM clients WHERE bot_user_id = $1`, id).Scan(&bound); err != nil {
			return fmt.Errorf("clients of user: %w", err)
		}
		if bound > 0 {
			return fmt.Errorf("user %q is the bot of %d clients: %w", id, bound, user.ErrInUse)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23503" { // foreign_key_violation: a client bound it meanwhile
			return fmt.Errorf("delete user %q: %w", id, user.ErrInUse)
		}
		if err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("user %q: %w", id, user.ErrNotFound)
		}
		for _, q := range []string{`DELETE FROM sessions WHERE user_id = $1`, `DELETE FROM consents WHERE user_id = $1`} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return fmt.Errorf("end sessions of deleted user: %w", err)
			}
		}
		return insertAudit(ctx, tx, ev)
	})
}
