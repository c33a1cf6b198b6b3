package server_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	e.Do("GET", "/healthz", "", "", "")
	e.Do("POST", "/oauth2/token", "application/x-www-form-urlencoded", "", "grant_type=client_credentials&client_id=x&client_secret=y")
	e.Do("GET", "/no/such/path/"+strings.Repeat("x", 10), "", "", "")
	e.Do("GET", "/v1/admin/oauth-clients/some-id", "", "", "")
	for i := range 3 {
		e.Do("XMETHOD"+strings.Repeat("Z", i), "/anything", "", "", "")
	}
	// /metrics is not on the main listener; App.Metrics serves it on its
	// own (latchkey serve --metrics-addr).
	e.mustStatus(e.Do("GET", "/metrics", "", "", ""), http.StatusNotFound)
	rec := httptest.NewRecorder()
	e.App.Metrics.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("metrics handler: %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`latchkey_http_requests_total{code="200",method="GET",route="GET /healthz"} 1`,
		`latchkey_http_requests_total{code="401",method="POST",route="POST /oauth2/token"} 1`,
		`latchkey_http_requests_total{code="404",method="GET",route="unmatched"} 2`, // with the GET /metrics above
		// Path parameters do not become label values.
		`latchkey_http_requests_total{code="401",method="GET",route="GET /v1/admin/oauth-clients/{id}"} 1`,
		`latchkey_http_request_duration_seconds_bucket{method="GET",route="GET /healthz",le="+Inf"} 1`,
		// Made-up methods share one label value.
		`latchkey_http_requests_total{code="404",method="other",route="unmatched"} 3`,
		"go_goroutines", "process_resident_memory_bytes",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "some-id") || strings.Contains(body, "/no/such") || strings.Contains(body, "XMETHOD") {
		t.Error("request paths leaked into label values")
	}
}
