package client

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/domain/domaintest"
	"github.com/latchkey/latchkey/internal/netguard"
)

func TestRedirectURIProblem(t *testing.T) {
	long := "https://a.example/" + strings.Repeat("a", MaxURILen-len("https://a.example/"))
	tests := []problemCase{
		// Accepted.
		{"https absolute", "https://a.example/cb", true},
		{"https with port and query", "https://a.example:8443/cb?x=1&y=2", true},
		{"https uppercase scheme", "HTTPS://a.example/cb", true},
		{"https exactly max length", long, true},
		{"http loopback v4", "http://127.0.0.1/cb", true},
		{"http loopback v4 with port", "http://127.0.0.1:51004/cb", true},
		{"http loopback other 127/8", "http://127.0.0.2/cb", true},
		{"http loopback v6", "http://[::1]/cb", true},
		{"http loopback v6 with port", "http://[::1]:8080/cb", true},
		{"http localhost", "http://localhost/cb", true},
		{"http localhost uppercase", "http://LOCALHOST:3000/cb", true},
		{"private-use scheme", "com.example.app:/cb", true},
		{"private-use scheme with authority", "com.example.app://cb", true},

		// Rejected.
		{"empty", "", false},
		{"over max length", long + "a", false},
		{"http non-loopback", "http://a.example/cb", false},
		{"http loopback-looking subdomain", "http://127.0.0.1.evil.example/cb", false},
		{"http localhost-looking subdomain", "http://localhost.evil.example/cb", false},
		{"http unspecified address", "http://0.0.0.0/cb", false},
		{"http empty host", "http:///cb", false},
		{"https empty host", "https:///cb", false},
		{"https only port", "https://:443/cb", false},
		{"https opaque", "https:a.example", false},
		{"fragment", "https://a.example/cb#frag", false},
		{"empty fragment", "https://a.example/cb#", false},
		{"wildcard host", "https://*.a.example/cb", false},
		{"wildcard path", "https://a.example/*", false},
		{"javascript", "javascript:alert(1)", false},
		{"javascript mixed case", "JavaScript:alert(1)", false},
		{"javascript with slashes", "javascript://a.example/%0aalert(1)", false},
		{"data", "data:text/html,<script>alert(1)</script>", false},
		{"vbscript", "vbscript:msgbox(1)", false},
		{"file", "file:///etc/passwd", false},
		{"blob", "blob:https://a.example/uuid", false},
		{"about", "about:blank", false},
		{"relative path", "/cb", false},
		{"relative no slash", "cb", false},
		{"scheme-relative", "//a.example/cb", false},
		{"userinfo https", "https://user:pass@a.example/cb", false},
		{"userinfo user only", "https://user@a.example/cb", false},
		{"userinfo loopback", "http://user@127.0.0.1/cb", false},
		{"userinfo private-use", "com.example.app://user@host/cb", false},
		{"space", "https://a.example/c b", false},
		{"leading space", " https://a.example/cb", false},
		{"trailing space", "https://a.example/cb ", false},
		{"tab", "https://a.example/\tcb", false},
		{"newline", "https://a.example/cb\n", false},
		{"NUL", "https://a.example/\x00", false},
		{"DEL", "https://a.example/\x7f", false},
		{"backslash", `https://a.example\@evil.example/cb`, false},
		{"bad percent escape", "https://a.example/%zz", false},
		{"private-use scheme without dot", "myapp:/cb", false},
		{"private-use scheme too short", "a.:/cb", false},
		{"ws scheme", "ws://a.example/cb", false},
	}
	checkProblems(t, "RedirectURIProblem", RedirectURIProblem, tests)
}

// problemCase is an input of a ...Problem function and whether it is
// accepted.
type problemCase struct {
	name, in string
	ok       bool
}

// checkProblems requires problem to accept (return "" for) the cases that
// are ok and reject the rest.
func checkProblems(t *testing.T, fn string, problem func(string) string, cases []problemCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			got := problem(tt.in)
			if tt.ok && got != "" {
				t.Errorf("%s(%q) = %q, want accepted", fn, tt.in, got)
			}
			if !tt.ok && got == "" {
				t.Errorf("%s(%q) accepted, want rejected", fn, tt.in)
			}
		})
	}
}

func TestScopeProblem(t *testing.T) {
	tests := []problemCase{
		{"simple", "openid", true},
		{"colon", "clients:create", true},
		{"url-like", "https://api.example/read", true},
		{"lowest allowed 0x21", "!", true},
		{"range 0x23-0x5B", "#$%&'()*+,-./0123456789:;<=>?@ABCXYZ[", true},
		{"range 0x5D-0x7E", "]^_`abcxyz{|}~", true},
		{"exactly max length", strings.Repeat("s", MaxScopeLen), true},

		{"empty", "", false},
		{"too long", strings.Repeat("s", MaxScopeLen+1), false},
		{"double quote", `a"b`, false},
		{"backslash", `a\b`, false},
		{"space", "a b", false},
		{"leading space", " a", false},
		{"tab", "a\tb", false},
		{"newline", "a\n", false},
		{"NUL", "a\x00", false},
		{"DEL", "a\x7f", false},
		{"non-ASCII", "scopé", false},
		{"non-ASCII emoji", "🔑", false},
		{"invalid UTF-8", "a\xff", false},
	}
	checkProblems(t, "ScopeProblem", ScopeProblem, tests)
}

func TestScopeProblemEveryByte(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e)
		got := ScopeProblem(string([]byte{'a', byte(c), 'z'})) == ""
		if got != want {
			t.Errorf("byte 0x%02x: accepted=%v, want %v", c, got, want)
		}
	}
}

func TestIsLoopbackHost(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"LOCALHOST", true},
		{"LocalHost", true},
		{"127.0.0.1", true},
		{"127.255.255.254", true},
		{"::1", true},
		{"0:0:0:0:0:0:0:1", true},
		{"", false},
		{"[::1]", false}, // brackets must already be stripped
		{"127.0.0.1:80", false},
		{"localhost.", false},
		{"localhost.localdomain", false},
		{"evil-localhost", false},
		{"127.0.0.1.evil.example", false},
		{"0.0.0.0", false},
		{"::", false},
		{"10.0.0.1", false},
		{"a.example", false},
	}
	for _, tt := range tests {
		if got := IsLoopbackHost(tt.host); got != tt.want {
			t.Errorf("IsLoopbackHost(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

// validClient returns a client that passes validate; each case mutates one
// aspect of it.
func validClient() Client {
	return Client{
		ID:             "0190b6d4-0000-7000-8000-000000000000",
		ClientID:       "client-1",
		Name:           "Example App",
		Type:           Confidential,
		RedirectURIs:   []string{"https://a.example/cb"},
		AllowedScopes:  []string{"openid", "profile"},
		AllowedOrigins: []string{"https://a.example"},
		GrantTypes:     []string{GrantAuthorizationCode, GrantRefreshToken},
		ClientURI:      "https://a.example/",
		LogoURI:        "https://a.example/logo.png",
		BrandID:        DefaultBrandID,
		Enabled:        true,
	}
}

func repeatList(format string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i)
	}
	return out
}

func TestValidateValid(t *testing.T) {
	valid := map[string]func(c *Client){
		"baseline":                       func(c *Client) {},
		"name of max characters":         func(c *Client) { c.Name = strings.Repeat("a", MaxNameLen) },
		"multibyte name of max chars":    func(c *Client) { c.Name = strings.Repeat("é", MaxNameLen) }, // 510 bytes
		"4-byte name of max chars":       func(c *Client) { c.Name = strings.Repeat("🔑", MaxNameLen) },
		"single character name":          func(c *Client) { c.Name = "x" },
		"public client auth code":        func(c *Client) { c.Type = Public },
		"confidential client creds":      func(c *Client) { c.GrantTypes = []string{GrantClientCredentials}; c.RedirectURIs = nil },
		"confidential password":          func(c *Client) { c.GrantTypes = []string{GrantPassword} },
		"all grant types":                func(c *Client) { c.GrantTypes = append([]string(nil), KnownGrantTypes...) },
		"no redirects without auth code": func(c *Client) { c.GrantTypes = []string{GrantClientCredentials}; c.RedirectURIs = []string{} },
		"no origins":                     func(c *Client) { c.AllowedOrigins = nil },
		"loopback origin":                func(c *Client) { c.AllowedOrigins = []string{"http://localhost:3000", "http://127.0.0.1:8080"} },
		"origin with port":               func(c *Client) { c.AllowedOrigins = []string{"https://a.example:8443"} },
		"max list length":                func(c *Client) { c.AllowedScopes = repeatList("s%d", MaxListLen) },
		"max redirect list":              func(c *Client) { c.RedirectURIs = repeatList("https://a.example/cb%d", MaxListLen) },
		"no client or logo uri":          func(c *Client) { c.ClientURI = ""; c.LogoURI = "" },
		"https client uri with port":     func(c *Client) { c.ClientURI = "https://a.example:8443/" },
		"bot user id":                    func(c *Client) { c.BotUserID = "bot-1" },
		"bot user id max":                func(c *Client) { c.BotUserID = strings.Repeat("b", MaxBotUserIDLen) },
	}
	for name, mutate := range valid {
		t.Run(name, func(t *testing.T) {
			c := validClient()
			mutate(&c)
			if err := validate(&c); err != nil {
				t.Fatalf("validate: %v", err)
			}
		})
	}
}

func TestValidateInvalid(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Client)
		fields []string // every field error expected, in order
	}{
		{"empty name", func(c *Client) { c.Name = "" }, []string{"client_name"}},
		{"name too long ascii", func(c *Client) { c.Name = strings.Repeat("a", MaxNameLen+1) }, []string{"client_name"}},
		{"name too long multibyte", func(c *Client) { c.Name = strings.Repeat("é", MaxNameLen+1) }, []string{"client_name"}},
		{"name invalid UTF-8", func(c *Client) { c.Name = "bad\xffname" }, []string{"client_name"}},
		{"name newline", func(c *Client) { c.Name = "a\nb" }, []string{"client_name"}},
		{"name tab", func(c *Client) { c.Name = "a\tb" }, []string{"client_name"}},
		{"name NUL", func(c *Client) { c.Name = "a\x00b" }, []string{"client_name"}},
		{"name DEL", func(c *Client) { c.Name = "a\x7fb" }, []string{"client_name"}},
		{"name NEL (C1 control)", func(c *Client) { c.Name = "a\u0085b" }, []string{"client_name"}},
		{"name right-to-left override", func(c *Client) { c.Name = "evil\u202Egnp.exe" }, []string{"client_name"}},
		{"name zero-width space", func(c *Client) { c.Name = "Pay\u200BPal" }, []string{"client_name"}},
		{"name byte order mark", func(c *Client) { c.Name = "\uFEFFname" }, []string{"client_name"}},
		{"name soft hyphen", func(c *Client) { c.Name = "a\u00ADb" }, []string{"client_name"}},
		{"name line separator", func(c *Client) { c.Name = "a\u2028b" }, []string{"client_name"}},
		{"name ESC", func(c *Client) { c.Name = "\x1b[31mred" }, []string{"client_name"}},

		{"empty type", func(c *Client) { c.Type = "" }, []string{"client_type"}},
		{"unknown type", func(c *Client) { c.Type = "trusted" }, []string{"client_type"}},
		{"type wrong case", func(c *Client) { c.Type = "Confidential" }, []string{"client_type"}},

		{"no grant types", func(c *Client) { c.GrantTypes = nil; c.RedirectURIs = nil }, []string{"grant_types"}},
		{"empty grant types", func(c *Client) { c.GrantTypes = []string{} }, []string{"grant_types"}},
		{"unknown grant type", func(c *Client) { c.GrantTypes = []string{"implicit"} }, []string{"grant_types"}},
		{"grant type wrong case", func(c *Client) { c.GrantTypes = []string{"Authorization_Code"}; c.RedirectURIs = nil }, []string{"grant_types"}},
		{"device code not yet supported", func(c *Client) {
			c.GrantTypes = []string{"urn:ietf:params:oauth:grant-type:device_code"}
		}, []string{"grant_types"}},
		{"duplicate grant type", func(c *Client) {
			c.GrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken, GrantAuthorizationCode}
		}, []string{"grant_types"}},
		{"too many grant types", func(c *Client) { c.GrantTypes = repeatList("g%d", MaxListLen+1) }, []string{"grant_types"}},
		{"public with client_credentials", func(c *Client) {
			c.Type = Public
			c.GrantTypes = []string{GrantClientCredentials}
			c.RedirectURIs = nil
		}, []string{"grant_types"}},
		{"public with password", func(c *Client) {
			c.Type = Public
			c.GrantTypes = []string{GrantAuthorizationCode, GrantPassword}
		}, []string{"grant_types"}},
		{"public with both", func(c *Client) {
			c.Type = Public
			c.GrantTypes = []string{GrantClientCredentials, GrantPassword}
		}, []string{"grant_types", "grant_types"}},

		{"auth code without redirects", func(c *Client) { c.RedirectURIs = nil }, []string{"redirect_uris"}},
		{"auth code with empty redirects", func(c *Client) { c.RedirectURIs = []string{} }, []string{"redirect_uris"}},
		{"bad redirect", func(c *Client) { c.RedirectURIs = []string{"http://a.example/cb"} }, []string{"redirect_uris"}},
		{"bad post-logout redirect", func(c *Client) { c.PostLogoutRedirectURIs = []string{"javascript:alert(1)"} }, []string{"post_logout_redirect_uris"}},
		{"post-logout redirect with a fragment", func(c *Client) { c.PostLogoutRedirectURIs = []string{"https://a.example/bye#x"} }, []string{"post_logout_redirect_uris"}},
		{"two bad redirects", func(c *Client) {
			c.RedirectURIs = []string{"https://a.example/cb#x", "javascript:alert(1)"}
		}, []string{"redirect_uris", "redirect_uris"}},
		{"duplicate redirect", func(c *Client) {
			c.RedirectURIs = []string{"https://a.example/cb", "https://a.example/cb"}
		}, []string{"redirect_uris"}},
		{"bad redirect without auth code", func(c *Client) {
			c.GrantTypes = []string{GrantClientCredentials}
			c.RedirectURIs = []string{"myapp:/cb"}
		}, []string{"redirect_uris"}},
		{"too many redirects", func(c *Client) {
			c.RedirectURIs = repeatList("https://a.example/cb%d", MaxListLen+1)
		}, []string{"redirect_uris"}},

		{"no scopes", func(c *Client) { c.AllowedScopes = nil }, []string{"allowed_scopes"}},
		{"empty scopes", func(c *Client) { c.AllowedScopes = []string{} }, []string{"allowed_scopes"}},
		{"empty scope item", func(c *Client) { c.AllowedScopes = []string{""} }, []string{"allowed_scopes"}},
		{"scope with space", func(c *Client) { c.AllowedScopes = []string{"openid profile"} }, []string{"allowed_scopes"}},
		{"duplicate scope", func(c *Client) { c.AllowedScopes = []string{"openid", "openid"} }, []string{"allowed_scopes"}},
		{"too many scopes", func(c *Client) { c.AllowedScopes = repeatList("s%d", MaxListLen+1) }, []string{"allowed_scopes"}},

		{"origin with path", func(c *Client) { c.AllowedOrigins = []string{"https://a.example/path"} }, []string{"allowed_origins"}},
		{"origin with trailing slash", func(c *Client) { c.AllowedOrigins = []string{"https://a.example/"} }, []string{"allowed_origins"}},
		{"origin with query", func(c *Client) { c.AllowedOrigins = []string{"https://a.example?x=1"} }, []string{"allowed_origins"}},
		{"origin with fragment", func(c *Client) { c.AllowedOrigins = []string{"https://a.example#x"} }, []string{"allowed_origins"}},
		{"origin with userinfo", func(c *Client) { c.AllowedOrigins = []string{"https://u@a.example"} }, []string{"allowed_origins"}},
		{"origin wildcard", func(c *Client) { c.AllowedOrigins = []string{"https://*.a.example"} }, []string{"allowed_origins"}},
		{"origin star", func(c *Client) { c.AllowedOrigins = []string{"*"} }, []string{"allowed_origins"}},
		{"origin null", func(c *Client) { c.AllowedOrigins = []string{"null"} }, []string{"allowed_origins"}},
		{"origin bare host", func(c *Client) { c.AllowedOrigins = []string{"a.example"} }, []string{"allowed_origins"}},
		{"origin http non-loopback", func(c *Client) { c.AllowedOrigins = []string{"http://a.example"} }, []string{"allowed_origins"}},
		{"origin other scheme", func(c *Client) { c.AllowedOrigins = []string{"ftp://a.example"} }, []string{"allowed_origins"}},
		{"origin empty", func(c *Client) { c.AllowedOrigins = []string{""} }, []string{"allowed_origins"}},
		{"origin too long", func(c *Client) {
			c.AllowedOrigins = []string{"https://" + strings.Repeat("a", maxOriginLen) + ".example"}
		}, []string{"allowed_origins"}},
		{"duplicate origin", func(c *Client) {
			c.AllowedOrigins = []string{"https://a.example", "https://a.example"}
		}, []string{"allowed_origins"}},
		{"too many origins", func(c *Client) {
			c.AllowedOrigins = repeatList("https://a%d.example", MaxListLen+1)
		}, []string{"allowed_origins"}},

		{"client_uri relative", func(c *Client) { c.ClientURI = "/about" }, []string{"client_uri"}},
		{"client_uri scheme-relative", func(c *Client) { c.ClientURI = "//a.example/" }, []string{"client_uri"}},
		{"client_uri javascript", func(c *Client) { c.ClientURI = "javascript:alert(1)" }, []string{"client_uri"}},
		{"client_uri ftp", func(c *Client) { c.ClientURI = "ftp://a.example/" }, []string{"client_uri"}},
		{"client_uri http", func(c *Client) { c.ClientURI = "http://a.example/" }, []string{"client_uri"}},
		{"logo_uri internal address", func(c *Client) { c.LogoURI = "https://0x7f000001/logo.png" }, []string{"logo_uri"}},
		{"client_uri no host", func(c *Client) { c.ClientURI = "https:///x" }, []string{"client_uri"}},
		{"client_uri userinfo", func(c *Client) { c.ClientURI = "https://u:p@a.example/" }, []string{"client_uri"}},
		{"client_uri space", func(c *Client) { c.ClientURI = "https://a.example/a b" }, []string{"client_uri"}},
		{"client_uri control", func(c *Client) { c.ClientURI = "https://a.example/\n" }, []string{"client_uri"}},
		{"client_uri too long", func(c *Client) {
			c.ClientURI = "https://a.example/" + strings.Repeat("a", MaxURILen)
		}, []string{"client_uri"}},
		{"logo_uri data", func(c *Client) { c.LogoURI = "data:image/png;base64,AAAA" }, []string{"logo_uri"}},
		{"logo_uri relative", func(c *Client) { c.LogoURI = "logo.png" }, []string{"logo_uri"}},
		{"logo_uri file", func(c *Client) { c.LogoURI = "file:///logo.png" }, []string{"logo_uri"}},

		{"bot id too long", func(c *Client) { c.BotUserID = strings.Repeat("b", MaxBotUserIDLen+1) }, []string{"bot_user_id"}},
		{"bot id control", func(c *Client) { c.BotUserID = "bot\n1" }, []string{"bot_user_id"}},
		{"bot id invalid UTF-8", func(c *Client) { c.BotUserID = "\xff" }, []string{"bot_user_id"}},

		{"every field at once", func(c *Client) {
			c.Name = ""
			c.Type = "x"
			c.GrantTypes = []string{"implicit"}
			c.RedirectURIs = []string{"http://a.example/"}
			c.AllowedScopes = nil
			c.AllowedOrigins = []string{"https://a.example/"}
			c.ClientURI = "ftp://a.example"
			c.LogoURI = "ftp://a.example"
			c.BotUserID = "\x00"
		}, []string{"client_name", "client_type", "grant_types", "redirect_uris", "allowed_scopes",
			"allowed_origins", "client_uri", "logo_uri", "bot_user_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validClient()
			tt.mutate(&c)
			err := validate(&c)
			if err == nil {
				t.Fatalf("validate accepted %+v", c)
			}
			if got := domaintest.InvalidFields(t, err); strings.Join(got, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("fields = %v, want %v (error: %v)", got, tt.fields, err)
			}
		})
	}
}

// Origins are compared byte for byte with the browser's Origin header,
// which never carries an empty query, an empty fragment, an empty port or
// an empty host. These values are not origins and should be rejected.
func TestValidateOriginEdgeCases(t *testing.T) {
	for _, o := range []string{"https://a.example?", "https://a.example#", "https://a.example:", "https://:443"} {
		if originProblem(o) == "" {
			t.Errorf("originProblem(%q) accepted, want rejected", o)
		}
	}
}

func TestValidationErrorMessage(t *testing.T) {
	c := validClient()
	c.Name = ""
	c.AllowedScopes = []string{"a b"}
	err := validate(&c)
	if err == nil {
		t.Fatal("validate accepted invalid client")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "client_name: ") || !strings.Contains(msg, "; allowed_scopes") || !strings.Contains(msg, `"a b"`) {
		t.Errorf("Error() = %q", msg)
	}
}

// mentionsIndex accepts either spelling of an item position in a list error:
// "field[i]: ..." or "field: item i: ...".
func mentionsIndex(msg, field string, i int) bool {
	return strings.Contains(msg, fmt.Sprintf("%s[%d]: ", field, i)) ||
		strings.Contains(msg, fmt.Sprintf("%s: item %d: ", field, i))
}

func TestValidateListItemErrorsNameIndex(t *testing.T) {
	c := validClient()
	c.AllowedScopes = []string{"ok", "bad scope", "ok"}
	err := validate(&c)
	var ve *domain.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("validate: %v", err)
	}
	if len(ve.Errors) != 2 {
		t.Fatalf("errors = %+v, want bad item and duplicate", ve.Errors)
	}
	for _, fe := range ve.Errors {
		if fe.Field != "allowed_scopes" {
			t.Errorf("Field = %q, want allowed_scopes", fe.Field)
		}
	}
	msg := err.Error()
	if !mentionsIndex(msg, "allowed_scopes", 1) || !strings.Contains(msg, `"bad scope"`) {
		t.Errorf("Error() = %q, want item 1 named as invalid", msg)
	}
	if !mentionsIndex(msg, "allowed_scopes", 2) || !strings.Contains(msg, "twice") {
		t.Errorf("Error() = %q, want item 2 named as listed twice", msg)
	}
}

func TestOriginsBrowsersCanSend(t *testing.T) {
	for _, o := range []string{"HTTPS://A.EXAMPLE", "https://A.example", "https://a.example:443", "http://localhost:80"} {
		if p := originProblem(o); p == "" {
			t.Errorf("%s accepted; a browser never sends it", o)
		}
	}
	for _, o := range []string{"https://a.example", "https://a.example:8443", "http://localhost:3000", "http://127.0.0.1"} {
		if p := originProblem(o); p != "" {
			t.Errorf("%s: %s", o, p)
		}
	}
}

// TestWebURIProblem holds client_uri and logo_uri to public https hosts:
// the server (and browsers rendering a consent page) must never be pointed
// at an internal address, in any spelling a URL parser or resolver accepts.
func TestWebURIProblem(t *testing.T) {
	checkProblems(t, "webURIProblem", webURIProblem, []problemCase{
		// Accepted.
		{"https name", "https://a.example/logo.png", true},
		{"https name with port", "https://a.example:8443/", true},
		{"https public v4", "https://93.184.215.14/x", true},
		{"https public v6", "https://[2606:4700::6810:85e5]/x", true},
		{"https name starting with digits", "https://123.example/", true},
		{"https idn", "https://bücher.example/", true},

		// Rejected: not https.
		{"http name", "http://a.example/", false},
		{"http loopback", "http://127.0.0.1:6379", false},
		{"ftp", "ftp://a.example/", false},
		// Rejected: userinfo.
		{"userinfo", "https://user@a.example/", false},
		{"userinfo with password", "https://u:p@a.example/", false},
		{"empty userinfo", "https://@a.example/", false},
		// Rejected: internal IPv4 in dotted decimal.
		{"metadata link-local", "http://169.254.169.254/latest/meta-data", false},
		{"https link-local", "https://169.254.169.254/", false},
		{"rfc1918 10/8", "https://10.0.0.1/x", false},
		{"rfc1918 172.16/12", "https://172.16.5.4/", false},
		{"rfc1918 192.168/16", "https://192.168.1.1/", false},
		{"cgnat", "https://100.64.0.1/", false},
		{"loopback", "https://127.0.0.1/", false},
		{"loopback other", "https://127.255.255.254/", false},
		{"unspecified", "https://0.0.0.0/", false},
		{"this network", "https://0.1.2.3/", false},
		{"broadcast", "https://255.255.255.255/", false},
		{"multicast", "https://224.0.0.1/", false},
		// Rejected: other numeric spellings of internal IPv4.
		{"hex whole", "https://0x7f000001/", false},
		{"hex whole uppercase", "https://0X7F000001/", false},
		{"decimal whole", "https://2130706433/", false},
		{"octal dotted", "https://0177.0.0.1/", false},
		{"octal whole", "https://017700000001/", false},
		{"short form", "https://127.1/", false},
		{"short form three parts", "https://10.1.1/", false},
		{"hex dotted", "https://0x7f.0x0.0x0.0x1/", false},
		{"mixed forms", "https://0x7f.1/", false},
		{"trailing dot", "https://127.0.0.1./", false},
		{"metadata decimal", "https://2852039166/", false},
		{"zero-padded decimal", "https://127.000.000.001/", false},
		{"fullwidth digits", "https://１２７.０.０.１/", false},
		{"ideographic full stop", "https://127。0。0。1/", false},
		{"invalid numeric host", "https://1.2.3.999/", false},
		{"numeric overflow", "https://4294967296/", false},
		// Rejected: internal IPv6.
		{"v6 loopback", "https://[::1]/", false},
		{"v6 unspecified", "https://[::]/", false},
		{"v6 ula", "https://[fd00::1]/", false},
		{"v6 ula fc", "https://[fc00::1]/", false},
		{"v6 link-local", "https://[fe80::1]/", false},
		{"v6 link-local with zone", "https://[fe80::1%25eth0]/", false},
		{"v6 mapped loopback", "https://[::ffff:127.0.0.1]/", false},
		{"v6 mapped private hex", "https://[::ffff:a00:1]/", false},
		{"v6 mapped metadata", "https://[::ffff:169.254.169.254]/", false},
		{"v6 compatible loopback", "https://[::127.0.0.1]/", false},
		{"v6 nat64 private", "https://[64:ff9b::10.0.0.1]/", false},
		{"v6 6to4 private", "https://[2002:a00:1::]/", false},
		{"v6 multicast", "https://[ff02::1]/", false},
		// Rejected: loopback names.
		{"localhost", "https://localhost/", false},
		{"localhost trailing dot", "https://localhost./", false},
		{"localhost subdomain", "https://a.localhost/", false},
		{"localhost uppercase", "https://LOCALHOST/", false},
	})
}

// FuzzWebURIProblem checks that whatever webURIProblem accepts is an https
// URL without user information whose host, read as any address, is
// public.
func FuzzWebURIProblem(f *testing.F) {
	for _, s := range []string{"https://a.example/logo.png", "https://0x7f000001/", "https://[::ffff:127.0.0.1]/",
		"https://127.1/", "https://u@a.example/", "http://169.254.169.254/", "https://[fe80::1%25eth0]/", "https://１２７.０.０.１/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, u string) {
		if webURIProblem(u) != "" {
			return
		}
		p, err := url.Parse(u)
		if err != nil {
			t.Fatalf("accepted %q, which does not parse: %v", u, err)
		}
		if !strings.EqualFold(p.Scheme, "https") || p.User != nil || p.Hostname() == "" {
			t.Fatalf("accepted %q: scheme %q, user %v, host %q", u, p.Scheme, p.User, p.Hostname())
		}
		if ip, err := netip.ParseAddr(p.Hostname()); err == nil && netguard.IsInternal(ip) {
			t.Fatalf("accepted %q, whose host is internal", u)
		}
		if addr, numeric, err := netguard.ParseHost(p.Hostname()); err != nil || (numeric && netguard.IsInternal(addr)) {
			t.Fatalf("accepted %q: host reads as %v (%v)", u, addr, err)
		}
	})
}
