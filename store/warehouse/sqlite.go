package warehouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// sqliteDest keeps each schema in a file of its own, <dir>/<schema>.db, so users can ATTACH it
// under the schema's name. Every file carries its catalog and its rejects.
type sqliteDest struct {
	dir         string
	busyTimeout time.Duration
}

func (d *sqliteDest) path(schema string) string { return filepath.Join(d.dir, schema+".db") }

// CreatePrivate creates the SQLite file at path, empty and readable by its owner only, unless
// it exists (its mode is then the user's). SQLite would create it 0644; it gives the -wal and
// -shm files the main file's mode, so they are private too.
func CreatePrivate(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

func (d *sqliteDest) Describe() string { return "SQLite files in " + d.dir }

func (d *sqliteDest) close() error { return nil }

// SQLite stores whatever the model lets through: a failure is the file's, not the record's.
func (d *sqliteDest) refusal(error) (string, bool) { return "", false }

// SQLite runs in this process: a failure is the disk's or the file's, which a ping cannot see.
func (d *sqliteDest) lostServer(error) bool { return false }

// ping checks the folder is there: each file is opened by its writer.
func (d *sqliteDest) ping(context.Context) error {
	_, err := os.Stat(d.dir)
	return err
}

// The file is the schema: names need no qualifier.
func (d *sqliteDest) appendTable(b []byte, _, name string) []byte { return appendIdent(b, name) }

func (d *sqliteDest) appendParam(b []byte, _ int) []byte { return append(b, '?') }

// SQLite runs a statement in-process, so a chunk costs little: its cache stays small.
func (d *sqliteDest) fewStatements() bool { return true }

// SQLite's identifiers ignore ASCII case: there, id beside ID is a field collision.
func (d *sqliteDest) foldName(name string) string { return asciiLower(name) }

// SQLite keeps rowid, oid and _rowid_ (in any case) for a table's row key: ALTER TABLE refuses
// to add such a column ("cannot add rowid alias"), and one made with CREATE TABLE would hide
// the key that browsing and export page and order by.
func (d *sqliteDest) reservedColumn(name string) bool {
	switch asciiLower(name) {
	case "rowid", "oid", "_rowid_":
		return true
	}
	return false
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s) // names are ASCII (columnName)
		}
	}
	return s
}

// sqlType is the declared SQLite type; TIMESTAMP and BOOLEAN keep the intent visible to SQL
// tools (affinity NUMERIC, values stored as TEXT and 0/1).
func (d *sqliteDest) sqlType(t colType) string {
	switch t {
	case typeInteger:
		return "INTEGER"
	case typeFloat:
		return "REAL"
	case typeBoolean:
		return "BOOLEAN"
	case typeTimestamp:
		return "TIMESTAMP"
	}
	return "TEXT"
}

// appendKeys lists the keys as VALUES, padded to a power of two with the last key so that a
// few statement texts serve every batch.
func (d *sqliteDest) appendKeys(b []byte, args []any, t colType, keys []any) ([]byte, []any, int) {
	keys = keys[:min(len(keys), maxListedKeys)]
	size := 1
	for size < len(keys) {
		size *= 2
	}
	b = append(b, "(VALUES "...)
	args = append(args, keys...)
	for i := range size {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, "(CAST(? AS "+d.sqlType(t)+"))"...)
		if i >= len(keys) {
			args = append(args, keys[len(keys)-1])
		}
	}
	return append(b, ") k"...), args, len(keys)
}

// maxListedKeys bounds the keys of one statement; a power of two, as its sizes are.
const maxListedKeys = 1024

// SQLite plans each statement once, and always probes an index for an equality on its columns.
func (d *sqliteDest) customPlanSQL() string { return "" }

// SQLite reads a page after a rowid by its rowid, in order, whatever the filter.
func (d *sqliteDest) pageReader(_ context.Context, db querier) (querier, func(), error) {
	return db, func() {}, nil
}

func (d *sqliteDest) catalogOrder() string { return "rowid" }

// rowid: SQLite's own key, in insertion order, so no index is needed.
func (d *sqliteDest) rowKey(int) []string { return []string{"rowid"} }

func (d *sqliteDest) rejectedKey() string { return "rowid" }

func (d *sqliteDest) tableSQL(string, string, int) []string { return nil }

// SELECT * picks up columns added later because SQLite expands views when they are used.
// Paging needs no index: rows are read by rowid.
func (d *sqliteDest) rootSQL(_, pk string, refresh bool) []string {
	if refresh || pk == "" {
		return nil
	}
	return []string{
		fmt.Sprintf(`CREATE INDEX "data_pk_sequence" ON "data" (%s, _sdc_sequence)`, quoteIdent(pk)),
		`CREATE VIEW data_latest AS ` + latestSelect(`"data"`, pk),
	}
}

func (d *sqliteDest) latestViewSQL(_, pk string) []string {
	return []string{`DROP VIEW IF EXISTS data_latest`, `CREATE VIEW data_latest AS ` + latestSelect(`"data"`, pk)}
}

func (d *sqliteDest) systemSQL(string) []string {
	return []string{`
CREATE TABLE IF NOT EXISTS _sdc_tables (
	table_name   TEXT PRIMARY KEY,
	parent_table TEXT,              -- NULL for data
	source_path  TEXT NOT NULL,     -- the array's path inside a parent row ('' for data)
	level        INTEGER NOT NULL,  -- 0 for data, 1 for its subtables ...
	primary_key  TEXT,              -- data only: the configured field, '' for none
	created_at   TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS _sdc_columns (
	table_name    TEXT NOT NULL,
	column_name   TEXT NOT NULL,
	source_path   TEXT,             -- NULL for system columns
	type          TEXT NOT NULL,    -- integer, float, boolean, string, timestamp
	first_seen_at TIMESTAMP NOT NULL,
	PRIMARY KEY (table_name, column_name)
);
CREATE TABLE IF NOT EXISTS _sdc_rejected (
	_sdc_rejected_at TIMESTAMP NOT NULL,
	table_name       TEXT NOT NULL,
	reason           TEXT NOT NULL,
	record           TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS _sdc_counts (
	table_name    TEXT PRIMARY KEY, -- a table of _sdc_tables, or _sdc_rejected
	row_count     INTEGER NOT NULL, -- its rows, exact after each commit
	last_sequence INTEGER           -- data only: the last _sdc_sequence committed
);
CREATE TABLE IF NOT EXISTS _sdc_deliveries (
	delivery_id TEXT PRIMARY KEY,
	received_at INTEGER NOT NULL     -- Unix nanoseconds
);
CREATE INDEX IF NOT EXISTS _sdc_deliveries_received_at ON _sdc_deliveries (received_at);`}
}

// rowid follows the indexed value in every SQLite index: the index on the column alone is
// read in the order pages are.
func (d *sqliteDest) eventTypeIndexSQL(_, col string) string {
	return fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON "data" (%s)`, quoteIdent(eventTypeIndex(col)), quoteIdent(col))
}

func (d *sqliteDest) dsn(schema string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(d.busyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	// FULL: in WAL mode each commit is fsync'd before Load returns.
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_txlock", "immediate")
	return (&url.URL{Scheme: "file", Path: d.path(schema), RawQuery: q.Encode()}).String()
}

func (d *sqliteDest) session(ctx context.Context, schema string) (session, error) {
	if err := CreatePrivate(d.path(schema)); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", d.dsn(schema))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &sqliteSession{db: db, conn: conn, stmts: make(map[string]*sql.Stmt)}
	for _, q := range d.systemSQL(schema) {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			s.close()
			return nil, err
		}
	}
	return s, nil
}

// reader opens schema's file read-only beside the writer (WAL lets readers run during
// commits).
func (d *sqliteDest) reader(_ context.Context, schema string) (querier, func(), bool, error) {
	path := d.path(schema)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil, false, nil
	}
	q := url.Values{"mode": {"ro"}, "_pragma": {"busy_timeout(5000)"}}
	db, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}).String())
	if err != nil {
		return nil, nil, false, err
	}
	db.SetMaxOpenConns(1)
	return db, func() { db.Close() }, true, nil
}

// schemas are the files <schema>.db of the folder.
func (d *sqliteDest) schemas(context.Context) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(d.dir, "*.db"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".db"); validSchema(name) {
			out = append(out, name)
		}
	}
	return out, nil
}

// claimable: a schema's file in the warehouse folder is only ever hookhouse's.
func (d *sqliteDest) claimable(context.Context, string) error { return nil }

func (d *sqliteDest) drop(_ context.Context, schema string) error {
	path := d.path(schema)
	var errs []error
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// maxCachedStatements bounds a session's statement cache; sparse payloads can produce many
// distinct column sets.
const maxCachedStatements = 256

// sqliteSession is a writer's own connection to its file, with prepared statements cached:
// a steady stream of same-shaped records re-uses them, and parsing each time costs more than
// running them.
type sqliteSession struct {
	db    *sql.DB
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
}

func (s *sqliteSession) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.conn.QueryContext(ctx, query, args...)
}

func (s *sqliteSession) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return s.conn.QueryRowContext(ctx, query, args...)
}

// IMMEDIATE takes the write lock at once, so a commit never fails on a lock upgrade.
func (s *sqliteSession) begin(ctx context.Context) error {
	return s.exec(ctx, []byte("BEGIN IMMEDIATE"))
}

func (s *sqliteSession) end(ctx context.Context, commit bool) error {
	if commit {
		return s.exec(ctx, []byte("COMMIT"))
	}
	return s.exec(ctx, []byte("ROLLBACK"))
}

func (s *sqliteSession) exec(ctx context.Context, query []byte, args ...any) error {
	stmt, err := s.statement(ctx, query)
	if err != nil {
		return err
	}
	_, err = stmt.ExecContext(ctx, args...)
	return err
}

func (s *sqliteSession) query(ctx context.Context, query []byte, args ...any) (*sql.Rows, error) {
	stmt, err := s.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	return stmt.QueryContext(ctx, args...)
}

// statement returns query prepared on the session's connection, from the cache.
func (s *sqliteSession) statement(ctx context.Context, query []byte) (*sql.Stmt, error) {
	if stmt, ok := s.stmts[string(query)]; ok { // (a lookup by a []byte's string allocates nothing)
		return stmt, nil
	}
	if len(s.stmts) >= maxCachedStatements {
		for key, stmt := range s.stmts {
			stmt.Close()
			delete(s.stmts, key)
		}
	}
	stmt, err := s.conn.PrepareContext(ctx, string(query))
	if err != nil {
		return nil, fmt.Errorf("prepare %q: %w", query, err)
	}
	s.stmts[string(query)] = stmt
	return stmt, nil
}

func (s *sqliteSession) close() error {
	for key, stmt := range s.stmts {
		stmt.Close()
		delete(s.stmts, key)
	}
	s.conn.Close()
	return s.db.Close()
}
