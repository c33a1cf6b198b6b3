package bearer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/oauth2"
	"github.com/latchkey/latchkey/internal/token"
)

// fakeVerifier accepts the tokens in claims and fails every other token
// with err (token.ErrInvalidToken-wrapping unless set).
type fakeVerifier struct {
	claims map[string]token.Principal
	err    error
	calls  []string
}

func (f *fakeVerifier) Verify(ctx context.Context, raw string) (token.Principal, error) {
	f.calls = append(f.calls, raw)
	if ctx == nil {
		return token.Principal{}, errors.New("nil context")
	}
	if c, ok := f.claims[raw]; ok {
		return c, nil
	}
	if f.err != nil {
		return token.Principal{}, f.err
	}
	return token.Principal{}, fmt.Errorf("%w: unknown token", token.ErrInvalidToken)
}

const (
	goodToken   = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"
	weakToken   = "weak-token_1.2~3+4/5=="
	realm       = "test"
	createScope = "clients:create"
)

func newVerifier() *fakeVerifier {
	return &fakeVerifier{claims: map[string]token.Principal{
		goodToken: {Subject: "admin", ClientID: "cli", TokenID: "j1", Scopes: strings.Fields("openid clients:create clients:read")},
		weakToken: {Subject: "reader", ClientID: "cli", TokenID: "j2", Scopes: strings.Fields("clients:read clients:created")},
	}}
}

func TestRequire(t *testing.T) {
	tests := []struct {
		name      string
		url       string
		headers   []string // Authorization header values
		verifyErr error
		scope     string
		status    int    // 0 = success
		code      string // Failure.Code
		challenge string // exact WWW-Authenticate; "" = not set
		verified  bool   // whether the verifier must have been called
	}{
		{name: "valid token", headers: []string{"Bearer " + goodToken}, scope: createScope, verified: true},
		{name: "lowercase scheme", headers: []string{"bearer " + goodToken}, scope: createScope, verified: true},
		{name: "uppercase scheme", headers: []string{"BEARER " + goodToken}, scope: createScope, verified: true},
		{name: "extra spaces before token", headers: []string{"Bearer   " + goodToken}, scope: createScope, verified: true},
		{name: "no scope required", headers: []string{"Bearer " + weakToken}, scope: "", verified: true},
		{name: "token68 characters and padding", headers: []string{"Bearer " + weakToken}, scope: "clients:read", verified: true},

		{name: "no Authorization header", status: 401, code: "",
			challenge: `Bearer realm="test"`},
		{name: "empty Authorization header", headers: []string{""}, status: 401, code: "",
			challenge: `Bearer realm="test"`},
		{name: "Basic scheme", headers: []string{"Basic YTpi"}, status: 401, code: "",
			challenge: `Bearer realm="test"`},
		{name: "scheme only", headers: []string{"Bearer"}, status: 401, code: "",
			challenge: `Bearer realm="test"`},
		{name: "scheme prefix", headers: []string{"Bearerx " + goodToken}, status: 401, code: "",
			challenge: `Bearer realm="test"`},
		{name: "token without scheme", headers: []string{goodToken}, status: 401, code: "",
			challenge: `Bearer realm="test"`},
		{name: "empty token", headers: []string{"Bearer "}, status: 401, code: oauth2.CodeInvalidToken,
			challenge: `Bearer realm="test", error="invalid_token"`},
		{name: "token with space", headers: []string{"Bearer abc def"}, status: 401, code: oauth2.CodeInvalidToken,
			challenge: `Bearer realm="test", error="invalid_token"`},
		{name: "token with quote", headers: []string{`Bearer abc"def`}, status: 401, code: oauth2.CodeInvalidToken,
			challenge: `Bearer realm="test", error="invalid_token"`},
		{name: "token with comma", headers: []string{"Bearer abc,def"}, status: 401, code: oauth2.CodeInvalidToken,
			challenge: `Bearer realm="test", error="invalid_token"`},
		{name: "token with non-ASCII", headers: []string{"Bearer abcé"}, status: 401, code: oauth2.CodeInvalidToken,
			challenge: `Bearer realm="test", error="invalid_token"`},
		{name: "token with control char", headers: []string{"Bearer abc\x01"}, status: 401, code: oauth2.CodeInvalidToken,
			challenge: `Bearer realm="test", error="invalid_token"`},
		{name: "padding in the middle", headers: []string{"Bearer abc=def"}, status: 401, code: oauth2.CodeInvalidToken,
			challenge: `Bearer realm="test", error="invalid_token"`},
		{name: "only padding", headers: []string{"Bearer ==="}, status: 401, code: oauth2.CodeInvalidToken,
			challenge: `Bearer realm="test", error="invalid_token"`},
		{name: "trailing space", headers: []string{"Bearer " + goodToken + " "}, status: 401, code: oauth2.CodeInvalidToken,
			challenge: `Bearer realm="test", error="invalid_token"`},

		{name: "verifier rejects token", headers: []string{"Bearer unknown"}, status: 401, code: oauth2.CodeInvalidToken,
			challenge: `Bearer realm="test", error="invalid_token"`, verified: true},
		{name: "verifier error wraps ErrInvalidToken twice", headers: []string{"Bearer unknown"},
			verifyErr: fmt.Errorf("outer: %w", fmt.Errorf("%w: expired", token.ErrInvalidToken)),
			status:    401, code: oauth2.CodeInvalidToken,
			challenge: `Bearer realm="test", error="invalid_token"`, verified: true},
		{name: "verifier infrastructure error", headers: []string{"Bearer unknown"},
			verifyErr: errors.New("database is locked"), status: 500, code: oauth2.CodeServerError,
			challenge: "", verified: true}, // our failure: no challenge to the caller

		{name: "missing scope", headers: []string{"Bearer " + weakToken}, scope: createScope, status: 403,
			code:      oauth2.CodeInsufficientScope,
			challenge: `Bearer realm="test", error="insufficient_scope", scope="clients:create"`, verified: true},

		{name: "token in query", url: "/admin/clients?access_token=" + goodToken, status: 400, code: oauth2.CodeInvalidRequest,
			challenge: `Bearer realm="test", error="invalid_request"`},
		{name: "empty token in query", url: "/admin/clients?access_token=", status: 400, code: oauth2.CodeInvalidRequest,
			challenge: `Bearer realm="test", error="invalid_request"`},
		{name: "token in query and header", url: "/admin/clients?access_token=x", headers: []string{"Bearer " + goodToken},
			status: 400, code: oauth2.CodeInvalidRequest, challenge: `Bearer realm="test", error="invalid_request"`},
		{name: "two Authorization headers", headers: []string{"Bearer " + goodToken, "Bearer " + goodToken},
			status: 400, code: oauth2.CodeInvalidRequest, challenge: `Bearer realm="test", error="invalid_request"`},
		{name: "Bearer and Basic headers", headers: []string{"Bearer " + goodToken, "Basic YTpi"},
			status: 400, code: oauth2.CodeInvalidRequest, challenge: `Bearer realm="test", error="invalid_request"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier()
			v.err = tt.verifyErr
			a := New(v, realm, nil)
			target := tt.url
			if target == "" {
				target = "/admin/clients"
			}
			r := httptest.NewRequest(http.MethodPost, target, nil)
			for _, h := range tt.headers {
				r.Header.Add("Authorization", h)
			}
			w := httptest.NewRecorder()
			claims, f := a.Require(w, r, tt.scope)

			if tt.verified != (len(v.calls) > 0) {
				t.Errorf("verifier calls = %q, want called=%v", v.calls, tt.verified)
			}
			if tt.status == 0 {
				if f != nil {
					t.Fatalf("Require failed: %+v", f)
				}
				if got := w.Header().Values("WWW-Authenticate"); len(got) != 0 {
					t.Errorf("WWW-Authenticate set on success: %q", got)
				}
				want := v.claims[v.calls[0]]
				if !reflect.DeepEqual(claims, want) {
					t.Errorf("claims = %+v, want %+v", claims, want)
				}
				return
			}
			if f == nil {
				t.Fatalf("Require succeeded with claims %+v, want %d", claims, tt.status)
			}
			if f.HTTPStatus() != tt.status || f.Code != tt.code {
				t.Errorf("failure = %d %q, want %d %q (%s)", f.HTTPStatus(), f.Code, tt.status, tt.code, f.Description)
			}
			if f.Description == "" {
				t.Error("failure has no message")
			}
			if !reflect.DeepEqual(claims, token.Principal{}) {
				t.Errorf("claims returned with failure: %+v", claims)
			}
			got := w.Header().Values("WWW-Authenticate")
			if (tt.challenge == "" && len(got) != 0) || (tt.challenge != "" && (len(got) != 1 || got[0] != tt.challenge)) {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.challenge)
			}
			if tt.verifyErr != nil && !errors.Is(f.Cause, tt.verifyErr) {
				t.Errorf("Cause = %v, want %v", f.Cause, tt.verifyErr)
			}
		})
	}
}

// The verifier receives the token exactly, without the scheme or spaces.
func TestRequirePassesRawToken(t *testing.T) {
	v := newVerifier()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer  "+goodToken)
	if _, f := New(v, realm, nil).Require(httptest.NewRecorder(), r, ""); f != nil {
		t.Fatalf("Require: %+v", f)
	}
	if len(v.calls) != 1 || v.calls[0] != goodToken {
		t.Errorf("verifier got %q, want %q", v.calls, goodToken)
	}
}

// The scope must match a whole space-separated entry, not a prefix or a
// substring of one.
func TestRequireScopeIsExact(t *testing.T) {
	v := &fakeVerifier{claims: map[string]token.Principal{
		"t": {Subject: "s", Scopes: strings.Fields("clients:created xclients:create clients:create:all")},
	}}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer t")
	w := httptest.NewRecorder()
	_, f := New(v, realm, nil).Require(w, r, createScope)
	if f == nil || f.HTTPStatus() != http.StatusForbidden {
		t.Fatalf("Require = %+v, want 403", f)
	}
}

func TestRequireRealmQuoting(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	w := httptest.NewRecorder()
	New(newVerifier(), `latchkey "admin"`, nil).Require(w, r, "")
	if got, want := w.Header().Get("WWW-Authenticate"), `Bearer realm="latchkey \"admin\""`; got != want {
		t.Errorf("WWW-Authenticate = %q, want %q", got, want)
	}
}

func TestIsToken68(t *testing.T) {
	for s, want := range map[string]bool{
		"a":          true,
		"Az09-._~+/": true,
		"abc=":       true,
		"abc==":      true,
		"":           false,
		"=":          false,
		"a=b":        false,
		"a b":        false,
		"a\tb":       false,
		"a:b":        false,
		"a%20b":      false,
		"é":          false,
	} {
		if got := isToken68(s); got != want {
			t.Errorf("isToken68(%q) = %v, want %v", s, got, want)
		}
	}
}

// A failure of verification itself (the store is down) is logged once,
// here, with its cause, and never with the token.
func TestRequireLogsInfrastructureFailures(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	v := newVerifier()
	v.err = errors.New("database is locked")
	r := httptest.NewRequest("POST", "/x", nil)
	r.Header.Set("Authorization", "Bearer secret-token-value")
	w := httptest.NewRecorder()
	if _, f := New(v, "test", log).Require(w, r, ""); f == nil || f.HTTPStatus() != 500 {
		t.Fatalf("failure = %+v", f)
	}
	out := buf.String()
	if strings.Count(out, "token verification failed") != 1 || !strings.Contains(out, "database is locked") {
		t.Errorf("log: %s", out)
	}
	if strings.Contains(out, "secret-token-value") {
		t.Error("the token reached the log")
	}
	// Ordinary rejections are the caller's problem, not worth an error log.
	buf.Reset()
	r.Header.Set("Authorization", "Bearer")
	New(newVerifier(), "test", log).Require(httptest.NewRecorder(), r, "")
	if buf.Len() != 0 {
		t.Errorf("a bad token was logged as an error: %s", buf.String())
	}
}
