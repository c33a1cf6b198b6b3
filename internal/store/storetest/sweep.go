package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/oauth2/grant/authcode"
	"github.com/latchkey/latchkey/internal/session"
	"github.com/latchkey/latchkey/internal/store"
)

// The sweeps delete only what has expired, at most limit rows a call, so
// repeated calls drain a backlog and then delete nothing.
func testSweeps(t *testing.T, s store.Store) {
	drain := func(name string, sweep func() (int, error), want ...int) {
		t.Helper()
		var got []int
		for range want {
			n, err := sweep()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got = append(got, n)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s deleted %v per call, want %v", name, got, want)
		}
	}
	now := base.Add(24 * time.Hour)

	// Sessions: five expired, one live (created long before, so creating
	// one prunes none of the others).
	for i := range 6 {
		exp := now.Add(-time.Minute)
		if i == 5 {
			exp = now.Add(time.Minute)
		}
		sess := session.Session{TokenHash: session.HashToken(fmt.Sprint("sweep", i)), ID: fmt.Sprint("sid", i), CreatedAt: now.Add(-time.Hour), ExpiresAt: exp}
		if err := s.CreateSession(ctx(t), sess); err != nil {
			t.Fatal(err)
		}
	}
	drain("SweepSessions", func() (int, error) { return s.SweepSessions(ctx(t), now, 2) }, 2, 2, 1, 0)
	if _, err := s.GetSession(ctx(t), session.HashToken("sweep5")); err != nil {
		t.Errorf("live session swept: %v", err)
	}

	// Codes: kept for keep after they expire.
	for i, exp := range []time.Time{now.Add(-3 * time.Hour), now.Add(-2 * time.Hour), now.Add(-30 * time.Minute)} {
		c := sampleCode(fmt.Sprint("sweep-code-", i))
		// Created long before, so creating one prunes none of the others.
		c.CreatedAt, c.ExpiresAt = now.Add(-4*time.Hour), exp
		if err := s.CreateAuthCode(ctx(t), c); err != nil {
			t.Fatal(err)
		}
	}
	drain("SweepAuthCodes", func() (int, error) { return s.SweepAuthCodes(ctx(t), now, time.Hour, 10) }, 2, 0)
	if _, err := s.ConsumeAuthCode(ctx(t), authcode.Hash("sweep-code-2"), now); err != nil {
		t.Errorf("code within keep swept: %v", err)
	}
	if _, err := s.ConsumeAuthCode(ctx(t), authcode.Hash("sweep-code-0"), now); !errors.Is(err, authcode.ErrNotFound) {
		t.Errorf("swept code: %v, want ErrNotFound", err)
	}

	// Revocations (RevokeToken prunes by the wall clock, so these expire
	// in the future of it).
	far := time.Now().Add(48 * time.Hour)
	for i, exp := range []time.Time{far.Add(-time.Hour), far.Add(-time.Minute), far.Add(time.Hour)} {
		if err := s.RevokeToken(ctx(t), fmt.Sprint("sweep-jti-", i), exp); err != nil {
			t.Fatal(err)
		}
	}
	drain("SweepRevocations", func() (int, error) { return s.SweepRevocations(ctx(t), far, 1) }, 1, 1, 0)
	for i, want := range []bool{false, false, true} {
		if got, err := s.TokenRevoked(ctx(t), fmt.Sprint("sweep-jti-", i)); err != nil || got != want {
			t.Errorf("revocation %d after sweep: %v, %v; want %v", i, got, err, want)
		}
	}
}
