package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/internal/groupcommit"
)

var _ store.GroupCommitter = (*Store)(nil)

// batchBackend runs group-commit batches on the writer connection: one
// BEGIN IMMEDIATE, the members (in one savepoint each only when the
// batch is run again after a member failed), one COMMIT (one fsync with
// synchronous=FULL) for the lot. Its statements are prepared once.
type batchBackend struct {
	wdb                            *sql.DB
	savepoint, release, rollbackTo *sql.Stmt
}

func (b *batchBackend) Begin(ctx context.Context) (*sql.Tx, error) {
	tx, err := b.wdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, classify(fmt.Errorf("begin: %w", err), false)
	}
	return tx, nil
}

func exec(ctx context.Context, tx *sql.Tx, st *sql.Stmt, what string) error {
	if _, err := tx.StmtContext(ctx, st).ExecContext(ctx); err != nil {
		return classify(fmt.Errorf("%s: %w", what, err), false)
	}
	return nil
}

func (b *batchBackend) Savepoint(ctx context.Context, tx *sql.Tx) error {
	return exec(ctx, tx, b.savepoint, "savepoint")
}

func (b *batchBackend) Release(ctx context.Context, tx *sql.Tx) error {
	return exec(ctx, tx, b.release, "release savepoint")
}

func (b *batchBackend) RollbackTo(ctx context.Context, tx *sql.Tx) error {
	// ROLLBACK TO leaves the savepoint open; release it so the next
	// member starts from the transaction itself.
	if err := exec(ctx, tx, b.rollbackTo, "rollback to savepoint"); err != nil {
		return err
	}
	return b.Release(ctx, tx)
}

func (b *batchBackend) Commit(_ context.Context, tx *sql.Tx) error {
	if err := tx.Commit(); err != nil {
		return classify(fmt.Errorf("commit: %w", err), true)
	}
	return nil
}

func (b *batchBackend) Rollback(_ context.Context, tx *sql.Tx) { _ = tx.Rollback() }

// batched runs fn in the next group-commit batch; fn's errors are
// classified like tx's.
func (s *Store) batched(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return s.w.Do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return classify(fn(ctx, tx), false)
	})
}

// HoldWrites implements store.GroupCommitter.
func (s *Store) HoldWrites() (release func()) { return s.w.Hold() }

// PendingWrites implements store.GroupCommitter.
func (s *Store) PendingWrites() int { return int(s.w.Stats().Pending) }

// WriteBatches implements store.GroupCommitter.
func (s *Store) WriteBatches() int { return int(s.w.Stats().Batches) }

var _ groupcommit.Backend[*sql.Tx] = (*batchBackend)(nil)
