package compactjws_test

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/compactjws"
)

// The cache holds at most its size: when full, the expired entries go
// first, then an eighth of the rest; entries are found by their hash.
func TestCacheBound(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	c := compactjws.NewCache(16, func(exp time.Time) time.Time { return exp })
	key := func(i int) [sha256.Size]byte { return sha256.Sum256([]byte(fmt.Sprint(i))) }
	for i := range 16 {
		exp := now.Add(time.Hour)
		if i < 4 {
			exp = now.Add(-time.Second) // expired
		}
		c.Put(key(i), exp, now)
	}
	if c.Len() != 16 {
		t.Fatalf("len %d, want 16", c.Len())
	}
	c.Put(key(100), now.Add(time.Hour), now)
	if c.Len() != 13 { // 16 - 4 expired + 1
		t.Errorf("after one more: len %d, want 13", c.Len())
	}
	for i := range 4 {
		if _, ok := c.Get(key(i)); ok {
			t.Errorf("expired entry %d kept", i)
		}
	}
	if e, ok := c.Get(key(100)); !ok || !e.Equal(now.Add(time.Hour)) {
		t.Errorf("Get(new) = %v, %v", e, ok)
	}
	// Nothing expired: an eighth goes.
	for i := 200; c.Len() < 16; i++ {
		c.Put(key(i), now.Add(time.Hour), now)
	}
	c.Put(key(999), now.Add(time.Hour), now)
	if n := c.Len(); n > 16 || n < 14 {
		t.Errorf("full of live entries, then one more: len %d", n)
	}
	c.Remove(key(999))
	if _, ok := c.Get(key(999)); ok {
		t.Error("removed entry found")
	}
}
