package idempotent

import (
	"strings"
	"testing"
)

func TestParseKey(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   string // "" means refused
	}{
		{"bare", []string{"abc-123"}, "abc-123"},
		{"structured string", []string{`"8e03978e-40d5"`}, "8e03978e-40d5"},
		{"string with space and escapes", []string{`"a b\"c\\d"`}, `a b"c\d`},
		{"surrounding whitespace", []string{" \tabc "}, "abc"},
		{"255 characters", []string{strings.Repeat("k", 255)}, strings.Repeat("k", 255)},
		{"two header lines", []string{"a", "b"}, ""},
		{"empty", []string{""}, ""},
		{"empty string", []string{`""`}, ""},
		{"256 characters", []string{strings.Repeat("k", 256)}, ""},
		{"256 characters quoted", []string{`"` + strings.Repeat("k", 256) + `"`}, ""},
		{"bare with space", []string{"a b"}, ""},
		{"non-ASCII", []string{"caf\u00e9"}, ""},
		{"control in string", []string{"\"a\x01\""}, ""},
		{"unterminated", []string{`"abc`}, ""},
		{"text after the string", []string{`"abc"def`}, ""},
		{"bad escape", []string{`"a\x"`}, ""},
	}
	for _, tt := range tests {
		got, msg := parseKey(tt.values)
		if got != tt.want || (tt.want == "") != (msg != "") {
			t.Errorf("%s: parseKey(%q) = %q, %q; want %q", tt.name, tt.values, got, msg, tt.want)
		}
	}
}

func TestResourceNamesWithoutSecrets(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"client":{"id":"i1","client_id":"c1","client_secret":"s"},"client_secret":"s"}`, "id=i1, client_id=c1"},
		{`{"clientId":"c2","clientSecret":"s"}`, "clientId=c2"},
		{`{"client_id":"c3","client_secret":"s","registration_access_token":"t"}`, "client_id=c3"},
		{`{"user":{"id":"u1","username":"bob"}}`, "id=u1, username=bob"},
		{`{"status":"success","client":{"client_id":"c4","client_secret":"s"}}`, "client_id=c4"},
		{`not json`, "a resource"},
	}
	for _, tt := range tests {
		if got := resource([]byte(tt.body)); got != tt.want {
			t.Errorf("resource(%s) = %q, want %q", tt.body, got, tt.want)
		}
	}
}
