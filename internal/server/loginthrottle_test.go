package server_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/latchkey/latchkey/internal/web"
)

// The login page throttles failed sign-ins: after MaxLoginFailures wrong
// passwords the same form comes back with 429, Retry-After and its
// message, the right password included, until the window passes on the
// server's clock.
func TestSignInThrottled(t *testing.T) {
	e := newSigninEnv(t, false)
	authURL := e.config.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	b := browser(t)
	action, form := formOf(t, get(t, b, authURL))
	login := func(username, password string) page {
		t.Helper()
		form.Set("username", username)
		form.Set("password", password)
		return post(t, b, e.URL+action, form)
	}
	for i := range web.MaxLoginFailures {
		if p := login([]string{"alice", "ALICE"}[i%2], "wrong"); p.status != http.StatusOK || !strings.Contains(p.body, "The username or password is not correct.") {
			t.Fatalf("wrong password %d: %d %.300s", i+1, p.status, p.body)
		}
	}
	for _, tc := range []struct{ name, username, password string }{
		{"sixth wrong password", "alice", "wrong"},
		{"right password", "Alice", alicePassword},
	} {
		p := login(tc.username, tc.password)
		retry, err := strconv.Atoi(p.header.Get("Retry-After"))
		if p.status != http.StatusTooManyRequests || err != nil || retry <= 0 || retry > int(web.LoginFailureWindow.Seconds()) {
			t.Errorf("%s: %d, Retry-After %q", tc.name, p.status, p.header.Get("Retry-After"))
		}
		if !strings.Contains(p.body, "Too many failed sign-in attempts; try again in a few minutes.") || !strings.Contains(p.body, `name="password"`) {
			t.Errorf("%s: not the login form with the throttle's message: %.500s", tc.name, p.body)
		}
		if cc := p.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control %q", tc.name, cc)
		}
	}
	e.Clock.Advance(web.LoginFailureWindow)
	if p := login("alice", alicePassword); p.status != http.StatusOK || !strings.Contains(p.body, `name="consent"`) {
		t.Errorf("after the window: %d %.300s", p.status, p.body)
	}
}
