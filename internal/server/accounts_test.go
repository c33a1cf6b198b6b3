package server_test

import (
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/latchkey/latchkey/internal/user"
)

// isLoginPage reports whether p is the login form (and not a code).
func isLoginPage(p page) bool {
	return p.status == http.StatusOK && strings.Contains(p.body, `name="password"`)
}

// Disabling or deleting a user ends their sessions at once: the same
// browser is sent to the login page on its next authorization, and
// enabling the user again does not bring the session back.
func TestDisableAndDeleteEndSessions(t *testing.T) {
	for _, how := range []string{"disable", "delete"} {
		t.Run(how, func(t *testing.T) {
			e := newSigninEnv(t, true) // first-party: a signed-in user gets a code at once
			b := browser(t)
			authURL := func() string { return e.config.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())) }
			location(t, signIn(t, e, b, authURL()), appCB)
			if q := location(t, get(t, b, authURL()), appCB); q.Get("code") == "" {
				t.Fatalf("signed in: %v", q)
			}
			switch how {
			case "disable":
				if _, err := e.App.Users.SetEnabled(t.Context(), userActor, e.alice.ID, false); err != nil {
					t.Fatal(err)
				}
				if _, err := e.App.Users.SetEnabled(t.Context(), userActor, e.alice.ID, true); err != nil {
					t.Fatal(err)
				}
			case "delete":
				if err := e.App.Users.Delete(t.Context(), userActor, e.alice.ID); err != nil {
					t.Fatal(err)
				}
			}
			if p := get(t, b, authURL()); !isLoginPage(p) {
				t.Fatalf("after %s: %d %q, want the login page", how, p.status, p.header.Get("Location"))
			}
			if q := location(t, get(t, b, e.config.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
				oauth2.SetAuthURLParam("prompt", "none"))), appCB); q.Get("error") != "login_required" {
				t.Errorf("prompt=none after %s: %v", how, q)
			}
		})
	}
}

// A user of another brand than the client's cannot sign in there: with
// the right password they get the very page a wrong password gets.
func TestOtherBrandUserRefusedLikeAWrongPassword(t *testing.T) {
	e := newSigninEnv(t, false)
	if _, err := e.App.Users.Create(t.Context(), userActor, user.CreateInput{Username: "carol", Password: alicePassword, BrandID: "acme"}); err != nil {
		t.Fatal(err)
	}
	b := browser(t)
	authURL := e.config.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	action, form := formOf(t, get(t, b, authURL))
	form.Set("username", "carol")
	form.Set("password", alicePassword)
	other := post(t, b, e.URL+action, form)
	form.Set("password", "not the password")
	wrong := post(t, b, e.URL+action, form)
	if !isLoginPage(other) || other.body != wrong.body || other.header.Get("Set-Cookie") != "" {
		t.Errorf("other brand: %d (cookie %q) %.300s\nwrong password: %.300s", other.status, other.header.Get("Set-Cookie"), other.body, wrong.body)
	}
	// The client's own brand's user signs in with the same form.
	form.Set("username", "alice")
	form.Set("password", alicePassword)
	if p := post(t, b, e.URL+action, form); !strings.Contains(p.body, `name="consent"`) {
		t.Errorf("alice: %d %.300s", p.status, p.body)
	}
	s, err := e.Store.ListConsents(t.Context(), e.alice.ID)
	if err != nil || len(s) != 0 {
		t.Errorf("consents before allowing: %v, %v", s, err)
	}
}
