package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/store/internal/sqlrows"
)

const clientColumns = `id, client_id, client_name, client_type, redirect_uris, allowed_scopes, allowed_origins,
	grant_types, client_uri, logo_uri, owner_id, brand_id, is_first_party, enabled, bot_user_id, created_at, updated_at,
	registration_token_hash, token_endpoint_auth_method, post_logout_redirect_uris, id_token_signed_response_alg, require_pushed_requests,
	jwks, jwks_uri, token_endpoint_auth_signing_alg`

// CreateClient inserts c, its secret hashes and ev in one transaction,
// shared with the other registrations of its group-commit batch (each in
// its own savepoint); it returns after that transaction commits. The
// savepoint and inserts go out as one pipelined batch: one round trip.
func (s *Store) CreateClient(ctx context.Context, c client.Client, ev audit.Event) error {
	return s.batched(ctx, func(ctx context.Context, tx *batchTx) error {
		b := tx.pipeline()
		b.Queue(`INSERT INTO clients (`+clientColumns+`)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25)`,
			c.ID, c.ClientID, c.Name, string(c.Type), list(c.RedirectURIs), list(c.AllowedScopes),
			list(c.AllowedOrigins), list(c.GrantTypes), nullText(c.ClientURI), nullText(c.LogoURI),
			nullText(c.OwnerID), c.BrandID, c.FirstParty, c.Enabled, nullText(c.BotUserID),
			ts(c.CreatedAt), ts(c.UpdatedAt), nullBytes(c.RegistrationTokenHash), c.TokenEndpointAuthMethod,
			list(c.PostLogoutRedirectURIs), c.IDTokenAlg, c.RequirePushedRequests,
			nullText(string(c.JWKS)), nullText(c.JWKSURI), nullText(c.AssertionAlg))
		for _, sh := range c.Secrets {
			b.Queue(`INSERT INTO client_secrets (client_pk, hash, created_at, expires_at) VALUES ($1,$2,$3,$4)`,
				c.ID, sh.Hash, ts(sh.CreatedAt), nullTS(sh.ExpiresAt))
		}
		if ev.ID != "" {
			q, args := auditInsert(ev)
			b.Queue(q, args...)
		}
		br, err := tx.send(ctx, b)
		if err != nil {
			return err
		}
		defer br.br.Close()
		err = br.exec()
		if subjectTaken(err) {
			return errSubjectTaken(c.ClientID, client.ErrConflict)
		}
		if isUnique(err) {
			return fmt.Errorf("insert client %s: %w: %w", c.ClientID, client.ErrConflict, err)
		}
		if err != nil {
			return fmt.Errorf("insert client: %w", err)
		}
		for range c.Secrets {
			if err := br.exec(); err != nil {
				return fmt.Errorf("insert client secret: %w", err)
			}
		}
		if ev.ID != "" {
			if err := br.exec(); err != nil {
				return fmt.Errorf("insert audit event: %w", err)
			}
		}
		return br.close()
	})
}

func insertSecrets(ctx context.Context, tx pgx.Tx, pk string, secrets []client.SecretHash) error {
	for _, sh := range secrets {
		_, err := tx.Exec(ctx, `INSERT INTO client_secrets (client_pk, hash, created_at, expires_at) VALUES ($1,$2,$3,$4)`,
			pk, sh.Hash, ts(sh.CreatedAt), nullTS(sh.ExpiresAt))
		if err != nil {
			return fmt.Errorf("insert client secret: %w", err)
		}
	}
	return nil
}

// GetClient returns the client with internal id.
func (s *Store) GetClient(ctx context.Context, id string) (client.Client, error) {
	if !storable(id) {
		return client.Client{}, fmt.Errorf("client %q: %w", id, client.ErrNotFound)
	}
	c, err := getClient(ctx, s.pool, `SELECT `+clientColumns+` FROM clients WHERE id = $1`, id)
	return c, classify(err, false)
}

// GetClientByClientID returns the client with OAuth client_id.
func (s *Store) GetClientByClientID(ctx context.Context, clientID string) (client.Client, error) {
	if !storable(clientID) {
		return client.Client{}, fmt.Errorf("client %q: %w", clientID, client.ErrNotFound)
	}
	c, err := getClient(ctx, s.pool, `SELECT `+clientColumns+` FROM clients WHERE client_id = $1`, clientID)
	return c, classify(err, false)
}

// getClient reads one client row and its secrets. On a pool the two reads
// may see different commits; a caller that needs them consistent (and
// locked) passes a transaction and a FOR UPDATE query.
func getClient(ctx context.Context, q querier, query, arg string) (client.Client, error) {
	c, err := scanClient(q.QueryRow(ctx, query, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return client.Client{}, fmt.Errorf("client %q: %w", arg, client.ErrNotFound)
	}
	if err != nil {
		return client.Client{}, fmt.Errorf("get client: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT hash, created_at, expires_at FROM client_secrets WHERE client_pk = $1 ORDER BY created_at, hash`, c.ID)
	if err != nil {
		return client.Client{}, fmt.Errorf("get client secrets: %w", err)
	}
	defer rows.Close()
	if err := sqlrows.Each(rows, "client secret", func(row sqlrows.Scanner) error {
		var sh client.SecretHash
		var expires pgtype.Timestamptz
		if err := row.Scan(&sh.Hash, &sh.CreatedAt, &expires); err != nil {
			return err
		}
		sh.CreatedAt, sh.ExpiresAt = sh.CreatedAt.UTC(), fromNullTS(expires)
		c.Secrets = append(c.Secrets, sh)
		return nil
	}); err != nil {
		return client.Client{}, err
	}
	return c, nil
}

func scanClient(row sqlrows.Scanner) (client.Client, error) {
	var (
		c                              client.Client
		typ                            string
		clientURI, logoURI, owner, bot pgtype.Text
		jwks, jwksURI, assertionAlg    pgtype.Text
	)
	if err := row.Scan(&c.ID, &c.ClientID, &c.Name, &typ, &c.RedirectURIs, &c.AllowedScopes, &c.AllowedOrigins,
		&c.GrantTypes, &clientURI, &logoURI, &owner, &c.BrandID, &c.FirstParty, &c.Enabled, &bot,
		&c.CreatedAt, &c.UpdatedAt, &c.RegistrationTokenHash, &c.TokenEndpointAuthMethod,
		&c.PostLogoutRedirectURIs, &c.IDTokenAlg, &c.RequirePushedRequests, &jwks, &jwksURI, &assertionAlg); err != nil {
		return client.Client{}, err
	}
	c.Type = client.Type(typ)
	c.RedirectURIs, c.AllowedScopes = list(c.RedirectURIs), list(c.AllowedScopes)
	c.PostLogoutRedirectURIs = list(c.PostLogoutRedirectURIs)
	c.AllowedOrigins, c.GrantTypes = list(c.AllowedOrigins), list(c.GrantTypes)
	c.ClientURI, c.LogoURI, c.OwnerID, c.BotUserID = clientURI.String, logoURI.String, owner.String, bot.String
	if jwks.Valid {
		c.JWKS = []byte(jwks.String)
	}
	c.JWKSURI, c.AssertionAlg = jwksURI.String, assertionAlg.String
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, nil
}

// CountClients returns the number of clients.
func (s *Store) CountClients(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM clients`).Scan(&n); err != nil {
		return 0, classify(fmt.Errorf("count clients: %w", err), false)
	}
	return n, nil
}

// HasClients reports whether any client exists.
func (s *Store) HasClients(ctx context.Context) (bool, error) {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM clients)`).Scan(&exists); err != nil {
		return false, classify(fmt.Errorf("any clients: %w", err), false)
	}
	return exists, nil
}

// ListClients returns clients matching f in creation order, without secrets.
func (s *Store) ListClients(ctx context.Context, f client.Filter) ([]client.Client, error) {
	if !storable(f.OwnerID) || !storable(f.NamePrefix) || !storable(f.AfterID) {
		return []client.Client{}, nil // no row can hold such text
	}
	var where []string
	var a args
	if f.Type != "" {
		where = append(where, "client_type = "+a.add(string(f.Type)))
	}
	if f.Enabled != nil {
		where = append(where, "enabled = "+a.add(*f.Enabled))
	}
	if f.OwnerID != "" {
		where = append(where, "owner_id = "+a.add(f.OwnerID))
	}
	if f.NamePrefix != "" {
		// starts_with compares bytes (the column's collation is
		// deterministic), so unlike LIKE it is case-sensitive and gives
		// % and _ no meaning.
		where = append(where, "starts_with(client_name, "+a.add(f.NamePrefix)+"::text)")
	}
	if f.AfterID != "" {
		// A row comparison, so the (created_at, id) index serves the
		// keyset directly.
		where = append(where, "(created_at, id) > ("+a.add(ts(f.AfterCreated))+"::timestamptz, "+a.add(f.AfterID)+"::text)")
	}
	q := a.listQuery(`SELECT `+clientColumns+` FROM clients`, where, "created_at, id", f.Limit)
	return queryAll(ctx, s, "client", q, a, scanClient)
}

// UpdateClient is a read-modify-write of one client in one transaction.
// SELECT ... FOR UPDATE makes concurrent updates of the same client queue
// behind one another, each reading what the previous one committed, so no
// write is lost; under READ COMMITTED the secrets read that follows the
// lock sees the same committed state.
func (s *Store) UpdateClient(ctx context.Context, id string, fn func(client.Client) (client.Client, audit.Event, error)) (client.Client, error) {
	if !storable(id) {
		return client.Client{}, fmt.Errorf("client %q: %w", id, client.ErrNotFound)
	}
	var out client.Client
	err := s.tx(ctx, func(tx pgx.Tx) error {
		old, err := getClient(ctx, tx, `SELECT `+clientColumns+` FROM clients WHERE id = $1 FOR UPDATE`, id)
		if err != nil {
			return err
		}
		c, ev, err := fn(old)
		if err != nil {
			return err
		}
		// fn's result is stored as it is, into the row just read; keeping
		// identity fields is the client service's rule, not the store's.
		_, err = tx.Exec(ctx, `UPDATE clients SET client_name=$1, client_type=$2, redirect_uris=$3, allowed_scopes=$4,
			allowed_origins=$5, grant_types=$6, client_uri=$7, logo_uri=$8, owner_id=$9, brand_id=$10, is_first_party=$11,
			enabled=$12, bot_user_id=$13, updated_at=$14, registration_token_hash=$15,
			token_endpoint_auth_method=$16, post_logout_redirect_uris=$17, id_token_signed_response_alg=$18, require_pushed_requests=$19,
			jwks=$20, jwks_uri=$21, token_endpoint_auth_signing_alg=$22 WHERE id=$23`,
			c.Name, string(c.Type), list(c.RedirectURIs), list(c.AllowedScopes), list(c.AllowedOrigins),
			list(c.GrantTypes), nullText(c.ClientURI), nullText(c.LogoURI), nullText(c.OwnerID), c.BrandID,
			c.FirstParty, c.Enabled, nullText(c.BotUserID), ts(c.UpdatedAt), nullBytes(c.RegistrationTokenHash),
			c.TokenEndpointAuthMethod, list(c.PostLogoutRedirectURIs), c.IDTokenAlg, c.RequirePushedRequests,
			nullText(string(c.JWKS)), nullText(c.JWKSURI), nullText(c.AssertionAlg), old.ID)
		if isUnique(err) {
			return fmt.Errorf("update client %s: %w: %w", c.ClientID, client.ErrConflict, err)
		}
		if err != nil {
			return fmt.Errorf("update client: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM client_secrets WHERE client_pk = $1`, old.ID); err != nil {
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
	if !storable(id) {
		return fmt.Errorf("client %q: %w", id, client.ErrNotFound)
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM clients WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("delete client: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("client %q: %w", id, client.ErrNotFound)
		}
		return insertAudit(ctx, tx, ev)
	})
}
