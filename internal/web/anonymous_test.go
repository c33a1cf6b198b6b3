package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/clocktest"
	"github.com/latchkey/latchkey/internal/oauth2/grant/authcode"
	"github.com/latchkey/latchkey/internal/session"
	"github.com/latchkey/latchkey/internal/user"
)

// oneClient knows one public client of the default brand.
type oneClient struct{ c client.Client }

func (o oneClient) Lookup(_ context.Context, id string) (client.Client, error) {
	if id != o.c.ClientID {
		return client.Client{}, client.ErrNotFound
	}
	return o.c, nil
}

// countingSessions is an in-memory session.Repository that counts rows
// written.
type countingSessions struct {
	rows    map[string]session.Session
	created int
}

func (c *countingSessions) CreateSession(_ context.Context, s session.Session) error {
	c.created++
	c.rows[s.TokenHash] = s
	return nil
}

func (c *countingSessions) GetSession(_ context.Context, h string) (session.Session, error) {
	s, ok := c.rows[h]
	if !ok {
		return session.Session{}, session.ErrNotFound
	}
	return s, nil
}

func (c *countingSessions) DeleteSession(_ context.Context, h string) error {
	delete(c.rows, h)
	return nil
}

// oneUser is a user store holding alice (password alice-pw), of the
// default brand.
type oneUser struct{}

var alice = user.User{ID: "id-alice", Username: "alice", Enabled: true, BrandID: user.DefaultBrand}

func (oneUser) Authenticate(_ context.Context, username, password string) (user.User, error) {
	switch {
	case username != alice.Username:
		return user.User{}, user.ErrUnknownUser
	case password != "alice-pw":
		return user.User{}, user.ErrBadLogin
	}
	return alice, nil
}

func (oneUser) Get(_ context.Context, id string) (user.User, error) {
	if id != alice.ID {
		return user.User{}, user.ErrNotFound
	}
	return alice, nil
}

var testClient = client.Client{ClientID: "spa", Name: "SPA", Enabled: true, Type: client.Public, BrandID: client.DefaultBrandID,
	GrantTypes: []string{client.GrantAuthorizationCode}, RedirectURIs: []string{"https://app.example/cb"}, AllowedScopes: []string{"openid"}}

func newTestAuthorize() (*Authorize, *countingSessions) {
	sessions := &countingSessions{rows: map[string]session.Session{}}
	clock := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	return NewAuthorize(AuthorizeDeps{Clients: oneClient{testClient}, Users: oneUser{}, Sessions: sessions, Issuer: "https://issuer.example", Now: clock.Now,
		Log: slog.New(slog.DiscardHandler)}), sessions
}

func authorizeQuery() url.Values {
	return url.Values{"response_type": {"code"}, "client_id": {"spa"}, "redirect_uri": {"https://app.example/cb"}, "state": {"s"},
		"code_challenge": {authcode.S256(strings.Repeat("v", 43))}, "code_challenge_method": {"S256"}, "scope": {"openid"}}
}

// A thousand cookie-less GETs of the login page store no session: the
// login form's CSRF token is bound to a cookie the server does not keep,
// and a session row is written only when someone signs in.
func TestCookielessGetsStoreNoSessions(t *testing.T) {
	a, sessions := newTestAuthorize()
	h := a.Handler()
	u := "/oauth2/authorize?" + authorizeQuery().Encode()
	var cookie *http.Cookie
	for range 1000 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, u, nil))
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `name="password"`) {
			t.Fatalf("login page: %d %.300s", w.Code, w.Body.String())
		}
		cookie = w.Result().Cookies()[0]
	}
	if sessions.created != 0 || len(sessions.rows) != 0 {
		t.Fatalf("%d sessions written by cookie-less GETs, want 0", sessions.created)
	}
	// The cookie of the last page still carries a login: its form's CSRF
	// token is accepted, and signing in stores exactly one session.
	form := authorizeQuery()
	form.Set("username", "alice")
	form.Set("password", "alice-pw")
	form.Set(CSRFField, CSRFToken(cookie.Value))
	req := httptest.NewRequest(http.MethodPost, "/oauth2/authorize", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(cookie)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `name="consent"`) || sessions.created != 1 {
		t.Fatalf("sign-in with the anonymous cookie: %d, %d sessions: %.300s", w.Code, sessions.created, w.Body.String())
	}
	// Without the cookie, or with a forged one, the same form is refused.
	for name, c := range map[string]*http.Cookie{"no cookie": nil, "other cookie": {Name: cookie.Name, Value: strings.Repeat("A", 43)}, "junk cookie": {Name: cookie.Name, Value: "x"}} {
		req := httptest.NewRequest(http.MethodPost, "/oauth2/authorize", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if c != nil {
			req.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, w.Code)
		}
	}
	if sessions.created != 1 {
		t.Errorf("refused logins stored sessions: %d", sessions.created)
	}
}
