package client_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/clocktest"
)

type fakeAnon struct {
	touches []string
	fail    error
	left    int
	cutoffs []time.Time
	events  []audit.Event
}

func (f *fakeAnon) CountAnonymousClients(context.Context) (int, error) { return f.left, nil }
func (f *fakeAnon) TouchClient(_ context.Context, id string, _ time.Time) error {
	f.touches = append(f.touches, id)
	return f.fail
}
func (f *fakeAnon) DeleteUnusedAnonymousClients(_ context.Context, cutoff time.Time, limit int, event func(id, clientID string) (audit.Event, error)) (int, error) {
	f.cutoffs = append(f.cutoffs, cutoff)
	n := min(f.left, limit)
	for i := range n {
		ev, err := event(fmt.Sprintf("id-%d", i), fmt.Sprintf("cid-%d", i))
		if err != nil {
			return 0, err
		}
		f.events = append(f.events, ev)
	}
	f.left -= n
	return n, nil
}

func TestUsage(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	repo := &fakeAnon{}
	u := client.NewUsage(repo, clock.Now)
	anon := client.Client{ClientID: "a", OwnerID: client.DCRSubject}
	admin := client.Client{ClientID: "b", OwnerID: "admin"}
	for range 3 {
		if err := u.Note(t.Context(), anon); err != nil {
			t.Fatal(err)
		}
		_ = u.Note(t.Context(), admin)
	}
	clock.Advance(client.UsageInterval)
	_ = u.Note(t.Context(), anon)
	if len(repo.touches) != 2 || repo.touches[0] != "a" {
		t.Errorf("touches %v, want a twice (once per interval, never b)", repo.touches)
	}
	// A failed write is tried again at the next use.
	repo.fail = errors.New("store down")
	clock.Advance(client.UsageInterval)
	if err := u.Note(t.Context(), anon); err == nil {
		t.Error("failed write not reported")
	}
	repo.fail = nil
	_ = u.Note(t.Context(), anon)
	if len(repo.touches) != 4 {
		t.Errorf("touches %v after a failure", repo.touches)
	}
	var nilUsage *client.Usage
	if err := nilUsage.Note(t.Context(), anon); err != nil {
		t.Error(err)
	}
}

func TestExpireAnonymous(t *testing.T) {
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	repo := &fakeAnon{left: 2*client.ExpireBatch + 3}
	n, err := client.ExpireAnonymous(t.Context(), repo, now, 30*24*time.Hour)
	if err != nil || n != 2*client.ExpireBatch+3 || len(repo.cutoffs) != 3 || !repo.cutoffs[0].Equal(now.Add(-30*24*time.Hour)) {
		t.Errorf("expired %d, %v in %d batches (cutoffs %v)", n, err, len(repo.cutoffs), repo.cutoffs)
	}
	// One client.expire event per client, by the sweeper, naming it.
	if len(repo.events) != n {
		t.Fatalf("%d events for %d clients", len(repo.events), n)
	}
	if ev := repo.events[0]; ev.Action != audit.ClientExpire || ev.ActorSubject != client.SweeperActor || ev.TargetType != "client" || ev.TargetID != "id-0" ||
		!ev.Time.Equal(now) || string(ev.Details) != `{"client_id":"cid-0","unused_for":"720h0m0s"}` {
		t.Errorf("event: %+v (details %s)", ev, ev.Details)
	}
	if n, err := client.ExpireAnonymous(t.Context(), &fakeAnon{left: 5}, now, 0); n != 0 || err != nil {
		t.Errorf("maxAge 0: %d, %v", n, err)
	}
}
