package token_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/internal/token"
)

// grantRevocations is the store's revocations with grant revocation in
// memory, counting the grant checks.
type grantRevocations struct {
	token.Revocations
	mu      sync.Mutex
	revoked map[string]bool
	checks  int
}

func (g *grantRevocations) GrantRevoked(_ context.Context, id string) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.checks++
	return g.revoked[id], nil
}

// TestGrantRevocation: an access token minted from a grant carries its
// id as the grant_id claim, and revoking the grant revokes the token,
// also when its verification is cached (fastverify.go).
func TestGrantRevocation(t *testing.T) {
	revs := &grantRevocations{revoked: map[string]bool{}}
	f := newFixture(t, func(c *token.IssuerConfig) { revs.Revocations = c.Revocations; c.Revocations = revs })
	m, err := f.issuer.Mint(t.Context(), token.Spec{Kind: token.Access, Subject: "u1", ClientID: f.id, Scopes: []string{"api:read"}, GrantID: "g-1"})
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(m.Raw, ".")[1])
	if !strings.Contains(string(payload), `"grant_id":"g-1"`) {
		t.Errorf("payload %s has no grant_id claim", payload)
	}
	for range 2 { // the second is a cache hit
		p, err := f.issuer.Verify(t.Context(), m.Raw)
		if err != nil || p.GrantID != "g-1" {
			t.Fatalf("Verify = %+v, %v", p, err)
		}
	}
	if f.issuer.CachedTokens() != 1 || revs.checks != 2 {
		t.Errorf("cached %d, grant checks %d; want 1 cached and a check per Verify", f.issuer.CachedTokens(), revs.checks)
	}
	revs.mu.Lock()
	revs.revoked["g-1"] = true
	revs.mu.Unlock()
	if _, err := f.issuer.Verify(t.Context(), m.Raw); !errors.Is(err, token.ErrInvalidToken) {
		t.Errorf("token of a revoked grant verified from the cache: %v", err)
	}
	// A token from no grant (client_credentials) is not checked for one.
	plain := f.mint(t, "api:read")
	before := revs.checks
	if p, err := f.issuer.Verify(t.Context(), plain); err != nil || p.GrantID != "" {
		t.Fatalf("plain token: %+v, %v", p, err)
	}
	if revs.checks != before {
		t.Error("a token without grant_id was checked against grant revocations")
	}
}
