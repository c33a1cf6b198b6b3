package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/api/register"
	"github.com/latchkey/latchkey/internal/cimd"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/fetch"
	"github.com/latchkey/latchkey/internal/resource"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
	"github.com/latchkey/latchkey/internal/user"
)

// startExample runs the example server on Latchkey e and registers it as
// a resource (its URL + /mcp) with scope mcp:tools. The handler is built
// before the server starts serving: its URL is known from the listener.
func startExample(t *testing.T, e *servertest.Env, name string) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	url := "http://" + srv.Listener.Addr().String()
	h, err := NewHandler(e.URL, url+"/mcp", e.Clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	if srv.URL != url {
		t.Fatalf("server URL %s, want %s", srv.URL, url)
	}
	if _, err := e.App.Resources.Create(t.Context(), domain.Actor{Root: true}, resource.CreateInput{Identifier: url + "/mcp", Name: name, Scopes: []string{"mcp:tools"}}); err != nil {
		t.Fatal(err)
	}
	return srv
}

// Two example servers, A and B, on one Latchkey: a token for A works at
// A and is refused by B.
func TestTokenForAIsRefusedByB(t *testing.T) {
	e := servertest.New(t)
	servers := map[string]*httptest.Server{}
	for _, name := range []string{"a", "b"} {
		servers[name] = startExample(t, e, name)
	}
	c, secret := e.ServiceClient("agent", "mcp:tools")
	r := e.Do("POST", "/oauth2/token", "application/x-www-form-urlencoded", "", "grant_type=client_credentials&resource="+url.QueryEscape(servers["a"].URL+"/mcp"),
		"Authorization: "+servertest.BasicAuth(c.ClientID, secret.Expose()))
	if r.Status != 200 {
		t.Fatalf("token: %d %s", r.Status, r.Body)
	}
	tok := r.Object(t)["access_token"].(string)
	call := func(srv *httptest.Server, token string) (int, string, map[string]any) {
		req, _ := http.NewRequest("POST", srv.URL+"/mcp", strings.NewReader(`{"tool":"whoami"}`))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(res.Body).Decode(&body)
		return res.StatusCode, res.Header.Get("WWW-Authenticate"), body
	}
	if status, _, body := call(servers["a"], tok); status != 200 || body["result"].(map[string]any)["client_id"] != c.ClientID {
		t.Errorf("A with A's token: %d %v", status, body)
	}
	if status, ch, _ := call(servers["b"], tok); status != 401 || !strings.Contains(ch, `error="invalid_token"`) {
		t.Errorf("B with A's token: %d %q", status, ch)
	}
	// Without a token, the challenge leads to the metadata, which leads
	// to Latchkey.
	status, ch, _ := call(servers["b"], "")
	want := `resource_metadata="` + servers["b"].URL + `/.well-known/oauth-protected-resource/mcp"`
	if status != 401 || !strings.Contains(ch, want) {
		t.Fatalf("no token: %d %q", status, ch)
	}
	res, err := http.Get(servers["b"].URL + "/.well-known/oauth-protected-resource/mcp")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var meta struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
	}
	if err := json.NewDecoder(res.Body).Decode(&meta); err != nil || meta.Resource != servers["b"].URL+"/mcp" || len(meta.AuthorizationServers) != 1 || meta.AuthorizationServers[0] != e.URL {
		t.Errorf("metadata %+v %v", meta, err)
	}
}

// TestMCPSDK runs tests/node/mcp-sdk.js: the MCP TypeScript SDK's auth()
// flow against this server and Latchkey with open registration, then with
// a Client ID Metadata Document, then with one whose client authenticates
// with private_key_jwt (keys at a jwks_uri), each ending with a refresh. Without
// node it skips visibly, unless LATCHKEY_REQUIRE_NODE=1.
func TestMCPSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the MCP SDK test starts node")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	required := ""
	if os.Getenv("LATCHKEY_REQUIRE_NODE") == "1" {
		required = "LATCHKEY_REQUIRE_NODE=1"
	}
	nodeDir := filepath.Join("..", "..", "tests", "node")
	node := servertest.NodeOrSkip(ctx, t, nodeDir, required)
	// Zero glue: the server runs with the default scopes; mcp:tools is
	// only the registered resource's scope, which the self-registered
	// client (DCR with "scope":"mcp:tools") and the documents' clients
	// (no scope member) may hold because a resource defines it.
	// The second run's client_id is a Client ID Metadata Document URL:
	// the document is served here over TLS on loopback, which the
	// server's fetcher is told to allow and trust.
	// The third run's document says private_key_jwt, with its key set
	// at a jwks_uri on the same server.
	key := servertest.NewClientKey(t, "mcp-agent-1")
	docs := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		doc := map[string]any{
			"client_id": "https://" + r.Host + r.URL.Path, "client_name": "MCP SDK metadata document agent",
			"redirect_uris": []string{"http://127.0.0.1:53682/callback"}, "grant_types": []string{"authorization_code", "refresh_token"},
			"response_types": []string{"code"}, "token_endpoint_auth_method": "none",
		}
		switch r.URL.Path {
		case "/mcp-agent.json":
		case "/mcp-signed-agent.json":
			doc["client_name"] = "MCP SDK signed agent"
			doc["token_endpoint_auth_method"] = "private_key_jwt"
			doc["jwks_uri"] = "https://" + r.Host + "/jwks"
		case "/jwks":
			fmt.Fprint(w, servertest.JWKS(t, key))
			return
		default:
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(docs.Close)
	pool := docs.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	e := servertest.New(t, func(o *server.Options) {
		o.Registration = register.ModeOpen
		o.MetadataDocuments = &cimd.Config{AllowLoopback: true, RootCAs: pool}
		o.ClientKeys = fetch.Config{AllowLoopback: true, RootCAs: pool}
	})
	e.FollowWallClock()
	if _, err := e.App.Users.Create(t.Context(), domain.Actor{Root: true}, user.CreateInput{Username: "mia", Password: "mcp sign-in passphrase"}); err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, name := range []string{"tools", "other"} {
		urls = append(urls, startExample(t, e, name).URL+"/mcp")
	}
	cmd := exec.CommandContext(ctx, node, "--test", "mcp-sdk.js")
	cmd.Dir = nodeDir
	cmd.Env = append(os.Environ(), "ISSUER="+e.URL, "MCP_SERVER_URL="+urls[0], "MCP_OTHER_SERVER_URL="+urls[1],
		"MCP_USERNAME=mia", "MCP_PASSWORD=mcp sign-in passphrase", "MCP_CLIENT_METADATA_URL="+docs.URL+"/mcp-agent.json",
		"MCP_SIGNED_METADATA_URL="+docs.URL+"/mcp-signed-agent.json", "MCP_SIGNED_PRIVATE_JWK="+key.PrivateJWK(t))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test mcp-sdk.js: %v\n%s\nserver log:\n%s", err, out, e.Logs)
	}
	if !strings.Contains(string(out), "# pass 3") {
		t.Fatalf("the MCP SDK test did not run and pass:\n%s", out)
	}
	t.Logf("node --test mcp-sdk.js:\n%s", out)
}

// The metadata is served exactly at rs.MetadataURL of the resource: a
// trailing slash and a query are the resource's own (RFC 9728 §3.1).
func TestMetadataAtItsURL(t *testing.T) {
	for _, tt := range []struct {
		resource, get string
		status        int
	}{
		{"https://mcp.example/mcp/", "/.well-known/oauth-protected-resource/mcp/", 200},
		{"https://mcp.example/mcp/", "/.well-known/oauth-protected-resource/mcp", 404},
		{"https://mcp.example/mcp/", "/.well-known/oauth-protected-resource/mcp/x", 404},
		{"https://mcp.example/mcp", "/.well-known/oauth-protected-resource/mcp/", 404},
		{"https://mcp.example/mcp?tenant=1", "/.well-known/oauth-protected-resource/mcp?tenant=1", 200},
		{"https://mcp.example/mcp?tenant=1", "/.well-known/oauth-protected-resource/mcp?tenant=2", 404},
	} {
		h, err := NewHandler("https://as.example", tt.resource, nil)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "https://mcp.example"+tt.get, nil))
		if rec.Code != tt.status {
			t.Errorf("%s: GET %s: %d, want %d", tt.resource, tt.get, rec.Code, tt.status)
		}
	}
}
