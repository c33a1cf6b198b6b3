package admin

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/api/jsonbody"
)

// FuzzCreateRequest feeds arbitrary bodies through the seed 001 request
// parser: strict decoding, the schema's own rules and the mapping to the
// domain input. It must never panic, every rejection must carry a message,
// and an accepted body must have produced every required member.
func FuzzCreateRequest(f *testing.F) {
	for _, seed := range []string{
		`{"client_name":"App","redirect_uris":["https://a.example/cb"],"allowed_scopes":["openid"]}`,
		`{"client_name":"App","client_type":"public","redirect_uris":["http://127.0.0.1:9/cb"],"allowed_scopes":["a","b"],"allowed_origins":["https://a.example"],"client_uri":"https://a.example","logo_uri":"https://a.example/l.png","grant_types":["authorization_code"]}`,
		`{"client_name":"App","client_name":"Dup","redirect_uris":[],"allowed_scopes":[]}`,
		`{"client_id":"x","client_name":null}`,
		`{"Client_Name":"x"}`,
		`[1,2,3]`, `null`, `{"redirect_uris":[null,1,{}]}`, `{"client_type":"private"}`, "{\"client_name\":\"\\u0000\"}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req createRequest
		if e := jsonbody.Unmarshal(body, &req, jsonbody.Options{ServerSet: serverSet}); e != nil {
			if e.Message == "" || e.Status != 400 {
				t.Fatalf("rejection without a message or with status %d: %+v", e.Status, e)
			}
			return
		}
		in, msg := req.toInput()
		if msg != "" {
			if !utf8.ValidString(msg) || !strings.ContainsAny(msg, "abcdefghijklmnopqrstuvwxyz") {
				t.Fatalf("unreadable message %q", msg)
			}
			return
		}
		if req.ClientName == nil || req.RedirectURIs == nil || req.AllowedScopes == nil || len(in.RedirectURIs) == 0 || len(in.AllowedScopes) == 0 {
			t.Fatalf("accepted without a required member: %s", body)
		}
		if in.Name != *req.ClientName {
			t.Fatalf("name not carried over")
		}
	})
}
