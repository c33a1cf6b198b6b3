// Package idempotent is the HTTP side of the Idempotency-Key request
// header (IETF httpapi draft "The Idempotency-Key HTTP Header Field"): one
// middleware that every creating or rotating admin route uses. The rules
// live in internal/idempotency; this package reads the header and the
// body, names the caller, replays or records the response, and renders
// refusals in the route's own error shape. A request without the header
// goes to the route untouched.
package idempotent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/latchkey/latchkey/internal/api/bearer"
	"github.com/latchkey/latchkey/internal/api/jsonbody"
	"github.com/latchkey/latchkey/internal/api/sourceaddr"
	"github.com/latchkey/latchkey/internal/api/storeerr"
	"github.com/latchkey/latchkey/internal/idempotency"
)

// Header is the request header's name.
const Header = "Idempotency-Key"

// Error codes handed to ErrorWriter.
const (
	CodeInvalidKey = "invalid_request"        // 400: the header is malformed
	CodeConflict   = "conflict"               // 409: in flight, or replay window over
	CodeMismatch   = "idempotency_key_reused" // 422: the key was used for another request
	CodeServer     = "server_error"           // 500
)

// replayedHeaders are the response headers kept with the body and
// replayed with it.
var replayedHeaders = []string{"Content-Type", "Cache-Control", "Pragma", "Location", "ETag"}

// resourceMembers are the body members that name what a request created;
// none holds a secret.
var resourceMembers = []string{"id", "client_id", "clientId", "username"}

// Caller names who sent r: the scope of its keys. ok false means the route
// will refuse r anyway (no or a bad token), so r goes to it untouched.
type Caller func(r *http.Request) (scope string, ok bool)

// ErrorWriter renders a refusal in the route's dialect.
type ErrorWriter func(w http.ResponseWriter, status int, code, message string)

// Middleware applies Idempotency-Key to routes. A nil *Middleware passes
// every request through.
type Middleware struct {
	svc     *idempotency.Service
	auth    *bearer.Authenticator
	sources *sourceaddr.Resolver
	log     *slog.Logger
}

// New returns a Middleware over svc; auth identifies bearer callers and
// sources anonymous ones.
func New(svc *idempotency.Service, auth *bearer.Authenticator, sources *sourceaddr.Resolver, log *slog.Logger) *Middleware {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Middleware{svc: svc, auth: auth, sources: sources, log: log}
}

// Bearer names the caller by its access token's client and subject, when
// the token is valid and holds scope.
func (m *Middleware) Bearer(scope string) Caller {
	return func(r *http.Request) (string, bool) {
		p, ok := m.auth.Identify(r, scope)
		if !ok {
			return "", false
		}
		// Quoted, so that no client_id and subject pair reads as another.
		return fmt.Sprintf("bearer %q %q", p.ClientID, p.Subject), true
	}
}

// Source names an anonymous caller (open registration) by its address.
func (m *Middleware) Source() Caller {
	return func(r *http.Request) (string, bool) { return "source " + m.sources.Source(r), true }
}

// Wrap applies Idempotency-Key to next.
func (m *Middleware) Wrap(next http.HandlerFunc, caller Caller, errs ErrorWriter) http.HandlerFunc {
	if m == nil {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		values, present := r.Header[http.CanonicalHeaderKey(Header)]
		if !present {
			next(w, r)
			return
		}
		scope, ok := caller(r)
		if !ok {
			next(w, r)
			return
		}
		key, msg := parseKey(values)
		if msg != "" {
			errs(w, http.StatusBadRequest, CodeInvalidKey, msg)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, jsonbody.MaxBytes+1))
		if err != nil || len(body) > jsonbody.MaxBytes {
			// Let the route answer as it does to a body it cannot read
			// or that is too large: nothing is created.
			r.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
			next(w, r)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		req := idempotency.Request{Scope: scope, Key: key, Fingerprint: idempotency.Fingerprint(r.Method, r.URL.EscapedPath(), body)}
		claim, replay, err := m.svc.Begin(r.Context(), req)
		var expired *idempotency.ReplayExpiredError
		switch {
		case errors.Is(err, idempotency.ErrInvalidKey):
			errs(w, http.StatusBadRequest, CodeInvalidKey, "the Idempotency-Key header must be 1 to 255 printable ASCII characters")
		case errors.Is(err, idempotency.ErrMismatch):
			errs(w, http.StatusUnprocessableEntity, CodeMismatch, "this Idempotency-Key was already used for a different request (method, path or body); use a new key for a new request")
		case errors.Is(err, idempotency.ErrInFlight):
			errs(w, http.StatusConflict, CodeConflict, "a request with this Idempotency-Key is still being processed; retry later")
		case errors.As(err, &expired):
			errs(w, http.StatusConflict, CodeConflict, "the request with this Idempotency-Key already succeeded and created "+expired.Resource+
				"; its response, which held a one-time secret, is no longer kept")
		case err != nil:
			if msg, ok := storeerr.Message(err); ok {
				m.log.WarnContext(r.Context(), "idempotency key: store unavailable", "path", r.URL.Path, "err", err)
				storeerr.SetRetryAfter(w)
				errs(w, storeerr.Status, storeerr.Code, msg)
				return
			}
			m.log.ErrorContext(r.Context(), "idempotency key", "path", r.URL.Path, "err", err)
			errs(w, http.StatusInternalServerError, CodeServer, "internal error; nothing was changed")
		case replay != nil:
			writeReplay(w, replay)
		default:
			m.serve(w, r, next, claim)
		}
	}
}

// serve runs the route under a won claim and records a 2xx answer; any
// other answer changed nothing, so the key is released for a retry.
func (m *Middleware) serve(w http.ResponseWriter, r *http.Request, next http.HandlerFunc, claim *idempotency.Claim) {
	rec := &recorder{ResponseWriter: w}
	ctx := context.WithoutCancel(r.Context())
	done := false
	defer func() {
		if !done { // the route panicked
			if err := claim.Release(ctx); err != nil {
				m.log.ErrorContext(ctx, "release idempotency key", "path", r.URL.Path, "err", err)
			}
		}
	}()
	next(rec, r)
	done = true
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	// An unknown outcome (the commit's answer was lost) is recorded like a
	// success: every retry with this key gets the same 503 instead of
	// acting a second time on a change that may have been applied.
	unknown := status == storeerr.Status && bytes.Contains(rec.body.Bytes(), []byte(storeerr.OutcomeUnknownMarker))
	if (status < 200 || status > 299) && !unknown {
		if err := claim.Release(ctx); err != nil {
			m.log.ErrorContext(ctx, "release idempotency key", "path", r.URL.Path, "err", err)
		}
		return
	}
	resp := idempotency.Response{Status: status, Header: map[string][]string{}, Body: rec.body.Bytes()}
	for _, h := range replayedHeaders {
		if v := w.Header().Values(h); len(v) > 0 {
			resp.Header[http.CanonicalHeaderKey(h)] = slices.Clone(v)
		}
	}
	if err := claim.Complete(ctx, resp, resource(resp.Body)); err != nil {
		// The change is made and answered; only a retry's replay is lost.
		m.log.ErrorContext(ctx, "record idempotent response", "path", r.URL.Path, "err", err)
	}
}

func writeReplay(w http.ResponseWriter, resp *idempotency.Response) {
	for h, vs := range resp.Header {
		w.Header().Del(h)
		for _, v := range vs {
			w.Header().Add(h, v)
		}
	}
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}

// parseKey reads the header: one field line holding an RFC 8941 string
// ("...") as the draft says, or, as many clients send, the bare key.
func parseKey(values []string) (string, string) {
	if len(values) != 1 {
		return "", "send exactly one Idempotency-Key header"
	}
	v := strings.Trim(values[0], " \t")
	if strings.HasPrefix(v, `"`) {
		var b strings.Builder
		for i := 1; i < len(v); i++ {
			c := v[i]
			switch {
			case c == '\\' && i+1 < len(v) && (v[i+1] == '"' || v[i+1] == '\\'):
				b.WriteByte(v[i+1])
				i++
			case c == '"' && i == len(v)-1:
				return checkKey(b.String())
			case c == '"' || c == '\\':
				return "", "the Idempotency-Key header is not a valid structured-field string"
			default:
				b.WriteByte(c)
			}
		}
		return "", "the Idempotency-Key header is not a valid structured-field string"
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= 0x20 || v[i] >= 0x7f {
			return "", "the Idempotency-Key header must be 1 to 255 visible ASCII characters"
		}
	}
	return checkKey(v)
}

func checkKey(k string) (string, string) {
	if err := idempotency.ValidateKey(k); err != nil {
		return "", "the Idempotency-Key header must be 1 to 255 printable ASCII characters"
	}
	return k, ""
}

// resource names what a 2xx body created by its identifying members, at
// its top level or in a nested object (seed 001's "client", "user"), e.g.
// "client_id=abc, id=123" (no quotes: RFC 6749 error descriptions cannot
// hold them). It never copies a secret.
func resource(body []byte) string {
	var top map[string]any
	if json.Unmarshal(body, &top) != nil {
		return "a resource"
	}
	var parts []string
	collect := func(m map[string]any) {
		for _, k := range resourceMembers {
			if s, ok := m[k].(string); ok && s != "" {
				parts = append(parts, k+"="+s)
			}
		}
	}
	collect(top)
	names := make([]string, 0, len(top))
	for k := range top {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if m, ok := top[k].(map[string]any); ok {
			collect(m)
		}
	}
	if len(parts) == 0 {
		return "a resource"
	}
	return strings.Join(parts, ", ")
}

// recorder passes the answer through and keeps a copy of its status and
// body.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}
