package web_test

import (
	"encoding/csv"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/hookhouse/hookhouse/store/pgtest"
	"github.com/hookhouse/hookhouse/store/warehouse"
	"github.com/hookhouse/hookhouse/web"
)

// Someone points Vero at a new integration and wants to know, without a terminal, whether
// events arrive, what they look like and what was rejected and why.
// The journey runs on the embedded SQLite files and once on a PostgreSQL warehouse.
func TestJourneyWhatArrived(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { journeyWhatArrived(t, newTestApp(t), os.Getenv("HOOKHOUSE_SCREENSHOTS")) })
	t.Run("postgres", func(t *testing.T) {
		journeyWhatArrived(t, newTestAppOn(t, testDatabases{Warehouse: pgtest.Start(t)}, slog.LevelDebug, warehouse.Options{}, web.Config{}), "")
	})
}

func journeyWhatArrived(t *testing.T, app *testApp, shots string) {
	b := newBrowser(t, app)

	b.setupOwner()
	b.click(`[data-testid="add-integration"]`)
	b.expectPath("/integrations/new")
	b.click(`[data-testid="source-vero"]`)
	b.expectPath("/integrations/new/vero")
	b.fill("#name", "Stitch Vero")
	b.submit(`[data-testid="save-integration"]`)
	b.expectPath("/integrations/1/webhook-url")
	hookURL := b.text(`[data-testid="webhook-url"]`)
	b.click(`[data-testid="continue"]`)
	b.expectPath("/integrations/1")
	if got := b.text(`[data-testid="status"]`); got != "Waiting for first event" {
		t.Fatalf("a new integration's status: %q", got)
	}

	// The provider sends a sent, an opened and a malformed body to the copied URL.
	for _, body := range [][]byte{fixture(t, "vero/sent.json"), fixture(t, "vero/opened.json")} {
		if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", body); a.Status != http.StatusOK {
			t.Fatalf("POST to the copied URL: %d %s", a.Status, a.Body)
		}
	}
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(`{"type": "clicked", "user": }`)); a.Status != http.StatusBadRequest {
		t.Fatalf("malformed body: %d %s", a.Status, a.Body)
	}
	app.flush(t)

	// The integration page counts them (issue 4: "see it counted on the integration page").
	b.do("reload", chromedp.Reload())
	if today, total := b.text(`[data-testid="rows-today"]`), b.text(`[data-testid="rows-total"]`); today != "2" || total != "2" {
		t.Fatalf("integration page: %s rows today, %s in data; want 2 and 2", today, total)
	}
	if shots != "" {
		b.screenshot(shots + "/integration-overview.png")
	}

	// The overview: 2 rows today and a bar in the chart.
	b.click(`nav a[href="/integrations"]`)
	b.expectPath("/integrations")
	if got := b.text(`[data-testid="integration-row"] [data-testid="rows-today"]`); got != "2" {
		t.Fatalf("overview shows %s rows today", got)
	}
	if !b.exists(`[data-testid="integration-row"] [data-testid="chart-bar"]`) {
		t.Fatal("no bar in the overview chart")
	}
	if got := b.text(`[data-testid="integration-row"] [data-testid="last-table"]`); got != "data" {
		t.Fatalf("last table loaded: %q", got)
	}
	if shots != "" {
		b.screenshot(shots + "/overview.png")
	}

	// Extraction Logs: the rejected request, with its reason; the accepted one's body.
	b.navigate("/integrations/1")
	b.click(`[data-testid="tab-extraction-logs"]`)
	b.expectPath("/integrations/1/extraction-logs")
	if got := b.text(`[data-testid="log-row"]:first-child [data-testid="log-reason"]`); !strings.Contains(got, "Nothing was stored") {
		t.Fatalf("the rejected request's reason: %q", got)
	}
	if shots != "" {
		b.screenshot(shots + "/extraction-logs.png")
	}
	b.click(`[data-testid="log-row"]:nth-child(2) [data-testid="log-body-link"]`)
	b.expectPath("/integrations/1/extraction-logs/2")
	if got := b.text(`[data-testid="request-body"]`); !strings.Contains(got, `"type": "opened"`) {
		t.Fatalf("the opened request's body: %q", got)
	}

	// Loading Reports: the columns the first batch added, with their types.
	b.click(`[data-testid="tab-loading-reports"]`)
	b.expectPath("/integrations/1/loading-reports")
	cols := run(b, "read all columns added", chromedp.Evaluate[string](`[...document.querySelectorAll('[data-testid="report-columns"]')].map(e => e.textContent).join(" ")`))
	for _, want := range []string{"data.type", "data.campaign__triggerevent", "data.sent_at", "data.opened_at", "integer"} {
		if !strings.Contains(cols, want) {
			t.Fatalf("columns added lack %q: %s", want, cols)
		}
	}
	if shots != "" {
		b.screenshot(shots + "/loading-reports.png")
	}

	// Data: the two rows, and a row's JSON.
	b.click(`[data-testid="tab-data"]`)
	b.expectPath("/integrations/1/data")
	if n := run(b, "count rows", chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="data-row"]').length`)); n != 2 {
		t.Fatalf("Data shows %d rows, want 2", n)
	}
	if shots != "" {
		b.screenshot(shots + "/data.png")
	}
	tool := "sqlite3 -readonly"
	if app.Warehouse.Location("stitch_vero").PostgresURL != "" {
		tool = "psql 'postgres://"
	}
	if got := b.text(`[data-testid="sqlite-snippet"]`); !strings.HasPrefix(got, tool) {
		t.Fatalf("the snippet to open the data does not start with %s: %s", tool, got)
	}
	b.click(`[data-testid="data-row"]:first-child [data-testid="row-json-link"]`)
	b.do("wait for the row", chromedp.WaitVisible(chromedp.CSS(`[data-testid="row-json"]`)))
	if got := b.text(`[data-testid="row-json"]`); !strings.Contains(got, `"type": "opened"`) || !strings.Contains(got, `"campaign__triggerevent": "purchased item"`) {
		t.Fatalf("row JSON: %s", got)
	}

	// Export: the CSV downloads and holds both rows.
	b.click(`[data-testid="tab-data"]`)
	b.expectPath("/integrations/1/data")
	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(b.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads,
	}); err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	b.click(`[data-testid="export-csv"]`)
	file := filepath.Join(downloads, "stitch_vero.data.csv")
	deadline := time.Now().Add(actionTimeout)
	var csvBytes []byte
	for {
		var err error
		if csvBytes, err = os.ReadFile(file); err == nil && len(csvBytes) > 0 {
			break
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(downloads)
			t.Fatalf("no %s downloaded (folder holds %v)", file, entries)
		}
		time.Sleep(100 * time.Millisecond)
	}
	recs, err := csv.NewReader(strings.NewReader(string(csvBytes))).ReadAll()
	if err != nil || len(recs) != 3 {
		t.Fatalf("downloaded CSV (%v): %q", err, csvBytes)
	}
	if s := string(csvBytes); !strings.Contains(s, "sent") || !strings.Contains(s, "opened") {
		t.Fatalf("downloaded CSV lacks the events: %s", s)
	}
}
