package client

import (
	"fmt"
	"sync"
	"time"
)

// Failed-authentication limits (SPEC §5): after MaxAuthFailures failures
// for one client_id within AuthFailureWindow, further attempts for it are
// refused, without checking the secret, until the window ends. The count
// is per node; a fleet of n nodes allows at most n times as many guesses,
// which is still nothing against a 256-bit secret, but stops a client from
// being used to flood the logs and the store.
const (
	MaxAuthFailures   = 10
	AuthFailureWindow = time.Minute
	maxTracked        = 10000
)

// ThrottledError says a client_id is locked out until RetryAfter.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed authentication attempts; retry in %s", e.RetryAfter.Round(time.Second))
}

type throttle struct {
	mu       sync.Mutex
	failures map[string]*failureWindow
}

type failureWindow struct {
	start time.Time
	count int
}

// check reports whether clientID may try to authenticate at now.
func (t *throttle) check(clientID string, now time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	w, ok := t.failures[clientID]
	if !ok || now.Sub(w.start) >= AuthFailureWindow {
		return nil
	}
	if w.count >= MaxAuthFailures {
		return &ThrottledError{RetryAfter: w.start.Add(AuthFailureWindow).Sub(now)}
	}
	return nil
}

// fail records a failed attempt for clientID.
func (t *throttle) fail(clientID string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failures == nil || len(t.failures) >= maxTracked {
		t.failures = map[string]*failureWindow{} // bounded memory under a spray of ids
	}
	w, ok := t.failures[clientID]
	if !ok || now.Sub(w.start) >= AuthFailureWindow {
		t.failures[clientID] = &failureWindow{start: now, count: 1}
		return
	}
	w.count++
}
