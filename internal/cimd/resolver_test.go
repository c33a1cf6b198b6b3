package cimd_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/cimd"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/clocktest"
)

// gated serves handler only once release is closed.
func gated(release <-chan struct{}, handler http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		handler(w, r)
	}
}

// waitFor yields until n resolutions of id wait for its fetch.
func waitFor(t *testing.T, r *cimd.Resolver, id string, n int) {
	t.Helper()
	for r.Waiting(id) < n {
		runtime.Gosched()
	}
}

// TestSingleFlight: concurrent resolutions of one URL share one fetch,
// whether it succeeds (even a no-store document) or fails; a caller that
// gives up does not fail the others.
func TestSingleFlight(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    string // "" → resolved
	}{
		{"no-store document", serveDoc("no-store"), ""},
		{"cacheable document", serveDoc("max-age=600"), ""},
		{"not found", http.NotFound, "404"},
		{"wrong client_id", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, doc("https://"+r.Host+"/another.json"))
		}, "client_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			d := newDocServer(t, gated(release, tc.handler))
			r := resolver(t, d, cimd.Config{AllowLoopback: true})
			id := d.url("")
			const n = 8
			// The first caller gives up before the document arrives.
			impatient, cancel := context.WithCancel(t.Context())
			impatientErr := make(chan error, 1)
			go func() { _, err := r.Resolve(impatient, id); impatientErr <- err }()
			waitFor(t, r, id, 1)
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() {
					c, err := r.Resolve(t.Context(), id)
					if err == nil && c.ClientID != id {
						err = fmt.Errorf("resolved %q", c.ClientID)
					}
					errs[i] = err
				})
			}
			waitFor(t, r, id, n+1)
			cancel()
			if err := <-impatientErr; !errors.Is(err, context.Canceled) || !errors.Is(err, client.ErrNotFound) {
				t.Errorf("the impatient caller: %v", err)
			}
			close(release)
			wg.Wait()
			for i, err := range errs {
				if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, cimd.ErrInvalid)) {
					t.Errorf("caller %d: %v, want %q", i, err, tc.want)
				}
			}
			if got := d.hits.Load(); got != 1 {
				t.Errorf("%d concurrent resolutions fetched %d times, want once", n+1, got)
			}
		})
	}
}

// TestFailuresRemembered: a URL whose resolution failed is not fetched
// again for FailureTTL (per the injected clock), then is; a document
// fixed meanwhile is found then; the failures remembered are bounded.
func TestFailuresRemembered(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	var mu sync.Mutex
	broken := true
	d := newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		b := broken
		mu.Unlock()
		if b {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<h1>hello</h1>")
			return
		}
		serveDoc("")(w, r)
	})
	r := resolver(t, d, cimd.Config{AllowLoopback: true, Now: clock.Now, CacheSize: 4})
	id := d.url("")
	var first error
	for i := range 5 {
		_, err := r.Resolve(t.Context(), id)
		if err == nil || !errors.Is(err, client.ErrNotFound) || !strings.Contains(err.Error(), "application/json") {
			t.Fatalf("attempt %d: %v", i, err)
		}
		if i == 0 {
			first = err
		} else if err.Error() != first.Error() {
			t.Errorf("attempt %d: %v, first %v", i, err, first)
		}
	}
	if got := d.hits.Load(); got != 1 {
		t.Errorf("5 resolutions of a broken document fetched it %d times, want once", got)
	}
	mu.Lock()
	broken = false
	mu.Unlock()
	clock.Advance(cimd.FailureTTL - time.Second)
	if _, err := r.Resolve(t.Context(), id); err == nil || d.hits.Load() != 1 {
		t.Errorf("within FailureTTL: %v after %d fetches, want the remembered failure", err, d.hits.Load())
	}
	clock.Advance(time.Second)
	if _, err := r.Resolve(t.Context(), id); err != nil || d.hits.Load() != 2 {
		t.Errorf("after FailureTTL: %v after %d fetches, want the fixed document", err, d.hits.Load())
	}
	// Bounded: a flood of failing URLs keeps at most CacheSize failures.
	mu.Lock()
	broken = true
	mu.Unlock()
	base := strings.TrimSuffix(id, "/client.json")
	for i := range 20 {
		if _, err := r.Resolve(t.Context(), fmt.Sprintf("%s/c%d.json", base, i)); err == nil {
			t.Fatal("a broken document resolved")
		}
	}
	if n := r.Failures(); n > 4 || n == 0 {
		t.Errorf("%d failures remembered, want 1 to 4", n)
	}
	// Refusals before any fetch (bad URL, blocked host) are not remembered
	// and cost no fetch.
	hits, failures := d.hits.Load(), r.Failures()
	for _, bad := range []string{"http://127.0.0.1/x.json", "https://127.0.0.1/a/../x.json"} {
		if _, err := r.Resolve(t.Context(), bad); !errors.Is(err, cimd.ErrInvalid) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if d.hits.Load() != hits || r.Failures() != failures {
		t.Errorf("refused URLs fetched (%d) or remembered (%d)", d.hits.Load()-hits, r.Failures()-failures)
	}
}

// BenchmarkResolveFailed is resolution of a URL whose document failed
// recently: answered from memory, without a fetch.
func BenchmarkResolveFailed(b *testing.B) {
	d := &docServer{}
	d.Server = httptest.NewTLSServer(http.NotFoundHandler())
	defer d.Close()
	r := cimd.New(cimd.Config{AllowLoopback: true, Scopes: scopes, RootCAs: d.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs})
	id := d.url("")
	if _, err := r.Resolve(context.Background(), id); err == nil {
		b.Fatal("resolved")
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Resolve(context.Background(), id); err == nil {
			b.Fatal("resolved")
		}
	}
}

// BenchmarkResolveWarmParallel is BenchmarkResolveWarm from every core.
func BenchmarkResolveWarmParallel(b *testing.B) {
	d := &docServer{}
	d.Server = httptest.NewTLSServer(serveDoc("max-age=3600"))
	defer d.Close()
	r := cimd.New(cimd.Config{AllowLoopback: true, Scopes: scopes, RootCAs: d.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs})
	id := d.url("")
	if _, err := r.Resolve(context.Background(), id); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.Resolve(context.Background(), id); err != nil {
				b.Fatal(err)
			}
		}
	})
}
