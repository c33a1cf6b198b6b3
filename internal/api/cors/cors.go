// Package cors is cross-origin access for browser apps (SPEC §7), kept in
// one place: routes.go wraps the token, revocation and userinfo endpoints
// with Policy.Wrap, answers their preflights with Policy.Preflight, and
// gives discovery and the JWKS AnyOrigin. Nothing else answers CORS: the
// authorization endpoint and the pages (web.Chain) never do, nor does
// introspection.
//
// An actual request's Origin is allowed when it is in the calling client's
// allowed_origins. The handler names the calling client with Identify as
// soon as it knows it (the client_id of the presented credentials, or the
// access token's client), whether or not the request then succeeds, so an
// error gets the same headers as a success. A request that never named a
// client (a malformed body, a missing or invalid bearer token) is judged
// as a preflight is: allowed when some enabled client lists the origin.
package cors

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/client"
)

// Clients is what the policy needs of the client core.
type Clients interface {
	// Lookup returns the client with this client_id (possibly cached).
	Lookup(ctx context.Context, clientID string) (client.Client, error)
	// OriginAllowed reports whether some enabled client lists origin
	// (the origin index, cached within the client-cache bound).
	OriginAllowed(ctx context.Context, origin string) (bool, error)
}

// MaxAge is how long a browser may cache a preflight answer. It only
// spares preflights: every actual response is checked against its
// client, so a removed origin loses access at once.
const MaxAge = 10 * time.Minute

// AllowHeaders are the request headers a preflight allows: credentials,
// the form's content type, and DPoP proofs (RFC 9449).
const AllowHeaders = "Authorization, Content-Type, DPoP"

// ExposeHeaders are the response headers a browser app may read beside the
// CORS-safelisted ones: the challenge of a 401 and the wait of a 429.
const ExposeHeaders = "WWW-Authenticate, Retry-After, DPoP-Nonce"

// Policy answers CORS for the endpoints it wraps.
type Policy struct {
	clients Clients
	log     *slog.Logger
}

// New returns a Policy over clients; log records lookup failures.
func New(clients Clients, log *slog.Logger) *Policy {
	return &Policy{clients: clients, log: log}
}

type callerKey struct{}

// caller is the per-request slot Identify fills.
type caller struct {
	clientID   string
	identified bool
}

// Identify tells the policy which client made the request in ctx, once
// the handler knows it; clientID may name no client (then no origin is
// allowed). Outside a wrapped endpoint, or without an Origin header, it
// does nothing.
func Identify(ctx context.Context, clientID string) {
	if c, ok := ctx.Value(callerKey{}).(*caller); ok {
		c.clientID, c.identified = clientID, true
	}
}

// Wrap adds CORS to an actual (non-preflight) request at a browser-facing
// endpoint: when the request has an Origin, the response (success or
// error) gets Access-Control-Allow-Origin with that origin and Vary: Origin
// if the origin is allowed (see the package comment), and no CORS headers
// otherwise. Requests without an Origin pass straight through. A nil
// Policy allows no origin.
func (p *Policy) Wrap(next http.HandlerFunc) http.HandlerFunc {
	if p == nil {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next(w, r)
			return
		}
		c := &caller{}
		r = r.WithContext(context.WithValue(r.Context(), callerKey{}, c))
		cw := &writer{ResponseWriter: w, decide: func() {
			if len(r.Header.Values("Origin")) == 1 && p.allowed(r.Context(), origin, c) {
				h := w.Header()
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Expose-Headers", ExposeHeaders)
				h.Add("Vary", "Origin")
			}
		}}
		next(cw, r)
		// A handler that wrote nothing is answered an implicit 200 after
		// it returns: decide for that answer too.
		cw.once()
	}
}

func (p *Policy) allowed(ctx context.Context, origin string, c *caller) bool {
	if !c.identified {
		return p.anyClient(ctx, origin)
	}
	if !client.ValidID(c.clientID) {
		return false
	}
	cl, err := p.clients.Lookup(ctx, c.clientID)
	if err != nil {
		if !errors.Is(err, client.ErrNotFound) {
			p.log.WarnContext(ctx, "cors: client lookup failed", "err", err)
		}
		return false
	}
	return cl.AllowsOrigin(origin)
}

func (p *Policy) anyClient(ctx context.Context, origin string) bool {
	ok, err := p.clients.OriginAllowed(ctx, origin)
	if err != nil {
		p.log.WarnContext(ctx, "cors: origin index failed", "err", err)
		return false
	}
	return ok
}

// Preflight answers OPTIONS at an endpoint that takes methods (e.g.
// "POST" or "GET, POST"): 204, with Access-Control-Allow-Origin and the
// allowed methods, headers and max age when the Origin belongs to some
// enabled client, and without any CORS header otherwise. The preflight
// names no client, so the actual request is checked again against its own.
func (p *Policy) Preflight(methods string) http.HandlerFunc {
	maxAge := strconv.Itoa(int(MaxAge / time.Second))
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Allow", "OPTIONS, "+methods)
		h.Set("Cache-Control", "no-store")
		origins := r.Header.Values("Origin")
		if p != nil && len(origins) == 1 && r.Header.Get("Access-Control-Request-Method") != "" && p.anyClient(r.Context(), origins[0]) {
			h.Set("Access-Control-Allow-Origin", origins[0])
			h.Set("Access-Control-Allow-Methods", methods)
			h.Set("Access-Control-Allow-Headers", AllowHeaders)
			h.Set("Access-Control-Max-Age", maxAge)
			h.Add("Vary", "Origin")
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// AnyOrigin lets every origin read the response (discovery, JWKS: public
// documents).
func AnyOrigin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		next(w, r)
	}
}

// writer decides the CORS headers once, just before the response's
// header goes out, when the handler has identified the client.
type writer struct {
	http.ResponseWriter
	decide  func()
	decided bool
}

func (w *writer) once() {
	if !w.decided {
		w.decided = true
		w.decide()
	}
}

func (w *writer) WriteHeader(code int) {
	w.once()
	w.ResponseWriter.WriteHeader(code)
}

func (w *writer) Write(b []byte) (int, error) {
	w.once()
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
