package warehouse

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// postgresDest loads each schema into a PostgreSQL schema of that name, as Stitch's
// PostgreSQL destination does: stitch_vero.data, its subtables, stitch_vero._sdc_rejected, and
// the catalog beside them. Reads go through one shared pool; each writer holds one connection.
type postgresDest struct {
	db       *sql.DB // the writers'
	reads    *sql.DB // the dashboard's
	describe string
	url      string // without the password
	address  string // as given, password included: for tests
}

// minPostgresVersion is PostgreSQL 12, as server_version_num: the first with plan_cache_mode.
const minPostgresVersion = 120000

// maxPostgresConns and maxPostgresReadConns bound the connections a warehouse opens: for the
// writers committing at once, and for the dashboard's reads.
const (
	maxPostgresConns     = 16
	maxPostgresIdleConns = 4 // kept open between batches, for all schemas together
	maxPostgresReadConns = 4
)

// OpenPostgres connects to the PostgreSQL database at address (a postgres:// URL or a
// key=value string) and loads every schema there. Commits are synchronous whatever the server's default,
// so a 200 means the rows are on the server's disk; a server with fsync off is named in a
// warning, since its commits are not durable.
func OpenPostgres(ctx context.Context, address string, log *slog.Logger, opts Options) (*Warehouse, error) {
	cfg, err := pgx.ParseConfig(address)
	if err != nil {
		return nil, fmt.Errorf("warehouse: the PostgreSQL address cannot be read (postgres://user:password@host:5432/database): %s", parseProblem(err))
	}
	cfg.RuntimeParams["synchronous_commit"] = "on"
	cfg.RuntimeParams["application_name"] = "hookhouse"
	// As SQLite's busy_timeout: an analyst's open transaction on a table (an ALTER TABLE waits
	// for it) or another node holding a schema fails a writer's batch, not hangs it.
	opts = opts.withDefaults()
	cfg.RuntimeParams["lock_timeout"] = strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10)
	db := stdlib.OpenDB(*cfg)
	// A writer holds a connection only while it commits, so a few serve many integrations,
	// well within PostgreSQL's default max_connections of 100 (several nodes share it).
	db.SetMaxOpenConns(maxPostgresConns)
	db.SetMaxIdleConns(maxPostgresIdleConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	// The dashboard reads SELECT *, whose columns grow: its statements are not cached (a cached
	// one fails once its table has gained a column), while the writers' INSERTs are.
	readCfg := cfg.Copy()
	readCfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	delete(readCfg.RuntimeParams, "lock_timeout")
	reads := stdlib.OpenDB(*readCfg)
	reads.SetMaxOpenConns(maxPostgresReadConns)
	reads.SetConnMaxIdleTime(5 * time.Minute)
	var fsync, version string
	var versionNum int
	if err := db.QueryRowContext(ctx, "SELECT current_setting('fsync'), current_setting('server_version_num')::int, current_setting('server_version')").Scan(&fsync, &versionNum, &version); err != nil {
		db.Close()
		reads.Close()
		return nil, fmt.Errorf("warehouse: connect to PostgreSQL at %s (check that the server runs and that the database exists: createdb): %w", describePostgres(cfg), err)
	}
	if versionNum < minPostgresVersion { // (plan_cache_mode, see customPlanSQL)
		db.Close()
		reads.Close()
		return nil, fmt.Errorf("warehouse: PostgreSQL %s at %s is too old: hookhouse needs PostgreSQL 12 or later", version, describePostgres(cfg))
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if fsync != "on" {
		log.Warn("warehouse: the PostgreSQL server runs with fsync off: a crash of its machine can lose acknowledged events",
			"server", describePostgres(cfg))
	}
	dest := &postgresDest{db: db, reads: reads, describe: "PostgreSQL " + describePostgres(cfg), url: passwordless(cfg), address: address}
	dest.upgradeRejected(ctx, log)
	return newWarehouse(dest, log, opts), nil
}

// upgradeRejected gives the _sdc_rejected tables that schemas of an older version made their
// key (see pgRejectedKey) now, so that the Data page can page them before their writers next
// open. One catalog query when there is nothing to do; a schema that cannot be upgraded now (a
// lock held past lock_timeout) is named in a warning and upgraded when its writer opens.
func (d *postgresDest) upgradeRejected(ctx context.Context, log *slog.Logger) {
	// The catalog alone, no to_regclass: PostgreSQL may run a condition on the schema for every
	// schema, and a name looked up in pg_toast is refused to a user who is no superuser.
	old, err := nameSet(ctx, rebinding{d.db}, `SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relname = ? AND c.relkind = 'r' AND EXISTS (SELECT 1 FROM pg_class t WHERE t.relnamespace = n.oid AND t.relname = ?)
		AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = ? AND NOT a.attisdropped)`,
		rejectedTable, tablesCatalog, pgRejectedKey)
	if err != nil {
		log.Warn("warehouse: cannot look for schemas of an older version", "err", err)
		return
	}
	for _, schema := range slices.Sorted(maps.Keys(old)) {
		if !validSchema(schema) {
			continue
		}
		s, err := d.session(ctx, schema) // (it makes what the schema lacks)
		if err == nil {
			err = s.close()
		}
		if err != nil {
			log.Warn("warehouse: cannot add the key of _sdc_rejected now; its writer will", "schema", schema, "err", err)
		}
	}
}

// parseProblem is what pgx found wrong in an address, without the address (it may hold the
// password).
func parseProblem(err error) string {
	if inner := errors.Unwrap(err); inner != nil {
		return inner.Error()
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return "not a PostgreSQL address"
}

// describePostgres names the server and database, never the password.
func describePostgres(cfg *pgx.ConnConfig) string {
	host := cfg.Host
	if strings.HasPrefix(host, "/") {
		host = "socket " + host
	}
	return fmt.Sprintf("%s@%s:%d/%s", cfg.User, host, cfg.Port, cfg.Database)
}

// passwordless is a URL of the database for psql, without the password (psql asks for it, or
// reads ~/.pgpass).
func passwordless(cfg *pgx.ConnConfig) string {
	u := url.URL{Scheme: "postgres", User: url.User(cfg.User), Path: "/" + cfg.Database}
	if strings.HasPrefix(cfg.Host, "/") {
		u.RawQuery = url.Values{"host": {cfg.Host}, "port": {strconv.Itoa(int(cfg.Port))}}.Encode()
	} else {
		u.Host = net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	}
	return u.String()
}

func (d *postgresDest) Describe() string { return d.describe }

func (d *postgresDest) close() error { return errors.Join(d.db.Close(), d.reads.Close()) }

func (d *postgresDest) ping(ctx context.Context) error { return d.db.PingContext(ctx) }

// lostServer: no connection (refused, cut, timed out), or the server shutting down or starting
// (SQLSTATE class 08, 57P01 to 57P03).
func (d *postgresDest) lostServer(err error) bool {
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr):
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	case errors.As(err, &connectErr), errors.As(err, &netErr):
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone)
}

// refusal: data exceptions (class 22: a value out of range, an invalid byte), program limits
// (54: a row or an index entry too large) and name clashes with what PostgreSQL made itself
// (42701, 42P07) refuse the record; anything else (a connection, the server) fails the batch.
func (d *postgresDest) refusal(err error) (string, bool) {
	if err == nil {
		return "", false // before pgErr, which errors.As moves to the heap: the usual case allocates nothing
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return "", false
	}
	switch {
	case strings.HasPrefix(pgErr.Code, "22"), strings.HasPrefix(pgErr.Code, "54"), pgErr.Code == "42701", pgErr.Code == "42P07":
		return pgErr.Message, true
	}
	return "", false
}

func (d *postgresDest) appendTable(b []byte, schema, name string) []byte {
	b = appendIdent(b, schema)
	b = append(b, '.')
	return appendIdent(b, name)
}

// Quoted identifiers keep their case in PostgreSQL: id and ID are two columns.
func (d *postgresDest) foldName(name string) string { return name }

// PostgreSQL's system columns: a table cannot have a column of these names.
func (d *postgresDest) reservedColumn(name string) bool {
	switch name {
	case "ctid", "xmin", "xmax", "cmin", "cmax", "tableoid":
		return true
	}
	return false
}

// Each statement is a round trip to the server: one INSERT for the queued rows (pgx caches a
// statement per row count, up to maxRowsPerInsert of them per shape).
func (d *postgresDest) fewStatements() bool { return false }

func (d *postgresDest) appendParam(b []byte, n int) []byte {
	return strconv.AppendInt(append(b, '$'), int64(n), 10)
}

// sqlType follows Stitch's PostgreSQL types (_data/destinations/postgres/v1/data-types.yml),
// but for timestamps: with time zone, so that every client reads the instant that was sent.
func (d *postgresDest) sqlType(t colType) string {
	switch t {
	case typeInteger:
		return "bigint"
	case typeFloat:
		return "double precision"
	case typeBoolean:
		return "boolean"
	case typeTimestamp:
		return "timestamp with time zone"
	}
	return "text"
}

// appendKeys passes the keys as one array: PostgreSQL parses, binds and plans one parameter
// rather than one per key (BenchmarkLoadArrays/postgres; store/warehouse/SPEED.md).
func (d *postgresDest) appendKeys(b []byte, args []any, t colType, keys []any) ([]byte, []any, int) {
	var list any
	switch t {
	case typeInteger:
		list = typedKeys[int64](keys)
	case typeFloat:
		list = typedKeys[float64](keys)
	case typeBoolean:
		list = typedKeys[bool](keys)
	default:
		list = typedKeys[string](keys)
	}
	b = append(b, "unnest(CAST(? AS "+d.sqlType(t)+"[])) k(column1)"...)
	return b, append(args, list), len(keys)
}

// typedKeys is keys as a slice of their type (the column's: a key of another type is rejected).
func typedKeys[T any](keys []any) []T {
	out := make([]T, len(keys))
	for i, k := range keys {
		out[i], _ = k.(T)
	}
	return out
}

// PostgreSQL plans a prepared statement for its arguments five times, then may keep a generic
// plan; one kept while data was small hashed the whole of data on every commit (a seq scan:
// 3 ms at 6,000 rows and growing) where one index probe per key is what is meant. SET LOCAL
// ends with the transaction. Not on the whole connection, as the store's metadata does: the
// INSERTs planned at every commit cost PostgreSQL 11 µs more CPU per event (SPEED.md).
func (d *postgresDest) customPlanSQL() string { return "SET LOCAL plan_cache_mode = force_custom_plan" }

// An export's page (rows after a key, in key order, LIMIT) is read by walking its index in
// that order. PostgreSQL, before it has statistics of a table (ANALYZE comes later), guesses
// that few rows match an event-type filter and planned a bitmap scan and a sort of every
// matching row after the key instead: each page read all the rows left, and a download grew
// with the square of the table (7.1 s at 400,000 rows, 0.72 s at 100,000; a page half-way
// through 200,000 took 55 ms, now 2 ms). Where it guessed the table small (made from a few
// rows, loaded since), it sorted all of it: a latest page's bound (see latestBound) took 96 to
// 166 ms at 400,000 rows. SET LOCAL ends with the page's transaction.
func (d *postgresDest) pageReader(ctx context.Context, _ querier) (querier, func(), error) {
	tx, err := d.reads.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, nil, err
	}
	if _, err := tx.ExecContext(ctx, "SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off"); err != nil {
		tx.Rollback()
		return nil, nil, err
	}
	return rebinding{tx}, func() { tx.Rollback() }, nil
}

func (d *postgresDest) catalogOrder() string { return "ordinal" }

// rowKey: PostgreSQL has no row key of its own, and Stitch's columns make one: a record's
// _sdc_sequence is unique in data, and its array elements add their positions.
func (d *postgresDest) rowKey(level int) []string {
	key := []string{colSequence}
	for i := range level {
		key = append(key, levelColumn(i))
	}
	return key
}

// rejectedKey is a column of hookhouse's, as PostgreSQL has no row key (see systemSQL).
func (d *postgresDest) rejectedKey() string { return pgRejectedKey }

// pgRejectedKey numbers the rows of _sdc_rejected as they arrive, so that they are paged by its
// index; it comes after Stitch's four columns, which are what the Data page and exports show.
const (
	pgRejectedKey    = "_sdc_rejected_id"
	pgRejectedKeyDDL = pgRejectedKey + " bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
)

// tableSQL indexes the row key: pages are read by it, and the writers read the last
// _sdc_sequence of data by it.
func (d *postgresDest) tableSQL(schema, name string, level int) []string {
	cols := d.rowKey(level)
	for i, c := range cols {
		cols[i] = quoteIdent(c)
	}
	return []string{fmt.Sprintf(`CREATE INDEX %s ON %s (%s)`, quoteIdent(rowKeyIndex(name)), tableName(d, schema, name), strings.Join(cols, ", "))}
}

// rowKeyIndex names the index of table's row key: hashed, since the table's name may take all
// 63 bytes PostgreSQL allows a name, and never a table's name (tables are data and data__...),
// as PostgreSQL keeps indexes and tables in one namespace.
func rowKeyIndex(table string) string {
	h := fnv.New64a()
	h.Write([]byte(table))
	return fmt.Sprintf("_sdc_key_%016x", h.Sum64())
}

// PostgreSQL expands a view's SELECT * when the view is made, so the view is made again
// whenever data gains a column (CREATE OR REPLACE may add columns at the end).
func (d *postgresDest) rootSQL(schema, pk string, refresh bool) []string {
	data, pkq := tableName(d, schema, rootTable), quoteIdent(pk)
	if pk == "" {
		return nil
	}
	var out []string
	if !refresh {
		out = append(out, fmt.Sprintf(`CREATE INDEX "data_pk_sequence" ON %s (%s, _sdc_sequence)`, data, pkq))
	}
	return append(out, d.latestViewSQL(schema, pk)...)
}

func (d *postgresDest) latestViewSQL(schema, pk string) []string {
	return []string{`CREATE OR REPLACE VIEW ` + tableName(d, schema, latestView) + ` AS ` + latestSelect(tableName(d, schema, rootTable), pk)}
}

func (d *postgresDest) systemSQL(schema string) []string {
	s := quoteIdent(schema)
	return []string{
		`CREATE SCHEMA IF NOT EXISTS ` + s,
		`CREATE TABLE IF NOT EXISTS ` + s + `._sdc_tables (
	ordinal      bigint GENERATED ALWAYS AS IDENTITY,
	table_name   text PRIMARY KEY,
	parent_table text,
	source_path  text NOT NULL,
	level        integer NOT NULL,
	primary_key  text,
	created_at   timestamp with time zone NOT NULL
)`,
		`CREATE TABLE IF NOT EXISTS ` + s + `._sdc_columns (
	ordinal       bigint GENERATED ALWAYS AS IDENTITY,
	table_name    text NOT NULL,
	column_name   text NOT NULL,
	source_path   text,
	type          text NOT NULL,
	first_seen_at timestamp with time zone NOT NULL,
	PRIMARY KEY (table_name, column_name)
)`,
		`CREATE TABLE IF NOT EXISTS ` + s + `._sdc_rejected (
	_sdc_rejected_at timestamp with time zone NOT NULL,
	table_name       text NOT NULL,
	reason           text NOT NULL,
	record           text NOT NULL,
	` + pgRejectedKeyDDL + `
)`,
		// A schema of an older version lacks the key. Only then ALTER TABLE, which would wait
		// for every open transaction that read the table.
		`DO $$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = '` + schema + `' AND table_name = '_sdc_rejected' AND column_name = '` + pgRejectedKey + `') THEN
		ALTER TABLE ` + s + `._sdc_rejected ADD COLUMN ` + pgRejectedKeyDDL + `;
	END IF;
END $$`,
		`CREATE TABLE IF NOT EXISTS ` + s + `._sdc_counts (
	table_name    text PRIMARY KEY,
	row_count     bigint NOT NULL,
	last_sequence bigint
)`,
		`CREATE TABLE IF NOT EXISTS ` + s + `._sdc_deliveries (
	delivery_id text PRIMARY KEY,
	received_at bigint NOT NULL
)`,
		`CREATE INDEX IF NOT EXISTS _sdc_deliveries_received_at ON ` + s + `._sdc_deliveries (received_at)`,
		// Earlier versions named the event-type index _sdc_sequence_<hash>, after its second
		// column: it takes the name it has on SQLite, unless something of the schema has it.
		`DO $$ DECLARE r record; BEGIN
	FOR r IN SELECT i.relname AS old, 'data_' || a.attname AS new FROM pg_index x
		JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0]
		WHERE n.nspname = '` + schema + `' AND t.relname = 'data' AND i.relname LIKE '\_sdc\_sequence\_%'
			AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND c.relname = 'data_' || a.attname)
	LOOP -- (checked again: two such indexes of one column would both want the name)
		IF to_regclass(format('%I.%I', '` + schema + `', r.new)) IS NULL THEN
			EXECUTE format('ALTER INDEX %I.%I RENAME TO %I', '` + schema + `', r.old, r.new);
		END IF;
	END LOOP;
END $$`,
	}
}

// With _sdc_sequence after the column, the index is read in the order pages are.
func (d *postgresDest) eventTypeIndexSQL(schema, col string) string {
	return fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (%s, _sdc_sequence)`,
		quoteIdent(eventTypeIndex(col)), tableName(d, schema, rootTable), quoteIdent(col))
}

func (d *postgresDest) session(ctx context.Context, schema string) (session, error) {
	// The lock (see begin) serializes the writers of one schema, in this process or another,
	// for a transaction: schema changes and _sdc_sequence are decided under it.
	s := &postgresSession{db: d.db, schema: schema, rebinds: make(map[string]string)}
	// Under the schema's lock, so that two processes creating it at once do not collide.
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	err := d.mustBeOurs(ctx, s.conn, schema)
	for _, q := range d.systemSQL(schema) {
		if err == nil {
			err = s.exec(ctx, []byte(q))
		}
	}
	if err != nil {
		s.end(ctx, false) //nolint:errcheck // the error that matters is err
		return nil, err
	}
	if err := s.end(ctx, true); err != nil {
		return nil, err
	}
	return s, nil
}

func (d *postgresDest) reader(ctx context.Context, schema string) (querier, func(), bool, error) {
	var exists bool
	err := d.db.QueryRowContext(ctx, `SELECT to_regclass($1) IS NOT NULL`, tableName(d, schema, tablesCatalog)).Scan(&exists)
	if err != nil || !exists {
		return nil, nil, false, err
	}
	return rebinding{d.reads}, func() {}, true, nil
}

// schemas are the database's schemas with hookhouse's catalog.
func (d *postgresDest) schemas(ctx context.Context) ([]string, error) {
	names, err := nameSet(ctx, rebinding{d.reads}, `SELECT n.nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid
		WHERE c.relname = ? AND c.relkind = 'r'`, tablesCatalog)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range slices.Sorted(maps.Keys(names)) {
		if validSchema(name) {
			out = append(out, name)
		}
	}
	return out, nil
}

// rebinding is the shared pool (or a transaction of it), taking queries with ? placeholders.
type rebinding struct{ db querier }

func (r rebinding) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return r.db.QueryContext(ctx, BindPostgres(query), args...)
}

func (r rebinding) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return r.db.QueryRowContext(ctx, BindPostgres(query), args...)
}

// drop deletes the schema with everything in it, if it is hookhouse's and nothing outside it
// depends on it (DROP SCHEMA ... CASCADE would take another schema's views along).
func (d *postgresDest) drop(ctx context.Context, schema string) error {
	if err := d.mustBeOurs(ctx, d.db, schema); err != nil {
		return err
	}
	var dependents sql.NullString
	err := d.db.QueryRowContext(ctx, `SELECT string_agg(DISTINCT v.oid::regclass::text, ', ')
		FROM pg_namespace n
		JOIN pg_class t ON t.relnamespace = n.oid
		JOIN pg_depend dep ON dep.refobjid = t.oid AND dep.classid = 'pg_rewrite'::regclass
		JOIN pg_rewrite r ON r.oid = dep.objid
		JOIN pg_class v ON v.oid = r.ev_class
		WHERE n.nspname = $1 AND v.relnamespace <> n.oid`, schema).Scan(&dependents)
	if err != nil {
		return err
	}
	if dependents.Valid {
		return fmt.Errorf("%w: %s is used by %s; drop those first", ErrSchemaInUse, schema, dependents.String)
	}
	_, err = d.db.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+quoteIdent(schema)+` CASCADE`)
	return err
}

func (d *postgresDest) claimable(ctx context.Context, schema string) error {
	return d.mustBeOurs(ctx, d.db, schema)
}

// ErrForeignSchema is returned for a PostgreSQL schema that holds objects hookhouse did not
// make: it neither loads into it nor drops it.
var ErrForeignSchema = errors.New("the PostgreSQL schema holds objects hookhouse did not make")

// ErrSchemaInUse is returned when views of other schemas are built on a schema to be dropped.
var ErrSchemaInUse = errors.New("other schemas' views use the PostgreSQL schema")

// mustBeOurs refuses a schema that exists with objects (tables, views, functions, types) but
// without hookhouse's catalog: the database's owner made it for something else, and DROP
// SCHEMA ... CASCADE would take it all.
func (d *postgresDest) mustBeOurs(ctx context.Context, q querier, schema string) error {
	// The catalog alone, no to_regclass: looking a name up in a schema needs USAGE on it, which
	// another role's schema does not grant, and that schema is the one to refuse.
	var foreign bool
	err := q.QueryRowContext(ctx, `SELECT NOT EXISTS (
		SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $2 AND c.relname = $1
	) AND EXISTS (
		SELECT 1 FROM pg_depend dep JOIN pg_namespace n ON n.oid = dep.refobjid
		WHERE dep.refclassid = 'pg_namespace'::regclass AND n.nspname = $2)`,
		tablesCatalog, schema).Scan(&foreign)
	if err == nil && foreign {
		err = fmt.Errorf("%w: %s (name the integration otherwise)", ErrForeignSchema, schema)
	}
	return err
}

// maxRebound bounds a session's memo of rewritten statements, as the SQLite session's cache.
const maxRebound = 256

// postgresSession is a writer's hold on its schema: a connection of the pool while a
// transaction runs (so that a thousand idle integrations hold none), the pool otherwise. pgx
// prepares and caches each statement it runs on a connection, so the session only rewrites the
// shared ? placeholders as $n, once per text.
type postgresSession struct {
	db      *sql.DB
	conn    *sql.Conn // during a transaction
	schema  string
	rebinds map[string]string // queries with ? -> with $n
	holding bool              // see hold
	queue   pgx.Batch         // the statements held
}

func (s *postgresSession) queryer() interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
} {
	if s.conn != nil {
		return s.conn
	}
	return s.db
}

func (s *postgresSession) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.queryer().QueryContext(ctx, BindPostgres(query), args...)
}

func (s *postgresSession) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return s.queryer().QueryRowContext(ctx, BindPostgres(query), args...)
}

// begin takes a connection and starts a transaction under the schema's lock, which every
// writer of the schema takes, in this process or another: schema changes and _sdc_sequence
// are decided under it.
func (s *postgresSession) begin(ctx context.Context) error {
	return s.beginWith(ctx, "")
}

// lockSchema is the same text for every schema, so a connection prepares it once.
const lockSchema = `SELECT pg_advisory_xact_lock(hashtext($1))`

// beginWith is begin with query run after the lock, in the same round trip, scanning its one
// row into dest. The three go as one pipeline of prepared statements: the server runs them
// in order and takes each statement's snapshot when it starts, so query sees every
// transaction committed before the lock was granted. (Sent as one simple-protocol string,
// they were parsed and planned again at every commit: a quarter of PostgreSQL's CPU in
// BenchmarkIngest, see SPEED.md.)
func (s *postgresSession) beginWith(ctx context.Context, query string, dest ...any) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	s.conn, s.holding = conn, false
	err = s.conn.Raw(func(dc any) error {
		b := &pgx.Batch{}
		// READ COMMITTED whatever the server's default, so that the query's snapshot is taken
		// when it starts, after the lock: under REPEATABLE READ it would be the lock's, before.
		b.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
		b.Queue(lockSchema, s.schema)
		if query != "" {
			b.Queue(query)
		}
		br := dc.(*stdlib.Conn).Conn().SendBatch(ctx, b)
		_, err := br.Exec()
		if err == nil {
			_, err = br.Exec()
		}
		if err == nil && query != "" {
			err = br.QueryRow().Scan(dest...)
		}
		if err == nil {
			err = br.Close()
		} else {
			br.Close() //nolint:errcheck // the error that matters is err
		}
		if pc := dc.(*stdlib.Conn).Conn().PgConn(); err != nil && pc.TxStatus() != 'I' {
			// Left in the transaction, holding the schema's lock: closed now, so that the
			// server ends both, rather than when the pool next hands the connection out.
			pc.Close(ctx) //nolint:errcheck // the error that matters is err
		}
		return err
	})
	if err != nil {
		s.release()
	}
	return err
}

// hold makes exec queue its statements, to be sent with COMMIT by end, in one round trip.
func (s *postgresSession) hold() { s.holding = true }

func (s *postgresSession) held() int { return len(s.queue.QueuedQueries) }

func (s *postgresSession) end(ctx context.Context, commit bool) error {
	if s.conn == nil {
		return nil
	}
	defer s.release()
	queued := len(s.queue.QueuedQueries) > 0
	s.holding = false
	if commit && queued {
		return s.sendWithCommit(ctx)
	}
	clear(s.queue.QueuedQueries)
	s.queue.QueuedQueries = s.queue.QueuedQueries[:0]
	if commit {
		return s.exec(ctx, []byte("COMMIT"))
	}
	return s.exec(ctx, []byte("ROLLBACK"))
}

// sendWithCommit sends the queued statements and COMMIT in one pipeline: the server runs
// them in order and, once one fails, skips the rest, COMMIT included, so the transaction
// commits whole or not at all. A statement the server refused is rolled back here and reported
// as a *heldError; any other failure (the connection, COMMIT itself) as it came.
func (s *postgresSession) sendWithCommit(ctx context.Context) error {
	b := &s.queue
	defer func() {
		clear(b.QueuedQueries)
		b.QueuedQueries = b.QueuedQueries[:0]
	}()
	statements := len(b.QueuedQueries)
	b.Queue("COMMIT")
	failed := -1
	err := s.conn.Raw(func(dc any) error {
		br := dc.(*stdlib.Conn).Conn().SendBatch(ctx, b)
		for i := range b.QueuedQueries {
			if _, err := br.Exec(); err != nil {
				failed = i
				br.Close() //nolint:errcheck // the error that matters is err
				return err
			}
		}
		return br.Close()
	})
	var pgErr *pgconn.PgError
	if err == nil || failed < 0 || failed >= statements || !errors.As(err, &pgErr) {
		return err
	}
	if rbErr := s.exec(ctx, []byte("ROLLBACK")); rbErr != nil {
		return rbErr
	}
	return &heldError{statement: failed, err: err}
}

func (s *postgresSession) release() {
	s.conn.Close() // back to the pool
	s.conn = nil
}

func (s *postgresSession) exec(ctx context.Context, query []byte, args ...any) error {
	if s.conn == nil {
		return errors.New("warehouse: statement outside a transaction")
	}
	if s.holding {
		s.queue.Queue(s.rebound(query), slices.Clone(args)...) // (the caller reuses args)
		return nil
	}
	_, err := s.conn.ExecContext(ctx, s.rebound(query), args...)
	return err
}

func (s *postgresSession) query(ctx context.Context, query []byte, args ...any) (*sql.Rows, error) {
	return s.queryer().QueryContext(ctx, s.rebound(query), args...)
}

// rebound is query with $n placeholders, remembered.
func (s *postgresSession) rebound(query []byte) string {
	q, ok := s.rebinds[string(query)]
	if !ok {
		if len(s.rebinds) >= maxRebound {
			clear(s.rebinds)
		}
		q = BindPostgres(string(query))
		s.rebinds[string(query)] = q
	}
	return q
}

func (s *postgresSession) close() error {
	if s.conn != nil {
		s.release()
	}
	return nil
}

// beginShared begins the transaction and reads what other writers committed in one round trip,
// after the lock: a statement's snapshot is taken when it starts, so it sees every transaction
// committed before the lock was granted.
func (s *postgresSession) beginShared(ctx context.Context, withData bool) (int, int64, error) {
	q := `SELECT (SELECT count(*) FROM ` + quoteIdent(s.schema) + `._sdc_columns), `
	if withData {
		q += `(SELECT MAX(_sdc_sequence) FROM ` + quoteIdent(s.schema) + `.data)`
	} else {
		q += `NULL::bigint`
	}
	var n int
	var last *int64 // NULL: no rows yet
	if err := s.beginWith(ctx, q, &n, &last); err != nil {
		return 0, 0, err
	}
	if last == nil {
		return n, 0, nil
	}
	return n, *last, nil
}

// BindPostgres rewrites ? placeholders as PostgreSQL's $1, $2 ... and ?N as $N (one argument
// used in several places), leaving quoted identifiers and strings alone. The store's
// statements go through it too, so both write SQL one way.
func BindPostgres(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0 // a doubled quote closes and reopens: same result
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '?':
			j := i + 1
			for j < len(query) && query[j] >= '0' && query[j] <= '9' {
				j++
			}
			b.WriteByte('$')
			if j > i+1 {
				b.WriteString(query[i+1 : j])
			} else {
				n++
				b.WriteString(strconv.Itoa(n))
			}
			i = j - 1
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
