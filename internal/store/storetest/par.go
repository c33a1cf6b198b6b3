package storetest

import (
	"errors"
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
	if err := s.CreatePushedRequest(ctx(t), r); err != nil {
		t.Fatal(err)
	}
	if err := s.CreatePushedRequest(ctx(t), r); err == nil {
		t.Error("a second request with the same hash was stored")
	}
	got, err := s.ConsumePushedRequest(ctx(t), r.Hash)
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Errorf("ConsumePushedRequest = %+v, %v; want %+v", got, err, r)
	}
	// Single use: the second consumption finds nothing.
	if _, err := s.ConsumePushedRequest(ctx(t), r.Hash); !errors.Is(err, par.ErrNotFound) {
		t.Errorf("second consumption: %v, want ErrNotFound", err)
	}
	for _, bad := range []string{"missing", "\x00", "\xff", ""} {
		if _, err := s.ConsumePushedRequest(ctx(t), bad); !errors.Is(err, par.ErrNotFound) {
			t.Errorf("ConsumePushedRequest(%q): %v", bad, err)
		}
	}
	// Pushing prunes requests already expired.
	old := samplePushed("urn:ietf:params:oauth:request_uri:old")
	if err := s.CreatePushedRequest(ctx(t), old); err != nil {
		t.Fatal(err)
	}
	later := samplePushed("urn:ietf:params:oauth:request_uri:later")
	later.CreatedAt, later.ExpiresAt = base.Add(2*par.Lifetime), base.Add(3*par.Lifetime)
	if err := s.CreatePushedRequest(ctx(t), later); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsumePushedRequest(ctx(t), old.Hash); !errors.Is(err, par.ErrNotFound) {
		t.Errorf("expired request kept: %v", err)
	}
	if _, err := s.ConsumePushedRequest(ctx(t), later.Hash); err != nil {
		t.Errorf("live request: %v", err)
	}
}

func testPushedRequestConcurrentConsume(t *testing.T, s store.Store) {
	r := samplePushed("urn:ietf:params:oauth:request_uri:race")
	r.ExpiresAt = base.Add(time.Hour)
	if err := s.CreatePushedRequest(ctx(t), r); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for range n {
		wg.Go(func() {
			_, err := s.ConsumePushedRequest(ctx(t), r.Hash)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, par.ErrNotFound):
				t.Errorf("ConsumePushedRequest: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d of %d concurrent consumers got the request, want 1", wins, n)
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
