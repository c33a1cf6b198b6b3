package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/api/register"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/server"
)

// BootstrapScopes are the scopes of the admin client made on first start.
var BootstrapScopes = []string{"clients:create", "clients:read", "clients:update", "clients:delete", "users:create", "users:read", "audit:read", "keys:rotate"}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config.Serve
	fs := newFlagSet("serve", "serve [flags]", stderr)
	scopes := config.AddServeFlags(fs, getenv, &cfg)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := cfg.Finish(*scopes); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	log, err := newLogger(stdout, cfg.LogLevel)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	// Check the operator's bootstrap choices before anything is opened or
	// written, so that a bad value leaves no trace and a corrected
	// restart starts clean.
	chosenID, chosenSecret := getenv("LATCHKEY_BOOTSTRAP_CLIENT_ID"), client.SecretFrom(getenv("LATCHKEY_BOOTSTRAP_CLIENT_SECRET"))
	if err := client.ValidateChosenCredentials(chosenID, chosenSecret); err != nil {
		return fmt.Errorf("%w: LATCHKEY_BOOTSTRAP_CLIENT_ID/_SECRET: %v", errUsage, err)
	}
	b, err := openBackend(ctx, cfg.Store, stderr)
	if err != nil {
		return err
	}
	defer b.store.Close()
	app, err := server.Assemble(ctx, server.Options{
		Store: b.store, Box: b.box, Issuer: cfg.Issuer, AccessTokenTTL: cfg.AccessTokenTTL,
		DefaultScopes: cfg.DefaultScopes, Log: log, ClientCacheTTL: cfg.ClientCacheTTL,
		KeyPublishDelay: cfg.KeyPublishDelay, JWKSMaxAge: cfg.JWKSMaxAge,
		Registration: register.Mode(cfg.Registration),
	})
	if err != nil {
		return err
	}
	if err := bootstrap(ctx, b, app.Clients, chosenID, chosenSecret, stderr); err != nil {
		return err
	}
	handler := app.Handler
	go app.Keys.Run(ctx, cfg.KeyRefresh, func(err error) { log.Warn("reload signing keys", "err", err) })

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := server.NewHTTPServer(cfg.Addr, handler, log)
	log.Info("latchkey listening", "addr", ln.Addr().String(), "issuer", cfg.Issuer, "db", redactDSN(cfg.DB))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// bootstrapSetting marks that first-run bootstrap happened, so that two
// nodes starting on one empty store create one admin client, not two.
const bootstrapSetting = "bootstrapped"

// bootstrap creates the first admin client on an empty store and prints its
// credentials once to stderr. LATCHKEY_BOOTSTRAP_CLIENT_ID/_SECRET choose
// them instead, for automation.
func bootstrap(ctx context.Context, b *backend, clients *client.Service, chosenID string, chosenSecret client.Secret, stderr io.Writer) error {
	n, err := b.store.CountClients(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	marker := randomKey()
	got, err := b.store.InitSetting(ctx, bootstrapSetting, marker)
	if err != nil {
		return err
	}
	if string(got) != string(marker) {
		// Another node bootstraps now, or a first start died between the
		// marker and the admin client. Give the other node a moment; if
		// still no client exists, say so rather than run without an admin.
		for range 50 {
			if n, err := b.store.CountClients(ctx); err == nil && n > 0 {
				return nil
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond):
			}
		}
		fmt.Fprintln(stderr, "latchkey: warning: the store has no clients but was bootstrapped before; if no other node is starting, create an admin with: latchkey client create --name admin --grant-types client_credentials --scopes \""+strings.Join(BootstrapScopes, " ")+"\"")
		return nil
	}
	c, secret, err := clients.Create(ctx, domain.Actor{Root: true}, client.CreateInput{
		Name:          "Latchkey bootstrap admin",
		GrantTypes:    []string{client.GrantClientCredentials},
		AllowedScopes: BootstrapScopes,
		ClientID:      chosenID,
		Secret:        chosenSecret,
	})
	if err != nil {
		return fmt.Errorf("bootstrap admin client: %w", err)
	}
	if !chosenSecret.IsZero() {
		fmt.Fprintf(stderr, "latchkey: created bootstrap admin client %s with the secret from LATCHKEY_BOOTSTRAP_CLIENT_SECRET\n", c.ClientID)
		return nil
	}
	fmt.Fprintf(stderr, `
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

// redactDSN hides a password in a database URL before it is logged.
func redactDSN(dsn string) string {
	if config.SQLitePath(dsn) != "" {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres (unparsable DSN)"
	}
	return u.Redacted()
}
