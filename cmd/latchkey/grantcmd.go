package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/api/admin"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/oauth2/grant/refresh"
)

// cliGrantPolicy is the refresh policy the CLI revokes under: it hashes
// no token, and only needs to record a revocation long enough for any
// access token of the grant to have expired (a day covers any sane
// --access-token-ttl).
var cliGrantPolicy = refresh.Policy{AccessTTL: 24 * time.Hour}

// grantsResponse is the JSON `user grants --json` prints, the admin API's.
type grantsResponse struct {
	Grants []admin.GrantJSON `json:"grants"`
}

// openGrants opens the store, finds the user and returns the refresh
// service over it; close closes the store.
func openGrants(ctx context.Context, cfg config.Store, stderr io.Writer, ref string) (*refresh.Service, string, func(), error) {
	b, _, u, err := openUserBackend(ctx, cfg, stderr, ref)
	if err != nil {
		return nil, "", nil, err
	}
	svc, err := refresh.NewService(b.store, nil, cliGrantPolicy, nil)
	if err != nil {
		b.store.Close()
		return nil, "", nil, err
	}
	return svc, u.ID, func() { b.store.Close() }, nil
}

func runUserGrants(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		cfg    config.Store
		asJSON bool
	)
	fs := newFlagSet("user grants", "user grants ID [--json]\n\nList the user's live grants (refresh token families), newest first: one per\nsign-in that issued a refresh token. Tokens are never shown.", stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	fs.BoolVar(&asJSON, "json", false, `print {"grants":[...]}`)
	ref, err := parseUserID(fs, args)
	if err != nil {
		return err
	}
	svc, id, closeDB, err := openGrants(ctx, cfg, stderr, ref)
	if err != nil {
		return err
	}
	defer closeDB()
	fams, err := svc.UserGrants(ctx, id)
	if err != nil {
		return err
	}
	if asJSON {
		out := grantsResponse{Grants: []admin.GrantJSON{}}
		for _, f := range fams {
			out.Grants = append(out.Grants, admin.GrantToJSON(f))
		}
		return printJSON(stdout, out)
	}
	tw := newTable(stdout, "ID\tCLIENT_ID\tSCOPES\tCREATED\tLAST_USED\tEXPIRES\tABSOLUTE_EXPIRY")
	for _, f := range fams {
		last := "-"
		if !f.RotatedAt.IsZero() {
			last = cliTime(f.RotatedAt)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.ID, f.ClientID, orDash(strings.Join(f.Scopes, " ")), cliTime(f.CreatedAt), last,
			cliTime(f.IdleExpiresAt), cliTime(f.ExpiresAt))
	}
	return tw.Flush()
}

func runUserRevokeGrants(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		cfg     config.Store
		grantID string
	)
	fs := newFlagSet("user revoke-grants", "user revoke-grants ID [--grant GRANT_ID]\n\nRevoke all the user's live grants, or only --grant: their refresh tokens and\nevery access token issued from them stop working at once, on every node.", stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	fs.StringVar(&grantID, "grant", "", "revoke only this grant (an id from `user grants`)")
	ref, err := parseUserID(fs, args)
	if err != nil {
		return err
	}
	svc, id, closeDB, err := openGrants(ctx, cfg, stderr, ref)
	if err != nil {
		return err
	}
	defer closeDB()
	n, err := svc.RevokeUserGrants(ctx, cliActor, id, grantID)
	if errors.Is(err, refresh.ErrNotFound) {
		return fmt.Errorf("user %s has no live grant %q", id, grantID)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "revoked %d grant(s) of user %s\n", n, id)
	return nil
}
