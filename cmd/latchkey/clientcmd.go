package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/latchkey/latchkey/internal/api/admin"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/config"
)

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

const clientUsage = `Usage: latchkey client create [flags]

Subcommands:
  create    register a client straight into the database and print it, secret included, once
`

func runClient(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, clientUsage)
		return fmt.Errorf("%w: client needs a subcommand", errUsage)
	}
	switch args[0] {
	case "create":
		return runClientCreate(ctx, args[1:], getenv, stdout, stderr)
	default:
		fmt.Fprint(stderr, clientUsage)
		return fmt.Errorf("%w: unknown client subcommand %q", errUsage, args[0])
	}
}

func runClientCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		cfg                        config.Store
		name, grants, scopes, ctyp string
		public, asJSON, firstParty bool
		redirects, origins         multiFlag
	)
	fs := newFlagSet("client create", "client create --name N --grant-types G --scopes \"S ...\" [--public] [--redirect-uri U]... [--json]", stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	fs.StringVar(&name, "name", "", "client name (required)")
	fs.StringVar(&grants, "grant-types", "", "grant types, comma- or space-separated (default: by client type)")
	fs.StringVar(&scopes, "scopes", "", "space-separated allowed scopes (required)")
	fs.BoolVar(&public, "public", false, "register a public client (no secret)")
	fs.BoolVar(&firstParty, "first-party", false, "mark the client first-party")
	fs.Var(&redirects, "redirect-uri", "redirect URI (repeatable)")
	fs.Var(&origins, "allowed-origin", "allowed CORS origin (repeatable)")
	fs.BoolVar(&asJSON, "json", false, "print one JSON object (client fields plus client_secret)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if name == "" || strings.TrimSpace(scopes) == "" {
		fs.Usage()
		return fmt.Errorf("%w: --name and --scopes are required", errUsage)
	}
	ctyp = string(client.Confidential)
	if public {
		ctyp = string(client.Public)
	}
	in := client.CreateInput{
		Name:           name,
		Type:           client.Type(ctyp),
		RedirectURIs:   redirects,
		AllowedScopes:  strings.Fields(scopes),
		AllowedOrigins: origins,
		FirstParty:     firstParty,
	}
	if grants != "" {
		in.GrantTypes = strings.FieldsFunc(grants, func(r rune) bool { return r == ',' || r == ' ' })
	}
	b, err := openBackend(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer b.store.Close()
	hasher, err := b.hasher(ctx)
	if err != nil {
		return err
	}
	svc := client.NewService(b.store, nil, hasher, client.Policy{}, nil)
	c, secret, err := svc.Create(ctx, client.Actor{Root: true, Subject: "cli"}, in)
	var ve *client.ValidationError
	if errors.As(err, &ve) {
		return fmt.Errorf("%w: %v", errUsage, ve)
	}
	if err != nil {
		return err
	}
	return printCreated(stdout, c, secret, asJSON)
}

func printCreated(w io.Writer, c client.Client, secret client.Secret, asJSON bool) error {
	if asJSON {
		out := struct {
			admin.ClientJSON
			ClientSecret *string `json:"client_secret"`
		}{ClientJSON: admin.ToJSON(c)}
		if c.Type == client.Confidential {
			s := secret.Expose()
			out.ClientSecret = &s
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintf(w, "client_id:      %s\n", c.ClientID)
	if c.Type == client.Confidential {
		fmt.Fprintf(w, "client_secret:  %s   (shown once — store it now)\n", secret.Expose())
	}
	fmt.Fprintf(w, "id:             %s\nname:           %s\ntype:           %s\ngrant_types:    %s\nallowed_scopes: %s\n",
		c.ID, c.Name, c.Type, strings.Join(c.GrantTypes, " "), strings.Join(c.AllowedScopes, " "))
	if len(c.RedirectURIs) > 0 {
		fmt.Fprintf(w, "redirect_uris:  %s\n", strings.Join(c.RedirectURIs, " "))
	}
	return nil
}
