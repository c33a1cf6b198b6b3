package token_test

import (
	"bytes"
	"crypto/ecdsa"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/sealed"
	"github.com/latchkey/latchkey/internal/store/sqlite"
	"github.com/latchkey/latchkey/internal/token"
)

type fixture struct {
	svc    *token.Service
	issuer *token.Issuer
	keys   *keys.Manager
	id     string
	secret string
}

// ownKey returns the private key the fixture signs with.
func (f fixture) ownKey(tb testing.TB, kid string) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := f.keys.Current()
	if err != nil || k.KID != kid {
		tb.Fatalf("current key %v, %v; want %s", k, err, kid)
	}
	return k.Private
}

// newFixture builds the real token service on a SQLite store with one
// confidential client.
func newFixture(tb testing.TB) fixture { return newFixtureCache(tb, 2*time.Second) }

// newFixtureCache is newFixture with the given client cache TTL (0: off).
func newFixtureCache(tb testing.TB, cacheTTL time.Duration) fixture {
	tb.Helper()
	st, err := sqlite.Open(tb.Context(), filepath.Join(tb.TempDir(), "b.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	box, _ := sealed.New(bytes.Repeat([]byte{1}, sealed.KeyBytes))
	hasher, _ := client.NewHasher(bytes.Repeat([]byte{2}, client.HashKeyBytes))
	clients := client.NewService(st, nil, hasher, client.Policy{}, nil)
	clients.EnableCache(cacheTTL)
	c, secret, err := clients.Create(tb.Context(), domain.Actor{Root: true}, client.CreateInput{
		Name: "bench", GrantTypes: []string{client.GrantClientCredentials}, AllowedScopes: []string{"clients:create", "api:read"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	km := keys.NewManager(st, box, nil, 0)
	if err := km.Load(tb.Context()); err != nil {
		tb.Fatal(err)
	}
	iss := token.NewIssuer(token.IssuerConfig{Keys: km, Issuer: "https://issuer.example", TTL: time.Hour, Revocations: st, Clients: clients})
	return fixture{svc: token.NewService(clients, iss), issuer: iss, keys: km, id: c.ClientID, secret: secret.Expose()}
}

// BenchmarkClientCredentials is the token endpoint's work without HTTP:
// client lookup (through the default 2s cache), secret check, scope check
// and ES256 signing.
func BenchmarkClientCredentials(b *testing.B) { benchClientCredentials(b, newFixture(b)) }

// BenchmarkClientCredentialsNoCache reads the client from SQLite each time.
func BenchmarkClientCredentialsNoCache(b *testing.B) {
	benchClientCredentials(b, newFixtureCache(b, 0))
}

func benchClientCredentials(b *testing.B, f fixture) {
	req := token.Request{GrantType: "client_credentials", Client: token.Credentials{ClientID: f.id, Secret: f.secret, Method: token.AuthBasic}, Scope: "api:read", HasScope: true}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.svc.Exchange(b.Context(), req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSign is ES256 signing of an access token alone.
func BenchmarkSign(b *testing.B) {
	f := newFixture(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := f.issuer.Issue("sub", f.id, []string{"api:read"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify is admin-token validation: signature, claims, the
// revocation check (always from the store) and the client-still-active
// check (through the cache).
func BenchmarkVerify(b *testing.B) {
	f := newFixture(b)
	raw, _, err := f.issuer.Issue(f.id, f.id, []string{"clients:create"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.issuer.Verify(b.Context(), raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParse is signature and claims verification without the store.
func BenchmarkParse(b *testing.B) {
	f := newFixture(b)
	raw, _, _ := f.issuer.Issue(f.id, f.id, []string{"clients:create"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.issuer.Parse(b.Context(), raw); err != nil {
			b.Fatal(err)
		}
	}
}
