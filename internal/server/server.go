// Package server assembles the HTTP handler: every route in routes.go,
// plus the middleware that wraps them all.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/internal/api/admin"
	"github.com/latchkey/latchkey/internal/api/clientgone"
	"github.com/latchkey/latchkey/internal/api/cors"
	"github.com/latchkey/latchkey/internal/api/flat"
	"github.com/latchkey/latchkey/internal/api/idempotent"
	"github.com/latchkey/latchkey/internal/api/m2m"
	"github.com/latchkey/latchkey/internal/api/oauth"
	"github.com/latchkey/latchkey/internal/api/register"
	"github.com/latchkey/latchkey/internal/web"
)

// Pinger reports whether the store is reachable.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps are the handlers and services the server routes to.
type Deps struct {
	Log   *slog.Logger
	OAuth *oauth.Handler
	Admin *admin.Handler
	Flat  *flat.Handler
	M2M   *m2m.Handler
	Store Pinger
	// Authorize serves the authorization endpoint and its login and
	// consent pages (GET and POST /oauth2/authorize).
	Authorize http.Handler
	// Logout serves RP-initiated logout (GET and POST /oauth2/logout).
	Logout http.Handler
	// UserInfo serves the OpenID Connect UserInfo endpoint (GET and POST
	// /userinfo).
	UserInfo http.Handler
	// Register serves RFC 7591 registration and RFC 7592 management.
	Register *register.Handler
	// Idempotency applies Idempotency-Key to the creating and rotating
	// routes; nil leaves them without it.
	Idempotency *idempotent.Middleware
	// CORS answers browser apps at the token, revocation and userinfo
	// endpoints (and * at discovery and the JWKS).
	CORS *cors.Policy
	// AccessLogSample > 1 logs only one in that many successful token
	// requests (every failure is logged); 0 or 1 logs every request.
	AccessLogSample int
}

// New returns the server's root handler and the Prometheus handler that
// reports on it. Every request is logged and counted; each route then runs
// behind one of two chains (see router). The metrics handler is not among
// the routes: `latchkey serve` serves it on a listener of its own.
func New(d Deps) (root, metrics http.Handler) {
	mux := http.NewServeMux()
	m := newMetrics()
	addRoutes(router{mux: mux, log: d.Log}, d)
	return logRequests(d.Log, m, mux, d.AccessLogSample), m.handler()
}

// router registers routes behind the chain their audience needs.
type router struct {
	mux *http.ServeMux
	log *slog.Logger
}

// api registers a machine-facing route: JSON errors (a panic is a JSON
// 500), no framing, no sniffing. CORS for browser apps goes in this chain.
func (r router) api(pattern string, h http.HandlerFunc) {
	r.mux.Handle(pattern, apiChain(r.log, h))
}

// page registers a browser route: HTML error pages, a strict CSP, no
// framing, no caching, and never CORS (web.Chain). Session cookies and
// CSRF checks are the pages' own (internal/web cookie.go, csrf.go).
func (r router) page(pattern string, h http.Handler) {
	r.mux.Handle(pattern, web.Chain(r.log, h))
}

func apiChain(log *slog.Logger, next http.Handler) http.Handler {
	return recoverer(log, securityHeaders(next))
}

// NewHTTPServer returns an http.Server with timeouts set, so slow or idle
// clients cannot hold connections forever.
func NewHTTPServer(addr string, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// requestRecord is everything logRequests keeps per request, in one
// allocation: the status recorder and the client-gone mark.
type requestRecord struct {
	statusRecorder
	gone clientgone.Tracker
}

// tokenRoutes are the patterns whose successes the access log samples.
var tokenRoutes = map[string]bool{"POST /oauth2/token": true, "POST /openid/token": true}

// logRequests logs one line per request (never headers or bodies, which
// carry secrets and tokens) and records every request in the metrics.
// With sample > 1 only one in sample successful token-endpoint requests
// is logged (those lines carry "sample": sample); every failure, and
// every other request, is logged.
func logRequests(log *slog.Logger, m *metrics, next http.Handler, sample int) http.Handler {
	var tokenOK atomic.Uint64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &requestRecord{statusRecorder: statusRecorder{ResponseWriter: w}}
		r = rec.gone.Track(r)
		next.ServeHTTP(&rec.statusRecorder, r)
		took := time.Since(start)
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		// A handler that failed because the client hung up (it said so
		// through clientgone.LogError) answered no one: 499, not 500.
		if rec.gone.Gone() {
			status = clientgone.Status
		}
		m.observe(r, status, took)
		if sample > 1 && status < http.StatusBadRequest && tokenRoutes[r.Pattern] {
			if tokenOK.Add(1)%uint64(sample) != 1 {
				return
			}
			log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", status), slog.Float64("duration_ms", float64(took)/float64(time.Millisecond)),
				slog.Int("sample", sample))
			return
		}
		log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", status), slog.Float64("duration_ms", float64(took)/float64(time.Millisecond)))
	})
}

// recoverer turns a panic in an API route into a JSON 500.
func recoverer(log *slog.Logger, next http.Handler) http.Handler {
	return web.RecoverWith(log, next, func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error":"server_error","message":"internal error"}` + "\n"))
	})
}
