package usertokens

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/resource"
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

// TestIssueCarriesGrantTargetAndAlg: the grant id reaches the access token
// (grant_id), the RFC 8707 target its aud, TTL and scope, and the client's
// alg the ID token; the ID token still comes for openid though the
// resource does not define it.
func TestIssueCarriesGrantTargetAndAlg(t *testing.T) {
	m := &recordMinter{fail: -1}
	g := Grant{ID: "grant-1", UserID: "u1", ClientID: "c1", Scopes: []string{"openid", "mcp:tools", "api"}, IDTokenAlg: "ES256",
		Target: resource.Target{Audience: []string{"https://mcp.example/"}, Scopes: []string{"mcp:tools"}, TTL: 5 * time.Minute}}
	if _, err := Issue(t.Context(), m, g); err != nil {
		t.Fatal(err)
	}
	if len(m.specs) != 2 {
		t.Fatalf("%d mints, want 2", len(m.specs))
	}
	a, id := m.specs[0], m.specs[1]
	if a.GrantID != "grant-1" || !slices.Equal(a.Audience, g.Target.Audience) || a.TTL != 5*time.Minute || !slices.Equal(a.Scopes, []string{"mcp:tools"}) {
		t.Errorf("access spec %+v", a)
	}
	if id.Alg != "ES256" {
		t.Errorf("ID token alg %q, want ES256", id.Alg)
	}
}

type recordRefresher struct {
	got Grant
	err error
}

func (r *recordRefresher) Start(_ context.Context, g Grant) (string, error) {
	r.got = g
	return "refresh-1", r.err
}

// TestIssueWithRefresh: the refresh token starts the same grant; a failed
// start fails the whole response.
func TestIssueWithRefresh(t *testing.T) {
	g := Grant{ID: "grant-2", UserID: "u1", ClientID: "c1", Scopes: []string{"api"}}
	r := &recordRefresher{}
	resp, err := IssueWithRefresh(t.Context(), &recordMinter{fail: -1}, r, g)
	if err != nil || resp.RefreshToken != "refresh-1" || r.got.ID != "grant-2" || r.got.UserID != "u1" {
		t.Fatalf("resp %+v, err %v, started %+v", resp, err, r.got)
	}
	r.err = errMint
	if resp, err := IssueWithRefresh(t.Context(), &recordMinter{fail: -1}, r, g); !errors.Is(err, errMint) || resp != nil {
		t.Errorf("failed start: %+v, %v", resp, err)
	}
}
