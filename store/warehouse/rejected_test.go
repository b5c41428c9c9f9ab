package warehouse

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// _sdc_rejected is browsed, paged, read by row and exported like the other tables, with the
// same columns on every destination (Stitch's four, no key of hookhouse's).
func TestRejectsAreBrowsedAndExported(t *testing.T) {
	for _, dest := range testDestinations {
		t.Run(dest.name, func(t *testing.T) {
			ctx := context.Background()
			w := dest.open(t, Options{})
			key := Target{PrimaryKey: "id"}
			mustLoad(t, w, "rej", key, decodeOne(t, `{"id": 1}`), decodeOne(t, `{"no_id": "first"}`), decodeOne(t, `{"no_id": "second"}`))
			mustLoad(t, w, "rej", key, decodeOne(t, `{"no_id": "third"}`))

			page, err := w.Rows(ctx, "rej", RowsQuery{Table: rejectedTable, Limit: 2, EventType: "sent"})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(page.Columns, ","); got != "_sdc_rejected_at,table_name,reason,record" {
				t.Fatalf("columns %s", got)
			}
			record := func(r BrowsedRow) string { s, _ := r.Values[3].(string); return s }
			if len(page.Rows) != 2 || page.Next == "" || page.EventTypeColumn != "" ||
				!strings.Contains(record(page.Rows[0]), "third") || !strings.Contains(record(page.Rows[1]), "second") {
				t.Fatalf("first page, want the newest two and a next page: %+v", page)
			}
			if page.Rows[0].Values[1] != "data" || !strings.Contains(page.Rows[0].Values[2].(string), "primary key") {
				t.Errorf("the reject's table and reason: %v", page.Rows[0].Values)
			}
			older, err := w.Rows(ctx, "rej", RowsQuery{Table: rejectedTable, Limit: 2, Before: page.Next})
			if err != nil || len(older.Rows) != 1 || older.Next != "" || !strings.Contains(record(older.Rows[0]), "first") {
				t.Fatalf("second page: %+v %v", older, err)
			}
			names, vals, err := w.Row(ctx, "rej", rejectedTable, older.Rows[0].Key)
			if err != nil || strings.Join(names, ",") != "_sdc_rejected_at,table_name,reason,record" || !strings.Contains(vals[3].(string), "first") {
				t.Fatalf("Row %q: %v %v %v", older.Rows[0].Key, names, vals, err)
			}
			if _, _, err := w.Row(ctx, "rej", rejectedTable, "1-2"); !errors.Is(err, ErrBadKey) {
				t.Errorf("a key of two parts: %v, want ErrBadKey", err)
			}

			var out bytes.Buffer
			if err := w.Export(ctx, "rej", ExportQuery{Table: rejectedTable, EventType: "sent"}, CSV, &out, nil); err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(&out).ReadAll()
			if err != nil || len(recs) != 4 || strings.Join(recs[0], ",") != "_sdc_rejected_at,table_name,reason,record" ||
				!strings.Contains(recs[1][3], "first") || !strings.Contains(recs[3][3], "third") || recs[1][0] == "" {
				t.Fatalf("CSV, want the header and the three rejects oldest first: %v %q", err, recs)
			}
			out.Reset()
			if err := w.Export(ctx, "rej", ExportQuery{Table: rejectedTable}, JSONLines, &out, nil); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			var first map[string]any
			if len(lines) != 3 || json.Unmarshal([]byte(lines[0]), &first) != nil || len(first) != 4 ||
				first["table_name"] != "data" || !strings.Contains(first["record"].(string), "first") {
				t.Fatalf("JSON Lines: %q", out.String())
			}
		})
	}
}

// A page of _sdc_rejected is read by its key's index on PostgreSQL (SQLite reads by rowid):
// paging through 50,000 rejects reads the pages' rows, not the table.
func TestRejectsArePagedByKey(t *testing.T) {
	w := openPostgresTest(t, Options{})
	ctx := context.Background()
	mustLoad(t, w, "rejpages", Target{PrimaryKey: "id"}, decodeOne(t, `{"no_id": 1}`))
	db := schemaDB(t, w, "rejpages")
	if _, err := db.Exec(`INSERT INTO _sdc_rejected (_sdc_rejected_at, table_name, reason, record) SELECT now(), 'data', 'seed', '{}' FROM generate_series(1, 50000)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`ANALYZE _sdc_rejected`); err != nil {
		t.Fatal(err)
	}
	before := ""
	for range 10 {
		page, err := w.Rows(ctx, "rejpages", RowsQuery{Table: rejectedTable, Limit: 50, Before: before})
		if err != nil || len(page.Rows) != 50 {
			t.Fatalf("page after %q: %d rows, %v", before, len(page.Rows), err)
		}
		before = page.Next
	}
	// A backend reports its statistics when it exits: close the pools and wait until they are gone.
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		return queryInt(t, db, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'hookhouse'`) == 0
	})
	read := queryInt(t, db, `SELECT COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0) FROM pg_stat_user_tables WHERE schemaname = 'rejpages' AND relname = '_sdc_rejected'`)
	if read > 5000 {
		t.Errorf("10 pages of 50 read %d rows of _sdc_rejected (50,001 rows); want only the pages' rows", read)
	}
}

// On PostgreSQL, a schema whose _sdc_rejected an older version made without the key gets it
// when hookhouse starts, its rows numbered in the order they came: the Data page pages them
// before any webhook opens the schema's writer.
func TestRejectsOfAnOlderSchemaArePaged(t *testing.T) {
	w := openPostgresTest(t, Options{})
	ctx := context.Background()
	mustLoad(t, w, "older", Target{PrimaryKey: "id"}, decodeOne(t, `{"id": 1}`), decodeOne(t, `{"no_id": "first"}`))
	mustLoad(t, w, "older", Target{PrimaryKey: "id"}, decodeOne(t, `{"no_id": "second"}`))
	if _, err := schemaDB(t, w, "older").Exec(`ALTER TABLE _sdc_rejected DROP COLUMN ` + pgRejectedKey); err != nil {
		t.Fatal(err)
	}
	w = reopenTest(t, w, Options{})
	page, err := w.Rows(ctx, "older", RowsQuery{Table: rejectedTable, Limit: 1})
	if err != nil || len(page.Rows) != 1 || !strings.Contains(page.Rows[0].Values[3].(string), "second") {
		t.Fatalf("first page: %+v %v", page, err)
	}
	older, err := w.Rows(ctx, "older", RowsQuery{Table: rejectedTable, Limit: 1, Before: page.Next})
	if err != nil || len(older.Rows) != 1 || older.Next != "" || !strings.Contains(older.Rows[0].Values[3].(string), "first") {
		t.Fatalf("second page: %+v %v", older, err)
	}
	mustLoad(t, w, "older", Target{PrimaryKey: "id"}, decodeOne(t, `{"no_id": "third"}`))
	if c, err := w.Contents(ctx, "older", ""); err != nil || c.Rejected != 3 {
		t.Fatalf("after a new reject: %+v %v", c, err)
	}
}

// The README's PostgreSQL user is no superuser: it has CREATE on the database, and no USAGE
// on pg_toast. hookhouse, started as it on a database with a schema an older version made,
// gives that schema's _sdc_rejected its key at start, without a warning. (The catalog query
// looked each schema name up with to_regclass, which PostgreSQL ran on every schema,
// pg_toast's too: "permission denied for schema pg_toast" at every start, the upgrade left
// to the writers.)
func TestOlderSchemasAreUpgradedByAUserWithoutSuperuser(t *testing.T) {
	ctx := context.Background()
	adb, address := nonSuperuser(t)

	w, err := OpenPostgres(ctx, address, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustLoad(t, w, "older", Target{PrimaryKey: "id"}, decodeOne(t, `{"id": 1}`), decodeOne(t, `{"no_id": "first"}`))
	if _, err := schemaDB(t, w, "older").Exec(`ALTER TABLE _sdc_rejected DROP COLUMN ` + pgRejectedKey); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	var logged bytes.Buffer
	w, err = OpenPostgres(ctx, address, slog.New(slog.NewTextHandler(&logged, nil)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if strings.Contains(logged.String(), "level=WARN") {
		t.Errorf("started as a user without superuser, hookhouse warns:\n%s", logged.String())
	}
	var has bool
	if err := adb.QueryRow(`SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'older' AND table_name = '_sdc_rejected' AND column_name = $1)`, pgRejectedKey).Scan(&has); err != nil || !has {
		t.Errorf("after the start, older._sdc_rejected has its key: %v (%v), want true", has, err)
	}
}

// _sdc_rejected.record holds the record's text as sent, not HTML-escaped: a SendGrid event's
// smtp-id "<...>" reads as it came, in the table and in a search of it.
func TestRejectedRecordKeepsItsTextAsSent(t *testing.T) {
	for _, dest := range testDestinations {
		t.Run(dest.name, func(t *testing.T) {
			w := dest.open(t, Options{})
			mustLoad(t, w, "rej", Target{PrimaryKey: "sg_event_id"}, decodeOne(t, `{"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","url":"https://example.com/?a=1&b=2"}`))
			rows := queryRows(t, schemaDB(t, w, "rej"), `SELECT record FROM _sdc_rejected`)
			if len(rows) != 1 {
				t.Fatalf("%d rejects, want 1", len(rows))
			}
			if got, want := rows[0]["record"], `{"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","url":"https://example.com/?a=1&b=2"}`; got != want {
				t.Errorf("record %v, want %s", got, want)
			}
		})
	}
}
