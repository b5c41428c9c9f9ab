// Package store owns hookhouse's metadata database: accounts, sessions, integrations, their
// webhook URLs and signing secrets, and the activity logs. All SQL lives here and below
// (store/warehouse for the integrations' data).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/hookhouse/hookhouse/store/warehouse"
)

// Schema is the PostgreSQL schema the metadata lives in (OpenPostgres); warehouse schemas are
// one per integration, and ValidateSchemaName refuses this name for them.
const Schema = "hookhouse"

// Sentinel errors; handlers map them to HTTP statuses.
var (
	ErrNotFound           = errors.New("not found")
	ErrConflict           = errors.New("already exists")
	ErrInvalidCredentials = errors.New("invalid email or password")
	ErrSetupDone          = errors.New("the owner account already exists")
	ErrBusy               = errors.New("too many passwords are being checked at once")
)

// Store is the metadata database: an SQLite file (Open) or a PostgreSQL schema shared by
// several hookhouse nodes (OpenPostgres). On SQLite, writes go through one connection, as
// SQLite allows one writer at a time, and reads use a separate pool so they never queue
// behind a write; on PostgreSQL both are one pool.
type Store struct {
	d            dialect
	db           *sqlDB // the single writer on SQLite
	read         *sqlDB
	sessions     scs.Store
	stopSessions func()
	listener     *listener              // PostgreSQL: clears targets when another node changes a URL; nil on SQLite
	onDeleted    atomic.Pointer[func()] // see OnIntegrationsDeleted
	act          *activity
	stmts        statements
	touched      sync.Map                  // URL id -> the minute its last_used_at was last brought up to date
	targets      targetCache               // authenticated webhook targets, see WebhookTarget
	watch        watchers                  // dashboard pages waiting for arrivals, see WatchArrivals
	box          atomic.Pointer[secretBox] // seals signing secrets; nil until SetSecretKey
	hashes       *hashGate                 // bounds the argon2id hashes computed at once
	log          *slog.Logger              // for failures of background work (slog's default logger)
	now          func() time.Time
}

// Open opens (creating if needed, readable by its owner only: it holds password hashes,
// sessions and request bodies) the database file at path and runs pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := warehouse.CreatePrivate(path); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db, err := openSQLite(path, false)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	if err := convertToIncrementalVacuum(ctx, db, path); err != nil {
		db.Close()
		return nil, err
	}
	read, err := openSQLite(path, true)
	if err != nil {
		db.Close()
		return nil, err
	}
	// Keep every reader open: opening a SQLite connection costs more than most queries.
	read.SetMaxOpenConns(8)
	read.SetMaxIdleConns(8)
	sessions := sqlite3store.NewWithCleanupInterval(db, 10*time.Minute)
	s := &Store{
		db:           &sqlDB{DB: db},
		read:         &sqlDB{DB: read},
		sessions:     sessions,
		stopSessions: sessions.StopCleanup,
	}
	return s.start(ctx)
}

// OpenPostgres opens the metadata in the hookhouse schema of the PostgreSQL database at
// databaseURL (creating the schema if needed) and runs pending migrations, so that several
// hookhouse nodes can share it. It listens for changes other nodes make to webhook URLs.
func OpenPostgres(ctx context.Context, databaseURL string) (*Store, error) {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("-database: %w", err)
	}
	// Unqualified names are the hookhouse schema's, whatever the role's default search_path.
	cfg.RuntimeParams["search_path"] = Schema
	// pgx prepares every statement; PostgreSQL would keep the generic plan it made while a table
	// was small (a scan and a sort of all the Extraction Logs, 49 ms at 300,000 requests) until
	// the next ANALYZE. Planned for their arguments and the tables as they are, each time:
	// tens of microseconds, on statements that are not per webhook (PostgreSQL 12 or later).
	cfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	db := sql.OpenDB(stdlib.GetConnector(*cfg))
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to the -database PostgreSQL: %w", err)
	}
	d := dialect{postgres: true}
	if err := migratePostgres(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	sessions := postgresstore.NewWithConfig(db, postgresstore.Config{CleanUpInterval: 10 * time.Minute, TableName: Schema + ".sessions"})
	handle := &sqlDB{DB: db, d: d}
	s := &Store{
		d:            d,
		db:           handle,
		read:         handle,
		sessions:     sessions,
		stopSessions: sessions.StopCleanup,
	}
	s.watch.node, _ = newToken()
	s.listener = newListener(cfg, &s.targets, s.watch.heardArrivals, s.heardDeleted, slog.Default())
	return s.start(ctx)
}

// start finishes opening: the hot-path statements and the activity recorder.
func (s *Store) start(ctx context.Context) (*Store, error) {
	s.hashes = newHashGate()
	s.log = slog.Default()
	s.now = func() time.Time { return time.Now().UTC() }
	epoch, _ := newToken()
	s.watch.epoch = epoch[:16]
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.startActivity()
	return s, nil
}

// openSQLite is the one place SQLite is tuned: WAL so readers never block the writer,
// synchronous=FULL so a committed write survives power loss, a busy timeout instead of
// immediate SQLITE_BUSY errors, and enforced foreign keys. Space freed by pruning goes back to
// the file system: auto_vacuum INCREMENTAL (set before anything else, so a new file is made
// with it; see convertToIncrementalVacuum for older files), and a WAL that a large batch grew
// is cut back to 4 MiB (about the automatic checkpoint's 1,000 pages) once it is checkpointed.
func openSQLite(path string, readOnly bool) (*sql.DB, error) {
	q := url.Values{}
	if !readOnly {
		q.Add("_pragma", "auto_vacuum(INCREMENTAL)")
	}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(1)", "journal_size_limit(4194304)"} {
		q.Add("_pragma", p)
	}
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// convertToIncrementalVacuum switches a file made before incremental vacuuming (auto_vacuum
// NONE, which never shrinks) over, once: SQLite only changes auto_vacuum of a file with tables
// by rebuilding it with VACUUM, which needs the file's live size again in free disk space and
// takes a few seconds per GB. Later starts find it done.
func convertToIncrementalVacuum(ctx context.Context, db *sql.DB, path string) error {
	var mode int
	if err := db.QueryRowContext(ctx, "PRAGMA auto_vacuum").Scan(&mode); err != nil {
		return err
	}
	if mode == 2 { // INCREMENTAL
		return nil
	}
	start := time.Now()
	if _, err := db.ExecContext(ctx, "VACUUM"); err != nil {
		return fmt.Errorf("%s: switching to incremental auto-vacuum: %w", path, err)
	}
	slog.Default().Info("database switched to incremental auto-vacuum (once)", "path", path, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// SessionStore is where scs keeps browser sessions (the sessions table).
func (s *Store) SessionStore() scs.Store { return s.sessions }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Close stops background work and closes the database cleanly (checkpointing the WAL).
func (s *Store) Close() error {
	s.stopSessions()
	if s.act != nil {
		s.stopActivity()
	}
	if s.listener != nil {
		s.listener.close()
	}
	if s.read == s.db {
		return errors.Join(s.stmts.close(), s.db.Close())
	}
	return errors.Join(s.stmts.close(), s.read.Close(), s.db.Close())
}

// statements are the hot-path queries, prepared once: the SQLite driver would otherwise
// parse the SQL again on every call, which costs more than running it.
type statements struct {
	webhookTarget *sql.Stmt
	insertRequest *sql.Stmt
	countRequests *sql.Stmt
	insertLoad    *sql.Stmt
	countRows     *sql.Stmt
	loggedBytes   *sql.Stmt
	trimLogged    *sql.Stmt
	text          map[*sql.Stmt]string // each one's SQL, as bound for the database
}

// txStmt is a statement run in a transaction.
type txStmt interface {
	ExecContext(ctx context.Context, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, args ...any) *sql.Row
}

// inTx runs st in tx. On SQLite, whose one writer connection prepared it, that reuses it; on
// PostgreSQL tx's pooled connection is seldom the one that prepared it, and database/sql
// would prepare it again per transaction, so it runs as text, which pgx prepares once per
// connection and caches.
func (s *Store) inTx(ctx context.Context, tx *sqlTx, st *sql.Stmt) txStmt {
	if !s.d.postgres {
		return tx.Tx.StmtContext(ctx, st)
	}
	return textStmt{tx.Tx, s.stmts.text[st]}
}

type textStmt struct {
	tx    *sql.Tx
	query string
}

func (t textStmt) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.query, args...)
}

func (t textStmt) QueryRowContext(ctx context.Context, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.query, args...)
}

func (s *Store) prepare(ctx context.Context) error {
	typed := s.d.param
	for _, p := range []struct {
		db   *sqlDB
		stmt **sql.Stmt
		sql  string
	}{
		// Revoked URLs are found too, so that their requests count against their integration.
		{s.read, &s.stmts.webhookTarget, `SELECT w.id, w.token_hash, w.token_prefix, w.revoked_at, i.id, i.schema_name, i.source,
				i.primary_key, i.paused_at, i.signature_config
			FROM webhook_urls w JOIN integrations i ON i.id = w.integration_id
			WHERE w.token_hash = ? AND w.integration_id = ?`},
		{s.db, &s.stmts.insertRequest, `INSERT INTO webhook_requests
			(integration_id, received_at, status, error, records, rejected, bytes, content_type, ip, user_agent, body, body_truncated)
			SELECT ` + typed("bigint") + `, ` + typed("text") + `, ` + typed("integer") + `, ` + typed("text") + `, ` + typed("bigint") + `, ` + typed("bigint") + `, ` +
			typed("bigint") + `, ` + typed("text") + `, ` + typed("text") + `, ` + typed("text") + `, ` + typed("bytea") + `, ` + typed("boolean") + `
			WHERE EXISTS (SELECT 1 FROM integrations WHERE id = ?)`},
		{s.db, &s.stmts.countRequests, `INSERT INTO hourly_activity (integration_id, hour, requests, errors, refused, revoked)
			SELECT ` + typed("bigint") + `, ` + typed("text") + `, ` + typed("bigint") + `, ` + typed("bigint") + `, ` + typed("bigint") + `, ` + typed("bigint") + `
			WHERE EXISTS (SELECT 1 FROM integrations WHERE id = ?)
			ON CONFLICT (integration_id, hour) DO UPDATE
			SET requests = hourly_activity.requests + excluded.requests, errors = hourly_activity.errors + excluded.errors,
				refused = hourly_activity.refused + excluded.refused, revoked = hourly_activity.revoked + excluded.revoked`},
		{s.db, &s.stmts.insertLoad, `INSERT INTO load_reports
			(integration_id, committed_at, duration_us, records, rejected, rows_by_table, columns_added)
			SELECT id, ` + typed("text") + `, ` + typed("bigint") + `, ` + typed("bigint") + `, ` + typed("bigint") + `, ` + typed("text") + `, ` + typed("text") + `
			FROM integrations WHERE schema_name = ?`},
		{s.db, &s.stmts.countRows, `INSERT INTO hourly_activity (integration_id, hour, rows)
			SELECT id, ` + typed("text") + `, ` + typed("bigint") + ` FROM integrations WHERE schema_name = ?
			ON CONFLICT (integration_id, hour) DO UPDATE SET rows = hourly_activity.rows + excluded.rows`},
		{s.db, &s.stmts.loggedBytes, `SELECT logged_body_bytes FROM integrations WHERE id = ?`},
		// Deletes an integration's oldest logged requests until their bodies add up to at
		// least ?2 bytes (or none is left), reading the bodies' lengths, never their content.
		{s.db, &s.stmts.trimLogged, `DELETE FROM webhook_requests WHERE id IN (
			SELECT id FROM (SELECT id, SUM(COALESCE(length(body), 0)) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
				FROM webhook_requests WHERE integration_id = ?1) AS logged
			WHERE COALESCE(before, 0) < ?2)`},
	} {
		stmt, err := p.db.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		*p.stmt = stmt
		if s.stmts.text == nil {
			s.stmts.text = map[*sql.Stmt]string{}
		}
		s.stmts.text[stmt] = s.d.bind(p.sql)
	}
	return nil
}

// close closes every statement prepare made (each is a key of text).
func (st statements) close() error {
	var errs []error
	for stmt := range st.text {
		errs = append(errs, stmt.Close())
	}
	return errors.Join(errs...)
}

func (s *Store) logErr(msg string, err error) { s.log.Error(msg, "err", err) }

// timestamp is how times are stored: UTC, fixed width, so text order is time order.
const timestamp = "2006-01-02T15:04:05.000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timestamp) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(timestamp, s)
	return t
}
