package sweep_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/clocktest"
	"github.com/latchkey/latchkey/internal/oauth2/grant/authcode"
	"github.com/latchkey/latchkey/internal/oauth2/grant/refresh"
	"github.com/latchkey/latchkey/internal/session"
	"github.com/latchkey/latchkey/internal/store/sqlite"
	"github.com/latchkey/latchkey/internal/sweep"
)

// Rows stay while live and go once the (injected) clock passes their
// expiry; a backlog larger than a batch drains in one run.
func TestSweepDeletesExpiredRows(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clock := clocktest.New(time.Now().UTC().Truncate(time.Second))
	now := clock.Now()
	for i := range 5 {
		s := session.Session{TokenHash: session.HashToken(fmt.Sprint("t", i)), ID: fmt.Sprint("s", i), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := st.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	code := authcode.Code{Hash: authcode.Hash("code"), ClientID: "c", UserID: "u", AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	if err := st.CreateAuthCode(ctx, code); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeToken(ctx, "jti-1", now.Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}

	fam := refresh.Family{ID: "grant-1", ClientID: "c", UserID: "u", AuthTime: now, CreatedAt: now,
		ExpiresAt: now.Add(90 * time.Minute), IdleExpiresAt: now.Add(90 * time.Minute), CurrentHash: "refresh-hash-1"}
	if err := st.CreateRefresh(ctx, fam); err != nil {
		t.Fatal(err)
	}

	sw := sweep.New(2, clock.Now, nil)
	for _, task := range sweep.StoreTasks(st) {
		sw.Add(task)
	}
	if got := sw.Once(ctx); got["sessions"]+got["auth_codes"]+got["revocations"]+got["refresh_grants"] != 0 {
		t.Fatalf("swept live rows: %v", got)
	}
	clock.Advance(61 * time.Minute) // sessions, the revocation and the code expired; the code's keep not over
	if got := sw.Once(ctx); got["sessions"] != 5 || got["revocations"] != 1 || got["auth_codes"] != 0 {
		t.Errorf("after 61 min: %v, want 5 sessions, 1 revocation, 0 codes", got)
	}
	if _, err := st.GetSession(ctx, session.HashToken("t0")); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("expired session still stored: %v", err)
	}
	if revoked, err := st.TokenRevoked(ctx, "jti-1"); err != nil || revoked {
		t.Errorf("expired revocation still stored: %v, %v", revoked, err)
	}
	clock.Advance(time.Hour)
	if got := sw.Once(ctx); got["auth_codes"] != 1 || got["refresh_grants"] != 1 {
		t.Errorf("after the code's keep and the refresh grant's expiry: %v", got)
	}
	if _, err := st.RefreshFamily(ctx, fam.CurrentHash); !errors.Is(err, refresh.ErrNotFound) {
		t.Errorf("expired refresh grant still stored: %v", err)
	}
	if _, err := st.ConsumeAuthCode(ctx, code.Hash, clock.Now()); !errors.Is(err, authcode.ErrNotFound) {
		t.Errorf("swept code: %v", err)
	}
}

// A failing task is reported and does not stop the others; the registry
// takes new kinds of rows (refresh tokens, later).
func TestSweepRegistry(t *testing.T) {
	sw := sweep.New(10, nil, nil)
	calls := 0
	sw.Add(sweep.Task{Name: "broken", Sweep: func(context.Context, time.Time, int) (int, error) { return 0, errors.New("down") }})
	sw.Add(sweep.Task{Name: "refresh_tokens", Sweep: func(_ context.Context, _ time.Time, limit int) (int, error) {
		calls++
		if calls < 3 {
			return limit, nil // a full batch: there may be more
		}
		return 4, nil
	}})
	if got := sw.Once(t.Context()); got["refresh_tokens"] != 24 || calls != 3 {
		t.Errorf("Once = %v after %d calls; want 24 after 3", got, calls)
	}
	if fmt.Sprint(sw.Tasks()) != "[broken refresh_tokens]" {
		t.Errorf("Tasks = %v", sw.Tasks())
	}
}

// Run returns when its context ends, and does nothing with interval 0.
func TestSweepRunStops(t *testing.T) {
	sw := sweep.New(1, nil, nil)
	sw.Run(t.Context(), 0)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { sw.Run(ctx, time.Hour); close(done) }()
	cancel()
	<-done
}
