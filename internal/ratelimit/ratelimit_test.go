package ratelimit

import (
	"testing"
	"time"
)

func TestTable(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tb := New(2, 2, time.Minute)
	for _, tc := range []struct {
		name string
		op   func()
		key  string
		want time.Duration
	}{
		{"untracked", func() {}, "a", 0},
		{"one failure", func() { tb.Fail("a", now) }, "a", 0},
		{"at the limit", func() { now = now.Add(10 * time.Second); tb.Fail("a", now) }, "a", 50 * time.Second},
		{"window over", func() { now = now.Add(50 * time.Second) }, "a", 0},
		{"new window counts afresh", func() { tb.Fail("a", now) }, "a", 0},
		{"full: b evicts nothing yet", func() { tb.Fail("b", now); tb.Fail("b", now) }, "b", time.Minute},
		{"full: c evicts the stalest (a)", func() { tb.Fail("c", now) }, "c", 0},
	} {
		tc.op()
		if got := tb.Check(tc.key, now); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
		if got := tb.CheckBytes([]byte(tc.key), now); got != tc.want {
			t.Errorf("%s (bytes): %s, want %s", tc.name, got, tc.want)
		}
	}
	if tb.Len() != 2 || tb.Has("a") || !tb.Has("b") || !tb.Has("c") {
		t.Errorf("after eviction: len %d, a %v b %v c %v", tb.Len(), tb.Has("a"), tb.Has("b"), tb.Has("c"))
	}
	var nilTable *Table
	if nilTable.Len() != 0 || nilTable.Has("a") {
		t.Error("a nil Table is not empty")
	}
}
