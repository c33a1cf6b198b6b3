// Package ratelimit counts failures per key in fixed windows, in bounded
// tables that evict their stalest entry rather than refuse a new key: no
// amount of junk keys stops the tracking of a key under attack. It backs
// the failed-authentication throttles of clients (internal/client) and of
// the login page (internal/web).
package ratelimit

import (
	"container/list"
	"time"
)

// Table counts failures per key in fixed windows of Window, holding at
// most Max keys; when full, the least recently failed key makes room. A
// key with Limit failures in its current window is refused until the
// window ends. A Table is not safe for concurrent use: its owner locks.
// The zero value is unusable; use New.
type Table struct {
	max, limit int
	window     time.Duration
	m          map[string]*list.Element // of *entry
	lru        list.List                // front: most recently failed
}

type entry struct {
	key   string
	start time.Time
	count int
}

// New returns a Table holding at most max keys, refusing a key after
// limit failures within window.
func New(max, limit int, window time.Duration) *Table {
	return &Table{max: max, limit: limit, window: window, m: map[string]*list.Element{}}
}

// Len is the number of keys tracked (0 for a nil Table).
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.m)
}

// Limit is the number of failures a window allows.
func (t *Table) Limit() int { return t.limit }

// Has reports whether key is tracked (never by a nil Table).
func (t *Table) Has(key string) bool {
	if t == nil {
		return false
	}
	_, ok := t.m[key]
	return ok
}

// Check returns how long key is refused at now; 0 when it is not.
func (t *Table) Check(key string, now time.Time) time.Duration {
	e, ok := t.m[key]
	return t.verdict(e, ok, now)
}

// CheckBytes is Check for a key held in bytes, without converting it (a
// map lookup by string(bytes) does not allocate).
func (t *Table) CheckBytes(key []byte, now time.Time) time.Duration {
	e, ok := t.m[string(key)]
	return t.verdict(e, ok, now)
}

func (t *Table) verdict(e *list.Element, ok bool, now time.Time) time.Duration {
	if !ok {
		return 0
	}
	en := e.Value.(*entry)
	if now.Sub(en.start) >= t.window || en.count < t.limit {
		return 0
	}
	return en.start.Add(t.window).Sub(now)
}

// Fail records a failure of key at now, evicting the stalest key when the
// table is full and key is new.
func (t *Table) Fail(key string, now time.Time) {
	if e, ok := t.m[key]; ok {
		en := e.Value.(*entry)
		if now.Sub(en.start) >= t.window {
			en.start, en.count = now, 0
		}
		en.count++
		t.lru.MoveToFront(e)
		return
	}
	if len(t.m) >= t.max {
		stalest := t.lru.Back()
		t.lru.Remove(stalest)
		delete(t.m, stalest.Value.(*entry).key)
	}
	t.m[key] = t.lru.PushFront(&entry{key: key, start: now, count: 1})
}
