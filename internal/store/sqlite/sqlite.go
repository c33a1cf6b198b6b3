// Package sqlite is the embedded storage backend: one SQLite file in WAL
// mode, migrations embedded and applied on open.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a SQLite-backed store.Store.
type Store struct {
	db *sql.DB // readers
	// wdb has a single connection: SQLite admits one writer at a time, and
	// queueing writers here (FIFO, no sleeping) instead of in SQLite's busy
	// handler (which sleeps with backoff) halved the p99 of concurrent
	// registrations (119 -> 63 ms at 16 clients) and cut the worst case
	// from 0.9 s to 0.1 s. busy_timeout still covers other processes, such
	// as the CLI, writing to the same file.
	wdb *sql.DB
	// Hot-path statements, prepared once: parsing SQL was most of the cost
	// of a token request.
	byClientID, byID, secrets, revoked *sql.Stmt
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path and applies
// pending migrations. synchronous=FULL makes every commit durable before
// the call returns, so a 2xx survives kill -9 and power loss.
func Open(ctx context.Context, path string) (*Store, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "foreign_keys(1)", "busy_timeout(10000)", "synchronous(FULL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	open := func(conns int) (*sql.DB, error) {
		db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		db.SetMaxOpenConns(conns)
		db.SetMaxIdleConns(conns)
		db.SetConnMaxIdleTime(0)
		return db, nil
	}
	wdb, err := open(1)
	if err != nil {
		return nil, err
	}
	db, err := open(8)
	if err != nil {
		wdb.Close()
		return nil, err
	}
	s := &Store{db: db, wdb: wdb}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&s.byClientID, `SELECT ` + clientColumns + ` FROM clients WHERE client_id = ?`},
		{&s.byID, `SELECT ` + clientColumns + ` FROM clients WHERE id = ?`},
		{&s.secrets, secretsQuery},
		{&s.revoked, `SELECT count(*) FROM revoked_tokens WHERE jti = ?`},
	} {
		if *p.dst, err = db.PrepareContext(ctx, p.query); err != nil {
			s.Close()
			return nil, fmt.Errorf("prepare: %w", err)
		}
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.wdb.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
		if err := s.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			body, err := migrations.ReadFile(name)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, version, time.Now().UnixMicro())
			return err
		}); err != nil {
			return fmt.Errorf("migration %s: %w", version, err)
		}
	}
	return nil
}

// tx runs fn in one immediate transaction, committing if it returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	for _, st := range []*sql.Stmt{s.byClientID, s.byID, s.secrets, s.revoked} {
		if st != nil {
			st.Close()
		}
	}
	rerr := s.db.Close()
	if werr := s.wdb.Close(); werr != nil {
		return werr
	}
	return rerr
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// DB exposes the handle for tests that inspect the file.
func (s *Store) DB() *sql.DB { return s.db }

func isConstraint(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		code := se.Code()
		return code&0xff == sqlite3.SQLITE_CONSTRAINT
	}
	return false
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func fromNullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// nullBytes stores an empty hash as NULL.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

func jsonList(l []string) string {
	if l == nil {
		l = []string{}
	}
	b, _ := json.Marshal(l)
	return string(b)
}

func parseList(s string) ([]string, error) {
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("decode list column: %w", err)
	}
	if l == nil {
		l = []string{}
	}
	return l, nil
}

// CreateClient inserts c, its secret hashes and ev in one transaction.
func (s *Store) CreateClient(ctx context.Context, c client.Client, ev audit.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO clients (id, client_id, client_name, client_type, redirect_uris,
			allowed_scopes, allowed_origins, grant_types, client_uri, logo_uri, owner_id, brand_id, is_first_party,
			enabled, bot_user_id, created_at, updated_at, registration_token_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			c.ID, c.ClientID, c.Name, string(c.Type), jsonList(c.RedirectURIs), jsonList(c.AllowedScopes),
			jsonList(c.AllowedOrigins), jsonList(c.GrantTypes), nullString(c.ClientURI), nullString(c.LogoURI),
			nullString(c.OwnerID), c.BrandID, c.FirstParty, c.Enabled, nullString(c.BotUserID),
			micros(c.CreatedAt), micros(c.UpdatedAt), nullBytes(c.RegistrationTokenHash))
		if isConstraint(err) {
			return fmt.Errorf("insert client %s: %w", c.ClientID, client.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("insert client: %w", err)
		}
		if err := insertSecrets(ctx, tx, c.ID, c.Secrets); err != nil {
			return err
		}
		return insertAudit(ctx, tx, ev)
	})
}

func insertSecrets(ctx context.Context, tx *sql.Tx, pk string, secrets []client.SecretHash) error {
	for _, sh := range secrets {
		if _, err := tx.ExecContext(ctx, `INSERT INTO client_secrets (client_pk, hash, created_at, expires_at) VALUES (?,?,?,?)`,
			pk, sh.Hash, micros(sh.CreatedAt), nullMicros(sh.ExpiresAt)); err != nil {
			return fmt.Errorf("insert client secret: %w", err)
		}
	}
	return nil
}

const clientColumns = `id, client_id, client_name, client_type, redirect_uris, allowed_scopes, allowed_origins,
	grant_types, client_uri, logo_uri, owner_id, brand_id, is_first_party, enabled, bot_user_id, created_at, updated_at,
	registration_token_hash`

// GetClient returns the client with internal id.
func (s *Store) GetClient(ctx context.Context, id string) (client.Client, error) {
	return s.getClient(ctx, s.byID, id)
}

// GetClientByClientID returns the client with OAuth client_id.
func (s *Store) GetClientByClientID(ctx context.Context, clientID string) (client.Client, error) {
	return s.getClient(ctx, s.byClientID, clientID)
}

// querier is a *sql.DB or *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
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
	for rows.Next() {
		var sh client.SecretHash
		var created int64
		var expires sql.NullInt64
		if err := rows.Scan(&sh.Hash, &created, &expires); err != nil {
			return client.Client{}, fmt.Errorf("scan client secret: %w", err)
		}
		sh.CreatedAt, sh.ExpiresAt = fromMicros(created), fromNullMicros(expires)
		c.Secrets = append(c.Secrets, sh)
	}
	if err := rows.Err(); err != nil {
		return client.Client{}, fmt.Errorf("read client secrets: %w", err)
	}
	return c, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanClient(row scanner) (client.Client, error) {
	var (
		c                                   client.Client
		typ, redirects, scopes, origins, gt string
		clientURI, logoURI, owner, bot      sql.NullString
		created, updated                    int64
	)
	if err := row.Scan(&c.ID, &c.ClientID, &c.Name, &typ, &redirects, &scopes, &origins, &gt, &clientURI,
		&logoURI, &owner, &c.BrandID, &c.FirstParty, &c.Enabled, &bot, &created, &updated, &c.RegistrationTokenHash); err != nil {
		return client.Client{}, err
	}
	c.Type = client.Type(typ)
	var err error
	if c.RedirectURIs, err = parseList(redirects); err != nil {
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

// InitSetting stores value under name if absent and returns the stored one.
func (s *Store) InitSetting(ctx context.Context, name string, value []byte) ([]byte, error) {
	var out []byte
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, value); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&out)
	})
	if err != nil {
		return nil, fmt.Errorf("setting %s: %w", name, err)
	}
	return out, nil
}

// CreateSigningKey stores a new signing key and its audit event.
func (s *Store) CreateSigningKey(ctx context.Context, r keys.Record, ev audit.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (kid, algorithm, private, public, created_at, sign_from, retire_at) VALUES (?,?,?,?,?,?,?)`,
			r.KID, r.Algorithm, r.Private, r.Public, micros(r.CreatedAt), micros(r.SignFrom), nullMicros(r.RetireAt))
		if isConstraint(err) {
			return fmt.Errorf("signing key %s: %w", r.KID, keys.ErrDuplicateKey)
		}
		if err != nil {
			return fmt.Errorf("insert signing key: %w", err)
		}
		return insertAudit(ctx, tx, ev)
	})
}

// ListSigningKeys returns every stored signing key, oldest first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]keys.Record, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT kid, algorithm, private, public, created_at, sign_from, retire_at FROM signing_keys ORDER BY created_at, kid`)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	defer rows.Close()
	var out []keys.Record
	for rows.Next() {
		var r keys.Record
		var created, signFrom int64
		var retire sql.NullInt64
		if err := rows.Scan(&r.KID, &r.Algorithm, &r.Private, &r.Public, &created, &signFrom, &retire); err != nil {
			return nil, fmt.Errorf("scan signing key: %w", err)
		}
		r.CreatedAt, r.SignFrom, r.RetireAt = fromMicros(created), fromMicros(signFrom), fromNullMicros(retire)
		out = append(out, r)
	}
	return out, rows.Err()
}

// RevokeToken records a revoked jti; expired rows are pruned on the way.
func (s *Store) RevokeToken(ctx context.Context, jti string, expiresAt time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO revoked_tokens (jti, expires_at) VALUES (?, ?) ON CONFLICT (jti) DO NOTHING`, jti, micros(expiresAt)); err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM revoked_tokens WHERE expires_at < ?`, micros(time.Now().Add(-time.Hour))); err != nil {
			return fmt.Errorf("prune revocations: %w", err)
		}
		return nil
	})
}

// TokenRevoked reports whether jti is revoked.
func (s *Store) TokenRevoked(ctx context.Context, jti string) (bool, error) {
	var n int
	if err := s.revoked.QueryRowContext(ctx, jti).Scan(&n); err != nil {
		return false, fmt.Errorf("check revocation: %w", err)
	}
	return n > 0, nil
}
