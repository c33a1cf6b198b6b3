package cimd_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/cimd"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/clocktest"
	"github.com/latchkey/latchkey/internal/netguard"
)

var scopes = []string{"openid", "api:public"}

func doc(clientID string, extra ...string) string {
	s := fmt.Sprintf(`{"client_id":%q,"client_name":"Agent","redirect_uris":["http://127.0.0.1:9999/cb"]`, clientID)
	for _, e := range extra {
		s += "," + e
	}
	return s + "}"
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"https://app.example.com/client.json", true},
		{"https://app.example.com:8443/oauth/client?v=1", true},
		{"http://app.example.com/client.json", false},
		{"https://app.example.com", false},
		{"https://app.example.com/", false},
		{"https://app.example.com/a/../client.json", false},
		{"https://app.example.com/./client.json", false},
		{"https://app.example.com/a/%2e%2e/client.json", false},
		{"https://app.example.com/client.json#frag", false},
		{"https://user:pw@app.example.com/client.json", false},
		{"https:///client.json", false},
		{"https://app.example.com/" + strings.Repeat("a", 300), false},
		{"https://app.example.com/\xff", false},
		{"HTTPS://app.example.com/client.json", false},
	} {
		if _, err := cimd.ParseURL(tc.id); (err == nil) != tc.ok {
			t.Errorf("ParseURL(%q): %v, want ok=%v", tc.id, err, tc.ok)
		} else if err != nil && (!errors.Is(err, cimd.ErrInvalid) || !errors.Is(err, client.ErrNotFound)) {
			t.Errorf("ParseURL(%q): %v does not wrap ErrInvalid and client.ErrNotFound", tc.id, err)
		}
	}
}

func TestParseDocument(t *testing.T) {
	const id = "https://app.example.com/client.json"
	for _, tc := range []struct {
		name string
		body string
		want string // "" → valid; else a fragment of the error
	}{
		{"minimal", doc(id), ""},
		{"refresh grant", doc(id, `"grant_types":["authorization_code","refresh_token"]`, `"response_types":["code"]`), ""},
		{"method none", doc(id, `"token_endpoint_auth_method":"none"`), ""},
		{"wrong client_id", doc("https://evil.example.com/client.json"), "client_id"},
		{"client_id with a trailing slash", doc(id + "/"), "client_id"},
		{"no redirect_uris", fmt.Sprintf(`{"client_id":%q}`, id), "redirect_uris"},
		{"client_secret", doc(id, `"client_secret":"s"`), "client_secret"},
		{"client_secret_expires_at", doc(id, `"client_secret_expires_at":0`), "client_secret"},
		{"private_key_jwt without keys", doc(id, `"token_endpoint_auth_method":"private_key_jwt"`), "jwks"},
		{"private_key_jwt with both", doc(id, `"token_endpoint_auth_method":"private_key_jwt"`, `"jwks_uri":"https://app.example.com/jwks"`, `"jwks":{"keys":[]}`), "not both"},
		{"private_key_jwt with an http jwks_uri", doc(id, `"token_endpoint_auth_method":"private_key_jwt"`, `"jwks_uri":"http://app.example.com/jwks"`), "https"},
		{"private_key_jwt with a private key", doc(id, `"token_endpoint_auth_method":"private_key_jwt"`, `"jwks":{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}]}`), "private member"},
		{"private_key_jwt with an HS alg", doc(id, `"token_endpoint_auth_method":"private_key_jwt"`, `"jwks_uri":"https://app.example.com/jwks"`, `"token_endpoint_auth_signing_alg":"HS256"`), "token_endpoint_auth_signing_alg"},
		{"jwks_uri without private_key_jwt", doc(id, `"jwks_uri":"https://app.example.com/jwks"`), "private_key_jwt"},
		{"client_secret_basic", doc(id, `"token_endpoint_auth_method":"client_secret_basic"`), "none or private_key_jwt"},
		{"client_credentials", doc(id, `"grant_types":["authorization_code","client_credentials"]`), "grant_types"},
		{"no authorization_code", doc(id, `"grant_types":["refresh_token"]`), "authorization_code"},
		{"token response type", doc(id, `"response_types":["token"]`), "response_types"},
		{"not JSON", `{"client_id":`, "JSON"},
		{"an array", `[]`, "JSON"},
		{"wrong type", fmt.Sprintf(`{"client_id":%q,"redirect_uris":"http://127.0.0.1/cb"}`, id), "types"},
		{"not UTF-8", "{\"client_id\":\"\xff\"}", "UTF-8"},
		{"javascript redirect", fmt.Sprintf(`{"client_id":%q,"redirect_uris":["javascript:alert(1)"]}`, id), "redirect_uris"},
		{"internal client_uri", doc(id, `"client_uri":"https://10.0.0.1/"`), "client_uri"},
		{"no allowed scope left", doc(id, `"scope":"admin"`), "allowed_scopes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := cimd.ParseDocument(id, []byte(tc.body), scopes)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, cimd.ErrInvalid)):
				t.Fatalf("err %v, want one mentioning %q", err, tc.want)
			case err == nil && (c.ClientID != id || c.Type != client.Public || c.TokenEndpointAuthMethod != client.AuthMethodNone || !c.Enabled ||
				c.FirstParty || !c.HasGrant(client.GrantAuthorizationCode) || len(c.Secrets) != 0):
				t.Fatalf("client %+v", c)
			}
		})
	}
	// private_key_jwt with jwks_uri: a confidential client without a
	// secret, which authenticates with assertions signed by those keys.
	for name, extra := range map[string]string{
		"jwks_uri": `"jwks_uri":"https://app.example.com/jwks"`,
		"jwks":     `"jwks": {"keys": [{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k1"}]}`,
	} {
		c, err := cimd.ParseDocument(id, []byte(doc(id, `"token_endpoint_auth_method":"private_key_jwt"`, extra, `"token_endpoint_auth_signing_alg":"EdDSA"`)), scopes)
		if err != nil || c.Type != client.Confidential || c.TokenEndpointAuthMethod != client.AuthMethodPrivateKeyJWT || len(c.Secrets) != 0 ||
			c.AssertionAlg != "EdDSA" || (name == "jwks_uri") != (c.JWKSURI != "") || (name == "jwks") != (len(c.JWKS) > 0) || strings.Contains(string(c.JWKS), " ") {
			t.Errorf("private_key_jwt with %s: %+v, %v", name, c, err)
		}
	}
	c, err := cimd.ParseDocument(id, []byte(fmt.Sprintf(`{"client_id":%q,"redirect_uris":["https://app.example.com/cb"],"scope":"openid admin"}`, id)), scopes)
	if err != nil || c.Name != "app.example.com" || strings.Join(c.AllowedScopes, " ") != "openid" {
		t.Errorf("defaults: %+v, %v", c, err)
	}
}

// docServer is a TLS server on 127.0.0.1 serving handler, counting the
// requests it gets.
type docServer struct {
	*httptest.Server
	hits atomic.Int32
}

func newDocServer(t *testing.T, handler http.HandlerFunc) *docServer {
	d := &docServer{}
	d.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.hits.Add(1)
		handler(w, r)
	}))
	t.Cleanup(d.Close)
	return d
}

// url is the document URL on host (the server's own address by default)
// and its port.
func (d *docServer) url(host string) string {
	_, port, _ := net.SplitHostPort(d.Listener.Addr().String())
	if host == "" {
		host = "127.0.0.1"
	}
	return "https://" + net.JoinHostPort(host, port) + "/client.json"
}

func serveDoc(cacheControl string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if cacheControl != "" {
			w.Header().Set("Cache-Control", cacheControl)
		}
		host := r.Host
		fmt.Fprint(w, doc("https://"+host+r.URL.Path))
	}
}

func resolver(t *testing.T, d *docServer, cfg cimd.Config) *cimd.Resolver {
	cfg.RootCAs = d.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	if cfg.Scopes == nil {
		cfg.Scopes = scopes
	}
	return cimd.New(cfg)
}

// TestRefusedAddresses: a document on an internal address is never
// fetched: the canary (the document server itself, on loopback) gets no
// request whatever name or spelling leads to an internal address.
func TestRefusedAddresses(t *testing.T) {
	canary := newDocServer(t, serveDoc(""))
	names := map[string][]netip.Addr{
		"loopback.test":    {netip.MustParseAddr("127.0.0.1")},
		"loopback6.test":   {netip.MustParseAddr("::1")},
		"mapped.test":      {netip.MustParseAddr("::ffff:127.0.0.1")},
		"private.test":     {netip.MustParseAddr("10.1.2.3")},
		"private172.test":  {netip.MustParseAddr("172.16.0.1")},
		"private192.test":  {netip.MustParseAddr("192.168.1.1")},
		"linklocal.test":   {netip.MustParseAddr("169.254.169.254")},
		"linklocal6.test":  {netip.MustParseAddr("fe80::1")},
		"cgnat.test":       {netip.MustParseAddr("100.64.0.1")},
		"ula.test":         {netip.MustParseAddr("fd12:3456::1")},
		"unspecified.test": {netip.MustParseAddr("0.0.0.0")},
		"multicast.test":   {netip.MustParseAddr("224.0.0.1")},
		"multicast6.test":  {netip.MustParseAddr("ff05::1")},
		"nat64.test":       {netip.MustParseAddr("64:ff9b::a00:1")},
		// One internal address among public ones refuses the name.
		"mixed.test": {netip.MustParseAddr("93.184.215.14"), netip.MustParseAddr("127.0.0.1")},
	}
	lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
		if a, ok := names[host]; ok {
			return a, nil
		}
		return nil, fmt.Errorf("no such host %s", host)
	}
	r := resolver(t, canary, cimd.Config{Lookup: lookup})
	hosts := []string{"127.0.0.1", "[::1]", "0x7f.1", "2130706433", "[::ffff:127.0.0.1]", "10.0.0.1", "169.254.169.254", "100.100.1.1", "[fd00::1]", "0.0.0.0", "localhost"}
	for name := range names {
		hosts = append(hosts, name)
	}
	for _, h := range hosts {
		id := canary.url(strings.Trim(h, "[]"))
		if _, err := r.Resolve(t.Context(), id); err == nil || !errors.Is(err, client.ErrNotFound) {
			t.Errorf("%s: resolved or wrong error: %v", h, err)
		}
	}
	// Names that resolve go as far as the dialer, which names the class.
	for name, want := range map[string]string{"cgnat.test": netguard.ClassCGNAT, "ula.test": netguard.ClassULA, "linklocal.test": netguard.ClassLinkLocal,
		"private.test": netguard.ClassPrivate, "multicast.test": netguard.ClassMulticast, "unspecified.test": netguard.ClassUnspecified, "loopback.test": netguard.ClassLoopback} {
		_, err := r.Resolve(t.Context(), canary.url(name))
		if !errors.Is(err, netguard.ErrRefused) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a refusal naming %s", name, err, want)
		}
	}
	if n := canary.hits.Load(); n != 0 {
		t.Fatalf("the canary got %d requests", n)
	}
	// With the development flag, loopback (only) is reached.
	dev := resolver(t, canary, cimd.Config{Lookup: lookup, AllowLoopback: true})
	if _, err := dev.Resolve(t.Context(), canary.url("")); err != nil {
		t.Fatalf("loopback allowed: %v", err)
	}
	if _, err := dev.Resolve(t.Context(), canary.url("private.test")); !errors.Is(err, netguard.ErrRefused) {
		t.Errorf("private with loopback allowed: %v", err)
	}
}

func TestFetchLimits(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	cases := []struct {
		name    string
		handler http.HandlerFunc
		id      func(d *docServer) string
		want    string
	}{
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/other.json", http.StatusFound)
		}, nil, "redirect"},
		{"oversize with length", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, doc("https://"+r.Host+r.URL.Path, `"x":"`+strings.Repeat("a", 6<<10)+`"`))
		}, nil, "larger"},
		{"oversize chunked", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			for range 6 {
				fmt.Fprint(w, strings.Repeat(" ", 1<<10))
				w.(http.Flusher).Flush()
			}
		}, nil, "larger"},
		{"slow body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"client_id":`)
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}, nil, "read"},
		{"slow headers", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}, nil, "fetch"},
		{"not found", http.NotFound, nil, "404"},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, doc("https://"+r.Host+r.URL.Path))
		}, nil, "application/json"},
		{"wrong client_id", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, doc("https://"+r.Host+"/another.json"))
		}, nil, "client_id"},
		{"http", serveDoc(""), func(d *docServer) string { return strings.Replace(d.url(""), "https:", "http:", 1) }, "https"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newDocServer(t, tc.handler)
			r := resolver(t, d, cimd.Config{AllowLoopback: true, Timeout: 300 * time.Millisecond})
			id := d.url("")
			if tc.id != nil {
				id = tc.id(d)
			}
			start := time.Now()
			_, err := r.Resolve(t.Context(), id)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, client.ErrNotFound) {
				t.Fatalf("err %v, want one mentioning %q", err, tc.want)
			}
			if time.Since(start) > 3*time.Second {
				t.Errorf("took %s despite the 300ms timeout", time.Since(start))
			}
		})
	}
}

func TestHostPatterns(t *testing.T) {
	d := newDocServer(t, serveDoc(""))
	for _, tc := range []struct {
		allow, block []string
		ok           bool
	}{
		{nil, nil, true},
		{[]string{"127.0.0.1"}, nil, true},
		{[]string{"*.example.com"}, nil, false},
		{nil, []string{"127.0.0.1"}, false},
		{[]string{"127.0.0.1"}, []string{"127.0.0.1"}, false},
	} {
		r := resolver(t, d, cimd.Config{AllowLoopback: true, AllowHosts: tc.allow, BlockHosts: tc.block})
		if _, err := r.Resolve(t.Context(), d.url("")); (err == nil) != tc.ok {
			t.Errorf("allow %v block %v: %v", tc.allow, tc.block, err)
		}
	}
	for _, tc := range []struct {
		pattern, host string
		want          bool
	}{
		{"app.example.com", "app.example.com", true},
		{"APP.example.com.", "app.example.com", true},
		{"*.example.com", "app.example.com", true},
		{"*.example.com", "a.b.example.com", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "badexample.com", false},
		{"example.com", "app.example.com", false},
	} {
		if got := cimd.MatchHost(tc.pattern, tc.host); got != tc.want {
			t.Errorf("MatchHost(%q, %q) = %v", tc.pattern, tc.host, got)
		}
	}
}

func TestCache(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	for _, tc := range []struct {
		cacheControl string
		fresh        time.Duration // still cached after this long
		stale        time.Duration // fetched again after this long
	}{
		{"", cimd.DefaultTTL - time.Second, cimd.DefaultTTL},
		{"max-age=600", 599 * time.Second, 600 * time.Second},
		{"public, max-age=1", cimd.MinTTL - time.Second, cimd.MinTTL},
		{"max-age=9999999", cimd.MaxTTL - time.Second, cimd.MaxTTL},
		{"no-store", -1, 0},
	} {
		t.Run(tc.cacheControl, func(t *testing.T) {
			d := newDocServer(t, serveDoc(tc.cacheControl))
			r := resolver(t, d, cimd.Config{AllowLoopback: true, Now: clock.Now})
			id := d.url("")
			start := clock.Now()
			if _, err := r.Resolve(t.Context(), id); err != nil {
				t.Fatal(err)
			}
			if tc.fresh >= 0 {
				clock.Set(start.Add(tc.fresh))
				if _, err := r.Resolve(t.Context(), id); err != nil || d.hits.Load() != 1 {
					t.Errorf("after %s: %d fetches, %v; want the cached document", tc.fresh, d.hits.Load(), err)
				}
			}
			clock.Set(start.Add(tc.stale))
			if _, err := r.Resolve(t.Context(), id); err != nil || d.hits.Load() != 2 {
				t.Errorf("after %s: %d fetches, %v; want a second fetch", tc.stale, d.hits.Load(), err)
			}
		})
	}
	// The cache is bounded: the least recently used document goes.
	d := newDocServer(t, serveDoc(""))
	r := resolver(t, d, cimd.Config{AllowLoopback: true, CacheSize: 2, Now: clock.Now})
	base := strings.TrimSuffix(d.url(""), "/client.json")
	for _, p := range []string{"/a.json", "/b.json", "/a.json", "/c.json"} {
		if _, err := r.Resolve(t.Context(), base+p); err != nil {
			t.Fatal(err)
		}
	}
	if r.Len() != 2 || d.hits.Load() != 3 {
		t.Fatalf("len %d, fetches %d", r.Len(), d.hits.Load())
	}
	if _, err := r.Resolve(t.Context(), base+"/a.json"); err != nil || d.hits.Load() != 3 {
		t.Errorf("recently used a.json was evicted (%d fetches)", d.hits.Load())
	}
	if _, err := r.Resolve(t.Context(), base+"/b.json"); err != nil || d.hits.Load() != 4 {
		t.Errorf("least recently used b.json was kept (%d fetches)", d.hits.Load())
	}
}

func TestCacheTTL(t *testing.T) {
	for _, tc := range []struct {
		h    []string
		want time.Duration
	}{
		{nil, cimd.DefaultTTL},
		{[]string{"max-age=3600"}, time.Hour},
		{[]string{"private", "MAX-AGE=120"}, 2 * time.Minute},
		{[]string{"max-age=0"}, cimd.MinTTL},
		{[]string{"max-age=-5"}, cimd.DefaultTTL},
		{[]string{"max-age=abc"}, cimd.DefaultTTL},
		{[]string{"max-age=99999999999999999999"}, cimd.DefaultTTL},
		{[]string{"max-age=999999999"}, cimd.MaxTTL},
		{[]string{"max-age=600, no-store"}, 0},
		{[]string{"no-cache"}, 0},
	} {
		if got := cimd.CacheTTL(tc.h); got != tc.want {
			t.Errorf("CacheTTL(%q) = %s, want %s", tc.h, got, tc.want)
		}
	}
}

func FuzzParseDocument(f *testing.F) {
	const id = "https://app.example.com/client.json"
	f.Add([]byte(doc(id)))
	f.Add([]byte(doc(id, `"grant_types":["authorization_code","refresh_token"]`, `"scope":"openid"`)))
	f.Add([]byte(doc(id, `"client_secret":"x"`)))
	f.Add([]byte(`{"client_id":null,"redirect_uris":[null]}`))
	f.Add([]byte("\xff\xfe"))
	f.Add([]byte(`{"client_id":"` + id + `","client_id":"https://evil.example/"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := cimd.ParseDocument(id, body, scopes)
		if err != nil {
			if !errors.Is(err, cimd.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if c.ClientID != id || c.Type != client.Public || len(c.RedirectURIs) == 0 || c.TokenEndpointAuthMethod != client.AuthMethodNone {
			t.Fatalf("accepted %q as %+v", body, c)
		}
		for _, s := range c.AllowedScopes {
			if s != "openid" && s != "api:public" {
				t.Fatalf("scope %q beyond the allowed ones", s)
			}
		}
	})
}

// BenchmarkResolveWarm is resolution of a cached document, the cost every
// authorization and token request by such a client pays.
func BenchmarkResolveWarm(b *testing.B) {
	d := &docServer{}
	d.Server = httptest.NewTLSServer(serveDoc("max-age=3600"))
	defer d.Close()
	r := cimd.New(cimd.Config{AllowLoopback: true, Scopes: scopes, RootCAs: d.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs})
	id := d.url("")
	if _, err := r.Resolve(context.Background(), id); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Resolve(context.Background(), id); err != nil {
			b.Fatal(err)
		}
	}
}
