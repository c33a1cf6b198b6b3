package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store/postgres/pgtest"
)

// killClient bounds every request the kill -9 test sends, so a wedged
// server fails the test instead of hanging it. Its pool holds a
// connection per worker, so the workers do not churn connections.
var killClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}

// killDo sends one request with killClient and reads the whole answer.
func killDo(method, u, body, bearer string) (int, []byte, error) {
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := killClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// killToken gets a client_credentials token for the bootstrap admin.
func killToken(t *testing.T, base string, scopes ...string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {strings.Join(scopes, " ")}}
	req, err := http.NewRequest("POST", base+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(adminID, adminSecret)
	res, err := killClient.Do(req)
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || res.StatusCode != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("token: status %d, %v", res.StatusCode, err)
	}
	return tok.AccessToken
}

// killReady waits, boundedly, until n answers /readyz with 200.
func killReady(t *testing.T, n *node) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if status, _, err := killDo("GET", n.URL+"/readyz", "", ""); err == nil && status == http.StatusOK {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("node %s not ready:\n%s", n.URL, n.log)
}

// TestKillNineLosesNoAcknowledgedWrite registers clients from many
// workers against a real `latchkey serve` process, kills it with SIGKILL
// mid-load, restarts it on the same database and checks that every
// registration it answered 201 survived (issue 12, "Operate it").
func TestKillNineLosesNoAcknowledgedWrite(t *testing.T) {
	for _, tc := range []struct {
		name string
		db   func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "k9.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.FreshDSN(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := tc.db(t)
			key := make([]byte, 32)
			_, _ = rand.Read(key)
			masterKey := base64.StdEncoding.EncodeToString(key)
			const issuer = "http://latchkey.k9.test"

			first := startNode(t, db, masterKey, issuer)
			killReady(t, first)
			admin := killToken(t, first.URL, "clients:create")

			const (
				workers   = 16
				loadFor   = 1500 * time.Millisecond
				maxLoad   = 8 * time.Second
				wantAcked = 300
				maxWrite  = 5000 // bounds the load on a fast machine
			)
			type ack struct{ id, clientID string }
			var (
				mu       sync.Mutex
				acked    []ack
				statuses = map[int]int{} // non-201 answers by status
				failures atomic.Int64    // transport errors (expected once killed)
				sent     atomic.Int64
				killed   atomic.Bool
				wg       sync.WaitGroup
			)
			stop := make(chan struct{})
			capped := make(chan struct{})
			var capOnce sync.Once
			for w := range workers {
				wg.Go(func() {
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						if sent.Add(1) > maxWrite {
							capOnce.Do(func() { close(capped) })
							return
						}
						body := fmt.Sprintf(`{"client_name":"k9-%d-%d","redirect_uris":["https://a.example/cb"],"allowed_scopes":["api:public"]}`, w, i)
						status, b, err := killDo("POST", first.URL+"/v1/admin/oauth-clients", body, admin)
						if err != nil {
							failures.Add(1)
							if killed.Load() {
								return
							}
							continue
						}
						if status != http.StatusCreated {
							mu.Lock()
							statuses[status]++
							mu.Unlock()
							continue
						}
						var r struct {
							Client struct {
								ID       string `json:"id"`
								ClientID string `json:"client_id"`
							} `json:"client"`
						}
						if err := json.Unmarshal(b, &r); err != nil || r.Client.ID == "" || r.Client.ClientID == "" {
							// A 201 whose body never fully arrived is not
							// an acknowledgement the caller could act on.
							failures.Add(1)
							continue
						}
						mu.Lock()
						acked = append(acked, ack{r.Client.ID, r.Client.ClientID})
						mu.Unlock()
					}
				})
			}
			// Load for loadFor, longer (up to maxLoad) while fewer than
			// wantAcked registrations are acknowledged: the race detector
			// slows the server down by an order of magnitude.
			start := time.Now()
			tick := time.NewTicker(20 * time.Millisecond)
		load:
			for {
				select {
				case <-capped:
					break load
				case <-tick.C:
					mu.Lock()
					n := len(acked)
					mu.Unlock()
					if took := time.Since(start); took >= maxLoad || took >= loadFor && n >= wantAcked {
						break load
					}
				}
			}
			tick.Stop()
			// Kill mid-load: the workers are still sending.
			killed.Store(true)
			if err := first.cmd.Process.Kill(); err != nil {
				t.Fatalf("kill: %v", err)
			}
			waited := make(chan error, 1)
			go func() { waited <- first.cmd.Wait() }()
			select {
			case err := <-waited:
				t.Logf("server killed after %s of load: %v", time.Since(start).Round(time.Millisecond), err)
			case <-time.After(10 * time.Second):
				t.Fatal("killed server did not exit")
			}
			close(stop)
			wg.Wait()

			mu.Lock()
			ids := append([]ack(nil), acked...)
			mu.Unlock()
			if len(statuses) > 0 {
				var s []string
				for code, n := range statuses {
					s = append(s, fmt.Sprintf("%d×%d", n, code))
				}
				sort.Strings(s)
				t.Logf("non-201 answers before the kill: %s", strings.Join(s, ", "))
				for code := range statuses {
					if code < 500 {
						t.Errorf("registration answered %d: the test's requests are wrong", code)
					}
				}
			}
			if len(ids) < 50 {
				t.Fatalf("only %d registrations acknowledged before the kill: too few to test anything", len(ids))
			}

			// Restart on the same database and look every acknowledged
			// client up.
			second := startNode(t, db, masterKey, issuer)
			// Runs before second's cleanup stops it: http.Server.Shutdown
			// waits up to 5 s for a connection the transport opened but
			// never sent a request on.
			t.Cleanup(killClient.CloseIdleConnections)
			killReady(t, second)
			reader := killToken(t, second.URL, "clients:read")
			var (
				found   atomic.Int64
				missing = make(chan string, len(ids))
				work    = make(chan ack)
				vwg     sync.WaitGroup
			)
			for range workers {
				vwg.Go(func() {
					for a := range work {
						// Retry transport errors and 5xx (a loaded machine
						// under -race): only a definite answer counts.
						var (
							status int
							b      []byte
							err    error
						)
						for try := 0; try < 5; try++ {
							status, b, err = killDo("GET", second.URL+"/v1/admin/oauth-clients/"+a.id, "", reader)
							if err == nil && status < 500 {
								break
							}
							time.Sleep(100 * time.Millisecond)
						}
						var r struct {
							Client struct {
								ClientID string `json:"client_id"`
							} `json:"client"`
						}
						switch {
						case err != nil:
							missing <- fmt.Sprintf("%s (%s): could not look it up: %v", a.clientID, a.id, err)
						case status != http.StatusOK:
							missing <- fmt.Sprintf("%s (%s): status %d %s", a.clientID, a.id, status, b)
						case json.Unmarshal(b, &r) != nil || r.Client.ClientID != a.clientID:
							missing <- fmt.Sprintf("%s (%s): got client_id %q", a.clientID, a.id, r.Client.ClientID)
						default:
							found.Add(1)
						}
					}
				})
			}
			for _, a := range ids {
				work <- a
			}
			close(work)
			vwg.Wait()
			close(missing)
			lost := 0
			for m := range missing {
				if lost < 10 {
					t.Errorf("acknowledged registration lost: %s", m)
				}
				lost++
			}
			t.Logf("%s: %d registrations attempted, %d acknowledged, %d found after kill -9 and restart, %d lost; %d transport errors",
				tc.name, min(sent.Load(), maxWrite), len(ids), found.Load(), lost, failures.Load())
		})
	}
}
