package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/latchkey/latchkey/internal/bootstrap"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/sealed"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// backend is an open store with the master-key box that seals its secrets.
type backend struct {
	store store.Store
	box   *sealed.Box
}

// openBackend opens the store named by cfg.DB, applying migrations, and
// loads (or, beside a new SQLite file, creates) the master key.
func openBackend(ctx context.Context, cfg config.Store, stderr io.Writer) (*backend, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if config.IsPostgres(cfg.DB) && cfg.MasterKey == "" && cfg.MasterKeyFile == "" {
		return nil, errors.New("a PostgreSQL store needs the master key every node shares: set LATCHKEY_MASTER_KEY (base64 of 32 bytes, e.g. from `openssl rand -base64 32`) or name a master key file")
	}
	s, err := openStore(ctx, cfg) // first: it rejects a --db of the wrong form
	if err != nil {
		return nil, err
	}
	key, err := masterKey(cfg, config.SQLitePath(cfg.DB), stderr)
	if err != nil {
		s.Close()
		return nil, err
	}
	box, err := sealed.New(key)
	if err != nil {
		s.Close()
		return nil, err
	}
	return &backend{store: s, box: box}, nil
}

// openStore opens the store named by cfg.DB and applies migrations.
func openStore(ctx context.Context, cfg config.Store) (store.Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	switch path := config.SQLitePath(cfg.DB); {
	case config.IsPostgres(cfg.DB):
		return postgres.Open(ctx, cfg.DB, postgres.Options{
			MaxConns: int32(cfg.MaxConns), StatementTimeout: cfg.StatementTimeout, ConnectRetries: cfg.ConnectRetries,
		})
	case path != "" && !strings.HasPrefix(path, "//"):
		return sqlite.Open(ctx, path)
	}
	return nil, fmt.Errorf("%w: --db %q: want sqlite:PATH (e.g. sqlite:latchkey.db) or postgres://...", errUsage, cfg.DB)
}

func masterKey(cfg config.Store, sqlitePath string, stderr io.Writer) ([]byte, error) {
	if cfg.MasterKey != "" {
		k, err := sealed.ParseKey(cfg.MasterKey)
		if err != nil {
			return nil, fmt.Errorf("LATCHKEY_MASTER_KEY: %w", err)
		}
		return k, nil
	}
	file := cfg.MasterKeyFile
	if file == "" {
		file = sqlitePath + ".masterkey"
	}
	k, created, err := sealed.LoadOrCreateKeyFile(file)
	if err != nil {
		return nil, err
	}
	if created {
		fmt.Fprintf(stderr, "latchkey: created master key %s — back it up with the database; without it the signing keys cannot be opened\n", file)
	}
	return k, nil
}

// hasher returns the client-secret hasher of the store.
func (b *backend) hasher(ctx context.Context) (*client.Hasher, error) {
	return bootstrap.SecretHasher(ctx, b.store, b.box)
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}
