package consent_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/domain"
)

// fakeRepo keeps consents in memory and records what was asked of it.
type fakeRepo struct {
	consents []consent.Grant
	fail     error
	events   []audit.Event
}

func (r *fakeRepo) GetConsent(context.Context, string, string) (consent.Grant, error) {
	return consent.Grant{}, consent.ErrNotFound
}
func (r *fakeRepo) SaveConsent(context.Context, consent.Grant) error { return nil }
func (r *fakeRepo) ListConsents(context.Context, string) ([]consent.Grant, error) {
	return r.consents, nil
}
func (r *fakeRepo) DeleteConsents(_ context.Context, userID, clientID string, ev audit.Event) (int, error) {
	if r.fail != nil {
		return 0, r.fail
	}
	before := len(r.consents)
	r.consents = slices.DeleteFunc(r.consents, func(g consent.Grant) bool {
		return g.UserID == userID && (clientID == "" || g.ClientID == clientID)
	})
	n := before - len(r.consents)
	if n > 0 {
		r.events = append(r.events, ev)
	}
	return n, nil
}

// fakeGrants counts live grants per client.
type fakeGrants struct {
	live  map[string]int
	fail  error
	calls []string
}

func (g *fakeGrants) RevokeClientGrants(_ context.Context, _ domain.Actor, _, clientID string) (int, error) {
	g.calls = append(g.calls, clientID)
	if g.fail != nil {
		return 0, g.fail
	}
	n := 0
	for c, k := range g.live {
		if clientID == "" || c == clientID {
			n += k
			delete(g.live, c)
		}
	}
	return n, nil
}

func TestRevoke(t *testing.T) {
	actor := domain.Actor{Subject: "admin"}
	now := func() time.Time { return time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC) }
	newRepo := func() *fakeRepo {
		return &fakeRepo{consents: []consent.Grant{{UserID: "u1", ClientID: "a"}, {UserID: "u1", ClientID: "b"}, {UserID: "u2", ClientID: "a"}}}
	}
	errStore := errors.New("store down")
	tests := []struct {
		name       string
		clientID   string
		grantsFail error
		repoFail   error
		want       consent.Revoked
		wantErr    error
		wantLeft   int // consents left
	}{
		{name: "one client", clientID: "a", want: consent.Revoked{Consents: 1, Grants: 2}, wantLeft: 2},
		{name: "every client", clientID: "", want: consent.Revoked{Consents: 2, Grants: 3}, wantLeft: 1},
		{name: "nothing remembered", clientID: "zzz", want: consent.Revoked{}, wantLeft: 3},
		// Tokens die first: if that fails, the consent is left so that a
		// retry does both.
		{name: "grants fail", clientID: "a", grantsFail: errStore, wantErr: errStore, wantLeft: 3},
		{name: "consents fail", clientID: "a", repoFail: errStore, want: consent.Revoked{Grants: 2}, wantErr: errStore, wantLeft: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := newRepo()
			repo.fail = tt.repoFail
			grants := &fakeGrants{live: map[string]int{"a": 2, "b": 1}, fail: tt.grantsFail}
			got, err := consent.NewService(repo, grants, now).Revoke(t.Context(), actor, "u1", tt.clientID)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Errorf("Revoke = %+v, %v; want %+v, %v", got, err, tt.want, tt.wantErr)
			}
			if len(repo.consents) != tt.wantLeft {
				t.Errorf("%d consents left, want %d", len(repo.consents), tt.wantLeft)
			}
			if len(grants.calls) != 1 || grants.calls[0] != tt.clientID {
				t.Errorf("grants revoked for %q, want once for %q", grants.calls, tt.clientID)
			}
			if tt.want.Consents > 0 && (len(repo.events) != 1 || repo.events[0].Action != audit.UserRevokeConsent || repo.events[0].ActorSubject != "admin") {
				t.Errorf("audit: %+v", repo.events)
			}
		})
	}
}

// Without a grant revoker (no tokens are issued), only consents go.
func TestRevokeWithoutGrants(t *testing.T) {
	repo := &fakeRepo{consents: []consent.Grant{{UserID: "u1", ClientID: "a"}}}
	got, err := consent.NewService(repo, nil, nil).Revoke(t.Context(), domain.Actor{Root: true}, "u1", "")
	if err != nil || got != (consent.Revoked{Consents: 1}) {
		t.Errorf("Revoke = %+v, %v", got, err)
	}
}

func TestCovers(t *testing.T) {
	const a, b = "https://a.example/mcp", "https://b.example/mcp"
	own := consent.Grant{Scopes: []string{"mcp:tools", "openid"}}
	atA := consent.Grant{Scopes: []string{"mcp:tools", "openid"}, Resources: []string{a}}
	atAB := consent.Grant{Scopes: []string{"mcp:tools", "openid"}, Resources: []string{a, b}}
	tests := []struct {
		name      string
		g         consent.Grant
		scopes    []string
		resources []string
		want      bool
	}{
		{"nothing asked", consent.Grant{}, nil, nil, true},
		{"own audience, scopes allowed", own, []string{"openid"}, nil, true},
		{"own audience, a scope not allowed", own, []string{"openid", "email"}, nil, false},
		{"a resource never allowed", own, []string{"mcp:tools"}, []string{a}, false},
		{"the resource allowed", atA, []string{"mcp:tools"}, []string{a}, true},
		{"another resource, same scope", atA, []string{"mcp:tools"}, []string{b}, false},
		{"one of two resources not allowed", atA, []string{"mcp:tools"}, []string{a, b}, false},
		{"both allowed, one asked", atAB, []string{"mcp:tools"}, []string{a}, true},
		{"both allowed, both asked", atAB, []string{"mcp:tools"}, []string{b, a}, true},
		{"resource allowed, scope not", atA, []string{"mcp:admin"}, []string{a}, false},
		{"own audience after a resource consent", atA, []string{"openid"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.g.Covers(tt.scopes, tt.resources); got != tt.want {
				t.Errorf("Covers(%q, %q) = %v, want %v", tt.scopes, tt.resources, got, tt.want)
			}
		})
	}
}

func TestAllow(t *testing.T) {
	const a, b = "https://a.example/mcp", "https://b.example/mcp"
	tests := []struct {
		name                      string
		g                         consent.Grant
		scopes, resources         []string
		wantScopes, wantResources []string
	}{
		{"first consent, own audience", consent.Grant{}, []string{"openid", "email"}, nil, []string{"email", "openid"}, nil},
		{"first consent, a resource", consent.Grant{}, []string{"mcp:tools"}, []string{a}, []string{"mcp:tools"}, []string{a}},
		{"adds a resource, sorted", consent.Grant{Scopes: []string{"mcp:tools"}, Resources: []string{b}}, []string{"mcp:tools"}, []string{a}, []string{"mcp:tools"}, []string{a, b}},
		{"repeats collapse", consent.Grant{Scopes: []string{"openid"}, Resources: []string{a}}, []string{"openid", "openid"}, []string{a, a}, []string{"openid"}, []string{a}},
		{"own audience keeps resources", consent.Grant{Scopes: []string{"openid"}, Resources: []string{a}}, []string{"email"}, nil, []string{"email", "openid"}, []string{a}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			held := slices.Clone(tt.g.Resources)
			got := tt.g.Allow(tt.scopes, tt.resources)
			if !slices.Equal(got.Scopes, tt.wantScopes) || !slices.Equal(got.Resources, tt.wantResources) {
				t.Errorf("Allow = %q %q, want %q %q", got.Scopes, got.Resources, tt.wantScopes, tt.wantResources)
			}
			if !got.Covers(tt.scopes, tt.resources) {
				t.Error("a grant does not cover what was just allowed")
			}
			if !slices.Equal(tt.g.Resources, held) {
				t.Error("Allow changed the grant it was called on")
			}
		})
	}
}

// FuzzAllow: whatever is allowed, the grant covers it afterwards, keeps
// covering what it covered before, and holds its lists sorted without
// repeats.
func FuzzAllow(f *testing.F) {
	f.Add("openid mcp:tools", "https://a.example/mcp", "email", "https://b.example/mcp https://a.example/mcp")
	f.Add("", "", "", "")
	f.Add("a a a", "x x", "a", "x")
	f.Fuzz(func(t *testing.T, heldScopes, heldResources, scopes, resources string) {
		split := func(s string) []string {
			out := strings.Fields(s)
			slices.Sort(out)
			return slices.Compact(out)
		}
		g := consent.Grant{Scopes: split(heldScopes), Resources: split(heldResources)}
		got := g.Allow(strings.Fields(scopes), strings.Fields(resources))
		if !got.Covers(strings.Fields(scopes), strings.Fields(resources)) || !got.Covers(g.Scopes, g.Resources) {
			t.Fatalf("%+v allowed %q %q = %+v, which does not cover it", g, scopes, resources, got)
		}
		for _, l := range [][]string{got.Scopes, got.Resources} {
			if !slices.IsSorted(l) || len(slices.Compact(slices.Clone(l))) != len(l) {
				t.Fatalf("not sorted and unique: %q", l)
			}
		}
		if got.Covers(nil, []string{"urn:never-allowed"}) && !slices.Contains(got.Resources, "urn:never-allowed") {
			t.Fatalf("%+v covers a resource it does not hold", got)
		}
	})
}
