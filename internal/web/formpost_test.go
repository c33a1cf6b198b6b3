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
