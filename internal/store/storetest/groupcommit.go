package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/store"
)

// The batching writer (group commit) behind CreateClient: writes queued
// together share one transaction and one commit, each in a savepoint.

func groupCommitter(t *testing.T, s store.Store) store.GroupCommitter {
	t.Helper()
	g, ok := s.(store.GroupCommitter)
	if !ok {
		t.Skip("store does not batch writes")
	}
	return g
}

// queue starts CreateClient(c) in a goroutine and waits until the writer
// has it queued, so that writes queue in the order they are started.
func queue(t *testing.T, ctx context.Context, s store.Store, g store.GroupCommitter, c client.Client) <-chan error {
	t.Helper()
	before := g.PendingWrites()
	done := make(chan error, 1)
	go func() { done <- s.CreateClient(ctx, c, Event(audit.ClientCreate, c.ID)) }()
	waitPending(t, g, before+1)
	return done
}

func waitPending(t *testing.T, g store.GroupCommitter, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for g.PendingWrites() != n {
		if time.Now().After(deadline) {
			t.Fatalf("pending writes: %d, want %d", g.PendingWrites(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func result(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("write did not return")
		return nil
	}
}

func auditFor(t *testing.T, s store.Store, target string) int {
	t.Helper()
	evs, err := s.ListAudit(ctx(t), audit.Filter{TargetID: target})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// testGroupCommitOrdering: members run in the order they were queued, in
// one transaction: of two registrations of one client_id queued
// together, the first wins and the second is a conflict.
func testGroupCommitOrdering(t *testing.T, s store.Store) {
	g := groupCommitter(t, s)
	release := g.HoldWrites()
	defer release()
	batches := g.WriteBatches()
	var chans []<-chan error
	var cs []client.Client
	for i := 1; i <= 4; i++ {
		c := SampleClient(i)
		if i == 3 {
			c.ClientID = SampleClient(2).ClientID // same client_id as the one queued before it
		}
		cs = append(cs, c)
		chans = append(chans, queue(t, ctx(t), s, g, c))
	}
	release()
	for i, ch := range chans {
		err := result(t, ch)
		if i == 2 {
			if !errors.Is(err, client.ErrConflict) {
				t.Errorf("second registration of %s: %v, want conflict", cs[i].ClientID, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("create %d: %v", i+1, err)
		}
	}
	if got, err := s.GetClientByClientID(ctx(t), cs[1].ClientID); err != nil || got.ID != cs[1].ID {
		t.Errorf("client_id %s: %s, %v; want the first queued, %s", cs[1].ClientID, got.ID, err, cs[1].ID)
	}
	if n := g.WriteBatches() - batches; n != 1 {
		t.Errorf("%d batches, want the queued writes in one", n)
	}
}

// testGroupCommitFailingMember: a member that fails inside a batch is
// rolled back alone, audit event included; the others commit with theirs.
func testGroupCommitFailingMember(t *testing.T, s store.Store) {
	g := groupCommitter(t, s)
	mustCreate(t, s, SampleClient(1))
	release := g.HoldWrites()
	defer release()
	dup := SampleClient(2)
	dup.ClientID = SampleClient(1).ClientID
	a := queue(t, ctx(t), s, g, SampleClient(3))
	b := queue(t, ctx(t), s, g, dup)
	c := queue(t, ctx(t), s, g, SampleClient(4))
	release()
	if err := result(t, a); err != nil {
		t.Errorf("first member: %v", err)
	}
	if err := result(t, b); !errors.Is(err, client.ErrConflict) {
		t.Errorf("failing member: %v, want conflict", err)
	}
	if err := result(t, c); err != nil {
		t.Errorf("member after the failing one: %v", err)
	}
	for _, n := range []int{3, 4} {
		want := SampleClient(n)
		got, err := s.GetClient(ctx(t), want.ID)
		if err != nil {
			t.Fatalf("client %d: %v", n, err)
		}
		AssertClientEqual(t, got, want)
		if auditFor(t, s, want.ID) != 1 {
			t.Errorf("client %d: audit event missing", n)
		}
	}
	if _, err := s.GetClient(ctx(t), dup.ID); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("failed member stored: %v", err)
	}
	if auditFor(t, s, dup.ID) != 0 {
		t.Error("failed member's audit event stored")
	}
}

// testGroupCommitCancel: a write whose context ends while it is queued
// returns at once and never runs; the rest of its batch commits.
func testGroupCommitCancel(t *testing.T, s store.Store) {
	g := groupCommitter(t, s)
	release := g.HoldWrites()
	defer release()
	cctx, cancel := context.WithCancel(ctx(t))
	canceled := queue(t, cctx, s, g, SampleClient(1))
	kept := queue(t, ctx(t), s, g, SampleClient(2))
	cancel()
	if err := result(t, canceled); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled write: %v, want context.Canceled while the writer is held", err)
	}
	release()
	if err := result(t, kept); err != nil {
		t.Errorf("write queued with it: %v", err)
	}
	waitPending(t, g, 0)
	if _, err := s.GetClient(ctx(t), SampleClient(1).ID); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("canceled write stored: %v", err)
	}
	if auditFor(t, s, SampleClient(1).ID) != 0 {
		t.Error("canceled write's audit event stored")
	}
	if _, err := s.GetClient(ctx(t), SampleClient(2).ID); err != nil {
		t.Errorf("kept write: %v", err)
	}
	// A context already ended is refused before queueing.
	if err := s.CreateClient(cctx, SampleClient(3), Event(audit.ClientCreate, "x")); !errors.Is(err, context.Canceled) {
		t.Errorf("ended context: %v", err)
	}
}

// testGroupCommitCloseDrains: Close waits for queued writes, which
// commit; writes after Close fail.
func testGroupCommitCloseDrains(t *testing.T, s store.Store) {
	g := groupCommitter(t, s)
	release := g.HoldWrites()
	defer release()
	var chans []<-chan error
	for i := 1; i <= 5; i++ {
		chans = append(chans, queue(t, ctx(t), s, g, SampleClient(i)))
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) with writes queued", err)
	case <-time.After(50 * time.Millisecond):
	}
	release()
	for i, ch := range chans {
		if err := result(t, ch); err != nil {
			t.Errorf("queued write %d: %v", i+1, err)
		}
	}
	if err := result(t, closed); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := s.CreateClient(ctx(t), SampleClient(9), Event(audit.ClientCreate, "x")); err == nil {
		t.Error("write after Close succeeded")
	}
}

// testGroupCommitConcurrent: many goroutines registering at once all
// succeed, and every client and audit event is there.
func testGroupCommitConcurrent(t *testing.T, s store.Store) {
	g := groupCommitter(t, s)
	const workers, each = 32, 8
	batches := g.WriteBatches()
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				c := SampleClient(1000 + w*each + i)
				if err := s.CreateClient(ctx(t), c, Event(audit.ClientCreate, c.ID)); err != nil {
					errs <- fmt.Errorf("create %s: %w", c.ClientID, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n, err := s.CountClients(ctx(t)); err != nil || n != workers*each {
		t.Fatalf("CountClients = %d, %v; want %d", n, err, workers*each)
	}
	for k := range workers * each {
		want := SampleClient(1000 + k)
		got, err := s.GetClient(ctx(t), want.ID)
		if err != nil {
			t.Fatalf("client %s: %v", want.ClientID, err)
		}
		AssertClientEqual(t, got, want)
	}
	evs, err := s.ListAudit(ctx(t), audit.Filter{Action: audit.ClientCreate})
	if err != nil || len(evs) != workers*each {
		t.Errorf("audit events: %d, %v; want %d", len(evs), err, workers*each)
	}
	n := g.WriteBatches() - batches
	if n > workers*each {
		t.Errorf("%d batches for %d writes", n, workers*each)
	}
	t.Logf("%d registrations in %d transactions", workers*each, n)
}
