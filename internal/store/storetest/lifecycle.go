package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/user"
)

// Event returns a fresh audit event for action on target.
func Event(action, target string) audit.Event {
	ev, err := audit.New(time.Now(), "tester", "tester-client", action, "client", target, map[string]any{"k": "v"})
	if err != nil {
		panic(err)
	}
	return ev
}

func mustCreate(t *testing.T, s store.Store, c client.Client) {
	t.Helper()
	if err := s.CreateClient(ctx(t), c, Event(audit.ClientCreate, c.ID)); err != nil {
		t.Fatalf("CreateClient %s: %v", c.ID, err)
	}
}

// seq returns n sample clients created one microsecond apart.
func seq(n int) []client.Client {
	out := make([]client.Client, n)
	for i := range out {
		c := SampleClient(i)
		c.CreatedAt = base.Add(time.Duration(i) * time.Microsecond)
		out[i] = c
	}
	return out
}

func ids(cs []client.Client) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(c.ClientID + " ")
	}
	return b.String()
}

func testListClientsPagination(t *testing.T, s store.Store) {
	got, err := s.ListClients(ctx(t), client.Filter{Limit: 10})
	if err != nil || len(got) != 0 || got == nil {
		t.Fatalf("empty store: %v, %v (want empty non-nil)", got, err)
	}
	all := seq(5)
	for _, c := range all {
		mustCreate(t, s, c)
	}
	var pages [][]client.Client
	f := client.Filter{Limit: 2}
	for {
		page, err := s.ListClients(ctx(t), f)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		pages = append(pages, page)
		last := page[len(page)-1]
		f.AfterCreated, f.AfterID = last.CreatedAt, last.ID
	}
	if len(pages) != 3 || len(pages[2]) != 1 {
		t.Fatalf("pages of 2 over 5 clients: got %d pages", len(pages))
	}
	var flat []client.Client
	for _, p := range pages {
		flat = append(flat, p...)
	}
	if ids(flat) != ids(all) {
		t.Errorf("order: got %s want %s", ids(flat), ids(all))
	}
	if flat[0].Secrets != nil {
		t.Errorf("ListClients must not load secrets")
	}
	// A cursor whose row was deleted still continues after its position.
	if err := s.DeleteClient(ctx(t), all[1].ID, Event(audit.ClientDelete, all[1].ID)); err != nil {
		t.Fatal(err)
	}
	page, err := s.ListClients(ctx(t), client.Filter{AfterCreated: all[1].CreatedAt, AfterID: all[1].ID, Limit: 10})
	if err != nil || ids(page) != ids(all[2:]) {
		t.Errorf("after deleted cursor: got %s, %v; want %s", ids(page), err, ids(all[2:]))
	}
	// Past the last row: empty page.
	page, err = s.ListClients(ctx(t), client.Filter{AfterCreated: all[4].CreatedAt, AfterID: all[4].ID, Limit: 10})
	if err != nil || len(page) != 0 {
		t.Errorf("after last: got %s, %v", ids(page), err)
	}
}

func testListClientsFilters(t *testing.T, s store.Store) {
	cs := seq(4)
	cs[0].Name, cs[1].Name, cs[2].Name, cs[3].Name = "Billing API", "Billing Web", "Reports", "billing lower"
	cs[1].Type, cs[1].Secrets = client.Public, nil
	cs[2].Enabled = false
	cs[3].OwnerID = "someone-else"
	for _, c := range cs {
		mustCreate(t, s, c)
	}
	f := false
	tests := []struct {
		name   string
		filter client.Filter
		want   []client.Client
	}{
		{"type", client.Filter{Type: client.Public}, []client.Client{cs[1]}},
		{"disabled", client.Filter{Enabled: &f}, []client.Client{cs[2]}},
		{"owner", client.Filter{OwnerID: "someone-else"}, []client.Client{cs[3]}},
		{"name prefix is case-sensitive", client.Filter{NamePrefix: "Billing"}, []client.Client{cs[0], cs[1]}},
		{"prefix with LIKE wildcards is literal", client.Filter{NamePrefix: "Bill%"}, nil},
		{"combined", client.Filter{NamePrefix: "Billing", Type: client.Confidential}, []client.Client{cs[0]}},
	}
	for _, tt := range tests {
		got, err := s.ListClients(ctx(t), tt.filter)
		if err != nil || ids(got) != ids(tt.want) {
			t.Errorf("%s: got %s, %v; want %s", tt.name, ids(got), err, ids(tt.want))
		}
	}
}

func testUpdateClient(t *testing.T, s store.Store) {
	c := SampleClient(1)
	mustCreate(t, s, c)
	later := base.Add(time.Hour)
	updated, err := s.UpdateClient(ctx(t), c.ID, func(old client.Client) (client.Client, audit.Event, error) {
		AssertClientEqual(t, old, c)
		old.Name = "Renamed"
		old.Enabled = false
		old.RedirectURIs = []string{"https://new.example.com/cb"}
		old.Secrets = []client.SecretHash{{Hash: []byte("new-hash"), CreatedAt: later}}
		old.UpdatedAt = later
		old.ClientID = "attempted-change" // identity fields are immutable
		return old, Event(audit.ClientUpdate, c.ID), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetClient(ctx(t), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	AssertClientEqual(t, got, updated)
	if got.ClientID != c.ClientID || got.Name != "Renamed" || got.Enabled || !got.UpdatedAt.Equal(later) || len(got.Secrets) != 1 {
		t.Errorf("after update: %+v", got)
	}
	if _, err := s.UpdateClient(ctx(t), "missing", func(c client.Client) (client.Client, audit.Event, error) {
		return c, Event(audit.ClientUpdate, "missing"), nil
	}); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("update missing: got %v, want ErrNotFound", err)
	}
}

func testUpdateClientAbort(t *testing.T, s store.Store) {
	c := SampleClient(1)
	mustCreate(t, s, c)
	boom := errors.New("precondition failed")
	_, err := s.UpdateClient(ctx(t), c.ID, func(old client.Client) (client.Client, audit.Event, error) {
		old.Name = "should not stick"
		return old, audit.Event{}, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want fn's error", err)
	}
	got, _ := s.GetClient(ctx(t), c.ID)
	AssertClientEqual(t, got, c)
	evs, _ := s.ListAudit(ctx(t), audit.Filter{Action: audit.ClientUpdate})
	if len(evs) != 0 {
		t.Errorf("aborted update left %d audit events", len(evs))
	}
}

func testUpdateClientConcurrent(t *testing.T, s store.Store) {
	c := SampleClient(1)
	c.AllowedScopes = []string{}
	mustCreate(t, s, c)
	const n = 10
	var wg sync.WaitGroup
	var failures atomic.Int32
	for i := range n {
		wg.Go(func() {
			_, err := s.UpdateClient(context.Background(), c.ID, func(old client.Client) (client.Client, audit.Event, error) {
				old.AllowedScopes = append(old.AllowedScopes, fmt.Sprintf("s%d", i))
				return old, Event(audit.ClientUpdate, c.ID), nil
			})
			if err != nil {
				failures.Add(1)
				t.Errorf("concurrent update: %v", err)
			}
		})
	}
	wg.Wait()
	got, err := s.GetClient(ctx(t), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.AllowedScopes) != n-int(failures.Load()) {
		t.Errorf("lost updates: %d scopes after %d read-modify-writes", len(got.AllowedScopes), n)
	}
}

func testDeleteClient(t *testing.T, s store.Store) {
	c := SampleClient(1)
	mustCreate(t, s, c)
	if err := s.DeleteClient(ctx(t), c.ID, Event(audit.ClientDelete, c.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetClient(ctx(t), c.ID); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	if err := s.DeleteClient(ctx(t), c.ID, Event(audit.ClientDelete, c.ID)); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	// The client_id may be registered again (secrets went with the row).
	c2 := SampleClient(2)
	c2.ClientID = c.ClientID
	mustCreate(t, s, c2)
}

func testAuditWrittenWithChange(t *testing.T, s store.Store) {
	c := SampleClient(1)
	ev := Event(audit.ClientCreate, c.ID)
	if err := s.CreateClient(ctx(t), c, ev); err != nil {
		t.Fatal(err)
	}
	// A failed create writes no event.
	if err := s.CreateClient(ctx(t), c, Event(audit.ClientCreate, c.ID)); !errors.Is(err, client.ErrConflict) {
		t.Fatalf("duplicate: %v", err)
	}
	evs, err := s.ListAudit(ctx(t), audit.Filter{})
	if err != nil || len(evs) != 1 {
		t.Fatalf("ListAudit = %d events, %v; want 1", len(evs), err)
	}
	got := evs[0]
	if got.ID != ev.ID || !got.Time.Equal(ev.Time) || got.ActorSubject != "tester" || got.ActorClientID != "tester-client" ||
		got.Action != audit.ClientCreate || got.TargetType != "client" || got.TargetID != c.ID || string(got.Details) != `{"k":"v"}` {
		t.Errorf("event round trip: got %+v want %+v", got, ev)
	}
}

func testAuditFilterAndPagination(t *testing.T, s store.Store) {
	cs := seq(3)
	for _, c := range cs {
		mustCreate(t, s, c)
	}
	if err := s.DeleteClient(ctx(t), cs[0].ID, Event(audit.ClientDelete, cs[0].ID)); err != nil {
		t.Fatal(err)
	}
	all, err := s.ListAudit(ctx(t), audit.Filter{})
	if err != nil || len(all) != 4 {
		t.Fatalf("all: %d, %v", len(all), err)
	}
	if all[0].Action != audit.ClientDelete {
		t.Errorf("newest first: got %s first", all[0].Action)
	}
	byTarget, _ := s.ListAudit(ctx(t), audit.Filter{TargetID: cs[0].ID})
	byAction, _ := s.ListAudit(ctx(t), audit.Filter{Action: audit.ClientCreate})
	byActor, _ := s.ListAudit(ctx(t), audit.Filter{Actor: "nobody"})
	if len(byTarget) != 2 || len(byAction) != 3 || len(byActor) != 0 {
		t.Errorf("filters: target %d action %d actor %d; want 2 3 0", len(byTarget), len(byAction), len(byActor))
	}
	page1, _ := s.ListAudit(ctx(t), audit.Filter{Limit: 3})
	last := page1[len(page1)-1]
	page2, _ := s.ListAudit(ctx(t), audit.Filter{Limit: 3, BeforeTime: last.Time, BeforeID: last.ID})
	if len(page1) != 3 || len(page2) != 1 || page2[0].ID != all[3].ID {
		t.Errorf("pagination: %d then %d", len(page1), len(page2))
	}
}

func sampleUser(n int, bot bool) user.User {
	return user.User{
		ID: fmt.Sprintf("user-%d", n), Username: fmt.Sprintf("name%d", n), DisplayName: fmt.Sprintf("User %d ✓", n), Bot: bot,
		PasswordHash: map[bool]string{false: "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA", true: ""}[bot],
		CreatedAt:    base.Add(time.Duration(n) * time.Microsecond), UpdatedAt: base.Add(time.Hour),
	}
}

func testUsers(t *testing.T, s store.Store) {
	u := sampleUser(1, false)
	b := sampleUser(2, true)
	for _, x := range []user.User{u, b} {
		if err := s.CreateUser(ctx(t), x, Event(audit.UserCreate, x.ID)); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []user.User{u, b} {
		got, err := s.GetUser(ctx(t), want.ID)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("GetUser: got %+v, %v; want %+v", got, err, want)
		}
		got, err = s.GetUserByUsername(ctx(t), want.Username)
		if err != nil || got.ID != want.ID {
			t.Errorf("GetUserByUsername: %+v, %v", got, err)
		}
	}
	if _, err := s.GetUser(ctx(t), "missing"); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("missing user: %v", err)
	}
	dupName := sampleUser(3, false)
	dupName.Username = u.Username
	dupID := sampleUser(4, false)
	dupID.ID = u.ID
	for _, d := range []user.User{dupName, dupID} {
		if err := s.CreateUser(ctx(t), d, Event(audit.UserCreate, d.ID)); !errors.Is(err, user.ErrConflict) {
			t.Errorf("duplicate user %+v: got %v, want ErrConflict", d, err)
		}
	}
	evs, _ := s.ListAudit(ctx(t), audit.Filter{Action: audit.UserCreate})
	if len(evs) != 2 {
		t.Errorf("user.create events: %d, want 2", len(evs))
	}
}

func testUsersPagination(t *testing.T, s store.Store) {
	if us, err := s.ListUsers(ctx(t), user.Page{Limit: 5}); err != nil || len(us) != 0 || us == nil {
		t.Fatalf("empty: %v, %v", us, err)
	}
	for i := range 3 {
		u := sampleUser(i, i%2 == 0)
		if err := s.CreateUser(ctx(t), u, Event(audit.UserCreate, u.ID)); err != nil {
			t.Fatal(err)
		}
	}
	p1, err := s.ListUsers(ctx(t), user.Page{Limit: 2})
	if err != nil || len(p1) != 2 || p1[0].ID != "user-0" {
		t.Fatalf("page 1: %v, %v", p1, err)
	}
	p2, err := s.ListUsers(ctx(t), user.Page{Limit: 2, AfterCreated: p1[1].CreatedAt, AfterID: p1[1].ID})
	if err != nil || len(p2) != 1 || p2[0].ID != "user-2" {
		t.Fatalf("page 2: %v, %v", p2, err)
	}
}

func testBotUserReference(t *testing.T, s store.Store) {
	c := SampleClient(1)
	c.BotUserID = "no-such-user"
	if err := s.CreateClient(ctx(t), c, Event(audit.ClientCreate, c.ID)); err == nil {
		t.Fatal("client referencing a missing user was stored")
	}
	b := sampleUser(7, true)
	if err := s.CreateUser(ctx(t), b, Event(audit.UserCreate, b.ID)); err != nil {
		t.Fatal(err)
	}
	c.BotUserID = b.ID
	mustCreate(t, s, c)
	got, err := s.GetClient(ctx(t), c.ID)
	if err != nil || got.BotUserID != b.ID {
		t.Errorf("bot_user_id round trip: %q, %v", got.BotUserID, err)
	}
}

// testHostileIdentifiers: text no row can hold (NUL, invalid UTF-8) is a
// plain miss on every lookup, never an error (which the API would turn
// into a 500).
func testHostileIdentifiers(t *testing.T, s store.Store) {
	mustCreate(t, s, SampleClient(1))
	for _, bad := range []string{"\x00", "a\x00b", "\xff", "bad\xc3", "\xed\xa0\x80"} {
		if _, err := s.GetClient(ctx(t), bad); !errors.Is(err, client.ErrNotFound) {
			t.Errorf("GetClient(%q): %v", bad, err)
		}
		if _, err := s.GetClientByClientID(ctx(t), bad); !errors.Is(err, client.ErrNotFound) {
			t.Errorf("GetClientByClientID(%q): %v", bad, err)
		}
		if _, err := s.UpdateClient(ctx(t), bad, func(c client.Client) (client.Client, audit.Event, error) {
			return c, Event(audit.ClientUpdate, bad), nil
		}); !errors.Is(err, client.ErrNotFound) {
			t.Errorf("UpdateClient(%q): %v", bad, err)
		}
		if err := s.DeleteClient(ctx(t), bad, Event(audit.ClientDelete, "x")); !errors.Is(err, client.ErrNotFound) {
			t.Errorf("DeleteClient(%q): %v", bad, err)
		}
		if _, err := s.GetUser(ctx(t), bad); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("GetUser(%q): %v", bad, err)
		}
		if _, err := s.GetUserByUsername(ctx(t), bad); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("GetUserByUsername(%q): %v", bad, err)
		}
		for name, f := range map[string]client.Filter{"owner": {OwnerID: bad}, "prefix": {NamePrefix: bad}, "cursor": {AfterID: bad, AfterCreated: base}} {
			if cs, err := s.ListClients(ctx(t), f); err != nil || (name != "cursor" && len(cs) != 0) {
				t.Errorf("ListClients(%s %q): %d, %v", name, bad, len(cs), err)
			}
		}
		for _, f := range []audit.Filter{{Action: bad}, {TargetID: bad}, {Actor: bad}} {
			if evs, err := s.ListAudit(ctx(t), f); err != nil || len(evs) != 0 {
				t.Errorf("ListAudit(%+v): %d, %v", f, len(evs), err)
			}
		}
		if r, err := s.TokenRevoked(ctx(t), bad); err != nil || r {
			t.Errorf("TokenRevoked(%q): %v, %v", bad, r, err)
		}
	}
}
