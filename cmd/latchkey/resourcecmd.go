package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/latchkey/latchkey/internal/api/admin"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/resource"
)

const resourceSynopsis = `resource create --identifier URI --name NAME [--scopes "S ..."] [--access-token-ttl 5m] [--json]`

const resourceUsage = `Usage: latchkey resource create|list|get|update|delete ...

  latchkey ` + resourceSynopsis + `
  latchkey resource list [--limit N] [--all] [--json]
  latchkey resource get ID [--json]
  latchkey resource update ID [--identifier URI] [--name NAME] [--scopes "S ..."] [--access-token-ttl D] [--json]
  latchkey resource delete ID

A resource (RFC 8707) is an API access tokens can be issued for: a client
asks for one with resource=URI at /oauth2/authorize or /oauth2/token, and
gets a token whose aud is URI and whose scope holds only the resource's
scopes. ID is a resource's id or identifier. Subcommands:
  create   register a resource straight in the database
  list     list resources, oldest first
  get      show a resource
  update   change a resource's identifier, name, scopes or token lifetime
  delete   delete a resource; its tokens stop being active at introspection
`

var resourceCommands = map[string]command{
	"create": runResourceCreate,
	"list":   runResourceList,
	"get":    runResourceGet,
	"update": runResourceUpdate,
	"delete": runResourceDelete,
}

func runResource(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return dispatch(ctx, resourceCommands, resourceUsage, "resource needs a subcommand", "resource subcommand", args, getenv, stdout, stderr)
}

// resourceFlags are the flags create and update share; set records which
// were given, so update changes only those.
type resourceFlags struct {
	identifier, name, scopes string
	ttl                      time.Duration
	asJSON                   bool
}

func (f *resourceFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&f.identifier, "identifier", "", "the resource URI (RFC 8707): absolute, no fragment; the tokens' aud")
	fs.StringVar(&f.name, "name", "", "display name")
	fs.StringVar(&f.scopes, "scopes", "", "space-separated scopes the resource defines (clients may then be given them)")
	fs.DurationVar(&f.ttl, "access-token-ttl", 0, "lifetime of access tokens for the resource, whole seconds (0: the server's --access-token-ttl)")
	fs.BoolVar(&f.asJSON, "json", false, `print {"resource":{...}}`)
}

// resourceError words the resource core's errors for the command line.
func resourceError(err error, ref string) error {
	var ve *domain.ValidationError
	switch {
	case errors.As(err, &ve):
		return fmt.Errorf("%w: %s", errUsage, strings.NewReplacer("access_token_ttl", "--access-token-ttl", "identifier", "--identifier", "scopes", "--scopes", "name", "--name").Replace(ve.Error()))
	case errors.Is(err, resource.ErrNotFound):
		return fmt.Errorf("no resource has the id or identifier %q", ref)
	case errors.Is(err, resource.ErrConflict):
		return errors.New("another resource has that identifier")
	}
	return err
}

func printResource(w io.Writer, r resource.Resource, asJSON bool) error {
	if asJSON {
		return printJSON(w, struct {
			Resource admin.ResourceJSON `json:"resource"`
		}{admin.ResourceToJSON(r)})
	}
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	field := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, orDash(v)) }
	field("id", r.ID)
	field("identifier", r.Identifier)
	field("name", r.Name)
	field("scopes", strings.Join(r.Scopes, " "))
	ttl := "server default"
	if r.AccessTokenTTL > 0 {
		ttl = r.AccessTokenTTL.String()
	}
	field("access_token_ttl", ttl)
	field("created_at", cliTime(r.CreatedAt))
	field("updated_at", cliTime(r.UpdatedAt))
	return tw.Flush()
}

func runResourceCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config.Store
	var f resourceFlags
	fs := newFlagSet("resource create", resourceSynopsis, stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	f.add(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if f.identifier == "" || f.name == "" {
		fs.Usage()
		return fmt.Errorf("%w: --identifier and --name are required", errUsage)
	}
	b, err := openBackend(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer b.store.Close()
	r, err := resource.NewService(b.store, nil).Create(ctx, domain.Actor{Subject: "cli"}, resource.CreateInput{
		Identifier: f.identifier, Name: f.name, Scopes: strings.Fields(f.scopes), AccessTokenTTL: f.ttl,
	})
	if err != nil {
		return resourceError(err, f.identifier)
	}
	return printResource(stdout, r, f.asJSON)
}

// openResource parses the flags around one ID and finds that resource:
// by id, or else by identifier (in any case of scheme and host).
func openResource(ctx context.Context, fs *flag.FlagSet, args []string, cfg *config.Store, stderr io.Writer) (*resource.Service, resource.Resource, func(), error) {
	ref, err := parseFlagsWithID(fs, args)
	if err != nil {
		return nil, resource.Resource{}, nil, err
	}
	b, err := openExistingBackend(ctx, *cfg, stderr, true)
	if err != nil {
		return nil, resource.Resource{}, nil, err
	}
	svc := resource.NewService(b.store, nil)
	r, err := svc.Get(ctx, ref)
	if errors.Is(err, resource.ErrNotFound) {
		if c, cerr := resource.Canonical(ref); cerr == nil {
			r, err = b.store.GetResourceByIdentifier(ctx, c)
		}
	}
	if err != nil {
		b.store.Close()
		return nil, resource.Resource{}, nil, resourceError(err, ref)
	}
	return svc, r, func() { b.store.Close() }, nil
}

func runResourceGet(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config.Store
	var asJSON bool
	fs := newFlagSet("resource get", "resource get ID [--json]\n\nID is the resource's id or identifier.", stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	fs.BoolVar(&asJSON, "json", false, `print {"resource":{...}}`)
	_, r, closeDB, err := openResource(ctx, fs, args, &cfg, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	return printResource(stdout, r, asJSON)
}

func runResourceUpdate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config.Store
	var f resourceFlags
	fs := newFlagSet("resource update", "resource update ID [--identifier URI] [--name NAME] [--scopes \"S ...\"] [--access-token-ttl D] [--json]\n\nOnly the flags given change; --scopes \"\" removes every scope, --access-token-ttl 0 restores the server default.", stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	f.add(fs)
	svc, r, closeDB, err := openResource(ctx, fs, args, &cfg, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	var p resource.Patch
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if set["identifier"] {
		p.Identifier = &f.identifier
	}
	if set["name"] {
		p.Name = &f.name
	}
	if set["scopes"] {
		scopes := strings.Fields(f.scopes)
		p.Scopes = &scopes
	}
	if set["access-token-ttl"] {
		p.AccessTokenTTL = &f.ttl
	}
	if p == (resource.Patch{}) {
		return fmt.Errorf("%w: nothing to change: give --identifier, --name, --scopes or --access-token-ttl", errUsage)
	}
	r, err = svc.Update(ctx, domain.Actor{Subject: "cli"}, r.ID, p)
	if err != nil {
		return resourceError(err, r.ID)
	}
	return printResource(stdout, r, f.asJSON)
}

func runResourceDelete(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config.Store
	fs := newFlagSet("resource delete", "resource delete ID\n\nID is the resource's id or identifier.", stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	svc, r, closeDB, err := openResource(ctx, fs, args, &cfg, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	if err := svc.Delete(ctx, domain.Actor{Subject: "cli"}, r.ID); err != nil {
		return resourceError(err, r.ID)
	}
	fmt.Fprintf(stdout, "deleted resource %s (%s)\n", r.ID, r.Identifier)
	return nil
}

func runResourceList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config.Store
	var lf listFlags
	fs := newFlagSet("resource list", "resource list [--limit N] [--all] [--json]\n\nResources, oldest first.", stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	lf.add(fs, "resources")
	if err := lf.parse(fs, args); err != nil {
		return err
	}
	b, err := openExistingBackend(ctx, cfg, stderr, true)
	if err != nil {
		return err
	}
	defer b.store.Close()
	rs, err := listPages(lf, "resources", stderr, func(after resource.Resource, limit int) ([]resource.Resource, error) {
		return b.store.ListResources(ctx, resource.Page{AfterCreated: after.CreatedAt, AfterID: after.ID, Limit: limit})
	})
	if err != nil {
		return err
	}
	if lf.asJSON {
		return printJSON(stdout, struct {
			Resources []admin.ResourceJSON `json:"resources"`
		}{Resources: jsonList(rs, admin.ResourceToJSON)})
	}
	tw := newTable(stdout, "ID\tIDENTIFIER\tNAME\tSCOPES\tTTL\tCREATED")
	for _, r := range rs {
		ttl := "-"
		if r.AccessTokenTTL > 0 {
			ttl = r.AccessTokenTTL.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Identifier, r.Name, orDash(strings.Join(r.Scopes, " ")), ttl, cliTime(r.CreatedAt))
	}
	return tw.Flush()
}

// listFlags are the paging flags of the list subcommands.
type listFlags struct {
	limit       int
	all, asJSON bool
}

func (f *listFlags) add(fs *flag.FlagSet, what string) {
	fs.IntVar(&f.limit, "limit", 50, "at most this many "+what+" (with --all: page size)")
	fs.BoolVar(&f.all, "all", false, "every one, read a page at a time")
	fs.BoolVar(&f.asJSON, "json", false, `print {"`+what+`":[...]}`)
}

// parse parses fs (which holds f's flags) and checks --limit.
func (f *listFlags) parse(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if f.limit < 1 || f.limit > 1000 {
		return fmt.Errorf("%w: --limit must be from 1 to 1000", errUsage)
	}
	return nil
}

// listPages reads pages of at most f.limit items with page (given the
// last item read, zero at first, and how many to fetch), all of them with
// --all, else the first and a note on stderr when there are more.
func listPages[T any](f listFlags, what string, stderr io.Writer, page func(after T, limit int) ([]T, error)) ([]T, error) {
	var out []T
	var after T
	for {
		items, err := page(after, f.limit+1)
		if err != nil {
			return nil, err
		}
		more := len(items) > f.limit
		if more {
			items = items[:f.limit]
		}
		out = append(out, items...)
		if !more {
			return out, nil
		}
		if !f.all {
			fmt.Fprintf(stderr, "latchkey: showing the first %d %s; there are more (raise --limit or use --all)\n", f.limit, what)
			return out, nil
		}
		after = items[len(items)-1]
	}
}
