package register_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/latchkey/latchkey/internal/api/register"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
)

// FuzzRegistrationRequest feeds arbitrary bodies to the registration
// handler (open mode, called directly so a panic is not turned into a 500
// by the server's recoverer): it must never panic and must answer only
// 201, 400, 413 or 415, always with a JSON body.
func FuzzRegistrationRequest(f *testing.F) {
	for _, seed := range []string{
		ccBody,
		acBody,
		`{}`,
		`[]`,
		`null`,
		``,
		`{"redirect_uris":["https://a.example.com/cb"],"response_types":["code"],"token_endpoint_auth_method":"none"}`,
		`{"grant_types":["client_credentials"],"client_name":"a","client_name":"b"}`,
		`{"grant_types":["client_credentials"],"jwks":{"keys":[]},"subject_type":"public"}`,
		`{"redirect_uris":"x","scope":5,"contacts":[null]}`,
		`{"redirect_uris":["javascript:alert(1)"],"grant_types":[""],"response_types":["code","token"]}`,
		`{"grant_types":["client_credentials"],"scope":"  a\tb  clients:create "}`,
		"{\"client_name\":\"\xff\xfe\"}",
		`{"client_uri":"https://\u0000.example.com","logo_uri":"http://[::1"}`,
	} {
		f.Add([]byte(seed))
	}
	// Logs are discarded: a long fuzz run would pile them up in memory.
	log := slog.New(slog.DiscardHandler)
	e := servertest.New(f, func(o *server.Options) { o.Registration, o.Log = register.ModeOpen, log })
	h, err := register.New(register.Deps{Clients: e.App.Clients, Mode: register.ModeOpen, Issuer: e.URL, Log: log})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/oauth2/register", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.Register(rec, req)
		switch rec.Code {
		case http.StatusCreated, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" || rec.Body.Len() == 0 || rec.Body.Bytes()[0] != '{' {
			t.Fatalf("response is not a JSON object (%q): %s", ct, rec.Body)
		}
	})
}
