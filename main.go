// Command hookhouse turns SaaS webhooks into warehouse tables: a dashboard and a webhook
// endpoint in one process, over embedded SQLite by default or PostgreSQL (-database,
// -warehouse).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/time/rate"

	"github.com/hookhouse/hookhouse/handlers"
	"github.com/hookhouse/hookhouse/store"
	"github.com/hookhouse/hookhouse/store/warehouse"
	"github.com/hookhouse/hookhouse/web"
	"github.com/hookhouse/hookhouse/web/metrics"
)

// Config is every setting; each flag has a HOOKHOUSE_* environment equivalent.
type Config struct {
	Addr                 string
	DataDir              string
	Database             string // a PostgreSQL URL for the metadata, shared by several nodes; empty: <data>/hookhouse.db
	Warehouse            string // a PostgreSQL URL; empty: SQLite files in the data folder
	PublicURL            string
	LogFormat            string
	LogLevel             slog.Level // the least severe level written; Debug adds a line per accepted webhook
	MaxBodyBytes         int64
	MaxInflightBodyBytes int64   // webhook body bytes held at once across requests; more get 503
	MaxColumns           int     // per warehouse table; records needing more go to _sdc_rejected
	RateLimit            float64 // requests per second per webhook URL; 0 turns the limit off
	RateBurst            int
	LogRetention         time.Duration    // how long Extraction Logs and Loading Reports are kept
	LogMaxPerIntegration int              // most logged requests (and batches) kept per integration
	LogMaxBytes          int64            // most bytes of logged request bodies kept per integration
	MetricsToken         string           // bearer token /metrics requires; empty turns /metrics off
	ReadHeaderTimeout    time.Duration    // a client must send a request's headers within this
	ReadTimeout          time.Duration    // ... and the whole request, body included, within this
	TrustedProxies       handlers.Proxies // whose X-Forwarded-For and X-Forwarded-Proto are believed
	DedupWindow          time.Duration    // how long a delivery id is remembered, so a retried delivery is stored once
	IdleWriterTimeout    time.Duration    // how long an integration's warehouse writer stays open without a webhook
	SecretKey            []byte           // HOOKHOUSE_SECRET_KEY: seals signing secrets; nil: <data>/secret.key, made on first start
	AdminEmail           string           // HOOKHOUSE_ADMIN_EMAIL: creates the owner at start when no account exists
	AdminPassword        string           // HOOKHOUSE_ADMIN_PASSWORD
	ShutdownDrain        time.Duration    // after SIGTERM, how long to serve on while /healthz answers 503
}

// shutdownGrace bounds how long requests in flight may take to finish at shutdown.
const shutdownGrace = 15 * time.Second

func main() {
	if len(os.Args) > 1 && os.Args[1] == "migrate" {
		mainMigrate(os.Args[2:])
		return
	}
	cfg, err := parseConfig(os.Args[1:], os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "hookhouse:", err)
		os.Exit(2)
	}
	if os.Getenv("GOGC") == "" {
		// The live Go heap stays near 2 MB (SQLite's page cache lives outside it), so under a
		// webhook stream the collector would run dozens of times a second. Measured (README,
		// Speed): at 400 rather than 200, GC CPU per event 2.6 to 1.1 µs and server CPU per
		// event about 5% lower, for 8 MB more resident memory while ingesting (35 to 43 MB); a
		// burst of large bodies peaks at the same height either way, its live data.
		debug.SetGCPercent(400)
	}
	log := newLogger(cfg.LogFormat, cfg.LogLevel)
	slog.SetDefault(log) // background work (e.g. the store's log writer) reports here too
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ready := func(addr net.Addr) { log.Info("hookhouse is listening", "addr", addr.String(), "data", cfg.DataDir) }
	if err := run(ctx, cfg, log, ready); err != nil {
		log.Error("hookhouse stopped", "err", err)
		os.Exit(1)
	}
	log.Info("hookhouse stopped") // after run closed the warehouse and the store
}

// mainMigrate runs hookhouse migrate: a data folder copied into PostgreSQL (migrate.go).
func mainMigrate(args []string) {
	cfg, err := parseMigrateConfig(args, os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "hookhouse migrate:", err)
		os.Exit(2)
	}
	if err := migrate(context.Background(), cfg, newLogger("text", slog.LevelWarn), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "hookhouse migrate:", err)
		os.Exit(1)
	}
}

func parseConfig(args []string, getenv func(string) string) (Config, error) {
	var cfg Config
	fs := flag.NewFlagSet("hookhouse", flag.ContinueOnError)
	fs.StringVar(&cfg.Addr, "addr", ":8080", "address to listen on")
	fs.StringVar(&cfg.DataDir, "data", "./hookhouse-data", "folder for the metadata database and the warehouse files")
	fs.StringVar(&cfg.Database, "database", "", "PostgreSQL database to keep the metadata in (accounts, sessions, integrations, webhook URLs, logs), in its schema "+store.Schema+", e.g. postgres://user:pass@host:5432/db, so that several hookhouse nodes can share it (needs HOOKHOUSE_SECRET_KEY); empty: <data>/hookhouse.db (prefer the environment variable for a password: flags show in ps)")
	fs.StringVar(&cfg.Warehouse, "warehouse", "", "PostgreSQL database to load the warehouse tables into, e.g. postgres://user:pass@host:5432/db (one PostgreSQL schema per integration); empty: SQLite files in <data>/warehouse (prefer the environment variable for a password: flags show in ps)")
	fs.StringVar(&cfg.PublicURL, "public-url", "", "base URL webhook URLs are built on, e.g. https://hooks.example.com; default: derived from each request")
	fs.StringVar(&cfg.LogFormat, "log-format", "text", "log format: text or json")
	fs.TextVar(&cfg.LogLevel, "log-level", slog.LevelInfo, "least severe log level written: debug (adds a line per accepted webhook request), info, warn or error")
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", handlers.DefaultMaxBodyBytes, "largest webhook body accepted; larger ones get 413")
	fs.Int64Var(&cfg.MaxInflightBodyBytes, "max-inflight-body-bytes", handlers.DefaultMaxInflightBodyBytes, "most webhook body bytes held in memory at once, across requests; beyond it a request gets 503 with Retry-After")
	fs.IntVar(&cfg.MaxColumns, "max-columns", warehouse.DefaultMaxColumns, "most columns a warehouse table may have (at most 1600); a record needing more goes to _sdc_rejected")
	fs.Float64Var(&cfg.RateLimit, "rate-limit", web.DefaultRateLimit, "requests per second each webhook URL may send to this node (each of N nodes sharing -database allows as much); more get 429 with Retry-After; 0 turns the limit off")
	fs.IntVar(&cfg.RateBurst, "rate-burst", web.DefaultRateBurst, "requests a webhook URL may send at once above -rate-limit")
	fs.DurationVar(&cfg.LogRetention, "log-retention", store.DefaultRetention.MaxAge, "how long Extraction Logs and Loading Reports are kept, e.g. 168h")
	fs.IntVar(&cfg.LogMaxPerIntegration, "log-max-requests", store.DefaultRetention.MaxPerIntegration, "most webhook requests (and batches) the logs keep per integration")
	fs.Int64Var(&cfg.LogMaxBytes, "log-max-bytes", store.DefaultRetention.MaxBytesPerIntegration, "most bytes of request bodies the logs keep per integration (at least 65536); the oldest requests go first")
	fs.StringVar(&cfg.MetricsToken, "metrics-token", "", "bearer token Prometheus must send to read /metrics; empty: /metrics answers 404 (prefer the environment variable: flags show in ps)")
	fs.DurationVar(&cfg.ReadHeaderTimeout, "read-header-timeout", 10*time.Second, "time a client has to send a request's headers; slower ones are cut off")
	fs.DurationVar(&cfg.ReadTimeout, "read-timeout", time.Minute, "time a client has to send a whole request, body included; slower ones are cut off")
	fs.DurationVar(&cfg.DedupWindow, "dedup-window", warehouse.DefaultDedupWindow, "how long a delivery id (webhook-id, X-GitHub-Delivery, Stripe's event id, a field you name) is remembered: a delivery repeated within it is answered 200 and stored once")
	fs.DurationVar(&cfg.ShutdownDrain, "shutdown-drain", 0, "behind a load balancer: after SIGTERM, go on serving this long while /healthz answers 503, so the balancer sends new requests to other nodes before this one stops (e.g. 2s with the README's HAProxy configuration); 0: stop at once")
	fs.DurationVar(&cfg.IdleWriterTimeout, "idle-writer-timeout", warehouse.DefaultIdleTimeout, "how long an integration's warehouse writer keeps its file (or PostgreSQL connection) and goroutine open without a webhook; the next webhook opens it again")
	fs.TextVar(&cfg.TrustedProxies, "trusted-proxies", handlers.Proxies{}, "comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed; default none")
	// Every flag can also come from HOOKHOUSE_<NAME>; the command line wins.
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		f.Usage += " (" + name + ")"
		if v := getenv(name); v != "" && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("%s=%q: %w", name, v, err)
			}
		}
	})
	if envErr != nil {
		return Config{}, envErr
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: hookhouse [flags]\n       hookhouse migrate -data ./hookhouse-data -database postgres://... -warehouse postgres://... (copies a data folder into PostgreSQL; hookhouse migrate -h)\n\nFlags (each also read from the environment variable named in brackets):\n")
		fs.PrintDefaults()
		fmt.Fprintf(fs.Output(), "\nEnvironment only:\n  HOOKHOUSE_ADMIN_EMAIL, HOOKHOUSE_ADMIN_PASSWORD\n    \tcreate the owner account at start when no account exists (headless installs)\n")
		fmt.Fprintf(fs.Output(), "  HOOKHOUSE_SECRET_KEY\n    \t32 bytes in base64 or hex that signing secrets are encrypted with; default: %s in the data folder, created on first start; required with -database, the same on every node\n", store.SecretKeyFile)
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	cfg.AdminEmail, cfg.AdminPassword = getenv("HOOKHOUSE_ADMIN_EMAIL"), getenv("HOOKHOUSE_ADMIN_PASSWORD")
	// Absolute, so the Account page and the logs name the folder as the warehouse's files are named.
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return Config{}, fmt.Errorf("-data %q: %w", cfg.DataDir, err)
	}
	cfg.DataDir = dir
	if k := getenv("HOOKHOUSE_SECRET_KEY"); k != "" {
		key, err := store.ParseSecretKey(k)
		if err != nil {
			return Config{}, err
		}
		cfg.SecretKey = key
	}
	if cfg.Database != "" {
		if u, err := url.Parse(cfg.Database); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return Config{}, errors.New("-database must be a postgres:// URL, e.g. postgres://user:pass@host:5432/db")
		}
		if cfg.SecretKey == nil {
			// Each node would otherwise make its own <data>/secret.key, and none could read the
			// signing secrets (or the copy-once URLs) another sealed.
			return Config{}, errors.New("-database needs HOOKHOUSE_SECRET_KEY: every node sharing the database must seal secrets with the same key; make one with `openssl rand -base64 32` and give it to each node")
		}
	}
	if cfg.DedupWindow < time.Minute {
		return Config{}, fmt.Errorf("-dedup-window must be at least 1m, not %v", cfg.DedupWindow)
	}
	if cfg.IdleWriterTimeout < time.Second {
		return Config{}, fmt.Errorf("-idle-writer-timeout must be at least 1s, not %v", cfg.IdleWriterTimeout)
	}
	if cfg.MaxBodyBytes <= 0 {
		return Config{}, fmt.Errorf("-max-body-bytes must be positive, not %d", cfg.MaxBodyBytes)
	}
	inflightGiven := getenv(envName("max-inflight-body-bytes")) != ""
	fs.Visit(func(f *flag.Flag) { inflightGiven = inflightGiven || f.Name == "max-inflight-body-bytes" })
	if !inflightGiven { // the default bound is never below one body of the largest size
		cfg.MaxInflightBodyBytes = max(cfg.MaxInflightBodyBytes, cfg.MaxBodyBytes)
	}
	if cfg.MaxInflightBodyBytes < cfg.MaxBodyBytes {
		return Config{}, fmt.Errorf("-max-inflight-body-bytes must be at least -max-body-bytes (%d), not %d: a body of the largest size must fit", cfg.MaxBodyBytes, cfg.MaxInflightBodyBytes)
	}
	if cfg.ReadHeaderTimeout <= 0 || cfg.ReadTimeout < cfg.ReadHeaderTimeout {
		return Config{}, fmt.Errorf("-read-header-timeout must be positive and -read-timeout at least as long, not %v and %v", cfg.ReadHeaderTimeout, cfg.ReadTimeout)
	}
	if cfg.MaxColumns < 10 || cfg.MaxColumns > 1600 {
		return Config{}, fmt.Errorf("-max-columns must be between 10 and 1600, not %d", cfg.MaxColumns)
	}
	if cfg.RateLimit < 0 || cfg.RateBurst < 1 {
		return Config{}, fmt.Errorf("-rate-limit must be 0 (off) or positive and -rate-burst at least 1, not %g and %d", cfg.RateLimit, cfg.RateBurst)
	}
	if cfg.LogRetention < time.Minute || cfg.LogMaxPerIntegration < 1 {
		return Config{}, fmt.Errorf("-log-retention must be at least 1m and -log-max-requests at least 1, not %v and %d", cfg.LogRetention, cfg.LogMaxPerIntegration)
	}
	if cfg.LogMaxBytes < store.MaxLoggedBody {
		return Config{}, fmt.Errorf("-log-max-bytes must be at least %d (one logged body), not %d", store.MaxLoggedBody, cfg.LogMaxBytes)
	}
	if cfg.ShutdownDrain < 0 || cfg.ShutdownDrain > time.Minute {
		return Config{}, fmt.Errorf("-shutdown-drain must be between 0 and 1m, not %v", cfg.ShutdownDrain)
	}
	if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
		return Config{}, fmt.Errorf("-log-format must be text or json, not %q", cfg.LogFormat)
	}
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Config{}, fmt.Errorf("-public-url must be an absolute http(s) URL like https://hooks.example.com, not %q", cfg.PublicURL)
		}
		cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	}
	return cfg, nil
}

// webhookRate is the -rate-limit setting as the limiter takes it: 0 means no limit.
func webhookRate(perSecond float64) rate.Limit {
	if perSecond == 0 {
		return rate.Inf
	}
	return rate.Limit(perSecond)
}

// envName is a flag's environment variable: -max-body-bytes is HOOKHOUSE_MAX_BODY_BYTES.
func envName(flagName string) string {
	return "HOOKHOUSE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func newLogger(format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// run serves until ctx is cancelled, then stops accepting, lets requests in flight finish
// (bounded by shutdownGrace) and closes the store.
func run(ctx context.Context, cfg Config, log *slog.Logger, ready func(net.Addr)) error {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	if open := openToOthers(cfg.DataDir); len(open) > 0 {
		log.Warn("other users of this machine can read the data folder (password hashes, sessions, webhook bodies); hookhouse leaves existing modes alone",
			"paths", strings.Join(open, ", "), "fix", "chmod -R go-rwx "+cfg.DataDir)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := useSecretKey(ctx, st, cfg, log); err != nil {
		return err
	}
	st.SetRetention(store.Retention{MaxAge: cfg.LogRetention, MaxPerIntegration: cfg.LogMaxPerIntegration, MaxBytesPerIntegration: cfg.LogMaxBytes})
	if err := createAdmin(ctx, st, cfg, log); err != nil {
		return err
	}
	if err := writeSetupCode(ctx, st, cfg, log); err != nil {
		return err
	}
	m := metrics.New(metrics.Sources{ActiveIntegrations: st.ActiveIntegrations, DroppedActivity: st.DroppedActivity, LiveStreams: st.Watches})
	// Committed batches feed the Loading Reports and the metrics.
	onCommit := func(schema string, b warehouse.BatchReport) {
		st.RecordBatch(schema, b)
		m.ObserveBatch(schema, b)
	}
	wh, leftInFiles, err := openWarehouse(ctx, cfg, log, warehouse.Options{OnCommit: onCommit, MaxColumns: cfg.MaxColumns, DedupWindow: cfg.DedupWindow, IdleTimeout: cfg.IdleWriterTimeout})
	if err != nil {
		return err
	}
	log.Info("warehouse", "where", wh.Describe())
	defer wh.Close() // before the store closes: it finishes queued loads, which report to the store

	var draining atomic.Bool
	flood := web.NewFloodLog(web.DefaultFloodInterval)
	defer flood.Flush() // the last interval's counts, once requests in flight have finished
	srv := &http.Server{
		Handler: web.New(web.Config{
			Store: st, Warehouse: wh, Log: log,
			PublicURL: cfg.PublicURL, DataDir: cfg.DataDir, MaxBodyBytes: cfg.MaxBodyBytes, MaxInflightBodyBytes: cfg.MaxInflightBodyBytes,
			RateLimit: webhookRate(cfg.RateLimit), RateBurst: cfg.RateBurst,
			Metrics: m, MetricsToken: cfg.MetricsToken, TrustedProxies: cfg.TrustedProxies, Flood: flood,
			Draining: draining.Load, LeftInFiles: leftInFiles,
		}),
		// Bounded reads so slow clients cannot hold connections forever.
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		IdleTimeout:       2 * time.Minute,
	}
	srv.RegisterOnShutdown(st.EndWatches) // live pages' streams end, so shutdown need not wait for them
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	ready(ln.Addr())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	if cfg.ShutdownDrain > 0 {
		// Closing idle connections at once would race a balancer that has just sent a request on
		// one: first let its health checks take this node out.
		draining.Store(true)
		log.Info("shutting down: draining, /healthz answers 503", "for", cfg.ShutdownDrain)
		time.Sleep(cfg.ShutdownDrain)
	}
	log.Info("shutting down: finishing requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// The data folder holds the metadata database and the SQLite warehouse's folder (and
// store.SecretKeyFile); these name them for every command.
func metadataFile(dataDir string) string    { return filepath.Join(dataDir, "hookhouse.db") }
func warehouseFolder(dataDir string) string { return filepath.Join(dataDir, "warehouse") }

// openStore opens the metadata: the PostgreSQL database of -database, or by default
// <data>/hookhouse.db.
func openStore(ctx context.Context, cfg Config) (*store.Store, error) {
	if cfg.Database != "" {
		return store.OpenPostgres(ctx, cfg.Database)
	}
	return store.Open(ctx, metadataFile(cfg.DataDir))
}

// openWarehouse opens the PostgreSQL warehouse of -warehouse, or by default one SQLite file per
// integration, <data>/warehouse/<schema>.db. With -warehouse it also returns the schemas whose
// SQLite files the data folder holds and PostgreSQL lacks, with their files.
func openWarehouse(ctx context.Context, cfg Config, log *slog.Logger, opts warehouse.Options) (*warehouse.Warehouse, map[string]string, error) {
	files := warehouseFolder(cfg.DataDir)
	if cfg.Warehouse == "" {
		w, err := warehouse.Open(files, log, opts)
		return w, nil, err
	}
	w, err := warehouse.OpenPostgres(ctx, cfg.Warehouse, log, opts)
	if err != nil {
		return nil, nil, err
	}
	// A folder loaded before -warehouse was set: the rows of its files stay there, and the
	// dashboard shows the PostgreSQL schemas only (and says so).
	missing := notInPostgres(ctx, w, files)
	if len(missing) > 0 {
		log.Warn("the data folder holds SQLite warehouse files that the PostgreSQL warehouse does not show; hookhouse migrate copies them (README, Moving a data folder to PostgreSQL)",
			"folder", files, "schemas", strings.Join(slices.Sorted(maps.Keys(missing)), ", "))
	}
	return w, missing, nil
}

// useSecretKey gives the store the key signing secrets are sealed with: HOOKHOUSE_SECRET_KEY,
// or <data>/secret.key, made on first start. It fails (hookhouse does not start) when stored
// secrets do not decrypt with it, rather than refusing every signed webhook.
func useSecretKey(ctx context.Context, st *store.Store, cfg Config, log *slog.Logger) error {
	key := cfg.SecretKey
	if key == nil {
		var created bool
		var err error
		if key, created, err = store.LoadSecretKey("", cfg.DataDir); err != nil {
			return err
		}
		if created {
			log.Info("created the key signing secrets are encrypted with; back it up with the data folder, or set HOOKHOUSE_SECRET_KEY", "file", filepath.Join(cfg.DataDir, store.SecretKeyFile))
		}
	}
	return st.SetSecretKey(ctx, key)
}

// writeSetupCode gives the setup form its one-time code while no account exists: a new one
// each start, in a file only whoever runs hookhouse can read (the log names the file, never the
// code). Once an account exists, a file left from setup is removed.
func writeSetupCode(ctx context.Context, st *store.Store, cfg Config, log *slog.Logger) error {
	path := filepath.Join(cfg.DataDir, store.SetupCodeFile)
	code, err := st.NewSetupCode(ctx)
	if err != nil {
		return err
	}
	if code == "" {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	if err := os.WriteFile(path, []byte(code+"\n"), 0o600); err != nil {
		return fmt.Errorf("writing the setup code: %w", err)
	}
	log.Warn("no account yet: open /setup and enter the setup code from this file", "file", path)
	return nil
}

// createAdmin creates the owner from the environment for headless installs; a no-op once any
// account exists.
func createAdmin(ctx context.Context, st *store.Store, cfg Config, log *slog.Logger) error {
	if cfg.AdminEmail == "" && cfg.AdminPassword == "" {
		return nil
	}
	// The setup form's rules, so that the owner can be managed like any other account.
	if err := store.ValidateEmail(cfg.AdminEmail); err != nil {
		return fmt.Errorf("HOOKHOUSE_ADMIN_EMAIL must be one plain email address, like ops@example.com, not %q", cfg.AdminEmail)
	}
	if err := store.ValidatePassword(cfg.AdminPassword); err != nil {
		return fmt.Errorf("HOOKHOUSE_ADMIN_PASSWORD: %w", err)
	}
	u, err := st.CreateOwner(ctx, cfg.AdminEmail, cfg.AdminPassword)
	if errors.Is(err, store.ErrSetupDone) {
		return nil
	}
	if err != nil {
		return err
	}
	log.Info("owner account created from the environment", "user_id", u.ID)
	return nil
}
