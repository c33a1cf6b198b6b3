package client

import (
	"context"

	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
)

// AnonymousRepository is the store side of clients registered by open
// dynamic registration (owner DCRSubject): how many exist, when each was
// last used, and removing those abandoned.
type AnonymousRepository interface {
	// CountAnonymousClients counts clients whose owner is DCRSubject.
	CountAnonymousClients(ctx context.Context) (int, error)
	// TouchClient records that the client with this client_id was used
	// at now (only anonymous clients keep it). An unknown id is no error.
	TouchClient(ctx context.Context, clientID string, now time.Time) error
	// DeleteUnusedAnonymousClients deletes at most limit anonymous
	// clients last used before cutoff (never used: created before it),
	// with their secrets, recording the audit event that event makes of
	// each (its internal id and client_id) in the same transaction, and
	// returns how many it deleted.
	DeleteUnusedAnonymousClients(ctx context.Context, cutoff time.Time, limit int, event func(id, clientID string) (audit.Event, error)) (int, error)
}

// UsageInterval is how often the use of one anonymous client is written:
// more often than that, a use changes nothing an expiry counted in days
// could notice.
const UsageInterval = time.Hour

// Usage records when anonymous clients are used, at most once per
// UsageInterval per client on this node, so a busy client costs one
// write an hour. The zero value is unusable; use NewUsage.
type Usage struct {
	repo AnonymousRepository
	now  func() time.Time
	mu   sync.Mutex
	last map[string]time.Time
}

// maxUsageEntries bounds Usage's memory; when full it is cleared (the
// cost is one extra write per client).
const maxUsageEntries = 100_000

// NewUsage returns a Usage writing to repo.
func NewUsage(repo AnonymousRepository, now func() time.Time) *Usage {
	return &Usage{repo: repo, now: now, last: map[string]time.Time{}}
}

// Note records a use of c if it is anonymous and its use was not written
// within UsageInterval. A failed write is returned; the use is tried
// again next time.
func (u *Usage) Note(ctx context.Context, c Client) error {
	if u == nil || c.OwnerID != DCRSubject {
		return nil
	}
	now := u.now()
	u.mu.Lock()
	if t, ok := u.last[c.ClientID]; ok && now.Sub(t) < UsageInterval {
		u.mu.Unlock()
		return nil
	}
	if len(u.last) >= maxUsageEntries {
		clear(u.last)
	}
	u.last[c.ClientID] = now
	u.mu.Unlock()
	if err := u.repo.TouchClient(ctx, c.ClientID, now); err != nil {
		u.mu.Lock()
		delete(u.last, c.ClientID)
		u.mu.Unlock()
		return err
	}
	return nil
}

// SweeperActor is the actor of the changes the sweeper makes on its own.
const SweeperActor = "sweeper"

// ExpireBatch is how many abandoned anonymous clients one store call
// deletes, so expiry never holds the writer for long.
const ExpireBatch = 500

// ExpireAnonymous deletes the anonymous clients unused for maxAge at now,
// in batches of ExpireBatch, each audited as client.expire by
// SweeperActor, and returns how many it deleted. A sweeper
// calls it periodically; maxAge <= 0 deletes nothing.
func ExpireAnonymous(ctx context.Context, repo AnonymousRepository, now time.Time, maxAge time.Duration) (int, error) {
	if maxAge <= 0 {
		return 0, nil
	}
	total := 0
	for {
		n, err := repo.DeleteUnusedAnonymousClients(ctx, now.Add(-maxAge), ExpireBatch, func(id, clientID string) (audit.Event, error) {
			return audit.New(now, SweeperActor, "", audit.ClientExpire, "client", id,
				map[string]any{"client_id": clientID, "unused_for": maxAge.String()})
		})
		total += n
		if err != nil || n < ExpireBatch {
			return total, err
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}
