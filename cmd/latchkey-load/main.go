// Command latchkey-load drives a running Latchkey server (or several nodes
// of one) and reports requests/s and latency percentiles. It is bounded
// in time and in request count, and talks only to the URLs it is given.
//
//	latchkey-load -targets http://127.0.0.1:8080 -client-id ID -client-secret S -scenario token
//
// The refresh scenario measures refresh-token rotation: its setup (not
// timed) creates a user and a password+refresh_token client through the
// admin API and gives every worker its own refresh token; each worker then
// rotates its own chain (see refresh.go).
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "latchkey-load:", err)
		os.Exit(1)
	}
}

// Result is one scenario's outcome.
type Result struct {
	Scenario    string        `json:"scenario"`
	Targets     int           `json:"targets"`
	Concurrency int           `json:"concurrency"`
	Requests    int64         `json:"requests"`
	Errors      int64         `json:"errors"`
	Duration    time.Duration `json:"duration_ns"`
	RPS         float64       `json:"requests_per_second"`
	P50         time.Duration `json:"p50_ns"`
	P90         time.Duration `json:"p90_ns"`
	P99         time.Duration `json:"p99_ns"`
	Max         time.Duration `json:"max_ns"`
	FirstError  string        `json:"first_error,omitempty"`
}

func (r Result) String() string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }
	return fmt.Sprintf("%-9s targets=%d conc=%d requests=%d errors=%d rps=%.0f p50=%s p90=%s p99=%s max=%s",
		r.Scenario, r.Targets, r.Concurrency, r.Requests, r.Errors, r.RPS, ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("latchkey-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	targets := fs.String("targets", "http://127.0.0.1:8080", "comma-separated base URLs; requests go round-robin")
	id := fs.String("client-id", "", "admin client id (needs clients:create for -scenario register, clients:create and users:create for refresh)")
	secret := fs.String("client-secret", "", "admin client secret")
	scenario := fs.String("scenario", "token", "token (client_credentials tokens), register (POST /v1/admin/oauth-clients), introspect or refresh (refresh_token grants, one rotating chain per worker)")
	duration := fs.Duration("duration", 10*time.Second, "how long to send (at most 5m)")
	conc := fs.Int("concurrency", 16, "concurrent workers")
	maxReq := fs.Int64("max-requests", 1_000_000, "stop after this many requests")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	refreshScope := fs.String("refresh-scope", "api:public", "scope of the refresh scenario's client and grants (not openid: no offline_access needed)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *id == "" || *secret == "" {
		return errors.New("-client-id and -client-secret are required")
	}
	if *duration <= 0 || *duration > 5*time.Minute || *conc < 1 || *conc > 1024 || *maxReq < 1 {
		return errors.New("-duration must be in (0, 5m], -concurrency in [1, 1024], -max-requests ≥ 1")
	}
	var bases []string
	for _, t := range strings.Split(*targets, ",") {
		u, err := url.Parse(strings.TrimSpace(t))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("bad target %q", t)
		}
		bases = append(bases, strings.TrimSuffix(u.String(), "/"))
	}
	tr := &http.Transport{MaxIdleConns: *conc * 2, MaxIdleConnsPerHost: *conc * 2, IdleConnTimeout: time.Minute}
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	l := &loader{hc: hc, bases: bases, id: *id, secret: *secret, refreshScope: *refreshScope}
	op, err := l.scenario(ctx, *scenario, *conc)
	if err != nil {
		return err
	}
	res := l.drive(ctx, op, *conc, *duration, *maxReq)
	res.Scenario, res.Targets = *scenario, len(bases)
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintln(stdout, res)
	return nil
}

type loader struct {
	hc           *http.Client
	bases        []string
	id           string
	secret       string
	refreshScope string
	next         atomic.Uint64
}

func (l *loader) base() string { return l.bases[l.next.Add(1)%uint64(len(l.bases))] }

// op performs one request for worker (0 ≤ worker < concurrency) and
// reports an error for anything but success.
type op func(ctx context.Context, worker int) error

// scenario prepares the named scenario for conc workers; its setup is not
// part of the timed run.
func (l *loader) scenario(ctx context.Context, name string, conc int) (op, error) {
	switch name {
	case "token":
		return func(ctx context.Context, _ int) error { _, err := l.token(ctx, l.base(), ""); return err }, nil
	case "register":
		tok, err := l.token(ctx, l.bases[0], "clients:create")
		if err != nil {
			return nil, fmt.Errorf("admin token: %w", err)
		}
		var n atomic.Int64
		return func(ctx context.Context, _ int) error {
			body := fmt.Sprintf(`{"client_name":"load %d","redirect_uris":["https://load.example/cb"],"allowed_scopes":["api:read"]}`, n.Add(1))
			return l.expect(ctx, "POST", l.base()+"/v1/admin/oauth-clients", "application/json", body, "Bearer "+tok, http.StatusCreated)
		}, nil
	case "introspect":
		tok, err := l.token(ctx, l.bases[0], "")
		if err != nil {
			return nil, err
		}
		form := url.Values{"token": {tok}, "client_id": {l.id}, "client_secret": {l.secret}}.Encode()
		return func(ctx context.Context, _ int) error {
			return l.expect(ctx, "POST", l.base()+"/oauth2/introspect", "application/x-www-form-urlencoded", form, "", http.StatusOK)
		}, nil
	case "refresh":
		rf, err := l.newRefresher(ctx, conc)
		if err != nil {
			return nil, err
		}
		return rf.rotate, nil
	}
	return nil, fmt.Errorf("unknown scenario %q", name)
}

func (l *loader) token(ctx context.Context, base, scope string) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	tr, err := l.grant(ctx, base, l.id, l.secret, form)
	return tr.AccessToken, err
}

// tokenResponse is the part of a token endpoint answer the scenarios use.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// grant posts form to base's token endpoint as client id (HTTP Basic)
// and wants a 200 with an access token.
func (l *loader) grant(ctx context.Context, base, id, secret string, form url.Values) (tokenResponse, error) {
	var tr tokenResponse
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
	err := l.call(ctx, "POST", base+"/oauth2/token", "application/x-www-form-urlencoded", form.Encode(), basic, http.StatusOK, &tr)
	if err == nil && tr.AccessToken == "" {
		err = errors.New("token: no access_token in the response")
	}
	if err != nil {
		return tr, fmt.Errorf("token (%s): %w", form.Get("grant_type"), err)
	}
	return tr, nil
}

func (l *loader) expect(ctx context.Context, method, u, ct, body, authz string, status int) error {
	return l.call(ctx, method, u, ct, body, authz, status, nil)
}

// call sends one request and wants status; with out non-nil the JSON
// answer is decoded into it.
func (l *loader) call(ctx context.Context, method, u, ct, body, authz string, status int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", ct)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := l.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, u, err)
	}
	if resp.StatusCode != status {
		return fmt.Errorf("%s %s: %d %s", method, u, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: bad response: %w", method, u, err)
		}
	}
	return nil
}

// drive runs op from conc workers until the duration or request budget is
// spent, recording every latency.
func (l *loader) drive(ctx context.Context, o op, conc int, d time.Duration, maxReq int64) Result {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		sent, errs atomic.Int64
		mu         sync.Mutex
		lat        []time.Duration
		firstErr   string
		wg         sync.WaitGroup
	)
	start := time.Now()
	for w := range conc {
		wg.Go(func() {
			local := make([]time.Duration, 0, 4096)
			for ctx.Err() == nil && sent.Add(1) <= maxReq {
				t0 := time.Now()
				err := o(ctx, w)
				if ctx.Err() != nil {
					break // cut off by the deadline: not a server error
				}
				local = append(local, time.Since(t0))
				if err != nil {
					if errs.Add(1) == 1 {
						mu.Lock()
						firstErr = err.Error()
						mu.Unlock()
					}
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	r := Result{Concurrency: conc, Requests: int64(len(lat)), Errors: errs.Load(), Duration: elapsed, FirstError: firstErr,
		P50: pct(0.50), P90: pct(0.90), P99: pct(0.99)}
	if len(lat) > 0 {
		r.Max = lat[len(lat)-1]
		r.RPS = float64(len(lat)) / elapsed.Seconds()
	}
	return r
}
