package authcode

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/oauth2"
	"github.com/latchkey/latchkey/internal/oauth2/grant/usertokens"
	"github.com/latchkey/latchkey/internal/token"
	"github.com/latchkey/latchkey/internal/user"
)

type memCodes struct {
	mu    sync.Mutex
	codes map[string]Code
	used  map[string]bool
}

func (m *memCodes) CreateAuthCode(_ context.Context, c Code) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.codes[c.Hash] = c
	return nil
}

func (m *memCodes) ConsumeAuthCode(_ context.Context, hash string, _ time.Time) (Code, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.codes[hash]
	switch {
	case !ok:
		return Code{}, ErrNotFound
	case m.used[hash]:
		return Code{}, ErrUsed
	}
	m.used[hash] = true
	return c, nil
}

type fakeMinter struct{ specs []token.Spec }

func (f *fakeMinter) Mint(_ context.Context, s token.Spec) (token.Minted, error) {
	f.specs = append(f.specs, s)
	return token.Minted{Raw: "tok", IssuedAt: time.Unix(0, 0), ExpiresAt: time.Unix(3600, 0)}, nil
}

type fakeUsers map[string]user.User

func (f fakeUsers) Get(_ context.Context, id string) (user.User, error) {
	u, ok := f[id]
	if !ok {
		return user.User{}, user.ErrNotFound
	}
	return u, nil
}

const verifier = "dBjftJeZ4CVP-mJ92K8o9PZ8qEEp7H4JbTqKyZc1r3s0aaaa"

func TestHandleToken(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	base := Code{ClientID: "app", RedirectURI: "https://app.example/cb", Challenge: S256(verifier), ChallengeMethod: "S256",
		Scopes: []string{"openid"}, Nonce: "n1", UserID: "alice", SessionID: "sid", AuthTime: now.Add(-time.Minute),
		CreatedAt: now, ExpiresAt: now.Add(Lifetime)}
	users := fakeUsers{"alice": {ID: "alice", Enabled: true}, "off": {ID: "off"}}
	cases := []struct {
		name   string
		code   func(*Code)
		req    func(*oauth2.TokenRequest)
		errMsg string // "" for success
	}{
		{"ok", nil, nil, ""},
		{"wrong client", nil, func(r *oauth2.TokenRequest) { r.Client.ClientID = "other" }, oauth2.CodeInvalidGrant},
		{"expired", func(c *Code) { c.ExpiresAt = now }, nil, oauth2.CodeInvalidGrant},
		{"redirect differs", nil, func(r *oauth2.TokenRequest) { r.RedirectURI = "https://app.example/other" }, oauth2.CodeInvalidGrant},
		{"redirect missing", nil, func(r *oauth2.TokenRequest) { r.RedirectURI = "" }, oauth2.CodeInvalidGrant},
		{"verifier missing", nil, func(r *oauth2.TokenRequest) { r.CodeVerifier = "" }, oauth2.CodeInvalidGrant},
		{"verifier wrong", nil, func(r *oauth2.TokenRequest) { r.CodeVerifier = verifier + "x" }, oauth2.CodeInvalidGrant},
		{"verifier too short", nil, func(r *oauth2.TokenRequest) { r.CodeVerifier = "abc" }, oauth2.CodeInvalidGrant},
		{"verifier without challenge", func(c *Code) { c.Challenge, c.ChallengeMethod = "", "" }, nil, oauth2.CodeInvalidGrant},
		{"disabled user", func(c *Code) { c.UserID = "off" }, nil, oauth2.CodeInvalidGrant},
		{"no code", nil, func(r *oauth2.TokenRequest) { r.Code = "" }, oauth2.CodeInvalidRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			repo := &memCodes{codes: map[string]Code{}, used: map[string]bool{}}
			raw, hash := NewCode()
			c := base
			c.Hash = hash
			if tc.code != nil {
				tc.code(&c)
			}
			_ = repo.CreateAuthCode(t.Context(), c)
			m := &fakeMinter{}
			h := Handler{Codes: repo, Tokens: m, Users: users, Now: func() time.Time { return now }}
			r := &oauth2.TokenRequest{GrantType: "authorization_code", Client: client.Client{ClientID: "app"},
				Code: raw, RedirectURI: c.RedirectURI, CodeVerifier: verifier}
			if tc.req != nil {
				tc.req(r)
			}
			resp, err := h.HandleToken(t.Context(), r)
			if tc.errMsg != "" {
				var oe *oauth2.Error
				if !errors.As(err, &oe) || oe.Code != tc.errMsg {
					t.Fatalf("err = %v, want %s", err, tc.errMsg)
				}
				return
			}
			if err != nil || resp.IDToken == "" || len(m.specs) != 2 {
				t.Fatalf("resp %+v, err %v, minted %d", resp, err, len(m.specs))
			}
			id := m.specs[1]
			if id.Kind != token.ID || id.Nonce != "n1" || id.SessionID != "sid" || !id.AuthTime.Equal(c.AuthTime) || id.AccessHash != usertokens.AccessTokenHash("tok") || id.Subject != "alice" {
				t.Errorf("ID token spec %+v", id)
			}
			// The code is single use.
			if _, err := h.HandleToken(t.Context(), r); err == nil {
				t.Error("second redemption succeeded")
			}
		})
	}
}

func TestValidChallenge(t *testing.T) {
	if !ValidChallenge(S256(verifier)) || ValidChallenge("plain") {
		t.Error("ValidChallenge")
	}
}
