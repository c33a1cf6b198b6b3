package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/latchkey/latchkey/internal/api/admin"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/resource"
)

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

const clientUsage = `Usage: latchkey client SUBCOMMAND [ID] [flags]

Subcommands:
  create [flags]               register a client and print it, secret included, once
  list [flags]                 list clients as a table (--json for JSON)
  get ID [--json]              show one client (never its secrets)
  update ID [flags]            change the fields given as flags; the rest stay as they are
  enable ID                    let a disabled client get tokens again
  disable ID                   stop a client getting tokens; its tokens stop being active
  delete ID                    delete a client; its tokens stop being active
  rotate-secret ID [--grace D] give a confidential client a new secret, shown once

ID is a client's internal id or its OAuth client_id; flags may come before
or after it. Every subcommand works on the database named by --db (env
LATCHKEY_DB); every change is recorded in the audit log as actor "cli"
(see "latchkey audit list").
Run "latchkey client SUBCOMMAND -h" for a subcommand's flags.
`

// cliActor is the operator at the command line: may grant anything, and
// is recorded in the audit log as "cli".
var cliActor = domain.Actor{Root: true, Subject: "cli"}

// clientCommands are the subcommands of latchkey client.
var clientCommands = map[string]command{
	"create": runClientCreate,
	"list":   runClientList,
	"get":    runClientGet,
	"update": runClientUpdate,
	"enable": func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
		return runClientSetEnabled(ctx, args, getenv, stdout, stderr, true)
	},
	"disable": func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
		return runClientSetEnabled(ctx, args, getenv, stdout, stderr, false)
	},
	"delete":        runClientDelete,
	"rotate-secret": runClientRotate,
}

func runClient(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return dispatch(ctx, clientCommands, clientUsage, "client needs a subcommand", "client subcommand", args, getenv, stdout, stderr)
}

func runClientCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		cfg                        config.Store
		name, grants, scopes, ctyp string
		authMethod, idTokenAlg     string
		jwksArg, jwksURI, authAlg  string
		public, asJSON, firstParty bool
		redirects, origins         multiFlag
		postLogout                 multiFlag
	)
	fs := newFlagSet("client create", "client create --name N --scopes \"S ...\" [--grant-types G] [--public] [--redirect-uri U]... [--post-logout-redirect-uri U]... [--auth-method M] [--jwks SET|@FILE | --jwks-uri URL] [--auth-signing-alg A] [--id-token-alg RS256|ES256] [--json]", stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	fs.StringVar(&name, "name", "", "client name (required)")
	fs.StringVar(&grants, "grant-types", "", "grant types, comma- or space-separated (default: client_credentials for a confidential client without --redirect-uri, else by client type)")
	fs.StringVar(&scopes, "scopes", "", "space-separated allowed scopes (required)")
	fs.BoolVar(&public, "public", false, "register a public client (no secret)")
	fs.BoolVar(&firstParty, "first-party", false, "mark the client first-party")
	fs.Var(&redirects, "redirect-uri", "redirect URI (repeatable)")
	fs.Var(&origins, "allowed-origin", "allowed CORS origin (repeatable)")
	fs.StringVar(&authMethod, "auth-method", "", "token_endpoint_auth_method: client_secret_basic, client_secret_post or private_key_jwt (default client_secret_basic; public clients: none)")
	addKeyFlags(fs, &jwksArg, &jwksURI, &authAlg)
	fs.Var(&postLogout, "post-logout-redirect-uri", "where /oauth2/logout may send the browser back to (repeatable)")
	fs.StringVar(&idTokenAlg, "id-token-alg", "", "id_token_signed_response_alg: RS256 (default) or ES256")
	fs.BoolVar(&asJSON, "json", false, "print one JSON object (client fields plus client_secret)")
	allowUndefined := addAllowUndefinedScopes(fs)
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

		TokenEndpointAuthMethod: authMethod,
		PostLogoutRedirectURIs:  postLogout,
		IDTokenAlg:              idTokenAlg,
		JWKSURI:                 jwksURI,
		AssertionAlg:            authAlg,
	}
	if jwksArg != "" {
		set, err := readJWKS(jwksArg)
		if err != nil {
			return err
		}
		in.JWKS = set
	}
	if (jwksArg != "" || jwksURI != "") && authMethod == "" {
		in.TokenEndpointAuthMethod = client.AuthMethodPrivateKeyJWT // keys given: they are how it authenticates
	}
	switch {
	case grants != "":
		in.GrantTypes = strings.FieldsFunc(grants, func(r rune) bool { return r == ',' || r == ' ' })
	case !public && len(redirects) == 0:
		// A client made at the command line without a redirect URI is a
		// service (like the bootstrap admin): it can only use this grant.
		in.GrantTypes = []string{client.GrantClientCredentials}
	}
	svc, closeDB, err := openClientService(ctx, cfg, scopePolicy(getenv, *allowUndefined, stderr), stderr, false)
	if err != nil {
		return err
	}
	defer closeDB()
	c, secret, err := svc.Create(ctx, cliActor, in)
	if err != nil {
		return clientError(err, "")
	}
	return printCreated(stdout, c, secret, asJSON)
}

func printCreated(w io.Writer, c client.Client, secret client.Secret, asJSON bool) error {
	if asJSON {
		out := struct {
			admin.ClientJSON
			ClientSecret *string `json:"client_secret"`
		}{ClientJSON: admin.ToJSON(c)}
		if c.Type == client.Confidential && !secret.IsZero() {
			s := secret.Expose()
			out.ClientSecret = &s
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintf(w, "client_id:      %s\n", c.ClientID)
	if c.Type == client.Confidential && !secret.IsZero() {
		fmt.Fprintf(w, "client_secret:  %s   (shown once — store it now)\n", secret.Expose())
	}
	if c.TokenEndpointAuthMethod == client.AuthMethodPrivateKeyJWT {
		fmt.Fprintf(w, "auth_method:    private_key_jwt (no secret: the client signs assertions with its key)\n")
	}
	fmt.Fprintf(w, "id:             %s\nname:           %s\ntype:           %s\ngrant_types:    %s\nallowed_scopes: %s\n",
		c.ID, c.Name, c.Type, strings.Join(c.GrantTypes, " "), strings.Join(c.AllowedScopes, " "))
	if len(c.RedirectURIs) > 0 {
		fmt.Fprintf(w, "redirect_uris:  %s\n", strings.Join(c.RedirectURIs, " "))
	}
	return nil
}

// addAllowUndefinedScopes registers the loud escape hatch of client create
// and update.
func addAllowUndefinedScopes(fs *flag.FlagSet) *bool {
	return fs.Bool("allow-undefined-scopes", false, "DANGEROUS, for migrations only: allow scopes the server does not define (the built-in OpenID Connect and admin scopes, and LATCHKEY_SCOPES)")
}

// scopePolicy is the client core's policy at the command line: the scopes
// LATCHKEY_SCOPES defines (as serve's --scopes does) and the built-in
// ones; other scopes are refused unless allowUndefined, which is said on
// stderr.
func scopePolicy(getenv func(string) string, allowUndefined bool, stderr io.Writer) client.Policy {
	if allowUndefined {
		fmt.Fprintln(stderr, "latchkey: warning: --allow-undefined-scopes: scopes the server does not define are accepted; use it only while migrating")
	}
	return client.Policy{Scopes: client.NewScopes(config.ScopesFromEnv(getenv)), AllowUndefinedScopes: allowUndefined}
}

// openClientService opens the database and the client service on it; call
// closeDB when done. With mustExist, a missing SQLite file is an error
// instead of a new, empty database (a mistyped --db would otherwise
// "work" and show nothing).
func openClientService(ctx context.Context, cfg config.Store, policy client.Policy, stderr io.Writer, mustExist bool) (svc *client.Service, closeDB func(), err error) {
	b, err := openExistingBackend(ctx, cfg, stderr, mustExist)
	if err != nil {
		return nil, nil, err
	}
	hasher, err := b.hasher(ctx)
	if err != nil {
		b.store.Close()
		return nil, nil, err
	}
	if policy.Scopes != nil {
		// Registered resources define scopes too (as serve's catalog).
		policy.Scopes = resource.ScopeCatalog{Base: policy.Scopes, Repo: b.store}
	}
	return client.NewService(b.store, nil, hasher, policy, nil), func() { b.store.Close() }, nil
}

// openExistingBackend is openBackend that, with mustExist, refuses to
// create a SQLite database that is not there yet.
func openExistingBackend(ctx context.Context, cfg config.Store, stderr io.Writer, mustExist bool) (*backend, error) {
	if p := config.SQLitePath(cfg.DB); mustExist && p != "" && !strings.HasPrefix(p, "//") {
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no database at %s (--db %s): run \"latchkey serve\" or \"latchkey client create\" first, or point --db at the right file", p, cfg.DB)
		}
	}
	return openBackend(ctx, cfg, stderr)
}

// clientError turns a domain error into the CLI's: validation and
// privilege errors are usage errors (exit 2), an unknown client names the
// identifier the operator typed.
// flagNames rewrites the core's field names as the flags that set them.
var flagNames = strings.NewReplacer(
	"client_name", "--name", "redirect_uris", "--redirect-uri", "allowed_scopes", "--scopes",
	"allowed_origins", "--allowed-origin", "grant_types", "--grant-types", "client_uri", "--client-uri",
	"logo_uri", "--logo-uri", "client_type", "--public", "grace_seconds", "--grace",
)

func clientError(err error, id string) error {
	var (
		ve *domain.ValidationError
		pe *client.PrivilegeError
		ue *client.UndefinedScopeError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ue):
		return fmt.Errorf("%w: --scopes: %v; at the command line, set LATCHKEY_SCOPES as the server has it, or pass --allow-undefined-scopes (for migrations only)", errUsage, ue)
	case errors.As(err, &ve):
		return fmt.Errorf("%w: %s", errUsage, flagNames.Replace(ve.Error()))
	case errors.As(err, &pe):
		return fmt.Errorf("%w: %v", errUsage, pe)
	case errors.Is(err, client.ErrNotFound):
		return fmt.Errorf("no client with id or client_id %q", id)
	}
	return err
}

// openClient opens the existing store named by cfg and finds the client
// that id names (its internal id or its client_id); call closeDB when done.
func openClient(ctx context.Context, cfg config.Store, policy client.Policy, stderr io.Writer, id string) (*client.Service, client.Client, func(), error) {
	svc, closeDB, err := openClientService(ctx, cfg, policy, stderr, true)
	if err != nil {
		return nil, client.Client{}, nil, err
	}
	c, err := resolveClient(ctx, svc, id)
	if err != nil {
		closeDB()
		return nil, client.Client{}, nil, err
	}
	return svc, c, closeDB, nil
}

// parseAndOpenClient parses args, one client ID among the flags of fs
// (which include the store flags filling cfg), and opens that client.
func parseAndOpenClient(ctx context.Context, fs *flag.FlagSet, args []string, cfg *config.Store, stderr io.Writer) (id string, svc *client.Service, c client.Client, closeDB func(), err error) {
	if id, err = parseFlagsWithID(fs, args); err != nil {
		return "", nil, client.Client{}, nil, err
	}
	svc, c, closeDB, err = openClient(ctx, *cfg, client.Policy{}, stderr, id)
	return id, svc, c, closeDB, err
}

// resolveClient finds a client by internal id or, failing that, by OAuth
// client_id.
func resolveClient(ctx context.Context, svc *client.Service, id string) (client.Client, error) {
	c, err := svc.Get(ctx, id)
	if errors.Is(err, client.ErrNotFound) {
		c, err = svc.Lookup(ctx, id)
	}
	return c, clientError(err, id)
}

// parseFlagsWithID parses a subcommand's flags around its one positional
// ID argument: "get ID --json" and "get --json ID" both work.
func parseFlagsWithID(fs *flag.FlagSet, args []string) (string, error) {
	var id string
	for {
		if err := parse(fs, args); err != nil {
			return "", err
		}
		if fs.NArg() == 0 {
			break
		}
		if id != "" {
			extra := fs.Arg(0)
			if extra == "true" || extra == "false" {
				return "", fmt.Errorf("%w: unexpected argument %q (write a boolean flag as --flag=%s)", errUsage, extra, extra)
			}
			return "", fmt.Errorf("%w: unexpected argument %q: %s takes one ID", errUsage, extra, fs.Name())
		}
		id, args = fs.Arg(0), fs.Args()[1:]
		if id == "" {
			break
		}
	}
	if id == "" {
		fs.Usage()
		return "", fmt.Errorf("%w: %s needs an ID (a client's id or client_id)", errUsage, fs.Name())
	}
	return id, nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// jsonList maps xs to their JSON form; no xs is [], never null.
func jsonList[T, J any](xs []T, toJSON func(T) J) []J {
	out := make([]J, 0, len(xs))
	for _, x := range xs {
		out = append(out, toJSON(x))
	}
	return out
}

// newTable returns a writer that aligns tab-separated columns, header
// its first row; Flush it when done.
func newTable(w io.Writer, header string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	return tw
}

// cliTime formats a timestamp for tables: UTC, to the second.
func cliTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// orDash shows an empty value as "-" so table columns stay aligned.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runClientList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		cfg                         config.Store
		typ, enabled, owner, prefix string
		limit                       int
		all, asJSON                 bool
	)
	fs := newFlagSet("client list", "client list [--type confidential|public] [--enabled true|false] [--owner ID] [--name-prefix P] [--limit N] [--all] [--json]", stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	fs.StringVar(&typ, "type", "", "only clients of this type: confidential or public")
	fs.StringVar(&enabled, "enabled", "", "only enabled (true) or disabled (false) clients")
	fs.StringVar(&owner, "owner", "", "only clients owned by this subject (\"cli\" for clients created here)")
	fs.StringVar(&prefix, "name-prefix", "", "only clients whose name starts with this")
	fs.IntVar(&limit, "limit", 50, "at most this many clients (with --all: page size)")
	fs.BoolVar(&all, "all", false, "list every matching client, page by page")
	fs.BoolVar(&asJSON, "json", false, `print {"clients":[...]} instead of a table`)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	f := client.Filter{OwnerID: owner, NamePrefix: prefix}
	switch client.Type(typ) {
	case "":
	case client.Confidential, client.Public:
		f.Type = client.Type(typ)
	default:
		return fmt.Errorf("%w: --type %q: want confidential or public", errUsage, typ)
	}
	switch enabled {
	case "":
	case "true", "false":
		b := enabled == "true"
		f.Enabled = &b
	default:
		return fmt.Errorf("%w: --enabled %q: want true or false", errUsage, enabled)
	}
	if limit < 1 {
		return fmt.Errorf("%w: --limit %d: want 1 or more", errUsage, limit)
	}
	svc, closeDB, err := openClientService(ctx, cfg, client.Policy{}, stderr, true)
	if err != nil {
		return err
	}
	defer closeDB()
	cs := []client.Client{}
	more := false
	for {
		f.Limit = limit + 1 // one extra tells whether another page exists
		page, err := svc.List(ctx, f)
		if err != nil {
			return err
		}
		more = len(page) > limit
		if more {
			page = page[:limit]
		}
		cs = append(cs, page...)
		if !all || !more {
			break
		}
		last := page[len(page)-1]
		f.AfterCreated, f.AfterID = last.CreatedAt, last.ID
	}
	if more {
		fmt.Fprintf(stderr, "latchkey: showing the first %d clients; more match (raise --limit or use --all)\n", limit)
	}
	if asJSON {
		return printJSON(stdout, struct {
			Clients []admin.ClientJSON `json:"clients"`
		}{Clients: jsonList(cs, admin.ToJSON)})
	}
	tw := newTable(stdout, "ID\tCLIENT_ID\tNAME\tTYPE\tENABLED\tGRANTS\tCREATED")
	for _, c := range cs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\t%s\t%s\n",
			c.ID, c.ClientID, c.Name, c.Type, c.Enabled, orDash(strings.Join(c.GrantTypes, ",")), cliTime(c.CreatedAt))
	}
	return tw.Flush()
}

// clientResponse is the JSON the single-client subcommands print, the
// admin API's {"client":{...}}.
type clientResponse struct {
	Client admin.ClientJSON `json:"client"`
}

// printClient shows every field of c but its secrets; of those it shows
// only how many are live and when they expire.
func printClient(w io.Writer, c client.Client) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	field := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, orDash(v)) }
	field("id", c.ID)
	field("client_id", c.ClientID)
	field("name", c.Name)
	field("type", string(c.Type))
	field("enabled", fmt.Sprint(c.Enabled))
	field("first_party", fmt.Sprint(c.FirstParty))
	field("grant_types", strings.Join(c.GrantTypes, " "))
	field("token_endpoint_auth_method", c.TokenEndpointAuthMethod)
	field("allowed_scopes", strings.Join(c.AllowedScopes, " "))
	field("redirect_uris", strings.Join(c.RedirectURIs, " "))
	field("post_logout_redirect_uris", strings.Join(c.PostLogoutRedirectURIs, " "))
	field("id_token_signed_response_alg", c.IDTokenAlg)
	field("allowed_origins", strings.Join(c.AllowedOrigins, " "))
	field("client_uri", c.ClientURI)
	field("logo_uri", c.LogoURI)
	field("owner_id", c.OwnerID)
	field("brand_id", c.BrandID)
	if c.BotUserID != "" {
		field("bot_user_id", c.BotUserID)
	}
	if c.JWKSURI != "" {
		field("jwks_uri", c.JWKSURI)
	}
	if len(c.JWKS) > 0 {
		field("jwks", string(c.JWKS))
	}
	if c.AssertionAlg != "" {
		field("token_endpoint_auth_signing_alg", c.AssertionAlg)
	}
	if c.Type == client.Confidential && c.TokenEndpointAuthMethod != client.AuthMethodPrivateKeyJWT {
		field("secrets", secretSummary(c.Secrets, time.Now()))
	}
	field("created_at", cliTime(c.CreatedAt))
	field("updated_at", cliTime(c.UpdatedAt))
	return tw.Flush()
}

// secretSummary describes the live secrets without showing any of them.
func secretSummary(secrets []client.SecretHash, now time.Time) string {
	live, expiring := 0, []string{}
	for _, sh := range secrets {
		if !sh.Live(now) {
			continue
		}
		live++
		if !sh.ExpiresAt.IsZero() {
			expiring = append(expiring, cliTime(sh.ExpiresAt))
		}
	}
	s := fmt.Sprintf("%d live", live)
	if len(expiring) > 0 {
		s += " (previous expires " + strings.Join(expiring, ", ") + ")"
	}
	return s
}

func runClientGet(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		cfg    config.Store
		asJSON bool
	)
	fs := newFlagSet("client get", "client get ID [--json]\n\nID is the client's internal id or its OAuth client_id. Secrets are never shown.", stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	fs.BoolVar(&asJSON, "json", false, `print {"client":{...}}`)
	_, _, c, closeDB, err := parseAndOpenClient(ctx, fs, args, &cfg, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	if asJSON {
		return printJSON(stdout, clientResponse{Client: admin.ToJSON(c)})
	}
	return printClient(stdout, c)
}

func runClientUpdate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		cfg                                      config.Store
		name, scopes, grants, clientURI, logoURI string
		authMethod, idTokenAlg                   string
		jwksArg, jwksURI, authAlg                string
		firstParty, asJSON                       bool
		redirects, origins, postLogout           multiFlag
	)
	fs := newFlagSet("client update", "client update ID [--name N] [--scopes \"S ...\"] [--redirect-uri U]... [--allowed-origin O]... [--grant-types G,...] [--client-uri U] [--logo-uri U] [--first-party=true|false] [--auth-method M] [--jwks SET|@FILE] [--jwks-uri URL] [--auth-signing-alg A] [--post-logout-redirect-uri U]... [--id-token-alg A] [--json]\n\nOnly the fields given change. A list flag replaces the whole list; give it once\nas \"\" to empty the list. --client-uri \"\" and --logo-uri \"\" clear them.", stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	fs.StringVar(&name, "name", "", "new client name")
	fs.StringVar(&scopes, "scopes", "", "space-separated allowed scopes (replaces the list)")
	fs.Var(&redirects, "redirect-uri", "redirect URI (repeatable; replaces the list)")
	fs.Var(&origins, "allowed-origin", "allowed CORS origin (repeatable; replaces the list)")
	fs.StringVar(&grants, "grant-types", "", "grant types, comma- or space-separated (replaces the list)")
	fs.StringVar(&clientURI, "client-uri", "", "client home page; \"\" clears it")
	fs.StringVar(&logoURI, "logo-uri", "", "logo URL; \"\" clears it")
	fs.BoolVar(&firstParty, "first-party", false, "mark the client first-party (--first-party=false unmarks it)")
	fs.StringVar(&authMethod, "auth-method", "", "token_endpoint_auth_method: client_secret_basic, client_secret_post or private_key_jwt; \"\" resets it to the default")
	addKeyFlags(fs, &jwksArg, &jwksURI, &authAlg)
	fs.Var(&postLogout, "post-logout-redirect-uri", "where /oauth2/logout may send the browser back to (repeatable; replaces the list)")
	fs.StringVar(&idTokenAlg, "id-token-alg", "", "id_token_signed_response_alg: RS256 or ES256; \"\" resets it to RS256")
	fs.BoolVar(&asJSON, "json", false, `print the updated client as {"client":{...}}`)
	allowUndefined := addAllowUndefinedScopes(fs)
	id, err := parseFlagsWithID(fs, args)
	if err != nil {
		return err
	}
	var p client.Patch
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "name":
			p.Name = &name
		case "scopes":
			s := strings.Fields(scopes)
			p.AllowedScopes = &s
		case "redirect-uri":
			s := listValues(redirects)
			p.RedirectURIs = &s
		case "allowed-origin":
			s := listValues(origins)
			p.AllowedOrigins = &s
		case "grant-types":
			s := splitGrants(grants)
			p.GrantTypes = &s
		case "client-uri":
			p.ClientURI = &clientURI
		case "logo-uri":
			p.LogoURI = &logoURI
		case "first-party":
			p.FirstParty = &firstParty
		case "auth-method":
			p.TokenEndpointAuthMethod = &authMethod
		case "post-logout-redirect-uri":
			s := listValues(postLogout)
			p.PostLogoutRedirectURIs = &s
		case "id-token-alg":
			p.IDTokenAlg = &idTokenAlg
		case "jwks":
			set, rerr := []byte(nil), error(nil)
			if jwksArg != "" {
				set, rerr = readJWKS(jwksArg)
			}
			if rerr != nil {
				err = rerr
			}
			p.JWKS = &set
		case "jwks-uri":
			p.JWKSURI = &jwksURI
		case "auth-signing-alg":
			p.AssertionAlg = &authAlg
		}
	})
	if err != nil {
		return err
	}
	if p == (client.Patch{}) {
		fs.Usage()
		return fmt.Errorf("%w: nothing to update: give at least one of --name, --scopes, --redirect-uri, --allowed-origin, --grant-types, --client-uri, --logo-uri, --first-party, --auth-method, --jwks, --jwks-uri, --auth-signing-alg, --post-logout-redirect-uri, --id-token-alg", errUsage)
	}
	svc, c, closeDB, err := openClient(ctx, cfg, scopePolicy(getenv, *allowUndefined, stderr), stderr, id)
	if err != nil {
		return err
	}
	defer closeDB()
	if c, err = svc.Update(ctx, cliActor, c.ID, p, ""); err != nil {
		return clientError(err, id)
	}
	if asJSON {
		return printJSON(stdout, clientResponse{Client: admin.ToJSON(c)})
	}
	fmt.Fprintf(stdout, "updated client %s\n", c.ID)
	return printClient(stdout, c)
}

// listValues is a repeatable flag's values; a lone "" means the empty list.
func listValues(m multiFlag) []string {
	if len(m) == 1 && m[0] == "" {
		return []string{}
	}
	return append([]string{}, m...)
}

func splitGrants(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

func runClientSetEnabled(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, enable bool) error {
	verb, effect := "disable", "it gets no new tokens and its tokens stop being active"
	if enable {
		verb, effect = "enable", "it may get tokens again"
	}
	var cfg config.Store
	fs := newFlagSet("client "+verb, "client "+verb+" ID\n\n"+strings.ToUpper(verb[:1])+verb[1:]+" a client: "+effect+".", stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	id, svc, c, closeDB, err := parseAndOpenClient(ctx, fs, args, &cfg, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	if c.Enabled == enable {
		fmt.Fprintf(stdout, "client %s (client_id %s) is already %sd\n", c.ID, c.ClientID, verb)
		return nil
	}
	if _, err := svc.SetEnabled(ctx, cliActor, c.ID, enable); err != nil {
		return clientError(err, id)
	}
	fmt.Fprintf(stdout, "%sd client %s (client_id %s)\n", verb, c.ID, c.ClientID)
	return nil
}

func runClientDelete(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config.Store
	fs := newFlagSet("client delete", "client delete ID\n\nDelete a client for good; its tokens stop being active.", stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	id, svc, c, closeDB, err := parseAndOpenClient(ctx, fs, args, &cfg, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	if err := svc.Delete(ctx, cliActor, c.ID); err != nil {
		return clientError(err, id)
	}
	fmt.Fprintf(stdout, "deleted client %s (client_id %s, name %q)\n", c.ID, c.ClientID, c.Name)
	return nil
}

func runClientRotate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		cfg    config.Store
		grace  time.Duration
		asJSON bool
	)
	fs := newFlagSet("client rotate-secret", "client rotate-secret ID [--grace 24h] [--json]\n\nGive a confidential client a new secret, printed once. The previous secret\nkeeps working for --grace (0s revokes it now); any older ones stop now.", stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	fs.DurationVar(&grace, "grace", client.DefaultGrace, "how long the previous secret keeps working, 0s to "+client.MaxGrace.String())
	fs.BoolVar(&asJSON, "json", false, `print {"client":{...},"client_secret":"...","previous_secret_expires_at":...}`)
	id, err := parseFlagsWithID(fs, args)
	if err != nil {
		return err
	}
	if grace < 0 || grace > client.MaxGrace {
		return fmt.Errorf("%w: --grace %s: want 0s to %s", errUsage, grace, client.MaxGrace)
	}
	svc, c, closeDB, err := openClient(ctx, cfg, client.Policy{}, stderr, id)
	if err != nil {
		return err
	}
	defer closeDB()
	c, secret, err := svc.RotateSecret(ctx, cliActor, c.ID, grace)
	if err != nil {
		return clientError(err, id)
	}
	var prevExpires *time.Time
	for _, sh := range c.Secrets {
		if !sh.ExpiresAt.IsZero() {
			t := sh.ExpiresAt
			prevExpires = &t
		}
	}
	if asJSON {
		out := struct {
			Client          admin.ClientJSON `json:"client"`
			ClientSecret    string           `json:"client_secret"`
			PreviousExpires *string          `json:"previous_secret_expires_at"`
		}{Client: admin.ToJSON(c), ClientSecret: secret.Expose()}
		if prevExpires != nil {
			s := prevExpires.UTC().Format(time.RFC3339Nano)
			out.PreviousExpires = &s
		}
		return printJSON(stdout, out)
	}
	fmt.Fprintf(stdout, "client_id:       %s\n", c.ClientID)
	fmt.Fprintf(stdout, "client_secret:   %s   (shown once — store it now)\n", secret.Expose())
	switch {
	case prevExpires != nil:
		fmt.Fprintf(stdout, "previous secret: works until %s\n", cliTime(*prevExpires))
	case grace == 0:
		fmt.Fprintln(stdout, "previous secret: revoked now")
	default:
		fmt.Fprintln(stdout, "previous secret: none was live")
	}
	return nil
}

// addKeyFlags registers the private_key_jwt flags of client create and
// update.
func addKeyFlags(fs *flag.FlagSet, jwks, jwksURI, alg *string) {
	fs.StringVar(jwks, "jwks", "", "private_key_jwt: the client's public JWK Set, as JSON or @FILE (implies --auth-method private_key_jwt on create; \"\" clears it on update)")
	fs.StringVar(jwksURI, "jwks-uri", "", "private_key_jwt: https URL where the client publishes its public JWK Set (implies --auth-method private_key_jwt on create; \"\" clears it on update)")
	fs.StringVar(alg, "auth-signing-alg", "", "token_endpoint_auth_signing_alg: the one JWS algorithm the client's assertions must use (RS256, PS256, ES256, EdDSA, ...; default any)")
}

// readJWKS reads --jwks: inline JSON, or @FILE.
func readJWKS(arg string) ([]byte, error) {
	path, isFile := strings.CutPrefix(arg, "@")
	if !isFile {
		return []byte(arg), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: --jwks: %w", errUsage, err)
	}
	return b, nil
}
