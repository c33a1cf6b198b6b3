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
// reports whether LogError found the client gone. The request logger uses
// a Tracker instead, which allocates nothing of its own.
func Track(r *http.Request) (*http.Request, func() bool) {
	t := new(Tracker)
	return t.Track(r), t.Gone
}

// Tracker is what Track sets up, as a value a per-request record can
// embed: the mark and the context carrying it. A Tracker tracks one
// request and must not be copied after Track.
type Tracker struct {
	ctx  markCtx
	gone atomic.Bool
}

// markCtx is context.WithValue(parent, markKey{}, mark) without its
// allocation. Every other key, cancellation included, is the parent's.
type markCtx struct {
	context.Context
	mark *atomic.Bool
}

func (c *markCtx) Value(key any) any {
	if key == (markKey{}) {
		return c.mark
	}
	return c.Context.Value(key)
}

// Track returns r with a context LogError can mark.
func (t *Tracker) Track(r *http.Request) *http.Request {
	t.ctx = markCtx{Context: r.Context(), mark: &t.gone}
	return r.WithContext(&t.ctx)
}

// Gone reports whether LogError found the client gone.
func (t *Tracker) Gone() bool { return t.gone.Load() }
