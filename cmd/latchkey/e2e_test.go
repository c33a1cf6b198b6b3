package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/latchkey/latchkey/internal/server/servertest"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// seed001Body is a complete seed 001 registration.
const seed001Body = `{
  "client_name": "Reporting Dashboard",
  "client_type": "confidential",
  "redirect_uris": ["https://reporting.example.com/callback"],
  "allowed_scopes": ["reports:read", "reports:write"],
  "allowed_origins": ["https://reporting.example.com"],
  "client_uri": "https://reporting.example.com",
  "logo_uri": "https://reporting.example.com/logo.png"
}`

// TestEndToEnd walks the seed 001 flow against the real server: admin token
// by client credentials, registration, the new client's token, verification
// against the JWKS found through discovery, introspection and revocation.
func TestEndToEnd(t *testing.T) {
	ts := startServer(t, nil)
	admin := ts.adminToken(t, "clients:create", "clients:read")

	r := ts.do(t, "POST", "/v1/admin/oauth-clients", seed001Body, authz(admin), jsonCT)
	mustStatus(t, r, http.StatusCreated)
	body := r.Object(t)
	c, _ := body["client"].(map[string]any)
	for _, f := range []string{"id", "client_id", "client_name", "client_uri", "logo_uri", "client_type", "redirect_uris",
		"allowed_scopes", "allowed_origins", "owner_id", "brand_id", "is_first_party", "enabled", "created_at", "updated_at"} {
		if _, ok := c[f]; !ok {
			t.Errorf("client lacks required field %q", f)
		}
	}
	if c["owner_id"] != adminID || c["brand_id"] != "default" || c["is_first_party"] != false || c["enabled"] != true {
		t.Errorf("server-set fields: %v", c)
	}
	clientID, secret := str(body, "client", "client_id"), str(body, "client_secret")
	if len(secret) < 43 {
		t.Fatalf("client_secret %q is shorter than 256 bits of base64", secret)
	}

	// The new client gets a token, with the secret in the header and in the body.
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		cfg := clientcredentials.Config{ClientID: clientID, ClientSecret: secret, TokenURL: ts.URL + "/oauth2/token",
			Scopes: []string{"reports:read"}, AuthStyle: style}
		tok, err := cfg.Token(context.Background())
		if err != nil {
			t.Fatalf("auth style %v: %v", style, err)
		}
		claims := verifyWithDiscoveredJWKS(t, ts, tok.AccessToken)
		if claims["sub"] != clientID || claims["client_id"] != clientID || claims["scope"] != "reports:read" || claims["iss"] != ts.URL {
			t.Errorf("claims: %v", claims)
		}
		if tok.TokenType != "Bearer" || tok.Expiry.Before(time.Now().Add(50*time.Minute)) {
			t.Errorf("token type %q expiry %v", tok.TokenType, tok.Expiry)
		}
	}

	// GET returns the client without any secret.
	r = ts.do(t, "GET", "/v1/admin/oauth-clients/"+str(body, "client", "id"), nil, authz(admin))
	mustStatus(t, r, http.StatusOK)
	if bytes.Contains(r.Body, []byte(secret)) || hasSecretMember(r.Body) {
		t.Errorf("GET leaks a secret: %s", r.Body)
	}
	if str(r.Object(t), "client", "client_id") != clientID {
		t.Errorf("GET returned %s", r.Body)
	}

	// Introspection says active; after revocation, inactive, and the admin
	// API refuses the revoked token.
	// The bootstrap admin holds tokens:introspect; the new client, neither
	// the token's client nor in its audience, learns nothing.
	introspectAs := func(id, secret, tok string) map[string]any {
		r := ts.do(t, "POST", "/oauth2/introspect", url.Values{"token": {tok}}.Encode(), formCT, basic(id, secret))
		mustStatus(t, r, http.StatusOK)
		return r.Object(t)
	}
	introspect := func(tok string) map[string]any { return introspectAs(adminID, adminSecret, tok) }
	if m := introspectAs(clientID, secret, admin); m["active"] != false || len(m) != 1 {
		t.Errorf("another client introspected the admin token: %v", m)
	}
	if m := introspect(admin); m["active"] != true || m["client_id"] != adminID || m["token_type"] != "Bearer" {
		t.Errorf("introspect admin token: %v", m)
	}
	r = ts.do(t, "POST", "/oauth2/revoke", url.Values{"token": {admin}}.Encode(), formCT, basic(adminID, adminSecret))
	mustStatus(t, r, http.StatusOK)
	if m := introspect(admin); m["active"] != false || len(m) != 1 {
		t.Errorf("introspect revoked token: %v", m)
	}
	r = ts.do(t, "POST", "/v1/admin/oauth-clients", seed001Body, authz(admin), jsonCT)
	mustStatus(t, r, http.StatusUnauthorized)
	if got := r.Header.Get("WWW-Authenticate"); !strings.Contains(got, `error="invalid_token"`) {
		t.Errorf("WWW-Authenticate = %q", got)
	}
}

func basic(id, secret string) string { return "Authorization: " + servertest.BasicAuth(id, secret) }

// verifyWithDiscoveredJWKS checks tok the way a resource server would:
// discovery → jwks_uri → signature, typ and claims.
func verifyWithDiscoveredJWKS(t *testing.T, ts *testServer, tok string) map[string]any {
	t.Helper()
	var meta struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	getJSON(t, ts.URL+"/.well-known/openid-configuration", &meta)
	if meta.Issuer != ts.URL {
		t.Fatalf("discovery issuer %q", meta.Issuer)
	}
	var set jose.JSONWebKeySet
	getJSON(t, meta.JWKSURI, &set)
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	h := parsed.Headers[0]
	if h.ExtraHeaders[jose.HeaderType] != "at+jwt" {
		t.Errorf("typ = %v, want at+jwt", h.ExtraHeaders[jose.HeaderType])
	}
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q not in JWKS", h.KeyID)
	}
	var claims map[string]any
	var std jwt.Claims
	if err := parsed.Claims(keys[0].Key, &claims, &std); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if err := std.Validate(jwt.Expected{Issuer: meta.Issuer, AnyAudience: jwt.Audience{meta.Issuer}, Time: time.Now()}); err != nil {
		t.Errorf("claims: %v", err)
	}
	for _, c := range []string{"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"} {
		if _, ok := claims[c]; !ok {
			t.Errorf("token lacks RFC 9068 claim %q", c)
		}
	}
	return claims
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", u, err)
	}
}

// TestSecretsNeverStoredInPlaintext registers clients through every path
// and then searches the database files for the plaintext secrets.
func TestSecretsNeverStoredInPlaintext(t *testing.T) {
	ts := startServer(t, nil)
	admin := ts.adminToken(t, "clients:create")
	secrets := []string{adminSecret}
	for range 3 {
		r := ts.do(t, "POST", "/v1/admin/oauth-clients", seed001Body, authz(admin), jsonCT)
		mustStatus(t, r, http.StatusCreated)
		secrets = append(secrets, str(r.Object(t), "client_secret"))
	}
	check := func(when string) {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			data, err := os.ReadFile(ts.DBPath + suffix)
			if err != nil {
				continue
			}
			for _, s := range secrets {
				if bytes.Contains(data, []byte(s)) {
					t.Errorf("%s: plaintext secret found in %s", when, ts.DBPath+suffix)
				}
			}
		}
	}
	check("while running")
	ts.stop()
	check("after shutdown")
	if strings.Contains(ts.stderr.String(), adminSecret) {
		t.Error("the bootstrap secret from the environment was printed")
	}
}

// TestBootstrapRejectsBadChoicesWithoutWriting: a first start with an
// unusable bootstrap secret fails and leaves nothing behind, so the
// corrected restart creates the admin.
func TestBootstrapRejectsBadChoicesWithoutWriting(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "b.db")
	for _, bad := range []string{"short", strings.Repeat("a", 40) + "+%"} {
		env := map[string]string{"LATCHKEY_BOOTSTRAP_CLIENT_ID": adminID, "LATCHKEY_BOOTSTRAP_CLIENT_SECRET": bad}
		err := run(context.Background(), []string{"serve", "--addr", freeAddr(t), "--db", db}, func(k string) string { return env[k] }, nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "LATCHKEY_BOOTSTRAP_CLIENT") {
			t.Fatalf("secret %q: %v", bad, err)
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("a rejected start left files behind: %v", left)
	}
	ts := startServerOn(t, db, nil)
	ts.adminToken(t, "clients:read") // the admin exists after all
}
