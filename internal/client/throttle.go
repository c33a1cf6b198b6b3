package client

import (
	"fmt"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/ratelimit"
)

// Failed-authentication limits (SPEC §5). Two tables, both bounded, both
// counting failures in windows of AuthFailureWindow:
//
//   - per (source address, client_id), for client_ids that exist: after
//     MaxAuthFailures wrong secrets, that client_id is refused from that
//     address, without checking the secret, until the window ends.
//     Counting per source means a guesser locks out only itself, not the
//     real client (client_ids are not secret).
//   - per source address: every failure from the address counts, for an
//     unknown client_id or a wrong secret alike; after MaxSourceFailures
//     the address is refused for every client_id until its window ends.
//
// Unknown client_ids never enter the first table, so junk ids cannot fill
// it; the second is keyed by address only. A full table evicts its
// stalest entry (least recently failed) and never refuses a new one, so no
// amount of junk stops the tracking of a client under attack. The counts
// are per node; a fleet of n nodes allows n times as many guesses, which
// is still nothing against a 256-bit secret.
const (
	MaxAuthFailures   = 10
	MaxSourceFailures = 100
	AuthFailureWindow = time.Minute

	maxTrackedClients = 10000
	maxTrackedSources = 10000
)

// ThrottledError says a client_id is locked out until RetryAfter.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed authentication attempts; retry in %s", e.RetryAfter.Round(time.Second))
}

type throttle struct {
	mu        sync.Mutex
	once      sync.Once
	perClient windows // throttleKey(source, client_id) of existing clients
	perSource windows // source
}

func (t *throttle) init() {
	t.once.Do(func() {
		t.perClient = newWindows(maxTrackedClients, MaxAuthFailures)
		t.perSource = newWindows(maxTrackedSources, MaxSourceFailures)
	})
}

// throttleKey is the perClient key; check builds the same bytes on the
// stack.
func throttleKey(source, clientID string) string { return source + "\x00" + clientID }

// check reports whether clientID may try to authenticate from source at
// now. It reads both tables whether or not clientID exists.
func (t *throttle) check(source, clientID string, now time.Time) error {
	t.init()
	t.mu.Lock()
	defer t.mu.Unlock()
	// The longer of the two lockouts, if any.
	var wait time.Duration
	// The (source, client_id) key is built on the stack: a map lookup by
	// string(bytes) does not allocate, and this runs on every request.
	var buf [128]byte
	key := append(append(append(buf[:0], source...), 0), clientID...)
	for _, e := range []*ThrottledError{t.perClient.checkBytes(key, now), t.perSource.check(source, now)} {
		if e != nil && e.RetryAfter > wait {
			wait = e.RetryAfter
		}
	}
	if wait == 0 {
		return nil
	}
	return &ThrottledError{RetryAfter: wait}
}

// fail records a failed attempt from source: against the source's budget
// always, and against (source, clientID) when the client exists.
func (t *throttle) fail(source, clientID string, exists bool, now time.Time) {
	t.init()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.perSource.fail(source, now)
	if exists {
		t.perClient.fail(throttleKey(source, clientID), now)
	}
}

// windows is the client throttle's view of a ratelimit.Table, in the
// throttle's own error type.
type windows struct {
	t     *ratelimit.Table
	limit int
}

func newWindows(max, limit int) windows {
	return windows{t: ratelimit.New(max, limit, AuthFailureWindow), limit: limit}
}

func (w *windows) len() int { return w.t.Len() }

func (w *windows) has(key string) bool { return w.t.Has(key) }

func (w *windows) check(key string, now time.Time) *ThrottledError {
	return throttled(w.t.Check(key, now))
}

// checkBytes is check for a key held in bytes, without converting it.
func (w *windows) checkBytes(key []byte, now time.Time) *ThrottledError {
	return throttled(w.t.CheckBytes(key, now))
}

func (w *windows) fail(key string, now time.Time) { w.t.Fail(key, now) }

func throttled(wait time.Duration) *ThrottledError {
	if wait <= 0 {
		return nil
	}
	return &ThrottledError{RetryAfter: wait}
}
