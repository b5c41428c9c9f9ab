package pgtest_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"testing"

	"github.com/hookhouse/hookhouse/store/pgtest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestMain(m *testing.M) { pgtest.Run(m) }

func connect(t *testing.T, dbURL string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func userTables(t *testing.T, conn *pgx.Conn) []string {
	t.Helper()
	rows, err := conn.Query(t.Context(),
		"SELECT tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func exec(t *testing.T, conn *pgx.Conn, sql string) {
	t.Helper()
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func events(t *testing.T, conn *pgx.Conn) []string {
	t.Helper()
	rows, err := conn.Query(t.Context(), "SELECT name FROM events ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestStartGivesFreshEmptyDatabases(t *testing.T) {
	t.Parallel()
	a, b := pgtest.Start(t), pgtest.Start(t)
	if a == b {
		t.Fatalf("two Starts gave the same URL %s", a)
	}
	connA, connB := connect(t, a), connect(t, b)
	var nameA, nameB string
	connA.QueryRow(t.Context(), "SELECT current_database()").Scan(&nameA)
	connB.QueryRow(t.Context(), "SELECT current_database()").Scan(&nameB)
	if nameA == nameB {
		t.Fatalf("both URLs lead to database %q", nameA)
	}
	for _, conn := range []*pgx.Conn{connA, connB} {
		if tables := userTables(t, conn); len(tables) != 0 {
			t.Fatalf("fresh database has tables %v", tables)
		}
	}

	exec(t, connA, "CREATE TABLE events (id bigint PRIMARY KEY, name text NOT NULL)")
	exec(t, connA, "INSERT INTO events VALUES (1, 'sent'), (2, 'opened')")
	exec(t, connB, "CREATE TABLE other (id bigint)")
	exec(t, connB, "INSERT INTO other VALUES (1)")
	if got, want := events(t, connA), []string{"sent", "opened"}; !slices.Equal(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	if got := userTables(t, connB); !slices.Equal(got, []string{"other"}) {
		t.Fatalf("second database has tables %v, want only its own", got)
	}
}

func TestStartDropsItsDatabaseAtCleanup(t *testing.T) {
	t.Parallel()
	var dbURL string
	t.Run("user", func(t *testing.T) {
		dbURL = pgtest.Start(t)
		conn := connect(t, dbURL)
		exec(t, conn, "CREATE TABLE events (id bigint)") // a connection left open must not stop the drop
	})
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	name := u.Path[1:]
	u.Path = "/postgres"
	var exists bool
	if err := connect(t, u.String()).QueryRow(t.Context(),
		"SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatalf("database %s still exists after its test", name)
	}
}

// committedSurvives writes committed rows and an uncommitted one, takes the cluster down with
// stop, starts it again and checks that exactly the committed rows are there.
func committedSurvives(t *testing.T, stop func(*pgtest.Cluster) error) {
	c := pgtest.NewCluster(t)
	dbURL := c.CreateDatabase(t)
	conn := connect(t, dbURL)
	exec(t, conn, "CREATE TABLE events (id bigint PRIMARY KEY, name text NOT NULL)")
	exec(t, conn, "INSERT INTO events VALUES (1, 'sent'), (2, 'opened')")
	open := connect(t, dbURL)
	exec(t, open, "BEGIN")
	exec(t, open, "INSERT INTO events VALUES (3, 'uncommitted')")

	if err := stop(c); err != nil {
		t.Fatal(err)
	}
	_, err := pgx.Connect(t.Context(), dbURL)
	if pgErr := (*pgconn.ConnectError)(nil); !errors.As(err, &pgErr) {
		t.Fatalf("connecting to a stopped cluster: %v, want a connect error", err)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := events(t, connect(t, dbURL)), []string{"sent", "opened"}; !slices.Equal(got, want) {
		t.Fatalf("after restart events = %v, want %v", got, want)
	}
}

func TestClusterKeepsCommittedDataAcrossStopStart(t *testing.T) {
	t.Parallel()
	committedSurvives(t, func(c *pgtest.Cluster) error { return c.Stop(t.Context()) })
}

func TestClusterRecoversCommittedDataAfterKill(t *testing.T) {
	t.Parallel()
	committedSurvives(t, (*pgtest.Cluster).Kill)
}
