package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// /metrics is served on --metrics-addr only, never on the main listener.
func TestMetricsListener(t *testing.T) {
	ts := startServer(t, nil)
	for _, tc := range []struct {
		name, base string
		want       int
	}{
		{"main listener", ts.URL, http.StatusNotFound},
		{"metrics listener", ts.MetricsURL, http.StatusOK},
	} {
		r := ts.getURL(t, tc.base+"/metrics")
		if r.Status != tc.want {
			t.Errorf("%s: GET /metrics = %d, want %d", tc.name, r.Status, tc.want)
		}
		if tc.want == http.StatusOK && !strings.Contains(string(r.Body), `latchkey_http_requests_total{code="200",method="GET",route="GET /healthz"}`) {
			t.Errorf("%s: main-listener requests not counted:\n%.500s", tc.name, r.Body)
		}
	}
}

func (ts *testServer) getURL(t *testing.T, url string) response {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}
