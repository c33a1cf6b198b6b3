package client

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/domain"
)

func TestFailedAuthenticationIsThrottled(t *testing.T) {
	repo := &countingRepo{clients: map[string]Client{}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h, _ := NewHasher(make([]byte, HashKeyBytes))
	s := NewService(repo, nil, h, Policy{}, func() time.Time { return now })
	ctx := t.Context()
	c, secret, err := s.Create(ctx, domain.Actor{Root: true}, CreateInput{Name: "c", GrantTypes: []string{GrantClientCredentials}, AllowedScopes: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range MaxAuthFailures {
		if _, err := s.Authenticate(ctx, c.ClientID, "wrong"); !errors.Is(err, ErrAuthentication) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	// Locked out now, even with the right secret, and without a store read.
	lookups := repo.lookups
	var te *ThrottledError
	if _, err := s.Authenticate(ctx, c.ClientID, secret.Expose()); !errors.As(err, &te) || te.RetryAfter != AuthFailureWindow {
		t.Fatalf("after %d failures: %v", MaxAuthFailures, err)
	}
	if repo.lookups != lookups {
		t.Error("a throttled attempt still read the store")
	}
	// Other clients are unaffected; unknown ids are throttled too.
	for range MaxAuthFailures {
		s.Authenticate(ctx, "ghost", "x")
	}
	if _, err := s.Authenticate(ctx, "ghost", "x"); !errors.As(err, &te) {
		t.Errorf("unknown client_id not throttled: %v", err)
	}
	now = now.Add(AuthFailureWindow - time.Second)
	if _, err := s.Authenticate(ctx, c.ClientID, secret.Expose()); !errors.As(err, &te) || te.RetryAfter != time.Second {
		t.Errorf("1s before the window ends: %v", err)
	}
	now = now.Add(time.Second)
	if _, err := s.Authenticate(ctx, c.ClientID, secret.Expose()); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

// A guesser locks out only its own address: the real client, calling from
// elsewhere, keeps working (client_ids are not secret).
func TestThrottleIsPerSource(t *testing.T) {
	repo := &countingRepo{clients: map[string]Client{}}
	h, _ := NewHasher(make([]byte, HashKeyBytes))
	s := NewService(repo, nil, h, Policy{}, nil)
	ctx := t.Context()
	c, secret, err := s.Create(ctx, domain.Actor{Root: true}, CreateInput{Name: "c", GrantTypes: []string{GrantClientCredentials}, AllowedScopes: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	for range MaxAuthFailures {
		s.AuthenticateFrom(ctx, "203.0.113.9", c.ClientID, "guess")
	}
	var te *ThrottledError
	if _, err := s.AuthenticateFrom(ctx, "203.0.113.9", c.ClientID, secret.Expose()); !errors.As(err, &te) {
		t.Errorf("the guessing address is not throttled: %v", err)
	}
	if _, err := s.AuthenticateFrom(ctx, "198.51.100.7", c.ClientID, secret.Expose()); err != nil {
		t.Errorf("the real client at another address is locked out: %v", err)
	}
}

func TestThrottleMemoryIsBounded(t *testing.T) {
	repo := &countingRepo{clients: map[string]Client{}}
	h, _ := NewHasher(make([]byte, HashKeyBytes))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewService(repo, nil, h, Policy{}, func() time.Time { return now })
	ctx := t.Context()
	// Ids that cannot exist are refused before any lookup or tracking.
	for _, id := range []string{strings.Repeat("x", MaxClientIDLen+1), "bad\xff", "nul\x00", ""} {
		if _, err := s.Authenticate(ctx, id, "x"); !errors.Is(err, ErrAuthentication) {
			t.Errorf("%.20q: %v", id, err)
		}
	}
	if repo.lookups != 0 || len(s.throttle.failures) != 0 {
		t.Errorf("impossible ids reached the store (%d) or the tracker (%d)", repo.lookups, len(s.throttle.failures))
	}
	// Lock out a target, then spray enough junk ids to fill the tracker:
	// the target's live window must survive.
	for range MaxAuthFailures {
		s.Authenticate(ctx, "target", "guess")
	}
	for i := range maxTracked + 50 {
		s.Authenticate(ctx, fmt.Sprintf("junk-%d", i), "x")
	}
	if len(s.throttle.failures) > maxTracked {
		t.Errorf("tracker grew to %d entries", len(s.throttle.failures))
	}
	var te *ThrottledError
	if _, err := s.Authenticate(ctx, "target", "guess"); !errors.As(err, &te) {
		t.Errorf("a spray of junk ids reset the target's lockout: %v", err)
	}
	// Once windows have ended, they make room for new ones.
	now = now.Add(AuthFailureWindow)
	s.Authenticate(ctx, "fresh", "x")
	if _, ok := s.throttle.failures[throttleKey("", "fresh")]; !ok {
		t.Error("expired windows were not pruned to make room")
	}
}
