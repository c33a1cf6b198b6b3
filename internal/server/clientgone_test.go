package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/latchkey/latchkey/internal/api/register"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
	"github.com/latchkey/latchkey/internal/store"
)

// stallingStore makes the one method named in stall wait until its
// context is done, as a slow query does when the client hangs up.
type stallingStore struct {
	store.Store
	stall   atomic.Pointer[string]
	entered chan struct{}
}

func (s *stallingStore) wait(ctx context.Context, method string) (bool, error) {
	if p := s.stall.Load(); p == nil || *p != method {
		return false, nil
	}
	s.entered <- struct{}{}
	<-ctx.Done()
	return true, ctx.Err()
}

func (s *stallingStore) ListClients(ctx context.Context, f client.Filter) ([]client.Client, error) {
	if ok, err := s.wait(ctx, "ListClients"); ok {
		return nil, err
	}
	return s.Store.ListClients(ctx, f)
}

func (s *stallingStore) TokenRevoked(ctx context.Context, jti string) (bool, error) {
	if ok, err := s.wait(ctx, "TokenRevoked"); ok {
		return false, err
	}
	return s.Store.TokenRevoked(ctx, jti)
}

func (s *stallingStore) GetClientByClientID(ctx context.Context, id string) (client.Client, error) {
	if ok, err := s.wait(ctx, "GetClientByClientID"); ok {
		return client.Client{}, err
	}
	return s.Store.GetClientByClientID(ctx, id)
}

func (s *stallingStore) CreateClient(ctx context.Context, c client.Client, ev audit.Event) error {
	if ok, err := s.wait(ctx, "CreateClient"); ok {
		return err
	}
	return s.Store.CreateClient(ctx, c, ev)
}

// A client that hangs up mid-request is not a server error: no ERROR
// line, and the request log and metrics say 499, in every place handlers
// log failures (issue 12 #4).
func TestClientGoneIs499NotError(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	const jsonType = "application/json"
	for _, tc := range []struct {
		name, stall, method, path, route, contentType, body, scope string
	}{
		{"admin dialect", "ListClients", "GET", "/v1/admin/oauth-clients", "GET /v1/admin/oauth-clients", "", "", "clients:read"},
		{"bearer verification", "TokenRevoked", "GET", "/v1/admin/oauth-clients", "GET /v1/admin/oauth-clients", "", "", "clients:read"},
		{"token endpoint", "GetClientByClientID", "POST", "/oauth2/token", "POST /oauth2/token", form, "grant_type=client_credentials&client_id=nobody&client_secret=x", ""},
		{"flat dialect", "CreateClient", "POST", "/api/clients", "POST /api/clients", jsonType,
			`{"client_name":"Gone","redirect_uri":"https://gone.example/cb","grant_types":"client_credentials","is_confidential":true}`, "clients:create"},
		{"registration", "CreateClient", "POST", "/oauth2/register", "POST /oauth2/register", jsonType,
			`{"client_name":"Gone","redirect_uris":["https://gone.example/cb"]}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &stallingStore{entered: make(chan struct{}, 1)}
			e := servertest.New(t, func(o *server.Options) {
				st.Store = o.Store
				o.Store = st
				o.Registration = register.ModeOpen
				o.ClientCacheTTL = 0
			})
			tok := ""
			if tc.scope != "" {
				tok = e.TokenWith(tc.scope)
			}
			done := make(chan struct{})
			e.SetHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer close(done)
				e.App.Handler.ServeHTTP(w, r)
			}))
			st.stall.Store(&tc.stall)

			ctx, cancel := context.WithCancel(t.Context())
			req, err := http.NewRequestWithContext(ctx, tc.method, e.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			if tok != "" {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			go func() {
				<-st.entered
				cancel()
			}()
			if res, err := http.DefaultClient.Do(req); err == nil {
				res.Body.Close()
				t.Fatalf("the request was answered (%d) although the client hung up", res.StatusCode)
			}
			<-done

			logs := e.Logs.String()
			if strings.Contains(logs, `"level":"ERROR"`) {
				t.Errorf("a client hanging up was logged as an error:\n%s", logs)
			}
			if !strings.Contains(logs, `"status":499`) {
				t.Errorf("the request log does not say 499:\n%s", logs)
			}
			rec := httptest.NewRecorder()
			e.App.Metrics.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			want := `latchkey_http_requests_total{code="499",method="` + tc.method + `",route="` + tc.route + `"} 1`
			if !strings.Contains(rec.Body.String(), want) {
				t.Errorf("metrics lack %s", want)
			}
		})
	}
}
