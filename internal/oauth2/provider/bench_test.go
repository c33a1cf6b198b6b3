package provider_test

import (
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/oauth2"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
)

// BenchmarkClientCredentials is the token endpoint's work without HTTP:
// dispatch, client lookup (through the default 2s cache), secret check,
// scope check and ES256 signing.
func BenchmarkClientCredentials(b *testing.B) { benchClientCredentials(b, 2*time.Second) }

// BenchmarkClientCredentialsNoCache reads the client from SQLite each time.
func BenchmarkClientCredentialsNoCache(b *testing.B) { benchClientCredentials(b, 0) }

func benchClientCredentials(b *testing.B, cacheTTL time.Duration) {
	e := servertest.New(b, func(o *server.Options) { o.ClientCacheTTL = cacheTTL })
	c, secret := e.ServiceClient("bench", "clients:create", "api:read")
	creds := oauth2.Credentials{ClientID: c.ClientID, Secret: secret.Expose(), Method: client.AuthMethodSecretBasic}
	b.ReportAllocs()
	for b.Loop() {
		req := &oauth2.TokenRequest{GrantType: client.GrantClientCredentials, Credentials: creds, Scope: []string{"api:read"}, HasScope: true}
		if _, err := e.App.Provider.Token(b.Context(), req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIntrospect is RFC 7662 introspection without HTTP: the
// caller's authentication, the token's verification, its revocation
// check (from SQLite) and its client's state (clients through serve's
// default 2s cache). The same token is introspected again and again, as a
// resource server does for the requests carrying it.
func BenchmarkIntrospect(b *testing.B) {
	e := servertest.New(b, func(o *server.Options) { o.ClientCacheTTL = 2 * time.Second })
	c, secret := e.ServiceClient("bench", "clients:create", "api:read")
	creds := oauth2.Credentials{ClientID: c.ClientID, Secret: secret.Expose(), Method: client.AuthMethodSecretBasic}
	req := &oauth2.TokenRequest{GrantType: client.GrantClientCredentials, Credentials: creds, Scope: []string{"api:read"}, HasScope: true}
	tok, err := e.App.Provider.Token(b.Context(), req)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		in, err := e.App.Provider.Introspect(b.Context(), creds, tok.AccessToken)
		if err != nil || !in.Active {
			b.Fatal(in, err)
		}
	}
}
