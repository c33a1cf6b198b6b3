package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/internal/groupcommit"
)

var _ store.GroupCommitter = (*Store)(nil)

// batchBackend runs group-commit batches on one pooled connection: one
// transaction, one COMMIT (one WAL flush) for the lot. When the writer
// wants a member in a savepoint (a batch run again after a member
// failed), the savepoint travels in the member's own pipelined batch
// (SAVEPOINT, its inserts, RELEASE), so a member costs one round trip.
type batchBackend struct{ s *Store }

// batchTx is the transaction a batch's members share.
type batchTx struct {
	pgx.Tx
	// savepoint: the writer wants this member in a savepoint, which the
	// member's pipeline opens (SAVEPOINT first) and releases (RELEASE
	// last). sent: that pipeline went out, so the savepoint may exist.
	savepoint, sent bool
}

// pipeline starts the member's batch of statements.
func (tx *batchTx) pipeline() *pgx.Batch {
	b := &pgx.Batch{}
	if tx.savepoint {
		b.Queue("SAVEPOINT member")
	}
	return b
}

// send ends the member's batch (releasing its savepoint) and sends it;
// read queued results with exec, then close.
func (tx *batchTx) send(ctx context.Context, b *pgx.Batch) (*memberResults, error) {
	if tx.savepoint {
		b.Queue("RELEASE SAVEPOINT member")
	}
	tx.sent = true
	r := &memberResults{br: tx.SendBatch(ctx, b), savepoint: tx.savepoint}
	if r.savepoint {
		if _, err := r.br.Exec(); err != nil {
			r.br.Close()
			return nil, fmt.Errorf("savepoint: %w", err)
		}
	}
	return r, nil
}

type memberResults struct {
	br        pgx.BatchResults
	savepoint bool
}

func (r *memberResults) exec() error { _, err := r.br.Exec(); return err }

func (r *memberResults) close() error {
	if r.savepoint {
		if _, err := r.br.Exec(); err != nil {
			r.br.Close()
			return fmt.Errorf("release savepoint: %w", err)
		}
	}
	return r.br.Close()
}

func (b batchBackend) Begin(ctx context.Context) (*batchTx, error) {
	tx, err := b.s.pool.Begin(ctx)
	if err != nil {
		return nil, classify(fmt.Errorf("begin: %w", err), false)
	}
	return &batchTx{Tx: tx}, nil
}

func (b batchBackend) Savepoint(_ context.Context, tx *batchTx) error {
	tx.savepoint, tx.sent = true, false
	return nil
}

func (b batchBackend) Release(_ context.Context, tx *batchTx) error {
	tx.savepoint = false // released by the member's pipeline
	return nil
}

func (b batchBackend) RollbackTo(ctx context.Context, tx *batchTx) error {
	defer func() { tx.savepoint = false }()
	if !tx.sent {
		return nil // the member failed before sending anything
	}
	// One round trip: undo the member and drop its savepoint.
	if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT member; RELEASE SAVEPOINT member"); err != nil {
		return classify(fmt.Errorf("rollback to savepoint: %w", err), false)
	}
	return nil
}

func (b batchBackend) Commit(ctx context.Context, tx *batchTx) error {
	if err := tx.Commit(ctx); err != nil {
		// Sent and unanswered, it may have committed: ErrOutcomeUnknown.
		return classify(fmt.Errorf("commit: %w", err), true)
	}
	return nil
}

func (b batchBackend) Rollback(ctx context.Context, tx *batchTx) { _ = tx.Tx.Rollback(ctx) }

// batched runs fn in the next group-commit batch; fn's errors are
// classified like tx's.
func (s *Store) batched(ctx context.Context, fn func(ctx context.Context, tx *batchTx) error) error {
	return s.w.Do(ctx, func(ctx context.Context, tx *batchTx) error {
		return classify(fn(ctx, tx), false)
	})
}

// HoldWrites implements store.GroupCommitter.
func (s *Store) HoldWrites() (release func()) { return s.w.Hold() }

// PendingWrites implements store.GroupCommitter.
func (s *Store) PendingWrites() int { return int(s.w.Stats().Pending) }

// WriteBatches implements store.GroupCommitter.
func (s *Store) WriteBatches() int { return int(s.w.Stats().Batches) }

var _ groupcommit.Backend[*batchTx] = batchBackend{}
