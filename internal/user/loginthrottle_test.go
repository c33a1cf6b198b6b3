package user

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/clocktest"
)

// fakeUsers knows alice and bob (any case: it canonicalises as the user
// core does) and counts Authenticate calls.
type fakeUsers struct{ calls int }

var fakePasswords = map[string]string{"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw"}

func (f *fakeUsers) Authenticate(_ context.Context, username, password string) (User, error) {
	f.calls++
	c, err := CanonicalUsername(username)
	if err != nil {
		return User{}, ErrUnknownUser
	}
	pw, ok := fakePasswords[c]
	if !ok {
		return User{}, ErrUnknownUser
	}
	if pw != password {
		return User{}, ErrBadLogin
	}
	brand := DefaultBrand
	if c == "carol" {
		brand = "other-brand" // a user of another brand than the client's
	}
	return User{ID: "id-" + c, Username: c, BrandID: brand}, nil
}

func newThrottled() (*LoginThrottle, *fakeUsers, *clocktest.Clock) {
	f := &fakeUsers{}
	clock := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	return NewLoginThrottle(f, clock.Now), f, clock
}

type attempt struct {
	name, source, username, password string
	want                             string        // "ok", "bad" or "throttled"
	retry                            time.Duration // the wait when throttled
	calls                            bool          // whether Authenticate runs
}

func run(t *testing.T, a *LoginThrottle, f *fakeUsers, steps []attempt) {
	t.Helper()
	for _, s := range steps {
		before := f.calls
		_, err := a.Authenticate(t.Context(), s.source, DefaultBrand, s.username, s.password)
		var te *ThrottledError
		got := "ok"
		switch {
		case errors.As(err, &te):
			got = "throttled"
		case errors.Is(err, ErrBadLogin):
			got = "bad"
		case err != nil:
			t.Fatalf("%s: %v", s.name, err)
		}
		if got != s.want {
			t.Errorf("%s: %s (%v), want %s", s.name, got, err, s.want)
		}
		if te != nil && s.retry != 0 && te.RetryAfter != s.retry {
			t.Errorf("%s: retry after %s, want %s", s.name, te.RetryAfter, s.retry)
		}
		if called := f.calls > before; called != s.calls {
			t.Errorf("%s: Authenticate called %v, want %v", s.name, called, s.calls)
		}
	}
}

// Five wrong passwords lock the username (in every case variant) out of
// every address, the right password included, for the rest of the
// window; other users and addresses are unaffected, and no refused
// attempt costs a password check.
func TestLoginThrottlePerUsername(t *testing.T) {
	a, f, clock := newThrottled()
	var steps []attempt
	for i := range MaxLoginFailures {
		steps = append(steps, attempt{fmt.Sprint("wrong password ", i+1), fmt.Sprint("10.0.0.", i+1), []string{"alice", "ALICE", "Alice"}[i%3], "guess", "bad", 0, true})
	}
	run(t, a, f, steps)
	clock.Advance(time.Minute)
	wait := LoginFailureWindow - time.Minute
	run(t, a, f, []attempt{
		{"6th wrong password, new address", "10.9.9.9", "alice", "guess", "throttled", wait, false},
		{"right password, new address", "10.9.9.9", "alice", "alice-pw", "throttled", wait, false},
		{"right password, case variant", "10.0.0.1", "ＡＬＩＣＥ", "alice-pw", "throttled", wait, false},
		{"another user, another address", "10.8.8.8", "bob", "bob-pw", "ok", 0, true},
		{"another user, a guessing address", "10.0.0.1", "bob", "bob-pw", "ok", 0, true},
	})
	clock.Advance(wait - time.Second)
	run(t, a, f, []attempt{{"a second before the window ends", "10.9.9.9", "alice", "alice-pw", "throttled", time.Second, false}})
	clock.Advance(time.Second)
	run(t, a, f, []attempt{{"the window has passed", "10.9.9.9", "alice", "alice-pw", "ok", 0, true}})
}

// The per-source budget stops one address spraying distinct usernames,
// known or not; unknown usernames never enter the per-username table; a
// success from another address resets nothing.
func TestLoginThrottlePerSource(t *testing.T) {
	a, f, clock := newThrottled()
	var steps []attempt
	for i := range MaxSourceLoginFailures {
		name := fmt.Sprint("nobody", i)
		if i == 3 {
			name = "bob" // one real user, one wrong password
		}
		steps = append(steps, attempt{fmt.Sprint("spray ", i+1), "203.0.113.7", name, "guess", "bad", 0, true})
	}
	run(t, a, f, steps)
	if n := a.perUser.Len(); n != 1 {
		t.Errorf("per-username table holds %d entries, want 1 (bob only)", n)
	}
	clock.Advance(10 * time.Second)
	run(t, a, f, []attempt{
		{"sprayer, another username", "203.0.113.7", "nobody-else", "guess", "throttled", SourceLoginWindow - 10*time.Second, false},
		{"sprayer, a real user's right password", "203.0.113.7", "alice", "alice-pw", "throttled", SourceLoginWindow - 10*time.Second, false},
		{"another address signs in", "198.51.100.1", "bob", "bob-pw", "ok", 0, true},
		{"sprayer, still refused", "203.0.113.7", "bob", "bob-pw", "throttled", 0, false},
	})
	clock.Advance(SourceLoginWindow - 10*time.Second)
	run(t, a, f, []attempt{{"the window has passed", "203.0.113.7", "alice", "alice-pw", "ok", 0, true}})
}

// A spray of junk usernames from ever new addresses keeps both tables
// bounded, and the real user's guesses are still counted.
func TestLoginThrottleJunkStaysBounded(t *testing.T) {
	a, f, clock := newThrottled()
	for i := range 100000 {
		_, _ = a.Authenticate(t.Context(), fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), DefaultBrand, fmt.Sprint("junk", i), "x")
		if i%1000 == 0 {
			clock.Advance(time.Millisecond)
		}
	}
	if n := a.perUser.Len(); n != 0 {
		t.Errorf("junk usernames entered the per-username table: %d entries", n)
	}
	if n := a.perSource.Len(); n > MaxTrackedLoginSources {
		t.Errorf("per-source table holds %d entries, over its bound %d", n, MaxTrackedLoginSources)
	}
	var steps []attempt
	for i := range MaxLoginFailures {
		steps = append(steps, attempt{fmt.Sprint("wrong password ", i+1), fmt.Sprint("192.0.2.", i+1), "alice", "guess", "bad", 0, true})
	}
	steps = append(steps, attempt{"alice is still tracked", "192.0.2.99", "alice", "alice-pw", "throttled", 0, false})
	run(t, a, f, steps)
}

// A user of another brand than the client's is refused with the right
// password exactly as with a wrong one, and the refusal counts against
// the throttle like one.
func TestLoginOtherBrandIsABadLogin(t *testing.T) {
	a, f, _ := newThrottled()
	var steps []attempt
	for i := range MaxLoginFailures {
		steps = append(steps, attempt{fmt.Sprint("right password, other brand ", i+1), fmt.Sprint("10.1.0.", i+1), "carol", "carol-pw", "bad", 0, true})
	}
	steps = append(steps, attempt{"then throttled", "10.1.1.1", "carol", "carol-pw", "throttled", 0, false})
	run(t, a, f, steps)
}
