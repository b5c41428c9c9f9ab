package warehouse

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBrowseRowsNewestFirstLatestAndEventType(t *testing.T) {
	for _, dest := range testDestinations {
		t.Run(dest.name, func(t *testing.T) { testBrowse(t, dest.open(t, Options{})) })
	}
}

func testBrowse(t *testing.T, w *Warehouse) {
	ctx := context.Background()
	for _, body := range []string{
		`{"id": 1, "type": "sent", "ok": true}`,
		`{"id": 2, "type": "sent"}`,
		`{"id": 1, "type": "opened", "tags": ["a", "b"]}`,
	} {
		mustLoad(t, w, "vero", Target{PrimaryKey: "id"}, decodeOne(t, body))
	}

	page, err := w.Rows(ctx, "vero", RowsQuery{Table: "data", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Rows) != 2 || page.Next == "" || page.EventTypeColumn != "type" {
		t.Fatalf("first page: %d rows, next %q, event column %q", len(page.Rows), page.Next, page.EventTypeColumn)
	}
	if page.Columns[0] != "id" || page.Columns[1] != "type" {
		t.Fatalf("columns %v: want the primary key first, then the event type", page.Columns)
	}
	typeAt := indexOf(page.Columns, "type")
	if page.Rows[0].Values[typeAt] != "opened" || page.Rows[1].Values[typeAt] != "sent" {
		t.Fatalf("not newest first: %v", page.Rows)
	}
	for _, v := range page.Rows[0].Values {
		if _, ok := v.(time.Time); ok {
			t.Fatal("a timestamp came back as time.Time, not the stored text")
		}
	}
	next, err := w.Rows(ctx, "vero", RowsQuery{Table: "data", Limit: 2, Before: page.Next})
	if err != nil || len(next.Rows) != 1 || next.Next != "" || next.Rows[0].Values[typeAt] != "sent" {
		t.Fatalf("second page: %+v %v", next, err)
	}
	if ok := next.Rows[0].Values[indexOf(page.Columns, "ok")]; ok != true {
		t.Fatalf("a boolean shows as %#v, want true on every destination", ok)
	}
	if got := strings.Join(page.EventTypes, ","); got != "opened,sent" {
		t.Fatalf("event types offered: %s", got)
	}

	sent, _ := w.Rows(ctx, "vero", RowsQuery{Table: "data", EventType: "sent"})
	latest, _ := w.Rows(ctx, "vero", RowsQuery{Table: LatestView})
	if len(sent.Rows) != 2 || len(latest.Rows) != 2 {
		t.Fatalf("type=sent gives %d rows, data_latest %d; want 2 and 2", len(sent.Rows), len(latest.Rows))
	}
	sub, err := w.Rows(ctx, "vero", RowsQuery{Table: "data__tags", Limit: 1})
	if err != nil || len(sub.Rows) != 1 || sub.Next == "" || sub.EventTypeColumn != "" {
		t.Fatalf("subtable: %+v %v", sub, err)
	}
	valueAt := indexOf(sub.Columns, "value")
	older, err := w.Rows(ctx, "vero", RowsQuery{Table: "data__tags", Before: sub.Next})
	if err != nil || len(older.Rows) != 1 || sub.Rows[0].Values[valueAt] != "b" || older.Rows[0].Values[valueAt] != "a" {
		t.Fatalf("subtable pages: %+v then %+v %v", sub, older, err)
	}
	if names, vals, err := w.Row(ctx, "vero", "data__tags", older.Rows[0].Key); err != nil || vals[indexOf(names, "value")] != "a" {
		t.Fatalf("subtable Row %q: %v %v %v", older.Rows[0].Key, names, vals, err)
	}
	for _, bad := range []string{"", "x", "1-2-3", "-1"} {
		if _, _, err := w.Row(ctx, "vero", "data__tags", bad); !errors.Is(err, ErrBadKey) {
			t.Errorf("Row key %q: %v, want ErrBadKey", bad, err)
		}
	}

	names, vals, err := w.Row(ctx, "vero", "data", page.Rows[0].Key)
	if err != nil || vals[indexOf(names, "type")] != "opened" {
		t.Fatalf("Row: %v %v %v", names, vals, err)
	}
	for _, bad := range []string{"sqlite_master", "nope", `data" --`, "_sdc_tables", "_sdc_columns", "pg_class"} {
		if _, err := w.Rows(ctx, "vero", RowsQuery{Table: bad}); !errors.Is(err, ErrNoTable) {
			t.Errorf("browsing %q: %v, want ErrNoTable", bad, err)
		}
	}
	if _, err := w.Rows(ctx, "never_loaded", RowsQuery{Table: "data"}); !errors.Is(err, ErrNoTable) {
		t.Errorf("a schema without a file: %v", err)
	}
}

func TestExportCSVAndJSONLines(t *testing.T) {
	for _, dest := range testDestinations {
		t.Run(dest.name, func(t *testing.T) { testExport(t, dest.open(t, Options{})) })
	}
}

func testExport(t *testing.T, w *Warehouse) {
	mustLoad(t, w, "vero", Target{PrimaryKey: "id"},
		decodeOne(t, `{"id": 1, "type": "sent", "ok": true, "note": "a, \"quoted\"\nline"}`),
		decodeOne(t, `{"id": 2, "type": "opened", "ok": false}`))

	var out bytes.Buffer
	if err := w.Export(context.Background(), "vero", ExportQuery{Table: "data"}, CSV, &out, nil); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil || len(recs) != 3 {
		t.Fatalf("CSV: %v, %d records", err, len(recs))
	}
	header := recs[0]
	if recs[1][indexOf(header, "note")] != "a, \"quoted\"\nline" || recs[1][indexOf(header, "ok")] != "true" || recs[2][indexOf(header, "note")] != "" {
		t.Fatalf("CSV rows: %q", recs)
	}

	out.Reset() // the Data page's type filter applies to the download too
	if err := w.Export(context.Background(), "vero", ExportQuery{Table: "data", EventType: "opened"}, CSV, &out, nil); err != nil {
		t.Fatal(err)
	}
	if recs, err := csv.NewReader(&out).ReadAll(); err != nil || len(recs) != 2 || recs[1][indexOf(recs[0], "type")] != "opened" {
		t.Fatalf("CSV of type opened: %v %q", err, recs)
	}

	out.Reset()
	if err := w.Export(context.Background(), "vero", ExportQuery{Table: LatestView}, JSONLines, &out, nil); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var first map[string]any
	if len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &first) != nil {
		t.Fatalf("JSON Lines: %q", out.String())
	}
	if first["ok"] != true || first["id"] != 1.0 || first["type"] != "sent" {
		t.Fatalf("first line: %v", first)
	}
}

// A spreadsheet opening the CSV must not run a cell as a formula (OWASP's CSV injection):
// text starting with = + - @, tab or CR gets a leading single quote. Numbers stay numbers,
// and JSON Lines, read by programs, keeps every value as stored.
func TestExportCSVNeutralisesFormulas(t *testing.T) {
	w := openTest(t, t.TempDir(), Options{})
	mustLoad(t, w, "vero", Target{},
		decodeOne(t, `{"formula": "=HYPERLINK(\"http://evil.example\",\"x\")", "plus": "+1+2", "minus": "-2+3",
			"at": "@SUM(A1)", "tab": "\tx", "cr": "\rx", "n": -5, "f": -2.5, "text_number": "-5", "plain": "a=b"}`))

	var out bytes.Buffer
	if err := w.Export(context.Background(), "vero", ExportQuery{Table: "data"}, CSV, &out, nil); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("CSV: %v, %d records", err, len(recs))
	}
	for col, want := range map[string]string{
		"formula": `'=HYPERLINK("http://evil.example","x")`, "plus": "'+1+2", "minus": "'-2+3", "at": "'@SUM(A1)",
		"tab": "'\tx", "cr": "'\rx", "text_number": "'-5",
		"n": "-5", "f": "-2.5", "plain": "a=b", // integer and float columns, and text not starting with a trigger
	} {
		if got := recs[1][indexOf(recs[0], col)]; got != want {
			t.Errorf("CSV cell %s = %q, want %q", col, got, want)
		}
	}

	out.Reset()
	if err := w.Export(context.Background(), "vero", ExportQuery{Table: "data"}, JSONLines, &out, nil); err != nil {
		t.Fatal(err)
	}
	var row map[string]any
	if err := json.Unmarshal(out.Bytes(), &row); err != nil {
		t.Fatalf("JSON Lines: %v %q", err, out.String())
	}
	if row["formula"] != `=HYPERLINK("http://evil.example","x")` || row["minus"] != "-2+3" || row["n"] != -5.0 || row["cr"] != "\rx" {
		t.Fatalf("JSON Lines changed the values: %v", row)
	}
}

// A sender's text can start a cell in the middle of its value too: Excel in much of Europe
// opens a .csv splitting on semicolons, LibreOffice offers semicolons and tabs, and such a
// reader breaks the row at a line break even inside a quoted field (its quote does not open
// the cell). LibreOffice Calc 7.4 opening the file before the fix with ';' ran x;=11 and
// x\n=16, with tab a\t=15. The file is read here as those readers do, and no cell of any of
// them may start with = + - @.
func TestExportCSVNeutralisesFormulasAfterSeparators(t *testing.T) {
	cases := map[string][2]string{ // field: sent, what the CSV's own reader finds (',' as written)
		"semicolon":    {`x;=HYPERLINK("http://evil.example";"x")`, `x;'=HYPERLINK("http://evil.example";"x")`},
		"tab":          {"a\t=1+1", "a\t'=1+1"},
		"newline":      {"x\n=1+1;", "x\n'=1+1;"},
		"crlf":         {"x\r\n+1+1", "x\n'+1+1"}, // the reader gives a quoted CRLF as LF
		"quoted":       {`x;"=1+1`, `x;"'=1+1`},
		"twice":        {"x;@SUM(1);;-1+1", "x;'@SUM(1);;'-1+1"},
		"leading_lf":   {"\n=1+1", "'\n'=1+1"},
		"plain":        {"a;b c\nd=e", "a;b c\nd=e"},
		"comma":        {"x,=1+1", "x,=1+1"}, // one quoted cell wherever commas split
		"email_bullet": {"Hello\n- item", "Hello\n'- item"},
	}
	sent := map[string]string{}
	for col, c := range cases {
		sent[col] = c[0]
	}
	body, _ := json.Marshal(sent)
	for _, dest := range testDestinations {
		t.Run(dest.name, func(t *testing.T) {
			w := dest.open(t, Options{})
			mustLoad(t, w, "hooks", Target{}, decodeOne(t, string(body)))
			var out bytes.Buffer
			if err := w.Export(context.Background(), "hooks", ExportQuery{Table: "data"}, CSV, &out, nil); err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(bytes.NewReader(out.Bytes())).ReadAll()
			if err != nil || len(recs) != 2 {
				t.Fatalf("CSV: %v, %d records", err, len(recs))
			}
			for col, c := range cases {
				if got, want := recs[1][indexOf(recs[0], col)], c[1]; got != want {
					t.Errorf("CSV cell %s = %q, want %q", col, got, want)
				}
			}
			for _, sep := range []rune{',', ';', '\t'} {
				r := csv.NewReader(bytes.NewReader(out.Bytes()))
				r.Comma, r.LazyQuotes, r.FieldsPerRecord = sep, true, -1
				cells, err := r.ReadAll()
				if err != nil {
					t.Fatalf("read with %q: %v", sep, err)
				}
				for _, row := range cells {
					for _, cell := range row {
						if c := strings.TrimLeft(cell, `"`); c != "" && strings.IndexByte("=+-@", c[0]) >= 0 {
							t.Errorf("read with %q as the separator, a cell is a formula: %q", sep, cell)
						}
					}
				}
			}
		})
	}
}

// JSON Lines writes text as it was sent: SendGrid's smtp-id "<14c5…@ismtpd-555>" is found by
// grep in the file, not hidden as \u003c…\u003e by Go's HTML escaping.
func TestExportJSONLinesKeepsTextAsSent(t *testing.T) {
	for _, dest := range testDestinations {
		t.Run(dest.name, func(t *testing.T) {
			w := dest.open(t, Options{})
			mustLoad(t, w, "sg", Target{}, decodeOne(t, `{"smtp-id": "<14c5d75ce93@ismtpd-555>", "q": "a & b", "path": "C:\\u003c"}`))
			var out bytes.Buffer
			if err := w.Export(context.Background(), "sg", ExportQuery{Table: "data"}, JSONLines, &out, nil); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{`"smtpid":"<14c5d75ce93@ismtpd-555>"`, `"q":"a & b"`, `"path":"C:\\u003c"`} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("JSON Lines lacks %s: %s", want, out.String())
				}
			}
			var row map[string]any
			if err := json.Unmarshal(out.Bytes(), &row); err != nil || row["path"] != `C:\u003c` {
				t.Fatalf("JSON Lines: %v %v", err, row)
			}
		})
	}
}

// TestExportMillionRowsInBoundedMemory exports 1,000,000 rows as CSV and JSON Lines while
// sampling the heap: the peak must not grow with the row count.
func TestExportMillionRowsInBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("exports a million rows")
	}
	const rows = 1_000_000
	dir := t.TempDir()
	w := openTest(t, dir, Options{})
	mustLoad(t, w, "big", Target{PrimaryKey: "id"},
		decodeOne(t, `{"id": 0, "type": "sent", "ok": true, "email": "someone@example.com", "campaign": {"name": "Welcome", "id": 7}}`))
	db := readDB(t, "file:"+filepath.Join(dir, "big.db"))
	start := time.Now()
	if _, err := db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO data (_sdc_received_at, _sdc_batched_at, _sdc_sequence, _sdc_table_version, id, type, ok, email, campaign__name, campaign__id)
		SELECT d._sdc_received_at, d._sdc_batched_at, d._sdc_sequence + i, 0, i, 'opened', i % 2, 'user' || i || '@example.com', 'Welcome', 7
		FROM n, (SELECT * FROM data LIMIT 1) d`, rows-1); err != nil {
		t.Fatal(err)
	}
	t.Logf("inserted %d rows in %v", rows, time.Since(start))

	for _, format := range []ExportFormat{CSV, JSONLines} {
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		var peak atomic.Uint64
		stop := make(chan struct{})
		var sampler sync.WaitGroup
		sampler.Add(1)
		go func() {
			defer sampler.Done()
			var m runtime.MemStats
			for {
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
		lines := &lineCounter{}
		flushes := 0
		start := time.Now()
		err := w.Export(context.Background(), "big", ExportQuery{Table: "data"}, format, lines, func() { flushes++ })
		close(stop)
		sampler.Wait()
		if err != nil {
			t.Fatal(err)
		}
		want := rows
		if format == CSV {
			want++ // header
		}
		if lines.n != want {
			t.Fatalf("%s: %d lines, want %d", format, lines.n, want)
		}
		growth := int64(peak.Load()) - int64(base.HeapInuse)
		t.Logf("%s: %d rows, %d MB in %v; heap in use at start %.1f MiB, peak %.1f MiB (+%.1f MiB), %d flushes",
			format, rows, lines.bytes>>20, time.Since(start).Round(time.Millisecond),
			mib(base.HeapInuse), mib(peak.Load()), float64(growth)/(1<<20), flushes)
		if growth > 32<<20 {
			t.Fatalf("%s: the heap grew by %.1f MiB exporting %d rows; the export is not streaming", format, float64(growth)/(1<<20), rows)
		}
		if flushes < rows/exportPageRows {
			t.Fatalf("%s: flushed %d times, want one per page of %d rows", format, flushes, exportPageRows)
		}
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// lineCounter is an io.Writer that keeps only counts, so the test measures the exporter.
type lineCounter struct {
	n     int
	bytes int
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.n += bytes.Count(p, []byte{'\n'})
	c.bytes += len(p)
	return len(p), nil
}

func indexOf(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	panic(fmt.Sprintf("no column %s in %v", name, names))
}

// BenchmarkExport exports a table of 200,000 rows as CSV on each destination: the cost of
// reading it in pages by key, against one statement before.
func BenchmarkExport(b *testing.B) {
	const rows = 200_000
	for _, dest := range testDestinations {
		b.Run(dest.name, func(b *testing.B) {
			w := dest.open(b, Options{})
			fillExportTable(b, w, "big", rows)
			for _, table := range []string{"data", LatestView} {
				b.Run(table, func(b *testing.B) {
					for range b.N {
						lines := &lineCounter{}
						if err := w.Export(context.Background(), "big", ExportQuery{Table: table}, CSV, lines, nil); err != nil {
							b.Fatal(err)
						}
						if lines.n != rows+1 {
							b.Fatalf("%d lines, want %d", lines.n, rows+1)
						}
					}
				})
			}
		})
	}
}

// fillExportTable gives schema a data table of n rows, the first loaded, the others copied from
// it by one INSERT (far quicker than loading them).
func fillExportTable(t testing.TB, w *Warehouse, schema string, n int) {
	t.Helper()
	mustLoad(t, w, schema, Target{PrimaryKey: "id"},
		decodeOne(t, `{"id": 0, "type": "sent", "ok": true, "email": "someone@example.com", "campaign": {"name": "Welcome", "id": 7}}`))
	series, ok := `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) `, "i % 2"
	if w.Location(schema).SQLiteFile == "" {
		series, ok = `WITH n(i) AS (SELECT generate_series(1, $1)) `, "i % 2 = 1"
	}
	if _, err := schemaDB(t, w, schema).Exec(series+`
		INSERT INTO data (_sdc_received_at, _sdc_batched_at, _sdc_sequence, _sdc_table_version, id, type, ok, email, campaign__name, campaign__id)
		SELECT d._sdc_received_at, d._sdc_batched_at, d._sdc_sequence + i, 0, i, 'opened', `+ok+`, 'user' || i || '@example.com', 'Welcome', 7
		FROM n, (SELECT * FROM data LIMIT 1) d`, n-1); err != nil {
		t.Fatal(err)
	}
}

// A download filtered by event type reads each row once, however large the table (third
// attacker's pass). On PostgreSQL, before statistics of a table filled at once, each page was
// a bitmap scan and a sort of every matching row after it, so the download grew with the
// square of the table: data_latest with type=opened took 6.1 s at 200,000 rows, the unfiltered
// one 0.43 s (and 24.8 s against 0.84 s at 400,000). Counted in rows PostgreSQL read from data,
// not timed. (SQLite reads a page after a rowid by its rowid, whatever the filter.)
func TestExportFilteredByEventTypeReadsEachRowOnce(t *testing.T) {
	const rows = 50_000
	w := openPostgresTest(t, Options{})
	fillExportTable(t, w, "big", rows)
	db := schemaDB(t, w, "big")
	// A backend reports its statistics when it exits: close the warehouse's connections, wait
	// until they are gone, and read data's counter.
	readOfData := func(w *Warehouse) int64 {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool {
			return queryInt(t, db, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'hookhouse'`) == 0
		})
		return queryInt(t, db, `SELECT seq_tup_read + idx_tup_fetch FROM pg_stat_user_tables WHERE schemaname = 'big' AND relname = 'data'`)
	}
	for _, table := range []string{"data", LatestView} {
		before := readOfData(w)
		w = reopenTest(t, w, Options{})
		lines := &lineCounter{}
		if err := w.Export(context.Background(), "big", ExportQuery{Table: table, EventType: "opened"}, CSV, lines, nil); err != nil {
			t.Fatal(err)
		}
		if lines.n != rows { // all rows but the first, and the header
			t.Fatalf("%s of type opened: %d lines, want %d and the header", table, lines.n, rows-1)
		}
		read := readOfData(w) - before
		t.Logf("%s of type opened: %d rows read of data", table, read)
		if read > 2*rows {
			t.Errorf("%s of type opened (%d rows) read %d rows of data; want each about once", table, rows-1, read)
		}
		w = reopenTest(t, w, Options{})
	}
}

// A page of the latest versions reads about LatestReadBound rows of data, however large the
// table (fourth attacker's pass): on PostgreSQL, before statistics of a table filled at once,
// its bound was a sort of the whole table (96 to 166 ms a page at 400,000 rows), and with the
// type filter a bitmap scan and a sort of every row of the type. Counted in rows PostgreSQL
// read from data, not timed, as TestExportFilteredByEventTypeReadsEachRowOnce.
func TestLatestPageReadsBoundedRowsOnPostgres(t *testing.T) {
	const rows = 50_000
	w := openPostgresTest(t, Options{})
	// Statistics taken while it was small (autovacuum analyzes a new table soon), then filled.
	fillExportTable(t, w, "big", 3)
	db := schemaDB(t, w, "big")
	if _, err := db.Exec(`ANALYZE big.data`); err != nil {
		t.Fatal(err)
	}
	fillExportTable(t, w, "big", rows)
	readOfData := func(w *Warehouse) int64 {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool {
			return queryInt(t, db, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'hookhouse'`) == 0
		})
		return queryInt(t, db, `SELECT seq_tup_read + idx_tup_fetch FROM pg_stat_user_tables WHERE schemaname = 'big' AND relname = 'data'`)
	}
	for _, eventType := range []string{"", "opened"} {
		before := readOfData(w)
		w = reopenTest(t, w, Options{})
		page, err := w.Rows(context.Background(), "big", RowsQuery{Table: LatestView, EventType: eventType, Limit: 50})
		if err != nil || len(page.Rows) != 50 {
			t.Fatalf("type %q: %d rows, %v", eventType, len(page.Rows), err)
		}
		read := readOfData(w) - before
		t.Logf("a latest page of type %q: %d rows read of data", eventType, read)
		if read > 3*LatestReadBound {
			t.Errorf("a latest page of type %q read %d rows of data (%d in all); want about %d at most", eventType, read, rows, LatestReadBound)
		}
		w = reopenTest(t, w, Options{})
	}
}

// A download is the table as it was when it began, read in pages that hold nothing between
// them: while one is paused after its first page (a client reading slowly), a webhook brings
// new versions of keys already sent and not yet sent, a new key and a new field (on PostgreSQL
// an ALTER TABLE of data and data__tags). Before, the download's one statement held the
// table's lock on PostgreSQL until its last row was sent, and the webhook waited lock_timeout
// twice and failed (10 s); now it commits at once, and the download, once read on, is byte
// for byte the export made just before it: the same header, no new row, and in data_latest
// each key once, in its version as of the start.
func TestExportIsTheTableAsItsDownloadBegan(t *testing.T) {
	const records = 2*exportPageRows + 2000 // three pages
	for _, dest := range testDestinations {
		t.Run(dest.name, func(t *testing.T) {
			w := dest.open(t, Options{})
			ctx := context.Background()
			target := Target{PrimaryKey: "id"}
			for from := 0; from < records; from += 1000 {
				var batch []Record
				for i := from; i < from+1000; i++ {
					batch = append(batch, decodeOne(t, fmt.Sprintf(`{"id": %d, "type": "sent", "version": 1, "tags": [{"name": "t%d"}]}`, i, i)))
				}
				mustLoad(t, w, "shop", target, batch...)
			}
			for round, table := range []string{"data", LatestView, "data__tags"} {
				for _, format := range []ExportFormat{CSV, JSONLines} {
					var before bytes.Buffer
					if err := w.Export(ctx, "shop", ExportQuery{Table: table}, format, &before, nil); err != nil {
						t.Fatal(err)
					}
					out := &pausingWriter{started: make(chan struct{}), resume: make(chan struct{})}
					exported := make(chan error, 1)
					go func() { exported <- w.Export(ctx, "shop", ExportQuery{Table: table}, format, out, nil) }()
					<-out.started

					field := fmt.Sprintf("new_%d_%s", round, format)
					var arriving []Record
					for _, id := range []int{10, records - 10, records + round} { // sent, not yet sent, new
						arriving = append(arriving, decodeOne(t, fmt.Sprintf(`{"id": %d, "type": "sent", "version": 2, %q: 1, "tags": [{"name": "new", %q: 1}]}`, id, field, field)))
					}
					loaded := make(chan error, 1)
					start := time.Now()
					go func() {
						_, err := w.Load(ctx, "shop", target, arriving, time.Now())
						loaded <- err
					}()
					select {
					case err := <-loaded:
						t.Logf("%s %s: the webhook with a new field committed in %v during the download", table, format, time.Since(start).Round(time.Millisecond))
						if err != nil {
							t.Errorf("%s %s: a webhook with a new field during the download: %v", table, format, err)
						}
					case <-time.After(3 * time.Second):
						t.Errorf("%s %s: a webhook with a new field waited %v for a download paused after its first page", table, format, time.Since(start).Round(time.Millisecond))
						close(out.resume) // the download goes on, and the webhook after it
						if err := <-loaded; err != nil {
							t.Errorf("%s %s: the webhook, after %v: %v", table, format, time.Since(start).Round(time.Millisecond), err)
						}
						<-exported
						return
					}
					close(out.resume)
					if err := <-exported; err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(out.buf.Bytes(), before.Bytes()) {
						t.Errorf("%s %s: the download is not the table as it began: %d bytes, %d lines, where the export just before had %d bytes, %d lines%s",
							table, format, out.buf.Len(), bytes.Count(out.buf.Bytes(), []byte("\n")), before.Len(), bytes.Count(before.Bytes(), []byte("\n")), firstDifference(out.buf.String(), before.String()))
					}
				}
			}
		})
	}
}

// pausingWriter keeps what is written; its first write closes started and waits for resume.
type pausingWriter struct {
	buf     bytes.Buffer
	started chan struct{}
	resume  chan struct{}
	once    sync.Once
}

func (p *pausingWriter) Write(b []byte) (int, error) {
	p.once.Do(func() {
		close(p.started)
		<-p.resume
	})
	return p.buf.Write(b)
}

// firstDifference quotes the first line where got and want differ.
func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("; line %d is %.300q, was %.300q", i+1, g[i], w[i])
		}
	}
	return ""
}

// On SQLite a read keeps the WAL from being checkpointed past its snapshot. A download read
// slowly while webhooks arrive (here a load at each write to the client, 15 MB of records in
// all) held one snapshot from its first row to its last, and the WAL grew with every load (to
// 24 MB); read in pages, it holds none between them, the WAL is checkpointed and starts over
// (4.2 MB at most), and the download is still the table as it began.
func TestExportLetsTheWALBeCheckpointed(t *testing.T) {
	dir := t.TempDir()
	w := openTest(t, dir, Options{})
	ctx := context.Background()
	const rows = 20000
	pad := strings.Repeat("x", 200)
	for from := 0; from < rows; from += 1000 {
		var batch []Record
		for i := from; i < from+1000; i++ {
			batch = append(batch, decodeOne(t, fmt.Sprintf(`{"id": %d, "pad": %q}`, i, pad)))
		}
		mustLoad(t, w, "slow", Target{}, batch...)
	}
	wal := filepath.Join(dir, "slow.db-wal")
	var arriving []Record
	for i := range 100 {
		arriving = append(arriving, decodeOne(t, fmt.Sprintf(`{"id": %d, "pad": %q}`, rows+i, strings.Repeat("y", 1500))))
	}
	var loaded int
	var largest int64
	var failed error
	out := &lineCounter{}
	err := w.Export(ctx, "slow", ExportQuery{Table: "data"}, CSV, writerFunc(func(p []byte) (int, error) {
		if failed == nil && loaded < 100 {
			_, failed = w.Load(ctx, "slow", Target{}, arriving, time.Now())
			loaded++
			if fi, err := os.Stat(wal); err == nil {
				largest = max(largest, fi.Size())
			}
		}
		return out.Write(p)
	}), nil)
	if err != nil || failed != nil {
		t.Fatal(err, failed)
	}
	t.Logf("%d loads of %d records during the download; the WAL reached %.1f MB", loaded, len(arriving), float64(largest)/(1<<20))
	if loaded < 50 {
		t.Fatalf("only %d loads during the download", loaded)
	}
	if largest > 10<<20 {
		t.Errorf("the WAL grew to %.1f MB during a download while webhooks arrived: the download keeps it from being checkpointed", float64(largest)/(1<<20))
	}
	if out.n != rows+1 {
		t.Errorf("the download has %d lines, want the %d rows it began with and the header", out.n, rows)
	}
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// A key sent again and again: a page of the latest versions reads at most LatestReadBound rows
// of data, says so, and its Older link goes on, so that paging still finds every key's latest
// version once, newest first.
func TestLatestPageReadsBoundedRows(t *testing.T) {
	for _, dest := range testDestinations {
		t.Run(dest.name, func(t *testing.T) {
			ctx := context.Background()
			w := dest.open(t, Options{})
			target := Target{PrimaryKey: "id"}
			mustLoad(t, w, "vero", target, decodeOne(t, `{"id": 3, "type": "sent"}`))
			mustLoad(t, w, "vero", target, decodeOne(t, `{"id": 2, "type": "opened"}`))
			versions := make([]Record, 1000)
			for i := range versions {
				versions[i] = decodeOne(t, fmt.Sprintf(`{"id": 1, "type": "sent", "n": %d}`, i))
			}
			for range 12 { // 12,000 versions of id 1, newer than 2 and 3
				mustLoad(t, w, "vero", target, versions...)
			}

			for _, eventType := range []string{"", "sent"} {
				q := RowsQuery{Table: LatestView, EventType: eventType, Limit: 50}
				var ids []string
				pages, bounded := 0, 0
				for {
					page, err := w.Rows(ctx, "vero", q)
					if err != nil {
						t.Fatal(err)
					}
					pages++
					if page.ReadBound {
						bounded++
					}
					for _, r := range page.Rows {
						ids = append(ids, fmt.Sprint(r.Values[indexOf(page.Columns, "id")]))
					}
					if page.Next == "" {
						break
					}
					q.Before = page.Next
				}
				want := "1,2,3"
				if eventType == "sent" {
					want = "1,3"
				}
				if got := strings.Join(ids, ","); got != want {
					t.Errorf("type %q: latest versions %s over %d pages, want %s", eventType, got, pages, want)
				}
				// 12,002 (or 12,001) rows: the bound stops the first two pages, the third reads the rest.
				if pages != 3 || bounded != 2 {
					t.Errorf("type %q: %d pages, %d stopped at the read bound; want 3 and 2", eventType, pages, bounded)
				}
			}
			all, err := w.Rows(ctx, "vero", RowsQuery{Table: "data", Limit: 50})
			if err != nil || all.ReadBound || len(all.Rows) != 50 {
				t.Fatalf("data itself: %d rows, bound %v, %v", len(all.Rows), all.ReadBound, err)
			}
			// Exactly LatestReadBound rows: the page reads them all, and no Older leads to an empty page.
			for range LatestReadBound / len(versions) {
				mustLoad(t, w, "exact", target, versions...)
			}
			exact, err := w.Rows(ctx, "exact", RowsQuery{Table: LatestView, Limit: 50})
			if err != nil || len(exact.Rows) != 1 || exact.ReadBound || exact.Next != "" {
				t.Fatalf("%d rows of one key: %d latest, bound %v, next %q, %v", LatestReadBound, len(exact.Rows), exact.ReadBound, exact.Next, err)
			}
		})
	}
}
