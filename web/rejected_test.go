package web_test

import (
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/hookhouse/hookhouse/store/pgtest"
	"github.com/hookhouse/hookhouse/store/warehouse"
	"github.com/hookhouse/hookhouse/web"
)

// The rejects are a table of the Data page like the others, on both warehouses: listed with
// their count, browsed newest first with the reason, each row as JSON, downloaded as CSV and
// JSON Lines (they were listed with their count, then showed "No rows." and their downloads 404).
func TestRejectedRecordsAreBrowsedAndDownloaded(t *testing.T) {
	onBothWarehouses(t, func(t *testing.T, app *testApp) {
		c := app.signedInClient(t)
		id, hook := mustAdd(t, c, "incoming-webhooks", "Orders")
		body := `[{"id": 1, "type": "sent"}, {"id": 2, "type": "sent", "big": 92233720368547758070}]`
		if a := postWebhook(t, http.DefaultClient, http.MethodPost, hook, "application/json", []byte(body)); a.Status != http.StatusOK {
			t.Fatalf("webhook: %d %s", a.Status, a.Body)
		}
		base := "/integrations/" + itoa(id)

		// Reached as a user would: the table's link on the Data page, with a filter on.
		data := c.get(base + "/data?type=sent")
		expectStatus(t, data, http.StatusOK)
		listed := data.Doc.Find(`[data-testid="table-row"][data-table="_sdc_rejected"]`)
		if got := strings.TrimSpace(listed.Find(`[data-testid="table-rows"]`).Text()); got != "1" {
			t.Errorf("_sdc_rejected is listed with %q rows, want 1", got)
		}
		href, _ := listed.Find("a").First().Attr("href")
		page := c.get(href)
		expectStatus(t, page, http.StatusOK)
		if got := text(page, "browsed-table"); got != "_sdc_rejected" {
			t.Fatalf("%s browses %q", href, got)
		}
		var cols []string
		testID(page, "rows").Find("thead th.mono").Each(func(_ int, s *goquery.Selection) { cols = append(cols, s.Text()) })
		if got := strings.Join(cols, ","); got != "_sdc_rejected_at,table_name,reason,record" {
			t.Errorf("columns %s, want _sdc_rejected_at,table_name,reason,record", got)
		}
		rows := testID(page, "data-row")
		if rows.Length() != 1 || !strings.Contains(rows.Text(), "outside the range of bigint") || !strings.Contains(rows.Text(), "data") {
			t.Fatalf("%s: %d rows %q; want the reject with its reason", href, rows.Length(), rows.Text())
		}
		if testID(page, "event-filter").Length() != 0 || testID(page, "all-versions").Length() != 0 {
			t.Error("the rejects offer the event-type filter or the versions toggle")
		}

		str := func(v any) string { s, _ := v.(string); return s }
		row := c.get(rows.Find(`[data-testid="row-json-link"]`).AttrOr("href", ""))
		expectStatus(t, row, http.StatusOK)
		var obj map[string]any
		if err := json.Unmarshal([]byte(text(row, "row-json")), &obj); err != nil || obj["table_name"] != "data" ||
			!strings.Contains(str(obj["reason"]), "bigint") || !strings.Contains(str(obj["record"]), "92233720368547758070") {
			t.Errorf("the reject's JSON: %v %v", obj, err)
		}

		csvLink, jsonlLink := testID(page, "export-csv").AttrOr("href", ""), testID(page, "export-jsonl").AttrOr("href", "")
		for _, link := range []string{csvLink, jsonlLink} {
			if !strings.Contains(link, "table=_sdc_rejected") || strings.Contains(link, "type=") {
				t.Errorf("download link %q: want the rejects, without the type filter that does not apply to them", link)
			}
		}
		export := c.get(csvLink)
		expectStatus(t, export, http.StatusOK)
		recs, err := csv.NewReader(strings.NewReader(export.Body)).ReadAll()
		if err != nil || len(recs) != 2 || strings.Join(recs[0], ",") != "_sdc_rejected_at,table_name,reason,record" ||
			!strings.Contains(recs[1][2], "bigint") || !strings.Contains(recs[1][3], "92233720368547758070") {
			t.Errorf("CSV of the rejects (%v): %q", err, export.Body)
		}
		jsonl := c.get(jsonlLink)
		expectStatus(t, jsonl, http.StatusOK)
		var line map[string]any
		if err := json.Unmarshal([]byte(strings.TrimSpace(jsonl.Body)), &line); err != nil ||
			!strings.Contains(str(line["reason"]), "bigint") || !strings.Contains(str(line["record"]), "92233720368547758070") {
			t.Errorf("JSON Lines of the rejects (%v): %q", err, jsonl.Body)
		}

		// Paged as the other tables: 50 newer rejects fill the first page, the Older link
		// shows the first one.
		many := strings.TrimSuffix(strings.Repeat(`{"big": 92233720368547758071},`, 50), ",")
		if a := postWebhook(t, http.DefaultClient, http.MethodPost, hook, "application/json", []byte("["+many+"]")); a.Status != http.StatusOK {
			t.Fatalf("webhook: %d %s", a.Status, a.Body)
		}
		page = c.get(href)
		older := testID(page, "page-older").AttrOr("href", "")
		if n := testID(page, "data-row").Length(); n != 50 || !strings.Contains(older, "table=_sdc_rejected") || strings.Contains(older, "type=") {
			t.Fatalf("with 51 rejects: %d rows, older link %q", n, older)
		}
		last := c.get(older)
		expectStatus(t, last, http.StatusOK)
		if rows := testID(last, "data-row"); rows.Length() != 1 || !strings.Contains(rows.Text(), "92233720368547758070") {
			t.Errorf("the older page: %d rows %q; want the first reject", rows.Length(), rows.Text())
		}
	})
}

// When every record so far was rejected (a primary key the events lack), the Data page shows
// the rejects and why, not "No tables yet".
func TestDataShowsTheRejectsBeforeAnyRow(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	added := addIntegration(t, c, "incoming-webhooks", url.Values{"name": {"Orders"}, "primary_key": {"order_id"}})
	hook := revealedURL(t, c, added.Header.Get("Location"))
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, hook, "application/json", []byte(`{"id": 1}`)); a.Status != http.StatusOK {
		t.Fatalf("webhook: %d %s", a.Status, a.Body)
	}
	data := c.get("/integrations/1/data")
	expectStatus(t, data, http.StatusOK)
	if testID(data, "data-empty").Length() != 0 {
		t.Fatal(`the Data page says "No tables yet" beside a reject`)
	}
	if got := text(data, "browsed-table"); got != "_sdc_rejected" {
		t.Errorf("the page browses %q, want _sdc_rejected", got)
	}
	if rows := testID(data, "data-row"); rows.Length() != 1 || !strings.Contains(rows.Text(), `primary key "order_id" is missing`) {
		t.Errorf("%d rows %q; want the reject with its reason", rows.Length(), rows.Text())
	}
}

// A query string no stored value can match (bytes that are not UTF-8, a NUL) is refused with 400,
// saying what is wrong, on both warehouses; PostgreSQL refused to compare such text, and the
// pages answered 5xx as if the warehouse were failing; later the Data page echoed the NUL raw
// into its HTML.
func TestDataFiltersThatNoTextMatches(t *testing.T) {
	onBothWarehouses(t, func(t *testing.T, app *testApp) {
		c := app.signedInClient(t)
		id, hook := mustAdd(t, c, "vero", "Stitch Vero")
		if a := postWebhook(t, http.DefaultClient, http.MethodPost, hook, "application/json", []byte(`{"type":"sent"}`)); a.Status != http.StatusOK {
			t.Fatalf("webhook: %d %s", a.Status, a.Body)
		}
		base := "/integrations/" + itoa(id)
		for _, path := range []string{
			base + "/data?type=%ff",
			base + "/data?type=a%00b",
			base + "/export?format=csv&table=data&type=%ff",
			base + "/export?format=jsonl&table=data&type=%00",
			base + "/data?table=%ff",
			base + "/data?table=d%00ata",
			base + "/export?format=jsonl&table=%ff",
		} {
			p := c.get(path)
			if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "a NUL character or bytes that are not UTF-8") {
				t.Errorf("%s: %d, want 400 saying what is wrong: %.300s", path, p.Status, p.Body)
			}
			if strings.ContainsRune(p.Body, 0) || strings.Contains(p.Body, `"sent"`) {
				t.Errorf("%s echoes a NUL or shows a row: %.300q", path, p.Body)
			}
		}
	})
}

// onBothWarehouses runs test against an app whose warehouse is the SQLite files, then a PostgreSQL
// database: what a user sees must not depend on it.
func onBothWarehouses(t *testing.T, test func(t *testing.T, app *testApp)) {
	for name, on := range map[string]func(*testing.T) testDatabases{
		"sqlite":   func(*testing.T) testDatabases { return testDatabases{} },
		"postgres": func(t *testing.T) testDatabases { return testDatabases{Warehouse: pgtest.Start(t)} },
	} {
		t.Run(name, func(t *testing.T) {
			test(t, newTestAppOn(t, on(t), slog.LevelDebug, warehouse.Options{}, web.Config{}))
		})
	}
}
