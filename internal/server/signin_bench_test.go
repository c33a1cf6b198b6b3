package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/oauth2/grant/authcode"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/postgres/pgtest"
	"github.com/latchkey/latchkey/internal/user"
)

// BenchmarkCodeRedemption is one authorization_code token request over
// the whole handler: the code looked up and spent, PKCE checked, the user
// read, an access token and an RS256 ID token signed. Storing the code
// (the authorization endpoint's work) is outside the timer.
func BenchmarkCodeRedemption(b *testing.B) {
	e := servertest.New(b, func(o *server.Options) { o.AccessLogSample = 100; o.ClientCacheTTL = server.DefaultClientCacheTTL })
	alice, err := e.App.Users.Create(b.Context(), userActor, user.CreateInput{Username: "alice", Password: alicePassword})
	if err != nil {
		b.Fatal(err)
	}
	app, _ := e.CreateClient(client.CreateInput{Name: "app", Type: client.Public, GrantTypes: []string{client.GrantAuthorizationCode},
		RedirectURIs: []string{loopbackCB}, AllowedScopes: []string{"openid", "api:read"}})
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk0123456789"
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		raw := "bench-code-" + strings.Repeat("x", 32) + string(rune('a'+i%26)) + time.Now().Format(time.RFC3339Nano)
		now := e.Clock.Now()
		if err := e.Store.CreateAuthCode(b.Context(), authcode.Code{Hash: authcode.Hash(raw), ClientID: app.ClientID, RedirectURI: loopbackCB,
			Challenge: authcode.S256(verifier), ChallengeMethod: "S256", Scopes: []string{"openid", "api:read"}, Nonce: "n",
			UserID: alice.ID, SessionID: "sid", AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}); err != nil {
			b.Fatal(err)
		}
		body := url.Values{"grant_type": {"authorization_code"}, "code": {raw}, "redirect_uri": {loopbackCB},
			"code_verifier": {verifier}, "client_id": {app.ClientID}}.Encode()
		b.StartTimer()
		req := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		e.App.Handler.ServeHTTP(w, req)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"id_token"`) {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkSignInFlow is the whole interactive flow over HTTP, from
// parallel browsers: GET /oauth2/authorize (login page), POST the login
// (an argon2id check), POST allow on the consent page (prompt=consent, so
// it is shown every time), then redeem the code at /oauth2/token. It
// reports flows/s, on SQLite and, with LATCHKEY_TEST_POSTGRES_DSN, on
// PostgreSQL.
func BenchmarkSignInFlow(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchSignInFlow(b, nil) })
	b.Run("postgres", func(b *testing.B) {
		dsn := pgtest.FreshDSN(b)
		benchSignInFlow(b, func(o *server.Options) {
			st, err := postgres.Open(context.Background(), dsn, postgres.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			o.Store = st
		})
	})
}

func benchSignInFlow(b *testing.B, opt func(*server.Options)) {
	opts := []func(*server.Options){func(o *server.Options) { o.AccessLogSample = 100; o.ClientCacheTTL = server.DefaultClientCacheTTL }}
	if opt != nil {
		opts = append(opts, opt)
	}
	e := servertest.New(b, opts...)
	if _, err := e.App.Users.Create(b.Context(), userActor, user.CreateInput{Username: "alice", Password: alicePassword}); err != nil {
		b.Fatal(err)
	}
	app, _ := e.CreateClient(client.CreateInput{Name: "app", Type: client.Public, GrantTypes: []string{client.GrantAuthorizationCode},
		RedirectURIs: []string{loopbackCB}, AllowedScopes: []string{"openid", "api:read"}})
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk0123456789"
	authURL := e.URL + "/oauth2/authorize?" + url.Values{"response_type": {"code"}, "client_id": {app.ClientID}, "redirect_uri": {appCB},
		"scope": {"openid api:read"}, "state": {"s"}, "prompt": {"consent"}, "code_challenge": {authcode.S256(verifier)}, "code_challenge_method": {"S256"}}.Encode()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := oneFlow(e.URL, authURL, app.ClientID, verifier); err != "" {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "flows/s")
}

// oneFlow signs alice in with a fresh browser; "" on success.
func oneFlow(base, authURL, clientID, verifier string) string {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(method, u string, form url.Values) (int, string, string) {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, u, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		res, err := c.Do(req)
		if err != nil {
			return 0, err.Error(), ""
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), res.Header.Get("Location")
	}
	fields := func(page string) (string, url.Values) {
		action, v, ok := servertest.FormOf(page)
		if !ok {
			return "", nil
		}
		return action, v
	}
	st, page, _ := send(http.MethodGet, authURL, nil)
	action, form := fields(page)
	if st != http.StatusOK || form == nil {
		return "login page: " + page
	}
	form.Set("username", "alice")
	form.Set("password", alicePassword)
	_, page, _ = send(http.MethodPost, base+action, form)
	action, form = fields(page)
	if form == nil {
		return "consent page: " + page
	}
	form.Set("consent", "allow")
	st, _, loc := send(http.MethodPost, base+action, form)
	u, err := url.Parse(loc)
	if st != http.StatusSeeOther || err != nil || u.Query().Get("code") == "" {
		return "no code: " + loc
	}
	st, page, _ = send(http.MethodPost, base+"/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")},
		"redirect_uri": {appCB}, "code_verifier": {verifier}, "client_id": {clientID}})
	if st != http.StatusOK {
		return "token: " + page
	}
	return ""
}
