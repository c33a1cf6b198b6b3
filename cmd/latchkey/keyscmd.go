package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/latchkey/latchkey/internal/api/admin"
	"github.com/latchkey/latchkey/internal/api/oauth"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/server"
)

const keysUsage = `Usage: latchkey keys list [--json]
       latchkey keys rotate [--publish-delay 2m] [--json]

rotate stores a new ES256 signing key in the database. Every node publishes
it in its JWKS at its next refresh (within --key-refresh, 30s); nodes sign
with it only after --publish-delay, which must exceed that refresh
interval plus the JWKS cache lifetime (--jwks-max-age, 60s). The previous key stays published until every
token it signed has expired.
`

func runKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "rotate") {
		fmt.Fprint(stderr, keysUsage)
		return fmt.Errorf("%w: keys needs list or rotate", errUsage)
	}
	var (
		cfg    config.Store
		delay  time.Duration
		asJSON bool
	)
	fs := newFlagSet("keys "+args[0], "keys "+args[0]+" [flags]", stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	if args[0] == "rotate" {
		fs.DurationVar(&delay, "publish-delay", server.DefaultKeyPublishDelay, "how long the new key is published before it signs")
	}
	fs.BoolVar(&asJSON, "json", false, "print JSON")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if delay <= 0 && args[0] == "rotate" {
		return fmt.Errorf("%w: --publish-delay must be positive: no node may sign with a key verifiers have not fetched", errUsage)
	}
	if minimum := server.DefaultKeyRefresh + oauth.DefaultJWKSMaxAge; args[0] == "rotate" && delay <= minimum {
		fmt.Fprintf(stderr, "latchkey: warning: --publish-delay %s must exceed the fleet's --key-refresh plus --jwks-max-age (%s with the defaults)\n", delay, minimum)
	}
	b, err := openBackend(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer b.store.Close()
	km := keys.NewManager(b.store, b.box, nil, 0)
	if err := km.Load(ctx); err != nil {
		return err
	}
	if args[0] == "rotate" {
		rec, err := km.Rotate(ctx, delay, keys.Actor{Subject: "cli"})
		if err != nil {
			return err
		}
		if !asJSON {
			fmt.Fprintf(stdout, "new signing key %s is published now and signs from %s\n", rec.KID, rec.SignFrom.Format(time.RFC3339))
		}
	}
	sts := admin.KeysToJSON(km.Statuses())
	if asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"keys": sts})
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tSIGN FROM\tSIGNING\tPUBLISHED\tRETIRES")
	for _, k := range sts {
		retires := "-"
		if k.RetiresAt != nil {
			retires = *k.RetiresAt
		}
		fmt.Fprintf(tw, "%s\t%s\t%v\t%v\t%s\n", k.KID, k.SignFrom, k.Signing, k.Published, retires)
	}
	return tw.Flush()
}
