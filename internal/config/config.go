// Package config holds Latchkey's settings: each is a command-line flag
// with a LATCHKEY_* environment variable as its default.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// DefaultScopes are the scopes given to clients whose registration dialect
// carries none. api:public makes the seed 002 token example work verbatim.
const DefaultScopes = "openid profile email offline_access api:public"

// Store names the database and the master key that seals secrets in it.
type Store struct {
	DB            string // sqlite:PATH or postgres://...
	MasterKey     string // base64; overrides MasterKeyFile
	MasterKeyFile string // default: beside the SQLite file
	// PostgreSQL pool settings.
	MaxConns         int
	StatementTimeout time.Duration
	ConnectRetries   int
}

// Serve is the configuration of `latchkey serve`.
type Serve struct {
	Store
	Addr           string
	Issuer         string
	DefaultScopes  []string
	AccessTokenTTL time.Duration
	LogLevel       string
	ClientCacheTTL time.Duration
	// Registration is who may use RFC 7591 dynamic client registration:
	// open, token (an initial access token with clients:create) or off.
	Registration string
	// KeyRefresh is how often a node reloads signing keys from the store;
	// KeyPublishDelay how long a rotated key is published before it signs.
	KeyRefresh      time.Duration
	KeyPublishDelay time.Duration
}

type env func(string) string

func (e env) or(name, def string) string {
	if v := e(name); v != "" {
		return v
	}
	return def
}

// AddStoreFlags registers --db, --master-key-file on fs.
func AddStoreFlags(fs *flag.FlagSet, getenv func(string) string, s *Store) {
	e := env(getenv)
	fs.StringVar(&s.DB, "db", e.or("LATCHKEY_DB", "sqlite:latchkey.db"), "database: sqlite:PATH (file created at PATH) or postgres://... (env LATCHKEY_DB)")
	fs.StringVar(&s.MasterKeyFile, "master-key-file", e("LATCHKEY_MASTER_KEY_FILE"), "file holding the base64 master key that encrypts signing keys at rest (env LATCHKEY_MASTER_KEY_FILE; default PATH.masterkey beside a SQLite database, created if missing; LATCHKEY_MASTER_KEY gives the key itself)")
	s.MasterKey = getenv("LATCHKEY_MASTER_KEY")
	fs.IntVar(&s.MaxConns, "db-max-conns", envInt(e("LATCHKEY_DB_MAX_CONNS"), 0), "PostgreSQL: connection pool size per node, 0 = max(4, CPUs) (env LATCHKEY_DB_MAX_CONNS)")
	fs.DurationVar(&s.StatementTimeout, "db-statement-timeout", envDuration(e("LATCHKEY_DB_STATEMENT_TIMEOUT"), 5*time.Second), "PostgreSQL: server-side statement timeout, 0 = none (env LATCHKEY_DB_STATEMENT_TIMEOUT)")
	fs.IntVar(&s.ConnectRetries, "db-connect-retries", envInt(e("LATCHKEY_DB_CONNECT_RETRIES"), 10), "PostgreSQL: how many times to retry the first connection, one second apart (env LATCHKEY_DB_CONNECT_RETRIES)")
}

// envInt and envDuration parse an environment default; a bad value falls
// back to def and the flag package reports nothing, so Validate checks.
func envInt(v string, def int) int {
	if n, err := strconv.Atoi(v); err == nil {
		return n
	}
	return def
}

func envDuration(v string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(v); err == nil {
		return d
	}
	return def
}

// IsPostgres reports whether db names a PostgreSQL database.
func IsPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// AddServeFlags registers every serve flag on fs.
func AddServeFlags(fs *flag.FlagSet, getenv func(string) string, s *Serve) *string {
	e := env(getenv)
	AddStoreFlags(fs, getenv, &s.Store)
	fs.StringVar(&s.Addr, "addr", e.or("LATCHKEY_ADDR", "127.0.0.1:8080"), "listen address (env LATCHKEY_ADDR)")
	fs.StringVar(&s.Issuer, "issuer", e("LATCHKEY_ISSUER"), "issuer URL in tokens and discovery (env LATCHKEY_ISSUER; default http://ADDR)")
	scopes := new(string)
	fs.StringVar(scopes, "default-scopes", e.or("LATCHKEY_DEFAULT_SCOPES", DefaultScopes), "space-separated scopes for clients registered without scopes (env LATCHKEY_DEFAULT_SCOPES)")
	ttl := e.or("LATCHKEY_ACCESS_TOKEN_TTL", "1h")
	d, err := time.ParseDuration(ttl)
	if err != nil {
		d = -1 // reported by Finish
	}
	fs.DurationVar(&s.AccessTokenTTL, "access-token-ttl", d, "access token lifetime (env LATCHKEY_ACCESS_TOKEN_TTL)")
	fs.DurationVar(&s.ClientCacheTTL, "client-cache-ttl", envDuration(e("LATCHKEY_CLIENT_CACHE_TTL"), 2*time.Second), "how long a node may serve a client from memory; bounds how soon a change made on another node takes effect here, 0 disables (env LATCHKEY_CLIENT_CACHE_TTL)")
	fs.DurationVar(&s.KeyRefresh, "key-refresh", envDuration(e("LATCHKEY_KEY_REFRESH"), 30*time.Second), "how often each node reloads signing keys from the store (env LATCHKEY_KEY_REFRESH)")
	fs.DurationVar(&s.KeyPublishDelay, "key-publish-delay", envDuration(e("LATCHKEY_KEY_PUBLISH_DELAY"), 2*time.Minute), "how long a rotated key is published before any node signs with it; must exceed --key-refresh and the 60s JWKS cache (env LATCHKEY_KEY_PUBLISH_DELAY)")
	fs.StringVar(&s.LogLevel, "log-level", e.or("LATCHKEY_LOG_LEVEL", "info"), "debug, info, warn or error (env LATCHKEY_LOG_LEVEL)")
	fs.StringVar(&s.Registration, "registration", e.or("LATCHKEY_REGISTRATION", "token"), "RFC 7591 dynamic client registration: open (anyone), token (needs an access token with clients:create) or off (env LATCHKEY_REGISTRATION)")
	return scopes
}

// Finish validates s after parsing and fills derived defaults.
func (s *Serve) Finish(scopes string) error {
	s.DefaultScopes = strings.Fields(scopes)
	if s.KeyRefresh <= 0 || s.KeyPublishDelay <= s.KeyRefresh {
		return errors.New("--key-publish-delay must be longer than --key-refresh, which must be positive")
	}
	if s.ClientCacheTTL < 0 {
		return errors.New("--client-cache-ttl must not be negative")
	}
	switch s.Registration {
	case "open", "token", "off":
	default:
		return fmt.Errorf("--registration %q must be open, token or off", s.Registration)
	}
	if s.AccessTokenTTL <= 0 {
		return errors.New("--access-token-ttl must be a positive duration such as 1h or 15m")
	}
	host, port, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %w", s.Addr, err)
	}
	if s.Issuer == "" {
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		s.Issuer = "http://" + net.JoinHostPort(host, port)
	}
	s.Issuer = strings.TrimSuffix(s.Issuer, "/")
	if !strings.HasPrefix(s.Issuer, "https://") && !strings.HasPrefix(s.Issuer, "http://") {
		return fmt.Errorf("--issuer %q must be an http(s) URL", s.Issuer)
	}
	return nil
}

// SQLitePath returns the file path of a sqlite: DSN, or "" if db is not one.
func SQLitePath(db string) string {
	if p, ok := strings.CutPrefix(db, "sqlite:"); ok {
		return p
	}
	return ""
}
