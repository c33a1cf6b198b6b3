package oauth

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/token"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// basicHeader builds an RFC 6749 §2.3.1 Basic header: form-urlencode, then
// base64.
func basicHeader(id, secret string) string {
	return "Basic " + b64(url.QueryEscape(id)+":"+url.QueryEscape(secret))
}

func TestDecodeBasic(t *testing.T) {
	tests := []struct {
		name       string
		payload    string
		id, secret string
		ok         bool
	}{
		{"plain", b64("client:secret"), "client", "secret", true},
		{"encoded colon in id", b64("a%3Ab:secret"), "a:b", "secret", true},
		{"encoded colon in secret", b64("id:s%3At"), "id", "s:t", true},
		{"raw colon in secret", b64("id:s:t"), "id", "s:t", true},
		{"plus is space", b64("id:a+b"), "id", "a b", true},
		{"plus in id is space", b64("my+app:x"), "my app", "x", true},
		{"encoded plus", b64("id:a%2Bb"), "id", "a+b", true},
		{"encoded percent", b64("id:100%25"), "id", "100%", true},
		{"encoded UTF-8", b64("caf%C3%A9:%E2%82%AC"), "café", "€", true},
		{"raw UTF-8", b64("café:€"), "café", "€", true},
		{"empty secret", b64("id:"), "id", "", true},
		{"round trip of QueryEscape", b64(url.QueryEscape("a:b /+&=%") + ":" + url.QueryEscape("p@ss w:rd+/=")), "a:b /+&=%", "p@ss w:rd+/=", true},

		{"empty payload", "", "", "", false},
		{"missing colon", b64("clientsecret"), "", "", false},
		{"empty id", b64(":secret"), "", "", false},
		{"empty id and secret", b64(":"), "", "", false},
		{"bad base64", "not base64!", "", "", false},
		{"unpadded base64", strings.TrimRight(b64("id:secret1"), "="), "", "", false},
		{"base64url alphabet", strings.NewReplacer("+", "-", "/", "_").Replace(b64("id:\xfb\xff")), "", "", false},
		{"bad percent in id", b64("a%zz:secret"), "", "", false},
		{"truncated percent in id", b64("a%:secret"), "", "", false},
		{"bad percent in secret", b64("id:%g0"), "", "", false},
		{"truncated percent in secret", b64("id:abc%4"), "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, secret, err := DecodeBasic(tt.payload)
			if !tt.ok {
				if err == nil {
					t.Fatalf("DecodeBasic(%q) = %q, %q; want error", tt.payload, id, secret)
				}
				if id != "" || secret != "" {
					t.Errorf("DecodeBasic returned %q, %q along with error", id, secret)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeBasic(%q): %v", tt.payload, err)
			}
			if id != tt.id || secret != tt.secret {
				t.Errorf("DecodeBasic = %q, %q; want %q, %q", id, secret, tt.id, tt.secret)
			}
		})
	}
}

func FuzzDecodeBasic(f *testing.F) {
	for _, s := range []string{
		b64("client:secret"), b64("a%3Ab:c+d"), b64(":"), b64("%"), b64("id:%"), b64("%zz:%zz"),
		b64("\x00:\xff"), "", "=", "====", "YQ", "YTpi", "!!!!", b64(strings.Repeat("%41", 100) + ":x"),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		id, secret, err := DecodeBasic(payload)
		if err != nil {
			if id != "" || secret != "" {
				t.Fatalf("DecodeBasic(%q) returned %q, %q with error %v", payload, id, secret, err)
			}
			return
		}
		if id == "" {
			t.Fatalf("DecodeBasic(%q) returned an empty client id without error", payload)
		}
		// Re-encoding what was decoded must decode to the same pair.
		id2, secret2, err := DecodeBasic(b64(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
		if err != nil || id2 != id || secret2 != secret {
			t.Fatalf("re-encoded %q, %q decoded to %q, %q, %v", id, secret, id2, secret2, err)
		}
	})
}

type formRequest struct {
	target      string // URL; default /oauth2/token
	contentType string // default form
	noCT        bool
	body        string
	auth        string // Authorization header
}

func parse(t *testing.T, fr formRequest) (url.Values, token.Credentials, error) {
	t.Helper()
	target := fr.target
	if target == "" {
		target = "/oauth2/token"
	}
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(fr.body))
	ct := fr.contentType
	if ct == "" {
		ct = "application/x-www-form-urlencoded"
	}
	if !fr.noCT {
		r.Header.Set("Content-Type", ct)
	}
	if fr.auth != "" {
		r.Header.Set("Authorization", fr.auth)
	}
	return parseClientRequest(httptest.NewRecorder(), r)
}

func TestParseClientRequestCredentials(t *testing.T) {
	tests := []struct {
		name string
		req  formRequest
		want token.Credentials
	}{
		{"basic alone", formRequest{body: "grant_type=client_credentials", auth: basicHeader("cli", "s3cret")},
			token.Credentials{ClientID: "cli", Secret: "s3cret", Method: token.AuthBasic}},
		{"basic lowercase scheme", formRequest{body: "grant_type=client_credentials", auth: "basic " + b64("cli:s3cret")},
			token.Credentials{ClientID: "cli", Secret: "s3cret", Method: token.AuthBasic}},
		{"basic with form-urlencoded credentials", formRequest{body: "grant_type=client_credentials", auth: basicHeader("a:b", "x y+z")},
			token.Credentials{ClientID: "a:b", Secret: "x y+z", Method: token.AuthBasic}},
		{"basic with matching client_id in body", formRequest{body: "grant_type=client_credentials&client_id=cli", auth: basicHeader("cli", "s")},
			token.Credentials{ClientID: "cli", Secret: "s", Method: token.AuthBasic}},
		{"secret in body", formRequest{body: "grant_type=client_credentials&client_id=cli&client_secret=s3cret"},
			token.Credentials{ClientID: "cli", Secret: "s3cret", Method: token.AuthPost}},
		{"body credentials are form-decoded", formRequest{body: "client_id=a%3Ab&client_secret=x+y%2Bz"},
			token.Credentials{ClientID: "a:b", Secret: "x y+z", Method: token.AuthPost}},
		{"only client_id", formRequest{body: "grant_type=authorization_code&client_id=cli"},
			token.Credentials{ClientID: "cli", Method: token.AuthNone}},
		{"no credentials", formRequest{body: "grant_type=client_credentials"},
			token.Credentials{Method: token.AuthNone}},
		{"empty body", formRequest{body: ""},
			token.Credentials{Method: token.AuthNone}},
		{"charset parameter", formRequest{contentType: "application/x-www-form-urlencoded; charset=UTF-8", body: "client_id=cli"},
			token.Credentials{ClientID: "cli", Method: token.AuthNone}},
		{"query credentials ignored", formRequest{target: "/oauth2/token?client_id=evil&client_secret=evil", body: "grant_type=client_credentials"},
			token.Credentials{Method: token.AuthNone}},
		{"query does not override body", formRequest{target: "/oauth2/token?client_id=evil&client_secret=evil", body: "client_id=cli&client_secret=s"},
			token.Credentials{ClientID: "cli", Secret: "s", Method: token.AuthPost}},
		{"query repetition is not body repetition", formRequest{target: "/oauth2/token?client_id=cli", body: "client_id=cli"},
			token.Credentials{ClientID: "cli", Method: token.AuthNone}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form, creds, err := parse(t, tt.req)
			if err != nil {
				t.Fatalf("parseClientRequest: %v", err)
			}
			tt.want.Source = "192.0.2.1" // httptest's RemoteAddr: the throttle's key
			if creds != tt.want {
				t.Errorf("creds = %+v, want %+v", creds, tt.want)
			}
			if form == nil {
				t.Fatal("form is nil")
			}
			body, _ := url.ParseQuery(tt.req.body)
			for k := range form {
				if !body.Has(k) {
					t.Errorf("form has %q, which is not in the body", k)
				}
			}
		})
	}
}

func TestParseClientRequestFormValues(t *testing.T) {
	form, _, err := parse(t, formRequest{target: "/oauth2/token?scope=admin", body: "grant_type=client_credentials&scope=a+b"})
	if err != nil {
		t.Fatal(err)
	}
	if form.Get("grant_type") != "client_credentials" || form.Get("scope") != "a b" {
		t.Errorf("form = %v", form)
	}
}

func TestParseClientRequestErrors(t *testing.T) {
	tests := []struct {
		name   string
		req    formRequest
		code   string
		method token.AuthMethod // creds.Method returned alongside the error
	}{
		{"no content type", formRequest{noCT: true, body: "client_id=cli"}, token.CodeInvalidRequest, ""},
		{"json content type", formRequest{contentType: "application/json", body: `{"client_id":"cli"}`}, token.CodeInvalidRequest, ""},
		{"text content type", formRequest{contentType: "text/plain", body: "client_id=cli"}, token.CodeInvalidRequest, ""},
		{"multipart content type", formRequest{contentType: "multipart/form-data; boundary=x", body: "--x--"}, token.CodeInvalidRequest, ""},
		{"malformed content type", formRequest{contentType: "application/x-www-form-urlencoded; charset", body: "client_id=cli"}, token.CodeInvalidRequest, ""},
		{"repeated parameter", formRequest{body: "grant_type=client_credentials&scope=a&scope=b"}, token.CodeInvalidRequest, ""},
		{"repeated client_id", formRequest{body: "client_id=a&client_id=b&client_secret=s"}, token.CodeInvalidRequest, ""},
		{"repeated identical value", formRequest{body: "client_id=a&client_id=a"}, token.CodeInvalidRequest, ""},
		{"repeated empty parameter", formRequest{body: "client_secret=&client_secret="}, token.CodeInvalidRequest, ""},
		{"bad form encoding", formRequest{body: "client_id=%zz"}, token.CodeInvalidRequest, ""},
		{"semicolon separator", formRequest{body: "client_id=a;client_secret=b"}, token.CodeInvalidRequest, ""},
		{"too large", formRequest{body: "client_id=cli&pad=" + strings.Repeat("a", MaxFormBytes)}, token.CodeInvalidRequest, ""},
		{"basic and client_secret", formRequest{body: "client_secret=s", auth: basicHeader("cli", "s")}, token.CodeInvalidRequest, token.AuthBasic},
		{"basic and empty client_secret", formRequest{body: "client_secret=", auth: basicHeader("cli", "s")}, token.CodeInvalidRequest, token.AuthBasic},
		{"basic and other client_id", formRequest{body: "client_id=other", auth: basicHeader("cli", "s")}, token.CodeInvalidRequest, token.AuthBasic},
		{"basic and empty client_id", formRequest{body: "client_id=", auth: basicHeader("cli", "s")}, token.CodeInvalidRequest, token.AuthBasic},
		{"basic id differs from body id after decoding", formRequest{body: "client_id=a%3Ab", auth: "Basic " + b64("a:b:s")}, token.CodeInvalidRequest, token.AuthBasic},
		{"bearer scheme", formRequest{body: "client_id=cli", auth: "Bearer abc"}, token.CodeInvalidRequest, token.AuthBasic},
		{"malformed basic", formRequest{body: "grant_type=client_credentials", auth: "Basic !!!"}, token.CodeInvalidClient, token.AuthBasic},
		{"basic without colon", formRequest{body: "grant_type=client_credentials", auth: "Basic " + b64("cli")}, token.CodeInvalidClient, token.AuthBasic},
		{"basic empty id", formRequest{body: "grant_type=client_credentials", auth: "Basic " + b64(":s")}, token.CodeInvalidClient, token.AuthBasic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form, creds, err := parse(t, tt.req)
			if err == nil {
				t.Fatalf("parseClientRequest accepted the request: form %v creds %+v", form, creds)
			}
			var oe *token.Error
			if !errors.As(err, &oe) {
				t.Fatalf("error is %T (%v), want *token.Error", err, err)
			}
			if oe.Code != tt.code {
				t.Errorf("Code = %q, want %q (%s)", oe.Code, tt.code, oe.Description)
			}
			if oe.Description == "" {
				t.Error("empty Description")
			}
			if form != nil {
				t.Errorf("form returned with error: %v", form)
			}
			if creds.Method != tt.method || creds.ClientID != "" || creds.Secret != "" {
				t.Errorf("creds = %+v, want only Method %q", creds, tt.method)
			}
		})
	}
}

func TestParseClientRequestRepeatedNameTruncated(t *testing.T) {
	long := strings.Repeat("k", 500)
	_, _, err := parse(t, formRequest{body: long + "=1&" + long + "=2"})
	var oe *token.Error
	if !errors.As(err, &oe) || oe.Code != token.CodeInvalidRequest {
		t.Fatalf("err = %v, want invalid_request", err)
	}
	if len(oe.Description) > 200 {
		t.Errorf("Description is %d bytes; the parameter name should be truncated", len(oe.Description))
	}
}

// The query string is never read, so a query string that is not valid
// form encoding must not make a valid body fail.
func TestParseClientRequestIgnoresMalformedQuery(t *testing.T) {
	for _, target := range []string{"/oauth2/token?x=%zz", "/oauth2/token?a;b"} {
		_, creds, err := parse(t, formRequest{target: target, body: "client_id=cli&client_secret=s"})
		if err != nil {
			t.Errorf("%s: %v", target, err)
			continue
		}
		if creds.ClientID != "cli" || creds.Method != token.AuthPost {
			t.Errorf("%s: creds = %+v", target, creds)
		}
	}
}
