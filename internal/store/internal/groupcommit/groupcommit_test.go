package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// fakeTx records what a batch did.
type fakeTx struct{ log []string }

type fakeBackend struct {
	mu  sync.Mutex
	txs []*fakeTx
}

func (b *fakeBackend) Begin(context.Context) (*fakeTx, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	tx := &fakeTx{}
	b.txs = append(b.txs, tx)
	return tx, nil
}
func (b *fakeBackend) Savepoint(_ context.Context, tx *fakeTx) error {
	tx.log = append(tx.log, "savepoint")
	return nil
}
func (b *fakeBackend) Release(_ context.Context, tx *fakeTx) error {
	tx.log = append(tx.log, "release")
	return nil
}
func (b *fakeBackend) RollbackTo(_ context.Context, tx *fakeTx) error {
	tx.log = append(tx.log, "rollback to")
	return nil
}
func (b *fakeBackend) Commit(_ context.Context, tx *fakeTx) error {
	tx.log = append(tx.log, "commit")
	return nil
}
func (b *fakeBackend) Rollback(_ context.Context, tx *fakeTx) { tx.log = append(tx.log, "rollback") }

// TestPanickingMember: a member that panics fails alone; the writer and
// the rest of its batch go on.
func TestPanickingMember(t *testing.T) {
	b := &fakeBackend{}
	w := New[*fakeTx](b, Options{})
	defer w.Close()
	errs := queueN(t, w, 3, func(i int, tx *fakeTx) error {
		if i == 1 {
			panic("boom")
		}
		tx.log = append(tx.log, "write")
		return nil
	})
	if errs[0] != nil || errs[2] != nil || errs[1] == nil {
		t.Fatalf("errs = %v", errs)
	}
	if err := w.Do(t.Context(), func(context.Context, *fakeTx) error { return errors.New("after") }); err == nil || err.Error() != "after" {
		t.Errorf("writer after a panic: %v", err)
	}
	w.Close()
	// The plain run stopped at the panic and was rolled back; the rerun
	// put each member in a savepoint.
	checkLog(t, b, 0, "write", "rollback")
	checkLog(t, b, 1, "savepoint", "write", "release", "savepoint", "rollback to", "savepoint", "write", "release", "commit")
}

// checkLog fails unless transaction i of b did want.
func checkLog(t *testing.T, b *fakeBackend, i int, want ...string) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if i >= len(b.txs) {
		t.Fatalf("%d transactions, want transaction %d to have done %v", len(b.txs), i, want)
	}
	if got := b.txs[i].log; !slices.Equal(got, want) {
		t.Fatalf("transaction %d did %v, want %v", i, got, want)
	}
}

// queueN submits n writes in order while the writer is held; write(i, tx)
// is member i's fn. It returns each member's error once all have
// answered. A member that fails hears so before its batch ends: close w
// before reading the transactions' logs.
func queueN(t *testing.T, w *Writer[*fakeTx], n int, write func(i int, tx *fakeTx) error) []error {
	t.Helper()
	release := w.Hold()
	ms := make([]*member[*fakeTx], n)
	for i := range ms {
		// Queued from here, in order, so that all of them are in the
		// queue (or the first in the writer's hand) before release.
		ms[i] = &member[*fakeTx]{fn: func(_ context.Context, tx *fakeTx) error { return write(i, tx) }, done: make(chan struct{})}
		if err := w.enqueue(t.Context(), ms[i]); err != nil {
			t.Fatal(err)
		}
	}
	release()
	errs := make([]error, n)
	for i, m := range ms {
		<-m.done
		errs[i] = m.err
	}
	return errs
}

// TestBatchWithoutFailure: members that all succeed run in one
// transaction with no savepoint statements, once each.
func TestBatchWithoutFailure(t *testing.T) {
	b := &fakeBackend{}
	w := New[*fakeTx](b, Options{})
	defer w.Close()
	runs := make([]int, 3)
	errs := queueN(t, w, 3, func(i int, tx *fakeTx) error {
		runs[i]++
		tx.log = append(tx.log, "write")
		return nil
	})
	for i, err := range errs {
		if err != nil || runs[i] != 1 {
			t.Errorf("member %d: %v after %d runs, want nil after 1", i, err, runs[i])
		}
	}
	w.Close()
	checkLog(t, b, 0, "write", "write", "write", "commit")
	if s := w.Stats(); s.Batches != 1 || s.Reruns != 0 || s.Applied != 3 || s.Pending != 0 {
		t.Errorf("stats %+v, want 1 batch, 3 applied, none pending", s)
	}
}

// TestFailingMemberRerun: a member that fails in the plain run sends the
// batch round again with savepoints; it fails alone, with its own error,
// the others commit, and nothing of the plain run is committed.
func TestFailingMemberRerun(t *testing.T) {
	b := &fakeBackend{}
	w := New[*fakeTx](b, Options{})
	defer w.Close()
	conflict := errors.New("conflict")
	runs := make([]int, 4)
	errs := queueN(t, w, 4, func(i int, tx *fakeTx) error {
		runs[i]++
		if i == 2 {
			tx.log = append(tx.log, "fail")
			return conflict
		}
		tx.log = append(tx.log, "write")
		return nil
	})
	for i, err := range errs {
		if want := error(nil); i == 2 && !errors.Is(err, conflict) || i != 2 && err != want {
			t.Errorf("member %d: %v", i, err)
		}
	}
	// Members before the failing one ran twice, it ran twice, the one
	// after it only in the rerun.
	if !slices.Equal(runs, []int{2, 2, 2, 1}) {
		t.Errorf("runs %v, want [2 2 2 1]", runs)
	}
	w.Close()
	checkLog(t, b, 0, "write", "write", "fail", "rollback")
	checkLog(t, b, 1, "savepoint", "write", "release", "savepoint", "write", "release",
		"savepoint", "fail", "rollback to", "savepoint", "write", "release", "commit")
	if s := w.Stats(); s.Batches != 1 || s.Reruns != 1 || s.Applied != 4 {
		t.Errorf("stats %+v, want 1 batch, rerun once, 4 applied", s)
	}
}

// TestEveryMemberFails: when every member fails in the rerun too, the
// transaction is rolled back, not committed, and each hears its error.
func TestEveryMemberFails(t *testing.T) {
	b := &fakeBackend{}
	w := New[*fakeTx](b, Options{})
	defer w.Close()
	errs := queueN(t, w, 2, func(i int, tx *fakeTx) error { return fmt.Errorf("member %d", i) })
	for i, err := range errs {
		if err == nil || err.Error() != fmt.Sprintf("member %d", i) {
			t.Errorf("member %d: %v", i, err)
		}
	}
	w.Close()
	checkLog(t, b, 0, "rollback")
	checkLog(t, b, 1, "savepoint", "rollback to", "savepoint", "rollback to", "rollback")
}
