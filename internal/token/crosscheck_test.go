package token_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/token"
)

// crossCheckSpecs are the token shapes the fast minting path must get
// right, hostile strings included.
func crossCheckSpecs(clientID string) []token.Spec {
	weird := "<\"\\\x00\x1f\u2028é🔑&>"
	return []token.Spec{
		{Kind: token.Access, Subject: clientID, ClientID: clientID, Scopes: []string{"api:read"}},
		{Kind: token.Access, Subject: "user " + weird, ClientID: clientID, Scopes: []string{"api:read", "api:write"},
			Audience: []string{"https://issuer.example", "https://api.example/" + weird}, TTL: 5 * time.Minute,
			AuthTime: time.Unix(1700000000, 0), Confirmation: &token.Confirmation{JKT: "thumb" + weird},
			Act: &token.Act{Subject: "agent " + weird, ClientID: "agent-client"}},
		{Kind: token.ID, Subject: "user-1", ClientID: clientID, Nonce: "n-" + weird, SessionID: "sid", AccessHash: "hash",
			AuthTime: time.Unix(1700000001, 0)},
		{Kind: token.ID, Alg: keys.ES256, Subject: "user " + weird, ClientID: clientID, Nonce: "n-" + weird, SessionID: "sid", AccessHash: "hash",
			AuthTime: time.Unix(1700000001, 0)},
	}
}

// wantAlg is the algorithm a token minted from spec must be signed with.
func wantAlg(spec token.Spec) jose.SignatureAlgorithm {
	switch {
	case spec.Kind == token.Access:
		return keys.ES256
	case spec.Alg == "":
		return keys.RS256
	}
	return spec.Alg
}

// wantClaims is what a token minted from spec must carry.
func wantClaims(spec token.Spec, m token.Minted, issuer string) token.Claims {
	c := token.Claims{
		Issuer: issuer, Subject: spec.Subject, Audience: jwt.Audience(spec.Audience),
		Expiry: jwt.NewNumericDate(m.ExpiresAt), IssuedAt: jwt.NewNumericDate(m.IssuedAt),
		Nonce: spec.Nonce, SessionID: spec.SessionID, AccessHash: spec.AccessHash,
		Confirmation: spec.Confirmation, Act: spec.Act,
	}
	if !spec.AuthTime.IsZero() {
		c.AuthTime = jwt.NewNumericDate(spec.AuthTime)
	}
	if spec.Kind == token.Access {
		c.JTI, c.ClientID, c.Scope = m.ID, spec.ClientID, strings.Join(spec.Scopes, " ")
		if len(c.Audience) == 0 {
			c.Audience = jwt.Audience{issuer}
		}
	} else {
		c.AZP = spec.ClientID
		if len(c.Audience) == 0 {
			c.Audience = jwt.Audience{spec.ClientID}
		}
	}
	return c
}

func equalClaims(a, b token.Claims) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// TestMintVerifiesWithGoJose: every token the fast path mints verifies with
// go-jose under the published key, with the header go-jose's own signer
// would have set and every claim round-tripping exactly.
func TestMintVerifiesWithGoJose(t *testing.T) {
	f := newFixture(t)
	for _, spec := range crossCheckSpecs(f.id) {
		m, err := f.issuer.Mint(t.Context(), spec)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.ParseSigned(m.Raw, []jose.SignatureAlgorithm{wantAlg(spec)})
		if err != nil {
			t.Fatal(err)
		}
		h := tok.Headers[0]
		wantTyp := "at+jwt"
		if spec.Kind == token.ID {
			wantTyp = "JWT"
		}
		if h.Algorithm != string(wantAlg(spec)) || h.ExtraHeaders[jose.HeaderType] != wantTyp {
			t.Errorf("header %+v", h)
		}
		set := f.keys.JWKS()
		pub := set.Key(h.KeyID)
		if len(pub) != 1 || pub[0].Algorithm != h.Algorithm {
			t.Fatalf("JWKS has %+v for kid %q", pub, h.KeyID)
		}
		var got token.Claims
		if err := tok.Claims(pub[0].Key, &got); err != nil {
			t.Fatalf("go-jose rejects the token: %v", err)
		}
		if want := wantClaims(spec, m, "https://issuer.example"); !equalClaims(got, want) {
			t.Errorf("claims\n got %+v\nwant %+v", got, want)
		}
		if spec.Kind == token.Access {
			if _, err := f.issuer.Verify(t.Context(), m.Raw); err != nil {
				t.Errorf("Verify: %v", err)
			}
		}
	}
}

// TestMintVerifiesWithGoOIDC: go-oidc's verifier, fetching the JWKS over
// HTTP as a relying party does, accepts every token and reads the same
// claims.
func TestMintVerifiesWithGoOIDC(t *testing.T) {
	f := newFixture(t)
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(f.keys.JWKS())
	}))
	t.Cleanup(jwks.Close)
	ctx := t.Context()
	keySet := oidc.NewRemoteKeySet(ctx, jwks.URL)
	for _, spec := range crossCheckSpecs(f.id) {
		m, err := f.issuer.Mint(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		want := wantClaims(spec, m, "https://issuer.example")
		v := oidc.NewVerifier("https://issuer.example", keySet, &oidc.Config{
			ClientID: want.Audience[len(want.Audience)-1], SupportedSigningAlgs: []string{string(wantAlg(spec))},
		})
		idt, err := v.Verify(ctx, m.Raw)
		if err != nil {
			t.Fatalf("go-oidc rejects the token: %v", err)
		}
		var got token.Claims
		if err := idt.Claims(&got); err != nil {
			t.Fatal(err)
		}
		if !equalClaims(got, want) || idt.Subject != spec.Subject || !slices.Equal(idt.Audience, want.Audience) || idt.Nonce != spec.Nonce {
			t.Errorf("claims\n got %+v\nwant %+v", got, want)
		}
	}
}
