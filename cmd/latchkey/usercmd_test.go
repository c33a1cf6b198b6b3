package main

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/api/admin"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/store/sqlite"
	"github.com/latchkey/latchkey/internal/store/storetest"
	"github.com/latchkey/latchkey/internal/user"
)

// fakeTerminal is a stdin that is a terminal: it answers password prompts
// with its lines, in turn.
type fakeTerminal struct{ lines []string }

func (f *fakeTerminal) Read([]byte) (int, error) {
	return 0, errors.New("read a terminal without ReadPassword")
}

func (f *fakeTerminal) readPassword() ([]byte, error) {
	if len(f.lines) == 0 {
		return nil, errors.New("no more input")
	}
	l := f.lines[0]
	f.lines = f.lines[1:]
	return []byte(l), nil
}

// A human user gets a password, from the environment or typed on a
// terminal without echo, or is made without one only when asked to with
// --no-password; never silently (issue 12 #7).
func TestCLIUserCreatePassword(t *testing.T) {
	for _, tc := range []struct {
		name      string
		args      []string
		env       string // LATCHKEY_USER_PASSWORD
		stdin     func() any
		wantCode  int // 0: created
		wantHash  bool
		wantInErr string
	}{
		{name: "human, no password anywhere", args: []string{"--name", "ann"}, wantCode: 2, wantInErr: "--no-password"},
		{name: "human, --no-password", args: []string{"--name", "ann", "--no-password"}},
		{name: "human, password from env", args: []string{"--name", "ann"}, env: "correct horse battery", wantHash: true},
		{name: "human, env and --no-password", args: []string{"--name", "ann", "--no-password"}, env: "correct horse battery", wantCode: 2, wantInErr: "--no-password"},
		{name: "human, typed on a terminal", args: []string{"--name", "ann"},
			stdin: func() any { return &fakeTerminal{lines: []string{"correct horse battery", "correct horse battery"}} }, wantHash: true},
		{name: "human, typed twice differently", args: []string{"--name", "ann"},
			stdin: func() any { return &fakeTerminal{lines: []string{"correct horse battery", "correct horse batterie"}} }, wantCode: 1, wantInErr: "do not match"},
		{name: "human, nothing typed", args: []string{"--name", "ann"},
			stdin: func() any { return &fakeTerminal{lines: []string{"", ""}} }, wantCode: 2, wantInErr: "--no-password"},
		{name: "bot, no password", args: []string{"--name", "robo", "--bot"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newCLIDB(t)
			var stdin any = strings.NewReader("")
			if tc.stdin != nil {
				stdin = tc.stdin()
			}
			var out, errOut bytes.Buffer
			argv := append([]string{"user", "create", "--db", d.dsn()}, tc.args...)
			env := map[string]string{"LATCHKEY_USER_PASSWORD": tc.env}
			err := run(context.Background(), argv, func(k string) string { return env[k] }, stdin.(interface{ Read([]byte) (int, error) }), &out, &errOut)
			if tc.wantCode != 0 {
				if err == nil || exitCode(err) != tc.wantCode || !strings.Contains(err.Error(), tc.wantInErr) {
					t.Fatalf("err = %v (exit %d), want exit %d mentioning %q", err, exitCode(err), tc.wantCode, tc.wantInErr)
				}
				if n := countUsers(t, d); n != 0 {
					t.Errorf("%d users created by a refused command", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\nstderr: %s", err, errOut.String())
			}
			name := tc.args[slices.Index(tc.args, "--name")+1]
			u := getUser(t, d, name)
			if (u.PasswordHash != "") != tc.wantHash {
				t.Errorf("password hash set = %v, want %v", u.PasswordHash != "", tc.wantHash)
			}
			if strings.Contains(errOut.String()+out.String(), "correct horse") {
				t.Error("the password was echoed")
			}
		})
	}
}

func TestCLIUserCreateDuplicateNamesUsername(t *testing.T) {
	d := newCLIDB(t)
	d.ok("user", "create", "--name", "ann", "--bot")
	msg, _ := d.fails(1, "user", "create", "--name", "ann", "--bot")
	if !strings.Contains(msg, `username "ann"`) || strings.Contains(msg, `id ""`) {
		t.Errorf("duplicate message: %s", msg)
	}
	msg, _ = d.fails(1, "user", "create", "--name", "bob", "--bot", "--id", getUser(t, d, "ann").ID)
	if !strings.Contains(msg, `id "`+getUser(t, d, "ann").ID+`"`) {
		t.Errorf("duplicate id message: %s", msg)
	}
}

func openCLIStore(t *testing.T, d *cliDB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), d.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func countUsers(t *testing.T, d *cliDB) int {
	t.Helper()
	us, err := openCLIStore(t, d).ListUsers(t.Context(), user.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return len(us)
}

func getUser(t *testing.T, d *cliDB, name string) user.User {
	t.Helper()
	u, err := openCLIStore(t, d).GetUserByUsername(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestCLIUserManage(t *testing.T) {
	d := newCLIDB(t)
	d.ok("user", "create", "--name", "ann", "--no-password", "--email", "Ann@Example.COM")
	d.ok("user", "create", "--name", "robo", "--bot", "--id", "bot-1")
	ann := getUser(t, d, "ann")

	// list and get, by id or by username in any case.
	var list struct{ Users []admin.UserJSON }
	d.okJSON(&list, "user", "list", "--json")
	if len(list.Users) != 2 || list.Users[0].Username != "ann" || list.Users[1].ID != "bot-1" {
		t.Fatalf("list: %+v", list.Users)
	}
	if out := d.ok("user", "list"); !strings.Contains(out, "ann") || !strings.Contains(out, "Ann@example.com") {
		t.Errorf("list table:\n%s", out)
	}
	var got struct{ User admin.UserJSON }
	for _, ref := range []string{ann.ID, "ANN"} {
		d.okJSON(&got, "user", "get", ref, "--json")
		if got.User.ID != ann.ID || got.User.Email == nil || *got.User.Email != "Ann@example.com" || !got.User.Enabled {
			t.Errorf("get %s: %+v", ref, got.User)
		}
	}
	if out := d.ok("user", "get", "ann"); !strings.Contains(out, "has_password:") || strings.Contains(out, "argon2") {
		t.Errorf("get table:\n%s", out)
	}

	// update
	d.okJSON(&got, "user", "update", "ann", "--name", "Ann.B", "--display-name", "Ann B", "--email-verified", "--json")
	if got.User.Username != "ann.b" || got.User.DisplayName != "Ann B" || !got.User.EmailVerified {
		t.Errorf("update: %+v", got.User)
	}
	d.ok("user", "update", ann.ID, "--email", "")
	if u := getUser(t, d, "ann.b"); u.Email != "" || u.EmailVerified {
		t.Errorf("email removed: %+v", u)
	}

	// disable, enable
	if out := d.ok("user", "disable", "ann.b"); !strings.Contains(out, "disabled user "+ann.ID) {
		t.Errorf("disable: %s", out)
	}
	if getUser(t, d, "ann.b").Enabled {
		t.Error("still enabled")
	}
	if out := d.ok("user", "disable", "ann.b"); !strings.Contains(out, "already disabled") {
		t.Errorf("disable twice: %s", out)
	}
	d.ok("user", "enable", "ann.b")
	if !getUser(t, d, "ann.b").Enabled {
		t.Error("not re-enabled")
	}

	// Every change is in the audit trail, as the operator's.
	evs, err := openCLIStore(t, d).ListAudit(t.Context(), audit.Filter{TargetID: ann.ID, Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range evs {
		actions = append(actions, ev.Action)
		if ev.ActorSubject != "cli" {
			t.Errorf("event %s by %q, want cli", ev.Action, ev.ActorSubject)
		}
	}
	if want := "user.enable user.disable user.update user.update user.create"; strings.Join(actions, " ") != want {
		t.Errorf("audit actions %v, want %s", actions, want)
	}

	// delete: a bot bound to a client cannot go while bound.
	st := openCLIStore(t, d)
	c := storetest.SampleClient(1)
	c.BotUserID = "bot-1"
	if err := st.CreateClient(t.Context(), c, storetest.Event(audit.ClientCreate, c.ID)); err != nil {
		t.Fatal(err)
	}
	if msg, _ := d.fails(1, "user", "delete", "robo"); !strings.Contains(msg, "bot of a client") {
		t.Errorf("delete bound bot: %s", msg)
	}
	d.ok("user", "delete", "ann.b")
	if msg, _ := d.fails(1, "user", "get", ann.ID); !strings.Contains(msg, "no user") {
		t.Errorf("get deleted: %s", msg)
	}

	// usage errors
	for _, args := range [][]string{
		{"user", "get"},
		{"user", "update", "robo"},
		{"user", "frobnicate"},
		{"user", "update", "robo", "--email", "not an address"},
	} {
		d.fails(2, args...)
	}
}

func TestCLIUserSetPassword(t *testing.T) {
	for _, tc := range []struct {
		name      string
		user      string
		env       string
		stdin     func() any
		wantCode  int
		wantInErr string
	}{
		{name: "from env", user: "ann", env: "correct horse battery"},
		{name: "typed on a terminal", user: "ann", stdin: func() any { return &fakeTerminal{lines: []string{"correct horse battery", "correct horse battery"}} }},
		{name: "typed twice differently", user: "ann", stdin: func() any { return &fakeTerminal{lines: []string{"correct horse battery", "correct horse batterie"}} }, wantCode: 1, wantInErr: "do not match"},
		{name: "nothing typed", user: "ann", stdin: func() any { return &fakeTerminal{lines: []string{""}} }, wantCode: 2, wantInErr: "no password"},
		{name: "no terminal, no env", user: "ann", wantCode: 2, wantInErr: "LATCHKEY_USER_PASSWORD"},
		{name: "too short", user: "ann", env: "short", wantCode: 2, wantInErr: "password"},
		{name: "bot", user: "robo", env: "correct horse battery", wantCode: 2, wantInErr: "bot"},
		{name: "unknown user", user: "nobody", env: "correct horse battery", wantCode: 1, wantInErr: "no user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newCLIDB(t)
			d.ok("user", "create", "--name", "ann", "--no-password")
			d.ok("user", "create", "--name", "robo", "--bot")
			var stdin any = strings.NewReader("")
			if tc.stdin != nil {
				stdin = tc.stdin()
			}
			var out, errOut bytes.Buffer
			env := map[string]string{"LATCHKEY_USER_PASSWORD": tc.env}
			err := run(context.Background(), []string{"user", "set-password", tc.user, "--db", d.dsn()}, func(k string) string { return env[k] },
				stdin.(interface{ Read([]byte) (int, error) }), &out, &errOut)
			if strings.Contains(out.String()+errOut.String(), "correct horse") {
				t.Error("the password was echoed")
			}
			if tc.wantCode != 0 {
				if err == nil || exitCode(err) != tc.wantCode || !strings.Contains(err.Error(), tc.wantInErr) {
					t.Fatalf("err = %v (exit %d), want exit %d mentioning %q", err, exitCode(err), tc.wantCode, tc.wantInErr)
				}
				if getUser(t, d, "ann").PasswordHash != "" {
					t.Error("a refused command set a password")
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\nstderr: %s", err, errOut.String())
			}
			u := getUser(t, d, "ann")
			if !user.VerifyPassword(u.PasswordHash, "correct horse battery") {
				t.Error("the stored hash does not verify the new password")
			}
		})
	}
	// There is no flag for the password.
	d := newCLIDB(t)
	d.ok("user", "create", "--name", "ann", "--no-password")
	d.fails(2, "user", "set-password", "ann", "--password", "correct horse battery")
}
