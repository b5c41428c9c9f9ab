package web_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hookhouse/hookhouse/store"
)

// assertNotInDataDir fails when secret appears in any file of the data folder (databases,
// WAL files, warehouse files), checkpointed or not.
func assertNotInDataDir(t *testing.T, app *testApp, secret string) {
	t.Helper()
	err := filepath.WalkDir(app.DataDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s contains the secret in plaintext", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if app.Database != "" && bytes.Contains(metadataAtRest(t, app.Database), []byte(secret)) {
		t.Errorf("the PostgreSQL metadata holds the secret in plaintext")
	}
}

// metadataAtRest is every row of the hookhouse schema's tables, as text (bytea in hex).
func metadataAtRest(t *testing.T, databaseURL string) []byte {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var dump []byte
	err = conn.QueryRow(t.Context(), `SELECT COALESCE(string_agg(query_to_xml(format('SELECT * FROM %I.%I', table_schema, table_name), true, false, '')::text, ''), '')
		FROM information_schema.tables WHERE table_schema = $1`, store.Schema).Scan(&dump)
	if err != nil {
		t.Fatal(err)
	}
	if len(dump) == 0 {
		t.Fatal("no metadata found in PostgreSQL")
	}
	return dump
}
