package token_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/token"
)

// TestIDTokenAlgorithms mints ID tokens and verifies each with go-jose
// against the JWKS as a relying party would: by default RS256 with the
// current RSA key's kid, ES256 when the spec asks.
func TestIDTokenAlgorithms(t *testing.T) {
	f := newFixture(t)
	raw, err := json.Marshal(f.keys.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet // what a relying party fetches
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		alg  jose.SignatureAlgorithm
		want jose.SignatureAlgorithm
	}{
		{"default", "", keys.RS256},
		{"RS256", keys.RS256, keys.RS256},
		{"ES256", keys.ES256, keys.ES256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := f.issuer.Mint(t.Context(), token.Spec{Kind: token.ID, Alg: tc.alg, Subject: "user-1", ClientID: "spa", Nonce: "n-1"})
			if err != nil {
				t.Fatal(err)
			}
			cur, err := f.keys.CurrentFor(tc.want)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := jwt.ParseSigned(m.Raw, []jose.SignatureAlgorithm{tc.want})
			if err != nil {
				t.Fatalf("not a %s JWS: %v", tc.want, err)
			}
			h := tok.Headers[0]
			if h.KeyID != cur.KID || h.Algorithm != string(tc.want) || h.ExtraHeaders[jose.HeaderType] != "JWT" {
				t.Errorf("header kid %q alg %q typ %v; want kid %q alg %s typ JWT", h.KeyID, h.Algorithm, h.ExtraHeaders[jose.HeaderType], cur.KID, tc.want)
			}
			ks := set.Key(h.KeyID)
			if len(ks) != 1 || ks[0].Algorithm != string(tc.want) || ks[0].Use != "sig" {
				t.Fatalf("JWKS has %+v for kid %q", ks, h.KeyID)
			}
			var c jwt.Claims
			var extra struct {
				Nonce string `json:"nonce"`
				AZP   string `json:"azp"`
			}
			if err := tok.Claims(ks[0].Key, &c, &extra); err != nil {
				t.Fatalf("signature does not verify against the JWKS: %v", err)
			}
			if err := c.ValidateWithLeeway(jwt.Expected{Issuer: "https://issuer.example", AnyAudience: []string{"spa"}, Subject: "user-1", Time: time.Now()}, 0); err != nil {
				t.Error(err)
			}
			if extra.Nonce != "n-1" || extra.AZP != "spa" {
				t.Errorf("claims nonce %q azp %q", extra.Nonce, extra.AZP)
			}
			if _, err := f.issuer.Parse(t.Context(), m.Raw); !errors.Is(err, token.ErrInvalidToken) {
				t.Errorf("an ID token was accepted as an access token: %v", err)
			}
		})
	}
}

// TestMintRefusesAlgorithm checks that access tokens are ES256 only and an
// unknown algorithm is refused rather than replaced.
func TestMintRefusesAlgorithm(t *testing.T) {
	f := newFixture(t)
	for _, spec := range []token.Spec{
		{Kind: token.Access, Alg: keys.RS256, Subject: "s", ClientID: f.id},
		{Kind: token.ID, Alg: jose.HS256, Subject: "s", ClientID: "spa"},
		{Kind: token.ID, Alg: jose.PS256, Subject: "s", ClientID: "spa"},
	} {
		if m, err := f.issuer.Mint(t.Context(), spec); err == nil {
			t.Errorf("kind %d alg %s minted %s", spec.Kind, spec.Alg, m.Raw)
		}
	}
}

// TestRSAPublishedBeforeItSigns rotates and checks that the new RSA key is
// in the JWKS while ID tokens are still signed with the old one, and signs
// them only after the publish delay.
func TestRSAPublishedBeforeItSigns(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	f := newFixture(t, func(c *token.IssuerConfig) { c.Now = clock })
	// Rotate later than the first keys were made, as a real clock would.
	now = now.Add(10 * time.Minute)
	old, err := f.keys.CurrentFor(keys.RS256)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := f.keys.Rotate(t.Context(), 2*time.Minute, domain.Actor{Subject: "test"})
	if err != nil {
		t.Fatal(err)
	}
	var fresh string
	for _, r := range recs {
		if r.Algorithm == string(keys.RS256) {
			fresh = r.KID
		}
	}
	kidOf := func() string {
		m, err := f.issuer.Mint(t.Context(), token.Spec{Kind: token.ID, Subject: "u", ClientID: "spa"})
		if err != nil {
			t.Fatal(err)
		}
		h, _ := decodeJWT(t, m.Raw)
		return h["kid"].(string)
	}
	published := func(kid string) bool { set := f.keys.JWKS(); return len(set.Key(kid)) == 1 }
	if !published(fresh) {
		t.Fatalf("new RSA key %q not published at once", fresh)
	}
	if got := kidOf(); got != old.KID {
		t.Errorf("signed with %s before the publish delay, want %s", got, old.KID)
	}
	now = now.Add(2 * time.Minute)
	if got := kidOf(); got != fresh {
		t.Errorf("signed with %s after the publish delay, want %s", got, fresh)
	}
	if !published(old.KID) {
		t.Errorf("old RSA key left the JWKS while its tokens live")
	}
}

// TestAccessTokenSignedWithRSAKeyRejected signs a well-formed access token
// (typ at+jwt, valid claims) with the published RSA key: Parse must refuse
// it, since only ES256 keys sign access tokens.
func TestAccessTokenSignedWithRSAKeyRejected(t *testing.T) {
	f := newFixture(t)
	k, err := f.keys.CurrentFor(keys.RS256)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	raw, err := jwt.Signed(k.Signer()).Claims(token.Claims{
		Issuer: "https://issuer.example", Subject: f.id, Audience: jwt.Audience{"https://issuer.example"},
		Expiry: jwt.NewNumericDate(now.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now), JTI: "j-1", ClientID: f.id, Scope: "api:read",
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	for name, parse := range map[string]func() error{
		"Parse":     func() error { _, err := f.issuer.Parse(t.Context(), raw); return err },
		"ParseJOSE": func() error { _, err := f.issuer.ParseJOSE(t.Context(), raw); return err },
	} {
		if err := parse(); !errors.Is(err, token.ErrInvalidToken) {
			t.Errorf("%s accepted an RS256 access token: %v", name, err)
		}
	}
}
