package main

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/store/sqlite"
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
