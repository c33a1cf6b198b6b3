// Package bootstrap does what a server needs on its first start against a
// store: it creates (or loads) the sealed key that hashes client secrets,
// creates the first admin client, printing its credentials once, and
// creates the admin user, printing its password once (adminuser.go).
// Several nodes may start on one empty store at the same time; every step
// agrees through the store's first-writer-wins settings, so they end up
// with one key and one admin client.
package bootstrap

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/sealed"
	"github.com/latchkey/latchkey/internal/user"
)

// Settings is the store's first-writer-wins settings table.
type Settings interface {
	// InitSetting stores value under name unless a value is already
	// there, and returns whichever value is stored afterwards.
	InitSetting(ctx context.Context, name string, value []byte) ([]byte, error)
}

// hashKeySetting names the sealed secret-hash key in the store.
const hashKeySetting = "secret_hash_key"

// SecretHasher returns the client-secret hasher, creating its key on first
// use. Concurrent first starts agree on one key through InitSetting.
func SecretHasher(ctx context.Context, s Settings, box *sealed.Box) (*client.Hasher, error) {
	return keyedHasher(ctx, s, box, hashKeySetting)
}

// refreshKeySetting names the sealed key refresh tokens are hashed under
// (apart from the client-secret key: one key, one purpose).
const refreshKeySetting = "refresh_hash_key"

// RefreshHasher returns the HMAC hasher for refresh tokens, creating its
// key on first use like SecretHasher.
func RefreshHasher(ctx context.Context, s Settings, box *sealed.Box) (*client.Hasher, error) {
	return keyedHasher(ctx, s, box, refreshKeySetting)
}

// keyedHasher loads (or creates, sealed, first writer wins) the HMAC key
// stored under setting.
func keyedHasher(ctx context.Context, s Settings, box *sealed.Box, setting string) (*client.Hasher, error) {
	fresh := make([]byte, client.HashKeyBytes)
	_, _ = rand.Read(fresh)
	stored, err := s.InitSetting(ctx, setting, box.Seal(fresh, setting))
	if err != nil {
		return nil, err
	}
	key, err := box.Open(stored, setting)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", strings.ReplaceAll(setting, "_", " "), err)
	}
	return client.NewHasher(key)
}

// AdminScopes are the scopes of the admin client made on first start.
// It is every defined admin scope, so that the first admin can hand each
// on (only a holder of an admin scope may grant it).
var AdminScopes = client.AdminScopes

// Environment variables with which automation chooses the first admin
// client's credentials instead of having them generated and printed.
const (
	EnvClientID     = "LATCHKEY_BOOTSTRAP_CLIENT_ID"
	EnvClientSecret = "LATCHKEY_BOOTSTRAP_CLIENT_SECRET"
)

// Choice is the operator's choice of the first admin client's
// credentials; the zero Choice lets the server generate both.
type Choice struct {
	ClientID string
	Secret   client.Secret
	// AdminPassword is the admin user's password ("": generated).
	AdminPassword string
}

// ChoiceFromEnv reads EnvClientID, EnvClientSecret and EnvAdminPassword
// and checks them.
// Call it before anything is opened or written, so that a bad value
// leaves no trace and a corrected restart starts clean.
func ChoiceFromEnv(getenv func(string) string) (Choice, error) {
	c := Choice{ClientID: getenv(EnvClientID), Secret: client.SecretFrom(getenv(EnvClientSecret))}
	if err := client.ValidateChosenCredentials(c.ClientID, c.Secret); err != nil {
		return Choice{}, fmt.Errorf("%s/_SECRET: %w", EnvClientID, err)
	}
	c.AdminPassword = getenv(EnvAdminPassword)
	if n := len(c.AdminPassword); n > 0 && (n < user.MinPasswordLen || n > user.MaxPasswordLen) {
		return Choice{}, fmt.Errorf("%s: must be %d to %d characters", EnvAdminPassword, user.MinPasswordLen, user.MaxPasswordLen)
	}
	return c, nil
}

// Store is what Admin needs of the store.
type Store interface {
	Settings
	// HasClients reports whether any client exists.
	HasClients(ctx context.Context) (bool, error)
}

// ClientCreator creates clients; *client.Service is one.
type ClientCreator interface {
	Create(ctx context.Context, actor domain.Actor, in client.CreateInput) (client.Client, client.Secret, error)
}

// doneSetting marks that first-run bootstrap happened, so that two nodes
// starting on one empty store create one admin client, not two.
const doneSetting = "bootstrapped"

// How long Admin waits for another node's admin client to appear.
var (
	waitPolls    = 50
	waitInterval = 100 * time.Millisecond
)

// Admin creates the first admin client on an empty store and prints its
// credentials once to w; with a chosen secret it prints only the client
// id. On a store that has clients it does nothing.
func Admin(ctx context.Context, s Store, clients ClientCreator, choice Choice, w io.Writer) error {
	if exists, err := s.HasClients(ctx); err != nil || exists {
		return err
	}
	marker := make([]byte, client.HashKeyBytes)
	_, _ = rand.Read(marker)
	got, err := s.InitSetting(ctx, doneSetting, marker)
	if err != nil {
		return err
	}
	if string(got) != string(marker) {
		// Another node bootstraps now, or a first start died between the
		// marker and the admin client. Give the other node a moment; if
		// still no client exists, say so rather than run without an admin.
		for range waitPolls {
			if exists, err := s.HasClients(ctx); err == nil && exists {
				return nil
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(waitInterval):
			}
		}
		fmt.Fprintln(w, "latchkey: warning: the store has no clients but was bootstrapped before; if no other node is starting, create an admin with: latchkey client create --name admin --grant-types client_credentials --scopes \""+strings.Join(AdminScopes, " ")+"\"")
		return nil
	}
	c, secret, err := clients.Create(ctx, domain.Actor{Root: true}, client.CreateInput{
		Name:          "Latchkey bootstrap admin",
		GrantTypes:    []string{client.GrantClientCredentials},
		AllowedScopes: AdminScopes,
		ClientID:      choice.ClientID,
		Secret:        choice.Secret,
	})
	if err != nil {
		return fmt.Errorf("bootstrap admin client: %w", err)
	}
	if !choice.Secret.IsZero() {
		fmt.Fprintf(w, "latchkey: created bootstrap admin client %s with the secret from %s\n", c.ClientID, EnvClientSecret)
		return nil
	}
	fmt.Fprintf(w, `
================================================================
 Latchkey first run: created an admin client.
 The secret is shown ONCE — store it now.

   client_id:     %s
   client_secret: %s
   scopes:        %s
================================================================

`, c.ClientID, secret.Expose(), strings.Join(c.AllowedScopes, " "))
	return nil
}
