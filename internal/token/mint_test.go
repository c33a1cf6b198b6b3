package token_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/token"
)

// decodeJWT returns a compact JWT's header and claims without verifying.
func decodeJWT(t *testing.T, raw string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", raw)
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

func TestMintAccessTokenSpec(t *testing.T) {
	f := newFixture(t)
	m, err := f.issuer.Mint(t.Context(), token.Spec{
		Subject: "user-1", ClientID: f.id, Scopes: []string{"api:read", "api:write"},
		Audience: []string{"https://api.example", "https://issuer.example"}, TTL: 5 * time.Minute,
		AuthTime: time.Unix(1700000000, 0), Confirmation: &token.Confirmation{JKT: "thumb"},
		Act: &token.Act{Subject: "agent-7", ClientID: "agent-client"},
	})
	if err != nil {
		t.Fatal(err)
	}
	h, c := decodeJWT(t, m.Raw)
	if h["typ"] != "at+jwt" || h["alg"] != "ES256" || h["kid"] == "" {
		t.Errorf("header %v", h)
	}
	if c["client_id"] != f.id || c["scope"] != "api:read api:write" || c["jti"] != m.ID || c["auth_time"] != float64(1700000000) {
		t.Errorf("claims %v", c)
	}
	if cnf, _ := c["cnf"].(map[string]any); cnf["jkt"] != "thumb" {
		t.Errorf("cnf = %v", c["cnf"])
	}
	if act, _ := c["act"].(map[string]any); act["sub"] != "agent-7" || act["client_id"] != "agent-client" {
		t.Errorf("act = %v", c["act"])
	}
	if got := m.ExpiresAt.Sub(m.IssuedAt); got != 5*time.Minute {
		t.Errorf("lifetime %v, want the spec's 5m", got)
	}
	p, err := f.issuer.Verify(t.Context(), m.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "user-1" || p.ClientID != f.id || p.TokenID != m.ID || p.Confirmation == nil || p.Confirmation.JKT != "thumb" ||
		len(p.Audience) != 2 || !p.HasScope("api:read") || p.HasScope("api:write") {
		// api:write is not among the client's allowed scopes, so Verify drops it.
		t.Errorf("principal %+v", p)
	}
	if a := p.Actor(); a.Subject != "user-1" || a.ClientID != f.id || len(a.Scopes) != 1 {
		t.Errorf("actor %+v", a)
	}
}

func TestMintDefaultsAudienceToIssuer(t *testing.T) {
	f := newFixture(t)
	_, c := decodeJWT(t, f.mint(t, "api:read"))
	if c["aud"] != "https://issuer.example" {
		t.Errorf("aud = %v, want the issuer", c["aud"])
	}
	for _, absent := range []string{"nonce", "sid", "at_hash", "azp", "cnf", "act", "auth_time"} {
		if _, ok := c[absent]; ok {
			t.Errorf("access token carries %s unasked: %v", absent, c)
		}
	}
}

func TestMintIDToken(t *testing.T) {
	f := newFixture(t)
	auth := time.Unix(1700000123, 0)
	m, err := f.issuer.Mint(t.Context(), token.Spec{Kind: token.ID, Subject: "user-1", ClientID: "spa", AuthTime: auth,
		Nonce: "n-0S6_WzA2Mj", SessionID: "sid-1", AccessHash: "77QmUPtjPfzWtF2AnpK9RQ"})
	if err != nil {
		t.Fatal(err)
	}
	h, c := decodeJWT(t, m.Raw)
	if h["typ"] != "JWT" {
		t.Errorf("ID token typ = %v, want JWT so it cannot pass as an access token", h["typ"])
	}
	want := map[string]any{"iss": "https://issuer.example", "sub": "user-1", "aud": "spa", "azp": "spa", "nonce": "n-0S6_WzA2Mj",
		"sid": "sid-1", "at_hash": "77QmUPtjPfzWtF2AnpK9RQ", "auth_time": float64(1700000123)}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%s = %v, want %v", k, c[k], v)
		}
	}
	for _, absent := range []string{"scope", "client_id", "jti"} {
		if _, ok := c[absent]; ok {
			t.Errorf("ID token carries %s: %v", absent, c)
		}
	}
	if _, err := f.issuer.Parse(t.Context(), m.Raw); !errors.Is(err, token.ErrInvalidToken) {
		t.Errorf("an ID token was accepted as an access token: %v", err)
	}
}

func TestMintUnknownKind(t *testing.T) {
	f := newFixture(t)
	if _, err := f.issuer.Mint(t.Context(), token.Spec{Kind: token.Kind(42), Subject: "s", ClientID: "c"}); err == nil {
		t.Error("an unknown kind was minted")
	}
}
