// Package web is the home of Latchkey's browser routes: the pages people
// see (authorization, login, consent, logout, device and console pages as
// they arrive). It owns what only browsers need: HTML rendered from
// embedded templates, a strict Content-Security-Policy, no framing, no
// caching, and errors shown as pages rather than JSON; the session cookie
// (cookie.go) and CSRF tokens bound to the session (csrf.go). The first
// pages are the authorization endpoint's login and consent pages
// (authorize.go). API routes never pass through this package.
//
// Handlers return errors; Handle renders them, so a page never writes a
// half-finished response by hand.
package web

import (
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"runtime/debug"
)

//go:embed templates/*.html
var templateFS embed.FS

var templates = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// ContentSecurityPolicy is sent with every page: nothing loads but the
// page's own styles and images over https, forms post only back here, and
// no one may frame it (clickjacking on login and consent pages).
const ContentSecurityPolicy = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src https: data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Headers sets the browser-route headers on every response: CSP, no
// framing, no caching (pages carry per-user state and CSRF tokens), no
// MIME sniffing, no referrer (URLs carry codes and state).
func Headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// Error is what a page handler returns to show the person an error page:
// Title and Message are shown (escaped); Cause is logged, never shown.
type Error struct {
	Status  int
	Title   string
	Message string
	Cause   error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Title + ": " + e.Message + ": " + e.Cause.Error()
	}
	return e.Title + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// HandlerFunc is a page handler: it writes the page, or returns an error
// for Handle to render.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handle adapts h to http.Handler: a *Error becomes its error page, any
// other error is logged and shown as a generic 500 page.
func Handle(log *slog.Logger, h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		var pe *Error
		if !errors.As(err, &pe) {
			log.ErrorContext(r.Context(), "page failed", "path", r.URL.Path, "err", err)
			pe = internalError
		} else if pe.Cause != nil {
			log.InfoContext(r.Context(), "page error", "path", r.URL.Path, "status", pe.Status, "err", pe.Cause)
		}
		RenderError(w, pe)
	})
}

var internalError = &Error{Status: http.StatusInternalServerError, Title: "Something went wrong",
	Message: "The server could not finish this request. Please try again in a moment."}

// RenderError writes e as an HTML error page.
func RenderError(w http.ResponseWriter, e *Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = templates.ExecuteTemplate(w, "error.html", e)
}

// Recover turns a panic in a page into the generic error page.
func Recover(log *slog.Logger, next http.Handler) http.Handler {
	return RecoverWith(log, next, func(w http.ResponseWriter) { RenderError(w, internalError) })
}

// RecoverWith logs a panic in next with its stack and answers with render
// (the API chain renders JSON); http.ErrAbortHandler passes through.
func RecoverWith(log *slog.Logger, next http.Handler, render func(http.ResponseWriter)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "panic", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				render(w)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// Chain is the middleware every browser route runs behind.
func Chain(log *slog.Logger, next http.Handler) http.Handler {
	return Recover(log, Headers(next))
}
