package store

import (
	"context"
	"time"
)

// Sweeps delete rows that can no longer matter, at most limit at a time
// (a bounded batch: one short transaction each, so several nodes may
// sweep at once without long locks), and return how many they deleted.
// internal/sweep calls them periodically.
type Sweeps interface {
	// SweepSessions deletes sessions that expired before now.
	SweepSessions(ctx context.Context, now time.Time, limit int) (int, error)
	// SweepAuthCodes deletes authorization codes that expired more than
	// keep before now (a used code's row is kept that long, so a late
	// second redemption is still recognised).
	SweepAuthCodes(ctx context.Context, now time.Time, keep time.Duration, limit int) (int, error)
	// SweepRevocations deletes revocation records of tokens that expired
	// before now (an expired token fails verification anyway).
	SweepRevocations(ctx context.Context, now time.Time, limit int) (int, error)
}
