package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/latchkey/latchkey/internal/api/admin"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/domain"
	"github.com/latchkey/latchkey/internal/keys"
)

const keysUsage = `Usage: latchkey keys list [--json]
       latchkey keys rotate [--key-publish-delay 2m] [--key-refresh 30s] [--jwks-max-age 60s] [--json]

rotate stores a new signing key of each algorithm (RS256 for ID tokens,
ES256 for access and ID tokens) in the database. Every node publishes
it in its JWKS at its next refresh (within --key-refresh, 30s); nodes sign
with it only after --key-publish-delay, which must exceed that refresh
interval plus the JWKS cache lifetime (--jwks-max-age, 60s); give the
values your nodes run with (the same LATCHKEY_* variables apply). The previous key stays published until every
token it signed has expired.
`

func runKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, keysUsage)
		return nil
	}
	if len(args) == 0 || (args[0] != "list" && args[0] != "rotate") {
		fmt.Fprint(stderr, keysUsage)
		return fmt.Errorf("%w: keys needs list or rotate", errUsage)
	}
	var (
		cfg    config.Store
		timing config.Serve
		asJSON bool
	)
	fs := newFlagSet("keys "+args[0], "keys "+args[0]+" [flags]", stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	if args[0] == "rotate" {
		// The same flags and environment as serve, checked the same way:
		// the delay must cover the fleet's refresh plus the JWKS cache.
		config.AddKeyTimingFlags(fs, getenv, &timing)
	}
	fs.BoolVar(&asJSON, "json", false, "print JSON")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if args[0] == "rotate" {
		timing.Store = cfg
		if err := timing.ValidateKeyTiming(); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
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
		recs, err := km.Rotate(ctx, timing.KeyPublishDelay, domain.Actor{Subject: "cli"})
		if err != nil {
			return err
		}
		for _, rec := range recs {
			if !asJSON {
				fmt.Fprintf(stdout, "stored new %s signing key %s: every node publishes it at its next key refresh (within %s) and signs with it from %s\n",
					rec.Algorithm, rec.KID, timing.KeyRefresh, rec.SignFrom.Format(time.RFC3339))
			}
		}
	}
	sts := admin.KeysToJSON(km.Statuses())
	if asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"keys": sts})
	}
	tw := newTable(stdout, "KID\tALG\tSIGN FROM\tSIGNING\tPUBLISHED\tRETIRES")
	for _, k := range sts {
		retires := "-"
		if k.RetiresAt != nil {
			retires = *k.RetiresAt
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%v\t%s\n", k.KID, k.Alg, k.SignFrom, k.Signing, k.Published, retires)
	}
	return tw.Flush()
}
