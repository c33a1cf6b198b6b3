package server_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/api/register"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/clocktest"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/sealed/sealedtest"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/postgres/pgtest"
	"github.com/latchkey/latchkey/internal/token"
)

// idemRoute is one creating or rotating call that takes Idempotency-Key.
type idemRoute struct {
	name  string
	mode  register.Mode // registration mode of the server
	scope string        // the caller's token scope; "" sends no token
	// path and bodies; path may use the setup's value (%s).
	path, body, other string
	// setup returns what %s in path stands for.
	setup func(e *servertest.Env) string
	// secret is the member of the 2xx body holding a one-time secret ("" if none).
	secret     string
	checkError func(t *testing.T, r servertest.Response, status int, field string)
	status     int // of the 2xx answer
}

func checkRFC7591(t *testing.T, r servertest.Response, status int, field string) {
	t.Helper()
	m := errorObject(t, r, "application/json")
	if _, ok := m["error"].(string); !ok {
		t.Errorf("no error code: %s", r.Body)
	}
}

var idemRoutes = []idemRoute{
	{name: "seed001", scope: "clients:create", path: "/v1/admin/oauth-clients",
		body:   `{"client_name":"App","redirect_uris":["https://app.example.com/cb"],"allowed_scopes":["openid"]}`,
		other:  `{"client_name":"Other","redirect_uris":["https://app.example.com/cb"],"allowed_scopes":["openid"]}`,
		secret: "client_secret", checkError: checkSeed001, status: 201},
	{name: "seed000", scope: "clients:create", path: "/api/clients",
		body:   `{"client_name":"App","redirect_uri":"https://app.example.com/cb","grant_types":"authorization_code,refresh_token","is_confidential":true}`,
		other:  `{"client_name":"Other","redirect_uri":"https://app.example.com/cb","grant_types":"authorization_code,refresh_token","is_confidential":true}`,
		secret: "client_secret", checkError: checkSeed000, status: 201},
	{name: "seed002", scope: "clients:create", path: "/api/v1/auth/clients",
		body:   `{"displayName":"App","redirectUri":"https://app.example.com/cb","m2m":false}`,
		other:  `{"displayName":"Other","redirectUri":"https://app.example.com/cb","m2m":false}`,
		secret: "clientSecret", checkError: checkSeed002, status: 201},
	{name: "rfc7591 token", mode: register.ModeToken, scope: "clients:create", path: "/oauth2/register",
		body:   `{"client_name":"App","redirect_uris":["https://app.example.com/cb"]}`,
		other:  `{"client_name":"Other","redirect_uris":["https://app.example.com/cb"]}`,
		secret: "client_secret", checkError: checkRFC7591, status: 201},
	{name: "rfc7591 open", mode: register.ModeOpen, path: "/oauth2/register",
		body:   `{"client_name":"App","redirect_uris":["https://app.example.com/cb"]}`,
		other:  `{"client_name":"Other","redirect_uris":["https://app.example.com/cb"]}`,
		secret: "client_secret", checkError: checkRFC7591, status: 201},
	{name: "user create", scope: "users:create", path: "/v1/admin/users",
		body: `{"username":"bot-one","bot":true}`, other: `{"username":"bot-two","bot":true}`,
		checkError: checkSeed001, status: 201},
	{name: "rotate secret", scope: "clients:update", path: "/v1/admin/oauth-clients/%s/secret",
		body: `{"grace_seconds":60}`, other: `{"grace_seconds":0}`,
		setup: func(e *servertest.Env) string {
			c, _ := e.ServiceClient("rotated", "x")
			return c.ID
		},
		secret: "client_secret", checkError: checkSeed001, status: 200},
}

// idemEnv is a server for route r, with a token for it and its path.
func idemEnv(t *testing.T, r idemRoute) (e *servertest.Env, tok, path string) {
	e, mint, path := idemEnvMint(t, r)
	return e, mint(), path
}

// idemEnvMint is idemEnv with a function that mints a fresh token for the
// same caller ("" when the route takes none), for retries past a token's
// lifetime.
func idemEnvMint(t *testing.T, r idemRoute) (e *servertest.Env, mint func() string, path string) {
	t.Helper()
	e = servertest.New(t, func(o *server.Options) { o.Registration = r.mode })
	mint = func() string { return "" }
	if r.scope != "" {
		c, _ := e.ServiceClient("caller", r.scope)
		mint = func() string {
			m, err := e.App.Issuer.Mint(t.Context(), token.Spec{Subject: c.ClientID, ClientID: c.ClientID, Scopes: []string{r.scope}})
			if err != nil {
				t.Fatal(err)
			}
			return m.Raw
		}
	}
	path = r.path
	if r.setup != nil {
		path = fmt.Sprintf(r.path, r.setup(e))
	}
	return e, mint, path
}

const jsonCT = "application/json"

func TestIdempotentReplay(t *testing.T) {
	for _, r := range idemRoutes {
		t.Run(r.name, func(t *testing.T) {
			e, tok, path := idemEnv(t, r)
			first := e.Do("POST", path, jsonCT, tok, r.body, "Idempotency-Key: key-1")
			if first.Status != r.status {
				t.Fatalf("first: %d %s", first.Status, first.Body)
			}
			clients := e.CountClients()
			for _, retry := range []string{"Idempotency-Key: key-1", `Idempotency-Key: "key-1"`} {
				e.Clock.Advance(59 * time.Minute / 2)
				again := e.Do("POST", path, jsonCT, tok, r.body, retry)
				if again.Status != first.Status || string(again.Body) != string(first.Body) {
					t.Fatalf("retry (%s): %d %s, want %d %s", retry, again.Status, again.Body, first.Status, first.Body)
				}
				for _, h := range []string{"Content-Type", "Cache-Control", "ETag"} {
					if again.Header.Get(h) != first.Header.Get(h) {
						t.Errorf("retry %s %q, first %q", h, again.Header.Get(h), first.Header.Get(h))
					}
				}
			}
			if r.secret != "" && secretOf(first, r.secret) == "" {
				t.Errorf("first response has no %s to replay: %s", r.secret, first.Body)
			}
			if n := e.CountClients(); n != clients {
				t.Errorf("clients %d after the retries, %d before", n, clients)
			}
			// Another key acts again (a different client name / user / rotation).
			if again := e.Do("POST", path, jsonCT, tok, r.other, "Idempotency-Key: key-2"); again.Status != r.status || string(again.Body) == string(first.Body) {
				t.Errorf("another key: %d %s", again.Status, again.Body)
			}
		})
	}
}

func TestIdempotencyKeyWithAnotherRequest(t *testing.T) {
	for _, r := range idemRoutes {
		t.Run(r.name, func(t *testing.T) {
			e, tok, path := idemEnv(t, r)
			if first := e.Do("POST", path, jsonCT, tok, r.body, "Idempotency-Key: key-1"); first.Status != r.status {
				t.Fatalf("first: %d %s", first.Status, first.Body)
			}
			clients := e.CountClients()
			res := e.Do("POST", path, jsonCT, tok, r.other, "Idempotency-Key: key-1")
			if res.Status != http.StatusUnprocessableEntity {
				t.Fatalf("another body: %d %s, want 422", res.Status, res.Body)
			}
			r.checkError(t, res, 422, "")
			if n := e.CountClients(); n != clients {
				t.Errorf("clients %d, %d before", n, clients)
			}
		})
	}
}

func TestIdempotencyAfterReplayWindow(t *testing.T) {
	for _, r := range idemRoutes {
		t.Run(r.name, func(t *testing.T) {
			e, mint, path := idemEnvMint(t, r)
			first := e.Do("POST", path, jsonCT, mint(), r.body, "Idempotency-Key: key-1")
			if first.Status != r.status {
				t.Fatalf("first: %d %s", first.Status, first.Body)
			}
			e.Clock.Advance(time.Hour)
			tok := mint() // the first token has expired
			res := e.Do("POST", path, jsonCT, tok, r.body, "Idempotency-Key: key-1")
			if res.Status != http.StatusConflict {
				t.Fatalf("after the window: %d %s, want 409", res.Status, res.Body)
			}
			r.checkError(t, res, 409, "")
			id := createdID(t, first)
			if !strings.Contains(string(res.Body), id) {
				t.Errorf("409 does not name %q: %s", id, res.Body)
			}
			if r.secret != "" {
				if secret := secretOf(first, r.secret); secret == "" || strings.Contains(string(res.Body), secret) {
					t.Errorf("secret %q missing from the first response or shown again: %s", secret, res.Body)
				}
			}
			// Past 24 h the key is fresh: a different request acts.
			e.Clock.Advance(23 * time.Hour)
			if res := e.Do("POST", path, jsonCT, mint(), r.other, "Idempotency-Key: key-1"); res.Status != r.status {
				t.Errorf("after 24 h: %d %s", res.Status, res.Body)
			}
		})
	}
}

// createdID is the identifier a creating response names first.
func createdID(t *testing.T, r servertest.Response) string {
	t.Helper()
	m := r.Object(t)
	for _, obj := range []map[string]any{m, asObject(m["client"]), asObject(m["user"])} {
		for _, k := range []string{"client_id", "clientId", "id"} {
			if s, ok := obj[k].(string); ok {
				return s
			}
		}
	}
	t.Fatalf("no id in %s", r.Body)
	return ""
}

func asObject(v any) map[string]any { m, _ := v.(map[string]any); return m }

// secretOf is the one-time secret in a 2xx body, at its top level or in
// its client object ("" if none).
func secretOf(r servertest.Response, member string) string {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	if s, ok := m[member].(string); ok {
		return s
	}
	s, _ := asObject(m["client"])[member].(string)
	return s
}

func TestMalformedIdempotencyKey(t *testing.T) {
	keys := []struct{ name, header string }{
		{"empty", "Idempotency-Key: "},
		{"empty string", `Idempotency-Key: ""`},
		{"too long", "Idempotency-Key: " + strings.Repeat("k", 256)},
		{"not ASCII", "Idempotency-Key: caf\u00e9"},
		{"tab", "Idempotency-Key: a\tb"},
		{"unterminated string", `Idempotency-Key: "abc`},
	}
	for _, r := range idemRoutes {
		t.Run(r.name, func(t *testing.T) {
			e, tok, path := idemEnv(t, r)
			clients := e.CountClients()
			for _, k := range keys {
				req, err := http.NewRequest("POST", e.URL+path, strings.NewReader(r.body))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", jsonCT)
				if tok != "" {
					req.Header.Set("Authorization", "Bearer "+tok)
				}
				name, value, _ := strings.Cut(k.header, ": ")
				req.Header[name] = []string{value}
				res := e.Send(req)
				if res.Status != http.StatusBadRequest {
					t.Errorf("%s: %d %s, want 400", k.name, res.Status, res.Body)
					continue
				}
				r.checkError(t, res, 400, "")
			}
			if n := e.CountClients(); n != clients {
				t.Errorf("a malformed key acted: clients %d, %d before", n, clients)
			}
		})
	}
}

// TestWithoutIdempotencyKeyActsTwice: requests without the header behave
// as before.
func TestWithoutIdempotencyKeyActsTwice(t *testing.T) {
	e := servertest.New(t)
	tok := e.TokenWith("clients:create")
	body := idemRoutes[0].body
	a := e.Do("POST", "/v1/admin/oauth-clients", jsonCT, tok, body)
	b := e.Do("POST", "/v1/admin/oauth-clients", jsonCT, tok, body)
	if a.Status != 201 || b.Status != 201 || createdID(t, a) == createdID(t, b) {
		t.Fatalf("two creates: %d %s / %d %s", a.Status, a.Body, b.Status, b.Body)
	}
}

// TestIdempotencyKeyIsPerCaller: another caller's key of the same name is
// another key.
func TestIdempotencyKeyIsPerCaller(t *testing.T) {
	e := servertest.New(t)
	body := idemRoutes[0].body
	a := e.Do("POST", "/v1/admin/oauth-clients", jsonCT, e.TokenWith("clients:create"), body, "Idempotency-Key: shared")
	b := e.Do("POST", "/v1/admin/oauth-clients", jsonCT, e.TokenWith("clients:create"), body, "Idempotency-Key: shared")
	if a.Status != 201 || b.Status != 201 || createdID(t, a) == createdID(t, b) {
		t.Fatalf("two callers: %d %s / %d %s", a.Status, a.Body, b.Status, b.Body)
	}
}

// TestFailedRequestReleasesKey: a request that changed nothing (here a
// validation error) does not hold the key; the corrected retry acts.
func TestFailedRequestReleasesKey(t *testing.T) {
	e := servertest.New(t)
	tok := e.TokenWith("clients:create")
	if res := e.Do("POST", "/v1/admin/oauth-clients", jsonCT, tok, `{"client_name":""}`, "Idempotency-Key: k"); res.Status != 400 {
		t.Fatalf("invalid body: %d %s", res.Status, res.Body)
	}
	if res := e.Do("POST", "/v1/admin/oauth-clients", jsonCT, tok, idemRoutes[0].body, "Idempotency-Key: k"); res.Status != 201 {
		t.Fatalf("corrected retry: %d %s", res.Status, res.Body)
	}
}

// TestIdempotencyAcrossNodes: two servers on one PostgreSQL store; a
// retry that lands on the other node gets the first response, and the
// sealed response never appears in the logs.
func TestIdempotencyAcrossNodes(t *testing.T) {
	dsn := pgtest.FreshDSN(t)
	st, err := postgres.Open(t.Context(), dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := clocktest.New(time.Now())
	logs := &servertest.LockedBuffer{}
	var urls []string
	var apps []*server.App
	for range 2 {
		srv := httptest.NewUnstartedServer(nil)
		app, err := server.Assemble(t.Context(), server.Options{Store: st, Box: sealedtest.Box(t, 7), Issuer: "http://issuer.example",
			AccessTokenTTL: time.Hour, Now: clock.Now, Log: slog.New(slog.NewJSONHandler(logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		srv.Config.Handler = app.Handler
		srv.Start()
		t.Cleanup(srv.Close)
		urls, apps = append(urls, srv.URL), append(apps, app)
	}
	c, _, err := apps[0].Clients.Create(t.Context(), domain.Actor{Root: true}, client.CreateInput{Name: "caller", GrantTypes: []string{client.GrantClientCredentials}, AllowedScopes: []string{"clients:create"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := apps[0].Issuer.Mint(t.Context(), token.Spec{Subject: c.ClientID, ClientID: c.ClientID, Scopes: []string{"clients:create"}})
	if err != nil {
		t.Fatal(err)
	}
	post := func(url, body string) servertest.Response {
		req, err := http.NewRequest("POST", url+"/v1/admin/oauth-clients", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", jsonCT)
		req.Header.Set("Authorization", "Bearer "+m.Raw)
		req.Header.Set("Idempotency-Key", "across")
		return servertest.Fetch(t, req)
	}
	first := post(urls[0], idemRoutes[0].body)
	again := post(urls[1], idemRoutes[0].body)
	if first.Status != 201 || again.Status != 201 || string(first.Body) != string(again.Body) {
		t.Fatalf("node A %d %s, node B %d %s\n%s", first.Status, first.Body, again.Status, again.Body, logs)
	}
	if res := post(urls[1], idemRoutes[0].other); res.Status != 422 {
		t.Errorf("node B, another body: %d %s", res.Status, res.Body)
	}
	if secret := secretOf(first, "client_secret"); secret == "" || strings.Contains(logs.String(), secret) {
		t.Errorf("secret %q missing or logged", secret)
	}
}
