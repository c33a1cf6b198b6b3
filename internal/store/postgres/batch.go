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
// transaction, a savepoint per member, one COMMIT (one WAL flush) for the
// lot.
type batchBackend struct{ s *Store }

func (b batchBackend) Begin(ctx context.Context) (pgx.Tx, error) {
	tx, err := b.s.pool.Begin(ctx)
	if err != nil {
		return nil, classify(fmt.Errorf("begin: %w", err), false)
	}
	return tx, nil
}

func exec(ctx context.Context, tx pgx.Tx, q string) error {
	if _, err := tx.Exec(ctx, q); err != nil {
		return classify(fmt.Errorf("%s: %w", q, err), false)
	}
	return nil
}

func (b batchBackend) Savepoint(ctx context.Context, tx pgx.Tx) error {
	return exec(ctx, tx, "SAVEPOINT member")
}

func (b batchBackend) Release(ctx context.Context, tx pgx.Tx) error {
	return exec(ctx, tx, "RELEASE SAVEPOINT member")
}

func (b batchBackend) RollbackTo(ctx context.Context, tx pgx.Tx) error {
	// One round trip: undo the member and drop its savepoint.
	return exec(ctx, tx, "ROLLBACK TO SAVEPOINT member; RELEASE SAVEPOINT member")
}

func (b batchBackend) Commit(ctx context.Context, tx pgx.Tx) error {
	if err := tx.Commit(ctx); err != nil {
		// Sent and unanswered, it may have committed: ErrOutcomeUnknown.
		return classify(fmt.Errorf("commit: %w", err), true)
	}
	return nil
}

func (b batchBackend) Rollback(ctx context.Context, tx pgx.Tx) { _ = tx.Rollback(ctx) }

// batched runs fn in the next group-commit batch; fn's errors are
// classified like tx's.
func (s *Store) batched(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	return s.w.Do(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return classify(fn(ctx, tx), false)
	})
}

// HoldWrites implements store.GroupCommitter.
func (s *Store) HoldWrites() (release func()) { return s.w.Hold() }

// PendingWrites implements store.GroupCommitter.
func (s *Store) PendingWrites() int { return int(s.w.Stats().Pending) }

// WriteBatches implements store.GroupCommitter.
func (s *Store) WriteBatches() int { return int(s.w.Stats().Batches) }

var _ groupcommit.Backend[pgx.Tx] = batchBackend{}
