package sqlite_test

import (
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store/sqlite"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestCloseDrainsToDisk: writes queued when Close is called are on disk
// when the file is opened again.
func TestCloseDrainsToDisk(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	release := s.HoldWrites()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		c := storetest.SampleClient(i + 1)
		wg.Go(func() { errs[i] = s.CreateClient(t.Context(), c, storetest.Event("client.create", c.ID)) })
	}
	for s.PendingWrites() != len(errs) {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	release()
	wg.Wait()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("write %d: %v", i+1, err)
		}
		want := storetest.SampleClient(i + 1)
		got, err := s.GetClient(t.Context(), want.ID)
		if err != nil {
			t.Fatalf("client %d after reopen: %v", i+1, err)
		}
		storetest.AssertClientEqual(t, got, want)
	}
}

// BenchmarkCreateClientParallel registers clients from 16 goroutines at
// once (b.RunParallel on 2 cores at parallelism 8), each durable
// (synchronous=FULL) when CreateClient returns: what group commit is for.
func BenchmarkCreateClientParallel(b *testing.B) {
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var n atomic.Int64
	b.SetParallelism(8)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c := storetest.SampleClient(int(n.Add(1)))
			if err := s.CreateClient(b.Context(), c, storetest.Event("client.create", c.ID)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "registrations/s")
}
