package idempotency_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/clocktest"
	"github.com/latchkey/latchkey/internal/idempotency"
	"github.com/latchkey/latchkey/internal/sealed/sealedtest"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

func newService(t *testing.T, window time.Duration) (*idempotency.Service, *clocktest.Clock) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := clocktest.New(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	return idempotency.NewService(st, sealedtest.Box(t, 3), clock.Now, window), clock
}

func TestValidateKey(t *testing.T) {
	tests := []struct {
		key string
		ok  bool
	}{
		{"8e03978e-40d5-43e8-bc93-6894a57f9324", true},
		{"a b", true},
		{strings.Repeat("k", 255), true},
		{"", false},
		{strings.Repeat("k", 256), false},
		{"tab\there", false},
		{"caf\u00e9", false},
		{"nul\x00", false},
		{"del\x7f", false},
	}
	for _, tt := range tests {
		err := idempotency.ValidateKey(tt.key)
		if tt.ok != (err == nil) || (err != nil && !errors.Is(err, idempotency.ErrInvalidKey)) {
			t.Errorf("ValidateKey(%q) = %v, want ok=%v", tt.key, err, tt.ok)
		}
	}
}

func TestFingerprintDistinguishesParts(t *testing.T) {
	a := idempotency.Fingerprint("POST", "/x", []byte("{}"))
	for name, b := range map[string][]byte{
		"method": idempotency.Fingerprint("PUT", "/x", []byte("{}")),
		"path":   idempotency.Fingerprint("POST", "/y", []byte("{}")),
		"body":   idempotency.Fingerprint("POST", "/x", []byte("{ }")),
		"split":  idempotency.Fingerprint("POST", "/x{", []byte("}")),
	} {
		if bytes.Equal(a, b) {
			t.Errorf("a different %s gives the same fingerprint", name)
		}
	}
	if !bytes.Equal(a, idempotency.Fingerprint("POST", "/x", []byte("{}"))) {
		t.Error("the same request gives different fingerprints")
	}
}

func TestLifecycle(t *testing.T) {
	req := idempotency.Request{Scope: "caller-1", Key: "k1", Fingerprint: idempotency.Fingerprint("POST", "/c", []byte(`{"a":1}`))}
	other := req
	other.Fingerprint = idempotency.Fingerprint("POST", "/c", []byte(`{"a":2}`))
	resp := idempotency.Response{Status: 201, Header: map[string][]string{"Content-Type": {"application/json"}}, Body: []byte(`{"secret":"s3cr3t"}`)}

	tests := []struct {
		name string
		run  func(t *testing.T, s *idempotency.Service, clock *clocktest.Clock)
	}{
		{"replay within the window", func(t *testing.T, s *idempotency.Service, clock *clocktest.Clock) {
			complete(t, s, req, resp)
			clock.Advance(59 * time.Minute)
			c, got, err := s.Begin(t.Context(), req)
			if err != nil || c != nil || got == nil {
				t.Fatalf("Begin = %v, %v, %v; want a replay", c, got, err)
			}
			if got.Status != 201 || string(got.Body) != string(resp.Body) || got.Header["Content-Type"][0] != "application/json" {
				t.Errorf("replayed %+v, want %+v", got, resp)
			}
		}},
		{"different request", func(t *testing.T, s *idempotency.Service, clock *clocktest.Clock) {
			complete(t, s, req, resp)
			if _, _, err := s.Begin(t.Context(), other); !errors.Is(err, idempotency.ErrMismatch) {
				t.Fatalf("Begin(other body) = %v, want ErrMismatch", err)
			}
		}},
		{"in flight", func(t *testing.T, s *idempotency.Service, clock *clocktest.Clock) {
			begin(t, s, req)
			if _, _, err := s.Begin(t.Context(), req); !errors.Is(err, idempotency.ErrInFlight) {
				t.Fatalf("second Begin = %v, want ErrInFlight", err)
			}
			if _, _, err := s.Begin(t.Context(), other); !errors.Is(err, idempotency.ErrMismatch) {
				t.Fatalf("Begin(other body) in flight = %v, want ErrMismatch", err)
			}
		}},
		{"abandoned claim is taken over", func(t *testing.T, s *idempotency.Service, clock *clocktest.Clock) {
			first := begin(t, s, req)
			clock.Advance(idempotency.LockTimeout + time.Second)
			begin(t, s, req)
			if err := first.Complete(t.Context(), resp, "x"); !errors.Is(err, idempotency.ErrNotClaimed) {
				t.Errorf("the abandoned claim completed: %v", err)
			}
		}},
		{"after the window: conflict naming the resource, no secret", func(t *testing.T, s *idempotency.Service, clock *clocktest.Clock) {
			complete(t, s, req, resp)
			clock.Advance(time.Hour)
			_, got, err := s.Begin(t.Context(), req)
			var re *idempotency.ReplayExpiredError
			if !errors.As(err, &re) || got != nil {
				t.Fatalf("Begin = %v, %v; want ReplayExpiredError", got, err)
			}
			if re.Resource != "client_id=c1" || strings.Contains(re.Error(), "s3cr3t") {
				t.Errorf("error %q, resource %q", re, re.Resource)
			}
		}},
		{"expired key is fresh", func(t *testing.T, s *idempotency.Service, clock *clocktest.Clock) {
			complete(t, s, req, resp)
			clock.Advance(idempotency.TTL)
			begin(t, s, other)
		}},
		{"released key acts again", func(t *testing.T, s *idempotency.Service, clock *clocktest.Clock) {
			c := begin(t, s, req)
			if err := c.Release(t.Context()); err != nil {
				t.Fatal(err)
			}
			begin(t, s, other)
		}},
		{"scopes are apart", func(t *testing.T, s *idempotency.Service, clock *clocktest.Clock) {
			complete(t, s, req, resp)
			elsewhere := other
			elsewhere.Scope = "caller-2"
			begin(t, s, elsewhere)
		}},
		{"invalid key", func(t *testing.T, s *idempotency.Service, clock *clocktest.Clock) {
			bad := req
			bad.Key = ""
			if _, _, err := s.Begin(t.Context(), bad); !errors.Is(err, idempotency.ErrInvalidKey) {
				t.Fatalf("Begin(empty key) = %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clock := newService(t, time.Hour)
			tt.run(t, s, clock)
		})
	}
}

// TestZeroWindowKeepsNoResponse: with no replay window the first response
// is never stored; a retry learns only what was created.
func TestZeroWindowKeepsNoResponse(t *testing.T) {
	s, _ := newService(t, 0)
	req := idempotency.Request{Scope: "c", Key: "k", Fingerprint: []byte("f")}
	complete(t, s, req, idempotency.Response{Status: 201, Body: []byte("{}")})
	var re *idempotency.ReplayExpiredError
	if _, _, err := s.Begin(t.Context(), req); !errors.As(err, &re) {
		t.Fatalf("Begin = %v, want ReplayExpiredError", err)
	}
}

func begin(t *testing.T, s *idempotency.Service, req idempotency.Request) *idempotency.Claim {
	t.Helper()
	c, replay, err := s.Begin(t.Context(), req)
	if err != nil || c == nil || replay != nil {
		t.Fatalf("Begin = %v, %v, %v; want a claim", c, replay, err)
	}
	return c
}

func complete(t *testing.T, s *idempotency.Service, req idempotency.Request, resp idempotency.Response) {
	t.Helper()
	if err := begin(t, s, req).Complete(t.Context(), resp, "client_id=c1"); err != nil {
		t.Fatal(err)
	}
}
