package client

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/domain"
)

// BenchmarkAuthenticateFailure compares the two failures an attacker could
// tell apart by timing: a known client_id with a wrong secret and an
// unknown client_id. Both should cost the same (finding 10 of issue 11):
// both read the cache, hash once, compare once and record the failure.
//
//	go test ./internal/client -run '^$' -bench AuthenticateFailure -benchmem -count 5
func BenchmarkAuthenticateFailure(b *testing.B) {
	repo := &countingRepo{clients: map[string]Client{}}
	h, _ := NewHasher(make([]byte, HashKeyBytes))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// Every attempt is a window later, so no lockout cuts the work short;
	// the cache lives longer than any run, so neither path asks the store.
	s := NewService(repo, nil, h, Policy{}, func() time.Time { return now })
	s.EnableCache(100 * 365 * 24 * time.Hour)
	c, _, err := s.Create(b.Context(), domain.Actor{Root: true}, CreateInput{Name: "c", GrantTypes: []string{GrantClientCredentials}, AllowedScopes: []string{"a"}})
	if err != nil {
		b.Fatal(err)
	}
	sources := make([]string, 1024)
	for i := range sources {
		sources[i] = "198.51.100." + strconv.Itoa(i)
	}
	for _, bc := range []struct{ name, clientID string }{
		{"known-id-wrong-secret", c.ClientID},
		{"unknown-id", "0123456789abcdef0123456789abcdef"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := b.Context()
			i := 0
			for b.Loop() {
				now = now.Add(AuthFailureWindow)
				if _, err := s.AuthenticateFrom(ctx, sources[i%len(sources)], bc.clientID, "wrong-secret-0123456789abcdefghijklmno"); !errors.Is(err, ErrAuthentication) {
					b.Fatal(err)
				}
				i++
			}
		})
	}
	if repo.lookups != 2 {
		b.Errorf("%d store lookups, want 2 (one per path, then the cache)", repo.lookups)
	}
}
