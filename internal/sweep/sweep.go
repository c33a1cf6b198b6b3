// Package sweep deletes expired rows in the background: sign-in sessions,
// authorization codes, token revocation records, and whatever else is
// registered as a Task. Each task deletes in bounded batches (one short
// transaction each) until a batch comes back short, so a backlog drains
// without long locks, and several nodes may sweep the same store at once:
// a row is deleted by whichever gets to it first.
package sweep

import (
	"context"
	"log/slog"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// Task is one kind of expired row: Sweep deletes at most limit rows that
// have expired at now and says how many it deleted.
type Task struct {
	Name  string
	Sweep func(ctx context.Context, now time.Time, limit int) (int, error)
}

// Defaults.
const (
	DefaultInterval = 5 * time.Minute
	DefaultBatch    = 500
	// maxBatchesPerRun bounds one run of one task, so a huge backlog is
	// drained over several runs rather than in one long burst.
	maxBatchesPerRun = 100
	// CodeKeep is how long after expiry a code's row stays (as the stores
	// keep it), so a late second redemption is recognised as such.
	CodeKeep = time.Hour
)

// Sweeper runs its tasks periodically.
type Sweeper struct {
	tasks []Task
	batch int
	now   func() time.Time
	log   *slog.Logger
}

// New returns a Sweeper with no tasks; batch ≤ 0 is DefaultBatch, now nil
// is time.Now, log nil discards.
func New(batch int, now func() time.Time, log *slog.Logger) *Sweeper {
	if batch <= 0 {
		batch = DefaultBatch
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sweeper{batch: batch, now: now, log: log}
}

// Add registers t; call it before Run.
func (s *Sweeper) Add(t Task) { s.tasks = append(s.tasks, t) }

// Tasks lists the registered tasks' names.
func (s *Sweeper) Tasks() []string {
	names := make([]string, len(s.tasks))
	for i, t := range s.tasks {
		names[i] = t.Name
	}
	return names
}

// Sweepable is what StoreTasks sweeps (every store.Store is one).
type Sweepable interface {
	store.Sweeps
	// DeleteExpiredRefresh deletes expired or revoked refresh grants and
	// ended grant revocations (refresh.Repository).
	DeleteExpiredRefresh(ctx context.Context, now time.Time, limit int) (int, error)
	// SweepAssertions deletes spent private_key_jwt assertion ids whose
	// assertions expired (clientauth.AssertionRepository).
	SweepAssertions(ctx context.Context, now time.Time, limit int) (int, error)
}

// StoreTasks are the sweeps every store provides: sessions, codes,
// revocations, refresh grants and spent client assertion ids.
func StoreTasks(st Sweepable) []Task {
	return []Task{
		{Name: "sessions", Sweep: st.SweepSessions},
		{Name: "auth_codes", Sweep: func(ctx context.Context, now time.Time, limit int) (int, error) {
			return st.SweepAuthCodes(ctx, now, CodeKeep, limit)
		}},
		{Name: "revocations", Sweep: st.SweepRevocations},
		{Name: "refresh_grants", Sweep: st.DeleteExpiredRefresh},
		{Name: "client_assertions", Sweep: st.SweepAssertions},
	}
}

// Once runs every task until it has nothing more to delete (or
// maxBatchesPerRun batches), and returns how many rows each deleted. A
// failing task is logged and does not stop the others.
func (s *Sweeper) Once(ctx context.Context) map[string]int {
	deleted := map[string]int{}
	for _, t := range s.tasks {
		for range maxBatchesPerRun {
			n, err := t.Sweep(ctx, s.now(), s.batch)
			deleted[t.Name] += n
			if err != nil {
				if ctx.Err() == nil {
					s.log.WarnContext(ctx, "sweep expired rows", "task", t.Name, "err", err)
				}
				break
			}
			if n < s.batch {
				break
			}
		}
		if n := deleted[t.Name]; n > 0 {
			s.log.DebugContext(ctx, "swept expired rows", "task", t.Name, "deleted", n)
		}
	}
	return deleted
}

// Run sweeps every interval until ctx ends; interval ≤ 0 disables it.
func (s *Sweeper) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Once(ctx)
		}
	}
}
