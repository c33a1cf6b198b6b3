package web

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestSessionCookie(t *testing.T) {
	for issuer, want := range map[string]string{
		"https://auth.example":  "__Host-latchkey_session=tok; Path=/; Expires=Thu, 01 Jan 2037 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax",
		"http://127.0.0.1:8080": "latchkey_session=tok; Path=/; Expires=Thu, 01 Jan 2037 00:00:00 GMT; HttpOnly; SameSite=Lax",
	} {
		w := httptest.NewRecorder()
		NewSessionCookie(issuer).Set(w, "tok", time.Date(2037, 1, 1, 0, 0, 0, 0, time.UTC))
		if got := w.Header().Get("Set-Cookie"); got != want {
			t.Errorf("%s: Set-Cookie %q, want %q", issuer, got, want)
		}
	}
}

func TestCSRFToken(t *testing.T) {
	a, b := CSRFToken("session-a"), CSRFToken("session-b")
	if a == b || !ValidCSRF("session-a", a) || ValidCSRF("session-b", a) || ValidCSRF("", CSRFToken("")) || ValidCSRF("session-a", "") {
		t.Error("CSRF tokens are not bound to their session")
	}
	if strings.Contains(a, "session-a") {
		t.Error("CSRF token carries the session token")
	}
}

func TestRedirectMatches(t *testing.T) {
	cases := []struct {
		registered, got string
		want            bool
	}{
		{"https://app.example/cb", "https://app.example/cb", true},
		{"https://app.example/cb", "https://app.example/cb/", false},
		{"https://app.example/cb", "https://APP.example/cb", false},
		{"https://app.example/cb", "https://app.example:8443/cb", false},
		{"https://app.example/cb?x=1", "https://app.example/cb?x=1", true},
		{"https://app.example/cb?x=1", "https://app.example/cb?x=2", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1:51000/cb", true},
		{"http://127.0.0.1:8000/cb", "http://127.0.0.1:51000/cb", true},
		{"http://[::1]/cb", "http://[::1]:51000/cb", true},
		{"http://127.0.0.1/cb", "http://127.0.0.1:51000/other", false},
		{"http://127.0.0.1/cb", "http://127.0.0.2:51000/cb", false},
		{"http://127.0.0.1/cb", "http://user@127.0.0.1:51000/cb", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1:51000/cb#x", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1:51000/cb?x=1", false},
		{"http://localhost/cb", "http://localhost:51000/cb", false}, // RFC 8252 §8.3: literals, not names
		{"com.example.app:/cb", "com.example.app:/cb", true},
	}
	for _, c := range cases {
		if got := RedirectMatches(c.registered, c.got); got != c.want {
			t.Errorf("RedirectMatches(%q, %q) = %v, want %v", c.registered, c.got, got, c.want)
		}
	}
}
