package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchkey/latchkey/internal/token"
	"github.com/latchkey/latchkey/internal/user"
)

// TestOIDCParameters: prompt=login and prompt=consent, max_age and
// id_token_hint at the authorization endpoint, for a browser where alice
// is signed in to a first-party client (so a request that needs nothing
// more gets a code at once).
func TestOIDCParameters(t *testing.T) {
	e := newSigninEnv(t, true)
	ctx := t.Context()
	bob, err := e.App.Users.Create(ctx, userActor, user.CreateInput{Username: "bob", Password: alicePassword + " bob"})
	if err != nil {
		t.Fatal(err)
	}
	idToken := func(sub string, ttl time.Duration) string {
		m, err := e.App.Issuer.Mint(ctx, token.Spec{Kind: token.ID, Subject: sub, ClientID: e.app.ClientID, TTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		return m.Raw
	}
	aliceHint := idToken(e.alice.ID, time.Second) // expired by the time it is used
	aliceES256, err := e.App.Issuer.Mint(ctx, token.Spec{Kind: token.ID, Alg: "ES256", Subject: e.alice.ID, ClientID: e.app.ClientID})
	if err != nil {
		t.Fatal(err)
	}
	bobHint := idToken(bob.ID, time.Hour)
	access, err := e.App.Issuer.Mint(ctx, token.Spec{Subject: e.alice.ID, ClientID: e.app.ClientID, Scopes: []string{"openid"}})
	if err != nil {
		t.Fatal(err)
	}
	tampered := aliceHint[:len(aliceHint)-4] + "AAAA"

	cases := []struct {
		name    string
		params  []string
		advance time.Duration // after signing in
		want    string        // "code", "login", "consent", or the error code
	}{
		{"nothing asked", nil, 0, "code"},
		{"prompt=login", []string{"prompt", "login"}, 0, "login"},
		{"prompt=select_account signs in again", []string{"prompt", "select_account"}, 0, "login"},
		{"prompt=consent for a first-party client", []string{"prompt", "consent"}, 0, "consent"},
		{"prompt=login consent", []string{"prompt", "login consent"}, 0, "login"},
		{"prompt=none login", []string{"prompt", "none login"}, 0, "invalid_request"},
		{"max_age not reached", []string{"max_age", "600"}, 5 * time.Minute, "code"},
		{"max_age passed", []string{"max_age", "60"}, 2 * time.Minute, "login"},
		{"max_age=0", []string{"max_age", "0"}, time.Second, "login"},
		{"max_age passed, prompt=none", []string{"max_age", "60", "prompt", "none"}, 2 * time.Minute, "login_required"},
		{"max_age not a number", []string{"max_age", "soon"}, 0, "invalid_request"},
		{"max_age negative", []string{"max_age", "-1"}, 0, "invalid_request"},
		{"id_token_hint of the user, expired", []string{"id_token_hint", aliceHint}, time.Minute, "code"},
		{"id_token_hint of the user, ES256", []string{"id_token_hint", aliceES256.Raw}, 0, "code"},
		{"id_token_hint of the user, prompt=none", []string{"id_token_hint", aliceHint, "prompt", "none"}, 0, "code"},
		{"id_token_hint of another user", []string{"id_token_hint", bobHint}, 0, "login"},
		{"id_token_hint of another user, prompt=none", []string{"id_token_hint", bobHint, "prompt", "none"}, 0, "login_required"},
		{"id_token_hint tampered", []string{"id_token_hint", tampered}, 0, "invalid_request"},
		{"id_token_hint is an access token", []string{"id_token_hint", access.Raw}, 0, "invalid_request"},
		{"id_token_hint garbage", []string{"id_token_hint", "not.a.jwt"}, 0, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := browser(t)
			verifier := oauth2.GenerateVerifier()
			opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
			// Sign in with a plain request first.
			if q := location(t, signIn(t, e, b, e.config.AuthCodeURL("s0", opts...)), appCB); q.Get("code") == "" {
				t.Fatalf("first sign-in: %v", q)
			}
			e.Clock.Advance(tc.advance)
			for i := 0; i < len(tc.params); i += 2 {
				opts = append(opts, oauth2.SetAuthURLParam(tc.params[i], tc.params[i+1]))
			}
			p := get(t, b, e.config.AuthCodeURL("st", opts...))
			var q map[string][]string
			switch tc.want {
			case "login":
				if p.status != http.StatusOK || !strings.Contains(p.body, `name="password"`) {
					t.Fatalf("want the login page, got %d %q: %.300s", p.status, p.header.Get("Location"), p.body)
				}
				// Signing in satisfies the request: a code, not the login
				// page again, and auth_time is the new sign-in.
				e.Clock.Advance(time.Second)
				action, form := formOf(t, p)
				form.Set("username", "alice")
				form.Set("password", alicePassword)
				after := post(t, b, e.URL+action, form)
				if strings.Contains(tc.params[1], "consent") {
					action, form = formOf(t, after)
					form.Set("consent", "allow")
					after = post(t, b, e.URL+action, form)
				}
				q = location(t, after, appCB)
				tok, err := e.config.Exchange(ctx, q["code"][0], oauth2.VerifierOption(verifier))
				if err != nil {
					t.Fatal(err)
				}
				c := claimsOf(t, tok.Extra("id_token").(string))
				if at, _ := c["auth_time"].(float64); int64(at) != e.Clock.Now().Unix() || c["sub"] != e.alice.ID {
					t.Errorf("ID token after a fresh login: auth_time %v sub %v, want %d", c["auth_time"], c["sub"], e.Clock.Now().Unix())
				}
			case "consent":
				if p.status != http.StatusOK || !strings.Contains(p.body, `name="consent"`) {
					t.Fatalf("want the consent page, got %d: %.300s", p.status, p.body)
				}
				action, form := formOf(t, p)
				form.Set("consent", "allow")
				q = location(t, post(t, b, e.URL+action, form), appCB)
				if q["code"] == nil {
					t.Errorf("after consent: %v", q)
				}
			case "code":
				q = location(t, p, appCB)
				if q["code"] == nil {
					t.Errorf("want a code: %v", q)
				}
			default:
				q = location(t, p, appCB)
				if q["error"] == nil || q["error"][0] != tc.want || q["state"][0] != "st" {
					t.Errorf("want error %s: %v", tc.want, q)
				}
			}
		})
	}

	// login_hint prefills the username, escaped.
	p := get(t, browser(t), e.config.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
		oauth2.SetAuthURLParam("login_hint", `al"ice<b>`)))
	if !strings.Contains(p.body, `value="al&#34;ice&lt;b&gt;"`) || strings.Contains(p.body, "<b>") {
		t.Errorf("login_hint: %.2000s", p.body)
	}
}
