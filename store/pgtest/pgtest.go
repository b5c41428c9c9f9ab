// Package pgtest gives tests a real PostgreSQL: a fresh, empty database per Start, on the server
// named by HOOKHOUSE_TEST_POSTGRES or else on a private cluster that the test binary starts from
// Debian's postgresql package. Only _test.go files import it.
//
// A package using it needs a TestMain that stops the private cluster when its tests are done:
//
//	func TestMain(m *testing.M) { pgtest.Run(m) }
//
// Start fails without it, with HOOKHOUSE_TEST_POSTGRES too, so a missing TestMain shows everywhere.
// Should the test binary die instead (a -timeout panic, a kill), the postmaster gets SIGQUIT and
// stops with it; only its temporary folder is left behind. Linux only (/proc, Pdeathsig).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
)

const installHint = "apt-get install -y postgresql, or set HOOKHOUSE_TEST_POSTGRES=postgres://user@host/db to a server where tests may create databases"

// shared is the private cluster of this test binary, started by the first Start that needs it and
// stopped by Run. It is package state because it stands for a process-wide external resource.
var shared struct {
	mu      sync.Mutex
	inRun   bool     // Run is running the tests, so it will stop the cluster
	cluster *Cluster // nil until started
	err     error    // why the cluster could not start; no second attempt
}

// Run runs the tests, then stops the private cluster if one was started and removes its folder.
// It returns the exit code, which TestMain may return or pass to os.Exit.
func Run(m *testing.M) int {
	shared.mu.Lock()
	shared.inRun = true
	shared.mu.Unlock()

	code := m.Run()

	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.cluster != nil {
		if err := shared.cluster.destroy(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
		shared.cluster = nil
	}
	return code
}

// Start returns the URL of a fresh, empty database, dropped at the end of the test. Without
// HOOKHOUSE_TEST_POSTGRES and without Debian's postgresql the test is skipped, or fails under CI.
func Start(t testing.TB) string {
	t.Helper()
	shared.mu.Lock()
	inRun := shared.inRun
	shared.mu.Unlock()
	if !inRun {
		t.Fatal("pgtest.Start needs pgtest.Run to stop the private cluster: add func TestMain(m *testing.M) { pgtest.Run(m) }")
	}

	server := os.Getenv("HOOKHOUSE_TEST_POSTGRES")
	if server == "" {
		server = sharedCluster(t).URL("postgres")
	}
	name := newDatabaseName()
	db, err := withDatabase(server, name)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := createDatabase(ctx, server, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// t.Context is done by now.
		ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
		defer cancel()
		if err := dropDatabase(ctx, server, name); err != nil {
			t.Error(err)
		}
	})
	return db
}

func sharedCluster(t testing.TB) *Cluster {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.cluster == nil && shared.err == nil {
		bin := findBinaries()
		if bin == "" {
			skipOrFatal(t, "PostgreSQL tests need a server: "+installHint)
		}
		// Under the lock: tests running in parallel wait for this one start.
		shared.cluster, shared.err = newCluster(context.Background(), bin)
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.cluster
}

// skipOrFatal skips the test locally, but fails it under CI, where a missing PostgreSQL must not
// pass unnoticed.
func skipOrFatal(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " (CI is set, so this fails instead of skipping)")
	}
	t.Skip(msg)
}

func newDatabaseName() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "hookhouse_test_" + hex.EncodeToString(b)
}

// createDatabase creates name from template0, so that it is empty even where template1 is not.
func createDatabase(ctx context.Context, server, name string) error {
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return fmt.Errorf("pgtest: connect to create a database: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE template0 ENCODING 'UTF8'"); err != nil {
		return fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return nil
}

// dropDatabase drops name even if the test left connections open (FORCE ends them).
func dropDatabase(ctx context.Context, server, name string) error {
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return fmt.Errorf("pgtest: connect to drop database %s: %w", name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("pgtest: drop database %s: %w", name, err)
	}
	return nil
}

// withDatabase is server's URL with its database replaced by name.
func withDatabase(server, name string) (string, error) {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("pgtest: HOOKHOUSE_TEST_POSTGRES must be a postgres:// URL, got %q", server)
	}
	u.Path, u.RawPath = "/"+name, ""
	return u.String(), nil
}
