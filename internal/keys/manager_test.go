package keys_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/clocktest"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/sealed"
	"github.com/latchkey/latchkey/internal/sealed/sealedtest"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

func published(m *keys.Manager) []string {
	var out []string
	for _, k := range m.JWKS().Keys {
		out = append(out, k.KeyID)
	}
	return out
}

func current(t *testing.T, m *keys.Manager) string {
	t.Helper()
	k, err := m.Current()
	if err != nil {
		t.Fatal(err)
	}
	return k.KID
}

// openStore opens a fresh SQLite store that is closed when t ends.
func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestRotationAcrossNodes runs two managers ("nodes") on one store with a
// shared fake clock through a rotation.
func TestRotationAcrossNodes(t *testing.T) {
	st := openStore(t)
	box := sealedtest.Box(t, 3)
	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	const retire = time.Hour
	a := keys.NewManager(st, box, clk.Now, retire)
	b := keys.NewManager(st, box, clk.Now, retire)
	if err := a.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := b.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	k1 := current(t, a)
	if current(t, b) != k1 || len(published(a)) != 1 {
		t.Fatalf("nodes disagree on the first key: %s vs %s", current(t, b), k1)
	}

	clk.Advance(10 * time.Minute)
	rec, err := a.Rotate(t.Context(), 2*time.Minute, domain.Actor{Subject: "test"})
	if err != nil {
		t.Fatal(err)
	}
	k2 := rec.KID
	// Published at once on A, but A keeps signing with k1.
	if !slices.Contains(published(a), k2) || current(t, a) != k1 {
		t.Errorf("right after rotation: published %v, signing %s", published(a), current(t, a))
	}
	// B has not refreshed: it still signs with k1, and a token with kid k2
	// makes it reload.
	if current(t, b) != k1 {
		t.Error("B signs with a key it has not loaded")
	}
	clk.Advance(2 * time.Second)
	if _, err := b.Public(t.Context(), k2); err != nil {
		t.Errorf("B could not find the new key: %v", err)
	}
	clk.Advance(2 * time.Minute)
	for name, m := range map[string]*keys.Manager{"A": a, "B": b} {
		if current(t, m) != k2 {
			t.Errorf("%s signs with %s after the publish delay, want %s", name, current(t, m), k2)
		}
		if !slices.Equal(published(m), []string{k1, k2}) {
			t.Errorf("%s publishes %v, want both keys while k1's tokens live", name, published(m))
		}
	}
	// k1 leaves the JWKS once every token it signed has expired: retire
	// after k2 took over (the clock is now 2s past the handover).
	clk.Advance(retire - 3*time.Second)
	if !slices.Contains(published(a), k1) {
		t.Error("k1 retired too early")
	}
	clk.Advance(2 * time.Second)
	if slices.Contains(published(a), k1) {
		t.Error("k1 still published after its tokens expired")
	}
	if _, err := a.Public(t.Context(), k1); !errors.Is(err, keys.ErrUnknownKey) {
		t.Errorf("retired key still verifies: %v", err)
	}
	if _, err := a.Public(t.Context(), "nope"); !errors.Is(err, keys.ErrUnknownKey) {
		t.Errorf("unknown kid: %v", err)
	}
	sts := a.Statuses()
	if len(sts) != 2 || sts[0].Published || !sts[1].Signing {
		t.Errorf("statuses: %+v", sts)
	}
}

func TestWrongMasterKeyCannotLoad(t *testing.T) {
	st := openStore(t)
	box1 := sealedtest.Box(t, 1)
	box2 := sealedtest.Box(t, 2)
	if err := keys.NewManager(st, box1, nil, 0).Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := keys.NewManager(st, box2, nil, 0).Load(t.Context()); !errors.Is(err, sealed.ErrOpen) {
		t.Errorf("loading with the wrong master key: %v, want sealed.ErrOpen", err)
	}
	recs, _ := st.ListSigningKeys(t.Context())
	if len(recs) != 1 || bytes.Contains(recs[0].Private, []byte("PRIVATE")) {
		t.Errorf("stored key records: %d", len(recs))
	}
}

// TestReloadWhileServing reloads keys (as the 30s refresh and unknown-kid
// lookups do) while other goroutines sign and publish; run with -race.
func TestReloadWhileServing(t *testing.T) {
	st := openStore(t)
	box := sealedtest.Box(t, 4)
	m := keys.NewManager(st, box, nil, time.Hour)
	if err := m.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Rotate(t.Context(), time.Minute, domain.Actor{Subject: "test"}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := m.Current(); err != nil {
					t.Error(err)
					return
				}
				m.JWKS()
				m.Statuses()
			}
		})
	}
	for range 30 {
		if err := m.Load(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
}
