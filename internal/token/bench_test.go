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
	"github.com/latchkey/latchkey/internal/keys/keystest"
	"github.com/latchkey/latchkey/internal/sealed"
	"github.com/latchkey/latchkey/internal/store/sqlite"
	"github.com/latchkey/latchkey/internal/token"
)

type fixture struct {
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

// mint returns an access token for the fixture's client carrying scopes.
func (f fixture) mint(tb testing.TB, scopes ...string) string {
	tb.Helper()
	m, err := f.issuer.Mint(tb.Context(), token.Spec{Subject: f.id, ClientID: f.id, Scopes: scopes})
	if err != nil {
		tb.Fatal(err)
	}
	return m.Raw
}

// newFixture builds the real token issuer on a SQLite store with one
// confidential client, read through the default 2s client cache. Each opt
// may adjust the issuer's configuration (clock, leeway).
func newFixture(tb testing.TB, opts ...func(*token.IssuerConfig)) fixture {
	tb.Helper()
	st, err := sqlite.Open(tb.Context(), filepath.Join(tb.TempDir(), "b.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	box, _ := sealed.New(bytes.Repeat([]byte{1}, sealed.KeyBytes))
	hasher, _ := client.NewHasher(bytes.Repeat([]byte{2}, client.HashKeyBytes))
	clients := client.NewService(st, nil, hasher, client.Policy{}, nil)
	clients.EnableCache(2 * time.Second)
	c, secret, err := clients.Create(tb.Context(), domain.Actor{Root: true}, client.CreateInput{
		Name: "bench", GrantTypes: []string{client.GrantClientCredentials}, AllowedScopes: []string{"clients:create", "api:read"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	cfg := token.IssuerConfig{Issuer: "https://issuer.example", TTL: time.Hour, Revocations: st, Clients: clients, Leeway: 30 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	// The keys run on the issuer's clock, so a test's clock moves both.
	km := keys.NewManager(st, box, cfg.Now, 0, keystest.Option())
	if err := km.Load(tb.Context()); err != nil {
		tb.Fatal(err)
	}
	cfg.Keys = km
	iss := token.NewIssuer(cfg)
	return fixture{issuer: iss, keys: km, id: c.ClientID, secret: secret.Expose()}
}

// BenchmarkSign is ES256 signing of an access token alone.
func BenchmarkSign(b *testing.B) {
	f := newFixture(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.issuer.Mint(b.Context(), token.Spec{Subject: "sub", ClientID: f.id, Scopes: []string{"api:read"}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify is admin-token validation: signature, claims, the
// revocation check (always from the store) and the client-still-active
// check (through the cache).
func BenchmarkVerify(b *testing.B) {
	f := newFixture(b)
	raw := f.mint(b, "clients:create")
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
	raw := f.mint(b, "clients:create")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.issuer.Parse(b.Context(), raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseFirstUse is Parse of a token not seen before (no cache):
// the hand-written ES256 path, against BenchmarkParseJOSE.
func BenchmarkParseFirstUse(b *testing.B) {
	f := newFixture(b)
	raw := f.mint(b, "clients:create")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := f.issuer.ParseFast(b.Context(), raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseJOSE is the same through go-jose.
func BenchmarkParseJOSE(b *testing.B) {
	f := newFixture(b)
	raw := f.mint(b, "clients:create")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.issuer.ParseJOSE(b.Context(), raw); err != nil {
			b.Fatal(err)
		}
	}
}
