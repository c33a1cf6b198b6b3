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
		Enabled: n%3 != 1, BrandID: fmt.Sprintf("brand-%d", n%2),
		Email: map[bool]string{false: fmt.Sprintf("User.%d@example.com", n), true: ""}[bot], EmailVerified: n%2 == 0 && !bot,
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

func testUpdateUser(t *testing.T, s store.Store) {
	u, other, bot := sampleUser(1, false), sampleUser(2, false), sampleUser(3, true)
	for _, x := range []user.User{u, other, bot} {
		if err := s.CreateUser(ctx(t), x, Event(audit.UserCreate, x.ID)); err != nil {
			t.Fatal(err)
		}
	}
	want := u
	want.Username, want.DisplayName, want.Email, want.EmailVerified = "renamed", "Renamed ✓", "new@example.org", true
	want.Enabled, want.BrandID, want.PasswordHash = !u.Enabled, "brand-9", "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$bmV3"
	want.UpdatedAt = base.Add(2 * time.Hour)
	got, err := s.UpdateUser(ctx(t), u.ID, func(old user.User) (user.User, audit.Event, error) {
		if fmt.Sprint(old) != fmt.Sprint(u) {
			t.Errorf("fn got %+v, want %+v", old, u)
		}
		return want, Event(audit.UserUpdate, u.ID), nil
	})
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("UpdateUser = %+v, %v; want %+v", got, err, want)
	}
	for _, read := range []func() (user.User, error){
		func() (user.User, error) { return s.GetUser(ctx(t), u.ID) },
		func() (user.User, error) { return s.GetUserByUsername(ctx(t), "renamed") },
	} {
		if stored, err := read(); err != nil || fmt.Sprint(stored) != fmt.Sprint(want) {
			t.Errorf("stored %+v, %v; want %+v", stored, err, want)
		}
	}
	if _, err := s.GetUserByUsername(ctx(t), u.Username); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("old username still finds a user: %v", err)
	}
	// Clearing the email and password round-trips as "".
	cleared, err := s.UpdateUser(ctx(t), u.ID, func(old user.User) (user.User, audit.Event, error) {
		old.Email, old.EmailVerified, old.PasswordHash = "", false, ""
		return old, Event(audit.UserUpdate, u.ID), nil
	})
	if stored, _ := s.GetUser(ctx(t), u.ID); err != nil || stored.Email != "" || stored.PasswordHash != "" || fmt.Sprint(stored) != fmt.Sprint(cleared) {
		t.Errorf("cleared: %+v, %v; stored %+v", cleared, err, stored)
	}

	// Refused: another user's username, a missing user, an error from fn.
	// None changes anything or records an event.
	before, _ := s.ListAudit(ctx(t), audit.Filter{Action: audit.UserUpdate})
	if _, err := s.UpdateUser(ctx(t), u.ID, func(old user.User) (user.User, audit.Event, error) {
		old.Username = other.Username
		return old, Event(audit.UserUpdate, u.ID), nil
	}); !errors.Is(err, user.ErrConflict) {
		t.Errorf("taken username: %v, want ErrConflict", err)
	}
	if _, err := s.UpdateUser(ctx(t), "missing", func(old user.User) (user.User, audit.Event, error) {
		t.Error("fn called for a missing user")
		return old, Event(audit.UserUpdate, "missing"), nil
	}); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("missing user: %v", err)
	}
	abort := errors.New("abort")
	if _, err := s.UpdateUser(ctx(t), u.ID, func(old user.User) (user.User, audit.Event, error) {
		return user.User{}, audit.Event{}, abort
	}); !errors.Is(err, abort) {
		t.Errorf("fn error: %v", err)
	}
	after, _ := s.ListAudit(ctx(t), audit.Filter{Action: audit.UserUpdate})
	if stored, _ := s.GetUser(ctx(t), u.ID); fmt.Sprint(stored) != fmt.Sprint(cleared) || len(after) != len(before) || len(after) != 2 {
		t.Errorf("refused updates changed %+v to %+v, events %d -> %d", cleared, stored, len(before), len(after))
	}
}

func testDeleteUser(t *testing.T, s store.Store) {
	u, b := sampleUser(1, false), sampleUser(2, true)
	for _, x := range []user.User{u, b} {
		if err := s.CreateUser(ctx(t), x, Event(audit.UserCreate, x.ID)); err != nil {
			t.Fatal(err)
		}
	}
	c := SampleClient(1)
	c.BotUserID = b.ID
	mustCreate(t, s, c)
	if err := s.DeleteUser(ctx(t), b.ID, Event(audit.UserDelete, b.ID)); !errors.Is(err, user.ErrInUse) {
		t.Errorf("bound bot: %v, want ErrInUse", err)
	}
	if _, err := s.GetUser(ctx(t), b.ID); err != nil {
		t.Errorf("bound bot gone: %v", err)
	}
	if err := s.DeleteUser(ctx(t), u.ID, Event(audit.UserDelete, u.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUser(ctx(t), u.ID); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("deleted user: %v", err)
	}
	if err := s.DeleteUser(ctx(t), u.ID, Event(audit.UserDelete, u.ID)); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("deleting twice: %v, want ErrNotFound", err)
	}
	if evs, _ := s.ListAudit(ctx(t), audit.Filter{Action: audit.UserDelete}); len(evs) != 1 || evs[0].TargetID != u.ID {
		t.Errorf("user.delete events: %+v", evs)
	}
	// The deleted user's id stays a taken subject: no user or client gets it.
	again := sampleUser(5, false)
	again.ID = u.ID
	if err := s.CreateUser(ctx(t), again, Event(audit.UserCreate, again.ID)); !errors.Is(err, user.ErrConflict) {
		t.Errorf("new user with a deleted user's id: %v, want ErrConflict", err)
	}
	c2 := SampleClient(2)
	c2.ClientID = u.ID
	if err := s.CreateClient(ctx(t), c2, Event(audit.ClientCreate, c2.ID)); err == nil {
		t.Error("a client took a deleted user's id as its client_id")
	}
	// Once its client is gone, the bot can be deleted.
	if err := s.DeleteClient(ctx(t), c.ID, Event(audit.ClientDelete, c.ID)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx(t), b.ID, Event(audit.UserDelete, b.ID)); err != nil {
		t.Errorf("unbound bot: %v", err)
	}
}

// UserAccountsBackfill checks that migration 0007 gives users stored
// before it no email, an unverified one, enabled, and the default brand.
// undo runs the statements that take the migration back and reopens.
func UserAccountsBackfill(t *testing.T, s store.Store, undo func(statements []string) store.Store) {
	t.Helper()
	u := sampleUser(1, false)
	if err := s.CreateUser(ctx(t), u, Event(audit.UserCreate, u.ID)); err != nil {
		t.Fatal(err)
	}
	s = undo([]string{
		`ALTER TABLE users DROP COLUMN email`,
		`ALTER TABLE users DROP COLUMN email_verified`,
		`ALTER TABLE users DROP COLUMN enabled`,
		`ALTER TABLE users DROP COLUMN brand_id`,
		`DELETE FROM schema_migrations WHERE version = '0007_user_accounts'`,
	})
	got, err := s.GetUser(ctx(t), u.ID)
	if err != nil || got.Email != "" || got.EmailVerified || !got.Enabled || got.BrandID != user.DefaultBrand {
		t.Errorf("backfilled user: %+v, %v; want no email, unverified, enabled, brand %q", got, err, user.DefaultBrand)
	}
}
