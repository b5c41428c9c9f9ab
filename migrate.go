package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hookhouse/hookhouse/store"
	"github.com/hookhouse/hookhouse/store/warehouse"
)

// hookhouse migrate copies a data folder of the embedded default into PostgreSQL, so that
// several nodes can serve it: see README, "Moving a data folder to PostgreSQL".

// migrateConfig is what the migrate command copies from and to.
type migrateConfig struct {
	DataDir   string
	Database  string
	Warehouse string
	Logs      bool
	SecretKey string // HOOKHOUSE_SECRET_KEY; empty: <data>/secret.key
}

func parseMigrateConfig(args []string, getenv func(string) string, out io.Writer) (migrateConfig, error) {
	var cfg migrateConfig
	fs := flag.NewFlagSet("hookhouse migrate", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&cfg.DataDir, "data", cmp.Or(getenv("HOOKHOUSE_DATA"), "./hookhouse-data"), "the data folder to copy (HOOKHOUSE_DATA); stop hookhouse first")
	fs.StringVar(&cfg.Database, "database", getenv("HOOKHOUSE_DATABASE"), "PostgreSQL database to copy the metadata into (HOOKHOUSE_DATABASE); empty: the metadata stays in the folder's hookhouse.db, and hookhouse runs on the folder with -warehouse")
	fs.StringVar(&cfg.Warehouse, "warehouse", getenv("HOOKHOUSE_WAREHOUSE"), "PostgreSQL database to copy the warehouse tables into (HOOKHOUSE_WAREHOUSE); may be the same as -database")
	fs.BoolVar(&cfg.Logs, "logs", false, "copy the Extraction Logs and Loading Reports too; without it the nodes start with empty logs")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: hookhouse migrate -data ./hookhouse-data -database postgres://... -warehouse postgres://...\n\n"+
			"Copies the accounts, integrations, webhook URLs (their hashes: the same URLs keep working), signing secrets,\n"+
			"counters and every warehouse schema with its catalog into PostgreSQL. The signing secrets stay sealed with the\n"+
			"folder's key (HOOKHOUSE_SECRET_KEY, or secret.key in the folder): start every node with HOOKHOUSE_SECRET_KEY set to it.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return migrateConfig{}, err
	}
	if cfg.Warehouse == "" {
		return migrateConfig{}, errors.New("migrate needs -warehouse, and -database to move the metadata too (postgres:// URLs; they may be the same database)")
	}
	cfg.SecretKey = getenv("HOOKHOUSE_SECRET_KEY")
	return cfg, nil
}

// migrate copies the data folder into PostgreSQL: the warehouse schemas first, each in its own
// transaction and skipped when already there, so that a run cut short can be run again; the
// metadata last, in one transaction, since the destination refuses it once it has accounts.
func migrate(ctx context.Context, cfg migrateConfig, log *slog.Logger, out io.Writer) error {
	if _, err := os.Stat(metadataFile(cfg.DataDir)); err != nil {
		return fmt.Errorf("%s is not a hookhouse data folder: %w", cfg.DataDir, err)
	}
	key, _, err := store.LoadSecretKey(cfg.SecretKey, cfg.DataDir)
	if err != nil {
		return err
	}
	src, err := store.Open(ctx, metadataFile(cfg.DataDir))
	if err != nil {
		return err
	}
	defer src.Close()
	if err := src.SetSecretKey(ctx, key); err != nil {
		return err
	}
	from, err := warehouse.Open(warehouseFolder(cfg.DataDir), log, warehouse.Options{})
	if err != nil {
		return err
	}
	defer from.Close()
	to, err := warehouse.OpenPostgres(ctx, cfg.Warehouse, log, warehouse.Options{})
	if err != nil {
		return err
	}
	defer to.Close()
	schemas, err := from.Schemas(ctx)
	if err != nil {
		return err
	}
	var behind []string // copied by an earlier run, and loaded into since
	for _, schema := range schemas {
		r, err := from.CopySchema(ctx, to, schema)
		if errors.Is(err, warehouse.ErrSchemaBehind) {
			fmt.Fprintf(out, "warehouse %s: already in PostgreSQL, but this folder has rows loaded since it was copied, which PostgreSQL lacks: not copied\n", schema)
			behind = append(behind, schema)
			continue
		}
		if errors.Is(err, warehouse.ErrSchemaExists) {
			fmt.Fprintf(out, "warehouse %s: already in PostgreSQL, skipped\n", schema)
			continue
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "warehouse %s: %s, %s, %s, %s\n", schema, counted(int64(r.Tables), "table"), counted(r.Rows, "row"),
			counted(r.Rejected, "rejected record"), counted(r.Deliveries, "delivery id"))
		if r.Refused > 0 {
			fmt.Fprintf(out, "warehouse %s: %d of the rejected records are records PostgreSQL could not hold, moved to _sdc_rejected with its reason and all their rows\n", schema, r.Refused)
		}
	}

	if len(behind) > 0 { // before the metadata: the schemas must be copied again first
		return fmt.Errorf("%s: rows loaded into this folder after an earlier migrate were not copied (hookhouse was not stopped); if nothing has loaded into PostgreSQL since, drop the schema there (DROP SCHEMA name CASCADE) and run migrate again", strings.Join(behind, ", "))
	}
	if cfg.Database == "" {
		fmt.Fprintf(out, "metadata: stays in %s; run hookhouse on this folder with -warehouse\n", metadataFile(cfg.DataDir))
		return nil
	}
	dst, err := store.OpenPostgres(ctx, cfg.Database)
	if err != nil {
		return err
	}
	defer dst.Close()
	if err := dst.SetSecretKey(ctx, key); err != nil {
		return err
	}
	if err := src.CopyInto(ctx, dst, store.CopyOptions{Logs: cfg.Logs}); err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	fmt.Fprintf(out, "metadata: copied (logs: %v)\n", cfg.Logs)
	if cfg.SecretKey == "" {
		fmt.Fprintf(out, "Start every node with HOOKHOUSE_SECRET_KEY set to the key in %s, e.g. HOOKHOUSE_SECRET_KEY=\"$(cat %s)\"\n",
			filepath.Join(cfg.DataDir, store.SecretKeyFile), filepath.Join(cfg.DataDir, store.SecretKeyFile))
	}
	return nil
}

// counted is n with its noun, plural unless n is 1: "1 table", "8 rows".
func counted(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// notInPostgres maps the schemas of the SQLite files in folder whose rows w lacks to their files: what a
// node started with -warehouse on a folder loaded before would not show (main warns of them,
// and the pages say so). A schema w holds counts too when the file's newest row is not in it
// (loaded before, and not copied: a webhook under -warehouse made the schema first).
func notInPostgres(ctx context.Context, w *warehouse.Warehouse, folder string) map[string]string {
	files, _ := filepath.Glob(filepath.Join(folder, "*.db"))
	if len(files) == 0 {
		return nil
	}
	have, err := w.Schemas(ctx)
	if err != nil {
		return nil // (the warehouse's health says what is wrong)
	}
	from, err := warehouse.Open(folder, slog.New(slog.DiscardHandler), warehouse.Options{})
	if err != nil {
		return nil
	}
	defer from.Close()
	missing := map[string]string{}
	for _, f := range files {
		schema := strings.TrimSuffix(filepath.Base(f), ".db")
		if !slices.Contains(have, schema) {
			missing[schema] = f
		} else if behind, err := from.LoadedSinceCopy(ctx, w, schema); err == nil && behind {
			missing[schema] = f
		}
	}
	return missing
}
