package storetest

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/oauth2/par"
	"github.com/latchkey/latchkey/internal/store"
)

// roomy are caps no test of single requests reaches.
var roomy = par.Limits{PerClient: 1000, PerSource: 1000}

func samplePushed(uri string) par.Request {
	return par.Request{
		Hash: par.Hash(uri), ClientID: "c1",
		Params: url.Values{"response_type": {"code"}, "client_id": {"c1"}, "redirect_uri": {"https://app.example/cb?x=1&y=é"},
			"scope": {"openid api:read"}, "state": {"s\x01 &="}},
		CreatedAt: base, ExpiresAt: base.Add(par.Lifetime),
	}
}

func testPushedRequests(t *testing.T, s store.Store) {
	r := samplePushed("urn:ietf:params:oauth:request_uri:one")
	if err := s.CreatePushedRequest(ctx(t), r, roomy); err != nil {
		t.Fatal(err)
	}
	if err := s.CreatePushedRequest(ctx(t), r, roomy); err == nil {
		t.Error("a second request with the same hash was stored")
	}
	got, err := s.ConsumePushedRequest(ctx(t), r.Hash, r.ClientID)
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Errorf("ConsumePushedRequest = %+v, %v; want %+v", got, err, r)
	}
	// Single use: the second consumption finds nothing.
	if _, err := s.ConsumePushedRequest(ctx(t), r.Hash, r.ClientID); !errors.Is(err, par.ErrNotFound) {
		t.Errorf("second consumption: %v, want ErrNotFound", err)
	}
	for _, bad := range []string{"missing", "\x00", "\xff", ""} {
		if _, err := s.ConsumePushedRequest(ctx(t), bad, "c1"); !errors.Is(err, par.ErrNotFound) {
			t.Errorf("ConsumePushedRequest(%q): %v", bad, err)
		}
	}
	// Pushing prunes requests already expired.
	old := samplePushed("urn:ietf:params:oauth:request_uri:old")
	if err := s.CreatePushedRequest(ctx(t), old, roomy); err != nil {
		t.Fatal(err)
	}
	later := samplePushed("urn:ietf:params:oauth:request_uri:later")
	later.CreatedAt, later.ExpiresAt = base.Add(2*par.Lifetime), base.Add(3*par.Lifetime)
	if err := s.CreatePushedRequest(ctx(t), later, roomy); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsumePushedRequest(ctx(t), old.Hash, old.ClientID); !errors.Is(err, par.ErrNotFound) {
		t.Errorf("expired request kept: %v", err)
	}
	if _, err := s.ConsumePushedRequest(ctx(t), later.Hash, later.ClientID); err != nil {
		t.Errorf("live request: %v", err)
	}
}

func testPushedRequestConcurrentConsume(t *testing.T, s store.Store) {
	r := samplePushed("urn:ietf:params:oauth:request_uri:race")
	r.ExpiresAt = base.Add(time.Hour)
	if err := s.CreatePushedRequest(ctx(t), r, roomy); err != nil {
		t.Fatal(err)
	}
	const n = 8
	wins := oneWinner(t, n, par.ErrNotFound, func() error {
		_, err := s.ConsumePushedRequest(ctx(t), r.Hash, r.ClientID)
		return err
	})
	if wins != 1 {
		t.Errorf("%d of %d concurrent consumers got the request, want 1", wins, n)
	}
}

// Another client's attempt to consume a request changes nothing: its
// owner can still use it, once.
func testPushedRequestOtherClient(t *testing.T, s store.Store) {
	r := samplePushed("urn:ietf:params:oauth:request_uri:theirs")
	r.Source = "192.0.2.7"
	if err := s.CreatePushedRequest(ctx(t), r, roomy); err != nil {
		t.Fatal(err)
	}
	for _, other := range []string{"c2", "C1", "c1 ", "", "\xff"} {
		if _, err := s.ConsumePushedRequest(ctx(t), r.Hash, other); !errors.Is(err, par.ErrNotFound) {
			t.Errorf("ConsumePushedRequest by %q: %v, want ErrNotFound", other, err)
		}
	}
	got, err := s.ConsumePushedRequest(ctx(t), r.Hash, "c1")
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Errorf("owner's ConsumePushedRequest = %+v, %v; want %+v", got, err, r)
	}
}

// The caps: per client over every live request, per source over those
// with that source; expired requests do not count, and a refused request
// is not stored.
func testPushedRequestCaps(t *testing.T, s store.Store) {
	lim := par.Limits{PerClient: 3, PerSource: 2}
	n := 0
	push := func(clientID, source string, at time.Time) (par.Request, error) {
		n++
		r := samplePushed(fmt.Sprintf("urn:ietf:params:oauth:request_uri:cap%d", n))
		r.ClientID, r.Source, r.CreatedAt, r.ExpiresAt = clientID, source, at, at.Add(par.Lifetime)
		return r, s.CreatePushedRequest(ctx(t), r, lim)
	}
	mustPush := func(clientID, source string, at time.Time) par.Request {
		t.Helper()
		r, err := push(clientID, source, at)
		if err != nil {
			t.Fatalf("push %s from %q: %v", clientID, source, err)
		}
		return r
	}
	refused := func(clientID, source string, at time.Time) {
		t.Helper()
		r, err := push(clientID, source, at)
		if !errors.Is(err, par.ErrTooMany) {
			t.Fatalf("push %s from %q: %v, want ErrTooMany", clientID, source, err)
		}
		if _, err := s.ConsumePushedRequest(ctx(t), r.Hash, clientID); !errors.Is(err, par.ErrNotFound) {
			t.Errorf("a refused request was stored: %v", err)
		}
	}
	at := base.Add(time.Hour)
	// Per source, across clients.
	mustPush("pub1", "198.51.100.1", at)
	mustPush("pub2", "198.51.100.1", at)
	refused("pub3", "198.51.100.1", at)
	mustPush("pub3", "198.51.100.2", at)
	// Per client, whatever the source ("" is not a source).
	first := mustPush("conf", "", at)
	mustPush("conf", "", at)
	mustPush("conf", "", at)
	refused("conf", "", at)
	// Consuming one frees its place.
	if _, err := s.ConsumePushedRequest(ctx(t), first.Hash, "conf"); err != nil {
		t.Fatal(err)
	}
	mustPush("conf", "", at)
	// Once the lifetime has passed, nothing counts.
	later := at.Add(par.Lifetime + time.Second)
	mustPush("conf", "", later)
	mustPush("pub1", "198.51.100.1", later)
	mustPush("pub4", "198.51.100.1", later)
}

// Concurrent pushes for one client and one source never overshoot a cap.
func testPushedRequestCapConcurrent(t *testing.T, s store.Store) {
	for _, tc := range []struct {
		name, clientFmt, source string
		lim                     par.Limits
	}{
		{"client", "race-client", "", par.Limits{PerClient: 5, PerSource: 1000}},
		{"source", "race-pub%d", "203.0.113.5", par.Limits{PerClient: 1000, PerSource: 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 16
			var (
				wg     sync.WaitGroup
				mu     sync.Mutex
				stored []par.Request
			)
			at := base.Add(2 * time.Hour)
			for i := range n {
				wg.Go(func() {
					r := samplePushed(fmt.Sprintf("urn:ietf:params:oauth:request_uri:race-%s-%d", tc.name, i))
					r.ClientID, r.Source, r.CreatedAt, r.ExpiresAt = fmt.Sprintf(tc.clientFmt, i), tc.source, at, at.Add(par.Lifetime)
					if tc.clientFmt == "race-client" {
						r.ClientID = tc.clientFmt
					}
					err := s.CreatePushedRequest(ctx(t), r, tc.lim)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						stored = append(stored, r)
					case !errors.Is(err, par.ErrTooMany):
						t.Errorf("CreatePushedRequest: %v", err)
					}
				})
			}
			wg.Wait()
			if len(stored) != 5 {
				t.Errorf("%d of %d concurrent pushes stored, want exactly the cap, 5", len(stored), n)
			}
			for _, r := range stored {
				if _, err := s.ConsumePushedRequest(ctx(t), r.Hash, r.ClientID); err != nil {
					t.Errorf("stored request: %v", err)
				}
			}
		})
	}
}

func testClientRequirePushed(t *testing.T, s store.Store) {
	c := SampleClient(0)
	c.RequirePushedRequests = true
	mustCreate(t, s, c)
	for name, get := range lookups(t, s, c) {
		if got, err := get(); err != nil || !got.RequirePushedRequests {
			t.Errorf("%s: require_pushed_requests = %v, %v; want true", name, got.RequirePushedRequests, err)
		}
	}
	updated, err := s.UpdateClient(ctx(t), c.ID, func(old client.Client) (client.Client, audit.Event, error) {
		old.RequirePushedRequests = false
		return old, Event(audit.ClientUpdate, c.ID), nil
	})
	if err != nil || updated.RequirePushedRequests {
		t.Fatalf("UpdateClient: %v, %v", updated.RequirePushedRequests, err)
	}
	if got, err := s.GetClient(ctx(t), c.ID); err != nil || got.RequirePushedRequests {
		t.Errorf("after update: %v, %v", got.RequirePushedRequests, err)
	}
}
