package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/user"
)

// Failed-login limits (SPEC: failures are throttled per username and per
// source address). Two bounded tables, checked before the password is:
// a refused attempt costs no argon2id work and reads nothing.
//
//   - per username, in its canonical form (user.CanonicalUsername), so
//     "Alice" and "ALICE" share one budget: after MaxLoginFailures wrong
//     passwords within LoginFailureWindow the username is refused from
//     every address until its window ends, even with the right password.
//     Only usernames that exist enter this table, so junk usernames
//     cannot fill it. Anyone can lock a user out this way for the
//     window; that is the price of bounding guesses at a password.
//   - per source address (sourceaddr.Resolver.Source): every failure
//     counts, for an unknown username or a wrong password alike; after
//     MaxSourceLoginFailures within SourceLoginWindow the address is
//     refused for every username, which stops a spray of usernames.
//
// A successful login resets nothing. A full table evicts its stalest
// entry and never refuses a new one. The counts are per node.
const (
	// MaxLoginFailures is how many wrong passwords one username may
	// have within LoginFailureWindow.
	MaxLoginFailures = 5
	// LoginFailureWindow is the window of MaxLoginFailures.
	LoginFailureWindow = 15 * time.Minute
	// MaxSourceLoginFailures is how many failed logins one source
	// address may have within SourceLoginWindow.
	MaxSourceLoginFailures = 20
	// SourceLoginWindow is the window of MaxSourceLoginFailures.
	SourceLoginWindow = time.Minute

	maxTrackedUsernames    = 10000
	maxTrackedLoginSources = 10000
	throttledLoginMessage  = "Too many failed sign-in attempts; try again in a few minutes."
	badLoginMessage        = "The username or password is not correct."
)

// loginThrottle holds the two tables.
type loginThrottle struct {
	mu        sync.Mutex
	perUser   *ratelimit.Table // canonical usernames of existing users
	perSource *ratelimit.Table // source addresses
}

func newLoginThrottle() *loginThrottle {
	return &loginThrottle{
		perUser:   ratelimit.New(maxTrackedUsernames, MaxLoginFailures, LoginFailureWindow),
		perSource: ratelimit.New(maxTrackedLoginSources, MaxSourceLoginFailures, SourceLoginWindow),
	}
}

// check returns how long a login as username (canonical, "" when it has
// no canonical form) from source is refused at now; 0 when it is not.
func (t *loginThrottle) check(source, username string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	wait := t.perSource.Check(source, now)
	if username != "" {
		wait = max(wait, t.perUser.Check(username, now))
	}
	return wait
}

// fail records a failed login from source: against the source always,
// and against username when the user exists.
func (t *loginThrottle) fail(source, username string, exists bool, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.perSource.Fail(source, now)
	if exists && username != "" {
		t.perUser.Fail(username, now)
	}
}

// loginThrottledError is a refused login: how long until it may be tried.
type loginThrottledError struct{ retryAfter time.Duration }

func (e *loginThrottledError) Error() string { return "too many failed sign-in attempts" }

// authenticate checks username and password unless the throttle refuses
// them, in which case it returns a *loginThrottledError without calling
// Users.Authenticate; a failure is counted against the throttle.
func (a *Authorize) authenticate(ctx context.Context, source, username, password string) (user.User, error) {
	canonical, err := user.CanonicalUsername(username)
	if err != nil {
		canonical = ""
	}
	if wait := a.throttle.check(source, canonical, a.d.Now()); wait > 0 {
		return user.User{}, &loginThrottledError{retryAfter: wait}
	}
	u, err := a.d.Users.Authenticate(ctx, username, password)
	if errors.Is(err, user.ErrBadLogin) {
		// The clock is read again: the password check takes a while.
		a.throttle.fail(source, canonical, !errors.Is(err, user.ErrUnknownUser), a.d.Now())
	}
	return u, err
}

// retryAfterSeconds is d as a Retry-After value: whole seconds, rounded
// up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	return strconv.FormatInt(max(1, int64((d+time.Second-1)/time.Second)), 10)
}

// renderThrottled answers a refused login with the login page, its
// message, 429 and Retry-After.
func (a *Authorize) renderThrottled(ctx context.Context, w http.ResponseWriter, req *authRequest, token string, wait time.Duration) error {
	hidden, err := a.pageFields(ctx, req)
	if err != nil {
		return err
	}
	w.Header().Set("Retry-After", retryAfterSeconds(wait))
	w.Header().Set("Content-Security-Policy", SignInCSP(req.redirectURI))
	return renderStatus(w, http.StatusTooManyRequests, "login.html", loginPage{ClientName: req.client.Name, LoginHint: req.loginHint, Hidden: hidden, CSRF: CSRFToken(token), Error: throttledLoginMessage})
}
