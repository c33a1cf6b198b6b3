package main

import (
	"context"
	"fmt"
	"io"

	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/store/storecopy"
)

// runMigrate applies pending schema migrations and exits (serve also does
// this on start; this is for deploy pipelines that migrate first).
func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config.Store
	fs := newFlagSet("migrate", "migrate [--db DSN]", stdout, stderr)
	config.AddStoreFlags(fs, getenv, &cfg)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// Migrations need no master key: nothing sealed is read or written.
	s, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintln(stdout, "schema is up to date")
	return nil
}

const migrateStoreSynopsis = `migrate-store --from DSN --to DSN [--from-master-key-file F] [--to-master-key-file F]

Copies every client (with its secret hashes), user, signing key, revocation
and audit event from one store to a new, empty one, e.g. from sqlite:latchkey.db
to postgres://... Signing keys are re-encrypted under the target's master key:
LATCHKEY_FROM_MASTER_KEY / --from-master-key-file for the source (default: the
file beside a SQLite source), LATCHKEY_MASTER_KEY / --to-master-key-file for the
target. Stop the servers on the source first.`

func runMigrateStore(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var from, to config.Store
	fs := newFlagSet("migrate-store", migrateStoreSynopsis, stdout, stderr)
	fs.StringVar(&from.DB, "from", "", "source database (sqlite:PATH or postgres://...)")
	fs.StringVar(&to.DB, "to", "", "target database; must be new and empty")
	fs.StringVar(&from.MasterKeyFile, "from-master-key-file", getenv("LATCHKEY_FROM_MASTER_KEY_FILE"), "source master key file (env LATCHKEY_FROM_MASTER_KEY_FILE)")
	fs.StringVar(&to.MasterKeyFile, "to-master-key-file", getenv("LATCHKEY_MASTER_KEY_FILE"), "target master key file (env LATCHKEY_MASTER_KEY_FILE)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if from.DB == "" || to.DB == "" || from.DB == to.DB {
		fs.Usage()
		return fmt.Errorf("%w: --from and --to are required and must differ", errUsage)
	}
	from.MasterKey, to.MasterKey = getenv("LATCHKEY_FROM_MASTER_KEY"), getenv("LATCHKEY_MASTER_KEY")
	src, err := openExistingBackend(ctx, from, stderr, true)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	defer src.store.Close()
	dst, err := openBackend(ctx, to, stderr)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	defer dst.store.Close()
	// Every backend implements storecopy.Store (store.Store plus
	// store.Copier); openStore returns only the runtime interface.
	srcStore, srcOK := src.store.(storecopy.Store)
	dstStore, dstOK := dst.store.(storecopy.Store)
	if !srcOK || !dstOK {
		return fmt.Errorf("copy: %T to %T: a store backend cannot be copied", src.store, dst.store)
	}
	st, err := storecopy.Copy(ctx, srcStore, dstStore, src.box, dst.box)
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	fmt.Fprintf(stdout, "copied %s\n", st)
	return nil
}
