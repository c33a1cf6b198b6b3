package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchkey/latchkey/internal/clocktest"
	"github.com/latchkey/latchkey/internal/domain"
)

// safeToRetry is how pgconn marks an error it believes happened before
// anything was sent to the server.
type safeToRetry struct{ error }

func (safeToRetry) SafeToRetry() bool { return true }
func (e safeToRetry) Unwrap() error   { return e.error }

func TestClassify(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	cases := []struct {
		name       string
		err        error
		committing bool
		want       error // nil: neither sentinel
	}{
		{"nil", nil, false, nil},
		{"dial refused", refused, false, domain.ErrUnavailable},
		{"gate refused", fmt.Errorf("acquire: %w", errGateClosed), false, domain.ErrUnavailable},
		{"connection lost mid-statement", fmt.Errorf("insert client: %w", io.ErrUnexpectedEOF), false, domain.ErrUnavailable},
		{"server shutting down", &pgconn.PgError{Code: "57P01"}, false, domain.ErrUnavailable},
		{"cannot connect now", &pgconn.PgError{Code: "57P03"}, false, domain.ErrUnavailable},
		{"connection exception class", &pgconn.PgError{Code: "08006"}, false, domain.ErrUnavailable},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false, nil},
		{"plain error", errors.New("boom"), false, nil},
		{"commit: connection lost after sending", io.ErrUnexpectedEOF, true, domain.ErrOutcomeUnknown},
		{"commit: reset after sending", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, true, domain.ErrOutcomeUnknown},
		{"commit: server refused it", &pgconn.PgError{Code: "40001"}, true, nil},
		{"commit: rolled back", pgx.ErrTxCommitRollback, true, nil},
		{"commit: connection lost before sending", fmt.Errorf("commit: %w", errGateClosed), true, domain.ErrUnavailable},
		{"commit: context done before sending", safeToRetry{context.Canceled}, true, nil},
		{"commit: conn closed, which pgx calls safe to retry", safeToRetry{errors.New("conn closed")}, true, domain.ErrOutcomeUnknown},
		{"commit: context done while waiting for the answer", context.Canceled, true, domain.ErrOutcomeUnknown},
		{"context done", context.DeadlineExceeded, false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := classify(c.err, c.committing)
			if c.err == nil {
				if got != nil {
					t.Fatalf("classify(nil) = %v", got)
				}
				return
			}
			if !errors.Is(got, c.err) {
				t.Errorf("classify lost the cause: %v", got)
			}
			for _, s := range []error{domain.ErrUnavailable, domain.ErrOutcomeUnknown} {
				if errors.Is(got, s) != (s == c.want) {
					t.Errorf("errors.Is(%v, %v) = %v, want %v", got, s, !(s == c.want), s == c.want)
				}
			}
		})
	}
}

func TestDialGate(t *testing.T) {
	clock := clocktest.New(time.Unix(1_700_000_000, 0))
	g := newDialGate(100*time.Millisecond, 800*time.Millisecond, clock.Now)
	type step struct {
		advance time.Duration
		op      string // "admit", "fail", "ok"
		admit   bool   // for admit: whether a dial may go ahead
	}
	steps := []step{
		{0, "admit", true}, {0, "admit", true}, // healthy: no limit
		{0, "fail", false},
		{0, "admit", false}, {50 * time.Millisecond, "admit", false},
		{50 * time.Millisecond, "admit", true}, // 100ms later: one probe
		{0, "admit", false},                    // the next waits 200ms
		{0, "fail", false},
		{199 * time.Millisecond, "admit", false},
		{time.Millisecond, "admit", true},
		{0, "fail", false},
		{400 * time.Millisecond, "admit", true}, // 400ms
		{0, "fail", false},
		{800 * time.Millisecond, "admit", true}, // capped at 800ms
		{0, "fail", false},
		{799 * time.Millisecond, "admit", false},
		{time.Millisecond, "admit", true},
		{0, "ok", false}, // a connection made it: open again
		{0, "admit", true}, {0, "admit", true},
		{0, "fail", false},
		{0, "admit", false},
		{100 * time.Millisecond, "admit", true}, // backoff starts over
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		switch s.op {
		case "fail":
			g.failed()
		case "ok":
			g.succeeded()
		case "admit":
			err := g.admit()
			if (err == nil) != s.admit {
				t.Fatalf("step %d: admit() = %v, want admitted=%v", i, err, s.admit)
			}
			if err != nil && !errors.Is(err, domain.ErrUnavailable) {
				t.Fatalf("step %d: refusal %v does not wrap domain.ErrUnavailable", i, err)
			}
		}
	}
}
