package storetest

import (
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/store"
)

func testCopyOperations(t *testing.T, st store.Store) {
	// Every backend implements store.Copier beside store.Store.
	s, ok := st.(interface {
		store.Store
		store.Copier
	})
	if !ok {
		t.Fatalf("%T does not implement store.Copier", st)
	}
	// Writes with an empty event record none.
	c := SampleClient(1)
	if err := s.CreateClient(ctx(t), c, audit.Event{}); err != nil {
		t.Fatal(err)
	}
	u := sampleUser(1, true)
	if err := s.CreateUser(ctx(t), u, audit.Event{}); err != nil {
		t.Fatal(err)
	}
	if evs, _ := s.ListAudit(ctx(t), audit.Filter{}); len(evs) != 0 {
		t.Errorf("empty events were recorded: %d", len(evs))
	}
	got, err := s.GetClient(ctx(t), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	AssertClientEqual(t, got, c)

	// Audit events are copied verbatim.
	ev := Event(audit.ClientUpdate, c.ID)
	ev.Time = base.Add(-time.Hour)
	if err := s.AppendAudit(ctx(t), ev); err != nil {
		t.Fatal(err)
	}
	evs, err := s.ListAudit(ctx(t), audit.Filter{})
	if err != nil || len(evs) != 1 || evs[0].ID != ev.ID || !evs[0].Time.Equal(ev.Time) || string(evs[0].Details) != string(ev.Details) {
		t.Errorf("AppendAudit round trip: %+v, %v", evs, err)
	}
	if err := s.AppendAudit(ctx(t), ev); err == nil {
		t.Error("the same event appended twice")
	}

	if m, err := s.ListSettings(ctx(t)); err != nil || len(m) != 0 {
		t.Fatalf("settings of an empty store: %v, %v", m, err)
	}
	for _, kv := range [][2]string{{"a", "1"}, {"b", "2"}} {
		if _, err := s.InitSetting(ctx(t), kv[0], []byte(kv[1])); err != nil {
			t.Fatal(err)
		}
	}
	if m, err := s.ListSettings(ctx(t)); err != nil || len(m) != 2 || string(m["a"]) != "1" || string(m["b"]) != "2" {
		t.Errorf("ListSettings: %v, %v", m, err)
	}

	if rs, err := s.ListRevocations(ctx(t)); err != nil || len(rs) != 0 || rs == nil {
		t.Fatalf("revocations of an empty store: %v, %v", rs, err)
	}
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	if err := s.RevokeToken(ctx(t), "j1", exp); err != nil {
		t.Fatal(err)
	}
	rs, err := s.ListRevocations(ctx(t))
	if err != nil || len(rs) != 1 || rs[0].JTI != "j1" || !rs[0].ExpiresAt.Equal(exp) {
		t.Errorf("ListRevocations: %+v, %v", rs, err)
	}
}
