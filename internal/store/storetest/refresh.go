package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/oauth2/grant/refresh"
	"github.com/latchkey/latchkey/internal/store"
)

// testRefresh: refresh token families (SPEC §7): rotation, reuse
// detection, revocation, lifetimes, the exactly-one-winner race and
// cleanup. Subtests share the store and use distinct families.
func testRefresh(t *testing.T, s store.Store) {
	for _, tt := range []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"RoundTrip", testRefreshRoundTrip},
		{"Resources", testRefreshResources},
		{"Rotation", testRefreshRotation},
		{"Reuse", testRefreshReuse},
		{"Overlap", testRefreshOverlap},
		{"Check", testRefreshCheck},
		{"Lifetimes", testRefreshLifetimes},
		{"RevokeGrant", testRefreshRevokeGrant},
		{"ListUserGrants", testRefreshListUserGrants},
		{"Race", testRefreshRace},
		{"RaceInOverlap", testRefreshRaceInOverlap},
		{"DeleteExpired", testRefreshDeleteExpired},
		{"Hostile", testRefreshHostile},
		{"Copy", testRefreshCopy},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, s) })
	}
}

const (
	refreshIdle     = 24 * time.Hour
	refreshAbsolute = 72 * time.Hour
)

// sampleFamily is a fresh family created at base whose token hash is
// name+"-0".
func sampleFamily(name string) refresh.Family {
	return refresh.Family{
		ID: "fam-" + name, ClientID: "client-" + name, UserID: "user-" + name,
		Scopes: []string{"openid", "offline_access", "api:read"}, AuthTime: base.Add(-time.Minute), SessionID: "sid-" + name,
		CreatedAt: base, ExpiresAt: base.Add(refreshAbsolute), IdleExpiresAt: base.Add(refreshIdle),
		CurrentHash: tokenHash(name, 0),
	}
}

func tokenHash(name string, gen int) string { return fmt.Sprintf("%s-%d", name, gen) }

func mustFamily(t *testing.T, s store.Store, name string) refresh.Family {
	t.Helper()
	f := sampleFamily(name)
	if err := s.CreateRefresh(ctx(t), f); err != nil {
		t.Fatal(err)
	}
	return f
}

// rotation redeems name's token gen at now for gen+1.
func rotation(name string, gen int, now time.Time) refresh.Rotation {
	return refresh.Rotation{Hash: tokenHash(name, gen), NewHash: tokenHash(name, gen+1), Now: now, Idle: refreshIdle, RevokeUntil: now.Add(refreshAbsolute)}
}

func revoked(t *testing.T, s store.Store, id string) bool {
	t.Helper()
	r, err := s.GrantRevoked(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func testRefreshRoundTrip(t *testing.T, s store.Store) {
	f := mustFamily(t, s, "roundtrip")
	got, err := s.RefreshFamily(ctx(t), f.CurrentHash)
	if err != nil || !reflect.DeepEqual(got, f) {
		t.Errorf("RefreshFamily = %+v, %v; want %+v", got, err, f)
	}
	if _, err := s.RefreshFamily(ctx(t), "unknown"); !errors.Is(err, refresh.ErrNotFound) {
		t.Errorf("RefreshFamily(unknown): %v, want ErrNotFound", err)
	}
	if err := s.CreateRefresh(ctx(t), f); err == nil {
		t.Error("a second family with the same id was stored")
	}
	if revoked(t, s, f.ID) {
		t.Error("a fresh family is revoked")
	}
}

// testRefreshResources: a family's RFC 8707 resources are stored in
// order, survive rotation unchanged and are listed for copying; a family
// without resources reads back nil.
func testRefreshResources(t *testing.T, s store.Store) {
	f := sampleFamily("resources")
	f.Resources = []string{"https://b.example/mcp", "https://a.example/mcp", "urn:c"}
	if err := s.CreateRefresh(ctx(t), f); err != nil {
		t.Fatal(err)
	}
	if got, err := s.RefreshFamily(ctx(t), f.CurrentHash); err != nil || !reflect.DeepEqual(got.Resources, f.Resources) {
		t.Errorf("RefreshFamily resources = %q, %v; want %q", got.Resources, err, f.Resources)
	}
	got, err := s.RotateRefresh(ctx(t), rotation("resources", 0, base.Add(time.Minute)))
	if err != nil || !reflect.DeepEqual(got.Resources, f.Resources) {
		t.Errorf("after rotation resources = %q, %v; want %q", got.Resources, err, f.Resources)
	}
	if stored, err := s.RefreshFamily(ctx(t), tokenHash("resources", 1)); err != nil || !reflect.DeepEqual(stored.Resources, f.Resources) {
		t.Errorf("stored after rotation = %q, %v", stored.Resources, err)
	}
	if c, ok := s.(store.Copier); ok {
		all, err := c.ListRefreshFamilies(ctx(t), "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(all, func(x refresh.Family) bool { return x.ID == f.ID })
		if i < 0 || !reflect.DeepEqual(all[i].Resources, f.Resources) {
			t.Errorf("ListRefreshFamilies lost the resources: %d", i)
		}
	}
	none := mustFamily(t, s, "noresources")
	if got, err := s.RefreshFamily(ctx(t), none.CurrentHash); err != nil || got.Resources != nil {
		t.Errorf("family without resources reads %#v, %v; want nil", got.Resources, err)
	}
}

func testRefreshRotation(t *testing.T, s store.Store) {
	f := mustFamily(t, s, "rotation")
	now := base
	for gen := range 3 {
		now = now.Add(time.Hour)
		got, err := s.RotateRefresh(ctx(t), rotation("rotation", gen, now))
		if err != nil {
			t.Fatalf("rotation %d: %v", gen, err)
		}
		want := f
		want.CurrentHash, want.PrevHash, want.RotatedAt, want.IdleExpiresAt = tokenHash("rotation", gen+1), tokenHash("rotation", gen), now, now.Add(refreshIdle)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("rotation %d = %+v; want %+v", gen, got, want)
		}
		// Stored as returned, and every token of the family finds it.
		for g := 0; g <= gen+1; g++ {
			if stored, err := s.RefreshFamily(ctx(t), tokenHash("rotation", g)); err != nil || !reflect.DeepEqual(stored, want) {
				t.Errorf("after rotation %d, RefreshFamily(gen %d) = %+v, %v; want %+v", gen, g, stored, err, want)
			}
		}
	}
	if _, err := s.RotateRefresh(ctx(t), rotation("nosuch", 0, now)); !errors.Is(err, refresh.ErrNotFound) {
		t.Errorf("unknown token: %v, want ErrNotFound", err)
	}
}

// testRefreshReuse: a rotated token presented again revokes the family;
// then even the live token is refused, and the revocation is recorded.
func testRefreshReuse(t *testing.T, s store.Store) {
	f := mustFamily(t, s, "reuse")
	now := base.Add(time.Minute)
	if _, err := s.RotateRefresh(ctx(t), rotation("reuse", 0, now)); err != nil {
		t.Fatal(err)
	}
	r := rotation("reuse", 0, now.Add(time.Second))
	r.NewHash = "reuse-attacker"
	if _, err := s.RotateRefresh(ctx(t), r); !errors.Is(err, refresh.ErrReused) {
		t.Fatalf("reuse: %v, want ErrReused", err)
	}
	if !revoked(t, s, f.ID) {
		t.Error("reuse did not record the grant revoked")
	}
	got, err := s.RefreshFamily(ctx(t), tokenHash("reuse", 1))
	if err != nil || got.RevokedAt.IsZero() || got.CurrentHash != tokenHash("reuse", 1) {
		t.Errorf("family after reuse = %+v, %v; want revoked, current unchanged", got, err)
	}
	if _, err := s.RefreshFamily(ctx(t), "reuse-attacker"); !errors.Is(err, refresh.ErrNotFound) {
		t.Errorf("the reuser's token was stored: %v", err)
	}
	if _, err := s.RotateRefresh(ctx(t), rotation("reuse", 1, now.Add(2*time.Second))); !errors.Is(err, refresh.ErrRevoked) {
		t.Errorf("live token after reuse: %v, want ErrRevoked", err)
	}
}

// testRefreshOverlap: inside the overlap the previous token rotates again
// and takes the place of the current one (no fork); after it, reuse.
func testRefreshOverlap(t *testing.T, s store.Store) {
	f := mustFamily(t, s, "overlap")
	t0 := base.Add(time.Minute)
	r := rotation("overlap", 0, t0)
	r.Overlap = 10 * time.Second
	if _, err := s.RotateRefresh(ctx(t), r); err != nil {
		t.Fatal(err)
	}
	retry := r
	retry.Now, retry.NewHash = t0.Add(9*time.Second), "overlap-retry"
	got, err := s.RotateRefresh(ctx(t), retry)
	if err != nil {
		t.Fatalf("retry inside overlap: %v", err)
	}
	if got.CurrentHash != "overlap-retry" || got.PrevHash != tokenHash("overlap", 0) || !got.RotatedAt.Equal(t0) {
		t.Errorf("after retry: %+v; want current overlap-retry, prev gen 0, rotated at %v (not extended)", got, t0)
	}
	late := r
	late.Now, late.NewHash = t0.Add(10*time.Second), "overlap-late"
	if _, err := s.RotateRefresh(ctx(t), late); !errors.Is(err, refresh.ErrReused) {
		t.Errorf("previous token after the overlap: %v, want ErrReused", err)
	}
	if !revoked(t, s, f.ID) {
		t.Error("family not revoked")
	}
}

// testRefreshCheck: Check's error is returned and nothing changes.
func testRefreshCheck(t *testing.T, s store.Store) {
	f := mustFamily(t, s, "check")
	errNo := errors.New("wrong client")
	r := rotation("check", 0, base.Add(time.Minute))
	var seen refresh.Family
	r.Check = func(got refresh.Family) error { seen = got; return errNo }
	if _, err := s.RotateRefresh(ctx(t), r); !errors.Is(err, errNo) {
		t.Fatalf("RotateRefresh = %v, want the check's error", err)
	}
	if !reflect.DeepEqual(seen, f) {
		t.Errorf("Check saw %+v, want %+v", seen, f)
	}
	if got, err := s.RefreshFamily(ctx(t), f.CurrentHash); err != nil || !reflect.DeepEqual(got, f) {
		t.Errorf("family changed by a refused rotation: %+v, %v", got, err)
	}
	r.Check = nil
	if _, err := s.RotateRefresh(ctx(t), r); err != nil {
		t.Errorf("the token no longer works after a refused rotation: %v", err)
	}
}

// testRefreshLifetimes: the idle lifetime restarts with each rotation but
// never passes the absolute one.
func testRefreshLifetimes(t *testing.T, s store.Store) {
	mustFamily(t, s, "idle")
	if _, err := s.RotateRefresh(ctx(t), rotation("idle", 0, base.Add(refreshIdle))); !errors.Is(err, refresh.ErrExpired) {
		t.Errorf("at the idle expiry: %v, want ErrExpired", err)
	}
	mustFamily(t, s, "abs")
	now := base
	gen := 0
	for ; ; gen++ {
		now = now.Add(refreshIdle - time.Second)
		f, err := s.RotateRefresh(ctx(t), rotation("abs", gen, now))
		if errors.Is(err, refresh.ErrExpired) {
			break
		}
		if err != nil {
			t.Fatalf("rotation %d at %v: %v", gen, now, err)
		}
		if f.IdleExpiresAt.After(f.ExpiresAt) || !f.ExpiresAt.Equal(base.Add(refreshAbsolute)) {
			t.Fatalf("rotation %d extended the absolute lifetime: %+v", gen, f)
		}
	}
	if now.Before(base.Add(refreshAbsolute)) {
		t.Errorf("expired at %v, before the absolute lifetime %v", now, base.Add(refreshAbsolute))
	}
	if gen != 3 {
		t.Errorf("%d rotations fit in the absolute lifetime, want 3", gen)
	}
}

func testRefreshRevokeGrant(t *testing.T, s store.Store) {
	f := mustFamily(t, s, "revoke")
	until := base.Add(100 * time.Hour)
	for range 2 { // twice is not an error
		if err := s.RevokeGrant(ctx(t), f.ID, base.Add(time.Minute), until); err != nil {
			t.Fatal(err)
		}
	}
	if !revoked(t, s, f.ID) {
		t.Error("not revoked")
	}
	if _, err := s.RotateRefresh(ctx(t), rotation("revoke", 0, base.Add(2*time.Minute))); !errors.Is(err, refresh.ErrRevoked) {
		t.Errorf("rotation after revocation: %v, want ErrRevoked", err)
	}
	// A grant with no family (a code redeemed by a client without
	// refresh tokens) is recorded all the same.
	if err := s.RevokeGrant(ctx(t), "grant-without-family", base, until); err != nil {
		t.Fatal(err)
	}
	if !revoked(t, s, "grant-without-family") || revoked(t, s, "another-grant") {
		t.Error("GrantRevoked wrong for a grant without family")
	}
}

func testRefreshListUserGrants(t *testing.T, s store.Store) {
	var want []refresh.Family
	for i := range 3 {
		f := sampleFamily(fmt.Sprintf("list%d", i))
		f.UserID = "lister"
		f.CreatedAt = base.Add(time.Duration(i) * time.Second)
		if err := s.CreateRefresh(ctx(t), f); err != nil {
			t.Fatal(err)
		}
		want = append([]refresh.Family{f}, want...)
	}
	dead := sampleFamily("list-dead")
	dead.UserID = "lister"
	if err := s.CreateRefresh(ctx(t), dead); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeGrant(ctx(t), dead.ID, base, base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListUserGrants(ctx(t), "lister", base.Add(time.Minute))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ListUserGrants = %+v, %v; want %+v", got, err, want)
	}
	if got, err := s.ListUserGrants(ctx(t), "lister", base.Add(refreshIdle)); err != nil || len(got) != 0 {
		t.Errorf("ListUserGrants after idle expiry = %d, %v; want none", len(got), err)
	}
	if got, err := s.ListUserGrants(ctx(t), "nobody", base); err != nil || len(got) != 0 {
		t.Errorf("ListUserGrants(nobody) = %d, %v", len(got), err)
	}

	// RevokeUserGrants: one, then the rest, each audited in its
	// transaction; nothing to revoke writes no event.
	now := base.Add(time.Minute)
	var events []audit.Event
	event := func(ids []string) (audit.Event, error) {
		ev := Event(audit.UserRevokeGrants, "lister")
		ev.Details = []byte(`{"grant_ids":["` + strings.Join(ids, `","`) + `"]}`)
		events = append(events, ev)
		return ev, nil
	}
	sel := func(grantID, clientID string) refresh.GrantSelector {
		return refresh.GrantSelector{UserID: "lister", GrantID: grantID, ClientID: clientID}
	}
	ids, err := s.RevokeUserGrants(ctx(t), sel(want[1].ID, ""), now, now.Add(time.Hour), event)
	if err != nil || len(ids) != 1 || ids[0] != want[1].ID {
		t.Fatalf("RevokeUserGrants(one) = %v, %v", ids, err)
	}
	// By client: only that client's families of that user.
	if ids, err := s.RevokeUserGrants(ctx(t), refresh.GrantSelector{UserID: "nobody", ClientID: want[2].ClientID}, now, now.Add(time.Hour), event); err != nil || len(ids) != 0 {
		t.Errorf("RevokeUserGrants(another user's client) = %v, %v", ids, err)
	}
	ids, err = s.RevokeUserGrants(ctx(t), sel("", want[2].ClientID), now, now.Add(time.Hour), event)
	if err != nil || len(ids) != 1 || ids[0] != want[2].ID {
		t.Fatalf("RevokeUserGrants(client %s) = %v, %v; want %s", want[2].ClientID, ids, err, want[2].ID)
	}
	if revoked(t, s, want[0].ID) {
		t.Errorf("revoking by client %s revoked %s of client %s", want[2].ClientID, want[0].ID, want[0].ClientID)
	}
	ids, err = s.RevokeUserGrants(ctx(t), sel("", ""), now, now.Add(time.Hour), event)
	if err != nil || len(ids) != 1 || ids[0] != want[0].ID {
		t.Fatalf("RevokeUserGrants(all) = %v, %v; want %s", ids, err, want[0].ID)
	}
	for _, f := range want {
		if !revoked(t, s, f.ID) {
			t.Errorf("grant %s not recorded revoked", f.ID)
		}
	}
	if ids, err := s.RevokeUserGrants(ctx(t), sel("", ""), now, now.Add(time.Hour), event); err != nil || len(ids) != 0 {
		t.Errorf("RevokeUserGrants with nothing live = %v, %v", ids, err)
	}
	if len(events) != 3 {
		t.Errorf("%d events made, want 3", len(events))
	}
	stored, err := s.ListAudit(ctx(t), audit.Filter{Action: audit.UserRevokeGrants})
	if err != nil || len(stored) != 3 {
		t.Fatalf("audit: %d events, %v", len(stored), err)
	}
	if !strings.Contains(string(stored[0].Details), want[0].ID) {
		t.Errorf("newest event %s does not name %s", stored[0].Details, want[0].ID)
	}
	errNo := errors.New("no event")
	if _, err := s.RevokeUserGrants(ctx(t), refresh.GrantSelector{UserID: "user-rotation"}, now, now.Add(time.Hour), func([]string) (audit.Event, error) { return audit.Event{}, errNo }); !errors.Is(err, errNo) {
		t.Errorf("failing event: %v", err)
	}
	if revoked(t, s, "fam-rotation") {
		t.Error("a revocation whose audit event failed was kept")
	}
}

// raceN is the size of the concurrent-redemption races.
const raceN = 50

// race redeems name's token gen raceN times at once, each for a distinct
// new hash, and returns the new hashes that won and the other errors.
func race(t *testing.T, s store.Store, name string, overlap time.Duration, now time.Time) (wins []string, errs []error) {
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	start := make(chan struct{})
	for i := range raceN {
		wg.Go(func() {
			r := rotation(name, 0, now)
			r.NewHash, r.Overlap = fmt.Sprintf("%s-racer-%d", name, i), overlap
			<-start
			_, err := s.RotateRefresh(ctx(t), r)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins = append(wins, r.NewHash)
			} else {
				errs = append(errs, err)
			}
		})
	}
	close(start)
	wg.Wait()
	return wins, errs
}

// testRefreshRace: 50 concurrent redemptions of one token: exactly one
// wins; the others present a token already rotated, which is reuse.
func testRefreshRace(t *testing.T, s store.Store) {
	f := mustFamily(t, s, "race")
	wins, errs := race(t, s, "race", 0, base.Add(time.Minute))
	if len(wins) != 1 {
		t.Fatalf("%d winners (%v), want exactly 1", len(wins), wins)
	}
	for _, err := range errs {
		if !errors.Is(err, refresh.ErrReused) && !errors.Is(err, refresh.ErrRevoked) {
			t.Errorf("loser's error %v, want ErrReused or ErrRevoked", err)
		}
	}
	got, err := s.RefreshFamily(ctx(t), f.CurrentHash)
	if err != nil || got.CurrentHash != wins[0] || got.RevokedAt.IsZero() {
		t.Errorf("after the race: %+v, %v; want current %s, revoked (the losers reused a rotated token)", got, err, wins[0])
	}
}

// testRefreshRaceInOverlap: inside the overlap period concurrent
// redemptions may all succeed, but the family never forks: exactly one
// of the tokens handed out is live afterwards, and it keeps rotating.
func testRefreshRaceInOverlap(t *testing.T, s store.Store) {
	mustFamily(t, s, "orace")
	now := base.Add(time.Minute)
	wins, errs := race(t, s, "orace", time.Minute, now)
	if len(errs) != 0 || len(wins) == 0 {
		t.Fatalf("wins %d, errors %v; want all to succeed inside the overlap", len(wins), errs)
	}
	got, err := s.RefreshFamily(ctx(t), tokenHash("orace", 0))
	if err != nil || !got.RevokedAt.IsZero() {
		t.Fatalf("family after the race: %+v, %v", got, err)
	}
	live := 0
	for _, w := range wins {
		if w == got.CurrentHash {
			live++
		}
	}
	if live != 1 {
		t.Fatalf("%d of the winners' tokens are the live one, want exactly 1", live)
	}
	next := refresh.Rotation{Hash: got.CurrentHash, NewHash: "orace-next", Now: now.Add(2 * time.Minute), Idle: refreshIdle, Overlap: time.Minute, RevokeUntil: now.Add(refreshAbsolute)}
	if _, err := s.RotateRefresh(ctx(t), next); err != nil {
		t.Errorf("the live token does not rotate: %v", err)
	}
	for _, w := range wins {
		if w == got.CurrentHash {
			continue
		}
		stale := next
		stale.Hash, stale.NewHash = w, "orace-stale"
		if _, err := s.RotateRefresh(ctx(t), stale); !errors.Is(err, refresh.ErrReused) {
			t.Errorf("a superseded branch rotated: %v, want ErrReused", err)
		}
		break
	}
}

// testRefreshDeleteExpired: bounded batches remove dead families (with
// their tokens) and ended grant revocations, and nothing live.
func testRefreshDeleteExpired(t *testing.T, s store.Store) {
	for i := range 5 {
		f := sampleFamily(fmt.Sprintf("sweep-dead%d", i))
		f.ExpiresAt, f.IdleExpiresAt = base.Add(time.Minute), base.Add(time.Minute)
		if err := s.CreateRefresh(ctx(t), f); err != nil {
			t.Fatal(err)
		}
	}
	revokedFam := mustFamily(t, s, "sweep-revoked")
	if err := s.RevokeGrant(ctx(t), revokedFam.ID, base, base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeGrant(ctx(t), "sweep-grant-long", base, base.Add(1000*time.Hour)); err != nil {
		t.Fatal(err)
	}
	live := mustFamily(t, s, "sweep-live")
	now := base.Add(2 * time.Hour)
	total := 0
	for i := 0; ; i++ {
		n, err := s.DeleteExpiredRefresh(ctx(t), now, 2)
		if err != nil {
			t.Fatal(err)
		}
		if n > 2 {
			t.Fatalf("batch of %d rows, limit 2", n)
		}
		total += n
		if n < 2 || i > 20 {
			break
		}
	}
	// Other subtests' families (created at base, idle 24h) are live at
	// base+2h; the revoked and expired ones of other subtests count too,
	// so only lower bounds and specific rows are checked.
	if total < 7 {
		t.Errorf("deleted %d rows, want at least 5 expired + 1 revoked family + 1 revocation", total)
	}
	for i := range 5 {
		if _, err := s.RefreshFamily(ctx(t), tokenHash(fmt.Sprintf("sweep-dead%d", i), 0)); !errors.Is(err, refresh.ErrNotFound) {
			t.Errorf("expired family %d still there: %v", i, err)
		}
	}
	if _, err := s.RefreshFamily(ctx(t), revokedFam.CurrentHash); !errors.Is(err, refresh.ErrNotFound) {
		t.Errorf("revoked family still there: %v", err)
	}
	if revoked(t, s, revokedFam.ID) {
		t.Error("ended revocation still recorded")
	}
	if !revoked(t, s, "sweep-grant-long") {
		t.Error("a revocation still in force was deleted")
	}
	if _, err := s.RefreshFamily(ctx(t), live.CurrentHash); err != nil {
		t.Errorf("live family deleted: %v", err)
	}
	if n, err := s.DeleteExpiredRefresh(ctx(t), now, 0); n != 0 || err != nil {
		t.Errorf("limit 0 = %d, %v", n, err)
	}
}

// testRefreshHostile: text no row can hold is a plain miss.
func testRefreshHostile(t *testing.T, s store.Store) {
	for _, bad := range []string{"", "\x00", "a\x00b", "\xff", "bad\xc3"} {
		if _, err := s.RefreshFamily(ctx(t), bad); !errors.Is(err, refresh.ErrNotFound) {
			t.Errorf("RefreshFamily(%q): %v", bad, err)
		}
		if _, err := s.RotateRefresh(ctx(t), refresh.Rotation{Hash: bad, NewHash: "x", Now: base}); !errors.Is(err, refresh.ErrNotFound) {
			t.Errorf("RotateRefresh(%q): %v", bad, err)
		}
		if r, err := s.GrantRevoked(ctx(t), bad); r || err != nil {
			t.Errorf("GrantRevoked(%q) = %v, %v", bad, r, err)
		}
		if l, err := s.ListUserGrants(ctx(t), bad, base); len(l) != 0 || err != nil {
			t.Errorf("ListUserGrants(%q) = %v, %v", bad, l, err)
		}
	}
}

// testRefreshCopy: what migrate-store reads (store.Copier) and writes
// back: families by id page (with their previous token), and grant
// revocations.
func testRefreshCopy(t *testing.T, st store.Store) {
	s, ok := st.(store.Copier)
	if !ok {
		t.Fatalf("%T does not implement store.Copier", st)
	}
	all, err := s.ListRefreshFamilies(ctx(t), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].ID >= all[i].ID {
			t.Fatalf("families not in id order: %s, %s", all[i-1].ID, all[i].ID)
		}
	}
	f := sampleFamily("zz-copied")
	f.Resources = []string{"https://copied.example/api"}
	f.PrevHash, f.RotatedAt = "zz-copied-prev", base.Add(time.Minute)
	if err := st.CreateRefresh(ctx(t), f); err != nil {
		t.Fatal(err)
	}
	page, err := s.ListRefreshFamilies(ctx(t), all[len(all)-1].ID, 10)
	if err != nil || len(page) != 1 || !reflect.DeepEqual(page[0], f) {
		t.Errorf("ListRefreshFamilies after the last = %+v, %v; want the new family", page, err)
	}
	if two, err := s.ListRefreshFamilies(ctx(t), "", 2); err != nil || len(two) != 2 || two[0].ID != all[0].ID {
		t.Errorf("ListRefreshFamilies limit 2 = %d, %v", len(two), err)
	}
	// The previous token is recognised: presenting it again is reuse.
	if got, err := st.RefreshFamily(ctx(t), "zz-copied-prev"); err != nil || got.ID != f.ID {
		t.Errorf("previous token of a copied family: %+v, %v", got, err)
	}
	until := base.Add(500 * time.Hour)
	if err := st.RevokeGrant(ctx(t), "zz-grant", base, until); err != nil {
		t.Fatal(err)
	}
	revs, err := s.ListGrantRevocations(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range revs {
		if r.GrantID == "zz-grant" {
			found = r.ExpiresAt.Equal(until)
		}
	}
	if !found {
		t.Errorf("ListGrantRevocations lacks zz-grant until %v: %+v", until, revs)
	}
}
