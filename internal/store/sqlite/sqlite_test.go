package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/sqlite"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestReopenKeepsDataAndSkipsMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	c := storetest.SampleClient(1)
	if err := s.CreateClient(t.Context(), c, storetest.Event("client.create", c.ID)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	got, err := s.GetClient(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	storetest.AssertClientEqual(t, got, c)
	var mode string
	if err := s.DB().QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk int
	if err := s.DB().QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
	}
}

// TestTokenEndpointAuthMethodBackfill re-runs migration 0003 on clients
// stored without the column.
func TestTokenEndpointAuthMethodBackfill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	storetest.AuthMethodBackfill(t, s, func(statements []string) store.Store {
		for _, q := range statements {
			if _, err := s.DB().ExecContext(t.Context(), q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		s.Close()
		if s, err = sqlite.Open(t.Context(), path); err != nil {
			t.Fatalf("reopen: %v", err)
		}
		return s
	})
	s.Close()
}

// TestSubjectsBackfill re-runs migration 0004 on users and clients stored
// without the subjects namespace.
func TestSubjectsBackfill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	storetest.SubjectsBackfill(t, s, func(statements []string) store.Store {
		for _, q := range statements {
			if _, err := s.DB().ExecContext(t.Context(), q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		s.Close()
		if s, err = sqlite.Open(t.Context(), path); err != nil {
			t.Fatalf("reopen: %v", err)
		}
		return s
	}, []string{
		`DROP TRIGGER users_claim_subject`, `DROP TRIGGER clients_claim_subject`, `DROP TRIGGER clients_release_subject`,
		`DROP TABLE subjects`, `DELETE FROM schema_migrations WHERE version = '0004_subjects'`,
		`INSERT INTO users (id, username, display_name, bot, password_hash, created_at, updated_at) VALUES ('cid-1', 'clash', '', 1, NULL, 0, 0)`,
	})
	s.Close()
}

func TestCanonicalUsernameBackfill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	storetest.UsernameCanonicalBackfill(t, s, func(statements []string) store.Store {
		for _, q := range statements {
			if _, err := s.DB().ExecContext(t.Context(), q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		s.Close()
		if s, err = sqlite.Open(t.Context(), path); err != nil {
			t.Fatalf("reopen: %v", err)
		}
		return s
	})
	s.Close()
}

func TestUserAccountsBackfill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	storetest.UserAccountsBackfill(t, s, func(statements []string) store.Store {
		for _, q := range statements {
			if _, err := s.DB().ExecContext(t.Context(), q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		s.Close()
		if s, err = sqlite.Open(t.Context(), path); err != nil {
			t.Fatalf("reopen: %v", err)
		}
		return s
	})
	s.Close()
}

// TestSigningKeyAlgBackfill re-runs migration 0008 on signing keys stored
// without an algorithm.
func TestSigningKeyAlgBackfill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	storetest.SigningKeyAlgBackfill(t, s, func(statements []string) store.Store {
		for _, q := range statements {
			if _, err := s.DB().ExecContext(t.Context(), q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		s.Close()
		if s, err = sqlite.Open(t.Context(), path); err != nil {
			t.Fatalf("reopen: %v", err)
		}
		return s
	})
	s.Close()
}

// TestAuthMethodCheckWidened: migration 0025 widened the CHECK on
// token_endpoint_auth_method in place (SQLite cannot alter a constraint):
// private_key_jwt is accepted, anything else is still refused, and the
// database passes its integrity check.
func TestAuthMethodCheckWidened(t *testing.T) {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := storetest.SampleClient(1)
	if err := s.CreateClient(t.Context(), c, storetest.Event(audit.ClientCreate, c.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(t.Context(), `UPDATE clients SET token_endpoint_auth_method = 'private_key_jwt' WHERE id = ?`, c.ID); err != nil {
		t.Errorf("private_key_jwt refused: %v", err)
	}
	if _, err := s.DB().ExecContext(t.Context(), `UPDATE clients SET token_endpoint_auth_method = 'tls_client_auth' WHERE id = ?`, c.ID); err == nil {
		t.Error("the CHECK constraint no longer refuses unknown methods")
	}
	var ok string
	if err := s.DB().QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Errorf("integrity_check = %q, %v", ok, err)
	}
}

// TestConsentResourcesBackfill re-runs migration 0028 on a consent stored
// without resources.
func TestConsentResourcesBackfill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	storetest.ConsentResourcesBackfill(t, s, func(statements []string) store.Store {
		for _, q := range statements {
			if _, err := s.DB().ExecContext(t.Context(), q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		s.Close()
		if s, err = sqlite.Open(t.Context(), path); err != nil {
			t.Fatalf("reopen: %v", err)
		}
		return s
	})
	s.Close()
}
