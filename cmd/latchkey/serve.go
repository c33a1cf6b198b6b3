package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/latchkey/latchkey/internal/api/register"
	"github.com/latchkey/latchkey/internal/bootstrap"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/fetch"
	"github.com/latchkey/latchkey/internal/oauth2/grant/refresh"
	"github.com/latchkey/latchkey/internal/oauth2/par"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/sweep"
)

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config.Serve
	fs := newFlagSet("serve", "serve [flags]", stdout, stderr)
	scopes := config.AddServeFlags(fs, getenv, &cfg)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := cfg.Finish(*scopes); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	// Every default client scope must be defined; Assemble checks it
	// too, but this is the operator's choice, so it fails before any
	// file is opened.
	policy := client.Policy{DefaultScopes: cfg.DefaultScopes, Scopes: client.NewScopes(cfg.Scopes)}
	if err := policy.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	log, err := newLogger(stdout, cfg.LogLevel)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if file := getenv(envCPUProfile); file != "" { // for scripts/pgo only
		stop, err := startCPUProfile(file)
		if err != nil {
			return err
		}
		defer func() {
			if err := stop(); err != nil {
				log.Warn("write CPU profile", "err", err)
			}
		}()
	}
	// Check the operator's bootstrap choices before anything is opened or
	// written, so that a bad value leaves no trace and a corrected
	// restart starts clean.
	choice, err := bootstrap.ChoiceFromEnv(getenv)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	// Load the TLS pair and bind before creating anything: a bad file or a
	// taken port must not leave behind a database, a master key and a
	// bootstrap secret printed for nothing.
	var certs *server.CertReloader
	if cfg.TLSCertFile != "" {
		if certs, err = server.NewCertReloader(cfg.TLSCertFile, cfg.TLSKeyFile, server.ReloadOptions{Log: log}); err != nil {
			return err
		}
	}
	ln, mln, err := listen(cfg, log)
	if err != nil {
		return err
	}
	defer func() { // Serve closes them too; closing twice is harmless
		ln.Close()
		if mln != nil {
			mln.Close()
		}
	}()
	b, err := openBackend(ctx, cfg.Store, stderr)
	if err != nil {
		return err
	}
	defer b.store.Close()
	app, err := server.Assemble(ctx, server.Options{
		Store: b.store, Box: b.box, Issuer: cfg.Issuer, AccessTokenTTL: cfg.AccessTokenTTL,
		DefaultScopes: cfg.DefaultScopes, Scopes: cfg.Scopes, AllowUndefinedScopes: cfg.AllowUndefinedScopes,
		Log: log, ClientCacheTTL: cfg.ClientCacheTTL,
		KeyPublishDelay: cfg.KeyPublishDelay, JWKSMaxAge: cfg.JWKSMaxAge,
		Registration: register.Mode(cfg.Registration), TokenLeeway: cfg.TokenLeeway, TrustedProxies: cfg.TrustedProxies,
		IdempotencyReplayWindow: cfg.IdempotencyReplayWindow,
		AccessLogSample:         cfg.AccessLogSample,
		RequirePushedRequests:   cfg.RequirePushedRequests,
		PushedRequestLimits:     par.Limits{PerClient: cfg.PARPerClient, PerSource: cfg.PARPerSource},
		MetadataDocuments:       cfg.MetadataDocuments(),
		ClientKeys:              fetch.Config{AllowLoopback: cfg.CIMDAllowLoopback},
		AnonymousClients: server.AnonymousClients{PerSourcePerHour: cfg.RegistrationPerSource, Max: cfg.MaxAnonymousClients,
			TTL: cfg.AnonymousClientTTL},
		Refresh: refresh.Policy{Idle: cfg.RefreshIdle, Absolute: cfg.RefreshAbsolute, Overlap: cfg.RefreshOverlap},
	})
	if err != nil {
		return err
	}
	if err := bootstrap.Admin(ctx, b.store, app.Clients, choice, stderr); err != nil {
		return err
	}
	hashed, err := bootstrap.AdminUser(ctx, app.Users, choice, stderr)
	if err != nil {
		return err
	}
	if hashed {
		// The first start hashes the admin's password with argon2id,
		// whose 19 MiB the runtime would otherwise keep for minutes: a
		// fresh install then sat at ~44 MB idle instead of ~24. One
		// collection before serving hands it back. Only then: on a later
		// start it costs about 8 ms of the cold start (the pages it
		// returns are faulted back in at once).
		debug.FreeOSMemory()
	}
	handler := app.Handler
	go app.Keys.Run(ctx, cfg.KeyRefresh, func(err error) { log.Warn("reload signing keys", "err", err) })
	sweeper := sweep.New(0, nil, log)
	for _, t := range sweep.StoreTasks(b.store) {
		sweeper.Add(t)
	}
	if cfg.AnonymousClientTTL > 0 {
		// Open-registration clients unused for --anonymous-client-ttl.
		sweeper.Add(sweep.Task{Name: "anonymous_clients", Sweep: func(ctx context.Context, _ time.Time, _ int) (int, error) {
			return app.ExpireAnonymousClients(ctx)
		}})
	}
	go sweeper.Run(ctx, cfg.SweepInterval)

	mainSrv := server.NewHTTPServer(cfg.Addr, handler, log)
	if certs != nil {
		mainSrv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.GetCertificate}
		go reloadOnHangup(ctx, certs, log)
	}
	servers := []*http.Server{mainSrv}
	listeners := []net.Listener{ln}
	if mln != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", app.Metrics)
		servers = append(servers, server.NewHTTPServer(cfg.MetricsAddr, mux, log))
		listeners = append(listeners, mln)
		log.Info("metrics listening", "addr", mln.Addr().String())
	}
	log.Info("latchkey listening", "addr", ln.Addr().String(), "tls", certs != nil, "issuer", cfg.Issuer, "db", redactDSN(cfg.DB))
	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() {
			if srv.TLSConfig != nil { // HTTPS, with HTTP/2 offered by ALPN
				errc <- srv.ServeTLS(listeners[i], "", "")
				return
			}
			errc <- srv.Serve(listeners[i])
		}()
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

// listen binds --addr and, unless it is empty, --metrics-addr (mln is nil
// then).
// The main listener is capped (LimitListener).
func listen(cfg config.Serve, log *slog.Logger) (ln, mln net.Listener, err error) {
	ln, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen: %w", err)
	}
	limit := cfg.ConnLimit
	if limit == 0 {
		limit = server.DefaultMaxConns()
	}
	ln = server.LimitListener(ln, server.ListenerOptions{MaxConns: limit, MaxConnsPerIP: cfg.ConnLimitPerIP, Log: log})
	if cfg.MetricsAddr != "" {
		mln, err = net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return nil, nil, fmt.Errorf("listen (metrics): %w", err)
		}
	}
	return ln, mln, nil
}

// reloadOnHangup rereads the TLS files on SIGHUP (they are also looked at
// once a second during handshakes) until ctx ends.
func reloadOnHangup(ctx context.Context, certs *server.CertReloader, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
			if err := certs.Reload(); err != nil {
				log.Warn("SIGHUP: TLS certificate files unusable; keeping the current certificate", "err", err)
			}
		case <-ctx.Done():
			return
		}
	}
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
