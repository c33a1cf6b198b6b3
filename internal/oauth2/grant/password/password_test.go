package password

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/oauth2"
	"github.com/latchkey/latchkey/internal/token"
	"github.com/latchkey/latchkey/internal/user"
)

// fakeLogins: alice/right signs in; "slow" is throttled; "broken" fails
// with a store error; anything else is ErrBadLogin. The source and the
// client's brand must be passed through.
type fakeLogins struct{ calls int }

var errStore = errors.New("store down")

func (f *fakeLogins) Authenticate(_ context.Context, source, brand, username, password string) (user.User, error) {
	f.calls++
	switch {
	case source != "198.51.100.7":
		return user.User{}, errors.New("source not passed through")
	case brand != "brand-x":
		return user.User{}, errors.New("the client's brand not passed through")
	case username == "slow":
		return user.User{}, &user.ThrottledError{RetryAfter: 90 * time.Second}
	case username == "broken":
		return user.User{}, errStore
	case username == "alice" && password == "right":
		return user.User{ID: "u-alice", Username: "alice", Enabled: true}, nil
	}
	return user.User{}, user.ErrBadLogin
}

type minter struct{ specs []token.Spec }

func (m *minter) Mint(_ context.Context, s token.Spec) (token.Minted, error) {
	m.specs = append(m.specs, s)
	now := time.Unix(0, 0)
	return token.Minted{Raw: "tok", IssuedAt: now, ExpiresAt: now.Add(time.Hour), Scope: "openid api"}, nil
}

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func TestHandleToken(t *testing.T) {
	conf := client.Client{ClientID: "c1", Type: client.Confidential, BrandID: "brand-x", AllowedScopes: []string{"openid", "api"}, GrantTypes: []string{client.GrantPassword}}
	pub := conf
	pub.Type = client.Public
	tests := []struct {
		name       string
		c          client.Client
		username   string
		password   string
		scope      []string
		code       string
		status     int
		retryAfter time.Duration
		logins     bool // whether the password was checked
	}{
		{name: "success", c: conf, username: "alice", password: "right", logins: true},
		{name: "public client", c: pub, username: "alice", password: "right", code: oauth2.CodeUnauthorizedClient, status: 400},
		{name: "no username", c: conf, password: "right", code: oauth2.CodeInvalidRequest, status: 400},
		{name: "no password", c: conf, username: "alice", code: oauth2.CodeInvalidRequest, status: 400},
		{name: "scope not allowed", c: conf, username: "alice", password: "right", scope: []string{"admin"}, code: oauth2.CodeInvalidScope, status: 400},
		{name: "wrong password", c: conf, username: "alice", password: "wrong", code: oauth2.CodeInvalidGrant, status: 400, logins: true},
		{name: "unknown user, bot or disabled user", c: conf, username: "bob", password: "x", code: oauth2.CodeInvalidGrant, status: 400, logins: true},
		{name: "throttled", c: conf, username: "slow", password: "x", code: oauth2.CodeInvalidGrant, status: 429, retryAfter: 90 * time.Second, logins: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, m := &fakeLogins{}, &minter{}
			h := Handler{Logins: l, Tokens: m, Now: func() time.Time { return now }}
			r := &oauth2.TokenRequest{GrantType: "password", Client: tt.c, Username: tt.username, Password: tt.password,
				Scope: tt.scope, HasScope: tt.scope != nil, Credentials: oauth2.Credentials{Source: "198.51.100.7"}}
			resp, err := h.HandleToken(t.Context(), r)
			if (l.calls > 0) != tt.logins {
				t.Errorf("password checked: %v, want %v", l.calls > 0, tt.logins)
			}
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				if resp.AccessToken == "" || resp.IDToken == "" || len(m.specs) != 2 {
					t.Fatalf("%+v, %d mints", resp, len(m.specs))
				}
				if a, id := m.specs[0], m.specs[1]; a.Subject != "u-alice" || a.ClientID != "c1" || len(a.Scopes) != 2 ||
					id.Kind != token.ID || !id.AuthTime.Equal(now) || id.Nonce != "" || id.SessionID != "" {
					t.Errorf("specs %+v", m.specs)
				}
				return
			}
			oe, ok := errors.AsType[*oauth2.Error](err)
			if !ok || oe.Code != tt.code || oe.HTTPStatus() != tt.status || oe.RetryAfter != tt.retryAfter {
				t.Fatalf("err %v (%+v), want %s %d", err, oe, tt.code, tt.status)
			}
			if len(m.specs) != 0 {
				t.Error("tokens minted for a refused request")
			}
		})
	}
	// A store failure is not a login failure.
	h := Handler{Logins: &fakeLogins{}, Tokens: &minter{}, Now: time.Now}
	_, err := h.HandleToken(t.Context(), &oauth2.TokenRequest{Client: conf, Username: "broken", Password: "x", Credentials: oauth2.Credentials{Source: "198.51.100.7"}})
	if !errors.Is(err, errStore) {
		t.Errorf("store failure: %v", err)
	}
	if _, ok := errors.AsType[*oauth2.Error](err); ok {
		t.Error("store failure turned into an OAuth error")
	}
	// Without openid, no ID token.
	m := &minter{}
	h = Handler{Logins: &fakeLogins{}, Tokens: m, Now: time.Now}
	resp, err := h.HandleToken(t.Context(), &oauth2.TokenRequest{Client: conf, Username: "alice", Password: "right", Scope: []string{"api"}, HasScope: true, Credentials: oauth2.Credentials{Source: "198.51.100.7"}})
	if err != nil || resp.IDToken != "" || len(m.specs) != 1 {
		t.Errorf("without openid: %+v %v", resp, err)
	}
}
