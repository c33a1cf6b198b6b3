// Package pgtest gives tests a fresh PostgreSQL database when
// LATCHKEY_TEST_POSTGRES_DSN names a server, and skips them otherwise.
package pgtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// EnvDSN names the environment variable holding the admin DSN.
const EnvDSN = "LATCHKEY_TEST_POSTGRES_DSN"

// FreshDSN creates an empty database for t, dropped when t ends, and
// returns its DSN. Without EnvDSN it skips t with a message saying so.
func FreshDSN(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvDSN)
	if admin == "" {
		t.Skip(EnvDSN + " not set: skipping a PostgreSQL test")
	}
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
