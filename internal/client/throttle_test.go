package client

import (
	"errors"
	"testing"
	"time"
)

func TestFailedAuthenticationIsThrottled(t *testing.T) {
	repo := &countingRepo{clients: map[string]Client{}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h, _ := NewHasher(make([]byte, HashKeyBytes))
	s := NewService(repo, nil, h, Policy{}, func() time.Time { return now })
	ctx := t.Context()
	c, secret, err := s.Create(ctx, Actor{Root: true}, CreateInput{Name: "c", GrantTypes: []string{GrantClientCredentials}, AllowedScopes: []string{"a"}})
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
