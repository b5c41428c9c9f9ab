package warehouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// postgresDest loads each schema into a PostgreSQL schema of that name, as Stitch's
// PostgreSQL destination does: stitch_vero.data, its subtables, stitch_vero._sdc_rejected, and
// the catalog beside them. Reads go through one shared pool; each writer holds one connection.
type postgresDest struct {
	db       *sql.DB
	describe string
	url      string // without the password
	address  string // as given, password included: for tests
}

// OpenPostgres connects to the PostgreSQL database at address (a postgres:// URL or a
// key=value string) and loads every schema there. Commits are synchronous whatever the server's default,
// so a 200 means the rows are on the server's disk; a server with fsync off is named in a
// warning, since its commits are not durable.
func OpenPostgres(ctx context.Context, address string, log *slog.Logger, opts Options) (*Warehouse, error) {
	cfg, err := pgx.ParseConfig(address)
	if err != nil {
		return nil, fmt.Errorf("warehouse: the PostgreSQL address cannot be read: %w", errors.Unwrap(err))
	}
	cfg.RuntimeParams["synchronous_commit"] = "on"
	cfg.RuntimeParams["application_name"] = "hookhouse"
	db := stdlib.OpenDB(*cfg)
	var fsync string
	if err := db.QueryRowContext(ctx, "SHOW fsync").Scan(&fsync); err != nil {
		db.Close()
		return nil, fmt.Errorf("warehouse: connect to PostgreSQL at %s: %w", describePostgres(cfg), err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if fsync != "on" {
		log.Warn("warehouse: the PostgreSQL server runs with fsync off: a crash of its machine can lose acknowledged events",
			"server", describePostgres(cfg))
	}
	dest := &postgresDest{db: db, describe: "PostgreSQL " + describePostgres(cfg), url: passwordless(cfg), address: address}
	return newWarehouse(dest, log, opts), nil
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

func (d *postgresDest) close() error { return d.db.Close() }

func (d *postgresDest) appendTable(b []byte, schema, name string) []byte {
	b = appendIdent(b, schema)
	b = append(b, '.')
	return appendIdent(b, name)
}

// Quoted identifiers keep their case in PostgreSQL: id and ID are two columns.
func (d *postgresDest) foldName(name string) string { return name }

func (d *postgresDest) reservedColumn(string) bool { return false }

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

func (d *postgresDest) beginSQL() string { return "BEGIN" }

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

// tableSQL indexes the row key: pages are read by it, and the writers read the last
// _sdc_sequence of data by it.
func (d *postgresDest) tableSQL(schema, name string, level int) []string {
	cols := d.rowKey(level)
	for i, c := range cols {
		cols[i] = quoteIdent(c)
	}
	return []string{fmt.Sprintf(`CREATE INDEX %s ON %s (%s)`, quoteIdent(indexName(name, "key")), tableName(d, schema, name), strings.Join(cols, ", "))}
}

// indexName names an index of table within PostgreSQL's 63 bytes, unique in the schema: a
// long table name is cut and told apart by a hash of it.
func indexName(table, suffix string) string {
	name := table + "_" + suffix
	if len(name) <= 63 {
		return name
	}
	h := fnv.New32a()
	h.Write([]byte(table))
	return fmt.Sprintf("%s_%08x_%s", table[:63-len(suffix)-10], h.Sum32(), suffix)
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
	record           text NOT NULL
)`,
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
	}
}

// With _sdc_sequence after the column, the index is read in the order pages are.
func (d *postgresDest) eventTypeIndexSQL(schema, col string) string {
	return fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (%s, _sdc_sequence)`,
		quoteIdent(indexName("data_"+col, "sequence")), tableName(d, schema, rootTable), quoteIdent(col))
}

// schemaLock serializes the writers of one schema, in this process or another, for a
// transaction: schema changes and _sdc_sequence are decided under it.
const schemaLock = `SELECT pg_advisory_xact_lock(hashtext(?))`

func (d *postgresDest) session(ctx context.Context, schema string) (session, error) {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	s := &postgresSession{conn: conn, schema: schema, rebound: make(map[string]string)}
	// Under the schema's lock, so that two processes creating it at once do not collide.
	err = s.exec(ctx, []byte("BEGIN"))
	if err == nil {
		err = s.exec(ctx, []byte(schemaLock), schema)
	}
	for _, q := range d.systemSQL(schema) {
		if err == nil {
			err = s.exec(ctx, []byte(q))
		}
	}
	if err == nil {
		err = s.exec(ctx, []byte("COMMIT"))
	}
	if err != nil {
		s.exec(ctx, []byte("ROLLBACK")) //nolint:errcheck // the error that matters is err
		s.close()
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
	return rebinding{d.db}, func() {}, true, nil
}

// rebinding is the shared pool, taking queries with ? placeholders.
type rebinding struct{ db *sql.DB }

func (r rebinding) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return r.db.QueryContext(ctx, rebind(query), args...)
}

func (r rebinding) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return r.db.QueryRowContext(ctx, rebind(query), args...)
}

func (d *postgresDest) drop(ctx context.Context, schema string) error {
	_, err := d.db.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+quoteIdent(schema)+` CASCADE`)
	return err
}

// maxRebound bounds a session's memo of rewritten statements, as the SQLite session's cache.
const maxRebound = 256

// postgresSession is a writer's connection. pgx prepares and caches each statement it runs on
// the connection, so the session only rewrites the shared ? placeholders as $n, once per text.
type postgresSession struct {
	conn    *sql.Conn
	schema  string
	rebound map[string]string
}

func (s *postgresSession) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.conn.QueryContext(ctx, rebind(query), args...)
}

func (s *postgresSession) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return s.conn.QueryRowContext(ctx, rebind(query), args...)
}

func (s *postgresSession) exec(ctx context.Context, query []byte, args ...any) error {
	q, ok := s.rebound[string(query)]
	if !ok {
		if len(s.rebound) >= maxRebound {
			clear(s.rebound)
		}
		q = rebind(string(query))
		s.rebound[string(query)] = q
	}
	_, err := s.conn.ExecContext(ctx, q, args...)
	return err
}

func (s *postgresSession) close() error { return s.conn.Close() }

func (s *postgresSession) lock(ctx context.Context) error {
	return s.exec(ctx, []byte(schemaLock), s.schema)
}

func (s *postgresSession) columnRows(ctx context.Context) (int, error) {
	var n int
	err := s.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(s.schema)+`._sdc_columns`).Scan(&n)
	return n, err
}

// rebind rewrites ? placeholders as $1, $2 ..., leaving quoted identifiers and strings alone.
func rebind(query string) string {
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
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
