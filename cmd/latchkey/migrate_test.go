package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/store/postgres/pgtest"
)

func runCLI(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, nil, &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestMigrate(t *testing.T) {
	// PostgreSQL or not, migrating needs no master key.
	db := "sqlite:" + filepath.Join(t.TempDir(), "m.db")
	out, err := runCLI(t, nil, "migrate", "--db", db)
	if err != nil || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate: %v %s", err, out)
	}
	if _, err := runCLI(t, nil, "migrate", "--db", "mysql://x"); err == nil || exitCode(err) != 2 {
		t.Errorf("unknown backend: %v", err)
	}
}

// TestMigrateStore fills a SQLite store through the real server, moves it
// with migrate-store, and serves the target: same clients, same secrets,
// same tokens, same audit trail.
func TestMigrateStore(t *testing.T) {
	targets := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "target.db") },
		"postgres": func(t *testing.T) string { return pgtest.FreshDSN(t) },
	}
	for name, target := range targets {
		t.Run(name, func(t *testing.T) {
			const issuer = "http://latchkey.migrate.test" // the issuer survives a move
			src := startServer(t, nil, "--issuer", issuer)
			admin := src.adminToken(t, "clients:create", "clients:read", "audit:read")
			r := src.do(t, "POST", "/v1/admin/oauth-clients", seed001Body, authz(admin), jsonCT)
			mustStatus(t, r, http.StatusCreated)
			body := r.Object(t)
			clientID, secret := str(body, "client", "client_id"), str(body, "client_secret")
			live := src.token(t, clientID, secret, "reports:read")
			src.stop() // stop writes before copying

			to := target(t)
			key := make([]byte, 32)
			_, _ = rand.Read(key)
			env := map[string]string{"LATCHKEY_MASTER_KEY": base64.StdEncoding.EncodeToString(key)}
			out, err := runCLI(t, env, "migrate-store", "--from", "sqlite:"+src.DBPath, "--to", to)
			if err != nil || !strings.Contains(out, "copied 2 clients") {
				t.Fatalf("migrate-store: %v\n%s", err, out)
			}
			if out, err := runCLI(t, env, "migrate-store", "--from", "sqlite:"+src.DBPath, "--to", to); err == nil || !strings.Contains(out+err.Error(), "not empty") {
				t.Errorf("second run into a full target: %v %s", err, out)
			}

			// Serve the target: the old credentials and tokens work there.
			dst := startServerOn(t, to, env, "--issuer", issuer)
			introspect := dst.do(t, "POST", "/oauth2/introspect", "token="+live, formCT, basic(adminID, adminSecret))
			mustStatus(t, introspect, http.StatusOK)
			if introspect.Object(t)["active"] != true {
				t.Error("a token issued before the move is not active after it")
			}
			dst.token(t, clientID, secret, "reports:read")
			admin2 := dst.adminToken(t, "audit:read")
			r = dst.do(t, "GET", "/v1/admin/audit?action=client.create", nil, authz(admin2))
			mustStatus(t, r, http.StatusOK)
			var audit struct {
				Events []json.RawMessage `json:"events"`
			}
			_ = json.Unmarshal(r.Body, &audit)
			if len(audit.Events) != 2 {
				t.Errorf("audit trail after the move: %d client.create events, want 2", len(audit.Events))
			}
		})
	}
	for _, args := range [][]string{{"migrate-store"}, {"migrate-store", "--from", "sqlite:a.db"}, {"migrate-store", "--from", "sqlite:a.db", "--to", "sqlite:a.db"}} {
		if _, err := runCLI(t, nil, args...); exitCode(err) != 2 {
			t.Errorf("%v: %v", args, err)
		}
	}
	if _, err := runCLI(t, nil, "migrate-store", "--from", "sqlite:"+filepath.Join(t.TempDir(), "none.db"), "--to", "sqlite:"+filepath.Join(t.TempDir(), "t.db")); err == nil || !strings.Contains(err.Error(), "no database") {
		t.Errorf("missing source: %v", err)
	}
}

// A malformed environment value stops every command instead of silently
// meaning the default.
func TestMalformedEnvironmentIsAnError(t *testing.T) {
	env := map[string]string{"LATCHKEY_DB_STATEMENT_TIMEOUT": "abc"}
	db := "sqlite:" + filepath.Join(t.TempDir(), "e.db")
	for _, args := range [][]string{{"migrate", "--db", db}, {"serve", "--db", db, "--addr", "127.0.0.1:0"}} {
		_, err := runCLI(t, env, args...)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "LATCHKEY_DB_STATEMENT_TIMEOUT") {
			t.Errorf("%v: %v", args[0], err)
		}
	}
}

func TestCLIDefaultsAndKeyTiming(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "k.db")
	// A confidential client without a redirect URI is a service client.
	out, err := runCLI(t, nil, "client", "create", "--db", db, "--name", "Svc", "--scopes", "api:public", "--json")
	if err != nil || !strings.Contains(out, `"client_credentials"`) || strings.Contains(out, "authorization_code") {
		t.Errorf("client create without --grant-types: %v\n%s", err, out)
	}
	// keys rotate obeys the same rule as serve.
	if _, err := runCLI(t, nil, "keys", "rotate", "--db", db, "--key-publish-delay", "1s"); exitCode(err) != 2 {
		t.Errorf("rotate with a 1s delay: %v", err)
	}
	env := map[string]string{"LATCHKEY_KEY_REFRESH": "1s", "LATCHKEY_JWKS_MAX_AGE": "1s", "LATCHKEY_KEY_PUBLISH_DELAY": "3s"}
	if out, err := runCLI(t, env, "keys", "rotate", "--db", db); err != nil || !strings.Contains(out, "new RS256 signing key") || !strings.Contains(out, "new ES256 signing key") {
		t.Errorf("rotate with a fleet's own timing: %v\n%s; want a new key of each algorithm", err, out)
	}
	// keys list shows each key's algorithm: the two first keys and the two
	// rotated in.
	out, err = runCLI(t, nil, "keys", "list", "--db", db)
	if err != nil || !strings.Contains(out, "ALG") || strings.Count(out, "RS256") != 2 || strings.Count(out, "ES256") != 2 {
		t.Errorf("keys list: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"keys", "-h"}, {"user", "-h"}, {"serve", "-h"}, {"help"}} {
		if _, err := runCLI(t, nil, args...); err != nil && exitCode(err) != 0 {
			t.Errorf("%v: exit %d (%v)", args, exitCode(err), err)
		}
	}
}

func TestAuditListAcceptsClientID(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "a.db")
	out, err := runCLI(t, nil, "client", "create", "--db", db, "--name", "Svc", "--scopes", "api:public", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		ID       string `json:"id"`
		ClientID string `json:"client_id"`
	}
	if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &c); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, target := range []string{c.ID, c.ClientID} {
		out, err := runCLI(t, nil, "audit", "list", "--db", db, "--target", target, "--json")
		if err != nil || !strings.Contains(out, `"client.create"`) {
			t.Errorf("--target %s: %v\n%s", target, err, out)
		}
	}
}

// TestServeRefusesUndefinedDefaultScopes: every default client scope must
// be defined; serve says so before it opens or writes anything.
func TestServeRefusesUndefinedDefaultScopes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	out, err := runCLI(t, nil, "serve", "--db", "sqlite:"+path, "--addr", "127.0.0.1:0", "--default-scopes", "openid api:read")
	if exitCode(err) != 2 || !strings.Contains(err.Error(), `"api:read"`) || !strings.Contains(err.Error(), "--scopes") {
		t.Fatalf("serve with an undefined default scope: %v\n%s", err, out)
	}
	if _, statErr := os.Stat(path); !errors.Is(statErr, fs.ErrNotExist) {
		t.Errorf("serve created %s before refusing: %v", path, statErr)
	}
}
