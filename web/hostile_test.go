package web_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookhouse/hookhouse/store"
	"github.com/hookhouse/hookhouse/store/warehouse"
	"github.com/hookhouse/hookhouse/web"
)

// hostileBody is a body a stranger (or a broken sender) might post.
type hostileBody struct {
	name        string
	contentType string
	body        func() []byte
	status      int
	says        string // in the JSON error (4xx)
	loaded      int    // 200: records loaded
	rejected    int    // 200: records sent to _sdc_rejected
	check       string // 200: an SQL query on the schema file that must return 1
}

func manyKeys(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"id":1`)
	for i := range n {
		fmt.Fprintf(&b, `,"k%d":%d`, i, i)
	}
	b.WriteString("}")
	return b.Bytes()
}

func tinyObjects(n int) []byte {
	b := append([]byte{'['}, bytes.Repeat([]byte(`{},`), n)...)
	b[len(b)-1] = ']'
	return b
}

func hugeArray(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"id":1,"list":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%d", i)
	}
	b.WriteString("]}")
	return b.Bytes()
}

// hostileBodies are tried against one integration without a primary key, in order.
var hostileBodies = []hostileBody{
	{name: "20 MiB + 1 byte", contentType: "application/json", status: 413, says: "limit",
		body: func() []byte { return []byte(`{"pad":"` + strings.Repeat("x", 20<<20+1-len(`{"pad":""}`)) + `"}`) }},
	{name: "10,000-deep nesting", contentType: "application/json", status: 400, says: "deeper than",
		body: func() []byte { return []byte(strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)) }},
	{name: "10,000-deep arrays", contentType: "application/json", status: 400, says: "deeper than",
		body: func() []byte { return []byte(`{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + "}") }},
	{name: "invalid UTF-8", contentType: "application/json", status: 400, says: "UTF-8",
		body: func() []byte { return []byte("{\"name\":\"caf\xe9\"}") }},
	{name: "raw NUL byte", contentType: "application/json", status: 400, says: "invalid JSON",
		body: func() []byte { return []byte("{\"name\":\"a\x00b\"}") }},
	{name: "trailing garbage", contentType: "application/json", status: 400, says: "after the JSON value",
		body: func() []byte { return []byte(`{"a":1} {"b":2}`) }},
	{name: "a bare string", contentType: "application/json", status: 400, says: "not an object",
		body: func() []byte { return []byte(`"x"`) }},
	{name: "form with invalid UTF-8", contentType: "application/x-www-form-urlencoded", status: 400, says: "UTF-8",
		body: func() []byte { return []byte("name=caf%E9") }},
	{name: "XML", contentType: "application/xml", status: 415, says: "application/json",
		body: func() []byte { return []byte(`<a/>`) }},
	{name: "bad content type", contentType: "application/json; charset", status: 415, says: "unsupported",
		body: func() []byte { return []byte(`{}`) }},

	{name: "escaped NUL in a key", contentType: "application/json", status: 200, loaded: 1,
		body:  func() []byte { return []byte(`{"nul\u0000key":"a"}`) },
		check: `SELECT COUNT(*) = 1 FROM data WHERE nulkey = 'a'`},
	{name: "escaped NUL in a value (PostgreSQL's text cannot hold it)", contentType: "application/json", status: 200, rejected: 1,
		body:  func() []byte { return []byte(`{"v":"a\u0000b"}`) },
		check: `SELECT COUNT(*) = 1 FROM _sdc_rejected WHERE reason LIKE '%NUL character%'`},
	{name: "keys that clash in SQLite's case-insensitive names: a field collision", contentType: "application/json", status: 200, rejected: 1,
		body:  func() []byte { return []byte(`{"Email":"a","email":"b","EMAIL":"c","e-mail":"d"}`) },
		check: `SELECT COUNT(*) = 1 FROM _sdc_rejected WHERE reason LIKE 'Field collision on %'`},
	{name: "SQL keywords, quotes and brackets as keys", contentType: "application/json", status: 200, loaded: 1,
		body: func() []byte {
			return []byte(`{"select":1,"from":2,"table":3,"\"quoted\"":4,"[bracket]":5,"back` + "`" + `tick":6,"'; DROP TABLE data; --":7,"order by":8}`)
		},
		check: `SELECT COUNT(*) = 1 FROM data WHERE "select" = 1 AND "from" = 2 AND "table" = 3 AND quoted = 4 AND bracket = 5 AND backtick = 6 AND "DROP TABLE data" = 7 AND "order by" = 8`},
	{name: "integers beyond bigint", contentType: "application/json", status: 200, rejected: 1,
		body:  func() []byte { return []byte(`{"big":92233720368547758070,"neg":-92233720368547758070}`) },
		check: `SELECT COUNT(*) = 1 FROM _sdc_rejected WHERE reason LIKE '%outside the range of bigint%'`},
	{name: "numbers beyond float64", contentType: "application/json", status: 200, rejected: 1,
		body:  func() []byte { return []byte(`{"huge":1e400}`) },
		check: `SELECT COUNT(*) = 1 FROM _sdc_rejected WHERE reason LIKE '%1e400%'`},
	{name: "duplicate keys", contentType: "application/json", status: 200, loaded: 1,
		body:  func() []byte { return []byte(`{"dup":"first","dup":"second"}`) },
		check: `SELECT COUNT(*) = 1 FROM data WHERE dup = 'second'`},
	{name: "100,000 keys in one object", contentType: "application/json", status: 200, rejected: 1,
		body:  func() []byte { return manyKeys(100000) },
		check: `SELECT COUNT(*) = 1 FROM _sdc_rejected WHERE reason LIKE '%columns%'`},
	{name: "huge array (100,000 elements, the limit)", contentType: "application/json", status: 200, loaded: 1,
		body:  func() []byte { return hugeArray(warehouse.MaxRows) },
		check: `SELECT COUNT(*) = 100000 FROM data__list`},
	{name: "huge array (100,001 elements)", contentType: "application/json", status: 400, says: "more than the 100000",
		body: func() []byte { return hugeArray(warehouse.MaxRows + 1) }},
	{name: "100,000 tiny objects (the limit)", contentType: "application/json", status: 200, loaded: 100000,
		body:  func() []byte { return tinyObjects(warehouse.MaxRows) },
		check: `SELECT COUNT(*) >= 100000 FROM data`},
	{name: "1 million tiny objects", contentType: "application/json", status: 400, says: "more than the 100000",
		body: func() []byte { return tinyObjects(1000000) }},
	{name: "7 million tiny objects (over 20 MiB)", contentType: "application/json", status: 413, says: "limit",
		body: func() []byte { return tinyObjects(7 << 20) }},
}

func TestHostileBodies(t *testing.T) {
	if testing.Short() {
		t.Skip("hostile bodies take several seconds")
	}
	app := newTestApp(t)
	c := app.signedInClient(t)
	_, hookURL := mustAdd(t, c, "incoming-webhooks", "Hostile")
	token := tokenOf(t, hookURL)
	client := &http.Client{Timeout: 2 * time.Minute}
	if a := postWebhook(t, client, http.MethodPost, hookURL, "application/json", []byte(`{"first":1}`)); a.Status != http.StatusOK {
		t.Fatalf("first event: %d %s", a.Status, a.Body)
	}
	db := warehouseDB(t, app, "hostile")
	counts := func() (int64, int64) {
		return queryInt(t, db, "SELECT COUNT(*) FROM data"), queryInt(t, db, "SELECT COUNT(*) FROM _sdc_rejected")
	}

	for _, tc := range hostileBodies {
		body := tc.body()
		dataBefore, rejBefore := counts()
		var mem runtime.MemStats
		runtime.ReadMemStats(&mem)
		heapBefore := mem.TotalAlloc
		start := time.Now()
		a := postWebhook(t, client, http.MethodPost, hookURL, tc.contentType, body)
		took := time.Since(start)
		runtime.ReadMemStats(&mem)
		t.Logf("%-40s %9d bytes -> %d in %v, %d MiB allocated", tc.name, len(body), a.Status, took.Round(time.Millisecond), (mem.TotalAlloc-heapBefore)>>20)
		if a.Status != tc.status {
			t.Errorf("%s: status %d, want %d: %.300s", tc.name, a.Status, tc.status, a.Body)
			continue
		}
		dataAfter, rejAfter := counts()
		if tc.status != http.StatusOK {
			if msg, _ := a.JSON["error"].(string); !strings.Contains(msg, tc.says) {
				t.Errorf("%s: error %q does not say %q", tc.name, msg, tc.says)
			}
			if dataAfter != dataBefore || rejAfter != rejBefore {
				t.Errorf("%s: refused with %d but stored %d rows and %d rejects", tc.name, a.Status, dataAfter-dataBefore, rejAfter-rejBefore)
			}
			continue
		}
		if a.JSON["records"] != float64(tc.loaded) || a.JSON["rejected"] != float64(tc.rejected) {
			t.Errorf("%s: answered %s, want %d records and %d rejected", tc.name, a.Body, tc.loaded, tc.rejected)
		}
		if dataAfter-dataBefore != int64(tc.loaded) || rejAfter-rejBefore != int64(tc.rejected) {
			t.Errorf("%s: data grew by %d and _sdc_rejected by %d, want %d and %d", tc.name, dataAfter-dataBefore, rejAfter-rejBefore, tc.loaded, tc.rejected)
		}
		if queryInt(t, db, tc.check) != 1 {
			t.Errorf("%s: %s is false", tc.name, tc.check)
		}
	}

	// The table is still usable: a plain event loads, and data has no more columns than the bound.
	if a := postWebhook(t, client, http.MethodPost, hookURL, "application/json", []byte(`{"last":1}`)); a.Status != http.StatusOK || a.JSON["records"] != 1.0 {
		t.Fatalf("a plain event after the hostile ones: %d %s", a.Status, a.Body)
	}
	if n := queryInt(t, db, "SELECT COUNT(*) FROM pragma_table_info('data')"); n > warehouse.DefaultMaxColumns {
		t.Fatalf("data has %d columns, beyond the bound of %d", n, warehouse.DefaultMaxColumns)
	}
	t.Logf("hostile bodies tried: %d", len(hostileBodies))
	if strings.Contains(app.Logs.String(), token) {
		t.Fatal("the token reached the logs")
	}
}

// The column bound is a setting: beyond it a record goes to _sdc_rejected with the reason,
// and the rest of the request still loads.
func TestColumnBoundRejectsTheRecordNotTheRequest(t *testing.T) {
	app := newTestAppWith(t, warehouse.Options{MaxColumns: 20}, web.Config{})
	c := app.signedInClient(t)
	_, hookURL := mustAdd(t, c, "incoming-webhooks", "Narrow")
	body := []byte(`[{"id":1,"a":1},` + string(manyKeys(30)) + `,{"id":3,"b":2}]`)
	a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", body)
	if a.Status != http.StatusOK || a.JSON["records"] != 2.0 || a.JSON["rejected"] != 1.0 {
		t.Fatalf("%d %s: want 2 records loaded and 1 rejected", a.Status, a.Body)
	}
	db := warehouseDB(t, app, "narrow")
	var reason string
	if err := db.QueryRow("SELECT reason FROM _sdc_rejected").Scan(&reason); err != nil || !strings.Contains(reason, "20") {
		t.Fatalf("reject reason %q (%v) does not name the bound", reason, err)
	}
	if n := queryInt(t, db, "SELECT COUNT(*) FROM pragma_table_info('data')"); n > 20 {
		t.Fatalf("data has %d columns, bound 20", n)
	}
}

// An unwritable warehouse file answers 503 with a JSON error and Retry-After (never 200),
// the Extraction Logs say why, and the next request after the fault is fixed loads. (The
// binary's full-disk test covers a disk that fills up; this runs without root.)
func TestUnwritableWarehouseAnswers503ThenRecovers(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	id, hookURL := mustAdd(t, c, "incoming-webhooks", "Blocked")
	path := filepath.Join(app.DataDir, "warehouse", "blocked.db")
	if err := os.Mkdir(path, 0o755); err != nil { // a directory where the file should be: no user can write it
		t.Fatal(err)
	}
	a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(`{"id":1}`))
	if a.Status != http.StatusServiceUnavailable || a.Header.Get("Retry-After") == "" || !strings.Contains(fmt.Sprint(a.JSON["error"]), "could not store") {
		t.Fatalf("unwritable warehouse: %d (Retry-After %q) %s", a.Status, a.Header.Get("Retry-After"), a.Body)
	}
	if err := app.Store.FlushActivity(t.Context()); err != nil {
		t.Fatal(err)
	}
	logs, err := app.Store.ExtractionLogs(t.Context(), 1, id, store.LogFilter{}, 0, 10)
	if err != nil || len(logs) != 1 || logs[0].Status != http.StatusServiceUnavailable || !strings.Contains(logs[0].Error, "could not store") {
		t.Fatalf("extraction logs after the 503: %+v %v", logs, err)
	}
	// The dashboard says so: the integration's status and its Extraction Logs page.
	if got := strings.TrimSpace(testID(c.get("/integrations"), "status").Text()); got != "Errors in the last hour" {
		t.Errorf("integration status after the 503: %q", got)
	}
	if p := c.get(fmt.Sprintf("/integrations/%d/extraction-logs", id)); !strings.Contains(p.Body, "could not store") {
		t.Errorf("the Extraction Logs page does not show the reason: %.800s", p.Body)
	}
	// The banner: still failing, though the warehouse's folder is there (nothing to ping); the
	// pages that read the file say it cannot be read, with a 503 rather than a 500.
	if b := testID(c.get("/integrations"), "warehouse-problem").Text(); !strings.Contains(b, "cannot store webhooks") || strings.Contains(b, "answers again") {
		t.Errorf("while the file cannot be written, the banner reads %q", b)
	}
	for _, page := range []string{fmt.Sprintf("/integrations/%d", id), fmt.Sprintf("/integrations/%d/data", id)} {
		if p := c.get(page); p.Status != http.StatusServiceUnavailable || !strings.Contains(p.Body, "could not be read") {
			t.Errorf("while the file cannot be read, %s answers %d: %.300s", page, p.Status, p.Body)
		}
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(`{"id":2}`)); a.Status != http.StatusOK {
		t.Fatalf("after the fault is fixed: %d %s", a.Status, a.Body)
	}
	if n := queryInt(t, warehouseDB(t, app, "blocked"), "SELECT COUNT(*) FROM data"); n != 1 {
		t.Fatalf("data has %d rows, want only the acknowledged one", n)
	}
}

// A sender with a valid URL posting bodies that are refused (each logged with 64 KiB of it)
// cannot grow hookhouse.db past the Extraction Logs' byte bound; the newest refusals stay
// visible and every one is counted.
func TestRefusedBodiesCannotFillTheDisk(t *testing.T) {
	app := newTestApp(t)
	const bound = 1 << 20
	app.Store.SetRetention(store.Retention{MaxAge: store.DefaultRetention.MaxAge, MaxPerIntegration: store.DefaultRetention.MaxPerIntegration, MaxBytesPerIntegration: bound})
	c := app.signedInClient(t)
	id, hookURL := mustAdd(t, c, "incoming-webhooks", "Orders")
	dbFile := filepath.Join(app.DataDir, "hookhouse.db")
	before, err := os.Stat(dbFile)
	if err != nil {
		t.Fatal(err)
	}

	const senders, each = 8, 30
	body := bytes.Repeat([]byte("x"), 70_000) // not JSON
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	var wg sync.WaitGroup
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if a := postWebhook(t, client, http.MethodPost, hookURL, "application/json", body); a.Status != http.StatusBadRequest {
					t.Errorf("a body that is not JSON: %d %s", a.Status, a.Body)
				}
			}
		}()
	}
	wg.Wait()
	app.flush(t)
	db, err := sql.Open("sqlite", "file:"+dbFile+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// What the WAL holds goes into the file, so its size is what the logs take.
	if _, err := db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(dbFile)
	if err != nil {
		t.Fatal(err)
	}
	kept := queryInt(t, db, "SELECT COALESCE(SUM(length(body)), 0) FROM webhook_requests WHERE integration_id = ?", id)
	t.Logf("%d refused bodies of %d bytes, a bound of %d: %d bytes of bodies kept; hookhouse.db %d -> %d bytes",
		senders*each, len(body), bound, kept, before.Size(), after.Size())
	if kept > bound {
		t.Errorf("the logs keep %d bytes of bodies, over the bound of %d", kept, bound)
	}
	if grown := after.Size() - before.Size(); grown > bound+bound/2 {
		t.Errorf("hookhouse.db grew by %d bytes for a bound of %d", grown, bound)
	}
	if n := queryInt(t, db, "SELECT SUM(errors) FROM hourly_activity WHERE integration_id = ?", id); n != senders*each {
		t.Errorf("%d refusals counted, want %d", n, senders*each)
	}
	logs := c.get(fmt.Sprintf("/integrations/%d/extraction-logs", id))
	expectStatus(t, logs, http.StatusOK)
	if !strings.Contains(logs.Body, "invalid JSON") {
		t.Errorf("the Extraction Logs show no refusal: %.500s", logs.Body)
	}
}
