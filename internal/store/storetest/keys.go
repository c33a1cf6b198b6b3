package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/store"
)

func testSigningKeys(t *testing.T, s store.Store) {
	if ks, err := s.ListSigningKeys(ctx(t)); err != nil || len(ks) != 0 {
		t.Fatalf("empty store keys = %v, %v", ks, err)
	}
	k1 := keys.Record{KID: "k1", Algorithm: "ES256", Private: []byte{1, 2}, Public: []byte(`{"kty":"EC"}`), CreatedAt: base, SignFrom: base}
	k2 := keys.Record{KID: "k2", Algorithm: "ES256", Private: []byte{3}, Public: []byte(`{}`), CreatedAt: base.Add(time.Hour), SignFrom: base.Add(2 * time.Hour), RetireAt: base.Add(48 * time.Hour)}
	for _, k := range []keys.Record{k2, k1} {
		if err := s.CreateSigningKey(ctx(t), k, audit.Event{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateSigningKey(ctx(t), k1, Event(audit.KeyRotate, "k1")); !errors.Is(err, keys.ErrDuplicateKey) {
		t.Errorf("duplicate kid: got %v, want keys.ErrDuplicateKey", err)
	}
	// The failed insert wrote no event; a successful one writes its event.
	if evs, _ := s.ListAudit(ctx(t), audit.Filter{Action: audit.KeyRotate}); len(evs) != 0 {
		t.Errorf("failed key insert left %d audit events", len(evs))
	}
	k3 := keys.Record{KID: "k3", Algorithm: "ES256", Private: []byte{5}, Public: []byte(`{}`), CreatedAt: base.Add(3 * time.Hour), SignFrom: base.Add(3 * time.Hour)}
	if err := s.CreateSigningKey(ctx(t), k3, Event(audit.KeyRotate, "k3")); err != nil {
		t.Fatal(err)
	}
	if evs, _ := s.ListAudit(ctx(t), audit.Filter{Action: audit.KeyRotate}); len(evs) != 1 || evs[0].TargetID != "k3" {
		t.Errorf("key.rotate events: %+v", evs)
	}
	ks, err := s.ListSigningKeys(ctx(t))
	if err != nil || len(ks) != 3 {
		t.Fatalf("ListSigningKeys = %v, %v", ks, err)
	}
	if ks[0].KID != "k1" || ks[1].KID != "k2" {
		t.Errorf("order: got %s, %s; want oldest first", ks[0].KID, ks[1].KID)
	}
	if !bytes.Equal(ks[1].Private, k2.Private) || !ks[1].SignFrom.Equal(k2.SignFrom) || !ks[1].RetireAt.Equal(k2.RetireAt) || !ks[0].RetireAt.IsZero() {
		t.Errorf("round trip: got %+v", ks)
	}
}
