package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres/pgtest"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// adminDSN returns the DSN of a database the tests may create and drop
// databases from, or skips: CI without PostgreSQL still runs the rest.
func adminDSN(t *testing.T) string {
	t.Helper()
	return pgtest.AdminDSN(t)
}

// freshDatabase creates an empty database, drops it when the test ends
// and returns a DSN for it. Tests never touch the admin database itself,
// so a developer's database is safe and parallel runs do not collide.
func freshDatabase(t *testing.T) string {
	t.Helper()
	admin := adminDSN(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "latchkey_test_" + hex.EncodeToString(b)
	ident := pgx.Identifier{name}.Sanitize()
	withAdmin(t, admin, `CREATE DATABASE `+ident+` TEMPLATE template0`)
	t.Cleanup(func() {
		// FORCE ends connections a failed test may have leaked, which
		// would otherwise make the drop fail and leave the database behind.
		withAdmin(t, admin, `DROP DATABASE IF EXISTS `+ident+` WITH (FORCE)`)
	})
	return dsnFor(t, admin, name)
}

func withAdmin(t *testing.T, admin, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect admin: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// dsnFor points admin at database name, keeping every other setting.
func dsnFor(t *testing.T, admin, name string) string {
	t.Helper()
	if strings.HasPrefix(admin, "postgres://") || strings.HasPrefix(admin, "postgresql://") {
		u, err := url.Parse(admin)
		if err != nil {
			t.Fatalf("parse admin dsn: %v", err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String()
	}
	return admin + " dbname=" + name // keyword/value: the last dbname wins
}

func open(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(t.Context(), dsn, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// truncateAll empties every table but schema_migrations. Listing the
// tables from the catalog keeps this right when a migration adds one.
func truncateAll(t *testing.T, s *Store) {
	t.Helper()
	var tables string
	err := s.Pool().QueryRow(t.Context(), `SELECT coalesce(string_agg(format('%I', tablename), ', '), '')
		FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'schema_migrations'`).Scan(&tables)
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	if tables == "" {
		t.Fatal("no tables to truncate: migrations did not run")
	}
	if _, err := s.Pool().Exec(t.Context(), `TRUNCATE `+tables+` CASCADE`); err != nil {
		t.Fatalf("truncate: %v", err)
	}
}

// TestConformance runs the shared suite on one database created for the
// run. Creating a database per subtest costs a CREATE DATABASE and a full
// migration each; truncating is much faster and the suite's subtests run
// one after another, so each still starts from an empty store. Every
// subtest opens its own Store, which also exercises Open on a database
// that is already migrated.
func TestConformance(t *testing.T) {
	dsn := freshDatabase(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		s := open(t, dsn)
		truncateAll(t, s)
		return s
	})
}

func embeddedVersions(t *testing.T) []string {
	t.Helper()
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("embedded migrations: %v, %v", names, err)
	}
	for i, n := range names {
		names[i] = strings.TrimSuffix(strings.TrimPrefix(n, "migrations/"), ".sql")
	}
	return names
}

type migrationRow struct {
	Version   string
	AppliedAt time.Time
}

func appliedMigrations(t *testing.T, s *Store) []migrationRow {
	t.Helper()
	rows, err := s.Pool().Query(t.Context(), `SELECT version, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[migrationRow])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func assertMigratedOnce(t *testing.T, s *Store) []migrationRow {
	t.Helper()
	got := appliedMigrations(t, s)
	want := embeddedVersions(t)
	var versions []string
	for _, r := range got {
		versions = append(versions, r.Version)
	}
	if strings.Join(versions, ",") != strings.Join(want, ",") {
		t.Fatalf("schema_migrations = %v; want each of %v exactly once", versions, want)
	}
	return got
}

// TestConcurrentOpen starts several nodes at once on an empty database:
// the advisory lock must make exactly one of them apply the migrations
// and the others find them done.
func TestConcurrentOpen(t *testing.T) {
	dsn := freshDatabase(t)
	const n = 4
	stores := make([]*Store, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = Open(t.Context(), dsn, Options{})
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Open %d: %v", i, errs[i])
			continue
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	if t.Failed() {
		t.FailNow()
	}
	assertMigratedOnce(t, stores[0])
	for i, s := range stores {
		if c, err := s.CountClients(t.Context()); err != nil || c != 0 {
			t.Errorf("store %d: CountClients = %d, %v", i, c, err)
		}
	}
}

// TestReopenKeepsDataAndSkipsMigrations checks a restart finds its data
// and does not apply recorded migrations again.
func TestReopenKeepsDataAndSkipsMigrations(t *testing.T) {
	dsn := freshDatabase(t)
	s, err := Open(t.Context(), dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	before := assertMigratedOnce(t, s)
	c := storetest.SampleClient(1)
	if err := s.CreateClient(t.Context(), c, storetest.Event("client.create", c.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.InitSetting(t.Context(), "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = open(t, dsn)
	got, err := s.GetClient(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	storetest.AssertClientEqual(t, got, c)
	if v, err := s.InitSetting(t.Context(), "k", []byte("other")); err != nil || string(v) != "v" {
		t.Errorf("setting after reopen = %q, %v; want v", v, err)
	}
	after := assertMigratedOnce(t, s)
	for i := range before {
		if !after[i].AppliedAt.Equal(before[i].AppliedAt) {
			t.Errorf("migration %s re-applied: %v then %v", before[i].Version, before[i].AppliedAt, after[i].AppliedAt)
		}
	}
}

// TestOptions checks the pool settings reach the server.
func TestOptions(t *testing.T) {
	dsn := freshDatabase(t)
	s, err := Open(t.Context(), dsn, Options{MaxConns: 3, StatementTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Pool().Config().MaxConns; got != 3 {
		t.Errorf("MaxConns = %d, want 3", got)
	}
	var timeout string
	if err := s.Pool().QueryRow(t.Context(), `SHOW statement_timeout`).Scan(&timeout); err != nil || timeout != "200ms" {
		t.Errorf("statement_timeout = %q, %v; want 200ms", timeout, err)
	}
	_, err = s.Pool().Exec(t.Context(), `SELECT pg_sleep(5)`)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57014" {
		t.Errorf("long statement: got %v, want query_canceled (57014)", err)
	}
}

// TestConnectRetries needs no server: nothing listens on port 1, so every
// ping fails at once and only the retry loop decides how long Open takes.
func TestConnectRetries(t *testing.T) {
	const dsn = "postgres://latchkey@127.0.0.1:1/latchkey?sslmode=disable&connect_timeout=2"
	start := time.Now()
	_, err := Open(t.Context(), dsn, Options{ConnectRetries: 2, ConnectRetryDelay: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "3 attempts") {
		t.Errorf("Open against nothing: got %v, want failure after 3 attempts", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("gave up after %v; want at least two 50ms waits", d)
	}

	// The caller's context bounds the wait, however many retries remain.
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = Open(ctx, dsn, Options{ConnectRetries: 1000, ConnectRetryDelay: time.Hour})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled Open: got %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancelled Open took %v", d)
	}
}

// TestTokenEndpointAuthMethodBackfill re-runs migration 0003 on clients
// stored without the column.
func TestTokenEndpointAuthMethodBackfill(t *testing.T) {
	dsn := freshDatabase(t)
	s := open(t, dsn)
	storetest.AuthMethodBackfill(t, s, func(statements []string) store.Store {
		for _, q := range statements {
			if _, err := s.Pool().Exec(t.Context(), q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		s.Close()
		return open(t, dsn)
	})
}

// TestSubjectsBackfill re-runs migration 0004 on users and clients stored
// without the subjects namespace.
func TestSubjectsBackfill(t *testing.T) {
	dsn := freshDatabase(t)
	s := open(t, dsn)
	storetest.SubjectsBackfill(t, s, func(statements []string) store.Store {
		for _, q := range statements {
			if _, err := s.Pool().Exec(t.Context(), q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		s.Close()
		s = open(t, dsn)
		return s
	}, []string{
		`DROP FUNCTION claim_subject CASCADE`, `DROP FUNCTION release_subject CASCADE`,
		`DROP TABLE subjects`, `DELETE FROM schema_migrations WHERE version = '0004_subjects'`,
		`INSERT INTO users (id, username, display_name, bot, password_hash, created_at, updated_at) VALUES ('cid-1', 'clash', '', true, NULL, now(), now())`,
	})
}

// TestCanonicalUsernameBackfill re-runs migration 0005 on a username
// stored before usernames were canonical.
func TestCanonicalUsernameBackfill(t *testing.T) {
	dsn := freshDatabase(t)
	s := open(t, dsn)
	storetest.UsernameCanonicalBackfill(t, s, func(statements []string) store.Store {
		for _, q := range statements {
			if _, err := s.Pool().Exec(t.Context(), q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		s.Close()
		return open(t, dsn)
	})
}

// TestUserAccountsBackfill re-runs migration 0007 on a user stored before it.
func TestUserAccountsBackfill(t *testing.T) {
	dsn := freshDatabase(t)
	s := open(t, dsn)
	storetest.UserAccountsBackfill(t, s, func(statements []string) store.Store {
		for _, q := range statements {
			if _, err := s.Pool().Exec(t.Context(), q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		s.Close()
		return open(t, dsn)
	})
}

// TestSigningKeyAlgBackfill re-runs migration 0008 on signing keys stored
// without an algorithm.
func TestSigningKeyAlgBackfill(t *testing.T) {
	dsn := freshDatabase(t)
	s := open(t, dsn)
	storetest.SigningKeyAlgBackfill(t, s, func(statements []string) store.Store {
		for _, q := range statements {
			if _, err := s.Pool().Exec(t.Context(), q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		s.Close()
		return open(t, dsn)
	})
}

// TestConsentResourcesBackfill re-runs migration 0028 on a consent stored
// without resources.
func TestConsentResourcesBackfill(t *testing.T) {
	dsn := freshDatabase(t)
	s := open(t, dsn)
	storetest.ConsentResourcesBackfill(t, s, func(statements []string) store.Store {
		for _, q := range statements {
			if _, err := s.Pool().Exec(t.Context(), q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		s.Close()
		return open(t, dsn)
	})
}
