package storetest

import (
	"testing"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/store"
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
