package client

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/clocktest"
	"github.com/latchkey/latchkey/internal/domain"
)

// originRepo answers the origin index from countingRepo's clients and
// counts the questions.
type originRepo struct {
	*countingRepo
	questions int
}

func (r *originRepo) ClientOriginAllowed(_ context.Context, origin string) (bool, error) {
	r.questions++
	for _, c := range r.clients {
		if c.AllowsOrigin(origin) {
			return true, nil
		}
	}
	return false, nil
}

// TestOriginIndex: answers (yes and no) are cached for the client-cache
// TTL, so a change on another node shows within it; a change through this
// Service shows at once; junk origins cannot grow the cache without bound.
func TestOriginIndex(t *testing.T) {
	repo := &originRepo{countingRepo: &countingRepo{clients: map[string]Client{}}}
	clock := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	h, _ := NewHasher(make([]byte, HashKeyBytes))
	s := NewService(repo, nil, h, Policy{}, clock.Now)
	s.EnableCache(2 * time.Second)
	ctx := t.Context()
	const spa = "https://spa.example"
	allowed := func(origin string) bool {
		t.Helper()
		ok, err := s.OriginAllowed(ctx, origin)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if allowed(spa) {
		t.Fatal("no index yet, but allowed")
	}
	s.EnableOriginIndex(repo)
	if allowed(spa) || allowed(spa) || repo.questions != 1 {
		t.Fatalf("unknown origin: %d store questions for two asks, want 1 (cached no)", repo.questions)
	}
	// A local create forgets the cached "no" at once.
	c, _, err := s.Create(ctx, domain.Actor{Root: true}, CreateInput{Name: "spa", Type: Public, RedirectURIs: []string{"https://spa.example/cb"}, AllowedOrigins: []string{spa}, AllowedScopes: []string{"openid"}})
	if err != nil {
		t.Fatal(err)
	}
	if !allowed(spa) {
		t.Fatal("origin of a client just created here is refused")
	}
	// A change on another node (straight to the store) shows after the TTL.
	other := repo.clients[c.ID]
	other.Enabled = false
	repo.clients[c.ID] = other
	clock.Advance(time.Second)
	if !allowed(spa) {
		t.Error("within the TTL the cached answer should stand")
	}
	clock.Advance(time.Second)
	if allowed(spa) {
		t.Error("after the TTL a client disabled elsewhere still allows its origin")
	}
	// A local update shows at once.
	on := true
	if _, err := s.Update(ctx, domain.Actor{Root: true}, c.ID, Patch{Enabled: &on}, ""); err != nil {
		t.Fatal(err)
	}
	if !allowed(spa) {
		t.Error("re-enabled here, still refused")
	}
	// Oversized and empty origins never reach the store.
	before := repo.questions
	if allowed("") || allowed("https://"+string(make([]byte, 3000))) || repo.questions != before {
		t.Error("empty or oversized origin reached the store")
	}
	// Junk origins cannot grow the cache past its bound.
	for i := range MaxCachedOrigins + 10 {
		allowed(fmt.Sprintf("https://junk%d.example", i))
	}
	if n := len(s.origins.entries); n > MaxCachedOrigins {
		t.Errorf("origin cache holds %d entries, bound %d", n, MaxCachedOrigins)
	}
}

// TestOriginIndexUncached: with the client cache off every question goes
// to the store.
func TestOriginIndexUncached(t *testing.T) {
	repo := &originRepo{countingRepo: &countingRepo{clients: map[string]Client{"1": {ID: "1", ClientID: "a", Enabled: true, AllowedOrigins: []string{"https://a.example"}}}}}
	h, _ := NewHasher(make([]byte, HashKeyBytes))
	s := NewService(repo, nil, h, Policy{}, nil)
	s.EnableOriginIndex(repo)
	for range 3 {
		if ok, err := s.OriginAllowed(t.Context(), "https://a.example"); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	if repo.questions != 3 {
		t.Errorf("%d questions, want 3", repo.questions)
	}
}
