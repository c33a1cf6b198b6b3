package provider_test

import (
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/oauth2"
	"github.com/latchkey/latchkey/internal/oauth2/grant/refresh"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
	"github.com/latchkey/latchkey/internal/user"
)

// BenchmarkRefreshToken is one refresh token redemption without HTTP on
// SQLite: client authentication (secret through the 2s client cache), the
// atomic rotation in the store (one durable commit), the user check and
// ES256 access token signing.
func BenchmarkRefreshToken(b *testing.B) { benchRefresh(b, "api:read") }

// BenchmarkRefreshTokenOIDC adds the reissued RS256 ID token.
func BenchmarkRefreshTokenOIDC(b *testing.B) { benchRefresh(b, "openid", "offline_access", "api:read") }

// BenchmarkRefreshTokenParallel redeems refresh tokens of many families
// at once (16 goroutines per CPU), so the group-commit writer shares one
// durable commit among concurrent rotations; ns/op is then wall time per
// redemption across all goroutines.
func BenchmarkRefreshTokenParallel(b *testing.B) {
	e, start := refreshBench(b, "api:read")
	b.SetParallelism(16)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		rt, creds, err := start()
		if err != nil {
			b.Error(err)
			return
		}
		for pb.Next() {
			resp, err := e.App.Provider.Token(b.Context(), &oauth2.TokenRequest{GrantType: client.GrantRefreshToken, Credentials: creds, RefreshToken: rt})
			if err != nil {
				b.Error(err)
				return
			}
			rt = resp.RefreshToken
		}
	})
}

func benchRefresh(b *testing.B, scopes ...string) {
	e, start := refreshBench(b, scopes...)
	rt, creds, err := start()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := e.App.Provider.Token(b.Context(), &oauth2.TokenRequest{GrantType: client.GrantRefreshToken, Credentials: creds, RefreshToken: rt})
		if err != nil {
			b.Fatal(err)
		}
		rt = resp.RefreshToken
	}
}

// refreshBench makes a server, a user and a client with refresh tokens;
// start begins a new family and returns its token and the client's
// credentials.
func refreshBench(b *testing.B, scopes ...string) (*servertest.Env, func() (string, oauth2.Credentials, error)) {
	e := servertest.New(b, func(o *server.Options) { o.ClientCacheTTL = 2 * time.Second })
	u, err := e.App.Users.Create(b.Context(), domain.Actor{Root: true}, user.CreateInput{Username: "bench", Password: "bench password long"})
	if err != nil {
		b.Fatal(err)
	}
	c, secret := e.CreateClient(client.CreateInput{Name: "bench", Type: client.Confidential,
		GrantTypes:   []string{client.GrantAuthorizationCode, client.GrantRefreshToken},
		RedirectURIs: []string{"https://rp.example/cb"}, AllowedScopes: []string{"openid", "offline_access", "api:read"}})
	creds := oauth2.Credentials{ClientID: c.ClientID, Secret: secret.Expose(), Method: client.AuthMethodSecretBasic}
	return e, func() (string, oauth2.Credentials, error) {
		rt, err := e.App.Refresh.Start(b.Context(), refresh.Grant{ID: refresh.NewGrantID(), ClientID: c.ClientID, UserID: u.ID, Scopes: scopes, AuthTime: time.Now()})
		return rt, creds, err
	}
}
