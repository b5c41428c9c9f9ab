package main

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hookhouse/hookhouse/store/pgtest"
)

// migrateBodies reach the warehouse through the real endpoint: nested objects, arrays in
// arrays (two subtables), a field changing type, timestamps, booleans, a second version of a
// key and a rejected record.
var migrateBodies = []string{
	`{"id":1,"type":"order","amount":10,"paid":true,"at":"2026-11-30T10:00:00Z","customer":{"name":"Ada"},"items":[{"sku":"a","tags":["x","y"]}]}`,
	`{"id":2,"type":"refund","amount":2.5,"paid":false}`,
	`{"id":1,"type":"order","amount":12,"items":[{"sku":"b","tags":[]}]}`,
	`[{"id":3,"note":"fine"},{"id":4,"bad":"a NUL \u0000 here"}]`,
}

// TestMigrateDataFolderIntoPostgres fills a data folder through the real endpoint, runs
// hookhouse migrate, and starts a node on PostgreSQL only (an empty data folder): the owner
// signs in with the same password, the same webhook URL keeps working, and the tables, their
// columns and types, the downloads and the documented latest-version query match.
func TestMigrateDataFolderIntoPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookhouse twice")
	}
	t.Parallel()
	data, path, exportsBefore := loadedFolder(t)

	db := pgtest.Start(t)
	out, err := exec.Command(binary, "migrate", "-data", data, "-database", db, "-warehouse", db).CombinedOutput()
	if err != nil {
		t.Fatalf("hookhouse migrate: %v\n%s", err, out)
	}
	t.Logf("hookhouse migrate:\n%s", out)
	if !strings.Contains(string(out), "warehouse shop: 3 tables, 8 rows, 1 rejected record") {
		t.Errorf("migrate does not report the copy of shop:\n%s", out)
	}

	key, err := os.ReadFile(filepath.Join(data, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	node := startServer(t, filepath.Join(t.TempDir(), "empty"), "HOOKHOUSE_DATABASE="+db, "HOOKHOUSE_WAREHOUSE="+db,
		"HOOKHOUSE_SECRET_KEY="+strings.TrimSpace(string(key)))
	if !signIn(t, node.URL, crashEmail, crashPassword) {
		t.Fatal("the owner cannot sign in on the migrated node")
	}
	if got := exports(t, node); !reflect.DeepEqual(got, exportsBefore) {
		for name := range exportsBefore {
			if got[name] != exportsBefore[name] {
				t.Errorf("download %s differs after the move:\nbefore\n%s\nafter\n%s", name, exportsBefore[name], got[name])
			}
		}
	}

	sqliteDB, err := sql.Open("sqlite", "file:"+filepath.Join(data, "warehouse", "shop.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer sqliteDB.Close()
	pgDB := postgresSchemaDB(t, db, "shop")
	defer pgDB.Close()
	for _, q := range []string{
		`SELECT table_name, column_name, COALESCE(source_path, ''), type FROM _sdc_columns ORDER BY table_name, column_name`,
		`SELECT table_name, row_count FROM _sdc_counts ORDER BY table_name`,
		// README, Querying: the latest version of each record.
		`SELECT id, _sdc_sequence FROM data o WHERE NOT EXISTS (SELECT 1 FROM data n WHERE n.id = o.id AND n._sdc_sequence > o._sdc_sequence) ORDER BY id`,
	} {
		if a, b := textRows(t, sqliteDB, q), textRows(t, pgDB, q); !reflect.DeepEqual(a, b) {
			t.Errorf("%s\nSQLite     %v\nPostgreSQL %v", q, a, b)
		}
	}

	resp, err := http.Post(node.URL+path, "application/json", strings.NewReader(`{"id":5,"amount":1}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the old webhook URL on the migrated node: %d %s", resp.StatusCode, b)
	}
	var after int
	if err := pgDB.QueryRow(`SELECT COUNT(*) FROM data WHERE id = 5 AND _sdc_sequence > (SELECT MAX(_sdc_sequence) FROM data WHERE id < 5)`).Scan(&after); err != nil || after != 1 {
		t.Errorf("the event sent after the move is not stored after the moved ones: %d %v", after, err)
	}

	// Run again: the schemas are there, the metadata is refused, nothing is doubled.
	if out, err := exec.Command(binary, "migrate", "-data", data, "-database", db, "-warehouse", db).CombinedOutput(); err == nil || !strings.Contains(string(out), "already has accounts") {
		t.Errorf("a second migrate: %v\n%s", err, out)
	}
	node.stop(t)
}

// leftInFiles checks that the Account page and the Shop integration's overview say (or, once
// copied, no longer say) that its rows from the SQLite files are not in the warehouse.
func leftInFiles(t *testing.T, s *server, want bool) {
	t.Helper()
	c, ok := signInClient(t, s.URL, crashEmail, crashPassword)
	if !ok {
		t.Fatal("sign-in failed")
	}
	for page, says := range map[string]string{
		"/account":        `from before the PostgreSQL warehouse, with rows PostgreSQL lacks: <span class="mono">shop</span>.`,
		"/integrations/1": filepath.Join("warehouse", "shop.db") + "</code>",
	} {
		body := getPage(t, c, s.URL+page)
		if got := strings.Contains(body, says) && strings.Contains(body, "<code>hookhouse migrate</code> to copy them"); got != want {
			t.Errorf("%s says the rows are left in the SQLite file: %v, want %v", page, got, want)
		}
	}
}

// exports downloads every table of the Shop integration (id 1) and its latest versions as CSV.
func exports(t *testing.T, s *server) map[string]string {
	t.Helper()
	c, ok := signInClient(t, s.URL, crashEmail, crashPassword)
	if !ok {
		t.Fatal("sign-in failed")
	}
	out := map[string]string{}
	for _, table := range []string{"data", "data__items", "data__items__tags", "data_latest"} {
		out[table] = getPage(t, c, s.URL+"/integrations/1/export?format=csv&table="+table)
	}
	return out
}

// textRows is every row of query, each value as text, for comparing two databases.
func textRows(t *testing.T, db *sql.DB, query string) [][]string {
	t.Helper()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals, ptrs := make([]any, len(cols)), make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			row[i] = fmt.Sprint(v)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// A folder loaded on the SQLite files, started with -warehouse: the node warns that its
// schemas are not shown. hookhouse migrate with -warehouse alone copies them and leaves the
// metadata in the folder; then the node on the same folder shows the same rows, without the
// warning, and the same webhook URL keeps loading.
func TestMigrateOnlyTheWarehouse(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookhouse five times")
	}
	t.Parallel()
	data, path, exportsBefore := loadedFolder(t)

	db := pgtest.Start(t)
	warned := startServer(t, data, append(adminEnv, "HOOKHOUSE_WAREHOUSE="+db)...)
	const warning = "SQLite warehouse files that the PostgreSQL warehouse does not show"
	if logs := warned.logs(); !strings.Contains(logs, warning) || !strings.Contains(logs, "schemas=shop") {
		t.Errorf("no warning of the folder's SQLite schemas:\n%s", logs)
	}
	leftInFiles(t, warned, true)
	warned.stop(t)

	out, err := exec.Command(binary, "migrate", "-data", data, "-warehouse", db).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "warehouse shop: 3 tables") || !strings.Contains(string(out), "metadata: stays in") {
		t.Fatalf("hookhouse migrate -warehouse: %v\n%s", err, out)
	}
	node := startServer(t, data, append(adminEnv, "HOOKHOUSE_WAREHOUSE="+db)...)
	if strings.Contains(node.logs(), warning) {
		t.Errorf("a warning after the copy:\n%s", node.logs())
	}
	leftInFiles(t, node, false)
	if got := exports(t, node); !reflect.DeepEqual(got, exportsBefore) {
		t.Errorf("the downloads differ after the move:\nbefore %v\nafter  %v", exportsBefore, got)
	}
	resp, err := http.Post(node.URL+path, "application/json", strings.NewReader(`{"id":5,"amount":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the webhook URL after the move: %d", resp.StatusCode)
	}
	node.stop(t)

	// The old server kept on the folder and given a row: a second migrate says it is not copied.
	stale := startServer(t, data, adminEnv...)
	resp, err = http.Post(stale.URL+path, "application/json", strings.NewReader(`{"id":6}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	stale.stop(t)
	out, err = exec.Command(binary, "migrate", "-data", data, "-warehouse", db).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "warehouse shop: already in PostgreSQL, but this folder has rows loaded since it was copied") ||
		!strings.Contains(string(out), "DROP SCHEMA name CASCADE") {
		t.Errorf("migrate again after the folder loaded a row: %v, want a failure naming shop\n%s", err, out)
	}
	// PostgreSQL holds the schema, yet lacks that row: a node with -warehouse still says so.
	behind := startServer(t, data, append(adminEnv, "HOOKHOUSE_WAREHOUSE="+db)...)
	if !strings.Contains(behind.logs(), warning) {
		t.Errorf("no warning of the row PostgreSQL lacks:\n%s", behind.logs())
	}
	leftInFiles(t, behind, true)
	behind.stop(t)
}

// loadedFolder is a data folder on the embedded default with the integration Shop (primary key
// id) loaded with migrateBodies, its server stopped: the path of its webhook URL and what its
// downloads held.
func loadedFolder(t *testing.T) (data, path string, downloads map[string]string) {
	t.Helper()
	data = filepath.Join(t.TempDir(), "data")
	old := startServer(t, data, adminEnv...)
	hookURL := addIntegration(t, old, "incoming-webhooks", "Shop", "id")
	for _, body := range migrateBodies {
		resp, err := http.Post(hookURL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", body, resp.StatusCode)
		}
	}
	downloads = exports(t, old)
	old.stop(t)
	return data, strings.TrimPrefix(hookURL, old.URL), downloads
}
