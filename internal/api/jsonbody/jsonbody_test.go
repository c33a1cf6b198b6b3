package jsonbody

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// registration is a registration body like the admin API's, with pointer
// fields so that "absent" and "zero" differ.
type registration struct {
	ClientName    *string           `json:"client_name"`
	RedirectURIs  []string          `json:"redirect_uris"`
	AllowedScopes []string          `json:"allowed_scopes"`
	FirstParty    *bool             `json:"first_party"`
	Lifetime      *int64            `json:"lifetime"`
	Metadata      map[string]string `json:"metadata"`
}

var serverSet = Options{ServerSet: []string{"client_id", "client_secret", "created_at"}}

func decodeRequest(t *testing.T, contentType, body string, opts Options) (*registration, *Error) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/admin/clients", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	var dst registration
	return &dst, Decode(w, r, &dst, opts)
}

func TestDecodeOK(t *testing.T) {
	body := `{"client_name":"App é","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"],"first_party":false,"lifetime":3600,"metadata":{"k":"v"}}`
	for _, ct := range []string{
		"application/json",
		"application/json; charset=utf-8",
		"application/json;charset=UTF-8",
		"Application/JSON",
	} {
		t.Run(ct, func(t *testing.T) {
			got, err := decodeRequest(t, ct, body, serverSet)
			if err != nil {
				t.Fatalf("Decode: %+v", err)
			}
			if got.ClientName == nil || *got.ClientName != "App é" {
				t.Errorf("client_name = %v", got.ClientName)
			}
			if len(got.RedirectURIs) != 1 || got.RedirectURIs[0] != "https://a.example/cb" {
				t.Errorf("redirect_uris = %v", got.RedirectURIs)
			}
			if got.FirstParty == nil || *got.FirstParty {
				t.Errorf("first_party = %v, want pointer to false", got.FirstParty)
			}
			if got.Lifetime == nil || *got.Lifetime != 3600 {
				t.Errorf("lifetime = %v", got.Lifetime)
			}
			if got.Metadata["k"] != "v" {
				t.Errorf("metadata = %v", got.Metadata)
			}
		})
	}
}

func TestDecodeAbsentFieldsStayNil(t *testing.T) {
	got, err := decodeRequest(t, "application/json", ` { } `, Options{})
	if err != nil {
		t.Fatalf("Decode: %+v", err)
	}
	if got.ClientName != nil || got.RedirectURIs != nil || got.FirstParty != nil || got.Lifetime != nil {
		t.Errorf("absent fields were set: %+v", got)
	}
	got, err = decodeRequest(t, "application/json", `{"client_name":null,"redirect_uris":null}`, Options{})
	if err != nil {
		t.Fatalf("Decode(nulls): %+v", err)
	}
	if got.ClientName != nil || got.RedirectURIs != nil {
		t.Errorf("null fields were set: %+v", got)
	}
}

func TestDecodeContentType(t *testing.T) {
	for _, ct := range []string{
		"",
		"text/plain",
		"application/x-www-form-urlencoded",
		"multipart/form-data; boundary=x",
		"application/json-patch+json",
		"application/jsonx",
		"application/problem+json",
		"json",
		"application/json; charset", // malformed parameter
		";",
	} {
		t.Run(ct, func(t *testing.T) {
			_, err := decodeRequest(t, ct, `{"client_name":"x"}`, Options{})
			if err == nil {
				t.Fatalf("Decode accepted Content-Type %q", ct)
			}
			if err.Status != http.StatusUnsupportedMediaType || err.Code != CodeUnsupportedMediaType {
				t.Errorf("got %d %s, want 415 %s", err.Status, err.Code, CodeUnsupportedMediaType)
			}
			if err.Field != "" {
				t.Errorf("Field = %q, want empty", err.Field)
			}
			if !strings.Contains(err.Message, "application/json") {
				t.Errorf("Message = %q, want it to name application/json", err.Message)
			}
		})
	}
}

func TestDecodeCustomContentTypes(t *testing.T) {
	opts := Options{ContentTypes: []string{"application/json", "application/merge-patch+json"}}
	if _, err := decodeRequest(t, "application/merge-patch+json", `{}`, opts); err != nil {
		t.Errorf("merge-patch: %+v", err)
	}
	_, err := decodeRequest(t, "text/json", `{}`, opts)
	if err == nil || err.Status != http.StatusUnsupportedMediaType {
		t.Fatalf("text/json: %+v, want 415", err)
	}
	if !strings.Contains(err.Message, "application/merge-patch+json") {
		t.Errorf("Message = %q, want it to list the accepted types", err.Message)
	}
}

func TestDecodeTooLarge(t *testing.T) {
	// A valid object just over the limit.
	pad := strings.Repeat("a", MaxBytes)
	body := `{"client_name":"` + pad + `"}`
	_, err := decodeRequest(t, "application/json", body, Options{})
	if err == nil {
		t.Fatal("Decode accepted an oversized body")
	}
	if err.Status != http.StatusRequestEntityTooLarge || err.Code != CodeTooLarge {
		t.Errorf("got %d %s, want 413 %s", err.Status, err.Code, CodeTooLarge)
	}

	// Exactly MaxBytes is fine.
	body = `{"client_name":"` + strings.Repeat("a", MaxBytes-len(`{"client_name":""}`)) + `"}`
	if len(body) != MaxBytes {
		t.Fatalf("test body is %d bytes", len(body))
	}
	if _, err := decodeRequest(t, "application/json", body, Options{}); err != nil {
		t.Errorf("body of exactly MaxBytes: %+v", err)
	}

	// Whitespace does not get a pass.
	body = `{}` + strings.Repeat(" ", MaxBytes)
	if _, err := decodeRequest(t, "application/json", body, Options{}); err == nil || err.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized whitespace body: %+v, want 413", err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, http.ErrBodyReadAfterClose }

func TestDecodeReadError(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/", failingReader{})
	r.Header.Set("Content-Type", "application/json")
	var dst registration
	err := Decode(httptest.NewRecorder(), r, &dst, Options{})
	if err == nil || err.Status != http.StatusBadRequest || err.Code != CodeInvalidRequest {
		t.Errorf("Decode with failing body = %+v, want 400 invalid_request", err)
	}
}

func TestDecodeBadBodies(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		field string // expected Field ("" = whole body)
		msg   string // substring of Message
	}{
		{"empty", ``, "", "empty"},
		{"whitespace", " \n\t ", "", "empty"},
		{"array", `[{"client_name":"x"}]`, "", "JSON object"},
		{"empty array", `[]`, "", "JSON object"},
		{"string", `"client_name"`, "", "JSON object"},
		{"number", `42`, "", "JSON object"},
		{"true", `true`, "", "JSON object"},
		{"null", `null`, "", "JSON object"},
		{"garbage", `client_name=x`, "", "not valid JSON"},
		{"truncated object", `{"client_name":"x"`, "", "not valid JSON"},
		{"unclosed", `{`, "", "not valid JSON"},
		{"trailing comma", `{"client_name":"x",}`, "", "not valid JSON"},
		{"single quotes", `{'client_name':'x'}`, "", "not valid JSON"},
		{"trailing data", `{"client_name":"x"} {}`, "", "not valid JSON"},
		{"trailing garbage", `{"client_name":"x"}x`, "", "not valid JSON"},
		{"invalid UTF-8 in string", "{\"client_name\":\"\xff\"}", "client_name", "not valid JSON"},
		{"comment", `{/* c */"client_name":"x"}`, "", "not valid JSON"},
		{"BOM", "\ufeff{}", "", "not valid JSON"},
		{"NaN", `{"lifetime":NaN}`, "lifetime", "not valid JSON"},

		{"duplicate key", `{"client_name":"a","client_name":"b"}`, "client_name", "more than once"},
		{"duplicate key far apart", `{"client_name":"a","allowed_scopes":["x"],"client_name":"b"}`, "client_name", "more than once"},
		{"duplicate key differing escapes", `{"client_name":"a","client\u005fname":"b"}`, "client_name", "more than once"},
		{"duplicate key nested", `{"metadata":{"k":"a","k":"b"}}`, "metadata", ""}, // message: see TestDecodeNestedMessages

		{"unknown field", `{"client_name":"x","grant_typez":["a"]}`, "grant_typez", `unknown field "grant_typez"`},
		{"server-set client_id", `{"client_name":"x","client_id":"mine"}`, "client_id", "set by the server"},
		{"server-set client_secret", `{"client_secret":"mine"}`, "client_secret", "set by the server"},
		{"case mismatch", `{"Client_Name":"x"}`, "Client_Name", "unknown field"},
		{"case mismatch upper", `{"CLIENT_NAME":"x"}`, "CLIENT_NAME", "unknown field"},
		{"camel case", `{"clientName":"x"}`, "clientName", "unknown field"},
		{"server-set wrong case is just unknown", `{"Client_ID":"x"}`, "Client_ID", "unknown field"},

		{"number for string", `{"client_name":42}`, "client_name", "must be a string"},
		{"bool for string", `{"client_name":true}`, "client_name", "must be a string"},
		{"object for string", `{"client_name":{}}`, "client_name", "must be a string"},
		{"string for bool", `{"first_party":"true"}`, "first_party", "must be a boolean"},
		{"number for bool", `{"first_party":1}`, "first_party", "must be a boolean"},
		{"string for list", `{"redirect_uris":"https://a.example/cb"}`, "redirect_uris", "must be an array of strings"},
		{"object for list", `{"redirect_uris":{}}`, "redirect_uris", "must be an array of strings"},
		{"numbers in list", `{"redirect_uris":[1,2]}`, "redirect_uris", ""}, // message: see TestDecodeNestedMessages
		{"string for integer", `{"lifetime":"3600"}`, "lifetime", "must be an integer"},
		{"fraction for integer", `{"lifetime":1.5}`, "lifetime", "must be an integer"},
		{"overflow integer", `{"lifetime":99999999999999999999}`, "lifetime", "must be an integer"},
		{"list for object", `{"metadata":[]}`, "metadata", "must be an object"},
		{"number in map", `{"metadata":{"k":1}}`, "metadata", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeRequest(t, "application/json", tt.body, serverSet)
			if err == nil {
				t.Fatalf("Decode accepted %q", tt.body)
			}
			if err.Status != http.StatusBadRequest || err.Code != CodeInvalidRequest {
				t.Errorf("got %d %s, want 400 %s", err.Status, err.Code, CodeInvalidRequest)
			}
			if err.Field != tt.field {
				t.Errorf("Field = %q, want %q (message %q)", err.Field, tt.field, err.Message)
			}
			if !strings.Contains(err.Message, tt.msg) {
				t.Errorf("Message = %q, want it to contain %q", err.Message, tt.msg)
			}
			if tt.field != "" && tt.msg != "not valid JSON" && !strings.Contains(err.Message, tt.field) {
				t.Errorf("Message = %q does not name field %q", err.Message, tt.field)
			}
			if err.Error() != err.Message {
				t.Errorf("Error() = %q, want Message", err.Error())
			}
		})
	}
}

// An unknown field must be reported even when a known field before it is
// fine, and the field reported is the first offending one.
func TestDecodeReportsFirstProblem(t *testing.T) {
	_, err := decodeRequest(t, "application/json", `{"client_name":"x","evil":1,"client_id":"y"}`, serverSet)
	if err == nil || err.Field != "evil" {
		t.Fatalf("got %+v, want field evil", err)
	}
}

func TestUnmarshalNoHTTP(t *testing.T) {
	var dst registration
	if err := Unmarshal([]byte(`{"allowed_scopes":["a","b"]}`), &dst, Options{}); err != nil {
		t.Fatalf("Unmarshal: %+v", err)
	}
	if strings.Join(dst.AllowedScopes, " ") != "a b" {
		t.Errorf("allowed_scopes = %v", dst.AllowedScopes)
	}
	if err := Unmarshal(bytes.Repeat([]byte("["), 20000), &dst, Options{}); err == nil {
		t.Error("Unmarshal accepted deeply nested arrays")
	}
}

// Errors inside a list or object are reported against the top-level field
// (Field), while the message names the exact element at fault.
func TestDecodeNestedMessages(t *testing.T) {
	_, err := decodeRequest(t, "application/json", `{"redirect_uris":[1,2]}`, Options{})
	if err == nil || err.Field != "redirect_uris" || !strings.Contains(err.Message, `"redirect_uris[0]" must be a string`) {
		t.Errorf("numbers in list: %+v, want field redirect_uris and a message naming redirect_uris[0]", err)
	}
	_, err = decodeRequest(t, "application/json", `{"metadata":{"k":"a","k":"b"}}`, Options{})
	if err == nil || err.Field != "metadata" || !strings.Contains(err.Message, `"metadata.k" appears more than once`) {
		t.Errorf("nested duplicate: %+v, want field metadata and a message naming metadata.k", err)
	}
}
