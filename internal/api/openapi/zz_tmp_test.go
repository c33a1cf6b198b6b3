package openapi_test

import (
	"bytes"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/latchkey/latchkey/internal/api/openapi"
)

func TestTmpValidate(t *testing.T) {
	for _, m := range [][2]string{
		{`"clientId": "oauth_client_xyz789"`, `"clientId": 5`},
		{`"type": "boolean",
                "description": "Whether`, `"type": "bool",
                "description": "Whether`},
		{`"grant_types": "password,client_credentials,refresh_token",
        "is_confidential": true`, `"grant_types": "password,implicit",
        "is_confidential": true`},
		{`"m2m": true,
            "botUserId": "bot-abc123"
          }`, `"m2m": true
          }`},
		{`"exp": 1767229200`, `"exp": "x"`},
		{`"$ref": "#/components/responses/Admin400"`, `"$ref": "#/components/responses/AdminX"`},
	} {
		data := bytes.Replace(openapi.Document(), []byte(m[0]), []byte(m[1]), 1)
		if bytes.Equal(data, openapi.Document()) {
			t.Errorf("no match %q", m[0])
			continue
		}
		l := openapi3.NewLoader()
		l.IsExternalRefsAllowed = false
		doc, err := l.LoadFromData(data)
		if err != nil {
			t.Logf("load: %v", err)
			continue
		}
		err = doc.Validate(t.Context())
		t.Logf("%q: %v", m[1], err)
	}
}
