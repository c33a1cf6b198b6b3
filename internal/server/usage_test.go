package server_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
	"github.com/latchkey/latchkey/internal/user"
)

// addAlice creates the user signIn signs in.
func addAlice(t *testing.T, e *servertest.Env) {
	t.Helper()
	if _, err := e.App.Users.Create(t.Context(), userActor, user.CreateInput{Username: "alice", DisplayName: "Alice", Password: alicePassword}); err != nil {
		t.Fatal(err)
	}
}

// issueCode signs alice (addAlice) in with the anonymous client clientID
// (redirect_uri http://127.0.0.1/cb), consents, and returns the code and
// its verifier.
func issueCode(t *testing.T, e *servertest.Env, clientID string) (code, verifier string) {
	t.Helper()
	verifier = oauth2.GenerateVerifier()
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {"http://127.0.0.1/cb"}, "state": {"s"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
	b := browser(t)
	consent := signIn(t, &signinEnv{Env: e}, b, e.URL+"/oauth2/authorize?"+q.Encode())
	action, form := formOf(t, consent)
	form.Set("consent", "allow")
	cb := location(t, post(t, b, e.URL+action, form), "http://127.0.0.1/cb")
	if cb.Get("code") == "" {
		t.Fatalf("no code: %v", cb)
	}
	return cb.Get("code"), verifier
}

// TestAnonymousClientUseMustBeProven: naming an anonymous client's
// client_id (the authorization endpoint's login page, a refused token
// request) does not keep it from expiring; an authorization that issues
// a code, or a token request that succeeds, does.
func TestAnonymousClientUseMustBeProven(t *testing.T) {
	e := servertest.New(t, openRegistration(server.AnonymousClients{TTL: 30 * 24 * time.Hour}))
	var ids []string
	for i := range 3 {
		r := registerFrom(e, "203.0.113.20", agentBody)
		if r.Status != http.StatusCreated {
			t.Fatalf("registration %d: %d %s", i, r.Status, r.Body)
		}
		ids = append(ids, r.Object(t)["client_id"].(string))
	}
	idle, coded, redeemed := ids[0], ids[1], ids[2]
	addAlice(t, e)
	e.Clock.Advance(20 * 24 * time.Hour)
	// Anyone may name idle's client_id: none of this is a use.
	q := url.Values{"response_type": {"code"}, "client_id": {idle}, "redirect_uri": {"http://127.0.0.1/cb"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
	if p := get(t, browser(t), e.URL+"/oauth2/authorize?"+q.Encode()); p.status != http.StatusOK {
		t.Fatalf("login page: %d", p.status)
	}
	if r := e.Do("POST", "/oauth2/token", "application/x-www-form-urlencoded", "", url.Values{"grant_type": {"authorization_code"}, "client_id": {idle},
		"code": {"forged"}, "redirect_uri": {"http://127.0.0.1/cb"}, "code_verifier": {oauth2.GenerateVerifier()}}.Encode()); r.Status != http.StatusBadRequest {
		t.Fatalf("forged code: %d %s", r.Status, r.Body)
	}
	if r := e.Do("POST", "/oauth2/par", "application/x-www-form-urlencoded", "", q.Encode()); r.Status != http.StatusCreated {
		t.Fatalf("push: %d %s", r.Status, r.Body)
	}
	// coded gets a code; redeemed gets one and redeems it.
	issueCode(t, e, coded)
	code, verifier := issueCode(t, e, redeemed)
	conf := oauth2.Config{ClientID: redeemed, RedirectURL: "http://127.0.0.1/cb",
		Endpoint: oauth2.Endpoint{TokenURL: e.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}}
	if _, err := conf.Exchange(t.Context(), code, oauth2.VerifierOption(verifier)); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(11 * 24 * time.Hour)
	if n, err := e.App.ExpireAnonymousClients(t.Context()); err != nil || n != 1 {
		t.Fatalf("expired %d, %v; want 1 (the client only named)", n, err)
	}
	if _, err := e.Store.GetClientByClientID(t.Context(), idle); err == nil {
		t.Error("the client only named by others is still there")
	}
	for _, id := range []string{coded, redeemed} {
		if _, err := e.Store.GetClientByClientID(t.Context(), id); err != nil {
			t.Errorf("a used client was deleted: %v", err)
		}
	}
}
