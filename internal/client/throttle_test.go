package client

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/clocktest"
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
	// Unknown ids are not tracked per id (junk cannot fill that table);
	// they count against the source's budget instead.
	for range MaxAuthFailures {
		s.Authenticate(ctx, "ghost", "x")
	}
	if s.throttle.perClient.len() != 1 {
		t.Errorf("unknown ids entered the per-client table: %d entries", s.throttle.perClient.len())
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

// Ids that cannot exist are refused before any lookup or bookkeeping.
func TestImpossibleIDsAreNotTracked(t *testing.T) {
	repo := &countingRepo{clients: map[string]Client{}}
	h, _ := NewHasher(make([]byte, HashKeyBytes))
	s := NewService(repo, nil, h, Policy{}, nil)
	for _, id := range []string{strings.Repeat("x", MaxClientIDLen+1), "bad\xff", "nul\x00", ""} {
		if _, err := s.Authenticate(t.Context(), id, "x"); !errors.Is(err, ErrAuthentication) {
			t.Errorf("%.20q: %v", id, err)
		}
	}
	if repo.lookups != 0 || s.throttle.perClient.len() != 0 || s.throttle.perSource.len() != 0 {
		t.Errorf("impossible ids reached the store (%d) or the tracker (%d, %d)", repo.lookups, s.throttle.perClient.len(), s.throttle.perSource.len())
	}
}

// No amount of junk disables the throttle (issue 11, finding 9): a spray
// of unknown client_ids, from one address or from as many addresses as
// ids, leaves both tables within their bounds, and a real client still
// locks after MaxAuthFailures wrong secrets.
func TestJunkDoesNotDisableTheThrottle(t *testing.T) {
	for _, tc := range []struct {
		name    string
		junk    int
		sources int // junk comes from this many addresses, round robin
	}{
		{"review repro: 10,100 junk ids from distinct addresses", 10100, 10100},
		{"100,000 junk ids from one address", 100000, 1},
		{"100,000 junk ids from 100,000 addresses", 100000, 100000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := &countingRepo{clients: map[string]Client{}}
			h, _ := NewHasher(make([]byte, HashKeyBytes))
			clock := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			s := NewService(repo, nil, h, Policy{}, clock.Now)
			s.EnableCache(2 * time.Second)
			ctx := t.Context()
			c, secret, err := s.Create(ctx, domain.Actor{Root: true}, CreateInput{Name: "c", GrantTypes: []string{GrantClientCredentials}, AllowedScopes: []string{"a"}})
			if err != nil {
				t.Fatal(err)
			}
			var before runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for i := range tc.junk {
				src := fmt.Sprintf("junk-%d", i%tc.sources)
				s.AuthenticateFrom(ctx, src, fmt.Sprintf("junk-id-%d", i), "x")
			}
			var after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&after)
			t.Logf("after %d junk ids from %d addresses: per-client table %d entries, per-source table %d entries, client cache %d entries, live heap %+.1f MiB",
				tc.junk, tc.sources, s.throttle.perClient.len(), s.throttle.perSource.len(), len(s.cache.entries),
				(float64(after.HeapAlloc)-float64(before.HeapAlloc))/(1<<20))
			if n := s.throttle.perClient.len(); n != 0 {
				t.Errorf("junk ids entered the per-client table: %d entries", n)
			}
			if n := s.throttle.perSource.len(); n > maxTrackedSources {
				t.Errorf("per-source table grew to %d entries (bound %d)", n, maxTrackedSources)
			}
			// The attacker, from an address of its own, guesses the real
			// client's secret: MaxAuthFailures tries, then a lockout with a
			// retry time, even for the right secret.
			for i := range MaxAuthFailures {
				if _, err := s.AuthenticateFrom(ctx, "attacker", c.ClientID, fmt.Sprint("guess-", i)); !errors.Is(err, ErrAuthentication) {
					t.Fatalf("guess %d: %v", i, err)
				}
			}
			var te *ThrottledError
			if _, err := s.AuthenticateFrom(ctx, "attacker", c.ClientID, secret.Expose()); !errors.As(err, &te) || te.RetryAfter != AuthFailureWindow {
				t.Errorf("after %d wrong secrets: %v, want a lockout of %s", MaxAuthFailures, err, AuthFailureWindow)
			}
			if _, err := s.AuthenticateFrom(ctx, "legitimate", c.ClientID, secret.Expose()); err != nil {
				t.Errorf("the real client at its own address: %v", err)
			}
		})
	}
}

// Every failure from an address, for any client_id, counts against the
// address's budget; once spent, the address is refused for any client_id
// until its window ends, while other addresses are unaffected.
func TestSourceBudget(t *testing.T) {
	repo := &countingRepo{clients: map[string]Client{}}
	h, _ := NewHasher(make([]byte, HashKeyBytes))
	clock := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := NewService(repo, nil, h, Policy{}, clock.Now)
	ctx := t.Context()
	c, secret, err := s.Create(ctx, domain.Actor{Root: true}, CreateInput{Name: "c", GrantTypes: []string{GrantClientCredentials}, AllowedScopes: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range MaxSourceFailures - 1 {
		if _, err := s.AuthenticateFrom(ctx, "sprayer", fmt.Sprint("id-", i), "x"); !errors.Is(err, ErrAuthentication) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	clock.Advance(10 * time.Second)
	// A wrong secret for a real client spends the budget too.
	if _, err := s.AuthenticateFrom(ctx, "sprayer", c.ClientID, "wrong"); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("last failure within the budget: %v", err)
	}
	lookups := repo.lookups
	var te *ThrottledError
	for _, tc := range []struct {
		name, source, clientID, secret string
		wantRetry                      time.Duration // 0: not throttled
	}{
		{"spent address, another unknown id", "sprayer", "id-new", "x", AuthFailureWindow - 10*time.Second},
		{"spent address, the real client with its secret", "sprayer", c.ClientID, secret.Expose(), AuthFailureWindow - 10*time.Second},
		{"another address", "elsewhere", c.ClientID, secret.Expose(), 0},
	} {
		_, err := s.AuthenticateFrom(ctx, tc.source, tc.clientID, tc.secret)
		switch {
		case tc.wantRetry == 0 && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.wantRetry != 0 && (!errors.As(err, &te) || te.RetryAfter != tc.wantRetry):
			t.Errorf("%s: %v, want a lockout for %s", tc.name, err, tc.wantRetry)
		}
	}
	if repo.lookups != lookups+1 {
		t.Errorf("refused attempts read the store: %d lookups, want 1 (the other address)", repo.lookups-lookups)
	}
	clock.Advance(AuthFailureWindow - 10*time.Second)
	if _, err := s.AuthenticateFrom(ctx, "sprayer", c.ClientID, secret.Expose()); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

// A full table evicts its stalest entries and never refuses a new one:
// real client_ids guessed from more addresses than the table holds still
// lock the newest guesser out.
func TestFullTableEvictsStalest(t *testing.T) {
	for _, tc := range []struct {
		name  string
		table func(*throttle) *windows
		max   int
	}{
		{"per client and source", func(t *throttle) *windows { return &t.perClient }, maxTrackedClients},
		{"per source", func(t *throttle) *windows { return &t.perSource }, maxTrackedSources},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var th throttle
			th.init()
			w := tc.table(&th)
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			for i := range tc.max {
				w.fail(fmt.Sprint("k", i), now)
			}
			now = now.Add(time.Second)
			w.fail("k0", now) // touched: no longer the stalest
			for range w.limit {
				w.fail("new", now)
			}
			if w.len() != tc.max {
				t.Errorf("%d entries, want %d", w.len(), tc.max)
			}
			var te *ThrottledError
			if err := w.check("new", now); !errors.As(err, &te) {
				t.Errorf("the newest key is not tracked when the table is full: %v", err)
			}
			if !w.has("k0") || w.has("k1") {
				t.Errorf("evicted the wrong entry: k0 kept %v (want true), k1 kept %v (want false)", w.has("k0"), w.has("k1"))
			}
		})
	}
}
