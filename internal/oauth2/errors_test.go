package oauth2

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestErrorHTTPStatus(t *testing.T) {
	tests := []struct {
		err  *Error
		want int
	}{
		{&Error{Code: CodeInvalidRequest}, 400},
		{&Error{Code: CodeInvalidGrant}, 400},
		{&Error{Code: CodeInvalidScope}, 400},
		{&Error{Code: CodeUnsupportedGrantType}, 400},
		{&Error{Code: CodeInvalidClientMetadata}, 400},
		{&Error{Code: CodeInvalidClient}, 401},
		{&Error{Code: CodeInvalidToken}, 401},
		{&Error{Code: CodeInsufficientScope}, 403},
		{&Error{Code: CodeAccessDenied}, 403},
		{&Error{Code: CodeServerError}, 500},
		{&Error{Code: CodeInvalidClient, RetryAfter: time.Second}, 429},
		{&Error{Code: "", Status: 401}, 401},
		{&Error{Code: CodeInvalidRequest, Status: 413}, 413},
	}
	for _, tt := range tests {
		if got := tt.err.HTTPStatus(); got != tt.want {
			t.Errorf("%+v: HTTPStatus = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestErrorKeepsCauseOutOfDescription(t *testing.T) {
	cause := errors.New("db password is hunter2")
	e := Errorf(CodeInvalidClient, "client authentication failed").WithCause(cause)
	if !errors.Is(e, cause) {
		t.Error("cause not reachable with errors.Is")
	}
	if strings.Contains(e.Description, "hunter2") {
		t.Errorf("cause leaked into the description: %q", e.Description)
	}
	var oe *Error
	if !errors.As(errors.Join(errors.New("wrapped"), e), &oe) || oe.Code != CodeInvalidClient {
		t.Error("errors.As does not find the *Error")
	}
	orig := Errorf(CodeInvalidRequest, "x")
	if orig.WithStatus(413); orig.Status != 0 {
		t.Error("WithStatus changed the original")
	}
}

func TestTruncate(t *testing.T) {
	if got := Truncate(strings.Repeat("a", 500)); len(got) > 70 || !strings.HasSuffix(got, "…") {
		t.Errorf("Truncate of 500 bytes = %d bytes", len(got))
	}
	if got := Truncate("short"); got != "short" {
		t.Errorf("Truncate(short) = %q", got)
	}
}

func TestGrantedScopes(t *testing.T) {
	allowed := []string{"a", "b", "c"}
	tests := []struct {
		name      string
		requested []string
		given     bool
		want      string
		code      string
	}{
		{"none requested: all allowed", nil, false, "a b c", ""},
		{"subset", []string{"b"}, true, "b", ""},
		{"duplicates collapse", []string{"a", "a", "b"}, true, "a b", ""},
		{"empty scope parameter", nil, true, "", CodeInvalidScope},
		{"not allowed", []string{"a", "z"}, true, "", CodeInvalidScope},
		{"malformed", []string{"a\\b"}, true, "", CodeInvalidScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := GrantedScopes(allowed, tt.requested, tt.given)
			var oe *Error
			switch {
			case tt.code != "" && (!errors.As(err, &oe) || oe.Code != tt.code):
				t.Errorf("err = %v, want %s", err, tt.code)
			case tt.code == "" && (err != nil || strings.Join(got, " ") != tt.want):
				t.Errorf("got %v, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// conforms reports whether s uses only the characters RFC 6749 §5.2 allows
// in error_description: %x20-21 / %x23-5B / %x5D-7E.
func conforms(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func TestErrorfDescriptionCharset(t *testing.T) {
	tests := []struct {
		name   string
		format string
		args   []any
		want   string // "" : only check the character set
	}{
		{"double quotes become single", "scope %s is not allowed", []any{`"a"`}, "scope 'a' is not allowed"},
		{"%q output is made conforming", "grant_type %q is not supported", []any{"x\"y\\z"}, ""},
		{"section sign", "see RFC 6749 §3.3", nil, "see RFC 6749 section 3.3"},
		{"CR LF from a parameter name", "parameter %s is repeated", []any{"a\r\nSet-Cookie: x"}, "parameter a??Set-Cookie: x is repeated"},
		{"backslash", `a\b`, nil, "a?b"},
		{"non-ASCII and invalid UTF-8", "%s", []any{"é\xff\x00\t"}, "????"},
		{"ellipsis", "%s", []any{"abc…"}, "abc..."},
		{"plain text unchanged", "client authentication failed", nil, "client authentication failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Errorf(CodeInvalidRequest, tt.format, tt.args...).Description
			if !conforms(got) {
				t.Errorf("Description %q has characters RFC 6749 §5.2 forbids", got)
			}
			if tt.want != "" && got != tt.want {
				t.Errorf("Description = %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzErrorDescription: whatever text an error echoes, the description it
// carries, and the one any writer sends, is within RFC 6749 §5.2's set.
func FuzzErrorDescription(f *testing.F) {
	for _, s := range []string{"", `"quoted"`, "a\\b", "§5.2", "\r\n", "é…\xff", "plain"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d := Errorf(CodeInvalidRequest, "value %q: %s", s, s).Description; !conforms(d) {
			t.Fatalf("Errorf description %q does not conform", d)
		}
		d := SanitizeDescription(s)
		if !conforms(d) {
			t.Fatalf("SanitizeDescription(%q) = %q does not conform", s, d)
		}
		if SanitizeDescription(d) != d {
			t.Fatalf("SanitizeDescription is not idempotent on %q", d)
		}
		if conforms(s) && d != s {
			t.Fatalf("SanitizeDescription changed conforming text %q to %q", s, d)
		}
	})
}

func TestParseTokenRequestEmptyIsAbsent(t *testing.T) {
	tests := []struct {
		name      string
		form      url.Values
		wantScope []string
		hasScope  bool
	}{
		{"absent", url.Values{}, nil, false},
		{"empty is absent (RFC 6749 §3.1)", url.Values{"scope": {""}}, nil, false},
		{"blank is sent", url.Values{"scope": {" "}}, nil, true},
		{"value", url.Values{"scope": {"a b"}}, []string{"a", "b"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ParseTokenRequest(tt.form, Credentials{})
			if r.HasScope != tt.hasScope || !slices.Equal(r.Scope, tt.wantScope) {
				t.Errorf("Scope %q HasScope %v, want %q %v", r.Scope, r.HasScope, tt.wantScope, tt.hasScope)
			}
			if _, ok := r.Params["scope"]; ok && tt.form.Get("scope") == "" {
				t.Errorf("Params keeps the empty scope: %v", r.Params)
			}
		})
	}
}
