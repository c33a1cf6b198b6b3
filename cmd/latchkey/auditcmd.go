package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/latchkey/latchkey/internal/api/admin"
	"github.com/latchkey/latchkey/internal/audit"
	"github.com/latchkey/latchkey/internal/client"
	"github.com/latchkey/latchkey/internal/config"
)

const auditUsage = `Usage: latchkey audit list [--action A] [--target ID] [--actor S] [--limit N] [--json]

Subcommands:
  list    show the audit log of administrative changes, newest first

Run "latchkey audit list -h" for its flags.
`

func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return dispatch(ctx, map[string]command{"list": runAuditList}, auditUsage, "audit needs a subcommand", "audit subcommand", args, getenv, stdout, stderr)
}

func runAuditList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		cfg                   config.Store
		action, target, actor string
		limit                 int
		asJSON                bool
	)
	fs := newFlagSet("audit list", "audit list [--action A] [--target ID] [--actor S] [--limit N] [--json]", stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	fs.StringVar(&action, "action", "", "only events of this action, e.g. client.create, client.update, client.delete, client.rotate_secret, client.enable, client.disable, user.create, user.update, user.enable, user.disable, user.delete, user.set_password, key.rotate")
	fs.StringVar(&target, "target", "", "only events about this client (internal id or client_id), user id or key id")
	fs.StringVar(&actor, "actor", "", "only events by this subject (\"cli\" for changes made here)")
	fs.IntVar(&limit, "limit", 50, "at most this many events")
	fs.BoolVar(&asJSON, "json", false, `print {"events":[...]} instead of a table`)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if limit < 1 {
		return fmt.Errorf("%w: --limit %d: want 1 or more", errUsage, limit)
	}
	b, err := openExistingBackend(ctx, cfg, stderr, true)
	if err != nil {
		return err
	}
	defer b.store.Close()
	// Events name clients by internal id; accept a client_id too, as the
	// client commands do.
	if target != "" {
		if _, err := b.store.GetClient(ctx, target); errors.Is(err, client.ErrNotFound) {
			if c, err := b.store.GetClientByClientID(ctx, target); err == nil {
				target = c.ID
			}
		}
	}
	evs, err := b.store.ListAudit(ctx, audit.Filter{Action: action, TargetID: target, Actor: actor, Limit: limit + 1})
	if err != nil {
		return err
	}
	if len(evs) > limit {
		evs = evs[:limit]
		fmt.Fprintf(stderr, "latchkey: showing the newest %d events; more match (raise --limit)\n", limit)
	}
	if asJSON {
		return printJSON(stdout, struct {
			Events []admin.AuditEventJSON `json:"events"`
		}{Events: jsonList(evs, admin.AuditToJSON)})
	}
	tw := newTable(stdout, "TIME\tACTION\tTARGET\tACTOR")
	for _, ev := range evs {
		who := orDash(ev.ActorSubject)
		if ev.ActorClientID != "" {
			who += " (client " + ev.ActorClientID + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", cliTime(ev.Time), ev.Action, orDash(ev.TargetID), who)
	}
	return tw.Flush()
}
