package user

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/clocktest"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/domain/domaintest"
)

// memRepo is an in-memory Repository with the stores' rules: unique
// usernames, and a bot bound to a client cannot be deleted.
type memRepo struct {
	mu     sync.Mutex
	users  map[string]User
	bound  map[string]bool
	events []audit.Event
}

func newMemRepo() *memRepo { return &memRepo{users: map[string]User{}, bound: map[string]bool{}} }

func (m *memRepo) CreateUser(_ context.Context, u User, ev audit.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.users {
		if o.ID == u.ID || o.Username == u.Username {
			return ErrConflict
		}
	}
	m.users[u.ID] = u
	m.events = append(m.events, ev)
	return nil
}

func (m *memRepo) GetUser(_ context.Context, id string) (User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return User{}, ErrNotFound
	}
	return u, nil
}

func (m *memRepo) GetUserByUsername(_ context.Context, name string) (User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.users {
		if u.Username == name {
			return u, nil
		}
	}
	return User{}, ErrNotFound
}

func (m *memRepo) ListUsers(context.Context, Page) ([]User, error) { return nil, nil }

func (m *memRepo) UpdateUser(_ context.Context, id string, fn func(User) (User, audit.Event, error)) (User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.users[id]
	if !ok {
		return User{}, ErrNotFound
	}
	u, ev, err := fn(old)
	if err != nil {
		return User{}, err
	}
	for _, o := range m.users {
		if o.ID != id && o.Username == u.Username {
			return User{}, ErrConflict
		}
	}
	m.users[id] = u
	m.events = append(m.events, ev)
	return u, nil
}

func (m *memRepo) DeleteUser(_ context.Context, id string, ev audit.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[id]; !ok {
		return ErrNotFound
	}
	if m.bound[id] {
		return ErrInUse
	}
	delete(m.users, id)
	m.events = append(m.events, ev)
	return nil
}

var admin = domain.Actor{Subject: "admin-client"}

func newTestService(t *testing.T) (*Service, *memRepo, *clocktest.Clock) {
	t.Helper()
	clock := clocktest.New(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	repo := newMemRepo()
	s := NewService(repo, clock.Now)
	for _, in := range []CreateInput{
		{ID: "alice", Username: "alice", Password: "correct horse", Email: "Alice@Example.COM"},
		{ID: "bob", Username: "bob"},
		{ID: "bot", Username: "bot", Bot: true},
	} {
		if _, err := s.Create(context.Background(), admin, in); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(time.Minute)
	return s, repo, clock
}

func ptr[T any](v T) *T { return &v }

func TestCreateDefaults(t *testing.T) {
	s, _, _ := newTestService(t)
	u, err := s.Get(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !u.Enabled || u.BrandID != DefaultBrand || u.Email != "Alice@example.com" || u.EmailVerified {
		t.Errorf("created user: enabled %v brand %q email %q verified %v; want true, %q, Alice@example.com, false",
			u.Enabled, u.BrandID, u.Email, u.EmailVerified, DefaultBrand)
	}
}

func TestCanonicalEmail(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"a@example.com", "a@example.com"},
		{"Alice.Smith+tag@Example.COM", "Alice.Smith+tag@example.com"},
		{"x@localhost", "x@localhost"},
	} {
		got, err := CanonicalEmail(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("CanonicalEmail(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{
		"alice", "@example.com", "alice@", "Alice <alice@example.com>", "<alice@example.com>",
		" alice@example.com", "alice@example.com ", "alice@@example.com", "a b@example.com",
		"alice@example.com\n", "alice@[127.0.0.1]", "alice@example.com, bob@example.com",
		strings.Repeat("a", 250) + "@e.co",
	} {
		if got, err := CanonicalEmail(bad); err == nil {
			t.Errorf("CanonicalEmail(%q) = %q, want an error", bad, got)
		}
	}
}

func TestUpdate(t *testing.T) {
	tests := []struct {
		name   string
		id     string
		patch  Patch
		check  func(t *testing.T, u User)
		action string // "" when nothing is recorded
	}{
		{"display name", "alice", Patch{DisplayName: ptr("Alice A.")},
			func(t *testing.T, u User) {
				if u.DisplayName != "Alice A." {
					t.Errorf("display name %q", u.DisplayName)
				}
			}, audit.UserUpdate},
		{"username canonicalised", "alice", Patch{Username: ptr("ALICE2")},
			func(t *testing.T, u User) {
				if u.Username != "alice2" {
					t.Errorf("username %q, want alice2", u.Username)
				}
			}, audit.UserUpdate},
		{"email verified", "alice", Patch{EmailVerified: ptr(true)},
			func(t *testing.T, u User) {
				if !u.EmailVerified {
					t.Error("not verified")
				}
			}, audit.UserUpdate},
		{"new email is unverified", "alice", Patch{Email: ptr("new@EXAMPLE.org")},
			func(t *testing.T, u User) {
				if u.Email != "new@example.org" || u.EmailVerified {
					t.Errorf("email %q verified %v", u.Email, u.EmailVerified)
				}
			}, audit.UserUpdate},
		{"new email verified in the same patch", "bob", Patch{Email: ptr("bob@example.com"), EmailVerified: ptr(true)},
			func(t *testing.T, u User) {
				if u.Email != "bob@example.com" || !u.EmailVerified {
					t.Errorf("email %q verified %v", u.Email, u.EmailVerified)
				}
			}, audit.UserUpdate},
		{"email removed", "alice", Patch{Email: ptr("")},
			func(t *testing.T, u User) {
				if u.Email != "" {
					t.Errorf("email %q", u.Email)
				}
			}, audit.UserUpdate},
		{"disable", "bob", Patch{Enabled: ptr(false)},
			func(t *testing.T, u User) {
				if u.Enabled {
					t.Error("still enabled")
				}
			}, audit.UserDisable},
		{"same values", "alice", Patch{Username: ptr("Alice"), Email: ptr("Alice@example.com"), Enabled: ptr(true)},
			func(t *testing.T, u User) {
				if !u.UpdatedAt.Before(time.Date(2026, 5, 1, 12, 0, 30, 0, time.UTC)) {
					t.Errorf("updated_at moved to %v for no change", u.UpdatedAt)
				}
			}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, repo, clock := newTestService(t)
			before := len(repo.events)
			u, err := s.Update(context.Background(), admin, tt.id, tt.patch)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, u)
			stored, _ := s.Get(context.Background(), tt.id)
			if stored != u {
				t.Errorf("stored %+v, returned %+v", stored, u)
			}
			events := repo.events[before:]
			if tt.action == "" {
				if len(events) != 0 {
					t.Errorf("events %+v for no change", events)
				}
				return
			}
			if len(events) != 1 || events[0].Action != tt.action || events[0].TargetID != tt.id || events[0].ActorSubject != admin.Subject {
				t.Fatalf("events %+v, want one %s", events, tt.action)
			}
			if !u.UpdatedAt.Equal(clock.Now().UTC().Truncate(time.Microsecond)) {
				t.Errorf("updated_at %v, want %v", u.UpdatedAt, clock.Now())
			}
		})
	}
}

func TestUpdateRefused(t *testing.T) {
	tests := []struct {
		name   string
		id     string
		patch  Patch
		want   error
		fields []string
	}{
		{"username taken", "alice", Patch{Username: ptr("BOB")}, ErrConflict, nil},
		{"bad username", "alice", Patch{Username: ptr("a b")}, nil, []string{"username"}},
		{"empty username", "alice", Patch{Username: ptr("")}, nil, []string{"username"}},
		{"bad email", "alice", Patch{Email: ptr("Alice <a@example.com>")}, nil, []string{"email"}},
		{"verified without email", "bob", Patch{EmailVerified: ptr(true)}, nil, []string{"email_verified"}},
		{"bad display name", "bob", Patch{DisplayName: ptr("a\x00")}, nil, []string{"display_name"}},
		{"missing", "nobody", Patch{DisplayName: ptr("x")}, ErrNotFound, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, repo, _ := newTestService(t)
			before, _ := s.Get(context.Background(), tt.id)
			events := len(repo.events)
			_, err := s.Update(context.Background(), admin, tt.id, tt.patch)
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.fields != nil {
				if got := domaintest.InvalidFields(t, err); strings.Join(got, ",") != strings.Join(tt.fields, ",") {
					t.Errorf("fields %v, want %v", got, tt.fields)
				}
			}
			if after, _ := s.Get(context.Background(), tt.id); after != before || len(repo.events) != events {
				t.Errorf("a refused update changed something: %+v -> %+v", before, after)
			}
		})
	}
}

func TestSetPassword(t *testing.T) {
	ctx := context.Background()
	s, repo, _ := newTestService(t)
	if _, err := s.Authenticate(ctx, "bob", "a new password"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("bob without a password: %v", err)
	}
	u, err := s.SetPassword(ctx, admin, "bob", "a new password")
	if err != nil || u.PasswordHash == "" {
		t.Fatalf("SetPassword: %+v, %v", u, err)
	}
	if _, err := s.Authenticate(ctx, "bob", "a new password"); err != nil {
		t.Errorf("Authenticate with the new password: %v", err)
	}
	last := repo.events[len(repo.events)-1]
	if last.Action != audit.UserSetPassword || strings.Contains(string(last.Details), "a new password") || strings.Contains(string(last.Details), "argon2") {
		t.Errorf("event %s %s", last.Action, last.Details)
	}
	for _, tc := range []struct{ id, pw string }{{"bot", "a long password"}, {"bob", "short"}, {"bob", strings.Repeat("p", MaxPasswordLen+1)}} {
		if _, err := s.SetPassword(ctx, admin, tc.id, tc.pw); domaintest.InvalidFields(t, err)[0] != "password" {
			t.Errorf("SetPassword(%s, %d bytes): %v", tc.id, len(tc.pw), err)
		}
	}
	if _, err := s.SetPassword(ctx, admin, "nobody", "a long password"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing user: %v", err)
	}
}

func TestDisabledUserCannotAuthenticate(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newTestService(t)
	if _, err := s.Authenticate(ctx, "alice", "correct horse"); err != nil {
		t.Fatalf("enabled: %v", err)
	}
	if _, err := s.SetEnabled(ctx, admin, "alice", false); err != nil {
		t.Fatal(err)
	}
	_, right := s.Authenticate(ctx, "alice", "correct horse")
	_, wrong := s.Authenticate(ctx, "alice", "wrong password")
	if !errors.Is(right, ErrBadLogin) || right != wrong {
		t.Errorf("disabled user: right password %v, wrong password %v; want both ErrBadLogin", right, wrong)
	}
	if _, err := s.SetEnabled(ctx, admin, "alice", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "alice", "correct horse"); err != nil {
		t.Errorf("re-enabled: %v", err)
	}
}

func TestDelete(t *testing.T) {
	ctx := context.Background()
	s, repo, _ := newTestService(t)
	repo.bound["bot"] = true
	if err := s.Delete(ctx, admin, "bot"); !errors.Is(err, ErrInUse) {
		t.Errorf("bound bot: %v, want ErrInUse", err)
	}
	if err := s.Delete(ctx, admin, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "bob"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted user: %v", err)
	}
	if last := repo.events[len(repo.events)-1]; last.Action != audit.UserDelete || last.TargetID != "bob" {
		t.Errorf("last event %+v", last)
	}
	if err := s.Delete(ctx, admin, "bob"); !errors.Is(err, ErrNotFound) {
		t.Errorf("twice: %v", err)
	}
}
