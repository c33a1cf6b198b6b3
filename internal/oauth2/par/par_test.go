package par_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/clocktest"
	"github.com/latchkey/latchkey/internal/oauth2"
	"github.com/latchkey/latchkey/internal/oauth2/par"
)

// memRepo is a Repository in memory that counts like the stores do.
type memRepo struct {
	rows     map[string]par.Request
	lastLims par.Limits
}

func (m *memRepo) CreatePushedRequest(_ context.Context, r par.Request, lim par.Limits) error {
	m.lastLims = lim
	byClient, bySource := 0, 0
	for _, x := range m.rows {
		if x.ExpiresAt.After(r.CreatedAt) {
			if x.ClientID == r.ClientID {
				byClient++
			}
			if r.Source != "" && x.Source == r.Source {
				bySource++
			}
		}
	}
	if byClient >= lim.PerClient || (r.Source != "" && bySource >= lim.PerSource) {
		return par.ErrTooMany
	}
	m.rows[r.Hash] = r
	return nil
}

func (m *memRepo) ConsumePushedRequest(_ context.Context, hash, clientID string) (par.Request, error) {
	r, ok := m.rows[hash]
	if !ok || r.ClientID != clientID {
		return par.Request{}, par.ErrNotFound
	}
	delete(m.rows, hash)
	return r, nil
}

type auth struct{ c client.Client }

func (a auth) Authenticate(context.Context, oauth2.Credentials) (client.Client, error) {
	return a.c, nil
}

type accept struct{}

func (accept) ValidatePushed(context.Context, client.Client, url.Values) error { return nil }

var (
	public       = client.Client{ClientID: "pub", TokenEndpointAuthMethod: client.AuthMethodNone}
	confidential = client.Client{ClientID: "conf", TokenEndpointAuthMethod: client.AuthMethodSecretBasic}
)

func TestSourceRecorded(t *testing.T) {
	for _, tc := range []struct {
		name   string
		c      client.Client
		addr   string
		source string
	}{
		{"public", public, "192.0.2.1", "192.0.2.1"},
		{"public, address unknown", public, "", "unknown"},
		{"confidential", confidential, "192.0.2.1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := &memRepo{rows: map[string]par.Request{}}
			clock := clocktest.New(time.Unix(1e9, 0))
			s := &par.Service{Auth: auth{tc.c}, Validate: accept{}, Repo: repo, Now: clock.Now}
			pushed, err := s.Push(t.Context(), oauth2.Credentials{ClientID: tc.c.ClientID, Source: tc.addr}, url.Values{"response_type": {"code"}})
			if err != nil {
				t.Fatal(err)
			}
			cont, err := s.Continue(par.WithSource(t.Context(), tc.addr), tc.c, url.Values{"resource": {"a", "b"}})
			if err != nil {
				t.Fatal(err)
			}
			for _, uri := range []string{pushed.RequestURI, cont} {
				if got := repo.rows[par.Hash(uri)].Source; got != tc.source {
					t.Errorf("source %q, want %q", got, tc.source)
				}
			}
			if repo.lastLims != (par.Limits{PerClient: par.DefaultMaxPerClient, PerSource: par.DefaultMaxPerSource}) {
				t.Errorf("limits %+v, want the defaults", repo.lastLims)
			}
			got, err := s.Resolve(t.Context(), tc.c.ClientID, cont)
			if err != nil || len(got["resource"]) != 2 {
				t.Errorf("Resolve continuation: %v %v", got, err)
			}
		})
	}
}

func TestCaps(t *testing.T) {
	repo := &memRepo{rows: map[string]par.Request{}}
	clock := clocktest.New(time.Unix(1e9, 0))
	s := &par.Service{Auth: auth{public}, Validate: accept{}, Repo: repo, Now: clock.Now, MaxPerClient: 5, MaxPerSource: 2}
	cr := oauth2.Credentials{ClientID: "pub", Source: "192.0.2.1"}
	for range 2 {
		if _, err := s.Push(t.Context(), cr, url.Values{}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.Push(t.Context(), cr, url.Values{})
	var oe *oauth2.Error
	if !errors.As(err, &oe) || oe.Code != oauth2.CodeInvalidRequest || oe.HTTPStatus() != http.StatusTooManyRequests ||
		oe.RetryAfter != par.Lifetime || !errors.Is(err, par.ErrTooMany) {
		t.Errorf("push at the source cap: %#v", err)
	}
	// A continuation from the same address is held to the same cap.
	if _, err := s.Continue(par.WithSource(t.Context(), "192.0.2.1"), public, url.Values{}); !errors.Is(err, par.ErrTooMany) {
		t.Errorf("continuation at the source cap: %v", err)
	}
	if _, err := s.Continue(par.WithSource(t.Context(), "192.0.2.2"), public, url.Values{}); err != nil {
		t.Errorf("continuation from another address: %v", err)
	}
	if len(repo.rows) != 3 {
		t.Errorf("%d rows stored, want 3", len(repo.rows))
	}
}

// Another client's request_uri is not found, and stays for its owner.
func TestResolveOtherClient(t *testing.T) {
	repo := &memRepo{rows: map[string]par.Request{}}
	s := &par.Service{Auth: auth{confidential}, Validate: accept{}, Repo: repo}
	p, err := s.Push(t.Context(), oauth2.Credentials{ClientID: "conf"}, url.Values{"state": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Resolve(t.Context(), "pub", p.RequestURI); !errors.Is(err, par.ErrNotFound) {
		t.Errorf("other client: %v", err)
	}
	if v, err := s.Resolve(t.Context(), "conf", p.RequestURI); err != nil || v.Get("state") != "x" {
		t.Errorf("owner after another client's attempt: %v %v", v, err)
	}
}
