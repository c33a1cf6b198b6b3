package config

import (
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func parse(t *testing.T, env map[string]string, args ...string) (Serve, error) {
	t.Helper()
	var s Serve
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	scopes := AddServeFlags(fs, func(k string) string { return env[k] }, &s)
	if err := fs.Parse(args); err != nil {
		return s, err
	}
	return s, s.Finish(*scopes)
}

func TestDefaults(t *testing.T) {
	s, err := parse(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr != "127.0.0.1:8080" || s.DB != "sqlite:latchkey.db" || s.Issuer != "http://127.0.0.1:8080" ||
		s.AccessTokenTTL != time.Hour || s.Registration != "token" || s.ClientCacheTTL != 2*time.Second ||
		s.KeyRefresh != 30*time.Second || s.KeyPublishDelay != 2*time.Minute || s.TokenLeeway != 5*time.Second || s.IdempotencyReplayWindow != time.Hour ||
		strings.Join(s.DefaultScopes, " ") != DefaultScopes ||
		s.RefreshIdle != 30*24*time.Hour || s.RefreshAbsolute != 90*24*time.Hour || s.RefreshOverlap != 0 {
		t.Errorf("defaults: %+v", s)
	}
}

func TestEnvironmentAndFlags(t *testing.T) {
	env := map[string]string{
		"LATCHKEY_ADDR": "0.0.0.0:9000", "LATCHKEY_DB": "postgres://x/y", "LATCHKEY_DEFAULT_SCOPES": "a  b",
		"LATCHKEY_ACCESS_TOKEN_TTL": "15m", "LATCHKEY_REGISTRATION": "off", "LATCHKEY_CLIENT_CACHE_TTL": "0s",
		"LATCHKEY_MASTER_KEY": "k", "LATCHKEY_DB_MAX_CONNS": "7", "LATCHKEY_TOKEN_LEEWAY": "2s",
		"LATCHKEY_IDEMPOTENCY_REPLAY_WINDOW": "10m",
	}
	s, err := parse(t, env)
	if err != nil {
		t.Fatal(err)
	}
	// A wildcard listen address still gives a usable issuer.
	if s.Addr != "0.0.0.0:9000" || s.Issuer != "http://localhost:9000" || s.DB != "postgres://x/y" || s.AccessTokenTTL != 15*time.Minute ||
		s.Registration != "off" || s.ClientCacheTTL != 0 || s.MasterKey != "k" || s.MaxConns != 7 || strings.Join(s.DefaultScopes, ",") != "a,b" ||
		s.TokenLeeway != 2*time.Second || s.IdempotencyReplayWindow != 10*time.Minute {
		t.Errorf("from the environment: %+v", s)
	}
	// Flags win over the environment; a trailing slash leaves the issuer.
	s, err = parse(t, env, "--addr", "127.0.0.1:1", "--issuer", "https://auth.example.com/", "--registration", "open", "--token-leeway", "0s", "--idempotency-replay-window", "5m")
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr != "127.0.0.1:1" || s.Issuer != "https://auth.example.com" || s.Registration != "open" || s.TokenLeeway != 0 || s.IdempotencyReplayWindow != 5*time.Minute {
		t.Errorf("flags over environment: %+v", s)
	}
}

func TestInvalid(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"bad ttl env", map[string]string{"LATCHKEY_ACCESS_TOKEN_TTL": "soon"}, nil, "LATCHKEY_ACCESS_TOKEN_TTL"},
		{"bad duration env", map[string]string{"LATCHKEY_KEY_PUBLISH_DELAY": "10"}, nil, "LATCHKEY_KEY_PUBLISH_DELAY"},
		{"bad store env", map[string]string{"LATCHKEY_DB_STATEMENT_TIMEOUT": "abc"}, nil, "LATCHKEY_DB_STATEMENT_TIMEOUT"},
		{"bad integer env", map[string]string{"LATCHKEY_DB_MAX_CONNS": "many"}, nil, "LATCHKEY_DB_MAX_CONNS"},
		{"publish delay inside the JWKS cache", nil, []string{"--key-refresh", "60s", "--key-publish-delay", "90s"}, "key-publish-delay"},
		{"zero ttl", nil, []string{"--access-token-ttl", "0s"}, "access-token-ttl"},
		{"negative sweep interval", nil, []string{"--sweep-interval", "-1s"}, "sweep-interval"},
		{"addr without port", nil, []string{"--addr", "localhost"}, "--addr"},
		{"issuer not http", nil, []string{"--issuer", "ftp://x"}, "--issuer"},
		{"publish delay not longer than refresh", nil, []string{"--key-refresh", "1m", "--key-publish-delay", "1m"}, "key-publish-delay"},
		{"zero jwks max-age", nil, []string{"--jwks-max-age", "0s"}, "jwks-max-age"},
		{"zero refresh", nil, []string{"--key-refresh", "0s"}, "key-refresh"},
		{"negative cache", nil, []string{"--client-cache-ttl", "-1s"}, "client-cache-ttl"},
		{"bad leeway env", map[string]string{"LATCHKEY_TOKEN_LEEWAY": "a bit"}, nil, "LATCHKEY_TOKEN_LEEWAY"},
		{"negative leeway", nil, []string{"--token-leeway", "-1s"}, "token-leeway"},
		{"leeway past key retirement", nil, []string{"--token-leeway", "6m"}, "token-leeway"},
		{"bad replay window env", map[string]string{"LATCHKEY_IDEMPOTENCY_REPLAY_WINDOW": "an hour"}, nil, "LATCHKEY_IDEMPOTENCY_REPLAY_WINDOW"},
		{"zero replay window", nil, []string{"--idempotency-replay-window", "0s"}, "idempotency-replay-window"},
		{"replay window past the key's life", nil, []string{"--idempotency-replay-window", "25h"}, "idempotency-replay-window"},
		{"unknown registration mode", nil, []string{"--registration", "maybe"}, "registration"},
		{"zero refresh idle", nil, []string{"--refresh-idle-lifetime", "0s"}, "refresh-idle-lifetime"},
		{"refresh idle past absolute", nil, []string{"--refresh-idle-lifetime", "100h", "--refresh-absolute-lifetime", "99h"}, "refresh-absolute-lifetime"},
		{"negative refresh overlap", nil, []string{"--refresh-overlap", "-1s"}, "refresh-overlap"},
		{"refresh overlap as long as idle", nil, []string{"--refresh-idle-lifetime", "1h", "--refresh-overlap", "1h"}, "refresh-overlap"},
		{"bad refresh env", map[string]string{"LATCHKEY_REFRESH_OVERLAP": "a little"}, nil, "LATCHKEY_REFRESH_OVERLAP"},
	}
	for _, tt := range tests {
		_, err := parse(t, tt.env, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error naming %q", tt.name, err, tt.want)
		}
	}
}

func TestDSNKinds(t *testing.T) {
	for dsn, want := range map[string][2]any{
		"sqlite:latchkey.db":   {"latchkey.db", false},
		"sqlite:/var/lib/x.db": {"/var/lib/x.db", false},
		"postgres://u@h/db":    {"", true},
		"postgresql://u@h/db":  {"", true},
		"mysql://u@h/db":       {"", false},
		"latchkey.db":          {"", false},
	} {
		if got := SQLitePath(dsn); got != want[0] {
			t.Errorf("SQLitePath(%q) = %q", dsn, got)
		}
		if got := IsPostgres(dsn); got != want[1] {
			t.Errorf("IsPostgres(%q) = %v", dsn, got)
		}
	}
}

// The metrics listener and the trusted proxies: defaults, environment,
// flags, and values refused before anything starts.
func TestMetricsAddrAndTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		name        string
		env         map[string]string
		args        []string
		metrics     string
		proxies     string // the parsed prefixes, comma-joined
		errContains string
	}{
		{name: "defaults", metrics: "127.0.0.1:9090"},
		{name: "env", env: map[string]string{"LATCHKEY_METRICS_ADDR": "0.0.0.0:9100", "LATCHKEY_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7"},
			metrics: "0.0.0.0:9100", proxies: "10.0.0.0/8,192.0.2.7/32"},
		{name: "flag disables metrics", env: map[string]string{"LATCHKEY_METRICS_ADDR": "0.0.0.0:9100"}, args: []string{"--metrics-addr="}},
		{name: "flags win", env: map[string]string{"LATCHKEY_TRUSTED_PROXIES": "10.0.0.0/8"}, args: []string{"--trusted-proxies", "2001:db8::/32,::1"},
			metrics: "127.0.0.1:9090", proxies: "2001:db8::/32,::1/128"},
		{name: "bad cidr", args: []string{"--trusted-proxies", "10.0.0.0/33"}, errContains: "--trusted-proxies"},
		{name: "not an address", env: map[string]string{"LATCHKEY_TRUSTED_PROXIES": "proxy.internal"}, errContains: "--trusted-proxies"},
		{name: "bad metrics addr", args: []string{"--metrics-addr", "9090"}, errContains: "--metrics-addr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parse(t, tc.env, tc.args...)
			if tc.errContains != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errContains) {
					t.Fatalf("err = %v, want one naming %s", err, tc.errContains)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range s.TrustedProxies {
				got = append(got, p.String())
			}
			if s.MetricsAddr != tc.metrics || strings.Join(got, ",") != tc.proxies {
				t.Errorf("metrics %q proxies %q, want %q %q", s.MetricsAddr, got, tc.metrics, tc.proxies)
			}
		})
	}
}

// TestScopes: --scopes (LATCHKEY_SCOPES) defines the server's scopes; its
// default defines the default client scopes that are not built in
// (api:public), and --allow-undefined-scopes is off unless asked for.
func TestScopes(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		wantScopes string
		wantAllow  bool
	}{
		{"default", nil, nil, DefinedScopes, false},
		{"env", map[string]string{"LATCHKEY_SCOPES": "api:public  reports:read"}, nil, "api:public reports:read", false},
		{"flag over env", map[string]string{"LATCHKEY_SCOPES": "a"}, []string{"--scopes", "b c"}, "b c", false},
		{"allow flag", nil, []string{"--allow-undefined-scopes"}, DefinedScopes, true},
		{"allow env", map[string]string{"LATCHKEY_ALLOW_UNDEFINED_SCOPES": "true"}, nil, DefinedScopes, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parse(t, tt.env, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(s.Scopes, " ") != tt.wantScopes || s.AllowUndefinedScopes != tt.wantAllow {
				t.Errorf("Scopes %q, AllowUndefinedScopes %v; want %q, %v", s.Scopes, s.AllowUndefinedScopes, tt.wantScopes, tt.wantAllow)
			}
		})
	}
	if _, err := parse(t, map[string]string{"LATCHKEY_ALLOW_UNDEFINED_SCOPES": "perhaps"}); err == nil || !strings.Contains(err.Error(), "LATCHKEY_ALLOW_UNDEFINED_SCOPES") {
		t.Errorf("a malformed LATCHKEY_ALLOW_UNDEFINED_SCOPES: %v, want an error naming it", err)
	}
	for _, sc := range strings.Fields(DefaultScopes) {
		if !slices.Contains(append(strings.Fields(DefinedScopes), "openid", "profile", "email", "offline_access"), sc) {
			t.Errorf("default client scope %q is neither built in nor in DefinedScopes", sc)
		}
	}
}

func TestConnectionLimits(t *testing.T) {
	for _, tc := range []struct {
		name           string
		env            map[string]string
		args           []string
		total, perIP   int
		wantErrContain string
	}{
		{name: "defaults: derived total, no per-address cap"},
		{name: "flags", args: []string{"--max-conns", "500", "--max-conns-per-ip", "20"}, total: 500, perIP: 20},
		{name: "environment", env: map[string]string{"LATCHKEY_MAX_CONNS": "300", "LATCHKEY_MAX_CONNS_PER_IP": "10"}, total: 300, perIP: 10},
		{name: "negative total", args: []string{"--max-conns", "-1"}, wantErrContain: "--max-conns"},
		{name: "negative per address", args: []string{"--max-conns-per-ip", "-1"}, wantErrContain: "--max-conns-per-ip"},
		{name: "bad environment", env: map[string]string{"LATCHKEY_MAX_CONNS_PER_IP": "lots"}, wantErrContain: "LATCHKEY_MAX_CONNS_PER_IP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parse(t, tc.env, tc.args...)
			if tc.wantErrContain != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrContain) {
					t.Fatalf("err = %v, want one naming %s", err, tc.wantErrContain)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.ConnLimit != tc.total || s.ConnLimitPerIP != tc.perIP {
				t.Errorf("limits %d, %d; want %d, %d", s.ConnLimit, s.ConnLimitPerIP, tc.total, tc.perIP)
			}
		})
	}
}

func TestTLSFlags(t *testing.T) {
	for _, tc := range []struct {
		name           string
		env            map[string]string
		args           []string
		cert, key      string
		issuer         string
		wantErrContain string
	}{
		{name: "none: plain HTTP", issuer: "http://127.0.0.1:8080"},
		{name: "flags: https issuer", args: []string{"--tls-cert-file", "c.pem", "--tls-key-file", "k.pem", "--addr", "0.0.0.0:8443"},
			cert: "c.pem", key: "k.pem", issuer: "https://localhost:8443"},
		{name: "environment", env: map[string]string{"LATCHKEY_TLS_CERT_FILE": "c.pem", "LATCHKEY_TLS_KEY_FILE": "k.pem"},
			cert: "c.pem", key: "k.pem", issuer: "https://127.0.0.1:8080"},
		{name: "an explicit issuer stays", args: []string{"--tls-cert-file", "c.pem", "--tls-key-file", "k.pem", "--issuer", "https://auth.example.com"},
			cert: "c.pem", key: "k.pem", issuer: "https://auth.example.com"},
		{name: "cert without key", args: []string{"--tls-cert-file", "c.pem"}, wantErrContain: "--tls-key-file"},
		{name: "key without cert", args: []string{"--tls-key-file", "k.pem"}, wantErrContain: "--tls-cert-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parse(t, tc.env, tc.args...)
			if tc.wantErrContain != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrContain) {
					t.Fatalf("err = %v, want one naming %s", err, tc.wantErrContain)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.TLSCertFile != tc.cert || s.TLSKeyFile != tc.key || s.Issuer != tc.issuer {
				t.Errorf("cert %q key %q issuer %q; want %q %q %q", s.TLSCertFile, s.TLSKeyFile, s.Issuer, tc.cert, tc.key, tc.issuer)
			}
		})
	}
}
