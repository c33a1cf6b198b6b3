// Package pgtest gives tests a fresh PostgreSQL database when
// LATCHKEY_TEST_POSTGRES_DSN names a server, and skips them otherwise.
package pgtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/url"
	"os"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
)

// EnvDSN names the environment variable holding the admin DSN.
const EnvDSN = "LATCHKEY_TEST_POSTGRES_DSN"

// skipped counts the tests Skip skipped in this test binary.
var skipped atomic.Int32

// AdminDSN returns EnvDSN, or skips t (counted, for Main) without it.
func AdminDSN(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvDSN)
	if admin == "" {
		skipped.Add(1)
		t.Skip(EnvDSN + " not set: skipping a PostgreSQL test")
	}
	return admin
}

// Main runs m and, if any PostgreSQL test was skipped, says so in one
// line: go test hides a passing test's skip messages unless -v, so
// without it a developer would not know the PostgreSQL tests never ran.
// A package with PostgreSQL tests calls it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, "internal/store/postgres")) }
//
// The line goes to the terminal (/dev/tty) when there is one, because
// `go test ./...` shows nothing a passing package's binary writes, even
// to stderr; otherwise (CI logs, `go test` in the package directory, -v)
// to stderr.
func Main(m *testing.M, pkg string) int {
	code := m.Run()
	if n := skipped.Load(); n > 0 {
		w := io.Writer(os.Stderr)
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			defer tty.Close()
			w = tty
		}
		announce(w, pkg, n)
	}
	return code
}

func announce(w io.Writer, pkg string, n int32) {
	if n == 0 {
		return
	}
	tests := "tests"
	if n == 1 {
		tests = "test"
	}
	fmt.Fprintf(w, "%s: %d PostgreSQL %s skipped: %s is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)\n", pkg, n, tests, EnvDSN)
}

// FreshDSN creates an empty database for t, dropped when t ends, and
// returns its DSN. Without EnvDSN it skips t with a message saying so.
func FreshDSN(t testing.TB) string {
	t.Helper()
	admin := AdminDSN(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to %s: %v", EnvDSN, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := fmt.Sprintf("latchkey_test_%x", b)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0")
	conn.Close(ctx)
	if err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: %v", EnvDSN, err)
	}
	u.Path = "/" + name
	return u.String()
}
