package postgres

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchkey/latchkey/internal/domain"
)

// Reconnection defaults (Options.ReconnectBackoff, ReconnectBackoffMax,
// ConnectTimeout).
const (
	DefaultReconnectBackoff    = 100 * time.Millisecond
	DefaultReconnectBackoffMax = 2 * time.Second
	DefaultConnectTimeout      = 5 * time.Second
)

// errGateClosed is the dial gate's refusal while it backs off.
var errGateClosed = fmt.Errorf("not reconnecting to postgres yet (backing off after a failed connection): %w", domain.ErrUnavailable)

// classify wraps err with domain.ErrUnavailable when it says the database
// could not be reached (nothing was done), or with domain.ErrOutcomeUnknown
// when committing and the COMMIT was sent but its answer lost. Other
// errors, and nil, come back as they are.
func classify(err error, committing bool) error {
	if err == nil || errors.Is(err, domain.ErrUnavailable) || errors.Is(err, domain.ErrOutcomeUnknown) {
		return err
	}
	var pe *pgconn.PgError
	if committing && !errors.As(err, &pe) && !errors.Is(err, pgx.ErrTxCommitRollback) && !notSent(err) {
		// No answer from the server: it may have committed. pgx's own
		// "safe to retry" is not trusted here: a connection cut right
		// after COMMIT went out comes back as "conn closed", which pgx
		// marks safe to retry.
		return fmt.Errorf("%w: %w", domain.ErrOutcomeUnknown, err)
	}
	if unreachable(err) {
		return fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
	}
	return err
}

// notSent reports whether err is the caller's context ending before pgx
// sent anything.
func notSent(err error) bool {
	return pgconn.SafeToRetry(err) && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

// unreachable reports whether err means the database could not be reached
// or the connection was lost: a failed connection attempt, a broken
// socket, or the server saying it is shutting down or not accepting
// connections.
func unreachable(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // the caller gave up; the database may be fine
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "57P01", "57P02", "57P03", "53300": // admin/crash shutdown, cannot connect now, too many connections
			return true
		}
		return len(pe.Code) == 5 && pe.Code[:2] == "08" // connection exception
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) || pgconn.SafeToRetry(err)
}

// dialGate rate-limits connection attempts while the database is
// unreachable: after a failed connection it refuses every dial (with
// errGateClosed) until a backoff deadline, then lets one attempt through
// and doubles the backoff, up to max. A connection that completes its
// startup opens the gate again. While the database is up dials are not
// limited (the pool's MaxConns bounds them).
type dialGate struct {
	min, max time.Duration
	now      func() time.Time

	mu      sync.Mutex
	failing bool
	backoff time.Duration // the wait after the next admitted attempt
	next    time.Time     // no attempt before this while failing
}

func newDialGate(min, max time.Duration, now func() time.Time) *dialGate {
	if now == nil {
		now = time.Now
	}
	return &dialGate{min: min, max: max, now: now}
}

// admit says whether a connection attempt may go ahead now.
func (g *dialGate) admit() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.failing {
		return nil
	}
	now := g.now()
	if now.Before(g.next) {
		return errGateClosed
	}
	g.backoff = min(2*g.backoff, g.max)
	g.next = now.Add(g.backoff)
	return nil
}

// failed records a failed connection attempt.
func (g *dialGate) failed() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.failing {
		return // the admission already set the next deadline
	}
	g.failing, g.backoff, g.next = true, g.min, g.now().Add(g.min)
}

// succeeded records a connection that completed its startup.
func (g *dialGate) succeeded() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failing, g.backoff, g.next = false, 0, time.Time{}
}

// beforeConnect admits one pool connection attempt (all of its dials, so
// a host's fallback addresses are still tried) or refuses it with
// errGateClosed.
func (g *dialGate) beforeConnect(context.Context, *pgx.ConnConfig) error { return g.admit() }

// dialFunc wraps dial so that a failed dial, or a connection closed before
// it completed its startup, counts as a failed attempt.
func (g *dialGate) dialFunc(dial pgconn.DialFunc) pgconn.DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			g.failed()
			return nil, fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
		}
		return &gatedConn{Conn: c, gate: g}, nil
	}
}

// afterConnect marks c's connection as started, opening the gate.
func (g *dialGate) afterConnect(c *pgconn.PgConn) {
	nc := c.Conn()
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	if gc, ok := nc.(*gatedConn); ok {
		gc.started.Store(true)
	}
	g.succeeded()
}

// gatedConn reports to its gate if it is closed before startup finished
// (the server accepted the TCP connection but refused or dropped the
// session: that is a failed attempt too).
type gatedConn struct {
	net.Conn
	gate    *dialGate
	started atomic.Bool
	closed  atomic.Bool
	wrote   atomic.Bool
}

// cancelRequestCode opens the message pgconn sends on a connection of its
// own to cancel a running query; such a connection has no startup.
const cancelRequestCode = 80877102

func (c *gatedConn) Write(b []byte) (int, error) {
	if !c.wrote.Swap(true) && len(b) == 16 && binary.BigEndian.Uint32(b[4:8]) == cancelRequestCode {
		c.started.Store(true) // a cancel request, not a failed startup
	}
	return c.Conn.Write(b)
}

func (c *gatedConn) Close() error {
	if !c.closed.Swap(true) && !c.started.Load() {
		c.gate.failed()
	}
	return c.Conn.Close()
}
