package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/latchkey/latchkey/internal/api/admin"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/user"
	"golang.org/x/term"
)

const userSynopsis = "user create --name USERNAME [--bot] [--id ID] [--display-name NAME] [--email E] [--no-password] [--json]"

const userUsage = `Usage: latchkey user create|list|get|update|enable|disable|delete|set-password|consents|revoke-consent|grants|revoke-grants ...

  latchkey ` + userSynopsis + `
  latchkey user list [--limit N] [--all] [--json]
  latchkey user get ID [--json]
  latchkey user update ID [--name USERNAME] [--display-name NAME] [--email E] [--email-verified=true|false] [--json]
  latchkey user enable|disable ID
  latchkey user delete ID
  latchkey user set-password ID
  latchkey user consents ID [--json]
  latchkey user revoke-consent ID [CLIENT_ID]
  latchkey user grants ID [--json]
  latchkey user revoke-grants ID [--grant GRANT_ID]

ID is a user's id or username. Subcommands:
  create        create a user straight in the database; a human user's password is
                read from LATCHKEY_USER_PASSWORD, else asked for on the terminal
                (not echoed); --no-password makes a user who cannot log in yet
  list          list users, oldest first
  get           show a user (never the password or its hash)
  update        change a username, display name or email (a new email is
                unverified unless --email-verified is given)
  enable        let a disabled user log in again
  disable       stop a user logging in
  delete        delete a user; a bot cannot be deleted while a client names it
  set-password  give a human user a new password, read from LATCHKEY_USER_PASSWORD
                or else typed twice on the terminal (not echoed); never a flag
  consents      list the clients the user allowed at the consent page, with scopes and resources
  revoke-consent  forget the user's consent to CLIENT_ID (or to every client),
                so the consent page is shown again
  grants        list the user's live grants (refresh token families), newest first
  revoke-grants revoke all the user's grants, or one (--grant): their refresh
                tokens and every access token issued from them stop working
`

// userCommands are the subcommands of latchkey user but create, which
// needs stdin (runUser).
var userCommands = map[string]command{
	"list":   runUserList,
	"get":    runUserGet,
	"update": runUserUpdate,
	"enable": func(ctx context.Context, a []string, g func(string) string, o, e io.Writer) error {
		return runUserSetEnabled(ctx, a, g, o, e, true)
	},
	"disable": func(ctx context.Context, a []string, g func(string) string, o, e io.Writer) error {
		return runUserSetEnabled(ctx, a, g, o, e, false)
	},
	"delete": runUserDelete,
	// Remembered consents (usercmd_consents.go).
	"consents":       runUserConsents,
	"revoke-consent": runUserRevokeConsent,
	"grants":         runUserGrants,
	"revoke-grants":  runUserRevokeGrants,
}

func runUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmds := maps.Clone(userCommands)
	cmds["create"] = func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
		return runUserCreate(ctx, args, getenv, stdin, stdout, stderr)
	}
	cmds["set-password"] = func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
		return runUserSetPassword(ctx, args, getenv, stdin, stdout, stderr)
	}
	return dispatch(ctx, cmds, userUsage, "user needs a subcommand", "user subcommand", args, getenv, stdout, stderr)
}

func runUserCreate(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	var (
		cfg                          config.Store
		name, id, displayName, email string
		bot, asJSON, noPass          bool
	)
	fs := newFlagSet("user create", userSynopsis, stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	fs.StringVar(&name, "name", "", "username (required)")
	fs.StringVar(&id, "id", "", "user id (default: generated); lets you keep ids from another system")
	fs.StringVar(&displayName, "display-name", "", "display name")
	fs.StringVar(&email, "email", "", "email address (name@example.com), unverified")
	fs.BoolVar(&bot, "bot", false, "create a bot user (owns M2M clients, cannot log in)")
	fs.BoolVar(&noPass, "no-password", false, "create a human user without a password (who cannot log in until given one)")
	fs.BoolVar(&asJSON, "json", false, "print the user as one JSON object")
	if err := parseFlags(fs, args); err != nil {
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
		ID: id, Username: name, DisplayName: displayName, Bot: bot, Password: password, Email: email,
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
	return readTwice(stdin, stderr, passwordPrompt{
		prompt:      "Password for " + name + ": ",
		notTerminal: "a human user needs a password: set LATCHKEY_USER_PASSWORD, run on a terminal to be asked for it, or give --no-password",
		empty:       "no password typed; give --no-password for a user without one",
		mismatch:    "the passwords do not match; nothing was created",
	})
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

// openUser opens the store and finds the user named by ref: its id, or
// else its username (in any spelling that canonicalises to it).
func openUser(ctx context.Context, cfg config.Store, stderr io.Writer, ref string) (*user.Service, user.User, func(), error) {
	b, svc, u, err := openUserBackend(ctx, cfg, stderr, ref)
	if err != nil {
		return nil, user.User{}, nil, err
	}
	return svc, u, func() { b.store.Close() }, nil
}

// openUserBackend opens the store and finds the user ref names (an id or
// a username); the caller closes b.store.
func openUserBackend(ctx context.Context, cfg config.Store, stderr io.Writer, ref string) (*backend, *user.Service, user.User, error) {
	b, err := openExistingBackend(ctx, cfg, stderr, true)
	if err != nil {
		return nil, nil, user.User{}, err
	}
	svc := user.NewService(b.store, nil)
	u, err := svc.Get(ctx, ref)
	if errors.Is(err, user.ErrNotFound) {
		if name, cerr := user.CanonicalUsername(ref); cerr == nil {
			u, err = b.store.GetUserByUsername(ctx, name)
		}
	}
	if err != nil {
		b.store.Close()
		return nil, nil, user.User{}, userError(err, ref)
	}
	return b, svc, u, nil
}

// parseAndOpenUser parses flags around one ID argument and opens that user.
func parseAndOpenUser(ctx context.Context, fs *flag.FlagSet, args []string, cfg *config.Store, stderr io.Writer) (*user.Service, user.User, func(), error) {
	ref, err := parseUserID(fs, args)
	if err != nil {
		return nil, user.User{}, nil, err
	}
	return openUser(ctx, *cfg, stderr, ref)
}

func parseUserID(fs *flag.FlagSet, args []string) (string, error) {
	ref, err := parseFlagsWithID(fs, args)
	if err != nil && ref == "" && strings.Contains(err.Error(), "needs an ID") {
		return "", fmt.Errorf("%w: %s needs an ID (a user's id or username)", errUsage, fs.Name())
	}
	return ref, err
}

// userError words the user core's errors for the command line.
func userError(err error, ref string) error {
	var ve *domain.ValidationError
	switch {
	case errors.As(err, &ve):
		return fmt.Errorf("%w: %v", errUsage, ve)
	case errors.Is(err, user.ErrNotFound):
		return fmt.Errorf("no user has the id or username %q", ref)
	case errors.Is(err, user.ErrInUse):
		return fmt.Errorf("user %q is the bot of a client: delete the client (or give it another bot) first", ref)
	case errors.Is(err, user.ErrConflict):
		return fmt.Errorf("another user has that username")
	}
	return err
}

// userResponse is the JSON the single-user subcommands print, the admin
// API's {"user":{...}}.
type userResponse struct {
	User admin.UserJSON `json:"user"`
}

func printUser(w io.Writer, u user.User) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	field := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, orDash(v)) }
	field("id", u.ID)
	field("username", u.Username)
	field("display_name", u.DisplayName)
	field("email", u.Email)
	field("email_verified", strconv.FormatBool(u.EmailVerified))
	field("bot", strconv.FormatBool(u.Bot))
	field("enabled", strconv.FormatBool(u.Enabled))
	field("brand_id", u.BrandID)
	field("has_password", strconv.FormatBool(u.PasswordHash != ""))
	field("created_at", cliTime(u.CreatedAt))
	field("updated_at", cliTime(u.UpdatedAt))
	return tw.Flush()
}

func runUserList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config.Store
	var lf listFlags
	fs := newFlagSet("user list", "user list [--limit N] [--all] [--json]\n\nUsers, oldest first.", stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	lf.add(fs, "users")
	if err := lf.parse(fs, args); err != nil {
		return err
	}
	b, err := openExistingBackend(ctx, cfg, stderr, true)
	if err != nil {
		return err
	}
	defer b.store.Close()
	us, err := listPages(lf, "users", stderr, func(after user.User, limit int) ([]user.User, error) {
		return b.store.ListUsers(ctx, user.Page{AfterCreated: after.CreatedAt, AfterID: after.ID, Limit: limit})
	})
	if err != nil {
		return err
	}
	if lf.asJSON {
		return printJSON(stdout, struct {
			Users []admin.UserJSON `json:"users"`
		}{Users: jsonList(us, admin.UserToJSON)})
	}
	tw := newTable(stdout, "ID\tUSERNAME\tDISPLAY_NAME\tEMAIL\tBOT\tENABLED\tCREATED")
	for _, u := range us {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\t%t\t%s\n", u.ID, u.Username, orDash(u.DisplayName), orDash(u.Email), u.Bot, u.Enabled, cliTime(u.CreatedAt))
	}
	return tw.Flush()
}

func runUserGet(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		cfg    config.Store
		asJSON bool
	)
	fs := newFlagSet("user get", "user get ID [--json]\n\nID is the user's id or username. The password is never shown.", stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	fs.BoolVar(&asJSON, "json", false, `print {"user":{...}}`)
	_, u, closeDB, err := parseAndOpenUser(ctx, fs, args, &cfg, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	if asJSON {
		return printJSON(stdout, userResponse{User: admin.UserToJSON(u)})
	}
	return printUser(stdout, u)
}

func runUserUpdate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		cfg                      config.Store
		name, displayName, email string
		verified, asJSON         bool
	)
	fs := newFlagSet("user update", "user update ID [--name USERNAME] [--display-name NAME] [--email E] [--email-verified=true|false] [--json]\n\nOnly the fields given change. --email \"\" removes the email; a new email is\nunverified unless --email-verified is given too.", stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	fs.StringVar(&name, "name", "", "new username (must be free)")
	fs.StringVar(&displayName, "display-name", "", "new display name")
	fs.StringVar(&email, "email", "", "new email address; \"\" removes it")
	fs.BoolVar(&verified, "email-verified", false, "mark the email verified (--email-verified=false unmarks it)")
	fs.BoolVar(&asJSON, "json", false, `print the updated user as {"user":{...}}`)
	ref, err := parseUserID(fs, args)
	if err != nil {
		return err
	}
	var p user.Patch
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "name":
			p.Username = &name
		case "display-name":
			p.DisplayName = &displayName
		case "email":
			p.Email = &email
		case "email-verified":
			p.EmailVerified = &verified
		}
	})
	if p == (user.Patch{}) {
		fs.Usage()
		return fmt.Errorf("%w: nothing to update: give at least one of --name, --display-name, --email, --email-verified", errUsage)
	}
	svc, u, closeDB, err := openUser(ctx, cfg, stderr, ref)
	if err != nil {
		return err
	}
	defer closeDB()
	if u, err = svc.Update(ctx, cliActor, u.ID, p); err != nil {
		return userError(err, ref)
	}
	if asJSON {
		return printJSON(stdout, userResponse{User: admin.UserToJSON(u)})
	}
	fmt.Fprintf(stdout, "updated user %s\n", u.ID)
	return printUser(stdout, u)
}

func runUserSetEnabled(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, enable bool) error {
	verb, effect := "disable", "they can no longer log in"
	if enable {
		verb, effect = "enable", "they may log in again"
	}
	var cfg config.Store
	fs := newFlagSet("user "+verb, "user "+verb+" ID\n\n"+strings.ToUpper(verb[:1])+verb[1:]+" a user: "+effect+".", stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	svc, u, closeDB, err := parseAndOpenUser(ctx, fs, args, &cfg, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	if u.Enabled == enable {
		fmt.Fprintf(stdout, "user %s (%s) is already %sd\n", u.ID, u.Username, verb)
		return nil
	}
	if _, err := svc.SetEnabled(ctx, cliActor, u.ID, enable); err != nil {
		return userError(err, u.ID)
	}
	fmt.Fprintf(stdout, "%sd user %s (%s)\n", verb, u.ID, u.Username)
	return nil
}

func runUserDelete(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config.Store
	fs := newFlagSet("user delete", "user delete ID\n\nDelete a user for good. A bot user cannot be deleted while a client names it\nas its bot. The id stays reserved: no later user or client can take it.", stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	svc, u, closeDB, err := parseAndOpenUser(ctx, fs, args, &cfg, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	if err := svc.Delete(ctx, cliActor, u.ID); err != nil {
		return userError(err, u.ID)
	}
	fmt.Fprintf(stdout, "deleted user %s (%s)\n", u.ID, u.Username)
	return nil
}

func runUserSetPassword(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	var cfg config.Store
	fs := newFlagSet("user set-password", "user set-password ID\n\nGive a human user a new password: from LATCHKEY_USER_PASSWORD, or else typed\ntwice on the terminal without echo. There is no flag for it, so it never\nappears in a process list or shell history.", stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	ref, err := parseUserID(fs, args)
	if err != nil {
		return err
	}
	svc, u, closeDB, err := openUser(ctx, cfg, stderr, ref)
	if err != nil {
		return err
	}
	defer closeDB()
	if u.Bot {
		return fmt.Errorf("%w: %s is a bot user, which cannot have a password", errUsage, u.Username)
	}
	password := getenv("LATCHKEY_USER_PASSWORD")
	if password == "" {
		if password, err = typedPassword(u.Username, stdin, stderr); err != nil {
			return err
		}
	}
	if _, err := svc.SetPassword(ctx, cliActor, u.ID, password); err != nil {
		return userError(err, ref)
	}
	fmt.Fprintf(stdout, "set the password of user %s (%s)\n", u.ID, u.Username)
	return nil
}

// typedPassword asks for a password twice on the terminal stdin, without
// echo; stdin that is not a terminal is a usage error.
func typedPassword(name string, stdin io.Reader, stderr io.Writer) (string, error) {
	return readTwice(stdin, stderr, passwordPrompt{
		prompt:      "New password for " + name + ": ",
		notTerminal: "set LATCHKEY_USER_PASSWORD, or run on a terminal to be asked for the password",
		empty:       "no password typed; nothing changed",
		mismatch:    "the passwords do not match; nothing changed",
	})
}

// passwordPrompt is what readTwice says: the prompt, and the messages of
// its three refusals.
type passwordPrompt struct{ prompt, notTerminal, empty, mismatch string }

// readTwice reads a password twice from the terminal stdin without echo,
// prompting on stderr; the two must match and not be empty.
func readTwice(stdin io.Reader, stderr io.Writer, p passwordPrompt) (string, error) {
	t, ok := asTerminal(stdin)
	if !ok {
		return "", fmt.Errorf("%w: %s", errUsage, p.notTerminal)
	}
	fmt.Fprint(stderr, p.prompt)
	p1, err := t.readPassword()
	fmt.Fprintln(stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if len(p1) == 0 {
		return "", fmt.Errorf("%w: %s", errUsage, p.empty)
	}
	fmt.Fprint(stderr, "Again: ")
	p2, err := t.readPassword()
	fmt.Fprintln(stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if string(p1) != string(p2) {
		return "", errors.New(p.mismatch)
	}
	return string(p1), nil
}
