package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/user"
)

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
