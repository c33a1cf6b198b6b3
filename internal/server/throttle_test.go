package server_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
)

// The throttle behind a reverse proxy (issue 11, finding 9): forwarding
// headers count only from --trusted-proxies; a spray of junk client_ids
// from more addresses than the throttle tracks does not stop a real client
// from locking after MaxAuthFailures wrong secrets.
func TestThrottleBehindTrustedProxy(t *testing.T) {
	const proxy = "192.0.2.1" // httptest.NewRequest's peer address
	for _, tc := range []struct {
		name    string
		trusted string
		// wantOtherAddress is what the real client gets, with its secret,
		// from another forwarded address once the guesser is locked out.
		wantOtherAddress int
	}{
		// The headers are believed: the guesser's address is locked, the
		// real client's is not.
		{name: "peer is a trusted proxy", trusted: proxy + "/32", wantOtherAddress: http.StatusOK},
		// The headers are ignored: every request is the proxy's, which has
		// spent its budget; forged headers do not spread the count.
		{name: "peer is not trusted", trusted: "10.0.0.0/8", wantOtherAddress: http.StatusTooManyRequests},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := servertest.New(t, func(o *server.Options) { o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix(tc.trusted)} })
			c, secret := e.ServiceClient("svc", "api:read")
			token := func(from, clientID, secret string) *httptest.ResponseRecorder {
				body := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}}.Encode()
				r := httptest.NewRequest("POST", "/oauth2/token", strings.NewReader(body))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.Header.Set("X-Forwarded-For", "203.0.113.250, "+from) // the left hop is forgeable
				w := httptest.NewRecorder()
				e.App.Handler.ServeHTTP(w, r)
				return w
			}
			for i := range 10100 {
				from := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
				if w := token(from, fmt.Sprint("junk-", i), "x"); w.Code != http.StatusUnauthorized && w.Code != http.StatusTooManyRequests {
					t.Fatalf("junk %d: %d", i, w.Code)
				}
			}
			for i := range client.MaxAuthFailures {
				token("198.51.100.7", c.ClientID, fmt.Sprint("guess-", i))
			}
			w := token("198.51.100.7", c.ClientID, secret.Expose())
			if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "60" {
				t.Errorf("guesser after %d failures: %d Retry-After %q, want 429 and 60", client.MaxAuthFailures, w.Code, w.Header().Get("Retry-After"))
			}
			if w := token("198.51.100.8", c.ClientID, secret.Expose()); w.Code != tc.wantOtherAddress {
				t.Errorf("the real client from another address: %d, want %d", w.Code, tc.wantOtherAddress)
			}
		})
	}
}
