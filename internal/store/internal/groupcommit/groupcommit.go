// Package groupcommit is the batching writer in front of a store's write
// path: concurrent writes join one transaction and one commit (one fsync
// on SQLite) instead of paying one each.
//
// One goroutine runs batches. It takes the first queued write, then
// everything else queued by then (up to MaxBatch): while a batch commits,
// the next one queues, so the wait is bounded by one commit and nothing
// sleeps on a timer. A batch first runs its members one after another
// with no savepoints (two statements fewer per member) and commits. If
// one of them fails (a unique conflict, say), that transaction is rolled
// back, nothing in it is answered, and the batch runs again in a new
// transaction with each member in its own SAVEPOINT, so the member that
// fails is rolled back alone and reported, and the others commit: a
// member's fn may run twice, each time on a fresh transaction. A member
// that succeeded learns its result only after COMMIT returns: a nil
// error means durable. A member whose context ends while it is still
// queued is removed and never runs; once running, it waits for the
// commit, since its outcome is decided there. Close drains the queue.
package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned for writes submitted after Close.
var ErrClosed = errors.New("store closed")

// Backend is the transaction a batch runs in. T is the backend's
// transaction handle (*sql.Tx, pgx.Tx).
type Backend[T any] interface {
	Begin(ctx context.Context) (T, error)
	// Savepoint, Release and RollbackTo manage the one savepoint a member
	// runs in; members run one after another, so one name will do.
	Savepoint(ctx context.Context, tx T) error
	Release(ctx context.Context, tx T) error
	RollbackTo(ctx context.Context, tx T) error
	// Commit commits; its error goes to every member that succeeded.
	Commit(ctx context.Context, tx T) error
	Rollback(ctx context.Context, tx T)
}

// Options tune a Writer; the zero value is usable.
type Options struct {
	// MaxBatch caps how many writes share one transaction; 0: 256.
	MaxBatch int
	// Timeout bounds one batch (begin to commit); 0: 30 s.
	Timeout time.Duration
}

const (
	queued int32 = iota
	running
	canceled
)

type member[T any] struct {
	fn    func(ctx context.Context, tx T) error
	state atomic.Int32
	err   error
	done  chan struct{}
}

// Writer batches writes. It is safe for concurrent use.
type Writer[T any] struct {
	b    Backend[T]
	opts Options

	mu      sync.RWMutex // held for reading while submitting; Close takes it for writing
	closed  bool
	queue   chan *member[T]
	stopped chan struct{}

	gate    sync.RWMutex // Hold's gate, taken before each batch
	pending atomic.Int64
	batches atomic.Int64
	reruns  atomic.Int64
	applied atomic.Int64
}

// New starts a Writer over b.
func New[T any](b Backend[T], opts Options) *Writer[T] {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	w := &Writer[T]{b: b, opts: opts, queue: make(chan *member[T], 4*opts.MaxBatch), stopped: make(chan struct{})}
	go w.loop()
	return w
}

// Do runs fn in the next batch's transaction and returns after the batch
// commits: nil means fn's changes are committed. fn gets the batch's
// context, not ctx, and must not keep tx. fn may run more than once (when
// another member of its batch fails, see the package comment), each time
// in a transaction where its earlier run was rolled back, so it must
// have no effects outside tx.
func (w *Writer[T]) Do(ctx context.Context, fn func(ctx context.Context, tx T) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m := &member[T]{fn: fn, done: make(chan struct{})}
	if err := w.enqueue(ctx, m); err != nil {
		return err
	}
	select {
	case <-m.done:
		return m.err
	case <-ctx.Done():
		if m.state.CompareAndSwap(queued, canceled) {
			return ctx.Err() // the writer skips it
		}
		<-m.done // running: its outcome is decided at commit
		return m.err
	}
}

// enqueue queues m; once it returns nil, m will be answered.
func (w *Writer[T]) enqueue(ctx context.Context, m *member[T]) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrClosed
	}
	w.pending.Add(1)
	select {
	case w.queue <- m:
		return nil
	case <-ctx.Done():
		w.pending.Add(-1)
		return ctx.Err()
	}
}

// Close stops accepting writes, waits until every queued write has run
// and committed, and stops the writer. Calling it again does nothing.
func (w *Writer[T]) Close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	<-w.stopped
}

// Hold stops the writer before its next batch until release is called,
// so that tests can queue writes deterministically.
func (w *Writer[T]) Hold() (release func()) {
	w.gate.Lock()
	var once sync.Once
	return func() { once.Do(w.gate.Unlock) }
}

// Stats are counters for tests and metrics.
type Stats struct {
	Pending int64 // submitted, not yet answered
	Batches int64 // batches run
	Reruns  int64 // of those, batches run again with savepoints after a member failed
	Applied int64 // members run inside them
}

// Stats returns the counters.
func (w *Writer[T]) Stats() Stats {
	return Stats{Pending: w.pending.Load(), Batches: w.batches.Load(), Reruns: w.reruns.Load(), Applied: w.applied.Load()}
}

func (w *Writer[T]) loop() {
	defer close(w.stopped)
	batch := make([]*member[T], 0, w.opts.MaxBatch)
	for {
		m, ok := <-w.queue
		if !ok {
			return
		}
		w.gate.RLock()
		w.gate.RUnlock() //nolint:staticcheck // an empty critical section: waits for Hold's release
		batch = append(batch[:0], m)
	drain:
		for len(batch) < w.opts.MaxBatch {
			select {
			case m, ok := <-w.queue:
				if !ok {
					break drain
				}
				batch = append(batch, m)
			default:
				break drain
			}
		}
		w.run(batch)
		clear(batch)
	}
}

func (w *Writer[T]) finish(m *member[T], err error) {
	m.err = err
	w.pending.Add(-1)
	close(m.done)
}

// run applies batch in one transaction.
func (w *Writer[T]) run(batch []*member[T]) {
	live := batch[:0:0]
	for _, m := range batch {
		if m.state.CompareAndSwap(queued, running) {
			live = append(live, m)
		} else {
			w.pending.Add(-1) // canceled while queued; its caller has returned
		}
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.opts.Timeout)
	defer cancel()
	w.batches.Add(1)
	tx, err := w.b.Begin(ctx)
	if err != nil {
		for _, m := range live {
			w.finish(m, err)
		}
		return
	}
	// One member needs no savepoint: its failure is the transaction's.
	if len(live) == 1 {
		m := live[0]
		w.applied.Add(1)
		if err := apply(ctx, m, tx); err != nil {
			w.b.Rollback(ctx, tx)
			w.finish(m, err)
			return
		}
		w.finish(m, w.b.Commit(ctx, tx))
		return
	}
	if w.runPlain(ctx, tx, live) {
		return
	}
	// A member failed and the plain run was rolled back: again, each
	// member in its own savepoint, so that it fails alone.
	w.reruns.Add(1)
	if tx, err = w.b.Begin(ctx); err != nil {
		for _, m := range live {
			w.finish(m, err)
		}
		return
	}
	w.runSavepoints(ctx, tx, live)
}

// runPlain applies live in tx without savepoints and commits. If a member
// fails, it rolls tx back, answers nobody and returns false.
func (w *Writer[T]) runPlain(ctx context.Context, tx T, live []*member[T]) bool {
	for _, m := range live {
		if err := apply(ctx, m, tx); err != nil {
			w.b.Rollback(ctx, tx)
			return false
		}
	}
	w.applied.Add(int64(len(live)))
	err := w.b.Commit(ctx, tx)
	for _, m := range live {
		w.finish(m, err)
	}
	return true
}

// runSavepoints applies live in tx, each member in its own savepoint, and
// commits those that succeeded.
func (w *Writer[T]) runSavepoints(ctx context.Context, tx T, live []*member[T]) {
	ok := make([]*member[T], 0, len(live))
	for i, m := range live {
		w.applied.Add(1)
		if err := w.b.Savepoint(ctx, tx); err != nil {
			w.abort(ctx, tx, append(ok, live[i:]...), err)
			return
		}
		if err := apply(ctx, m, tx); err != nil {
			if rerr := w.b.RollbackTo(ctx, tx); rerr != nil {
				w.finish(m, err)
				w.abort(ctx, tx, append(ok, live[i+1:]...), rerr)
				return
			}
			w.finish(m, err) // only this member failed
			continue
		}
		if err := w.b.Release(ctx, tx); err != nil {
			w.abort(ctx, tx, append(ok, live[i:]...), err)
			return
		}
		ok = append(ok, m)
	}
	if len(ok) == 0 {
		w.b.Rollback(ctx, tx)
		return
	}
	err := w.b.Commit(ctx, tx)
	for _, m := range ok {
		w.finish(m, err)
	}
}

// apply runs m's write; a panic in it fails m alone instead of the
// writer goroutine (and with it the process), as the API's recoverer did
// when writes ran on the request's goroutine.
func apply[T any](ctx context.Context, m *member[T], tx T) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("batched write panicked: %v", r)
		}
	}()
	return m.fn(ctx, tx)
}

// abort rolls the transaction back and fails ms with err: the batch
// could not go on, so nothing in it was committed.
func (w *Writer[T]) abort(ctx context.Context, tx T, ms []*member[T], err error) {
	w.b.Rollback(ctx, tx)
	for _, m := range ms {
		w.finish(m, err)
	}
}
