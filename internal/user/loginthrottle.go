package user

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/ratelimit"
)

// Failed sign-in limits (SPEC §6, §7: failures are throttled per username
// and per source address), shared by every way a person signs in with a
// password: the login page (internal/web) and the password grant
// (internal/oauth2/grant/password) hold one LoginThrottle, so a guess
// costs the same budget through either door. Two bounded tables, checked
// before the password is: a refused attempt costs no argon2id work and
// reads nothing.
//
//   - per username, in its canonical form (CanonicalUsername), so
//     "Alice" and "ALICE" share one budget: after MaxLoginFailures wrong
//     passwords within LoginFailureWindow the username is refused from
//     every address until its window ends, even with the right password.
//     Only usernames that exist enter this table, so junk usernames
//     cannot fill it. Anyone can lock a user out this way for the
//     window; that is the price of bounding guesses at a password.
//   - per source address: every failure counts, for an unknown username
//     or a wrong password alike; after MaxSourceLoginFailures within
//     SourceLoginWindow the address is refused for every username, which
//     stops a spray of usernames.
//
// A successful sign-in resets nothing. A full table evicts its stalest
// entry and never refuses a new one. The counts are per node.
const (
	// MaxLoginFailures is how many wrong passwords one username may
	// have within LoginFailureWindow.
	MaxLoginFailures = 5
	// LoginFailureWindow is the window of MaxLoginFailures.
	LoginFailureWindow = 15 * time.Minute
	// MaxSourceLoginFailures is how many failed sign-ins one source
	// address may have within SourceLoginWindow.
	MaxSourceLoginFailures = 20
	// SourceLoginWindow is the window of MaxSourceLoginFailures.
	SourceLoginWindow = time.Minute

	// MaxTrackedUsernames and MaxTrackedLoginSources bound the tables.
	MaxTrackedUsernames    = 10000
	MaxTrackedLoginSources = 10000
)

// PasswordChecker checks a username and password (Service.Authenticate).
type PasswordChecker interface {
	Authenticate(ctx context.Context, username, password string) (User, error)
}

// LoginThrottle is Authenticate behind the failed sign-in limits.
type LoginThrottle struct {
	users PasswordChecker
	now   func() time.Time

	mu        sync.Mutex
	perUser   *ratelimit.Table // canonical usernames of existing users
	perSource *ratelimit.Table // source addresses
}

// NewLoginThrottle puts users behind the limits; now may be nil for
// time.Now.
func NewLoginThrottle(users PasswordChecker, now func() time.Time) *LoginThrottle {
	if now == nil {
		now = time.Now
	}
	return &LoginThrottle{
		users: users, now: now,
		perUser:   ratelimit.New(MaxTrackedUsernames, MaxLoginFailures, LoginFailureWindow),
		perSource: ratelimit.New(MaxTrackedLoginSources, MaxSourceLoginFailures, SourceLoginWindow),
	}
}

// ThrottledError is a refused sign-in: how long until it may be tried.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string { return "too many failed sign-in attempts" }

// Authenticate checks username and password from source (the caller's
// address) for a client of brand unless the limits refuse them, in which case it returns a
// *ThrottledError without checking the password; a failure (ErrBadLogin,
// for an unknown user, a wrong password, a bot or a disabled user alike,
// each at the cost of one argon2id check) counts against the limits. A
// user of another brand than the client's is refused as a wrong password
// is (same answer, same cost: the password was checked), so no one learns
// which brand holds a username.
func (t *LoginThrottle) Authenticate(ctx context.Context, source, brand, username, password string) (User, error) {
	canonical, err := CanonicalUsername(username)
	if err != nil {
		canonical = ""
	}
	if wait := t.check(source, canonical, t.now()); wait > 0 {
		return User{}, &ThrottledError{RetryAfter: wait}
	}
	u, err := t.users.Authenticate(ctx, username, password)
	if err == nil && u.BrandID != brand {
		u, err = User{}, ErrBadLogin
	}
	if errors.Is(err, ErrBadLogin) {
		// The clock is read again: the password check takes a while.
		t.fail(source, canonical, !errors.Is(err, ErrUnknownUser), t.now())
	}
	return u, err
}

// check returns how long a sign-in as username (canonical, "" when it has
// no canonical form) from source is refused at now; 0 when it is not.
func (t *LoginThrottle) check(source, username string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	wait := t.perSource.Check(source, now)
	if username != "" {
		wait = max(wait, t.perUser.Check(username, now))
	}
	return wait
}

// fail records a failed sign-in from source: against the source always,
// and against username when the user exists.
func (t *LoginThrottle) fail(source, username string, exists bool, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.perSource.Fail(source, now)
	if exists && username != "" {
		t.perUser.Fail(username, now)
	}
}
