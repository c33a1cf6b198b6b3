package oauth2

import (
	"errors"
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
