package warehouse

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/hookhouse/hookhouse/store/pgtest"
)

// fixture reads a sample payload from the repository's testdata/fixtures.
func fixture(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "fixtures", filepath.FromSlash(rel)))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

func fixtureRecords(t testing.TB, rel, contentType string) []Record {
	t.Helper()
	recs, err := DecodeBody(contentType, fixture(t, rel), "mandrill_events")
	if err != nil {
		t.Fatalf("decode %s: %v", rel, err)
	}
	return recs
}

func openTest(t testing.TB, dir string, opts Options) *Warehouse {
	t.Helper()
	w, err := Open(dir, nil, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func mustLoad(t testing.TB, w *Warehouse, schema string, target Target, recs ...Record) Result {
	t.Helper()
	res, err := w.Load(context.Background(), schema, target, recs, time.Now())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return res
}

func decodeOne(t testing.TB, body string) Record {
	t.Helper()
	recs, err := DecodeBody("application/json", []byte(body), "")
	if err != nil || len(recs) != 1 {
		t.Fatalf("decode %s: %v", body, err)
	}
	return recs[0]
}

// readDB opens a warehouse file on its own connection, as a user would.
func readDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// queryRows returns every row of query as column name -> value.
func queryRows(t testing.TB, db *sql.DB, query string, args ...any) []map[string]any {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		m := make(map[string]any, len(cols))
		for i, c := range cols {
			m[c] = vals[i]
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// columnTypes returns table's columns with their declared types.
func columnTypes(t testing.TB, db *sql.DB, table string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range queryRows(t, db, `SELECT name, type FROM pragma_table_info(?)`, table) {
		out[r["name"].(string)] = r["type"].(string)
	}
	return out
}

func queryInt(t testing.TB, db *sql.DB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func osStat(path string) (os.FileInfo, error) { return os.Stat(path) }

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// contents is what Contents says of schema.
func contents(t testing.TB, w *Warehouse, schema string) Contents {
	t.Helper()
	c, err := w.Contents(context.Background(), schema, "")
	if err != nil {
		t.Fatalf("Contents of %s: %v", schema, err)
	}
	return c
}

// tableColumns is what Contents lists of table's columns.
func tableColumns(t testing.TB, w *Warehouse, schema, table string) []Column {
	t.Helper()
	c, err := w.Contents(context.Background(), schema, table)
	if err != nil {
		t.Fatalf("Contents of %s listing %s: %v", schema, table, err)
	}
	for _, tb := range c.Tables {
		if tb.Name == table {
			if len(tb.Columns) != tb.ColumnCount {
				t.Errorf("Contents lists %d columns of %s and counts %d", len(tb.Columns), table, tb.ColumnCount)
			}
			return tb.Columns
		}
	}
	t.Fatalf("Contents of %s has no table %s", schema, table)
	return nil
}

// testDestination is a destination the Stitch rules are checked against: every case table
// that names destinations runs once on each.
type testDestination struct {
	name string
	open func(t testing.TB, opts Options) *Warehouse
}

var testDestinations = []testDestination{
	{"sqlite", func(t testing.TB, opts Options) *Warehouse { return openTest(t, t.TempDir(), opts) }},
	{"postgres", openPostgresTest},
}

// openPostgresTest opens a warehouse on a fresh PostgreSQL database (see pgtest).
func openPostgresTest(t testing.TB, opts Options) *Warehouse {
	t.Helper()
	w, err := OpenPostgres(context.Background(), pgtest.Start(t), nil, opts)
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// schemaDB opens schema on a connection of its own, as a user would, so that its tables go
// by their plain names: the schema's file on SQLite, the schema first on the search path on
// PostgreSQL.
func schemaDB(t testing.TB, w *Warehouse, schema string) *sql.DB {
	t.Helper()
	where := w.Location(schema)
	if where.SQLiteFile != "" {
		return readDB(t, where.SQLiteFile)
	}
	d := w.dest.(*postgresDest)
	cfg, err := pgx.ParseConfig(d.address)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["search_path"] = schema
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { db.Close() })
	return db
}
