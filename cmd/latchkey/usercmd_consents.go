package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/latchkey/latchkey/internal/api/admin"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/consent"
	"github.com/latchkey/latchkey/internal/oauth2/grant/refresh"
)

// consentsResponse is what `user consents --json` prints: the admin API's
// {"consents":[...]}.
type consentsResponse struct {
	Consents []admin.ConsentJSON `json:"consents"`
}

func runUserConsents(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		cfg    config.Store
		asJSON bool
	)
	fs := newFlagSet("user consents", "user consents ID [--json]\n\nList the clients the user allowed at the consent page, with the scopes and\nthe RFC 8707 resources (\"-\": none, this server's own audience only).", stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	fs.BoolVar(&asJSON, "json", false, `print {"consents":[...]}`)
	ref, err := parseUserID(fs, args)
	if err != nil {
		return err
	}
	b, _, u, err := openUserBackend(ctx, cfg, stderr, ref)
	if err != nil {
		return err
	}
	defer b.store.Close()
	gs, err := consent.NewService(b.store, nil, nil).List(ctx, u.ID)
	if err != nil {
		return err
	}
	if asJSON {
		out := consentsResponse{Consents: []admin.ConsentJSON{}}
		for _, g := range gs {
			out.Consents = append(out.Consents, admin.ConsentToJSON(g))
		}
		return printJSON(stdout, out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT_ID\tSCOPES\tRESOURCES\tUPDATED_AT")
	for _, g := range gs {
		resources := strings.Join(g.Resources, " ")
		if resources == "" {
			resources = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", g.ClientID, strings.Join(g.Scopes, " "), resources, cliTime(g.UpdatedAt))
	}
	return tw.Flush()
}

func runUserRevokeConsent(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config.Store
	fs := newFlagSet("user revoke-consent", "user revoke-consent ID [CLIENT_ID]\n\nForget the user's consent to CLIENT_ID, or to every client without it, so\nthat the consent page is shown again. The grants the user gave that client\n(or every client) are revoked too: their refresh tokens and every access\ntoken minted from them stop working at once.", stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	// Flags may come before, between or after the arguments.
	var pos []string
	for {
		if err := parse(fs, args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	var ref, clientID string
	switch len(pos) {
	case 1:
		ref = pos[0]
	case 2:
		ref, clientID = pos[0], pos[1]
		if !client.ValidID(clientID) {
			return fmt.Errorf("%w: %q is not a client_id", errUsage, clientID)
		}
	default:
		fs.Usage()
		return fmt.Errorf("%w: user revoke-consent needs a user's id or username, and optionally a client_id", errUsage)
	}
	b, _, u, err := openUserBackend(ctx, cfg, stderr, ref)
	if err != nil {
		return err
	}
	defer b.store.Close()
	grants, err := refresh.NewService(b.store, nil, cliGrantPolicy, nil)
	if err != nil {
		return err
	}
	rv, err := consent.NewService(b.store, grants, nil).Revoke(ctx, cliActor, u.ID, clientID)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "revoked %d consent(s) and %d grant(s) of user %s (%s)\n", rv.Consents, rv.Grants, u.ID, u.Username)
	return nil
}
