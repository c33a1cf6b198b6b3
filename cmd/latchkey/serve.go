package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/latchkey/latchkey/internal/api/register"
	"github.com/latchkey/latchkey/internal/bootstrap"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/server"
)

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
	choice, err := bootstrap.ChoiceFromEnv(getenv)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
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
		Registration: register.Mode(cfg.Registration), TokenLeeway: cfg.TokenLeeway, TrustedProxies: cfg.TrustedProxies,
		IdempotencyReplayWindow: cfg.IdempotencyReplayWindow,
	})
	if err != nil {
		return err
	}
	if err := bootstrap.Admin(ctx, b.store, app.Clients, choice, stderr); err != nil {
		return err
	}
	handler := app.Handler
	go app.Keys.Run(ctx, cfg.KeyRefresh, func(err error) { log.Warn("reload signing keys", "err", err) })

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	servers := []*http.Server{server.NewHTTPServer(cfg.Addr, handler, log)}
	listeners := []net.Listener{ln}
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen (metrics): %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", app.Metrics)
		servers = append(servers, server.NewHTTPServer(cfg.MetricsAddr, mux, log))
		listeners = append(listeners, mln)
		log.Info("metrics listening", "addr", mln.Addr().String())
	}
	log.Info("latchkey listening", "addr", ln.Addr().String(), "issuer", cfg.Issuer, "db", redactDSN(cfg.DB))
	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errc <- srv.Serve(listeners[i]) }()
	}
	select {
	case err := <-errc:
		for _, srv := range servers {
			srv.Close()
		}
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	for _, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
		}
	}
	for range servers {
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
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
