package server_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
)

// BenchmarkTokenEndpoint is a client_credentials token over the whole
// handler (request log and metrics, form parsing, client authentication,
// minting, the JSON answer) without the network, with the default
// access-log sampling and client cache.
func BenchmarkTokenEndpoint(b *testing.B) {
	e := servertest.New(b, func(o *server.Options) {
		o.AccessLogSample = 100
		o.ClientCacheTTL = server.DefaultClientCacheTTL
	})
	c, secret := e.ServiceClient("bench", "api:read")
	auth := servertest.BasicAuth(c.ClientID, secret.Expose())
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader("grant_type=client_credentials&scope=api%3Aread"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		e.App.Handler.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}
