package client

import (
	"fmt"
	"sync"
	"time"
)

// Failed-authentication limits (SPEC §5): after MaxAuthFailures failures
// for one client_id from one source address within AuthFailureWindow,
// further attempts from there are refused, without checking the secret,
// until the window ends. Counting per source means a guesser locks out
// only itself, not the real client (client_ids are not secret). The count
// is per node; a fleet of n nodes allows n times as many guesses, which is
// still nothing against a 256-bit secret.
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

func throttleKey(source, clientID string) string { return source + "\x00" + clientID }

// check reports whether key may try to authenticate at now.
func (t *throttle) check(key string, now time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	w, ok := t.failures[key]
	if !ok || now.Sub(w.start) >= AuthFailureWindow {
		return nil
	}
	if w.count >= MaxAuthFailures {
		return &ThrottledError{RetryAfter: w.start.Add(AuthFailureWindow).Sub(now)}
	}
	return nil
}

// fail records a failed attempt for key.
func (t *throttle) fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failures == nil {
		t.failures = map[string]*failureWindow{}
	}
	w, ok := t.failures[key]
	if ok && now.Sub(w.start) < AuthFailureWindow {
		w.count++
		return
	}
	if !ok && len(t.failures) >= maxTracked {
		// Full: drop finished windows. Never drop live ones, or a spray of
		// junk ids would reset the count of the client under attack; if
		// still full, this new key goes untracked (memory stays bounded).
		for k, w := range t.failures {
			if now.Sub(w.start) >= AuthFailureWindow {
				delete(t.failures, k)
			}
		}
		if len(t.failures) >= maxTracked {
			return
		}
	}
	t.failures[key] = &failureWindow{start: now, count: 1}
}
