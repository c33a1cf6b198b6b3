package resource

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/domain"
)

func TestCanonical(t *testing.T) {
	for _, tt := range []struct{ in, want, err string }{
		{"https://mcp.example.com/mcp", "https://mcp.example.com/mcp", ""},
		{"HTTPS://MCP.Example.COM/MCP", "https://mcp.example.com/MCP", ""},
		{"https://mcp.example.com:8443", "https://mcp.example.com:8443", ""},
		{"https://mcp.example.com/a?b=C", "https://mcp.example.com/a?b=C", ""},
		{"http://127.0.0.1:9000/", "http://127.0.0.1:9000/", ""},
		{"HTTP://[::1]:9000/x", "http://[::1]:9000/x", ""},
		{"urn:Example:API", "urn:Example:API", ""},
		{"", "", "required"},
		{"/relative/path", "", "absolute"},
		{"mcp.example.com", "", "absolute"},
		{"https://mcp.example.com/#frag", "", "fragment"},
		{"https://mcp.example.com#", "", "fragment"},
		{"https://user:pw@mcp.example.com/", "", "userinfo"},
		{"https:///path", "", "host"},
		{"https://:443/", "", "host"},
		{"https:/no-authority", "", "host"},
		{"https://a b/", "", "contain"},
		{"https://ex\u00e4mple.com/", "", "ASCII"},
		{"https://example.com/\xff", "", "ASCII"},
		{"https://example.com/\x00", "", "contain"},
		{"1https://example.com", "", "absolute"},
		{"urn:", "", "absolute"},
		{"https://example.com/" + strings.Repeat("a", MaxIdentifierLen), "", "at most"},
	} {
		got, err := Canonical(tt.in)
		if tt.err == "" && (err != nil || got != tt.want) {
			t.Errorf("Canonical(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("Canonical(%q) = %q, %v; want an error with %q", tt.in, got, err, tt.err)
		}
	}
}

func FuzzCanonical(f *testing.F) {
	for _, s := range []string{"https://A.example/x", "urn:x:y", "https://u@h/", "#", "HTTP://[::1]:1/", "\xff", "a:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Canonical(s)
		if err != nil {
			return
		}
		// Canonical forms are fixed points, ASCII, fragment-free, and
		// differ from the input only in case.
		if again, err := Canonical(c); err != nil || again != c {
			t.Fatalf("Canonical(%q) = %q, then %q, %v", s, c, again, err)
		}
		if !strings.EqualFold(c, s) || strings.ContainsRune(c, '#') {
			t.Fatalf("Canonical(%q) = %q", s, c)
		}
	})
}

// memRepo is an in-memory Repository for the core's tests.
type memRepo struct {
	rs    map[string]Resource
	lists int // ListResources calls
}

func (m *memRepo) CreateResource(_ context.Context, r Resource, _ audit.Event) error {
	for _, o := range m.rs {
		if o.Identifier == r.Identifier {
			return ErrConflict
		}
	}
	m.rs[r.ID] = r
	return nil
}
func (m *memRepo) GetResource(_ context.Context, id string) (Resource, error) {
	r, ok := m.rs[id]
	if !ok {
		return Resource{}, ErrNotFound
	}
	return r, nil
}
func (m *memRepo) GetResourceByIdentifier(_ context.Context, ident string) (Resource, error) {
	for _, r := range m.rs {
		if r.Identifier == ident {
			return r, nil
		}
	}
	return Resource{}, ErrNotFound
}
func (m *memRepo) ListResources(_ context.Context, p Page) ([]Resource, error) {
	var all []Resource
	for _, r := range m.rs {
		if p.AfterID == "" || r.CreatedAt.After(p.AfterCreated) || r.CreatedAt.Equal(p.AfterCreated) && r.ID > p.AfterID {
			all = append(all, r)
		}
	}
	slices.SortFunc(all, func(a, b Resource) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	m.lists++
	return all[:min(len(all), p.Limit)], nil
}
func (m *memRepo) UpdateResource(ctx context.Context, id string, fn func(Resource) (Resource, audit.Event, error)) (Resource, error) {
	old, err := m.GetResource(ctx, id)
	if err != nil {
		return Resource{}, err
	}
	r, _, err := fn(old)
	if err != nil {
		return Resource{}, err
	}
	m.rs[id] = r
	return r, nil
}
func (m *memRepo) DeleteResource(_ context.Context, id string, _ audit.Event) error {
	delete(m.rs, id)
	return nil
}
func (m *memRepo) ResourceScopeDefined(_ context.Context, sc string) (bool, error) {
	for _, r := range m.rs {
		for _, s := range r.Scopes {
			if s == sc {
				return true, nil
			}
		}
	}
	return false, nil
}

func newTestService(t *testing.T) (*Service, *memRepo) {
	repo := &memRepo{rs: map[string]Resource{}}
	s := NewService(repo, func() time.Time { return time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC) })
	var events []audit.Event
	s.Observe(func(ev audit.Event) { events = append(events, ev) })
	return s, repo
}

func TestCreateValidation(t *testing.T) {
	s, _ := newTestService(t)
	ok := CreateInput{Identifier: "HTTPS://API.example.com/mcp", Name: " Tools ", Scopes: []string{"b", "a", "b"}, AccessTokenTTL: 5 * time.Minute}
	r, err := s.Create(t.Context(), domain.Actor{Subject: "cli"}, ok)
	if err != nil {
		t.Fatal(err)
	}
	if r.Identifier != "https://api.example.com/mcp" || strings.Join(r.Scopes, ",") != "a,b" || r.ID == "" {
		t.Errorf("created %+v", r)
	}
	if _, err := s.Create(t.Context(), domain.Actor{}, CreateInput{Identifier: "https://api.EXAMPLE.com/mcp", Name: "dup"}); !errors.Is(err, ErrConflict) {
		t.Errorf("same identifier in another case: %v, want ErrConflict", err)
	}
	for name, in := range map[string]CreateInput{
		"identifier": {Identifier: "https://x/#f", Name: "n"},
		"name":       {Identifier: "https://x/", Name: ""},
		"scopes":     {Identifier: "https://x/", Name: "n", Scopes: []string{"bad scope"}},
		"ttl":        {Identifier: "https://x/", Name: "n", AccessTokenTTL: -time.Second},
		"ttl-frac":   {Identifier: "https://x/", Name: "n", AccessTokenTTL: 1500 * time.Millisecond},
		"ttl-big":    {Identifier: "https://x/", Name: "n", AccessTokenTTL: MaxTTL + time.Second},
		"too many":   {Identifier: "https://x/", Name: "n", Scopes: make([]string, MaxScopes+1)},
	} {
		var ve *domain.ValidationError
		if _, err := s.Create(t.Context(), domain.Actor{}, in); !errors.As(err, &ve) {
			t.Errorf("%s: %v, want a ValidationError", name, err)
		}
	}
}

func TestUpdateNoChangeAndDiff(t *testing.T) {
	s, _ := newTestService(t)
	r, err := s.Create(t.Context(), domain.Actor{}, CreateInput{Identifier: "https://a/", Name: "A", Scopes: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	same := "HTTPS://A/"
	got, err := s.Update(t.Context(), domain.Actor{}, r.ID, Patch{Identifier: &same})
	if err != nil || got.UpdatedAt != r.UpdatedAt {
		t.Errorf("no-op update: %+v, %v", got, err)
	}
	ttl := time.Minute
	scopes := []string{"y", "x"}
	got, err = s.Update(t.Context(), domain.Actor{}, r.ID, Patch{AccessTokenTTL: &ttl, Scopes: &scopes})
	if err != nil || got.AccessTokenTTL != ttl || strings.Join(got.Scopes, " ") != "x y" || !got.UpdatedAt.After(r.UpdatedAt) {
		t.Errorf("update: %+v, %v", got, err)
	}
	bad := "relative"
	if _, err := s.Update(t.Context(), domain.Actor{}, r.ID, Patch{Identifier: &bad}); err == nil {
		t.Error("an invalid identifier was accepted")
	}
}

func TestResolveAndNarrow(t *testing.T) {
	s, _ := newTestService(t)
	for _, in := range []CreateInput{
		{Identifier: "https://a.example/mcp", Name: "A", Scopes: []string{"a:read", "shared"}, AccessTokenTTL: 10 * time.Minute},
		{Identifier: "https://b.example/mcp", Name: "B", Scopes: []string{"b:read", "shared"}, AccessTokenTTL: 5 * time.Minute},
		{Identifier: "urn:c", Name: "C"},
	} {
		if _, err := s.Create(t.Context(), domain.Actor{}, in); err != nil {
			t.Fatal(err)
		}
	}
	tg, err := s.Resolve(t.Context(), []string{"HTTPS://A.EXAMPLE/mcp", "https://b.example/mcp", "https://a.example/mcp"})
	if err != nil || strings.Join(tg.Audience, " ") != "https://a.example/mcp https://b.example/mcp" ||
		strings.Join(tg.Names, " ") != "A B" || strings.Join(tg.Scopes, " ") != "a:read b:read shared" || tg.TTL != 5*time.Minute {
		t.Fatalf("Resolve = %+v, %v", tg, err)
	}
	if got := tg.LimitScopes([]string{"openid", "b:read", "other", "shared"}); strings.Join(got, " ") != "b:read shared" {
		t.Errorf("LimitScopes = %v", got)
	}
	if got := (Target{}).LimitScopes([]string{"openid"}); len(got) != 1 {
		t.Errorf("empty target limited scopes: %v", got)
	}
	if tg, err := s.Resolve(t.Context(), []string{"urn:c"}); err != nil || tg.TTL != 0 || len(tg.Scopes) != 0 {
		t.Errorf("Resolve(urn:c) = %+v, %v", tg, err)
	}
	if tg, err := s.Resolve(t.Context(), nil); err != nil || !tg.Empty() {
		t.Errorf("Resolve(nil) = %+v, %v", tg, err)
	}
	for _, bad := range [][]string{{"https://unknown.example/"}, {"https://a.example/mcp#x"}, {"relative"}, make([]string, MaxPerRequest+1)} {
		if _, err := s.Resolve(t.Context(), bad); !errors.Is(err, ErrInvalidTarget) {
			t.Errorf("Resolve(%q): %v, want ErrInvalidTarget", bad, err)
		}
	}
	granted := []string{"https://a.example/mcp", "https://b.example/mcp"}
	if tg, err := s.Narrow(t.Context(), granted, []string{"https://B.example/mcp"}); err != nil || strings.Join(tg.Audience, " ") != "https://b.example/mcp" {
		t.Errorf("Narrow to b = %+v, %v", tg, err)
	}
	if tg, err := s.Narrow(t.Context(), granted, nil); err != nil || len(tg.Audience) != 2 {
		t.Errorf("Narrow(none) = %+v, %v", tg, err)
	}
	if _, err := s.Narrow(t.Context(), granted, []string{"urn:c"}); !errors.Is(err, ErrInvalidTarget) {
		t.Errorf("widening: %v, want ErrInvalidTarget", err)
	}
	if _, err := s.Narrow(t.Context(), nil, []string{"urn:c"}); !errors.Is(err, ErrInvalidTarget) {
		t.Errorf("resource on a grant without one: %v, want ErrInvalidTarget", err)
	}
	if ok, err := s.Registered(t.Context(), []string{"urn:c", "https://a.example/mcp"}); !ok || err != nil {
		t.Errorf("Registered = %v, %v", ok, err)
	}
	for _, aud := range [][]string{nil, {"urn:c", "urn:gone"}} {
		if ok, _ := s.Registered(t.Context(), aud); ok {
			t.Errorf("Registered(%v) = true", aud)
		}
	}
	cat := ScopeCatalog{Base: nil, Repo: s.repo}
	if !cat.Defined("b:read") || cat.Defined("nope") {
		t.Error("ScopeCatalog does not follow the resources' scopes")
	}
}

// The server's own audience (its issuer) is not a resource: creating or
// renaming one to it is refused, and one already stored (the CLI does not
// know the issuer) is invalid_target when a token request names it.
func TestReservedAudience(t *testing.T) {
	s, repo := newTestService(t)
	s.Reserve("https://Auth.Example.com")
	var ve *domain.ValidationError
	for _, id := range []string{"https://auth.example.com", "HTTPS://AUTH.EXAMPLE.COM"} {
		if _, err := s.Create(t.Context(), domain.Actor{}, CreateInput{Identifier: id, Name: "me"}); !errors.As(err, &ve) || !strings.Contains(err.Error(), "own audience") {
			t.Errorf("create %s: %v, want a ValidationError about the server's own audience", id, err)
		}
	}
	r, err := s.Create(t.Context(), domain.Actor{}, CreateInput{Identifier: "https://auth.example.com/api", Name: "api"})
	if err != nil {
		t.Fatalf("a resource under the issuer's path: %v", err)
	}
	own := "https://auth.example.com"
	if _, err := s.Update(t.Context(), domain.Actor{}, r.ID, Patch{Identifier: &own}); !errors.As(err, &ve) {
		t.Errorf("rename to the issuer: %v, want a ValidationError", err)
	}
	// Stored behind the service's back: refused at resolution.
	repo.rs["x"] = Resource{ID: "x", Identifier: "https://auth.example.com", Name: "sneaked", Scopes: []string{"users:read"}, AccessTokenTTL: MaxTTL}
	if _, err := s.Resolve(t.Context(), []string{"https://auth.example.com"}); !errors.Is(err, ErrInvalidTarget) {
		t.Errorf("Resolve(issuer) = %v, want ErrInvalidTarget", err)
	}
	if _, err := s.Narrow(t.Context(), []string{"https://auth.example.com"}, nil); !errors.Is(err, ErrInvalidTarget) {
		t.Errorf("Narrow to the issuer = %v, want ErrInvalidTarget", err)
	}
}

// ResourceScopes reads every resource, page by page, afresh each time.
func TestResourceScopes(t *testing.T) {
	s, repo := newTestService(t)
	if got, err := s.ResourceScopes(t.Context()); err != nil || len(got) != 0 {
		t.Errorf("no resources: %q, %v", got, err)
	}
	var last Resource
	for i := range 2*scopesPage + 5 {
		r, err := s.Create(t.Context(), domain.Actor{}, CreateInput{Identifier: fmt.Sprintf("https://r%d.example/mcp", i), Name: "R",
			Scopes: []string{"mcp:tools", fmt.Sprintf("r%03d:read", i)}})
		if err != nil {
			t.Fatal(err)
		}
		last = r
	}
	repo.lists = 0
	got, err := s.ResourceScopes(t.Context())
	if err != nil || len(got) != 2*scopesPage+6 || got[0] != "mcp:tools" || got[len(got)-1] != fmt.Sprintf("r%03d:read", 2*scopesPage+4) || !slices.IsSorted(got) {
		t.Fatalf("ResourceScopes = %d scopes %q…, %v", len(got), got[:min(3, len(got))], err)
	}
	if repo.lists != 3 {
		t.Errorf("%d pages read, want 3", repo.lists)
	}
	if err := s.Delete(t.Context(), domain.Actor{}, last.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ResourceScopes(t.Context()); slices.Contains(got, fmt.Sprintf("r%03d:read", 2*scopesPage+4)) {
		t.Error("a deleted resource's scope is still listed")
	}
}

// With CacheScopes, ResourceScopes answers from its last read for the
// TTL: a change made elsewhere (another node, the CLI) shows after it,
// a change through this Service at once.
func TestResourceScopesCache(t *testing.T) {
	s, repo := newTestService(t)
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	s.CacheScopes(2 * time.Second)
	if _, err := s.Create(t.Context(), domain.Actor{}, CreateInput{Identifier: "https://a.example/", Name: "A", Scopes: []string{"a:read"}}); err != nil {
		t.Fatal(err)
	}
	read := func() []string {
		t.Helper()
		got, err := s.ResourceScopes(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	repo.lists = 0
	if got := read(); !slices.Equal(got, []string{"a:read"}) || repo.lists != 1 {
		t.Fatalf("first read: %q after %d lists", got, repo.lists)
	}
	read()
	if repo.lists != 1 {
		t.Errorf("a second read within the TTL listed the resources again (%d lists)", repo.lists)
	}
	// Behind the Service's back: not seen until the TTL has passed.
	repo.rs["elsewhere"] = Resource{ID: "elsewhere", Identifier: "https://b.example/", Name: "B", Scopes: []string{"b:read"}}
	if got := read(); slices.Contains(got, "b:read") {
		t.Errorf("within the TTL: %q", got)
	}
	now = now.Add(2 * time.Second)
	if got := read(); !slices.Contains(got, "b:read") {
		t.Errorf("after the TTL: %q", got)
	}
	// Through the Service: at once.
	if _, err := s.Create(t.Context(), domain.Actor{}, CreateInput{Identifier: "https://c.example/", Name: "C", Scopes: []string{"c:read"}}); err != nil {
		t.Fatal(err)
	}
	if got := read(); !slices.Contains(got, "c:read") {
		t.Errorf("after a local create: %q", got)
	}
	// TTL 0: every read lists.
	s.CacheScopes(0)
	repo.lists = 0
	read()
	read()
	if repo.lists != 2 {
		t.Errorf("without a cache: %d lists for 2 reads", repo.lists)
	}
}
