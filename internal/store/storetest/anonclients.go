package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/store"
)

// testAnonymousClients: counting open-registration clients, recording
// their use, and deleting the abandoned ones in bounded batches.
func testAnonymousClients(t *testing.T, s store.Store) {
	anon := func(n int, created time.Time) client.Client {
		c := SampleClient(n)
		c.OwnerID, c.CreatedAt, c.UpdatedAt = client.DCRSubject, created, created
		return c
	}
	day := 24 * time.Hour
	old1, old2, used, recent := anon(1, base), anon(2, base.Add(time.Hour)), anon(3, base), anon(4, base.Add(9*day))
	admin := SampleClient(5) // not anonymous, as old as any
	for _, c := range []client.Client{old1, old2, used, recent, admin} {
		mustCreate(t, s, c)
	}
	if n, err := s.CountAnonymousClients(ctx(t)); err != nil || n != 4 {
		t.Fatalf("CountAnonymousClients = %d, %v; want 4", n, err)
	}
	if err := s.TouchClient(ctx(t), used.ClientID, base.Add(8*day)); err != nil {
		t.Fatal(err)
	}
	// Touching an unknown, a non-anonymous or a hostile id changes nothing.
	for _, id := range []string{"nobody", admin.ClientID, "\x00", "\xff"} {
		if err := s.TouchClient(ctx(t), id, base.Add(8*day)); err != nil {
			t.Errorf("TouchClient(%q): %v", id, err)
		}
	}
	cutoff := base.Add(7 * day)
	// Each deleted client is audited in the deleting transaction; an
	// event that cannot be made deletes nothing.
	errNo := errors.New("no event")
	if n, err := s.DeleteUnusedAnonymousClients(ctx(t), cutoff, 10, func(string, string) (audit.Event, error) { return audit.Event{}, errNo }); !errors.Is(err, errNo) || n != 0 {
		t.Fatalf("failing event: %d, %v", n, err)
	}
	if n, err := s.CountAnonymousClients(ctx(t)); err != nil || n != 4 {
		t.Fatalf("after a failed expiry: %d anonymous clients, %v; want 4", n, err)
	}
	audited := map[string]string{} // id → client_id
	expired := func(id, clientID string) (audit.Event, error) {
		audited[id] = clientID
		return Event(audit.ClientExpire, id), nil
	}
	if n, err := s.DeleteUnusedAnonymousClients(ctx(t), cutoff, 1, expired); err != nil || n != 1 {
		t.Fatalf("first batch: %d, %v; want 1", n, err)
	}
	if n, err := s.DeleteUnusedAnonymousClients(ctx(t), cutoff, 10, expired); err != nil || n != 1 {
		t.Fatalf("second batch: %d, %v; want 1", n, err)
	}
	if n, err := s.DeleteUnusedAnonymousClients(ctx(t), cutoff, 10, expired); err != nil || n != 0 {
		t.Fatalf("third batch: %d, %v; want 0", n, err)
	}
	for _, c := range []client.Client{old1, old2} {
		if _, err := s.GetClient(ctx(t), c.ID); !errors.Is(err, client.ErrNotFound) {
			t.Errorf("abandoned %s: %v, want ErrNotFound", c.ClientID, err)
		}
	}
	for _, c := range []client.Client{used, recent, admin} {
		if got, err := s.GetClient(ctx(t), c.ID); err != nil || len(got.Secrets) != len(c.Secrets) {
			t.Errorf("kept %s: %v", c.ClientID, err)
		}
	}
	if n, err := s.CountAnonymousClients(ctx(t)); err != nil || n != 2 {
		t.Errorf("CountAnonymousClients after expiry = %d, %v; want 2", n, err)
	}
	// The client used most recently goes once its last use is old.
	if n, err := s.DeleteUnusedAnonymousClients(ctx(t), base.Add(8*day+time.Second), 10, expired); err != nil || n != 1 {
		t.Errorf("after its last use: %d, %v; want 1 (the used client)", n, err)
	}
	if _, err := s.GetClient(ctx(t), used.ID); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("used client after its last use expired: %v", err)
	}
	for _, c := range []client.Client{old1, old2, used} {
		if audited[c.ID] != c.ClientID {
			t.Errorf("expiry of %s made no event with its ids: %v", c.ClientID, audited)
		}
	}
	if evs, err := s.ListAudit(ctx(t), audit.Filter{Action: audit.ClientExpire}); err != nil || len(evs) != 3 {
		t.Errorf("%d client.expire events stored, %v; want 3", len(evs), err)
	}
}
