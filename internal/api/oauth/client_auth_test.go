package oauth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/api/sourceaddr"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/oauth2"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// basicHeader builds an RFC 6749 §2.3.1 Basic header: form-urlencode, then
// base64.
func basicHeader(id, secret string) string {
	return "Basic " + b64(url.QueryEscape(id)+":"+url.QueryEscape(secret))
}

type formRequest struct {
	target      string // URL; default /oauth2/token
	contentType string // default form
	noCT        bool
	body        string
	auth        string   // Authorization header
	auths       []string // several Authorization headers
}

func parse(t *testing.T, fr formRequest) (url.Values, oauth2.Credentials, error) {
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
	for _, a := range fr.auths {
		r.Header.Add("Authorization", a)
	}
	return (&Handler{sources: sourceaddr.New(nil)}).parseClientRequest(httptest.NewRecorder(), r)
}

func TestParseClientRequestCredentials(t *testing.T) {
	tests := []struct {
		name string
		req  formRequest
		want oauth2.Credentials
	}{
		{"basic alone", formRequest{body: "grant_type=client_credentials", auth: basicHeader("cli", "s3cret")},
			oauth2.Credentials{ClientID: "cli", Secret: "s3cret", Method: client.AuthMethodSecretBasic}},
		{"basic lowercase scheme", formRequest{body: "grant_type=client_credentials", auth: "basic " + b64("cli:s3cret")},
			oauth2.Credentials{ClientID: "cli", Secret: "s3cret", Method: client.AuthMethodSecretBasic}},
		{"basic with form-urlencoded credentials", formRequest{body: "grant_type=client_credentials", auth: basicHeader("a:b", "x y+z")},
			oauth2.Credentials{ClientID: "a:b", Secret: "x y+z", Method: client.AuthMethodSecretBasic}},
		{"basic with matching client_id in body", formRequest{body: "grant_type=client_credentials&client_id=cli", auth: basicHeader("cli", "s")},
			oauth2.Credentials{ClientID: "cli", Secret: "s", Method: client.AuthMethodSecretBasic}},
		{"secret in body", formRequest{body: "grant_type=client_credentials&client_id=cli&client_secret=s3cret"},
			oauth2.Credentials{ClientID: "cli", Secret: "s3cret", Method: client.AuthMethodSecretPost}},
		{"body credentials are form-decoded", formRequest{body: "client_id=a%3Ab&client_secret=x+y%2Bz"},
			oauth2.Credentials{ClientID: "a:b", Secret: "x y+z", Method: client.AuthMethodSecretPost}},
		{"only client_id", formRequest{body: "grant_type=authorization_code&client_id=cli"},
			oauth2.Credentials{ClientID: "cli", Method: client.AuthMethodNone}},
		{"no credentials", formRequest{body: "grant_type=client_credentials"},
			oauth2.Credentials{Method: client.AuthMethodNone}},
		{"empty body", formRequest{body: ""},
			oauth2.Credentials{Method: client.AuthMethodNone}},
		{"charset parameter", formRequest{contentType: "application/x-www-form-urlencoded; charset=UTF-8", body: "client_id=cli"},
			oauth2.Credentials{ClientID: "cli", Method: client.AuthMethodNone}},
		{"query credentials ignored", formRequest{target: "/oauth2/token?client_id=evil&client_secret=evil", body: "grant_type=client_credentials"},
			oauth2.Credentials{Method: client.AuthMethodNone}},
		{"query does not override body", formRequest{target: "/oauth2/token?client_id=evil&client_secret=evil", body: "client_id=cli&client_secret=s"},
			oauth2.Credentials{ClientID: "cli", Secret: "s", Method: client.AuthMethodSecretPost}},
		// RFC 6749 §3.1: a parameter sent without a value is as if omitted.
		{"basic and empty client_id", formRequest{body: "grant_type=client_credentials&client_id=", auth: basicHeader("cli", "s")},
			oauth2.Credentials{ClientID: "cli", Secret: "s", Method: client.AuthMethodSecretBasic}},
		{"basic and empty client_secret", formRequest{body: "client_secret=", auth: basicHeader("cli", "s")},
			oauth2.Credentials{ClientID: "cli", Secret: "s", Method: client.AuthMethodSecretBasic}},
		{"empty client_secret is none", formRequest{body: "client_id=cli&client_secret="},
			oauth2.Credentials{ClientID: "cli", Method: client.AuthMethodNone}},
		{"repeated empty parameter is absent", formRequest{body: "client_secret=&client_secret="},
			oauth2.Credentials{Method: client.AuthMethodNone}},
		{"query repetition is not body repetition", formRequest{target: "/oauth2/token?client_id=cli", body: "client_id=cli"},
			oauth2.Credentials{ClientID: "cli", Method: client.AuthMethodNone}},
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
			for k, v := range form {
				if !body.Has(k) {
					t.Errorf("form has %q, which is not in the body", k)
				}
				if len(v) != 1 || v[0] == "" {
					t.Errorf("form has %q = %q: an empty parameter must be dropped", k, v)
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
		method string // creds.Method returned alongside the error
	}{
		{"no content type", formRequest{noCT: true, body: "client_id=cli"}, oauth2.CodeInvalidRequest, ""},
		{"json content type", formRequest{contentType: "application/json", body: `{"client_id":"cli"}`}, oauth2.CodeInvalidRequest, ""},
		{"text content type", formRequest{contentType: "text/plain", body: "client_id=cli"}, oauth2.CodeInvalidRequest, ""},
		{"multipart content type", formRequest{contentType: "multipart/form-data; boundary=x", body: "--x--"}, oauth2.CodeInvalidRequest, ""},
		{"malformed content type", formRequest{contentType: "application/x-www-form-urlencoded; charset", body: "client_id=cli"}, oauth2.CodeInvalidRequest, ""},
		{"repeated parameter", formRequest{body: "grant_type=client_credentials&scope=a&scope=b"}, oauth2.CodeInvalidRequest, ""},
		{"repeated client_id", formRequest{body: "client_id=a&client_id=b&client_secret=s"}, oauth2.CodeInvalidRequest, ""},
		{"repeated identical value", formRequest{body: "client_id=a&client_id=a"}, oauth2.CodeInvalidRequest, ""},
		{"bad form encoding", formRequest{body: "client_id=%zz"}, oauth2.CodeInvalidRequest, ""},
		{"semicolon separator", formRequest{body: "client_id=a;client_secret=b"}, oauth2.CodeInvalidRequest, ""},
		{"too large", formRequest{body: "client_id=cli&pad=" + strings.Repeat("a", MaxFormBytes)}, oauth2.CodeInvalidRequest, ""},
		{"basic and client_secret", formRequest{body: "client_secret=s", auth: basicHeader("cli", "s")}, oauth2.CodeInvalidRequest, client.AuthMethodSecretBasic},
		{"basic and other client_id", formRequest{body: "client_id=other", auth: basicHeader("cli", "s")}, oauth2.CodeInvalidRequest, client.AuthMethodSecretBasic},
		{"basic id differs from body id after decoding", formRequest{body: "client_id=a%3Ab", auth: "Basic " + b64("a:b:s")}, oauth2.CodeInvalidRequest, client.AuthMethodSecretBasic},
		{"two Authorization headers", formRequest{body: "grant_type=client_credentials", auths: []string{basicHeader("cli", "s"), basicHeader("other", "t")}}, oauth2.CodeInvalidRequest, client.AuthMethodSecretBasic},
		{"two identical Authorization headers", formRequest{body: "grant_type=client_credentials", auths: []string{basicHeader("cli", "s"), basicHeader("cli", "s")}}, oauth2.CodeInvalidRequest, client.AuthMethodSecretBasic},
		{"bearer scheme", formRequest{body: "client_id=cli", auth: "Bearer abc"}, oauth2.CodeInvalidRequest, client.AuthMethodSecretBasic},
		{"malformed basic", formRequest{body: "grant_type=client_credentials", auth: "Basic !!!"}, oauth2.CodeInvalidClient, client.AuthMethodSecretBasic},
		{"basic without colon", formRequest{body: "grant_type=client_credentials", auth: "Basic " + b64("cli")}, oauth2.CodeInvalidClient, client.AuthMethodSecretBasic},
		{"basic empty id", formRequest{body: "grant_type=client_credentials", auth: "Basic " + b64(":s")}, oauth2.CodeInvalidClient, client.AuthMethodSecretBasic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form, creds, err := parse(t, tt.req)
			if err == nil {
				t.Fatalf("parseClientRequest accepted the request: form %v creds %+v", form, creds)
			}
			var oe *oauth2.Error
			if !errors.As(err, &oe) {
				t.Fatalf("error is %T (%v), want *oauth2.Error", err, err)
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
	var oe *oauth2.Error
	if !errors.As(err, &oe) || oe.Code != oauth2.CodeInvalidRequest {
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
		if creds.ClientID != "cli" || creds.Method != client.AuthMethodSecretPost {
			t.Errorf("%s: creds = %+v", target, creds)
		}
	}
}

// WriteError is the last line of defence: an *oauth2.Error built as a
// struct literal, bypassing Errorf, still goes out within RFC 6749 §5.2's
// character set.
func TestWriteErrorDescriptionCharset(t *testing.T) {
	tests := []struct {
		name string
		desc string
		want string
	}{
		{"quotes", `field "x" is bad`, "field 'x' is bad"},
		{"CR LF and backslash", "a\r\nb\\c", "a??b?c"},
		{"section sign", "RFC 6749 §5.2", "RFC 6749 section 5.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			WriteError(w, &oauth2.Error{Code: oauth2.CodeInvalidRequest, Description: tt.desc})
			var body ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body.Description != tt.want {
				t.Errorf("error_description = %q, want %q", body.Description, tt.want)
			}
		})
	}
}

// A repeated parameter's name is caller input: it is never echoed raw.
func TestParseClientRequestRepeatedNameNotEchoedRaw(t *testing.T) {
	_, _, err := parse(t, formRequest{body: "a%0D%0Ab%22=1&a%0D%0Ab%22=2"})
	var oe *oauth2.Error
	if !errors.As(err, &oe) || oe.Code != oauth2.CodeInvalidRequest {
		t.Fatalf("err = %v, want invalid_request", err)
	}
	if strings.ContainsAny(oe.Description, "\r\n\"") {
		t.Errorf("Description echoes raw input: %q", oe.Description)
	}
}

// FuzzRequestErrorDescription: whatever body and Authorization header a
// caller sends, the error_description the adapter writes for it is within
// RFC 6749 §5.2's character set.
func FuzzRequestErrorDescription(f *testing.F) {
	f.Add("a%0D%0Ab%22=1&a%0D%0Ab%22=2", "")
	f.Add("client_secret=s", basicHeader("cli", "s"))
	f.Add("client_id=%C2%A7&client_id=x", "Bearer \"x\"")
	f.Add("x=%zz", "Basic !!")
	f.Fuzz(func(t *testing.T, body, auth string) {
		r := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header["Authorization"] = []string{auth}
		_, _, err := (&Handler{sources: sourceaddr.New(nil)}).parseClientRequest(httptest.NewRecorder(), r)
		var oe *oauth2.Error
		if !errors.As(err, &oe) {
			return
		}
		w := httptest.NewRecorder()
		WriteError(w, oe)
		var eb ErrorBody
		if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(eb.Description); i++ {
			if c := eb.Description[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
				t.Fatalf("error_description %q has byte %#x", eb.Description, c)
			}
		}
	})
}
