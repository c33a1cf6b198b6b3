// Package clientgone tells a client that went away from a server error.
// When a caller closes its connection mid-request, the request context is
// canceled and whatever the handler was waiting on (usually the store)
// fails with context.Canceled. That is not the server's fault: handlers log
// it at debug through LogError instead of at error, and the request log
// and metrics count it as 499 (nginx's "client closed request").
package clientgone

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
)

// Status is the status the request log and metrics record for a request
// whose client went away before it was answered.
const Status = 499

// Canceled reports whether err comes from r's own context having been
// canceled, that is from the client going away.
func Canceled(r *http.Request, err error) bool {
	return errors.Is(err, context.Canceled) && r.Context().Err() != nil
}

// LogError logs a handler's failure with err: at error level, or, when the
// client went away (Canceled), at debug level, marking r so that the
// request log and metrics record Status. It reports whether the client
// went away.
func LogError(log *slog.Logger, r *http.Request, msg string, err error, args ...any) bool {
	args = append(args, "err", err)
	if Canceled(r, err) {
		if m, ok := r.Context().Value(markKey{}).(*atomic.Bool); ok {
			m.Store(true)
		}
		if log != nil {
			log.DebugContext(r.Context(), msg+" (client went away)", args...)
		}
		return true
	}
	if log != nil {
		log.ErrorContext(r.Context(), msg, args...)
	}
	return false
}

type markKey struct{}

// Track returns r with a context LogError can mark, and a function that
// reports whether LogError found the client gone; the request logger
// calls it after the handler returns.
func Track(r *http.Request) (*http.Request, func() bool) {
	m := new(atomic.Bool)
	r = r.WithContext(context.WithValue(r.Context(), markKey{}, m))
	return r, func() bool { return m.Load() }
}
