package server_test

import (
	"encoding/json"
	"strings"
	"testing"
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
