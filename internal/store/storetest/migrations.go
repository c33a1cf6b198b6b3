package storetest

import (
	"testing"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/user"
)

// AuthMethodBackfill checks that migration 0003 gives clients stored
// before it their type's token_endpoint_auth_method: none for public
// clients, client_secret_basic for the others. It stores one of each in
// s, then has undo run each statement of the returned list on s (dropping
// the column and forgetting the migration), close s and open the same
// database again, which re-runs the migration.
func AuthMethodBackfill(t *testing.T, s store.Store, undo func(statements []string) store.Store) {
	t.Helper()
	conf, pub := SampleClient(1), SampleClient(2)
	pub.Type, pub.Secrets, pub.TokenEndpointAuthMethod = client.Public, nil, client.AuthMethodNone
	for _, c := range []client.Client{conf, pub} {
		mustCreate(t, s, c)
	}
	s = undo([]string{
		`ALTER TABLE clients DROP COLUMN token_endpoint_auth_method`,
		`DELETE FROM schema_migrations WHERE version = '0003_token_endpoint_auth_method'`,
	})
	for id, want := range map[string]string{conf.ID: client.AuthMethodSecretBasic, pub.ID: client.AuthMethodNone} {
		got, err := s.GetClient(ctx(t), id)
		if err != nil || got.TokenEndpointAuthMethod != want {
			t.Errorf("client %s: token_endpoint_auth_method = %q, %v; want %q", id, got.TokenEndpointAuthMethod, err, want)
		}
	}
}

// UsernameCanonicalBackfill checks that migration 0005 rewrites usernames
// stored before usernames were canonical (user.CanonicalUsername, which
// for the ASCII usernames the core accepted is their lowercase), so that
// their users still sign in. It stores a user with a mixed-case username
// straight into s, then has undo forget the migration and reopen the
// database, which re-runs it.
func UsernameCanonicalBackfill(t *testing.T, s store.Store, undo func(statements []string) store.Store) {
	t.Helper()
	u := sampleUser(1, false)
	u.Username = "Mixed.Case+Name@Example.COM"
	if err := s.CreateUser(ctx(t), u, Event(audit.UserCreate, u.ID)); err != nil {
		t.Fatal(err)
	}
	s = undo([]string{`DELETE FROM schema_migrations WHERE version = '0005_canonical_usernames'`})
	want, err := user.CanonicalUsername(u.Username)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetUserByUsername(ctx(t), want)
	if err != nil || got.ID != u.ID || got.Username != want {
		t.Errorf("GetUserByUsername(%q) = %+v, %v; want user %s stored as %q", want, got, err, u.ID, want)
	}
}
