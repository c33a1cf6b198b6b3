package server

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkRequestLog is the per-request cost of logRequests (request
// log, metrics, client-gone tracking) around a handler that does nothing,
// for a logged request and for a token-endpoint success that sampling
// leaves out of the log.
func BenchmarkRequestLog(b *testing.B) {
	for _, path := range []string{"/healthz", "/oauth2/token"} {
		b.Run(strings.TrimPrefix(path, "/"), func(b *testing.B) {
			mux := http.NewServeMux()
			mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
			h := logRequests(slog.New(slog.NewJSONHandler(io.Discard, nil)), newMetrics(), mux, 100)
			req := httptest.NewRequest(http.MethodPost, path, nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, req)
			}
		})
	}
}
