// Package postgres is the shared storage backend: several Latchkey nodes
// use one PostgreSQL database through a pgx connection pool. Migrations are
// embedded and applied on open under an advisory lock, so nodes that start
// together apply each one exactly once.
package postgres

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/internal/groupcommit"
	"github.com/latchkey/latchkey/internal/store/internal/sqlrows"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLockKey names the advisory lock migrations run under. Advisory
// locks are per database, so the constant only has to be unique among the
// applications sharing Latchkey's database. It spells "latchkey" in ASCII.
const migrationLockKey int64 = 0x6c617463686b6579

// Options tunes the connection pool. The zero value is usable.
type Options struct {
	// MaxConns caps the pool; 0 keeps pgx's default (the larger of 4 and
	// the number of CPUs), which is sized for one node, not for the
	// database's max_connections shared by every node.
	MaxConns int32
	// StatementTimeout bounds every statement on the server side, so a
	// stuck query frees its connection even if the caller's context has no
	// deadline. 0 leaves the server's setting alone.
	StatementTimeout time.Duration
	// ConnectRetries is how many more times Open pings the database after
	// a first failure, so a node that starts before the database (as in a
	// compose file or a pod without ordering) waits instead of exiting.
	ConnectRetries int
	// ConnectRetryDelay is the pause between those pings; 0 means one
	// second.
	ConnectRetryDelay time.Duration
	// ReconnectBackoff and ReconnectBackoffMax rate-limit connection
	// attempts while the database is unreachable: after a failed attempt
	// none is made for ReconnectBackoff, doubling after each further
	// failure up to ReconnectBackoffMax; requests meanwhile fail at once
	// with domain.ErrUnavailable. 0: DefaultReconnectBackoff and
	// DefaultReconnectBackoffMax.
	ReconnectBackoff, ReconnectBackoffMax time.Duration
	// ConnectTimeout bounds one connection attempt when the DSN sets no
	// connect_timeout; 0: DefaultConnectTimeout.
	ConnectTimeout time.Duration
}

// Store is a PostgreSQL-backed store.Store and store.Copier. It is safe
// for concurrent use, also by several processes sharing the database.
type Store struct {
	pool *pgxpool.Pool
	// w batches client registrations (group commit): one transaction and
	// one commit for every registration queued while the previous batch
	// committed.
	w *groupcommit.Writer[*batchTx]
}

var (
	_ store.Store  = (*Store)(nil)
	_ store.Copier = (*Store)(nil)
)

// Open connects to the database named by dsn (a postgres:// URL or a
// libpq keyword/value string), waits for it to answer as opts allow, and
// applies pending migrations.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse postgres dsn: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.StatementTimeout > 0 {
		if cfg.ConnConfig.RuntimeParams == nil {
			cfg.ConnConfig.RuntimeParams = map[string]string{}
		}
		// Round up: a sub-millisecond timeout must not become 0, which
		// PostgreSQL reads as "no timeout".
		ms := (opts.StatementTimeout + time.Millisecond - 1) / time.Millisecond
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(int64(ms), 10)
	}
	gateConnects(cfg, opts)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres pool: %w", err)
	}
	if err := waitReady(ctx, pool, opts); err != nil {
		pool.Close()
		return nil, err
	}
	s := &Store{pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	s.w = groupcommit.New[*batchTx](batchBackend{s}, groupcommit.Options{})
	return s, nil
}

// gateConnects puts cfg's connection attempts behind a dialGate, and
// bounds each attempt, so an unreachable database is not dialled once per
// request.
func gateConnects(cfg *pgxpool.Config, opts Options) {
	lo, hi := opts.ReconnectBackoff, opts.ReconnectBackoffMax
	if lo <= 0 {
		lo = DefaultReconnectBackoff
	}
	if hi <= 0 {
		hi = max(DefaultReconnectBackoffMax, lo)
	}
	g := newDialGate(lo, hi, nil)
	if cfg.ConnConfig.ConnectTimeout <= 0 {
		cfg.ConnConfig.ConnectTimeout = cmp.Or(opts.ConnectTimeout, DefaultConnectTimeout)
	}
	cfg.ConnConfig.DialFunc = g.dialFunc(cfg.ConnConfig.DialFunc)
	cfg.BeforeConnect = g.beforeConnect
	cfg.AfterConnect = func(_ context.Context, c *pgx.Conn) error {
		g.afterConnect(c.PgConn())
		return nil
	}
}

// waitReady pings until the database answers, giving up after
// opts.ConnectRetries further attempts or when ctx ends. The pool connects
// lazily, so without this a database that is down would only show up on
// the first request.
func waitReady(ctx context.Context, pool *pgxpool.Pool, opts Options) error {
	delay := opts.ConnectRetryDelay
	if delay <= 0 {
		delay = time.Second
	}
	for attempt := 1; ; attempt++ {
		err := pool.Ping(ctx)
		if err == nil {
			return nil
		}
		if attempt > opts.ConnectRetries || ctx.Err() != nil {
			return fmt.Errorf("connect to postgres (%d attempts): %w", attempt, err)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("connect to postgres (%d attempts): %w", attempt, errors.Join(ctx.Err(), err))
		case <-t.C:
		}
	}
}

// migrate applies every embedded migration not yet recorded, all in one
// transaction: PostgreSQL DDL is transactional, so a node either sees the
// old schema or the whole new one, and a failed migration leaves nothing
// behind. The advisory lock makes concurrent starters queue; the ones that
// get it later find the versions recorded and do nothing. (A migration
// that cannot run in a transaction, like CREATE INDEX CONCURRENTLY, needs
// a different mechanism.)
func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	return s.tx(ctx, func(tx pgx.Tx) error {
		// Schema changes may legitimately outlast the statement timeout
		// meant for requests; ctx still bounds them.
		if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
			return fmt.Errorf("migrations: %w", err)
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		// Created under the lock: concurrent CREATE TABLE IF NOT EXISTS
		// can still fail with a unique violation in the catalog.
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    text COLLATE "C" PRIMARY KEY,
			applied_at timestamptz NOT NULL
		)`); err != nil {
			return fmt.Errorf("migrations table: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return fmt.Errorf("read migrations: %w", err)
		}
		applied, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("read migrations: %w", err)
		}
		for _, name := range names {
			version := strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
			if slices.Contains(applied, version) {
				continue
			}
			body, err := migrations.ReadFile(name)
			if err != nil {
				return fmt.Errorf("migration %s: %w", version, err)
			}
			// No arguments: pgx sends it with the simple protocol, which
			// accepts a file of several statements.
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", version, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
				version, time.Now().UTC()); err != nil {
				return fmt.Errorf("migration %s: %w", version, err)
			}
		}
		return nil
	})
}

// tx runs fn in one READ COMMITTED transaction, committing if it returns
// nil. fn's error is returned as is (wrapped with domain.ErrUnavailable if
// the database was lost), so UpdateClient hands the caller's own error
// back. A COMMIT whose answer is lost is domain.ErrOutcomeUnknown. The deferred rollback also releases the connection if fn
// panics.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return classify(fmt.Errorf("begin: %w", err), false)
	}
	defer func() { _ = tx.Rollback(ctx) }() // no-op once committed
	if err := fn(tx); err != nil {
		return classify(err, false)
	}
	if err := tx.Commit(ctx); err != nil {
		// Sent and unanswered, it may have committed: ErrOutcomeUnknown.
		return classify(fmt.Errorf("commit: %w", err), true)
	}
	return nil
}

// insertAudited runs one INSERT and records ev in the same transaction.
// A unique violation is reported as conflict, e.g. "user bob: conflict".
func (s *Store) insertAudited(ctx context.Context, ev audit.Event, what, name, subject string, conflict error, query string, args ...any) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, query, args...)
		if subjectTaken(err) && subject != "" {
			return errSubjectTaken(subject, conflict)
		}
		if isUnique(err) {
			return fmt.Errorf("%s %s: %w: %w", what, name, conflict, err)
		}
		if err != nil {
			return fmt.Errorf("insert %s: %w", what, err)
		}
		return insertAudit(ctx, tx, ev)
	})
}

// Close closes every connection of the pool. It waits for connections in
// use to be released.
func (s *Store) Close() error {
	s.w.Close() // queued writes commit first
	s.pool.Close()
	return nil
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return classify(s.pool.Ping(ctx), false) }

// Pool exposes the pool for tests that inspect the database.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// querier is a *pgxpool.Pool or a pgx.Tx.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// isUnique reports whether err is a unique violation. Other integrity
// errors (a dangling bot_user_id, a bad client_type) are not conflicts
// with an existing row and stay plain errors.
func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// subjectTaken reports whether err is the subjects table refusing a
// subject already held by a user or a client (migration 0004).
func subjectTaken(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "subjects_pkey"
}

// errSubjectTaken is the message for a subject already held.
func errSubjectTaken(subject string, conflict error) error {
	return fmt.Errorf("subject %q is already taken: a user's id and a client's client_id share one namespace: %w", subject, conflict)
}

// ts is the value stored for t: PostgreSQL keeps microseconds, and
// truncating here (rather than letting the server round) makes every
// backend keep the same instant.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// nullTS stores the zero time, which the domain uses for "never", as NULL.
func nullTS(t time.Time) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: ts(t), Valid: true}
}

// fromNullTS reads a timestamp in UTC: pgx hands timestamptz back in the
// process's local zone, and callers compare and print times as stored.
func fromNullTS(v pgtype.Timestamptz) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return v.Time.UTC()
}

// nullText stores "", which the domain uses for "none", as NULL.
func nullText(s string) pgtype.Text { return pgtype.Text{String: s, Valid: s != ""} }

// list keeps a nil slice from becoming a NULL array: stored lists are
// NOT NULL, and empty must read back as empty.
func list(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// nullBytes stores an empty hash as NULL.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// storable reports whether PostgreSQL can hold s in a text column: valid
// UTF-8 without NUL. Anything else cannot match a stored row, and asking
// would fail with SQLSTATE 22021 (a 500) instead of a plain miss.
func storable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// args collects query parameters and hands out their $n placeholders, so
// optional filters can be appended in any combination.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// listQuery is q with the conditions in where (ANDed), in order, capped
// at limit rows (0: no cap, else a parameter added to a).
func (a *args) listQuery(q string, where []string, order string, limit int) string {
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY " + order
	if limit > 0 {
		q += " LIMIT " + a.add(limit)
	}
	return q
}

// queryAll runs query on the pool and reads every row with scan; what
// names a row in errors.
func queryAll[T any](ctx context.Context, s *Store, what, query string, args []any, scan func(sqlrows.Scanner) (T, error)) ([]T, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, classify(fmt.Errorf("list %ss: %w", what, err), false)
	}
	defer rows.Close()
	l, err := sqlrows.Collect(rows, what, scan)
	return l, classify(err, false)
}
