package sqlite_test

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/oauth2/par"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// BenchmarkPushedRequestCap is a push (CreatePushedRequest with the
// cap check) and its consumption, with the client holding live
// requests already: the count the cap needs reads at most the cap's
// worth of index entries.
func BenchmarkPushedRequestCap(b *testing.B) {
	for _, live := range []int{0, 100, par.DefaultMaxPerClient - 1} {
		b.Run(fmt.Sprintf("live=%d", live), func(b *testing.B) {
			s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			now := time.Now()
			lim := par.Limits{PerClient: par.DefaultMaxPerClient, PerSource: par.DefaultMaxPerSource}
			params := url.Values{"response_type": {"code"}, "state": {strings.Repeat("s", 200)}}
			req := func(i int, source string) par.Request {
				return par.Request{Hash: par.Hash(fmt.Sprint("uri-", live, "-", i)), ClientID: "c1", Source: source, Params: params, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			}
			for i := range live {
				if err := s.CreatePushedRequest(b.Context(), req(-1-i, ""), lim); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				r := req(i, "192.0.2.2")
				if err := s.CreatePushedRequest(b.Context(), r, lim); err != nil {
					b.Fatal(err)
				}
				if _, err := s.ConsumePushedRequest(b.Context(), r.Hash, "c1"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
