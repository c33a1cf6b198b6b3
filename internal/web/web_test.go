package web

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func serve(t *testing.T, h http.Handler) (*httptest.ResponseRecorder, string) {
	t.Helper()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	rec := httptest.NewRecorder()
	Chain(log, h).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/page", nil))
	return rec, logs.String()
}

func TestChainSetsBrowserHeaders(t *testing.T) {
	rec, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	want := map[string]string{
		"X-Frame-Options":        "DENY",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
	}
	for k, v := range want {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	csp := rec.Header().Get("Content-Security-Policy")
	for _, d := range []string{"frame-ancestors 'none'", "default-src 'none'", "form-action 'self'", "base-uri 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("CSP %q lacks %q", csp, d)
		}
	}
	if rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Error("a browser route answered CORS")
	}
}

func TestHandleRendersPageErrorsEscaped(t *testing.T) {
	h := Handle(slog.New(slog.DiscardHandler), func(w http.ResponseWriter, r *http.Request) error {
		return &Error{Status: http.StatusBadRequest, Title: "Unknown application", Message: `<script>alert("x")</script>`, Cause: errors.New("secret cause")}
	})
	rec, _ := serve(t, h)
	body := rec.Body.String()
	switch {
	case rec.Code != http.StatusBadRequest:
		t.Errorf("status %d, want 400", rec.Code)
	case !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html"):
		t.Errorf("Content-Type %q", rec.Header().Get("Content-Type"))
	case strings.Contains(body, "<script>"):
		t.Errorf("message not escaped: %s", body)
	case !strings.Contains(body, "&lt;script&gt;") || !strings.Contains(body, "Unknown application"):
		t.Errorf("page lacks the escaped message or title: %s", body)
	case strings.Contains(body, "secret cause"):
		t.Errorf("cause shown to the person: %s", body)
	}
}

func TestHandleHidesUnexpectedErrors(t *testing.T) {
	var logs bytes.Buffer
	h := Handle(slog.New(slog.NewTextHandler(&logs, nil)), func(w http.ResponseWriter, r *http.Request) error {
		return errors.New("database on fire")
	})
	rec := httptest.NewRecorder()
	Chain(slog.New(slog.DiscardHandler), h).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "database on fire") {
		t.Errorf("status %d body %q: want a generic 500 page", rec.Code, rec.Body.String())
	}
	if !strings.Contains(logs.String(), "database on fire") {
		t.Errorf("cause not logged: %s", logs.String())
	}
}

func TestRecoverRendersPanicAsPage(t *testing.T) {
	rec, logs := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") }))
	if rec.Code != http.StatusInternalServerError || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Errorf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if !strings.Contains(logs, "boom") {
		t.Errorf("panic not logged: %s", logs)
	}
}
