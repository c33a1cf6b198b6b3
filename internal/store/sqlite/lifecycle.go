package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/user"
)

// insertAudit writes ev; an event without an ID records nothing, which
// only a store copy (migrate-store) uses, since it copies the audit trail
// itself.
func insertAudit(ctx context.Context, q querier, ev audit.Event) error {
	if ev.ID == "" {
		return nil
	}
	details := string(ev.Details)
	if details == "" {
		details = "{}"
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO audit_events (id, time, actor_subject, actor_client_id, action, target_type, target_id, details) VALUES (?,?,?,?,?,?,?,?)`,
		ev.ID, micros(ev.Time), ev.ActorSubject, ev.ActorClientID, ev.Action, ev.TargetType, ev.TargetID, details); err != nil {
		return fmt.Errorf("insert audit event: %w", err)
	}
	return nil
}

// ListClients returns clients matching f in creation order, without secrets.
func (s *Store) ListClients(ctx context.Context, f client.Filter) ([]client.Client, error) {
	var where []string
	var args []any
	if f.Type != "" {
		where, args = append(where, "client_type = ?"), append(args, string(f.Type))
	}
	if f.Enabled != nil {
		where, args = append(where, "enabled = ?"), append(args, *f.Enabled)
	}
	if f.OwnerID != "" {
		where, args = append(where, "owner_id = ?"), append(args, f.OwnerID)
	}
	if f.NamePrefix != "" {
		where, args = append(where, "substr(client_name, 1, ?) = ?"), append(args, len([]rune(f.NamePrefix)), f.NamePrefix)
	}
	if f.AfterID != "" {
		where = append(where, "(created_at > ? OR (created_at = ? AND id > ?))")
		args = append(args, micros(f.AfterCreated), micros(f.AfterCreated), f.AfterID)
	}
	q := `SELECT ` + clientColumns + ` FROM clients`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at, id"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	defer rows.Close()
	out := []client.Client{}
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, fmt.Errorf("scan client: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// UpdateClient is a read-modify-write of one client in one transaction.
func (s *Store) UpdateClient(ctx context.Context, id string, fn func(client.Client) (client.Client, audit.Event, error)) (client.Client, error) {
	var out client.Client
	err := s.tx(ctx, func(tx *sql.Tx) error {
		old, err := getClient(ctx, tx, `SELECT `+clientColumns+` FROM clients WHERE id = ?`, id)
		if errors.Is(err, sql.ErrNoRows) || errors.Is(err, client.ErrNotFound) {
			return fmt.Errorf("client %q: %w", id, client.ErrNotFound)
		}
		if err != nil {
			return err
		}
		c, ev, err := fn(old)
		if err != nil {
			return err
		}
		// Identity fields never change, whatever fn returned.
		c.ID, c.ClientID, c.CreatedAt = old.ID, old.ClientID, old.CreatedAt
		_, err = tx.ExecContext(ctx, `UPDATE clients SET client_name=?, client_type=?, redirect_uris=?, allowed_scopes=?,
			allowed_origins=?, grant_types=?, client_uri=?, logo_uri=?, owner_id=?, brand_id=?, is_first_party=?, enabled=?,
			bot_user_id=?, updated_at=?, registration_token_hash=? WHERE id=?`,
			c.Name, string(c.Type), jsonList(c.RedirectURIs), jsonList(c.AllowedScopes), jsonList(c.AllowedOrigins),
			jsonList(c.GrantTypes), nullString(c.ClientURI), nullString(c.LogoURI), nullString(c.OwnerID), c.BrandID,
			c.FirstParty, c.Enabled, nullString(c.BotUserID), micros(c.UpdatedAt), nullBytes(c.RegistrationTokenHash), c.ID)
		if isConstraint(err) {
			return fmt.Errorf("update client %s: %w", c.ClientID, client.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("update client: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM client_secrets WHERE client_pk = ?`, c.ID); err != nil {
			return fmt.Errorf("replace client secrets: %w", err)
		}
		if err := insertSecrets(ctx, tx, c.ID, c.Secrets); err != nil {
			return err
		}
		if err := insertAudit(ctx, tx, ev); err != nil {
			return err
		}
		out = c
		return nil
	})
	return out, err
}

// DeleteClient removes a client and its secrets, recording ev.
func (s *Store) DeleteClient(ctx context.Context, id string, ev audit.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM clients WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete client: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("client %q: %w", id, client.ErrNotFound)
		}
		return insertAudit(ctx, tx, ev)
	})
}

// ListAudit returns events matching f, newest first.
func (s *Store) ListAudit(ctx context.Context, f audit.Filter) ([]audit.Event, error) {
	var where []string
	var args []any
	if f.Action != "" {
		where, args = append(where, "action = ?"), append(args, f.Action)
	}
	if f.TargetID != "" {
		where, args = append(where, "target_id = ?"), append(args, f.TargetID)
	}
	if f.Actor != "" {
		where, args = append(where, "actor_subject = ?"), append(args, f.Actor)
	}
	if f.BeforeID != "" {
		where = append(where, "(time < ? OR (time = ? AND id < ?))")
		args = append(args, micros(f.BeforeTime), micros(f.BeforeTime), f.BeforeID)
	}
	q := `SELECT id, time, actor_subject, actor_client_id, action, target_type, target_id, details FROM audit_events`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY time DESC, id DESC"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	out := []audit.Event{}
	for rows.Next() {
		var ev audit.Event
		var t int64
		var details string
		if err := rows.Scan(&ev.ID, &t, &ev.ActorSubject, &ev.ActorClientID, &ev.Action, &ev.TargetType, &ev.TargetID, &details); err != nil {
			return nil, fmt.Errorf("scan audit event: %w", err)
		}
		ev.Time, ev.Details = fromMicros(t), []byte(details)
		out = append(out, ev)
	}
	return out, rows.Err()
}

const userColumns = `id, username, display_name, bot, password_hash, created_at, updated_at`

// CreateUser inserts u and ev in one transaction.
func (s *Store) CreateUser(ctx context.Context, u user.User, ev audit.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?,?,?,?,?,?,?)`,
			u.ID, u.Username, u.DisplayName, u.Bot, nullString(u.PasswordHash), micros(u.CreatedAt), micros(u.UpdatedAt))
		if isConstraint(err) {
			return fmt.Errorf("user %s: %w", u.Username, user.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("insert user: %w", err)
		}
		return insertAudit(ctx, tx, ev)
	})
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

func scanUser(row scanner) (user.User, error) {
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
	q := `SELECT ` + userColumns + ` FROM users`
	var args []any
	if p.AfterID != "" {
		q += ` WHERE (created_at > ? OR (created_at = ? AND id > ?))`
		args = append(args, micros(p.AfterCreated), micros(p.AfterCreated), p.AfterID)
	}
	q += ` ORDER BY created_at, id`
	if p.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", p.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	out := []user.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("scan user: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
