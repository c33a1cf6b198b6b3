// Command latchkey is the Latchkey OAuth 2.0 / OpenID Connect server and
// its administration CLI. main only wires things together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "latchkey:", err)
		}
		os.Exit(exitCode(err))
	}
}

func exitCode(err error) int {
	switch {
	case errors.Is(err, flag.ErrHelp): // -h asked for help: not a failure
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	return 1
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool { return arg == "-h" || arg == "--help" || arg == "help" }

var errUsage = errors.New("usage error")

const usage = `latchkey — OAuth 2.0 / OpenID Connect authorization server

Usage:
  latchkey serve [flags]            run the server (migrations run on start)
  latchkey client create [flags]    register a client directly in the database
  latchkey client list [flags]      list clients (--type, --enabled, --owner, --name-prefix, --all, --json)
  latchkey client get ID            show a client, never its secrets (ID: id or client_id)
  latchkey client update ID [flags] change a client's name, scopes, URIs, grant types, ...
  latchkey client enable ID         let a disabled client get tokens again
  latchkey client disable ID        stop a client getting tokens; its tokens stop being active
  latchkey client delete ID         delete a client
  latchkey client rotate-secret ID  give a client a new secret; the old one works for --grace
  latchkey audit list [flags]       show the audit log, newest first
  latchkey user create [flags]      create a user (--bot for a bot user) in the database
  latchkey user list [flags]        list users (--limit, --all, --json)
  latchkey user get ID              show a user, never the password (ID: id or username)
  latchkey user update ID [flags]   change a user's username, display name, email
  latchkey user enable ID           let a disabled user log in again
  latchkey user disable ID          stop a user logging in
  latchkey user delete ID           delete a user (not a bot a client still names)
  latchkey user set-password ID     set a human user's password (LATCHKEY_USER_PASSWORD or the terminal)
  latchkey resource create|list|get|update|delete
                                    RFC 8707 resources (APIs) tokens can be issued for
  latchkey user grants ID           list a user's live grants (refresh token families)
  latchkey user revoke-grants ID    revoke a user's grants (--grant GRANT_ID for one)
  latchkey migrate                  apply pending database migrations and exit
  latchkey migrate-store --from DSN --to DSN
                                    copy everything to a new store (e.g. SQLite to PostgreSQL)
  latchkey keys list|rotate         show signing keys; store a new one (signs after --key-publish-delay)
  latchkey version                  show the version and VCS revision latchkey was built from
  latchkey help                     show this help

Every flag has a LATCHKEY_* environment variable; run "latchkey COMMAND -h"
for a command's flags.
`

// command is a (sub)command: it runs with the arguments after its name.
type command func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error

// commands are latchkey's top-level commands.
var commands = map[string]command{
	"serve":         runServe,
	"client":        runClient,
	"audit":         runAudit,
	"keys":          runKeys,
	"resource":      runResource,
	"migrate":       runMigrate,
	"migrate-store": runMigrateStore,
	"version":       runVersion,
	"--version":     runVersion,
}

// run is the whole program; tests call it with their own arguments,
// environment and output streams.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmds := maps.Clone(commands)
	cmds["user"] = func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
		return runUser(ctx, args, getenv, stdin, stdout, stderr) // may ask for a password
	}
	return dispatch(ctx, cmds, usage, "no command given", "command", args, getenv, stdout, stderr)
}

// dispatch runs the command of cmds that args[0] names with the rest of
// args. Help prints usage to stdout; no command or an unknown one prints
// it to stderr and is a usage error, said with missing or "unknown
// <kind> NAME".
func dispatch(ctx context.Context, cmds map[string]command, usage, missing, kind string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: %s", errUsage, missing)
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: unknown %s %q", errUsage, kind, args[0])
	}
	return cmd(ctx, args[1:], getenv, stdout, stderr)
}

// newFlagSet returns a FlagSet that reports errors instead of exiting.
// Help asked for (-h, --help) goes to stdout, like `latchkey --help`; a
// bad flag's message and the usage go to stderr. Flags are listed as
// --flag, as the README writes them (Go accepts one dash or two).
func newFlagSet(name, synopsis string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// The flag package writes to Output only to report a bad flag, just
	// before it calls Usage; so Usage knows which of the two it serves.
	errOut := &wroteTo{w: stderr}
	fs.SetOutput(errOut)
	fs.Usage = func() {
		out := stdout
		if errOut.wrote {
			out = stderr
		}
		printUsage(out, fs, synopsis)
	}
	return fs
}

// wroteTo remembers whether anything was written through it.
type wroteTo struct {
	w     io.Writer
	wrote bool
}

func (w *wroteTo) Write(p []byte) (int, error) {
	w.wrote = true
	return w.w.Write(p)
}

// printUsage prints the synopsis and fs's flags in the layout of
// flag.PrintDefaults, but with two dashes.
func printUsage(w io.Writer, fs *flag.FlagSet, synopsis string) {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: latchkey %s\n\nFlags:\n", synopsis)
	fs.VisitAll(func(f *flag.Flag) {
		typ, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(&b, "  --%s", f.Name)
		if typ != "" {
			fmt.Fprintf(&b, " %s", typ)
		}
		b.WriteString("\n    \t")
		b.WriteString(strings.ReplaceAll(usage, "\n", "\n    \t"))
		switch f.DefValue {
		case "", "0", "false", "0s", "[]":
		default:
			if typ == "string" {
				fmt.Fprintf(&b, " (default %q)", f.DefValue)
			} else {
				fmt.Fprintf(&b, " (default %s)", f.DefValue)
			}
		}
		b.WriteString("\n")
	})
	_, _ = io.WriteString(w, b.String())
}

// parseFlags parses args, which must all be flags.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}

// parse parses args with fs; a bad flag is a usage error, -h is
// flag.ErrHelp.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}
