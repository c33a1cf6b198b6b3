package token_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchkey/latchkey/internal/clocktest"
	"github.com/latchkey/latchkey/internal/token"
)

// sign makes a compact JWS over claims with key, alg, kid and typ of our
// choosing, so every way a token can be wrong can be tried.
func sign(t *testing.T, key any, alg jose.SignatureAlgorithm, kid, typ string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestParseRejectsHostileTokens(t *testing.T) {
	f := newFixture(t)
	minted, err := f.issuer.Mint(t.Context(), token.Spec{Subject: "sub", ClientID: f.id, Scopes: []string{"api:read"}})
	if err != nil {
		t.Fatal(err)
	}
	good, claims := minted.Raw, struct{ Issuer string }{f.issuer.Name()}
	if _, err := f.issuer.Parse(t.Context(), good); err != nil {
		t.Fatalf("a genuine token fails: %v", err)
	}
	kid := strings.Split(good, ".")[0]
	hdr, _ := base64.RawURLEncoding.DecodeString(kid)
	var h struct {
		Kid string `json:"kid"`
	}
	_ = json.Unmarshal(hdr, &h)
	own := f.ownKey(t, h.Kid)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now().Unix()
	base := func() map[string]any {
		return map[string]any{"iss": claims.Issuer, "sub": "sub", "aud": claims.Issuer, "exp": now + 3600, "iat": now,
			"jti": "j", "client_id": f.id, "scope": "api:read"}
	}
	with := func(k string, v any) map[string]any { m := base(); m[k] = v; return m }
	without := func(k string) map[string]any { m := base(); delete(m, k); return m }
	tests := []struct {
		name string
		raw  string
	}{
		{"empty", ""},
		{"garbage", "a.b.c"},
		{"too long", strings.Repeat("a", 9000)},
		{"alg none", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt","kid":"`+h.Kid+`"}`)) + "." + strings.Split(good, ".")[1] + "."},
		{"HS256 with the public key as secret", sign(t, []byte("public-key-bytes-public-key-byte"), jose.HS256, h.Kid, "at+jwt", base())},
		{"other key, same kid", sign(t, other, jose.ES256, h.Kid, "at+jwt", base())},
		{"unknown kid", sign(t, other, jose.ES256, "nope", "at+jwt", base())},
		{"typ JWT (an ID token)", sign(t, own, jose.ES256, h.Kid, "JWT", base())},
		{"no typ", sign(t, own, jose.ES256, h.Kid, "", base())},
		{"foreign issuer", sign(t, own, jose.ES256, h.Kid, "at+jwt", with("iss", "https://evil.example"))},
		{"wrong audience", sign(t, own, jose.ES256, h.Kid, "at+jwt", with("aud", "https://api.example"))},
		{"expired", sign(t, own, jose.ES256, h.Kid, "at+jwt", with("exp", now-120))},
		{"issued in the future", sign(t, own, jose.ES256, h.Kid, "at+jwt", with("iat", now+3600))},
		{"no exp", sign(t, own, jose.ES256, h.Kid, "at+jwt", without("exp"))},
		{"no jti", sign(t, own, jose.ES256, h.Kid, "at+jwt", without("jti"))},
		{"no client_id", sign(t, own, jose.ES256, h.Kid, "at+jwt", without("client_id"))},
		{"no sub", sign(t, own, jose.ES256, h.Kid, "at+jwt", without("sub"))},
		{"exp as string", sign(t, own, jose.ES256, h.Kid, "at+jwt", with("exp", "tomorrow"))},
		{"tampered payload", strings.Split(good, ".")[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"scope":"clients:create"}`)) + "." + strings.Split(good, ".")[2]},
	}
	for _, tt := range tests {
		if _, err := f.issuer.Parse(t.Context(), tt.raw); !errors.Is(err, token.ErrInvalidToken) {
			t.Errorf("%s: got %v, want ErrInvalidToken", tt.name, err)
		}
	}
	// Within the leeway, small clock differences between nodes are fine.
	for name, m := range map[string]map[string]any{"just expired": with("exp", now-10), "iat slightly ahead": with("iat", now+10),
		"audience list": with("aud", []string{"https://api.example", claims.Issuer}), "application/at+jwt": base()} {
		typ := "at+jwt"
		if name == "application/at+jwt" {
			typ = "application/at+jwt"
		}
		if _, err := f.issuer.Parse(t.Context(), sign(t, own, jose.ES256, h.Kid, typ, m)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// The leeway is the issuer's configuration, not a constant: a token
// expired by more than it is refused, one within it accepted, and the same
// bound holds for an iat ahead of the clock.
func TestLeewayIsConfigured(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		leeway time.Duration
		ttl    time.Duration // minted with this lifetime...
		after  time.Duration // ...then the clock advances this far
		ok     bool
	}{
		{"before expiry", 5 * time.Second, time.Minute, 59 * time.Second, true},
		{"expired within the leeway", 5 * time.Second, time.Minute, time.Minute + 4*time.Second, true},
		{"expired by more than the leeway", 5 * time.Second, time.Minute, time.Minute + 6*time.Second, false},
		{"expired by 29s with a 5s leeway", 5 * time.Second, time.Minute, time.Minute + 29*time.Second, false},
		{"no leeway: expired at exp", 0, time.Minute, time.Minute, false},
		{"a larger leeway is honoured", 30 * time.Second, time.Minute, time.Minute + 29*time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := clocktest.New(start)
			f := newFixture(t, func(c *token.IssuerConfig) { c.Now, c.Leeway = clock.Now, tt.leeway })
			m, err := f.issuer.Mint(t.Context(), token.Spec{Subject: f.id, ClientID: f.id, Scopes: []string{"api:read"}, TTL: tt.ttl})
			if err != nil {
				t.Fatal(err)
			}
			clock.Advance(tt.after)
			_, err = f.issuer.Verify(t.Context(), m.Raw)
			switch {
			case tt.ok && err != nil:
				t.Errorf("refused: %v", err)
			case !tt.ok && !errors.Is(err, token.ErrInvalidToken):
				t.Errorf("err = %v, want ErrInvalidToken", err)
			}
		})
	}
	// A token minted by a node whose clock runs ahead: its iat is in this
	// node's future, accepted only within the leeway.
	for _, tt := range []struct {
		ahead time.Duration
		ok    bool
	}{{4 * time.Second, true}, {6 * time.Second, false}} {
		clock := clocktest.New(start)
		f := newFixture(t, func(c *token.IssuerConfig) { c.Now, c.Leeway = clock.Now, 5*time.Second })
		clock.Advance(tt.ahead)
		m, err := f.issuer.Mint(t.Context(), token.Spec{Subject: f.id, ClientID: f.id})
		if err != nil {
			t.Fatal(err)
		}
		clock.Set(start)
		if _, err := f.issuer.Parse(t.Context(), m.Raw); (err == nil) != tt.ok {
			t.Errorf("iat %s ahead: err = %v, want ok %v", tt.ahead, err, tt.ok)
		}
	}
}
