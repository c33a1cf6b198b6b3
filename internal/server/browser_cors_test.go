package server_test

import (
	"context"
	"html/template"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
	"github.com/latchkey/latchkey/internal/user"
)

// appPage is a single-page app served from its own origin: at / it makes
// a PKCE verifier (kept in sessionStorage) and goes to the authorization
// endpoint; at /cb it takes the code, redeems it with fetch at the token
// endpoint, calls /userinfo with the access token (a preflighted request:
// Authorization), redeems the code again to read the error, and writes
// what it saw as JSON into #result. A page from any other origin runs
// the same script; there the browser must block every answer.
var appPage = template.Must(template.New("app").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>SPA</title></head>
<body><pre id="result"></pre>
<script>
const issuer = {{.Issuer}}, clientID = {{.ClientID}}, redirectURI = location.origin + "/cb";
const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const done = (v) => { const r = document.getElementById("result"); r.textContent = JSON.stringify(v); r.dataset.done = "1"; };
async function call(url, init) {
  try {
    const res = await fetch(url, init);
    return { status: res.status, body: await res.json() };
  } catch (e) {
    return { blocked: String(e) };
  }
}
async function redeem(code, verifier) {
  return call(issuer + "/oauth2/token", { method: "POST", body: new URLSearchParams({
    grant_type: "authorization_code", client_id: clientID, code, redirect_uri: redirectURI, code_verifier: verifier }) });
}
async function main() {
  const params = new URLSearchParams(location.search);
  if (location.pathname === "/cb") {
    const verifier = sessionStorage.getItem("verifier");
    if (params.get("state") !== sessionStorage.getItem("state")) return done({ error: "state mismatch" });
    const token = await redeem(params.get("code"), verifier);
    const out = { token };
    if (token.body && token.body.access_token) {
      out.userinfo = await call(issuer + "/userinfo", { headers: { Authorization: "Bearer " + token.body.access_token } });
    }
    out.again = await redeem(params.get("code"), verifier);
    return done(out);
  }
  if (params.has("probe")) {
    // Another origin tries the endpoints directly.
    return done({
      token: await redeem("stolen-code", "x".repeat(43)),
      userinfo: await call(issuer + "/userinfo", { headers: { Authorization: "Bearer x" } }),
      discovery: await call(issuer + "/.well-known/openid-configuration"),
    });
  }
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem("verifier", verifier);
  sessionStorage.setItem("state", state);
  const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  location.assign(issuer + "/oauth2/authorize?" + new URLSearchParams({ response_type: "code", client_id: clientID,
    redirect_uri: redirectURI, scope: "openid profile", state, code_challenge: challenge, code_challenge_method: "S256" }));
}
main().catch((e) => done({ error: String(e) }));
</script></body></html>`))

// TestBrowserCORS runs tests/node/browser-cors.js: in headless Chromium a
// page served from an allowed origin (an httptest server on another
// port) completes the PKCE flow itself and calls the token and userinfo
// endpoints with fetch, reading successes and errors; a page from an
// origin no client lists is blocked by the browser's CORS check, while
// discovery (Allow-Origin: *) stays readable to it.
func TestBrowserCORS(t *testing.T) {
	chromium, required := chromiumOrSkip(t)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	node := nodeOrSkip(ctx, t, required)

	e := servertest.New(t, func(o *server.Options) { o.ClientCacheTTL = server.DefaultClientCacheTTL })
	if _, err := e.App.Users.Create(t.Context(), userActor, user.CreateInput{Username: spaUser, DisplayName: "Nora", Password: spaPassword}); err != nil {
		t.Fatal(err)
	}
	app := httptest.NewUnstartedServer(nil)
	other := httptest.NewServer(nil)
	t.Cleanup(other.Close)
	appOrigin := "http://" + app.Listener.Addr().String()
	spa, _ := e.CreateClient(client.CreateInput{Name: "Browser SPA", Type: client.Public, GrantTypes: []string{client.GrantAuthorizationCode},
		RedirectURIs: []string{appOrigin + "/cb"}, AllowedScopes: []string{"openid", "profile"}, AllowedOrigins: []string{appOrigin}, FirstParty: true})
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := appPage.Execute(w, map[string]string{"Issuer": e.URL, "ClientID": spa.ClientID}); err != nil {
			t.Error(err)
		}
	})
	app.Config.Handler, other.Config.Handler = page, page
	app.Start()
	t.Cleanup(app.Close)

	cmd := exec.CommandContext(ctx, node, "--test", "browser-cors.js")
	cmd.Dir = nodeDir
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium, "ISSUER="+e.URL, "APP_ORIGIN="+appOrigin, "OTHER_ORIGIN="+other.URL,
		"SPA_USERNAME="+spaUser, "SPA_PASSWORD="+spaPassword, "SPA_CLIENT_ID="+spa.ClientID)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test tests/node/browser-cors.js: %v\n%s\nserver log:\n%s", err, out, e.Logs)
	}
	// The userinfo call (Authorization header) needed a preflight, which
	// the browser does not show the page.
	if !strings.Contains(e.Logs.String(), `"method":"OPTIONS","path":"/userinfo","status":204`) {
		t.Errorf("no preflight reached /userinfo; server log:\n%s", e.Logs)
	}
	t.Logf("node --test tests/node/browser-cors.js (%s):\n%s", time.Since(start).Round(time.Millisecond), out)
	noteSkips(t, out)
}
