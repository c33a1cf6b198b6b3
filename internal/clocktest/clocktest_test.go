package clocktest_test

import (
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/clocktest"
)

func TestClock(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := clocktest.New(start)
	if !c.Now().Equal(start) {
		t.Fatalf("Now = %v, want %v", c.Now(), start)
	}
	c.Advance(time.Hour)
	if want := start.Add(time.Hour); !c.Now().Equal(want) {
		t.Errorf("after Advance: %v, want %v", c.Now(), want)
	}
	c.Advance(-2 * time.Hour)
	if want := start.Add(-time.Hour); !c.Now().Equal(want) {
		t.Errorf("after a negative Advance: %v, want %v", c.Now(), want)
	}
	later := start.AddDate(1, 0, 0)
	c.Set(later)
	if !c.Now().Equal(later) {
		t.Errorf("after Set: %v, want %v", c.Now(), later)
	}
}

// TestClockConcurrent moves and reads the clock from several goroutines;
// run with -race.
func TestClockConcurrent(t *testing.T) {
	c := clocktest.New(time.Unix(0, 0))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				c.Advance(time.Second)
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	if got := c.Now(); !got.Equal(time.Unix(400, 0)) {
		t.Errorf("Now = %v after 400 one-second steps", got)
	}
}
