package store

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookhouse/hookhouse/store/signature"
)

// Ids reach URLs (/integrations/N, .../urls/N/revoke, /team/members/N/remove), log lines and
// everything kept under an integration's id: deleting the newest row and adding another must
// not give the new one the old id, on either database, nor after a restart.
func TestIdsAreNeverReused(t *testing.T) { eachDB(t, testIdsAreNeverReused) }

func testIdsAreNeverReused(t *testing.T, db testDB) {
	s := db.open(t)
	ctx := t.Context()
	if err := s.SetSecretKey(ctx, testKey()); err != nil {
		t.Fatal(err)
	}
	owner, err := s.CreateOwner(ctx, "a@example.com", "long enough password")
	if err != nil {
		t.Fatal(err)
	}
	add := func(s *Store, schema string) (Integration, WebhookURL) {
		t.Helper()
		in, u, _, err := s.CreateIntegration(ctx, NewIntegration{UserID: owner.ID, Name: schema, Source: "vero", Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		return in, u
	}
	add(s, "first")
	deleted, deletedURL := add(s, "second")
	if err := s.DeleteIntegration(ctx, owner.ID, deleted.ID, false); err != nil {
		t.Fatal(err)
	}
	again, againURL := add(s, "third")
	if again.ID <= deleted.ID {
		t.Errorf("the integration added after deleting #%d got id %d", deleted.ID, again.ID)
	}
	if againURL.ID <= deletedURL.ID {
		t.Errorf("the webhook URL made after deleting URL #%d (with its integration) got id %d", deletedURL.ID, againURL.ID)
	}
	if _, err := s.Integration(ctx, owner.ID, deleted.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("the deleted integration #%d: %v, want ErrNotFound", deleted.ID, err)
	}

	// A signing secret replaced by another: the delete and the insert are one transaction.
	secretID := func() int64 {
		t.Helper()
		sg, err := s.Signing(ctx, owner.ID, again.ID)
		if err != nil || len(sg.Secrets) != 1 {
			t.Fatalf("signing: %+v %v, want one secret", sg, err)
		}
		return sg.Secrets[0].ID
	}
	std := signature.Config{Scheme: signature.StandardWebhooks, DeliveryID: "header:webhook-id"}
	if err := s.SaveSigning(ctx, owner.ID, again.ID, std, true, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); err != nil {
		t.Fatal(err)
	}
	oldSecret := secretID()
	if err := s.SaveSigning(ctx, owner.ID, again.ID, std, true, "whsec_c2VjcmV0IG51bWJlciB0d28gZm9yIHRlc3Rz"); err != nil {
		t.Fatal(err)
	}
	if newSecret := secretID(); newSecret <= oldSecret {
		t.Errorf("the signing secret that replaced #%d got id %d", oldSecret, newSecret)
	}

	// A removed teammate, and an invite deleted once long spent.
	join := func(email string) (Invite, User) {
		t.Helper()
		in, token, err := s.CreateInvite(ctx, owner.ID, email)
		if err != nil {
			t.Fatal(err)
		}
		u, err := s.AcceptInvite(ctx, token, "long enough password")
		if err != nil {
			t.Fatal(err)
		}
		return in, u
	}
	oldInvite, removed := join("b@example.com")
	if _, err := s.RemoveMember(ctx, owner.ID, removed.ID); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(InviteTTL + keepSpentInvites + time.Hour)
	s.now = func() time.Time { return later } // the spent invite is deleted by the next one
	newInvite, member := join("c@example.com")
	if member.ID <= removed.ID {
		t.Errorf("the teammate who joined after #%d was removed got id %d", removed.ID, member.ID)
	}
	if newInvite.ID <= oldInvite.ID {
		t.Errorf("the invite made after #%d was deleted got id %d", oldInvite.ID, newInvite.ID)
	}
	if n := queryInt(t, s, "SELECT COUNT(*) FROM invites WHERE email = 'b@example.com'"); n != 0 {
		t.Fatal("the spent invite is still there: the test deleted nothing")
	}

	// After a restart too.
	if err := s.DeleteIntegration(ctx, owner.ID, again.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = db.open(t)
	defer s.Close()
	if last, _ := add(s, "fourth"); last.ID <= again.ID {
		t.Errorf("after a restart, the integration added after deleting #%d got id %d", again.ID, last.ID)
	}
}

// A database of the version before ids were never reused (sqlite/0012) keeps every row, the
// triggers and the foreign keys through the rebuild, and then gives no id twice. The rebuild
// runs once: the next start finds it done.
func TestOldDatabaseStopsReusingIds(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hookhouse.db")
	old, err := openSQLite(path, false)
	if err != nil {
		t.Fatal(err)
	}
	old.SetMaxOpenConns(1)
	if err := migrateTo(ctx, old, 11); err != nil {
		t.Fatal(err)
	}
	key := testKey()
	box, err := newSecretBox(key)
	if err != nil {
		t.Fatal(err)
	}
	// What version 11 held: an owner and a teammate, two integrations (#3 was the newest
	// and is gone: its id can no longer be known), their URLs, a secret, an invite, logs and a
	// copy-once page still waiting for the deleted #3.
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO users (id, email, password_hash, created_at) VALUES (1, 'a@example.com', ?, '2026-11-01T10:00:00Z')", []any{hashPassword("long enough password")}},
		{"INSERT INTO users (id, email, password_hash, created_at, workspace_id) VALUES (2, 'b@example.com', 'x', '2026-11-02T10:00:00Z', 1)", nil},
		{"INSERT INTO integrations (id, user_id, name, source, schema_name, created_at) VALUES (1, 1, 'One', 'vero', 'one', '2026-11-01T10:00:00Z'), (2, 1, 'Two', 'vero', 'two', '2026-11-01T11:00:00Z')", nil},
		{"INSERT INTO webhook_urls (id, integration_id, token_hash, token_prefix, created_at) VALUES (1, 1, 'h1', 'p1', '2026-11-01T10:00:00Z'), (2, 2, 'h2', 'p2', '2026-11-01T11:00:00Z')", nil},
		{"INSERT INTO signing_secrets (id, integration_id, sealed, created_at) VALUES (1, 2, ?, '2026-11-01T11:00:00Z')", []any{box.seal(2, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")}},
		{"INSERT INTO invites (id, workspace_id, email, token_hash, created_at, expires_at) VALUES (1, 1, 'c@example.com', 'i1', '2026-11-01T10:00:00Z', '2099-01-01T00:00:00Z')", nil},
		{"INSERT INTO webhook_requests (integration_id, received_at, status, body) VALUES (2, '2026-11-01T12:00:00Z', 200, 'hello')", nil},
		{"INSERT INTO hourly_activity (integration_id, hour, rows, requests) VALUES (2, '2026-11-01T12', 1, 1)", nil},
		{"INSERT INTO reveals (nonce_hash, user_id, integration_id, sealed, expires_at) VALUES ('n', 1, 3, x'00', '2099-01-01T00:00:00Z')", nil},
	} {
		if _, err := old.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	old.Close()

	s := openTestStore(t, path)
	if err := s.SetSecretKey(ctx, key); err != nil { // the secret still opens under integration #2
		t.Fatal(err)
	}
	for table, want := range map[string]int{"users": 2, "integrations": 2, "webhook_urls": 2, "signing_secrets": 1, "invites": 1, "webhook_requests": 1, "hourly_activity": 1, "reveals": 1} {
		if n := queryInt(t, s, "SELECT COUNT(*) FROM "+table); n != want {
			t.Errorf("%s has %d rows after the migration, want %d", table, n, want)
		}
	}
	for _, table := range []string{"users", "integrations", "webhook_urls", "invites", "signing_secrets"} {
		var create string
		if err := s.read.QueryRowContext(ctx, "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?", table).Scan(&create); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(create, "AUTOINCREMENT") {
			t.Errorf("%s after the migration: %s", table, create)
		}
	}
	if _, err := s.Authenticate(ctx, "a@example.com", "long enough password"); err != nil {
		t.Fatalf("the owner cannot sign in after the migration: %v", err)
	}
	if in, err := s.Integration(ctx, 1, 2); err != nil || in.Name != "Two" || in.Schema != "two" {
		t.Fatalf("integration #2 after the migration: %+v %v", in, err)
	}
	if n := queryInt(t, s, "SELECT logged_body_bytes FROM integrations WHERE id = 2"); n != 5 {
		t.Errorf("integration #2 counts %d bytes of logged bodies, want 5", n)
	}
	// The rebuilt tables' triggers and foreign keys work, and foreign keys are on again.
	if _, err := s.db.ExecContext(ctx, "INSERT INTO webhook_requests (integration_id, received_at, status, body) VALUES (2, '2026-11-01T13:00:00Z', 200, 'again')"); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, s, "SELECT logged_body_bytes FROM integrations WHERE id = 2"); n != 10 {
		t.Errorf("after one more logged body, integration #2 counts %d bytes, want 10", n)
	}
	if _, err := s.db.ExecContext(ctx, "INSERT INTO webhook_urls (integration_id, token_hash, token_prefix, created_at) VALUES (99, 'h99', 'p', '2026-11-01T10:00:00Z')"); err == nil {
		t.Error("a webhook URL of a missing integration was accepted: foreign keys are off")
	}

	if err := s.DeleteIntegration(ctx, 1, 2, false); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"webhook_urls", "signing_secrets", "webhook_requests", "hourly_activity"} {
		if n := queryInt(t, s, "SELECT COUNT(*) FROM "+table+" WHERE integration_id = 2"); n != 0 {
			t.Errorf("deleting integration #2 left %d rows of %s", n, table)
		}
	}
	in, u, _, err := s.CreateIntegration(ctx, NewIntegration{UserID: 1, Name: "Next", Source: "vero", Schema: "next"})
	if err != nil {
		t.Fatal(err)
	}
	if in.ID != 4 || u.ID != 3 {
		t.Errorf("after deleting #2 (and a copy-once page named #3), the next integration got id %d and URL id %d, want 4 and 3", in.ID, u.ID)
	}
	if _, err := s.RemoveMember(ctx, 1, 2); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, s, "SELECT seq FROM sqlite_sequence WHERE name = 'users'"); n != 2 {
		t.Errorf("the users' sequence is at %d after removing #2, want 2", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// The next start applies nothing again and goes on counting.
	s = openTestStore(t, path)
	defer s.Close()
	if n := queryInt(t, s, "SELECT COUNT(*) FROM schema_migrations WHERE name = '0012_ids_never_reused'"); n != 1 {
		t.Fatalf("0012 recorded %d times", n)
	}
	if err := s.DeleteIntegration(ctx, 1, in.ID, false); err != nil {
		t.Fatal(err)
	}
	next, _, _, err := s.CreateIntegration(ctx, NewIntegration{UserID: 1, Name: "After", Source: "vero", Schema: "after"})
	if err != nil || next.ID != in.ID+1 {
		t.Fatalf("after a restart, the integration added after deleting #%d: %+v %v", in.ID, next, err)
	}
}

// A migration that rebuilds tables runs with foreign keys off, but a row it leaves without its
// parent fails it, and the connection gets its foreign keys back.
func TestRebuildingMigrationChecksForeignKeys(t *testing.T) {
	ctx := t.Context()
	db, err := openSQLite(filepath.Join(t.TempDir(), "hookhouse.db"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	h := &sqlDB{DB: db}
	bad := migration{version: 1000, name: "1000_orphan", sql: foreignKeysOff + "\nINSERT INTO webhook_urls (integration_id, token_hash, token_prefix, created_at) VALUES (7, 'h', 'p', 'now');"}
	if err := apply(ctx, h, bad); err == nil || !strings.Contains(err.Error(), "webhook_urls") {
		t.Fatalf("an orphan left by a rebuild: %v, want a foreign key check naming webhook_urls", err)
	}
	var on int
	if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&on); err != nil || on != 1 {
		t.Fatalf("foreign_keys is %d after the failed migration (%v), want 1", on, err)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM webhook_urls").Scan(&n); err != nil || n != 0 {
		t.Fatalf("the failed migration left %d rows (%v)", n, err)
	}

	// An orphan already there (a delete by a client with foreign keys off, sqlite3's default)
	// is not the rebuild's doing: the migration goes on.
	for _, st := range []string{"PRAGMA foreign_keys = OFF",
		"INSERT INTO webhook_urls (integration_id, token_hash, token_prefix, created_at) VALUES (8, 'h8', 'p', 'now')",
		"PRAGMA foreign_keys = ON"} {
		if _, err := db.ExecContext(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	rebuild := migration{version: 1001, name: "1001_rebuild", sql: foreignKeysOff + "\nCREATE TABLE t2 (x); DROP TABLE t2;"}
	if err := apply(ctx, h, rebuild); err != nil {
		t.Fatalf("a rebuild on a database that held an orphan before: %v", err)
	}
	// Without the marker, a migration that drops a table is refused before it runs.
	careless := migration{version: 1002, name: "1002_careless", sql: "CREATE TABLE t3 (x); DROP TABLE t3;"}
	if err := apply(ctx, h, careless); err == nil || !strings.Contains(err.Error(), foreignKeysOff) {
		t.Fatalf("a migration dropping a table with foreign keys on: %v, want a refusal naming the marker", err)
	}
}
