package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/latchkey/latchkey/internal/api/admin"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/user"
)

const userUsage = `Usage: latchkey user create --name USERNAME [--bot] [--id ID] [--display-name NAME] [--json]

Subcommands:
  create    create a user straight in the database; a human user's password is read from LATCHKEY_USER_PASSWORD
`

func runUser(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
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
		bot, asJSON           bool
	)
	fs := newFlagSet("user create", "user create --name USERNAME [--bot] [--id ID] [--display-name NAME] [--json]", stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	fs.StringVar(&name, "name", "", "username (required)")
	fs.StringVar(&id, "id", "", "user id (default: generated); lets you keep ids from another system")
	fs.StringVar(&displayName, "display-name", "", "display name")
	fs.BoolVar(&bot, "bot", false, "create a bot user (owns M2M clients, cannot log in)")
	fs.BoolVar(&asJSON, "json", false, "print the user as one JSON object")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if name == "" {
		fs.Usage()
		return fmt.Errorf("%w: --name is required", errUsage)
	}
	b, err := openBackend(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer b.store.Close()
	u, err := user.NewService(b.store, nil).Create(ctx, domain.Actor{Subject: "cli"}, user.CreateInput{
		ID: id, Username: name, DisplayName: displayName, Bot: bot, Password: getenv("LATCHKEY_USER_PASSWORD"),
	})
	var ve *domain.ValidationError
	switch {
	case errors.As(err, &ve):
		return fmt.Errorf("%w: %v", errUsage, ve)
	case errors.Is(err, user.ErrConflict):
		return fmt.Errorf("a user with id %q or username %q already exists, or a client has that id as its client_id (users and clients share one subject namespace)", id, name)
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
