package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/store/internal/sqlrows"
)

// CreateClient inserts c, its secret hashes and ev in one transaction,
// shared with the other registrations of its group-commit batch (each in
// its own savepoint); it returns after that transaction commits.
func (s *Store) CreateClient(ctx context.Context, c client.Client, ev audit.Event) error {
	return s.batched(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.StmtContext(ctx, s.insClient).ExecContext(ctx,
			c.ID, c.ClientID, c.Name, string(c.Type), jsonList(c.RedirectURIs), jsonList(c.AllowedScopes),
			jsonList(c.AllowedOrigins), jsonList(c.GrantTypes), nullString(c.ClientURI), nullString(c.LogoURI),
			nullString(c.OwnerID), c.BrandID, c.FirstParty, c.Enabled, nullString(c.BotUserID),
			micros(c.CreatedAt), micros(c.UpdatedAt), nullBytes(c.RegistrationTokenHash), c.TokenEndpointAuthMethod,
			jsonList(c.PostLogoutRedirectURIs), c.IDTokenAlg, c.RequirePushedRequests,
			nullString(string(c.JWKS)), nullString(c.JWKSURI), nullString(c.AssertionAlg))
		if subjectTaken(err) {
			return errSubjectTaken(c.ClientID, client.ErrConflict)
		}
		if isConstraint(err) {
			return fmt.Errorf("insert client %s: %w", c.ClientID, client.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("insert client: %w", err)
		}
		ins := tx.StmtContext(ctx, s.insSecret)
		for _, sh := range c.Secrets {
			if _, err := ins.ExecContext(ctx, c.ID, sh.Hash, micros(sh.CreatedAt), nullMicros(sh.ExpiresAt)); err != nil {
				return fmt.Errorf("insert client secret: %w", err)
			}
		}
		return insertAudit(ctx, stmtQuerier{tx.StmtContext(ctx, s.insAudit)}, ev)
	})
}

const (
	insertClientQuery = `INSERT INTO clients (` + clientColumns + `) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`
	insertSecretQuery = `INSERT INTO client_secrets (client_pk, hash, created_at, expires_at) VALUES (?,?,?,?)`
)

func insertSecrets(ctx context.Context, tx *sql.Tx, pk string, secrets []client.SecretHash) error {
	for _, sh := range secrets {
		if _, err := tx.ExecContext(ctx, insertSecretQuery,
			pk, sh.Hash, micros(sh.CreatedAt), nullMicros(sh.ExpiresAt)); err != nil {
			return fmt.Errorf("insert client secret: %w", err)
		}
	}
	return nil
}

const clientColumns = `id, client_id, client_name, client_type, redirect_uris, allowed_scopes, allowed_origins,
	grant_types, client_uri, logo_uri, owner_id, brand_id, is_first_party, enabled, bot_user_id, created_at, updated_at,
	registration_token_hash, token_endpoint_auth_method, post_logout_redirect_uris, id_token_signed_response_alg, require_pushed_requests,
	jwks, jwks_uri, token_endpoint_auth_signing_alg`

// GetClient returns the client with internal id.
func (s *Store) GetClient(ctx context.Context, id string) (client.Client, error) {
	return s.getClient(ctx, s.byID, id)
}

// GetClientByClientID returns the client with OAuth client_id.
func (s *Store) GetClientByClientID(ctx context.Context, clientID string) (client.Client, error) {
	return s.getClient(ctx, s.byClientID, clientID)
}

const secretsQuery = `SELECT hash, created_at, expires_at FROM client_secrets WHERE client_pk = ? ORDER BY created_at, hash`

func (s *Store) getClient(ctx context.Context, stmt *sql.Stmt, arg string) (client.Client, error) {
	return readClient(ctx, stmt.QueryRowContext(ctx, arg), arg, func(pk string) (*sql.Rows, error) {
		return s.secrets.QueryContext(ctx, pk)
	})
}

func getClient(ctx context.Context, q querier, query, arg string) (client.Client, error) {
	return readClient(ctx, q.QueryRowContext(ctx, query, arg), arg, func(pk string) (*sql.Rows, error) {
		return q.QueryContext(ctx, secretsQuery, pk)
	})
}

func readClient(ctx context.Context, row *sql.Row, arg string, secrets func(pk string) (*sql.Rows, error)) (client.Client, error) {
	c, err := scanClient(row)
	if errors.Is(err, sql.ErrNoRows) {
		return client.Client{}, fmt.Errorf("client %q: %w", arg, client.ErrNotFound)
	}
	if err != nil {
		return client.Client{}, fmt.Errorf("get client: %w", err)
	}
	rows, err := secrets(c.ID)
	if err != nil {
		return client.Client{}, fmt.Errorf("get client secrets: %w", err)
	}
	defer rows.Close()
	if err := sqlrows.Each(rows, "client secret", func(row sqlrows.Scanner) error {
		var sh client.SecretHash
		var created int64
		var expires sql.NullInt64
		if err := row.Scan(&sh.Hash, &created, &expires); err != nil {
			return err
		}
		sh.CreatedAt, sh.ExpiresAt = fromMicros(created), fromNullMicros(expires)
		c.Secrets = append(c.Secrets, sh)
		return nil
	}); err != nil {
		return client.Client{}, err
	}
	return c, nil
}

func scanClient(row sqlrows.Scanner) (client.Client, error) {
	var (
		c                                   client.Client
		typ, redirects, scopes, origins, gt string
		postLogout                          string
		clientURI, logoURI, owner, bot      sql.NullString
		jwks, jwksURI, assertionAlg         sql.NullString
		created, updated                    int64
	)
	if err := row.Scan(&c.ID, &c.ClientID, &c.Name, &typ, &redirects, &scopes, &origins, &gt, &clientURI,
		&logoURI, &owner, &c.BrandID, &c.FirstParty, &c.Enabled, &bot, &created, &updated, &c.RegistrationTokenHash,
		&c.TokenEndpointAuthMethod, &postLogout, &c.IDTokenAlg, &c.RequirePushedRequests, &jwks, &jwksURI, &assertionAlg); err != nil {
		return client.Client{}, err
	}
	c.Type = client.Type(typ)
	var err error
	if c.RedirectURIs, err = parseList(redirects); err != nil {
		return client.Client{}, err
	}
	if c.PostLogoutRedirectURIs, err = parseList(postLogout); err != nil {
		return client.Client{}, err
	}
	if c.AllowedScopes, err = parseList(scopes); err != nil {
		return client.Client{}, err
	}
	if c.AllowedOrigins, err = parseList(origins); err != nil {
		return client.Client{}, err
	}
	if c.GrantTypes, err = parseList(gt); err != nil {
		return client.Client{}, err
	}
	c.ClientURI, c.LogoURI, c.OwnerID, c.BotUserID = clientURI.String, logoURI.String, owner.String, bot.String
	if jwks.Valid {
		c.JWKS = []byte(jwks.String)
	}
	c.JWKSURI, c.AssertionAlg = jwksURI.String, assertionAlg.String
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return c, nil
}

// CountClients returns the number of clients.
func (s *Store) CountClients(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM clients`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count clients: %w", err)
	}
	return n, nil
}

// HasClients reports whether any client exists.
func (s *Store) HasClients(ctx context.Context) (bool, error) {
	var exists bool
	if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM clients)`).Scan(&exists); err != nil {
		return false, fmt.Errorf("any clients: %w", err)
	}
	return exists, nil
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
	q := listQuery(`SELECT `+clientColumns+` FROM clients`, where, "created_at, id", f.Limit)
	return queryAll(ctx, s, "client", q, args, scanClient)
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
		// fn's result is stored as it is, into the row just read; keeping
		// identity fields is the client service's rule, not the store's.
		_, err = tx.ExecContext(ctx, `UPDATE clients SET client_name=?, client_type=?, redirect_uris=?, allowed_scopes=?,
			allowed_origins=?, grant_types=?, client_uri=?, logo_uri=?, owner_id=?, brand_id=?, is_first_party=?, enabled=?,
			bot_user_id=?, updated_at=?, registration_token_hash=?, token_endpoint_auth_method=?, post_logout_redirect_uris=?,
			id_token_signed_response_alg=?, require_pushed_requests=?, jwks=?, jwks_uri=?, token_endpoint_auth_signing_alg=? WHERE id=?`,
			c.Name, string(c.Type), jsonList(c.RedirectURIs), jsonList(c.AllowedScopes), jsonList(c.AllowedOrigins),
			jsonList(c.GrantTypes), nullString(c.ClientURI), nullString(c.LogoURI), nullString(c.OwnerID), c.BrandID,
			c.FirstParty, c.Enabled, nullString(c.BotUserID), micros(c.UpdatedAt), nullBytes(c.RegistrationTokenHash),
			c.TokenEndpointAuthMethod, jsonList(c.PostLogoutRedirectURIs), c.IDTokenAlg, c.RequirePushedRequests,
			nullString(string(c.JWKS)), nullString(c.JWKSURI), nullString(c.AssertionAlg), old.ID)
		if isConstraint(err) {
			return fmt.Errorf("update client %s: %w", c.ClientID, client.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("update client: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM client_secrets WHERE client_pk = ?`, old.ID); err != nil {
			return fmt.Errorf("replace client secrets: %w", err)
		}
		if err := insertSecrets(ctx, tx, old.ID, c.Secrets); err != nil {
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
