package web

import (
	"strings"
	"testing"
)

func TestFormPostCSP(t *testing.T) {
	for uri, want := range map[string]string{
		"https://app.example/cb?x=1":      "form-action https://app.example/cb;",
		"http://127.0.0.1:53682/callback": "form-action http://127.0.0.1:53682/callback;",
		"https://app.example/a;b,c'd":     "form-action https://app.example;",
		"com.example.app:/oauth2redirect": "form-action 'none';",
	} {
		csp := FormPostCSP(uri)
		if !strings.Contains(csp, want) || !strings.Contains(csp, "script-src 'sha256-") || strings.Contains(csp, "form-action 'self'") {
			t.Errorf("FormPostCSP(%q) = %q, want %q", uri, csp, want)
		}
	}
}

// TestSignInCSP: the login and consent pages may post back here and to the
// client's redirect URI, which the 303 after the post goes to (browsers
// hold a form POST's redirects to form-action); nothing else changes.
func TestSignInCSP(t *testing.T) {
	csp := SignInCSP("http://127.0.0.1:53682/callback?x=1")
	if !strings.Contains(csp, "form-action 'self' http://127.0.0.1:53682/callback;") {
		t.Errorf("CSP %q does not allow the redirect URI", csp)
	}
	for _, d := range []string{"frame-ancestors 'none'", "default-src 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("CSP %q lost %q", csp, d)
		}
	}
	if got := SignInCSP("javascript:alert(1)"); !strings.Contains(got, "form-action 'self' 'none'") {
		t.Errorf("a URI without an origin: %q", got)
	}
}
