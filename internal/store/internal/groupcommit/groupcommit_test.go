package groupcommit

import (
	"context"
	"errors"
	"runtime"
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
	release := w.Hold()
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			errs[i] = w.Do(t.Context(), func(_ context.Context, tx *fakeTx) error {
				if i == 1 {
					panic("boom")
				}
				tx.log = append(tx.log, "write")
				return nil
			})
		})
		for w.Stats().Pending != int64(i+1) { // queue in order
			runtime.Gosched()
		}
	}
	release()
	wg.Wait()
	if errs[0] != nil || errs[2] != nil || errs[1] == nil {
		t.Fatalf("errs = %v", errs)
	}
	if err := w.Do(t.Context(), func(context.Context, *fakeTx) error { return errors.New("after") }); err == nil || err.Error() != "after" {
		t.Errorf("writer after a panic: %v", err)
	}
	got := b.txs[0].log
	want := []string{"savepoint", "write", "release", "savepoint", "rollback to", "savepoint", "write", "release", "commit"}
	if len(got) != len(want) {
		t.Fatalf("batch did %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("batch did %v, want %v", got, want)
		}
	}
}
