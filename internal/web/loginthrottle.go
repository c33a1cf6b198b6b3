package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/user"
)

// The login page's failed sign-in limits are user.LoginThrottle's, shared
// with the password grant (see there); these name them for the page.
const (
	MaxLoginFailures       = user.MaxLoginFailures
	LoginFailureWindow     = user.LoginFailureWindow
	MaxSourceLoginFailures = user.MaxSourceLoginFailures
	SourceLoginWindow      = user.SourceLoginWindow

	throttledLoginMessage = "Too many failed sign-in attempts; try again in a few minutes."
	badLoginMessage       = "The username or password is not correct."
)

// authenticate checks username and password through the shared throttle:
// a *user.ThrottledError when refused (no password check), ErrBadLogin
// for every kind of failure.
func (a *Authorize) authenticate(ctx context.Context, source, brand, username, password string) (user.User, error) {
	return a.throttle.Authenticate(ctx, source, brand, username, password)
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
