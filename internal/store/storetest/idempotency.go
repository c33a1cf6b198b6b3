package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/idempotency"
	"github.com/latchkey/latchkey/internal/store"
)

// idemRecord is a fresh claim of key by owner at base+at.
func idemRecord(scope, key, owner string, at time.Duration) idempotency.Record {
	now := base.Add(at)
	return idempotency.Record{Scope: scope, Key: key, Fingerprint: []byte("fp-" + key), Owner: owner,
		CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour), LockedUntil: now.Add(time.Minute)}
}

func claim(t *testing.T, s store.Store, rec idempotency.Record, at time.Duration) (idempotency.Record, bool) {
	t.Helper()
	got, won, err := s.ClaimIdempotencyKey(ctx(t), rec, base.Add(at))
	if err != nil {
		t.Fatalf("ClaimIdempotencyKey(%s/%s by %s): %v", rec.Scope, rec.Key, rec.Owner, err)
	}
	return got, won
}

func completeIdem(t *testing.T, s store.Store, rec idempotency.Record, at time.Duration) idempotency.Record {
	t.Helper()
	rec.Done = true
	rec.Response = []byte("sealed response")
	rec.ReplayUntil = base.Add(at + time.Hour)
	rec.Resource = "client_id=c1"
	if err := s.CompleteIdempotencyKey(ctx(t), rec); err != nil {
		t.Fatalf("CompleteIdempotencyKey: %v", err)
	}
	return rec
}

func testIdempotencyKeys(t *testing.T, s store.Store) {
	first := idemRecord("scope-a", "k1", "owner-1", 0)
	if got, won := claim(t, s, first, 0); !won || got.Owner != "owner-1" {
		t.Fatalf("first claim: won=%v owner=%q", won, got.Owner)
	}
	// A second claim while in flight loses and sees the first.
	got, won := claim(t, s, idemRecord("scope-a", "k1", "owner-2", time.Second), time.Second)
	if won || got.Owner != "owner-1" || got.Done || !bytes.Equal(got.Fingerprint, first.Fingerprint) ||
		!got.CreatedAt.Equal(first.CreatedAt) || !got.ExpiresAt.Equal(first.ExpiresAt) || !got.LockedUntil.Equal(first.LockedUntil) {
		t.Fatalf("second claim in flight: won=%v %+v", won, got)
	}
	// The same key in another scope is another key.
	if _, won := claim(t, s, idemRecord("scope-b", "k1", "owner-3", 0), 0); !won {
		t.Fatal("the same key in another scope was refused")
	}
	// Only the claimant completes.
	wrong := first
	wrong.Owner = "owner-2"
	wrong.Done = true
	if err := s.CompleteIdempotencyKey(ctx(t), wrong); !errors.Is(err, idempotency.ErrNotClaimed) {
		t.Fatalf("completion by another owner: %v, want ErrNotClaimed", err)
	}
	done := completeIdem(t, s, first, time.Second)
	got, won = claim(t, s, idemRecord("scope-a", "k1", "owner-2", 2*time.Minute), 2*time.Minute)
	if won || !got.Done || string(got.Response) != "sealed response" || got.Resource != "client_id=c1" || !got.ReplayUntil.Equal(done.ReplayUntil) {
		t.Fatalf("claim of a done key: won=%v %+v", won, got)
	}
	// A done key is not taken over when its lock passes, and completing
	// twice is refused.
	if err := s.CompleteIdempotencyKey(ctx(t), done); !errors.Is(err, idempotency.ErrNotClaimed) {
		t.Fatalf("second completion: %v", err)
	}
	// Releasing a done key changes nothing.
	if err := s.ReleaseIdempotencyKey(ctx(t), "scope-a", "k1", "owner-1"); err != nil {
		t.Fatal(err)
	}
	if _, won := claim(t, s, idemRecord("scope-a", "k1", "owner-4", time.Minute), time.Minute); won {
		t.Fatal("a release removed a done key")
	}
	// After the replay window the response is dropped, the rest kept.
	got, won = claim(t, s, idemRecord("scope-a", "k1", "owner-5", 2*time.Hour), 2*time.Hour)
	if won || !got.Done || got.Response != nil || got.Resource != "client_id=c1" {
		t.Fatalf("claim after the replay window: won=%v %+v", won, got)
	}
	// After expiry the key is fresh.
	if got, won := claim(t, s, idemRecord("scope-a", "k1", "owner-6", 24*time.Hour), 24*time.Hour); !won || got.Owner != "owner-6" || got.Done {
		t.Fatalf("claim after expiry: won=%v %+v", won, got)
	}
}

func testIdempotencyRelease(t *testing.T, s store.Store) {
	rec := idemRecord("scope", "k", "owner-1", 0)
	claim(t, s, rec, 0)
	if err := s.ReleaseIdempotencyKey(ctx(t), "scope", "k", "owner-2"); err != nil {
		t.Fatal(err)
	}
	if _, won := claim(t, s, idemRecord("scope", "k", "owner-3", 0), 0); won {
		t.Fatal("another owner's release freed the key")
	}
	if err := s.ReleaseIdempotencyKey(ctx(t), "scope", "k", "owner-1"); err != nil {
		t.Fatal(err)
	}
	if _, won := claim(t, s, idemRecord("scope", "k", "owner-3", 0), 0); !won {
		t.Fatal("a released key was refused")
	}
	// An abandoned claim (its lock passed, never done) is taken over.
	if got, won := claim(t, s, idemRecord("scope", "k", "owner-4", 2*time.Minute), 2*time.Minute); !won || got.Owner != "owner-4" {
		t.Fatalf("takeover of an abandoned claim: won=%v %+v", won, got)
	}
	if err := s.CompleteIdempotencyKey(ctx(t), idemRecord("scope", "k", "owner-3", 0)); !errors.Is(err, idempotency.ErrNotClaimed) {
		t.Fatalf("the abandoned claimant completed: %v", err)
	}
}

// testIdempotencyCleanup: writes remove expired keys and responses past
// their window from the store, not just hide them: claims dated before
// the cleanup find them gone.
func testIdempotencyCleanup(t *testing.T, s store.Store) {
	old := idemRecord("scope", "old", "owner-1", 0)
	claim(t, s, old, 0)
	completeIdem(t, s, old, 0)
	claim(t, s, idemRecord("scope", "sweep-1", "owner-2", 2*time.Hour), 2*time.Hour)
	got, won := claim(t, s, idemRecord("scope", "old", "owner-3", time.Minute), time.Minute)
	if won || got.Response != nil {
		t.Fatalf("the response outlived its window: won=%v %+v", won, got)
	}
	claim(t, s, idemRecord("scope", "sweep-2", "owner-4", 25*time.Hour), 25*time.Hour)
	if _, won := claim(t, s, idemRecord("scope", "old", "owner-5", time.Minute), time.Minute); !won {
		t.Fatal("an expired key was not deleted")
	}
}

func testIdempotencyConcurrentClaims(t *testing.T, s store.Store) {
	const n = 8
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		wins   []string
		owners = map[string]bool{}
	)
	for i := range n {
		wg.Go(func() {
			rec := idemRecord("scope", "race", fmt.Sprint("owner-", i), 0)
			got, won, err := s.ClaimIdempotencyKey(context.Background(), rec, base)
			if err != nil {
				t.Errorf("claim %d: %v", i, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if won {
				wins = append(wins, rec.Owner)
			}
			owners[got.Owner] = true
		})
	}
	wg.Wait()
	if len(wins) != 1 || len(owners) != 1 || !owners[wins[0]] {
		t.Fatalf("concurrent claims: winners %v, seen owners %v; want exactly one winner seen by all", wins, owners)
	}
}
