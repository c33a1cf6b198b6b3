package storecopy_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/keys/keystest"
	"github.com/latchkey/latchkey/internal/oauth2/grant/refresh"
	"github.com/latchkey/latchkey/internal/sealed"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/postgres/pgtest"
	"github.com/latchkey/latchkey/internal/store/sqlite"
	"github.com/latchkey/latchkey/internal/store/storecopy"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/token"
	"github.com/latchkey/latchkey/internal/user"
)

func openSQLite(t *testing.T) storecopy.Store {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func assemble(t *testing.T, s store.Store, box *sealed.Box) *server.App {
	app, err := server.Assemble(t.Context(), server.Options{Store: s, Box: box, Issuer: "https://issuer.example", KeyOptions: []keys.Option{keystest.Option()},
		AccessTokenTTL: time.Hour, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Scopes: []string{"api:read"}}) // the scope the copied clients hold must be defined
	if err != nil {
		t.Fatal(err)
	}
	return app
}

func TestCopy(t *testing.T) {
	targets := map[string]func(t *testing.T) storecopy.Store{
		"sqlite": openSQLite,
		"postgres": func(t *testing.T) storecopy.Store {
			s, err := postgres.Open(t.Context(), pgtest.FreshDSN(t), postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
	for name, newTarget := range targets {
		t.Run(name, func(t *testing.T) {
			srcBox, _ := sealed.New(bytes.Repeat([]byte{1}, sealed.KeyBytes))
			dstBox, _ := sealed.New(bytes.Repeat([]byte{2}, sealed.KeyBytes))
			src := openSQLite(t)
			app := assemble(t, src, srcBox)
			ctx := t.Context()
			root := domain.Actor{Root: true, Subject: "test"}
			if _, err := app.Users.Create(ctx, domain.Actor{Subject: "test"}, user.CreateInput{ID: "bot-1", Username: "bot", Bot: true}); err != nil {
				t.Fatal(err)
			}
			var ids []string
			var secrets []string
			for i := range 3 {
				c, s, err := app.Clients.Create(ctx, root, client.CreateInput{Name: "c", GrantTypes: []string{client.GrantClientCredentials},
					AllowedScopes: []string{"api:read"}, BotUserID: map[bool]string{true: "bot-1"}[i == 0],
					TokenEndpointAuthMethod: map[bool]string{true: client.AuthMethodSecretPost}[i == 2]})
				if err != nil {
					t.Fatal(err)
				}
				ids, secrets = append(ids, c.ClientID), append(secrets, s.Expose())
			}
			// A rotated client has two live secrets; both must survive.
			rotID, _ := app.Clients.Lookup(ctx, ids[1])
			_, rotated, err := app.Clients.RotateSecret(ctx, root, rotID.ID, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			minted, err := app.Issuer.Mint(ctx, token.Spec{Subject: ids[0], ClientID: ids[0], Scopes: []string{"api:read"}})
			if err != nil {
				t.Fatal(err)
			}
			idToken, err := app.Issuer.Mint(ctx, token.Spec{Kind: token.ID, Subject: "user-1", ClientID: ids[0]})
			if err != nil {
				t.Fatal(err)
			}
			srcKeys, _ := src.ListSigningKeys(ctx)
			tok := minted.Raw
			revokedMint, _ := app.Issuer.Mint(ctx, token.Spec{Subject: ids[2], ClientID: ids[2], Scopes: []string{"api:read"}})
			revoked := revokedMint.Raw
			revokedClaims, _ := app.Issuer.Parse(ctx, revoked)
			if err := app.Issuer.Revoke(ctx, revokedClaims); err != nil {
				t.Fatal(err)
			}
			// A refresh token grant and a revoked one move too.
			rt, err := app.Refresh.Start(ctx, refresh.Grant{ID: "grant-live", ClientID: ids[0], UserID: "bot-1", Scopes: []string{"api:read"}})
			if err != nil {
				t.Fatal(err)
			}
			grantMint, _ := app.Issuer.Mint(ctx, token.Spec{Subject: "bot-1", ClientID: ids[1], Scopes: []string{"api:read"}, GrantID: "grant-gone"})
			if err := app.Refresh.RevokeGrant(ctx, "grant-gone"); err != nil {
				t.Fatal(err)
			}
			srcEvents, _ := src.ListAudit(ctx, audit.Filter{})

			dst := newTarget(t)
			st, err := storecopy.Copy(ctx, src, dst, srcBox, dstBox)
			if err != nil {
				t.Fatal(err)
			}
			if st.Clients != 3 || st.Users != 1 || st.Keys != 2 || st.Revocations != 1 || st.AuditEvents != len(srcEvents) || st.Settings < 1 {
				t.Errorf("stats: %+v (source had %d audit events)", st, len(srcEvents))
			}
			// Every client is copied field for field (token_endpoint_auth_method
			// included: client 2 uses client_secret_post, the others the default).
			for _, id := range ids {
				want, err := src.GetClientByClientID(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				got, err := dst.GetClientByClientID(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				storetest.AssertClientEqual(t, got, want)
			}
			if c, _ := dst.GetClientByClientID(ctx, ids[2]); c.TokenEndpointAuthMethod != client.AuthMethodSecretPost {
				t.Errorf("copied token_endpoint_auth_method = %q, want %q", c.TokenEndpointAuthMethod, client.AuthMethodSecretPost)
			}
			// The target works under its own master key.
			moved := assemble(t, dst, dstBox)
			for i, id := range ids {
				if _, err := moved.Clients.Authenticate(ctx, id, secrets[i]); err != nil {
					t.Errorf("client %d's secret does not authenticate after the copy: %v", i, err)
				}
			}
			if _, err := moved.Clients.Authenticate(ctx, ids[1], rotated.Expose()); err != nil {
				t.Errorf("rotated secret: %v", err)
			}
			got, err := moved.Issuer.Verify(ctx, tok)
			if err != nil || got.TokenID != minted.ID || got.Subject != "bot-1" && got.Subject != ids[0] {
				t.Errorf("a token issued before the copy: %+v, %v", got, err)
			}
			if _, err := moved.Issuer.Verify(ctx, revoked); err == nil {
				t.Error("a revoked token is valid after the copy")
			}
			if _, err := moved.Issuer.Verify(ctx, grantMint.Raw); err == nil {
				t.Error("a token of a revoked grant is valid after the copy")
			}
			if st.RefreshFamilies != 1 || st.GrantRevocations != 1 {
				t.Errorf("refresh stats: %+v", st)
			}
			// The refresh token is found under the moved (resealed) key.
			if found, err := moved.Refresh.RevokeToken(ctx, ids[0], rt); !found || err != nil {
				t.Errorf("refresh token after the copy: found %v, %v", found, err)
			}
			// The RSA key moves too, with its algorithm, and keeps signing
			// ID tokens that verify against the old key set.
			dstKeys, _ := dst.ListSigningKeys(ctx)
			if len(dstKeys) != len(srcKeys) {
				t.Fatalf("copied %d signing keys, want %d", len(dstKeys), len(srcKeys))
			}
			for j, k := range dstKeys {
				if k.KID != srcKeys[j].KID || k.Algorithm != srcKeys[j].Algorithm || !bytes.Equal(k.Public, srcKeys[j].Public) || bytes.Equal(k.Private, srcKeys[j].Private) {
					t.Errorf("key %s (%s): want the same kid, algorithm and public key, re-sealed", k.KID, k.Algorithm)
				}
			}
			srcRSA, _ := app.Keys.CurrentFor(keys.RS256)
			dstRSA, err := moved.Keys.CurrentFor(keys.RS256)
			if err != nil || dstRSA.KID != srcRSA.KID || !dstRSA.RSA.Equal(srcRSA.RSA) {
				t.Errorf("RSA key after the copy: %v; want %s", err, srcRSA.KID)
			}
			parsed, err := jwt.ParseSigned(idToken.Raw, []jose.SignatureAlgorithm{keys.RS256})
			if err != nil {
				t.Fatal(err)
			}
			movedSet := moved.Keys.JWKS()
			var c jwt.Claims
			if pub := movedSet.Key(parsed.Headers[0].KeyID); len(pub) != 1 || parsed.Claims(pub[0].Key, &c) != nil {
				t.Errorf("an ID token signed before the copy does not verify against the target's JWKS")
			}
			dstEvents, _ := dst.ListAudit(ctx, audit.Filter{})
			if len(dstEvents) != len(srcEvents) || dstEvents[0].ID != srcEvents[0].ID {
				t.Errorf("audit trail: %d events, want %d", len(dstEvents), len(srcEvents))
			}
			b, err := dst.GetUser(ctx, "bot-1")
			if err != nil || !b.Bot {
				t.Errorf("bot user: %+v, %v", b, err)
			}
			// Copying again into the now-full target is refused.
			if _, err := storecopy.Copy(ctx, src, dst, srcBox, dstBox); !errors.Is(err, storecopy.ErrTargetNotEmpty) {
				t.Errorf("second copy: %v", err)
			}
			// The wrong source master key fails loudly instead of copying junk.
			wrong, _ := sealed.New(bytes.Repeat([]byte{3}, sealed.KeyBytes))
			untouched := newTarget(t)
			if _, err := storecopy.Copy(ctx, src, untouched, wrong, dstBox); !errors.Is(err, sealed.ErrOpen) {
				t.Errorf("wrong source key: %v", err)
			}
			if m, _ := untouched.ListSettings(ctx); len(m) != 0 {
				t.Error("a copy with the wrong source key wrote to the target")
			}
		})
	}
}
