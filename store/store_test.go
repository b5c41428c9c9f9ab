package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func openTestStore(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMigrationsRunOnceFromEmptyAndOnReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookhouse.db")
	s := openTestStore(t, path)
	want, err := migrations()
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

	// A second start on the same file applies nothing again and keeps the data.
	s = openTestStore(t, path)
	defer s.Close()
	if again := versions(s); len(again) != len(got) {
		t.Fatalf("after reopen: versions %v, want %v", again, got)
	}
	if _, err := s.Authenticate(t.Context(), "a@example.com", "long enough password"); err != nil {
		t.Fatalf("account lost across restart: %v", err)
	}
}

func TestMigrationFilesAreNumberedInOrder(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if m.version != i+1 {
			t.Fatalf("migration %s is number %d of %d: want 1, 2, 3 ... with no gap and no duplicate", m.name, m.version, i+1)
		}
	}
}

func TestOwnerIsCreatedOnce(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "hookhouse.db"))
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
