package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

const testCB = "https://app.example/cb"

// serveAuthorize sends one request to a; form non-nil makes it a POST of
// form with the anonymous cookie and its CSRF token.
func serveAuthorize(a *Authorize, rawQuery string, form *string) *httptest.ResponseRecorder {
	var req *http.Request
	if form == nil {
		req = httptest.NewRequest(http.MethodGet, "/oauth2/authorize", nil)
		req.URL.RawQuery = rawQuery
	} else {
		const token = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" // a well-formed anonymous token
		body := *form + "&" + CSRFField + "=" + CSRFToken(token)
		req = httptest.NewRequest(http.MethodPost, "/oauth2/authorize", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: a.cookie.Name(), Value: token})
	}
	w := httptest.NewRecorder()
	a.Handler().ServeHTTP(w, req)
	return w
}

// checkSafe holds for every answer, whatever the input: no 5xx, and a
// redirect only ever to the client's registered redirect URI.
func checkSafe(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code >= 500 {
		t.Fatalf("status %d: %.300s", w.Code, w.Body.String())
	}
	if loc := w.Header().Get("Location"); loc != "" && !strings.HasPrefix(loc, testCB+"?") {
		t.Fatalf("redirected to %q", loc)
	}
	if w.Code == http.StatusSeeOther && w.Header().Get("Location") == "" {
		t.Fatal("303 without Location")
	}
}

func query(kv ...string) string {
	v := authorizeQuery()
	for i := 0; i < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}

// Hostile authorization requests (RFC 6749 §3.1, §4.1.2.1; RFC 9700
// §4.1): a redirect URI that is not exactly a registered one is an error
// page, never a redirect; later errors go back to the client.
func TestAuthorizeHostileInput(t *testing.T) {
	a, _ := newTestAuthorize()
	cases := []struct {
		name     string
		rawQuery string
		page     int    // an HTML error page with this status
		code     string // or a redirect to testCB with this error ("" with page 200: the login page)
	}{
		{"userinfo trick", query("redirect_uri", "https://app.example@evil.example/cb"), 400, ""},
		{"userinfo on the registered host", query("redirect_uri", "https://evil@app.example/cb"), 400, ""},
		{"dot segments", query("redirect_uri", "https://app.example/cb/../x"), 400, ""},
		{"encoded slash", query("redirect_uri", "https://app.example/cb%2F..%2Fx"), 400, ""},
		{"encoded path of the registered URI", query("redirect_uri", "https://app.example/%63b"), 400, ""},
		{"trailing slash", query("redirect_uri", "https://app.example/cb/"), 400, ""},
		{"fragment", query("redirect_uri", "https://app.example/cb#x"), 400, ""},
		{"javascript URI", query("redirect_uri", "javascript:alert(1)//https://app.example/cb"), 400, ""},
		{"data URI", query("redirect_uri", "data:text/html,<script>alert(1)</script>"), 400, ""},
		{"invalid UTF-8 redirect", "response_type=code&client_id=spa&redirect_uri=https://app.example/cb%FF", 400, ""},
		{"invalid UTF-8 client_id", "response_type=code&client_id=%FF%FE&redirect_uri=https://app.example/cb", 400, ""},
		{"oversized client_id", query("client_id", strings.Repeat("a", 100<<10)), 400, ""},
		{"NUL in client_id", query("client_id", "spa\x00"), 400, ""},
		{"repeated client_id", query() + "&client_id=spa", 400, ""},
		{"repeated redirect_uri", query() + "&redirect_uri=" + url.QueryEscape(testCB), 400, ""},
		{"repeated state", query() + "&state=other", 0, "invalid_request"},
		{"repeated nonce", query("nonce", "a") + "&nonce=b", 0, "invalid_request"},
		{"repeated code_challenge", query() + "&code_challenge=x", 0, "invalid_request"},
		{"oversized nonce", query("nonce", strings.Repeat("n", 600)), 0, "invalid_request"},
		{"oversized login_hint", query("login_hint", strings.Repeat("h", 600)), 0, "invalid_request"},
		{"oversized max_age", query("max_age", "99999999999999999999"), 0, "invalid_request"},
		{"negative max_age", query("max_age", "-1"), 0, "invalid_request"},
		{"invalid UTF-8 scope", query("scope", "openid \xff"), 0, "invalid_scope"},
		{"invalid UTF-8 state", query("state", "\xff\xfe"), 200, ""},
		{"invalid UTF-8 login_hint", query("login_hint", "\xffalice"), 200, ""},
		{"script in login_hint", query("login_hint", `"><script>alert(1)</script>`), 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := serveAuthorize(a, tc.rawQuery, nil)
			checkSafe(t, w)
			if tc.page != 0 {
				if w.Code != tc.page || w.Header().Get("Location") != "" || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
					t.Errorf("status %d Location %q; want a %d page", w.Code, w.Header().Get("Location"), tc.page)
				}
				if strings.Contains(w.Body.String(), "<script>") {
					t.Error("input rendered unescaped")
				}
				return
			}
			loc, err := url.Parse(w.Header().Get("Location"))
			if w.Code != http.StatusSeeOther || err != nil || loc.Query().Get("error") != tc.code {
				t.Errorf("status %d Location %q; want a redirect with error %s", w.Code, w.Header().Get("Location"), tc.code)
			}
		})
	}
}

// The login and consent forms: repeated, oversized, invalid UTF-8 and
// unexpected values never sign anyone in or issue a code.
func TestLoginFormHostileInput(t *testing.T) {
	a, sessions := newTestAuthorize()
	base := authorizeQuery().Encode()
	cases := []struct {
		name   string
		form   string
		status int
	}{
		{"invalid UTF-8 username", base + "&username=%FF%FEalice&password=alice-pw", 200},
		{"oversized username", base + "&username=" + strings.Repeat("a", 10<<10) + "&password=alice-pw", 200},
		{"NUL in password", base + "&username=alice&password=alice-pw%00", 200},
		{"empty password", base + "&username=alice&password=", 200},
		{"repeated username", base + "&username=alice&username=bob&password=alice-pw", 303},
		{"repeated password", base + "&username=alice&password=alice-pw&password=x", 303},
		{"oversized body", base + "&username=alice&password=" + strings.Repeat("p", 70<<10), 413},
		{"undecodable body", base + "&username=%zz&password=alice-pw", 400},
		{"consent while signed out", base + "&consent=allow", 200},
		{"consent value not allow or deny", base + "&consent=%FF", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := serveAuthorize(a, "", &tc.form)
			checkSafe(t, w)
			if w.Code != tc.status {
				t.Errorf("status %d, want %d: %.300s", w.Code, tc.status, w.Body.String())
			}
			if loc := w.Header().Get("Location"); strings.Contains(loc, "code=") {
				t.Errorf("a code was issued: %s", loc)
			}
			if sessions.created != 0 {
				t.Fatalf("a session was stored: %d", sessions.created)
			}
		})
	}
}

// A hostile client name is rendered escaped on the login page.
func TestHostileClientNameEscaped(t *testing.T) {
	a, _ := newTestAuthorize()
	c := testClient
	c.Name = `<img src=x onerror=alert(1)>"'&`
	a.d.Clients = oneClient{c}
	w := serveAuthorize(a, query(), nil)
	if w.Code != 200 || strings.Contains(w.Body.String(), "<img") || !strings.Contains(w.Body.String(), "&lt;img src=x onerror=alert(1)&gt;") {
		t.Errorf("client name not escaped: %d %.2000s", w.Code, w.Body.String())
	}
}

// Fuzz seeds: a good request and the hostile shapes above.
var authorizeSeeds = []string{
	query(),
	query() + "&state=again",
	query("redirect_uri", "https://app.example@evil.example/cb"),
	query("redirect_uri", "https://app.example/cb/../x"),
	query("redirect_uri", "https://app.example/cb%2F..%2Fx"),
	query("redirect_uri", "javascript:alert(1)"),
	query("prompt", "none"),
	query("response_mode", "form_post"),
	query("max_age", "0", "login_hint", "alice"),
	query("resource", "https://mcp.example/mcp"),
	query("resource", "https://mcp.example/mcp#frag") + "&resource=%00",
	query() + "&resource=urn:a&resource=urn:b&resource=URN:a",
	"response_type=code&client_id=spa&redirect_uri=https://app.example/cb%FF",
	"client_id=spa&client_id=spa",
	"%zz=1&client_id=spa",
	"",
}

// FuzzAuthorizeQuery: whatever the query of GET /oauth2/authorize, the
// answer is no 5xx and never a redirect elsewhere than the registered
// redirect URI.
func FuzzAuthorizeQuery(f *testing.F) {
	for _, s := range authorizeSeeds {
		f.Add(s)
	}
	a, _ := newTestAuthorize()
	f.Fuzz(func(t *testing.T, rawQuery string) {
		checkSafe(t, serveAuthorize(a, rawQuery, nil))
	})
}

// FuzzLoginForm: whatever the login or consent form posted (with a valid
// CSRF token), the answer is no 5xx and never a redirect elsewhere than
// the registered redirect URI; only alice's right password signs in.
func FuzzLoginForm(f *testing.F) {
	for _, s := range authorizeSeeds {
		f.Add(s + "&username=alice&password=alice-pw")
		f.Add(s + "&username=alice&password=wrong&consent=allow")
	}
	f.Add("username=%FF&password=%00")
	f.Add(query() + "&consent=deny")
	f.Fuzz(func(t *testing.T, form string) {
		a, sessions := newTestAuthorize()
		w := serveAuthorize(a, "", &form)
		checkSafe(t, w)
		if sessions.created > 0 {
			v, err := url.ParseQuery(form)
			if err != nil || v.Get("password") != "alice-pw" && v.Get("password") != "bob-pw" && v.Get("password") != "carol-pw" {
				t.Fatalf("signed in with %q", form)
			}
		}
	})
}
