package bootstrap_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/internal/bootstrap"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/store/sqlite"
	"github.com/latchkey/latchkey/internal/user"
)

func userService(t *testing.T) *user.Service {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return user.NewService(st, nil)
}

var printedPassword = regexp.MustCompile(`password: (\S+)`)

// The first start creates a user who can sign in and prints the password
// once; a restart prints nothing and keeps the user (and its password).
func TestAdminUserCreatedOncePrintedOnce(t *testing.T) {
	users := userService(t)
	var out bytes.Buffer
	if hashed, err := bootstrap.AdminUser(t.Context(), users, bootstrap.Choice{}, &out); err != nil || !hashed {
		t.Fatalf("first start: hashed %v, %v", hashed, err)
	}
	m := printedPassword.FindStringSubmatch(out.String())
	if m == nil || !strings.Contains(out.String(), "shown ONCE") || !strings.Contains(out.String(), "username: admin") {
		t.Fatalf("output:\n%s", out.String())
	}
	u, err := users.Authenticate(t.Context(), "admin", m[1])
	if err != nil || u.ID != bootstrap.AdminUserID || u.Bot || !u.Enabled || u.BrandID != user.DefaultBrand {
		t.Fatalf("sign in with the printed password: %+v, %v", u, err)
	}
	out.Reset()
	if hashed, err := bootstrap.AdminUser(t.Context(), users, bootstrap.Choice{}, &out); err != nil || hashed {
		t.Fatalf("restart: hashed %v, %v", hashed, err)
	}
	if out.Len() != 0 {
		t.Errorf("restart printed %q", out.String())
	}
	if _, err := users.Authenticate(t.Context(), "admin", m[1]); err != nil {
		t.Errorf("restart changed the password: %v", err)
	}
}

// Deleted by the operator, the admin user is not recreated by a restart:
// its id stays claimed.
func TestAdminUserNotRecreatedAfterDelete(t *testing.T) {
	users := userService(t)
	if _, err := bootstrap.AdminUser(t.Context(), users, bootstrap.Choice{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if err := users.Delete(t.Context(), domain.Actor{Root: true}, bootstrap.AdminUserID); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := bootstrap.AdminUser(t.Context(), users, bootstrap.Choice{}, &out); err != nil {
		t.Fatal(err)
	}
	if _, err := users.Get(t.Context(), bootstrap.AdminUserID); !errors.Is(err, user.ErrNotFound) || out.Len() != 0 {
		t.Errorf("after delete and restart: %v, output %q", err, out.String())
	}
}

// A store that already has a user named admin keeps it untouched.
func TestAdminUserLeavesAnExistingAdminUsernameAlone(t *testing.T) {
	users := userService(t)
	mine, err := users.Create(t.Context(), domain.Actor{Root: true}, user.CreateInput{Username: "Admin", Password: "their own password"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := bootstrap.AdminUser(t.Context(), users, bootstrap.Choice{}, &out); err != nil {
		t.Fatal(err)
	}
	if u, err := users.Authenticate(t.Context(), "admin", "their own password"); err != nil || u.ID != mine.ID || out.Len() != 0 {
		t.Errorf("existing admin: %+v, %v, output %q", u, err, out.String())
	}
}

// Several nodes starting at once create one admin user and print one
// password.
func TestAdminUserConcurrentStarts(t *testing.T) {
	users := userService(t)
	var wg sync.WaitGroup
	outs := make([]bytes.Buffer, 4)
	errs := make([]error, len(outs))
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = bootstrap.AdminUser(t.Context(), users, bootstrap.Choice{}, &outs[i])
		}()
	}
	wg.Wait()
	printed := 0
	for i := range outs {
		if errs[i] != nil {
			t.Errorf("node %d: %v", i, errs[i])
		}
		if printedPassword.MatchString(outs[i].String()) {
			printed++
		}
	}
	list, err := users.List(t.Context(), user.Page{Limit: 10})
	if err != nil || len(list) != 1 || printed != 1 {
		t.Errorf("%d users (%v), %d passwords printed; want 1 and 1", len(list), err, printed)
	}
}

// A chosen password is used and never printed.
func TestAdminUserChosenPassword(t *testing.T) {
	users := userService(t)
	const pw = "chosen by automation"
	var out bytes.Buffer
	if _, err := bootstrap.AdminUser(t.Context(), users, bootstrap.Choice{AdminPassword: pw}, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), pw) || !strings.Contains(out.String(), bootstrap.EnvAdminPassword) {
		t.Errorf("output %q", out.String())
	}
	if _, err := users.Authenticate(t.Context(), "admin", pw); err != nil {
		t.Error(err)
	}
}

func TestChoiceFromEnvAdminPassword(t *testing.T) {
	for _, tc := range []struct {
		pw string
		ok bool
	}{{"", true}, {"long enough", true}, {"short", false}, {strings.Repeat("x", user.MaxPasswordLen+1), false}} {
		c, err := bootstrap.ChoiceFromEnv(func(k string) string {
			if k == bootstrap.EnvAdminPassword {
				return tc.pw
			}
			return ""
		})
		if (err == nil) != tc.ok || tc.ok && c.AdminPassword != tc.pw || !tc.ok && !strings.Contains(err.Error(), bootstrap.EnvAdminPassword) {
			t.Errorf("%d chars: %q, %v", len(tc.pw), c.AdminPassword, err)
		}
	}
}
