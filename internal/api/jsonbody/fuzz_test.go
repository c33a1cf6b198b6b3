package jsonbody

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
)

func FuzzUnmarshal(f *testing.F) {
	seeds := []string{
		`{"client_name":"x","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"]}`,
		`{"client_name":"Example App","redirect_uris":["https://a.example/cb","http://127.0.0.1:8080/cb","com.example.app:/cb"],"allowed_scopes":["openid","profile","clients:create"],"first_party":true,"lifetime":3600,"metadata":{"team":"core"}}`,
		`{}`,
		` {"client_name":null} `,
		`{"client_name":"x","client_name":"y"}`,
		`{"metadata":{"a":"1","a":"2"}}`,
		`{"Client_Name":"x"}`,
		`{"client_id":"chosen","client_secret":"chosen"}`,
		`{"client_name":42}`,
		`{"first_party":"yes"}`,
		`{"redirect_uris":[1,2,3]}`,
		`{"redirect_uris":"https://a.example/cb"}`,
		`{"allowed_scopes":["openid",null]}`,
		`{"lifetime":1e3}`,
		`{"lifetime":-0}`,
		`{"lifetime":18446744073709551616}`,
		`{"client_name":"\ud800"}`,
		`{"client_name":"\u0000\u001f\u007f"}`,
		"{\"client_name\":\"\xff\xfe\"}",
		`{"client_name":"x"}{"client_name":"y"}`,
		`{"__proto__":{"admin":true}}`,
		`{"client_name":"x",}`,
		`[{"client_name":"x"}]`,
		`"string"`,
		`12`,
		`null`,
		``,
		"\ufeff{}",
		`{"metadata":{"a":{"b":{"c":[[[[[[[[[[]]]]]]]]]]}}}}`,
		`{"redirect_uris":[` + "\"https://a.example/cb\"," + `"https://a.example/cb"]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	opts := Options{ServerSet: []string{"client_id", "client_secret"}}
	f.Fuzz(func(t *testing.T, body []byte) {
		var dst registration
		jerr := Unmarshal(body, &dst, opts)
		if jerr != nil {
			if jerr.Status != http.StatusBadRequest || jerr.Code != CodeInvalidRequest || jerr.Message == "" {
				t.Fatalf("Unmarshal(%q) = %+v, want a 400 invalid_request with a message", body, jerr)
			}
			return
		}
		out, err := json.Marshal(&dst)
		if err != nil {
			t.Fatalf("re-marshalling %+v from %q: %v", dst, body, err)
		}
		var again registration
		if jerr := Unmarshal(out, &again, opts); jerr != nil {
			t.Fatalf("Unmarshal of re-marshalled %s (from %q): %+v", out, body, jerr)
		}
		if !reflect.DeepEqual(dst, again) {
			t.Fatalf("round trip changed the value:\n first  %+v\n second %+v\n input %q\n output %s", dst, again, body, out)
		}
	})
}
