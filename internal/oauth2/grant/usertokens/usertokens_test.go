package usertokens

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/token"
)

func TestAccessTokenHash(t *testing.T) {
	// Computed independently: base64url(sha256(token)[:16]) in Python.
	if got := AccessTokenHash("jHkWEdUXMU1BwAsC4vtUsZwnNRrJLcXoC6fonQDVv7M"); got != "evLfMH-c96A4hiUVJTcYeA" {
		t.Errorf("at_hash = %s", got)
	}
}

type recordMinter struct {
	specs []token.Spec
	fail  token.Kind
}

var errMint = errors.New("mint failed")

func (m *recordMinter) Mint(_ context.Context, s token.Spec) (token.Minted, error) {
	if s.Kind == m.fail {
		return token.Minted{}, errMint
	}
	m.specs = append(m.specs, s)
	now := time.Unix(1000, 0)
	return token.Minted{Raw: "raw-" + string(rune('a'+len(m.specs))), IssuedAt: now, ExpiresAt: now.Add(time.Hour), Scope: "x"}, nil
}

// TestIssue: an access token always; an ID token bound to it (at_hash,
// auth_time, nonce, sid, aud) only with openid; mint failures surface.
func TestIssue(t *testing.T) {
	at := time.Unix(900, 0)
	g := Grant{UserID: "u1", ClientID: "c1", Scopes: []string{"openid", "api"}, AuthTime: at, Nonce: "n", SessionID: "s"}
	m := &recordMinter{fail: -1}
	resp, err := Issue(t.Context(), m, g)
	if err != nil {
		t.Fatal(err)
	}
	if resp.TokenType != "Bearer" || resp.ExpiresIn != 3600 || resp.AccessToken == "" || resp.IDToken == "" || len(m.specs) != 2 {
		t.Fatalf("%+v, %d mints", resp, len(m.specs))
	}
	if a := m.specs[0]; a.Kind != token.Access || a.Subject != "u1" || a.ClientID != "c1" || len(a.Scopes) != 2 {
		t.Errorf("access spec %+v", a)
	}
	if id := m.specs[1]; id.Kind != token.ID || id.Subject != "u1" || id.ClientID != "c1" || !id.AuthTime.Equal(at) || id.Nonce != "n" ||
		id.SessionID != "s" || id.AccessHash != AccessTokenHash(resp.AccessToken) {
		t.Errorf("ID spec %+v", id)
	}
	m = &recordMinter{fail: -1}
	g.Scopes = []string{"api"}
	if resp, err := Issue(t.Context(), m, g); err != nil || resp.IDToken != "" || len(m.specs) != 1 {
		t.Errorf("without openid: %+v %v, %d mints", resp, err, len(m.specs))
	}
	for _, k := range []token.Kind{token.Access, token.ID} {
		g.Scopes = []string{"openid"}
		if _, err := Issue(t.Context(), &recordMinter{fail: k}, g); !errors.Is(err, errMint) {
			t.Errorf("failing %v mint: %v", k, err)
		}
	}
}
