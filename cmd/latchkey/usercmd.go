package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/latchkey/latchkey/internal/api/admin"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/user"
	"golang.org/x/term"
)

const userSynopsis = "user create --name USERNAME [--bot] [--id ID] [--display-name NAME] [--no-password] [--json]"

const userUsage = `Usage: latchkey ` + userSynopsis + `

Subcommands:
  create    create a user straight in the database; a human user's password is
            read from LATCHKEY_USER_PASSWORD, else asked for on the terminal
            (not echoed); --no-password makes a user who cannot log in yet
`

func runUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, userUsage)
		return nil
	}
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprint(stderr, userUsage)
		return fmt.Errorf("%w: user needs the subcommand create", errUsage)
	}
	var (
		cfg                   config.Store
		name, id, displayName string
		bot, asJSON, noPass   bool
	)
	fs := newFlagSet("user create", userSynopsis, stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	fs.StringVar(&name, "name", "", "username (required)")
	fs.StringVar(&id, "id", "", "user id (default: generated); lets you keep ids from another system")
	fs.StringVar(&displayName, "display-name", "", "display name")
	fs.BoolVar(&bot, "bot", false, "create a bot user (owns M2M clients, cannot log in)")
	fs.BoolVar(&noPass, "no-password", false, "create a human user without a password (who cannot log in until given one)")
	fs.BoolVar(&asJSON, "json", false, "print the user as one JSON object")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if name == "" {
		fs.Usage()
		return fmt.Errorf("%w: --name is required", errUsage)
	}
	password := getenv("LATCHKEY_USER_PASSWORD")
	if !bot {
		var err error
		if password, err = humanPassword(password, noPass, name, stdin, stderr); err != nil {
			return err
		}
	}
	b, err := openBackend(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer b.store.Close()
	u, err := user.NewService(b.store, nil).Create(ctx, domain.Actor{Subject: "cli"}, user.CreateInput{
		ID: id, Username: name, DisplayName: displayName, Bot: bot, Password: password,
	})
	var ve *domain.ValidationError
	switch {
	case errors.As(err, &ve):
		return fmt.Errorf("%w: %v", errUsage, ve)
	case errors.Is(err, user.ErrConflict) && id == "":
		return fmt.Errorf("a user with username %q already exists", name)
	case errors.Is(err, user.ErrConflict):
		return fmt.Errorf("a user with username %q or id %q already exists, or a client has the client_id %q (users and clients share one subject namespace)", name, id, id)
	case err != nil:
		return err
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(admin.UserToJSON(u))
	}
	kind := "user"
	if u.Bot {
		kind = "bot user"
	}
	fmt.Fprintf(stdout, "created %s\nid:       %s\nusername: %s\n", kind, u.ID, u.Username)
	return nil
}

// humanPassword is a human user's password: fromEnv
// (LATCHKEY_USER_PASSWORD) if set, none if noPassword, else typed twice on
// the terminal stdin without echo. Anything else is a usage error, so no
// password-less user is made by accident.
func humanPassword(fromEnv string, noPassword bool, name string, stdin io.Reader, stderr io.Writer) (string, error) {
	switch {
	case noPassword && fromEnv != "":
		return "", fmt.Errorf("%w: LATCHKEY_USER_PASSWORD is set and --no-password given: choose one", errUsage)
	case noPassword || fromEnv != "":
		return fromEnv, nil
	}
	t, ok := asTerminal(stdin)
	if !ok {
		return "", fmt.Errorf("%w: a human user needs a password: set LATCHKEY_USER_PASSWORD, run on a terminal to be asked for it, or give --no-password", errUsage)
	}
	fmt.Fprintf(stderr, "Password for %s: ", name)
	p1, err := t.readPassword()
	fmt.Fprintln(stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if len(p1) == 0 {
		return "", fmt.Errorf("%w: no password typed; give --no-password for a user without one", errUsage)
	}
	fmt.Fprint(stderr, "Again: ")
	p2, err := t.readPassword()
	fmt.Fprintln(stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if string(p1) != string(p2) {
		return "", errors.New("the passwords do not match; nothing was created")
	}
	return string(p1), nil
}

// terminal reads a line without echoing it.
type terminal interface {
	readPassword() ([]byte, error)
}

type fileTerminal struct{ f *os.File }

func (t fileTerminal) readPassword() ([]byte, error) { return term.ReadPassword(int(t.f.Fd())) }

// asTerminal returns stdin as a terminal if it is one.
func asTerminal(stdin io.Reader) (terminal, bool) {
	switch s := stdin.(type) {
	case terminal:
		return s, true
	case *os.File:
		if term.IsTerminal(int(s.Fd())) {
			return fileTerminal{s}, true
		}
	}
	return nil, false
}
