package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/server"
	"github.com/latchkey/latchkey/internal/server/servertest"
)

// The request log gives the duration in milliseconds, with the unit in
// the key, so nobody reads nanoseconds as milliseconds (issue 12 #7).
func TestRequestLogLine(t *testing.T) {
	e := newEnv(t)
	e.Do("GET", "/healthz", "", "", "")
	var line map[string]any
	for _, l := range strings.Split(e.Logs.String(), "\n") {
		if strings.Contains(l, `"msg":"request"`) {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	for key, want := range map[string]any{"method": "GET", "path": "/healthz", "status": 200.0} {
		if line[key] != want {
			t.Errorf("%s = %v, want %v (line %v)", key, line[key], want, line)
		}
	}
	ms, ok := line["duration_ms"].(float64)
	if !ok || ms < 0 || ms > 60_000 {
		t.Errorf("duration_ms = %v, want milliseconds as a number (line %v)", line["duration_ms"], line)
	}
	if _, ok := line["duration"]; ok {
		t.Errorf("the unitless duration is still logged: %v", line)
	}
}

// With --access-log-sample N, one in N successful token requests is
// logged (marked "sample": N), while every failed token request and every
// other request is logged.
func TestRequestLogSamplesTokenSuccesses(t *testing.T) {
	e := servertest.New(t, func(o *server.Options) { o.AccessLogSample = 5 })
	c, secret := e.ServiceClient("sampled", "api:read")
	auth := "Authorization: " + servertest.BasicAuth(c.ClientID, secret.Expose())
	form := "application/x-www-form-urlencoded"
	for range 10 {
		if r := e.Do("POST", "/oauth2/token", form, "", "grant_type=client_credentials", auth); r.Status != 200 {
			t.Fatalf("token: %d %s", r.Status, r)
		}
	}
	for range 3 {
		e.Do("POST", "/oauth2/token", form, "", "grant_type=client_credentials", "Authorization: "+servertest.BasicAuth(c.ClientID, "wrong"))
	}
	e.Do("GET", "/healthz", "", "", "")
	var ok, failed, other int
	for _, l := range strings.Split(e.Logs.String(), "\n") {
		if !strings.Contains(l, `"msg":"request"`) {
			continue
		}
		var line map[string]any
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatal(err)
		}
		switch {
		case line["path"] == "/oauth2/token" && line["status"] == 200.0:
			ok++
			if line["sample"] != 5.0 {
				t.Errorf("a sampled line does not say so: %v", line)
			}
		case line["path"] == "/oauth2/token":
			failed++
			if _, ok := line["sample"]; ok {
				t.Errorf("a failure is marked sampled: %v", line)
			}
		default:
			other++
		}
	}
	if ok != 2 || failed != 3 || other != 1 {
		t.Errorf("logged %d of 10 successes (want 2), %d of 3 failures, %d of 1 other request", ok, failed, other)
	}
}
