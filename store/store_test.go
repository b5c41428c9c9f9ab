package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookhouse/hookhouse/store/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

func openTestStore(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testDB is an empty metadata database that a test opens, and may close and open again.
type testDB struct {
	name string
	path string // the SQLite file; "" on PostgreSQL
	url  string // the PostgreSQL database; "" on SQLite
}

func (db testDB) open(t testing.TB) *Store {
	t.Helper()
	if db.url == "" {
		return openTestStore(t, db.path)
	}
	s, err := OpenPostgres(context.Background(), db.url)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// atRest is everything the database keeps: the SQLite file and its WAL, or on PostgreSQL
// every row of the hookhouse schema's tables as text (bytea in hex). A test checks that no
// token or secret is in it.
func (db testDB) atRest(t testing.TB, s *Store) []byte {
	t.Helper()
	var out []byte
	if db.url == "" {
		for _, f := range []string{db.path, db.path + "-wal"} {
			b, err := os.ReadFile(f)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			out = append(out, b...)
		}
		return out
	}
	rows, err := s.read.Query("SELECT table_name FROM information_schema.tables WHERE table_schema = ?", Schema)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		rows.Scan(&name)
		tables = append(tables, name)
	}
	rows.Close()
	for _, table := range tables {
		var dump sql.NullString
		if err := s.read.QueryRowContext(t.Context(), `SELECT string_agg(row_to_json(t)::text, E'\n') FROM `+Schema+`.`+table+` t`).Scan(&dump); err != nil {
			t.Fatal(err)
		}
		out = append(out, dump.String...)
	}
	return out
}

func sqliteDB(t testing.TB) testDB {
	return testDB{name: "sqlite", path: filepath.Join(t.TempDir(), "hookhouse.db")}
}

func postgresDB(t testing.TB) testDB {
	return testDB{name: "postgres", url: pgtest.Start(t)}
}

// eachDB runs test on an SQLite file and on a PostgreSQL database: behaviour users notice
// must not depend on which one -database chose.
func eachDB(t *testing.T, test func(t *testing.T, db testDB)) {
	t.Run("sqlite", func(t *testing.T) { test(t, sqliteDB(t)) })
	t.Run("postgres", func(t *testing.T) { test(t, postgresDB(t)) })
}

func TestMigrationsRunOnceFromEmptyAndOnReopen(t *testing.T) {
	eachDB(t, testMigrationsRunOnceFromEmptyAndOnReopen)
}

func testMigrationsRunOnceFromEmptyAndOnReopen(t *testing.T, db testDB) {
	s := db.open(t)
	want, err := migrations(s.d)
	if err != nil {
		t.Fatal(err)
	}
	versions := func(s *Store) []int {
		rows, err := s.read.Query("SELECT version FROM schema_migrations ORDER BY version")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var vs []int
		for rows.Next() {
			var v int
			rows.Scan(&v)
			vs = append(vs, v)
		}
		return vs
	}
	got := versions(s)
	if len(got) != len(want) || got[0] != 1 {
		t.Fatalf("applied versions %v, want %d migrations starting at 1", got, len(want))
	}
	if _, err := s.CreateOwner(t.Context(), "a@example.com", "long enough password"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// A second start on the same database applies nothing again and keeps the data.
	s = db.open(t)
	defer s.Close()
	if again := versions(s); len(again) != len(got) {
		t.Fatalf("after reopen: versions %v, want %v", again, got)
	}
	if _, err := s.Authenticate(t.Context(), "a@example.com", "long enough password"); err != nil {
		t.Fatalf("account lost across restart: %v", err)
	}
}

func TestMigrationFilesAreNumberedInOrder(t *testing.T) {
	lite, err := migrations(dialect{})
	if err != nil {
		t.Fatal(err)
	}
	pg, err := migrations(dialect{postgres: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range lite {
		if m.version != i+1 {
			t.Fatalf("migration sqlite/%s is number %d of %d: want 1, 2, 3 ... with no gap and no duplicate", m.name, m.version, i+1)
		}
		if i >= len(pg) || pg[i].name != m.name {
			t.Fatalf("migration sqlite/%s has no twin postgres/%s.sql: each dialect has the same numbered list", m.name, m.name)
		}
	}
	if len(pg) != len(lite) {
		t.Fatalf("%d PostgreSQL migrations, %d SQLite ones: each dialect has the same numbered list", len(pg), len(lite))
	}
}

func TestBindNumbersParameters(t *testing.T) {
	pg := dialect{postgres: true}
	for q, want := range map[string]string{
		"SELECT ? , ?":                           "SELECT $1 , $2",
		"WHERE a = ?1 OR b = ?1 AND c = ?12":     "WHERE a = $1 OR b = $1 AND c = $12",
		"WHERE a LIKE ? ESCAPE '\\' AND b = '?'": "WHERE a LIKE $1 ESCAPE '\\' AND b = '?'",
		"x = 'it''s?' AND y = ?":                 "x = 'it''s?' AND y = $1",
		`SELECT "what?" FROM t WHERE a = ?`:      `SELECT "what?" FROM t WHERE a = $1`,
	} {
		if got := pg.bind(q); got != want {
			t.Errorf("bind(%q) = %q, want %q", q, got, want)
		}
		if got := (dialect{}).bind(q); got != q {
			t.Errorf("SQLite bind(%q) = %q, want it unchanged", q, got)
		}
	}
}

func TestOwnerIsCreatedOnce(t *testing.T) { eachDB(t, testOwnerIsCreatedOnce) }

func testOwnerIsCreatedOnce(t *testing.T, db testDB) {
	s := db.open(t)
	defer s.Close()
	ctx := t.Context()
	if has, _ := s.HasUsers(ctx); has {
		t.Fatal("new store reports users")
	}
	if _, err := s.CreateOwner(ctx, " Owner@Example.com ", "long enough password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateOwner(ctx, "second@example.com", "long enough password"); !errors.Is(err, ErrSetupDone) {
		t.Fatalf("second owner: err %v, want ErrSetupDone", err)
	}
	u, err := s.Authenticate(ctx, "owner@example.com", "long enough password")
	if err != nil || u.Email != "owner@example.com" {
		t.Fatalf("authenticate with normalized email: %v %+v", err, u)
	}
	for _, tc := range []struct{ email, password string }{
		{"owner@example.com", "wrong password here"},
		{"nobody@example.com", "long enough password"},
		{"owner@example.com", ""},
	} {
		if _, err := s.Authenticate(ctx, tc.email, tc.password); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("%q/%q: err %v, want ErrInvalidCredentials", tc.email, tc.password, err)
		}
	}
}

func TestPasswordHashFormat(t *testing.T) {
	h := hashPassword("long enough password")
	if !checkPassword(h, "long enough password") || checkPassword(h, "long enough passworD") {
		t.Fatal("hash does not check the password")
	}
	if h == hashPassword("long enough password") {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if checkPassword("$argon2id$garbage", "x") || checkPassword("", "") {
		t.Fatal("malformed hash accepted")
	}
}

// queryPlan is SQLite's EXPLAIN QUERY PLAN of a query, a line per step.
func queryPlan(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	rows, err := s.read.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "\n")
}
