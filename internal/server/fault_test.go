package server_test

import (
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/api/register"
	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/postgres/pgtest"
)

// pgFaultEnv is a whole server on PostgreSQL reached through a
// fault-injecting proxy, and a direct connection to check what the
// database really holds.
type pgFaultEnv struct {
	*servertest.Env
	proxy  *pgtest.Proxy
	direct *pgx.Conn
}

// newPGFaultEnv skips (visibly) without LATCHKEY_TEST_POSTGRES_DSN.
func newPGFaultEnv(t *testing.T) *pgFaultEnv {
	t.Helper()
	dsn := pgtest.FreshDSN(t)
	proxy, viaProxy := pgtest.NewProxy(t, dsn)
	st, err := postgres.Open(t.Context(), viaProxy, postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := servertest.New(t, func(o *server.Options) {
		o.Store = st
		o.Registration = register.ModeOpen
	})
	direct, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { direct.Close(t.Context()) })
	return &pgFaultEnv{Env: e, proxy: proxy, direct: direct}
}

func (f *pgFaultEnv) clients(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.direct.QueryRow(t.Context(), `SELECT count(*) FROM clients`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPostgresCommitLost cuts the connection right after the proxy
// forwards a registration's COMMIT: PostgreSQL commits, the server never
// hears so. Every dialect must answer 503 "may have been applied", and
// the client must indeed be there.
func TestPostgresCommitLost(t *testing.T) {
	f := newPGFaultEnv(t)
	tok := f.TokenWith("clients:create")
	svc, secret := f.ServiceClient("svc", "read")
	for _, c := range storeCalls(tok, svc, secret) {
		if !c.write {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			before := f.clients(t)
			f.proxy.DropAfterNextCommit()
			r := f.Send(c.request(f.URL, tok))
			checkOutcomeUnknown(t, c, r)
			if t.Failed() {
				t.Logf("server log:\n%s", f.Logs)
			}
			if after := f.clients(t); after != before+1 {
				t.Errorf("clients %d -> %d: the COMMIT reached PostgreSQL, so the client must exist", before, after)
			}
			// The pool replaces the cut connection by itself.
			if r := f.Send(c.request(f.URL, tok)); r.Status != 201 {
				t.Errorf("after the cut: status %d: %s", r.Status, r.Body)
			}
		})
	}
}

// TestPostgresOutage stops PostgreSQL (the proxy cuts every connection
// and refuses new ones) under mixed load in every dialect: each answer
// must be 503 with Retry-After in the dialect's shape, /readyz must say
// 503, and the server must not dial the database once per request. Then
// PostgreSQL comes back and the server must recover by itself.
func TestPostgresOutage(t *testing.T) {
	f := newPGFaultEnv(t)
	tok := f.TokenWith("clients:create")
	svc, secret := f.ServiceClient("svc", "read")
	calls := storeCalls(tok, svc, secret)
	for _, c := range calls { // warm the pool
		_ = f.Send(c.request(f.URL, tok))
	}

	const outage, workers = 3 * time.Second, 8
	type result struct {
		call storeCall
		resp servertest.Response
		err  error
	}
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
	)
	f.proxy.SetDown(true)
	start, attempts0 := time.Now(), f.proxy.Attempts()
	deadline := start.Add(outage)
	for w := range workers {
		wg.Go(func() {
			for i := w; time.Now().Before(deadline); i++ {
				c := calls[i%len(calls)]
				res, err := http.DefaultClient.Do(c.request(f.URL, tok))
				r := result{call: c, err: err}
				if err == nil {
					b, rerr := io.ReadAll(res.Body)
					res.Body.Close()
					r.resp, r.err = servertest.Response{Status: res.StatusCode, Header: res.Header, Body: b}, rerr
				}
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			}
		})
	}
	// The first second holds the cut: every pooled connection fails and
	// pgx sends a cancel request for each; the rest is steady state.
	time.Sleep(time.Until(start.Add(time.Second)))
	attempts1 := f.proxy.Attempts()
	wg.Wait()
	elapsed := time.Since(start)
	attempts := f.proxy.Attempts() - attempts0
	steady := float64(f.proxy.Attempts()-attempts1) / time.Since(start.Add(time.Second)).Seconds()
	if r := f.Do("GET", "/readyz", "", "", ""); r.Status != 503 {
		t.Errorf("/readyz %d during the outage", r.Status)
	}

	perCall := map[string]int{}
	for _, r := range results {
		if r.err != nil {
			t.Fatalf("%s: %v", r.call.name, r.err)
		}
		perCall[r.call.name]++
		checkOutage(t, r.call, r.resp)
		if t.Failed() {
			break // one bad answer says enough
		}
	}
	for _, c := range calls {
		if perCall[c.name] == 0 {
			t.Errorf("%s: no request made during the outage", c.name)
		}
	}
	rate := float64(attempts) / elapsed.Seconds()
	t.Logf("outage: %d requests in %v, %d connection attempts at the proxy (%.1f per second overall, %.1f per second after the first second)",
		len(results), elapsed.Round(time.Millisecond), attempts, rate, steady)
	// Without the gate every request dials. With it: at the cut, a pool's
	// worth of redials and cancel requests (MaxConns is 4 here), then one
	// attempt per backoff (100ms doubling to 2s).
	if attempts > 20 || steady > 2 {
		t.Errorf("%d connection attempts (%.1f per second in steady state) while PostgreSQL is down; want at most 20 and 2 per second", attempts, steady)
	}

	f.proxy.SetDown(false)
	restored := time.Now()
	var recovered time.Duration
	for {
		if time.Since(restored) > 10*time.Second {
			t.Fatalf("not recovered 10s after PostgreSQL came back")
		}
		ready := f.Do("GET", "/readyz", "", "", "")
		created := f.Send(calls[0].request(f.URL, tok))
		if ready.Status == 200 && created.Status == 201 {
			recovered = time.Since(restored)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("recovered %v after PostgreSQL came back", recovered.Round(time.Millisecond))
	// The longest backoff is 2s; a retry after it reconnects.
	if recovered > 4*time.Second {
		t.Errorf("recovery took %v; want under 4s", recovered)
	}
}
