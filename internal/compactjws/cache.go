package compactjws

import (
	"crypto/sha256"
	"sync"
	"time"
)

// Cache maps SHA-256 of a raw token to what verifying it found, for at
// most max tokens, each until the expiry its value reports. The token
// issuer (admin bearer tokens, introspection) and the rs package (a
// resource server's tokens) keep their verified tokens in one.
type Cache[V any] struct {
	mu      sync.Mutex
	max     int
	expires func(V) time.Time
	m       map[[sha256.Size]byte]V
}

// NewCache returns a cache of at most max entries; expires gives an
// entry's end, after which put may drop it.
func NewCache[V any](max int, expires func(V) time.Time) *Cache[V] {
	return &Cache[V]{max: max, expires: expires, m: make(map[[sha256.Size]byte]V)}
}

// Get returns the entry for k.
func (c *Cache[V]) Get(k [sha256.Size]byte) (V, bool) {
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	return e, ok
}

// Remove drops the entry for k.
func (c *Cache[V]) Remove(k [sha256.Size]byte) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}

// Put stores e; when full it drops the entries expired at now and, if
// that is not enough, an eighth of the rest (Go's map order is random
// enough for a cache of tokens that are all alike).
func (c *Cache[V]) Put(k [sha256.Size]byte, e V, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for key, v := range c.m {
			if !now.Before(c.expires(v)) {
				delete(c.m, key)
			}
		}
		for key := range c.m {
			if len(c.m) < c.max-c.max/8 {
				break
			}
			delete(c.m, key)
		}
	}
	c.m[k] = e
}

// Len is the number of entries.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
