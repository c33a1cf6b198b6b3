package storetest

import (
	"errors"
	"testing"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/store"
)

func testAuditWrittenWithChange(t *testing.T, s store.Store) {
	c := SampleClient(1)
	ev := Event(audit.ClientCreate, c.ID)
	if err := s.CreateClient(ctx(t), c, ev); err != nil {
		t.Fatal(err)
	}
	// A failed create writes no event.
	if err := s.CreateClient(ctx(t), c, Event(audit.ClientCreate, c.ID)); !errors.Is(err, client.ErrConflict) {
		t.Fatalf("duplicate: %v", err)
	}
	evs, err := s.ListAudit(ctx(t), audit.Filter{})
	if err != nil || len(evs) != 1 {
		t.Fatalf("ListAudit = %d events, %v; want 1", len(evs), err)
	}
	got := evs[0]
	if got.ID != ev.ID || !got.Time.Equal(ev.Time) || got.ActorSubject != "tester" || got.ActorClientID != "tester-client" ||
		got.Action != audit.ClientCreate || got.TargetType != "client" || got.TargetID != c.ID || string(got.Details) != `{"k":"v"}` {
		t.Errorf("event round trip: got %+v want %+v", got, ev)
	}
}

func testAuditFilterAndPagination(t *testing.T, s store.Store) {
	cs := seq(3)
	for _, c := range cs {
		mustCreate(t, s, c)
	}
	if err := s.DeleteClient(ctx(t), cs[0].ID, Event(audit.ClientDelete, cs[0].ID)); err != nil {
		t.Fatal(err)
	}
	all, err := s.ListAudit(ctx(t), audit.Filter{})
	if err != nil || len(all) != 4 {
		t.Fatalf("all: %d, %v", len(all), err)
	}
	if all[0].Action != audit.ClientDelete {
		t.Errorf("newest first: got %s first", all[0].Action)
	}
	byTarget, _ := s.ListAudit(ctx(t), audit.Filter{TargetID: cs[0].ID})
	byAction, _ := s.ListAudit(ctx(t), audit.Filter{Action: audit.ClientCreate})
	byActor, _ := s.ListAudit(ctx(t), audit.Filter{Actor: "nobody"})
	if len(byTarget) != 2 || len(byAction) != 3 || len(byActor) != 0 {
		t.Errorf("filters: target %d action %d actor %d; want 2 3 0", len(byTarget), len(byAction), len(byActor))
	}
	page1, _ := s.ListAudit(ctx(t), audit.Filter{Limit: 3})
	last := page1[len(page1)-1]
	page2, _ := s.ListAudit(ctx(t), audit.Filter{Limit: 3, BeforeTime: last.Time, BeforeID: last.ID})
	if len(page1) != 3 || len(page2) != 1 || page2[0].ID != all[3].ID {
		t.Errorf("pagination: %d then %d", len(page1), len(page2))
	}
}
