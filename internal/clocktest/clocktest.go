// Package clocktest is the one fake clock of the tests. Tests move it
// instead of sleeping, so expiry, grace periods, key rotation and lockout
// windows are checked instantly and deterministically. Only tests import it.
package clocktest

import (
	"sync"
	"time"
)

// Clock is a settable time source. It is safe for concurrent use because
// the code under test reads it from its own goroutines while the test
// moves it.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock that reads t until moved.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's current time; pass the method value (c.Now)
// wherever a func() time.Time is wanted.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d (backward if d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t, for tests that need an absolute instant.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
