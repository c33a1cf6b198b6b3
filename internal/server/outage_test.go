package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/api/register"
	"github.com/latchkey/latchkey/internal/api/storeerr"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/idempotency"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
	"github.com/latchkey/latchkey/internal/store"
)

// storeFault is what faultStore makes the store do.
type storeFault int32

const (
	healthy storeFault = iota
	// down: every call fails as a backend fails when it cannot reach
	// its database.
	down
	// commitLost: writes are applied, but their answer is lost, as when
	// the connection breaks right after COMMIT was sent.
	commitLost
)

// faultStore is a store.Store whose failures a test switches on; the
// backends' own classification is tested in their packages and in the
// fault-injection suite (internal/store/postgres).
type faultStore struct {
	store.Store
	fault atomic.Int32
}

func (f *faultStore) fail() error {
	if storeFault(f.fault.Load()) == down {
		return fmt.Errorf("dial tcp 127.0.0.1:5432: connection refused: %w", domain.ErrUnavailable)
	}
	return nil
}

func (f *faultStore) written(err error) error {
	if err == nil && storeFault(f.fault.Load()) == commitLost {
		return fmt.Errorf("commit: unexpected EOF: %w", domain.ErrOutcomeUnknown)
	}
	return err
}

func (f *faultStore) CreateClient(ctx context.Context, c client.Client, ev audit.Event) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.written(f.Store.CreateClient(ctx, c, ev))
}

func (f *faultStore) RevokeToken(ctx context.Context, jti string, exp time.Time) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.written(f.Store.RevokeToken(ctx, jti, exp))
}

func (f *faultStore) TokenRevoked(ctx context.Context, jti string) (bool, error) {
	if err := f.fail(); err != nil {
		return false, err
	}
	return f.Store.TokenRevoked(ctx, jti)
}

func (f *faultStore) GetClientByClientID(ctx context.Context, id string) (client.Client, error) {
	if err := f.fail(); err != nil {
		return client.Client{}, err
	}
	return f.Store.GetClientByClientID(ctx, id)
}

func (f *faultStore) GetClient(ctx context.Context, id string) (client.Client, error) {
	if err := f.fail(); err != nil {
		return client.Client{}, err
	}
	return f.Store.GetClient(ctx, id)
}

func (f *faultStore) Ping(ctx context.Context) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.Store.Ping(ctx)
}

// checkRFC6749 checks an RFC 6749 §5.2 error body.
func checkRFC6749(t *testing.T, r servertest.Response, status int, field string) {
	t.Helper()
	m := errorObject(t, r, "application/json")
	if _, ok := m["error"].(string); !ok {
		t.Errorf("error body lacks error: %s", r.Body)
	}
	for k := range m {
		if k != "error" && k != "error_description" {
			t.Errorf("error body member %q: %s", k, r.Body)
		}
	}
}

// messageOf is the human-readable text of any dialect's error body.
func messageOf(t *testing.T, r servertest.Response) string {
	t.Helper()
	m := r.Object(t)
	for _, k := range []string{"message", "detail", "error_description"} {
		if s, ok := m[k].(string); ok {
			return s
		}
	}
	t.Fatalf("no message in %s", r.Body)
	return ""
}

// storeCall is one request that needs the store, and how its dialect
// shapes errors.
type storeCall struct {
	name, method, path, ct, body string
	headers                      []string // "Key: value"
	check                        func(*testing.T, servertest.Response, int, string)
	write                        bool // creates a client: its outcome can be unknown
}

// storeCalls are a request in each dialect and each OAuth endpoint: the
// registrations carry tok (a clients:create token) unless they are open
// registration, the OAuth endpoints authenticate as svc.
func storeCalls(tok string, svc client.Client, secret client.Secret) []storeCall {
	form := func(v url.Values) string { return v.Encode() }
	basic := "Authorization: " + servertest.BasicAuth(svc.ClientID, secret.Expose())
	return []storeCall{
		{name: "seed001", method: "POST", path: dialects[0].path, ct: "application/json", body: dialects[0].valid, check: checkSeed001, write: true},
		{name: "seed000", method: "POST", path: dialects[1].path, ct: "application/json", body: dialects[1].valid, check: checkSeed000, write: true},
		{name: "seed002", method: "POST", path: dialects[2].path, ct: "application/json", body: dialects[2].valid, check: checkSeed002, write: true},
		{name: "register", method: "POST", path: "/oauth2/register", ct: "application/json", body: `{"client_name":"App","redirect_uris":["https://app.example.com/cb"]}`, check: checkRFC6749, write: true},
		{name: "admin get", method: "GET", path: "/v1/admin/oauth-clients/" + svc.ID, check: checkSeed001},
		{name: "token", method: "POST", path: "/oauth2/token", ct: "application/x-www-form-urlencoded", body: form(url.Values{"grant_type": {"client_credentials"}}), headers: []string{basic}, check: checkRFC6749},
		{name: "introspect", method: "POST", path: "/oauth2/introspect", ct: "application/x-www-form-urlencoded", body: form(url.Values{"token": {tok}}), headers: []string{basic}, check: checkRFC6749},
		{name: "revoke", method: "POST", path: "/oauth2/revoke", ct: "application/x-www-form-urlencoded", body: form(url.Values{"token": {tok}}), headers: []string{basic}, check: checkRFC6749},
	}
}

// request builds c against the server at base.
func (c storeCall) request(base, tok string) *http.Request {
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, base+c.path, body)
	if err != nil {
		panic(err)
	}
	if c.ct != "" {
		req.Header.Set("Content-Type", c.ct)
	}
	if c.name != "register" && len(c.headers) == 0 {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for _, h := range c.headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	return req
}

// checkOutage checks r is the answer to a request the store could not
// serve: 503, Retry-After, no challenge, c's dialect's error shape, a
// message saying the service is unavailable.
func checkOutage(t *testing.T, c storeCall, r servertest.Response) {
	t.Helper()
	if r.Status != 503 {
		t.Errorf("%s: status %d, want 503: %s", c.name, r.Status, r.Body)
		return
	}
	if got := r.Header.Get("Retry-After"); got == "" {
		t.Errorf("%s: no Retry-After", c.name)
	}
	if got := r.Header.Get("WWW-Authenticate"); got != "" {
		t.Errorf("%s: WWW-Authenticate %q: the credentials were not at fault", c.name, got)
	}
	c.check(t, r, 503, "")
	if msg := messageOf(t, r); !strings.Contains(strings.ToLower(msg), "unavailable") {
		t.Errorf("%s: message %q does not say the service is unavailable", c.name, msg)
	}
}

// checkOutcomeUnknown checks r is the answer to a change whose commit
// outcome is unknown: 503, Retry-After, "may have been applied", the
// Idempotency-Key advice, and never "nothing was changed".
func checkOutcomeUnknown(t *testing.T, c storeCall, r servertest.Response) {
	t.Helper()
	if r.Status != 503 {
		t.Fatalf("status %d, want 503: %s", r.Status, r.Body)
	}
	if r.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	c.check(t, r, 503, "")
	msg := messageOf(t, r)
	for _, want := range []string{"may have been applied", "Idempotency-Key"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "nothing was") {
		t.Errorf("message %q claims nothing was changed", msg)
	}
}

// TestStoreOutage holds every dialect to the same answers while the store
// is unreachable (503, Retry-After, the dialect's error shape, nothing
// claimed about changes it could not have made) and when a change's commit
// outcome is unknown (503, "may have been applied", never "nothing was
// changed").
func TestStoreOutage(t *testing.T) {
	fs := &faultStore{}
	e := servertest.New(t, func(o *server.Options) {
		fs.Store = o.Store
		o.Store = fs
		o.Registration = register.ModeOpen
	})
	tok := e.TokenWith("clients:create")
	svc, secret := e.ServiceClient("svc", "read")
	calls := storeCalls(tok, svc, secret)
	do := func(c storeCall) servertest.Response { return e.Send(c.request(e.URL, tok)) }

	t.Run("unreachable", func(t *testing.T) {
		fs.fault.Store(int32(down))
		defer fs.fault.Store(int32(healthy))
		for _, c := range calls {
			t.Run(c.name, func(t *testing.T) {
				checkOutage(t, c, do(c))
			})
		}
		r := e.Do("GET", "/readyz", "", "", "")
		if r.Status != 503 {
			t.Errorf("/readyz %d while the store is down", r.Status)
		}
	})

	t.Run("commit outcome unknown", func(t *testing.T) {
		for _, c := range calls {
			if !c.write {
				continue
			}
			t.Run(c.name, func(t *testing.T) {
				fs.fault.Store(int32(commitLost))
				defer fs.fault.Store(int32(healthy))
				before := e.CountClients()
				checkOutcomeUnknown(t, c, do(c))
				if after := e.CountClients(); after != before+1 {
					t.Errorf("clients %d -> %d: the fake store applies the change", before, after)
				}
			})
		}
	})
}

func (f *faultStore) ClaimIdempotencyKey(ctx context.Context, rec idempotency.Record, now time.Time) (idempotency.Record, bool, error) {
	if err := f.fail(); err != nil {
		return idempotency.Record{}, false, err
	}
	return f.Store.ClaimIdempotencyKey(ctx, rec, now)
}

// TestIdempotencyAndUnknownOutcome: a registration whose commit answer was
// lost is answered 503 "may have been applied", and a retry with the same
// Idempotency-Key gets that same answer instead of registering a second
// client. A store outage while claiming the key is a 503 too, not a 500.
func TestIdempotencyAndUnknownOutcome(t *testing.T) {
	fs := &faultStore{}
	e := servertest.New(t, func(o *server.Options) {
		fs.Store = o.Store
		o.Store = fs
	})
	tok := e.TokenWith("clients:create")
	body := `{"client_name":"retry me","redirect_uris":["https://a.example/cb"],"allowed_scopes":["api:public"]}`
	post := func() servertest.Response {
		return e.Do("POST", "/v1/admin/oauth-clients", "application/json", tok, body, "Idempotency-Key: lost-commit-1")
	}

	fs.fault.Store(int32(commitLost))
	first := post()
	fs.fault.Store(int32(healthy))
	if first.Status != 503 || !strings.Contains(first.String(), storeerr.OutcomeUnknownMarker) {
		t.Fatalf("lost commit: %d %s", first.Status, first.Body)
	}
	before := e.CountClients()
	retry := post()
	if retry.Status != 503 || retry.String() != first.String() {
		t.Errorf("retry with the same key: %d %s, want the first answer replayed", retry.Status, retry.Body)
	}
	if after := e.CountClients(); after != before {
		t.Errorf("the retry registered another client: %d -> %d", before, after)
	}

	fs.fault.Store(int32(down))
	defer fs.fault.Store(int32(healthy))
	r := e.Do("POST", "/v1/admin/oauth-clients", "application/json", tok, body, "Idempotency-Key: outage-1")
	if r.Status != 503 || r.Header.Get("Retry-After") == "" || strings.Contains(r.String(), "internal error") {
		t.Errorf("outage while claiming the key: %d %v %s, want 503 with Retry-After", r.Status, r.Header, r.Body)
	}
}
