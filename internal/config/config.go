// Package config holds Latchkey's settings: each is a command-line flag
// with a LATCHKEY_* environment variable as its default.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// DefaultScopes are the scopes given to clients whose registration dialect
// carries none. api:public makes the seed 002 token example work verbatim.
const DefaultScopes = "openid profile email offline_access api:public"

// DefinedScopes are the scopes the server defines out of the box beside
// the built-in OpenID Connect and admin scopes: those of DefaultScopes
// that are not built in. A client may hold only defined scopes.
const DefinedScopes = "api:public"

// ScopesFromEnv returns the scopes LATCHKEY_SCOPES defines (DefinedScopes
// when unset), for the commands that write clients without a server.
func ScopesFromEnv(getenv func(string) string) []string {
	return strings.Fields(env(getenv).or("LATCHKEY_SCOPES", DefinedScopes))
}

// Store names the database and the master key that seals secrets in it.
type Store struct {
	DB            string // sqlite:PATH or postgres://...
	MasterKey     string // base64; overrides MasterKeyFile
	MasterKeyFile string // default: beside the SQLite file
	// PostgreSQL pool settings.
	MaxConns         int
	StatementTimeout time.Duration
	ConnectRetries   int

	// envErrs are LATCHKEY_* values that did not parse; Validate reports
	// them, so a typo fails loudly instead of quietly meaning the default.
	envErrs []error
}

// Validate reports environment values that did not parse.
func (s *Store) Validate() error { return errors.Join(s.envErrs...) }

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
	// JWKSMaxAge is how long verifiers may cache the JWKS.
	JWKSMaxAge time.Duration
	// SweepInterval is how often expired sessions, codes and revocation
	// records are deleted (internal/sweep); 0 disables it.
	SweepInterval time.Duration
	// TokenLeeway is how far past exp (or before iat) the server still
	// accepts its own tokens, for clock differences between nodes.
	TokenLeeway time.Duration
	// IdempotencyReplayWindow is how long the first answer to a request
	// with an Idempotency-Key is kept (sealed) to replay.
	IdempotencyReplayWindow time.Duration
	// AccessLogSample > 1 logs one in that many successful token-endpoint
	// requests; failures and all other requests are always logged.
	AccessLogSample int
	// MetricsAddr is where /metrics is served, apart from Addr; "" disables it.
	MetricsAddr string
	// TrustedProxies are the peers whose Forwarded / X-Forwarded-For
	// headers name the client address (parsed from trustedProxies).
	TrustedProxies []netip.Prefix
	trustedProxies string
	// Scopes are the operator's defined scopes (--scopes, raw in scopes);
	// with AllowUndefinedScopes clients may hold others too (migrations
	// only).
	Scopes               []string
	AllowUndefinedScopes bool
	scopes               string
	// ConnLimit caps the connections open at once on Addr (0: derived
	// from the open-files limit by serve); ConnLimitPerIP caps one remote
	// address's (0: no cap).
	ConnLimit      int
	ConnLimitPerIP int
	// TLSCertFile and TLSKeyFile, both or neither, make Addr serve HTTPS
	// (and HTTP/2); serve reloads them when they change.
	TLSCertFile string
	TLSKeyFile  string
	// Agents: PAR, Client ID Metadata Documents, anonymous clients.
	Agents
	// RefreshIdle and RefreshAbsolute are the refresh token lifetimes
	// (unused, and in all); RefreshOverlap how long a rotated refresh
	// token still works (0: never).
	RefreshIdle     time.Duration
	RefreshAbsolute time.Duration
	RefreshOverlap  time.Duration
}

// maxTokenLeeway bounds --token-leeway: signing keys stay published for
// the access-token TTL plus five minutes after they stop signing.
const maxTokenLeeway = 5 * time.Minute

type env func(string) string

// envInt and envDuration read an environment default; a value that does
// not parse is recorded in errs and def is used until Validate reports it.
func envInt(get env, name string, def int, errs *[]error) int {
	v := get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s=%q is not an integer", name, v))
		return def
	}
	return n
}

func envDuration(get env, name string, def time.Duration, errs *[]error) time.Duration {
	v := get(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s=%q is not a duration such as 30s or 2m", name, v))
		return def
	}
	return d
}

func envBool(get env, name string, errs *[]error) bool {
	v := get(name)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s=%q is not true or false", name, v))
	}
	return b
}

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
	fs.IntVar(&s.MaxConns, "db-max-conns", envInt(e, "LATCHKEY_DB_MAX_CONNS", 0, &s.envErrs), "PostgreSQL: connection pool size per node, 0 = max(4, CPUs) (env LATCHKEY_DB_MAX_CONNS)")
	fs.DurationVar(&s.StatementTimeout, "db-statement-timeout", envDuration(e, "LATCHKEY_DB_STATEMENT_TIMEOUT", 5*time.Second, &s.envErrs), "PostgreSQL: server-side statement timeout, 0 = none (env LATCHKEY_DB_STATEMENT_TIMEOUT)")
	fs.IntVar(&s.ConnectRetries, "db-connect-retries", envInt(e, "LATCHKEY_DB_CONNECT_RETRIES", 10, &s.envErrs), "PostgreSQL: how many times to retry the first connection, one second apart (env LATCHKEY_DB_CONNECT_RETRIES)")
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
	fs.StringVar(&s.Issuer, "issuer", e("LATCHKEY_ISSUER"), "issuer URL in tokens and discovery (env LATCHKEY_ISSUER; default http://ADDR, or https://ADDR with --tls-cert-file)")
	scopes := new(string)
	fs.StringVar(scopes, "default-scopes", e.or("LATCHKEY_DEFAULT_SCOPES", DefaultScopes), "space-separated scopes for clients registered without scopes; each must be defined (env LATCHKEY_DEFAULT_SCOPES)")
	errs := &s.envErrs
	fs.StringVar(&s.scopes, "scopes", e.or("LATCHKEY_SCOPES", DefinedScopes), "space-separated scopes this server defines beside the built-in OpenID Connect and admin scopes; clients may hold no others (env LATCHKEY_SCOPES)")
	fs.BoolVar(&s.AllowUndefinedScopes, "allow-undefined-scopes", envBool(e, "LATCHKEY_ALLOW_UNDEFINED_SCOPES", errs), "DANGEROUS, for migrations only: let clients hold scopes that --scopes does not define; logged as a warning (env LATCHKEY_ALLOW_UNDEFINED_SCOPES)")
	fs.DurationVar(&s.SweepInterval, "sweep-interval", envDuration(e, "LATCHKEY_SWEEP_INTERVAL", 5*time.Minute, errs), "how often expired sessions, authorization codes, revocation records and spent client assertion ids are deleted, in batches (safe on every node); 0 disables it (env LATCHKEY_SWEEP_INTERVAL)")
	fs.DurationVar(&s.AccessTokenTTL, "access-token-ttl", envDuration(e, "LATCHKEY_ACCESS_TOKEN_TTL", time.Hour, errs), "access token lifetime (env LATCHKEY_ACCESS_TOKEN_TTL)")
	fs.DurationVar(&s.ClientCacheTTL, "client-cache-ttl", envDuration(e, "LATCHKEY_CLIENT_CACHE_TTL", 2*time.Second, errs), "how long a node may serve a client from memory; bounds how soon a change made on another node takes effect here, 0 disables (env LATCHKEY_CLIENT_CACHE_TTL)")
	fs.DurationVar(&s.TokenLeeway, "token-leeway", envDuration(e, "LATCHKEY_TOKEN_LEEWAY", 5*time.Second, errs), "how long after it expires (or before it is issued) the server still accepts one of its own tokens, for clock differences between nodes; 0 to 5m (env LATCHKEY_TOKEN_LEEWAY)")
	fs.DurationVar(&s.IdempotencyReplayWindow, "idempotency-replay-window", envDuration(e, "LATCHKEY_IDEMPOTENCY_REPLAY_WINDOW", time.Hour, errs), "how long the first answer to a request with an Idempotency-Key (it holds a one-time secret) is kept, sealed, to replay to a retry; later retries get 409 naming what was created; above 0, at most 24h (env LATCHKEY_IDEMPOTENCY_REPLAY_WINDOW)")
	AddKeyTimingFlags(fs, getenv, s)
	fs.StringVar(&s.LogLevel, "log-level", e.or("LATCHKEY_LOG_LEVEL", "info"), "debug, info, warn or error (env LATCHKEY_LOG_LEVEL)")
	fs.IntVar(&s.AccessLogSample, "access-log-sample", envInt(e, "LATCHKEY_ACCESS_LOG_SAMPLE", 100, errs), "log one in N successful token-endpoint requests (those lines carry \"sample\":N); every failure and every other request is logged, and /metrics counts all; 1 logs every request (env LATCHKEY_ACCESS_LOG_SAMPLE)")
	fs.StringVar(&s.MetricsAddr, "metrics-addr", e.or("LATCHKEY_METRICS_ADDR", "127.0.0.1:9090"), "listen address of the Prometheus /metrics endpoint, apart from --addr; empty disables it (env LATCHKEY_METRICS_ADDR)")
	fs.StringVar(&s.trustedProxies, "trusted-proxies", e("LATCHKEY_TRUSTED_PROXIES"), "comma-separated CIDRs or addresses of reverse proxies whose Forwarded or X-Forwarded-For header names the client address; from other peers those headers are ignored (env LATCHKEY_TRUSTED_PROXIES)")
	fs.IntVar(&s.ConnLimit, "max-conns", envInt(e, "LATCHKEY_MAX_CONNS", 0, errs), "most connections open at once on --addr; beyond it new ones wait; 0 = the open-files limit (ulimit -n) less 128 for the database and logs (env LATCHKEY_MAX_CONNS)")
	fs.IntVar(&s.ConnLimitPerIP, "max-conns-per-ip", envInt(e, "LATCHKEY_MAX_CONNS_PER_IP", 0, errs), "most connections open at once from one remote address; beyond it new ones are closed at once; 0 = no cap (behind a proxy, every caller has the proxy's address) (env LATCHKEY_MAX_CONNS_PER_IP)")
	fs.StringVar(&s.TLSCertFile, "tls-cert-file", e("LATCHKEY_TLS_CERT_FILE"), "PEM certificate (chain) to serve HTTPS and HTTP/2 on --addr, reloaded when it changes; with --tls-key-file (env LATCHKEY_TLS_CERT_FILE)")
	fs.StringVar(&s.TLSKeyFile, "tls-key-file", e("LATCHKEY_TLS_KEY_FILE"), "PEM private key of --tls-cert-file (env LATCHKEY_TLS_KEY_FILE)")
	fs.DurationVar(&s.RefreshIdle, "refresh-idle-lifetime", envDuration(e, "LATCHKEY_REFRESH_IDLE_LIFETIME", 30*24*time.Hour, errs), "how long a refresh token stays valid unused; each use rotates it and restarts this (env LATCHKEY_REFRESH_IDLE_LIFETIME)")
	fs.DurationVar(&s.RefreshAbsolute, "refresh-absolute-lifetime", envDuration(e, "LATCHKEY_REFRESH_ABSOLUTE_LIFETIME", 90*24*time.Hour, errs), "how long a grant's refresh tokens work in all, from sign-in; rotation never extends it (env LATCHKEY_REFRESH_ABSOLUTE_LIFETIME)")
	fs.DurationVar(&s.RefreshOverlap, "refresh-overlap", envDuration(e, "LATCHKEY_REFRESH_OVERLAP", 0, errs), "how long a rotated refresh token may still be redeemed (once more replacing the newest), for a client that lost a response; 0 = never: any reuse revokes the grant (env LATCHKEY_REFRESH_OVERLAP)")
	fs.StringVar(&s.Registration, "registration", e.or("LATCHKEY_REGISTRATION", "token"), "RFC 7591 dynamic client registration: open (anyone; such clients may hold the default scopes and the scopes registered resources define), token (needs an access token with clients:create) or off (env LATCHKEY_REGISTRATION)")
	addAgentFlags(fs, e, &s.Agents, errs)
	return scopes
}

// AddKeyTimingFlags registers --key-refresh, --key-publish-delay and
// --jwks-max-age (serve, and keys rotate, which must obey the same rule).
func AddKeyTimingFlags(fs *flag.FlagSet, getenv func(string) string, s *Serve) {
	e, errs := env(getenv), &s.envErrs
	fs.DurationVar(&s.KeyRefresh, "key-refresh", envDuration(e, "LATCHKEY_KEY_REFRESH", 30*time.Second, errs), "how often each node reloads signing keys from the store (env LATCHKEY_KEY_REFRESH)")
	fs.DurationVar(&s.KeyPublishDelay, "key-publish-delay", envDuration(e, "LATCHKEY_KEY_PUBLISH_DELAY", 2*time.Minute, errs), "how long a rotated key is published before any node signs with it; must exceed --key-refresh plus --jwks-max-age (env LATCHKEY_KEY_PUBLISH_DELAY)")
	fs.DurationVar(&s.JWKSMaxAge, "jwks-max-age", envDuration(e, "LATCHKEY_JWKS_MAX_AGE", 60*time.Second, errs), "how long verifiers may cache /.well-known/jwks.json (env LATCHKEY_JWKS_MAX_AGE)")
}

// ValidateKeyTiming checks the rotation rule. A verifier may hold a JWKS
// fetched just before a node's refresh for another max-age: only after
// refresh plus max-age has every verifier seen a new key, so only then may
// any node sign with it.
func (s *Serve) ValidateKeyTiming() error {
	if err := s.Store.Validate(); err != nil {
		return err
	}
	if s.KeyRefresh <= 0 || s.JWKSMaxAge <= 0 || s.KeyPublishDelay <= s.KeyRefresh+s.JWKSMaxAge {
		return fmt.Errorf("--key-publish-delay (%s) must be longer than --key-refresh (%s) plus --jwks-max-age (%s), both positive", s.KeyPublishDelay, s.KeyRefresh, s.JWKSMaxAge)
	}
	return nil
}

// Finish validates s after parsing and fills derived defaults.
func (s *Serve) Finish(scopes string) error {
	if err := s.ValidateKeyTiming(); err != nil {
		return err
	}
	s.DefaultScopes = strings.Fields(scopes)
	s.Scopes = strings.Fields(s.scopes)
	if s.ClientCacheTTL < 0 {
		return errors.New("--client-cache-ttl must not be negative")
	}
	switch s.Registration {
	case "open", "token", "off":
	default:
		return fmt.Errorf("--registration %q must be open, token or off", s.Registration)
	}
	// A signing key is retired access-token TTL plus 5 minutes after it
	// stops signing, so a longer leeway would outlive the key.
	if s.TokenLeeway < 0 || s.TokenLeeway > maxTokenLeeway {
		return fmt.Errorf("--token-leeway %s must be between 0 and %s", s.TokenLeeway, maxTokenLeeway)
	}
	if s.ConnLimit < 0 {
		return errors.New("--max-conns must not be negative")
	}
	if s.ConnLimitPerIP < 0 {
		return errors.New("--max-conns-per-ip must not be negative")
	}
	if s.AccessLogSample < 1 {
		return errors.New("--access-log-sample must be at least 1 (1 logs every request)")
	}
	if s.IdempotencyReplayWindow <= 0 || s.IdempotencyReplayWindow > 24*time.Hour {
		return fmt.Errorf("--idempotency-replay-window %s must be above 0 and at most 24h (an Idempotency-Key lives 24h)", s.IdempotencyReplayWindow)
	}
	if s.AccessTokenTTL <= 0 {
		return errors.New("--access-token-ttl must be a positive duration such as 1h or 15m")
	}
	if s.SweepInterval < 0 {
		return errors.New("--sweep-interval must be a duration such as 5m, or 0 to disable sweeping")
	}
	if s.RefreshIdle <= 0 || s.RefreshAbsolute < s.RefreshIdle {
		return fmt.Errorf("--refresh-idle-lifetime (%s) must be positive and at most --refresh-absolute-lifetime (%s)", s.RefreshIdle, s.RefreshAbsolute)
	}
	if s.RefreshOverlap < 0 || s.RefreshOverlap >= s.RefreshIdle {
		return fmt.Errorf("--refresh-overlap (%s) must be at least 0 and shorter than --refresh-idle-lifetime", s.RefreshOverlap)
	}
	if s.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(s.MetricsAddr); err != nil {
			return fmt.Errorf("--metrics-addr %q: %w", s.MetricsAddr, err)
		}
	}
	if err := s.Agents.finish(); err != nil {
		return err
	}
	proxies, err := ParsePrefixes(s.trustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	s.TrustedProxies = proxies
	if (s.TLSCertFile == "") != (s.TLSKeyFile == "") {
		return errors.New("--tls-cert-file and --tls-key-file go together: give both or neither")
	}
	host, port, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %w", s.Addr, err)
	}
	if s.Issuer == "" {
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		scheme := "http://"
		if s.TLSCertFile != "" {
			scheme = "https://"
		}
		s.Issuer = scheme + net.JoinHostPort(host, port)
	}
	s.Issuer = strings.TrimSuffix(s.Issuer, "/")
	if !strings.HasPrefix(s.Issuer, "https://") && !strings.HasPrefix(s.Issuer, "http://") {
		return fmt.Errorf("--issuer %q must be an http(s) URL", s.Issuer)
	}
	return nil
}

// ParsePrefixes parses a comma-separated list of CIDRs or bare addresses
// (a bare address is a one-address prefix).
func ParsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("%q is not an IP address or CIDR", f)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address or CIDR", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// SQLitePath returns the file path of a sqlite: DSN, or "" if db is not one.
func SQLitePath(db string) string {
	if p, ok := strings.CutPrefix(db, "sqlite:"); ok {
		return p
	}
	return ""
}
