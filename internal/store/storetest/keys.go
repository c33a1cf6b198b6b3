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
	// An RSA key, made in the same microsecond as k3, round-trips with its
	// algorithm; kid breaks the tie in the order.
	r1 := keys.Record{KID: "k3-rsa", Algorithm: "RS256", Private: bytes.Repeat([]byte{7}, 1300), Public: []byte(`{"kty":"RSA","alg":"RS256"}`),
		CreatedAt: k3.CreatedAt, SignFrom: k3.SignFrom}
	if err := s.CreateSigningKey(ctx(t), r1, Event(audit.KeyRotate, r1.KID)); err != nil {
		t.Fatal(err)
	}
	ks, err = s.ListSigningKeys(ctx(t))
	if err != nil || len(ks) != 4 {
		t.Fatalf("ListSigningKeys = %v, %v", ks, err)
	}
	for j, want := range []keys.Record{k1, k2, k3, r1} {
		got := ks[j]
		if got.KID != want.KID || got.Algorithm != want.Algorithm || !bytes.Equal(got.Private, want.Private) || !bytes.Equal(got.Public, want.Public) ||
			!got.CreatedAt.Equal(want.CreatedAt) || !got.SignFrom.Equal(want.SignFrom) {
			t.Errorf("key %d: got %s %s, want %s %s", j, got.KID, got.Algorithm, want.KID, want.Algorithm)
		}
	}
}

// SigningKeyAlgBackfill checks that migration 0008 records ES256 for a key
// stored without an algorithm and leaves the others alone. It stores
// keys in s, then has undo forget the migration and reopen the database,
// which re-runs it.
func SigningKeyAlgBackfill(t *testing.T, s store.Store, undo func(statements []string) store.Store) {
	t.Helper()
	want := map[string]string{"old": "", "ec": "ES256", "rsa": "RS256"}
	for kid, alg := range want {
		if err := s.CreateSigningKey(ctx(t), keys.Record{KID: kid, Algorithm: alg, Private: []byte{1}, Public: []byte(`{}`), CreatedAt: base, SignFrom: base}, audit.Event{}); err != nil {
			t.Fatal(err)
		}
	}
	want["old"] = "ES256"
	s = undo([]string{`DELETE FROM schema_migrations WHERE version = '0008_signing_key_alg'`})
	ks, err := s.ListSigningKeys(ctx(t))
	if err != nil || len(ks) != len(want) {
		t.Fatalf("ListSigningKeys = %v, %v", ks, err)
	}
	for _, k := range ks {
		if k.Algorithm != want[k.KID] {
			t.Errorf("key %s: algorithm %q, want %q", k.KID, k.Algorithm, want[k.KID])
		}
	}
}
