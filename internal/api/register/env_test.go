package register_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/api/register"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
)

// env is the shared test server plus this package's registration
// helpers, which fail t rather than returning errors.
type env struct {
	*servertest.Env
	t *testing.T
}

func newEnv(t *testing.T, mode register.Mode) *env {
	t.Helper()
	return &env{Env: servertest.New(t, func(o *server.Options) { o.Registration = mode }), t: t}
}

// do sends a request; body "" sends none, token "" sends no
// Authorization header.
func (e *env) do(method, path, token, body string) servertest.Response {
	e.t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	return e.Do(method, path, ct, token, body)
}

// register posts body to /oauth2/register and requires a 201.
func (e *env) register(token, body string) map[string]any {
	e.t.Helper()
	r := e.do("POST", "/oauth2/register", token, body)
	if r.Status != http.StatusCreated {
		e.t.Fatalf("register: status %d, want 201: %s", r.Status, r.Body)
	}
	return r.Object(e.t)
}

// introspect asks whether tok is active, authenticating as a fresh
// confidential client that may introspect any token.
func (e *env) introspect(tok string) bool {
	e.t.Helper()
	c, secret := e.ServiceClient("introspector", client.ScopeTokensIntrospect)
	req, _ := http.NewRequest("POST", e.URL+"/oauth2/introspect", strings.NewReader(url.Values{"token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", servertest.BasicAuth(c.ClientID, secret.Expose()))
	r := e.Send(req)
	if r.Status != http.StatusOK {
		e.t.Fatalf("introspect: %d %s", r.Status, r.Body)
	}
	active, _ := r.Object(e.t)["active"].(bool)
	return active
}

// path returns the path of a registration_client_uri.
func path(t *testing.T, registrationClientURI any) string {
	t.Helper()
	s, _ := registrationClientURI.(string)
	u, err := url.Parse(s)
	if err != nil || s == "" {
		t.Fatalf("registration_client_uri %v is not a URL", registrationClientURI)
	}
	return u.Path
}
