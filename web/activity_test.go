package web_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/hookhouse/hookhouse/store"
	"github.com/hookhouse/hookhouse/store/pgtest"
	"github.com/hookhouse/hookhouse/store/warehouse"
	"github.com/hookhouse/hookhouse/web"
)

// flush waits for the activity recorder, so logs and reports are readable.
func (a *testApp) flush(t *testing.T) {
	t.Helper()
	if err := a.Store.FlushActivity(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func text(p response, id string) string { return strings.TrimSpace(testID(p, id).First().Text()) }

func TestActivityPagesBeforeAnythingArrives(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	id, _ := mustAdd(t, c, "vero", "Stitch Vero")
	base := fmt.Sprintf("/integrations/%d", id)

	list := c.get("/integrations")
	expectStatus(t, list, http.StatusOK)
	if got := text(list, "status"); got != "Waiting for first event" {
		t.Errorf("list status %q", got)
	}
	if text(list, "rows-today") != "0" || text(list, "last-rows") != "Never" || testID(list, "chart-bar").Length() != 0 {
		t.Errorf("list row of a new integration: %q", testID(list, "integration-row").Text())
	}
	if testID(list, "activity-chart").Length() != 1 {
		t.Error("no chart in the list row")
	}

	p := c.get(base)
	expectStatus(t, p, http.StatusOK)
	if text(p, "rows-today") != "0" || text(p, "rows-total") != "0" || testID(p, "waiting").Length() != 1 {
		t.Errorf("overview of a new integration: %q", testID(p, "integration-stats").Text())
	}
	for path, empty := range map[string]string{
		base + "/extraction-logs": "logs-empty",
		base + "/loading-reports": "reports-empty",
		base + "/data":            "data-empty",
	} {
		p := c.get(path)
		expectStatus(t, p, http.StatusOK)
		if testID(p, empty).Length() != 1 {
			t.Errorf("%s has no %s; body %.300s", path, empty, p.Body)
		}
	}
	expectStatus(t, c.get(base+"/export?table=data&format=csv"), http.StatusNotFound)
	// No file exists yet: a sqlite3 snippet would only say "unable to open database".
	if n := testID(c.get(base+"/data"), "sqlite-snippet").Length(); n != 0 {
		t.Errorf("Data offers %d snippets to open a warehouse file that does not exist yet", n)
	}
}

// A Vero sent, an opened and a malformed body: every page tells what happened.
func TestActivityPagesShowWhatArrived(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	id, hookURL := mustAdd(t, c, "vero", "Stitch Vero")
	token := tokenOf(t, hookURL)
	base := fmt.Sprintf("/integrations/%d", id)
	client := &http.Client{}
	for _, body := range [][]byte{fixture(t, "vero/sent.json"), fixture(t, "vero/opened.json")} {
		if a := postWebhook(t, client, http.MethodPost, hookURL, "application/json", body); a.Status != http.StatusOK {
			t.Fatalf("post: %d %s", a.Status, a.Body)
		}
	}
	if a := postWebhook(t, client, http.MethodPost, hookURL, "application/json", []byte(`{"type": "clicked",}`)); a.Status != http.StatusBadRequest {
		t.Fatalf("malformed: %d %s", a.Status, a.Body)
	}
	app.flush(t)

	list := c.get("/integrations")
	if text(list, "rows-today") != "2" || testID(list, "chart-bar").Length() != 1 || text(list, "last-table") != "data" {
		t.Errorf("list row: %q", testID(list, "integration-row").Text())
	}
	if got := text(list, "status"); got != "Errors in the last hour" {
		t.Errorf("status with a refused request in the last hour: %q", got)
	}
	if got := text(list, "last-rows"); got != "just now" {
		t.Errorf("last rows received: %q", got)
	}
	if title, _ := testID(list, "last-rows").Find("time").Attr("title"); !strings.HasSuffix(title, " UTC") {
		t.Errorf("no exact time on hover: %q", title)
	}
	if d, _ := testID(list, "chart-bar").Attr("d"); !strings.HasSuffix(d, "v-36h8v36z") {
		t.Errorf("the only busy hour's bar is %q, want the full 36 high", d)
	}
	if tip := testID(list, "activity-chart").Find("title").First().Text(); !strings.HasSuffix(tip, "  2 rows") {
		t.Errorf("the list's chart says %q on hover", tip)
	}

	overview := c.get(base)
	if h, _ := testID(overview, "chart-bar").Attr("height"); h != "36" {
		t.Errorf("the only busy hour's bar is %s high, want the full 36", h)
	}
	if text(overview, "rows-today") != "2" || text(overview, "rows-total") != "2" || testID(overview, "chart-bar").Length() != 1 {
		t.Errorf("overview: %q", testID(overview, "integration-stats").Text())
	}

	logs := c.get(base + "/extraction-logs")
	expectStatus(t, logs, http.StatusOK)
	rows := testID(logs, "log-row")
	if rows.Length() != 3 {
		t.Fatalf("%d log rows, want 3", rows.Length())
	}
	newest := rows.First()
	if got := strings.TrimSpace(newest.Find(`[data-testid="log-reason"]`).Text()); !strings.Contains(got, "Nothing was stored") {
		t.Errorf("the malformed request's reason: %q", got)
	}
	if got := newest.Find(`[data-testid="log-result"]`).Text(); !strings.Contains(got, "Refused") || !strings.Contains(got, "400") {
		t.Errorf("the malformed request's result: %q", got)
	}
	if got := rows.Eq(1).Find(`[data-testid="log-result"]`).Text(); !strings.Contains(got, "Accepted") {
		t.Errorf("the opened request's result: %q", got)
	}
	if !strings.Contains(rows.Eq(1).Text(), "127.0.0.1") || !strings.Contains(rows.Eq(1).Text(), "Go-http-client") || !strings.Contains(rows.Eq(1).Text(), "application/json") {
		t.Errorf("the log row lacks IP, User-Agent or content type: %q", rows.Eq(1).Text())
	}
	href, _ := rows.Eq(1).Find(`[data-testid="log-body-link"]`).Attr("href")
	body := c.get(href)
	expectStatus(t, body, http.StatusOK)
	pretty := testID(body, "request-body").Text()
	if !strings.Contains(pretty, "\n  \"type\": \"opened\",\n") {
		t.Errorf("the body is not pretty-printed JSON:\n%s", pretty)
	}

	reports := c.get(base + "/loading-reports")
	expectStatus(t, reports, http.StatusOK)
	if testID(reports, "report-row").Length() == 0 {
		t.Fatal("no loading report")
	}
	all := testID(reports, "report-columns").Text()
	for _, want := range []string{"data.type", "data.campaign__triggerevent", "data.opened_at", "integer", "string"} {
		if !strings.Contains(all, want) {
			t.Errorf("columns added lack %q: %q", want, all)
		}
	}
	if got := testID(reports, "report-rows").Text(); !strings.Contains(got, "data") {
		t.Errorf("rows per table: %q", got)
	}

	data := c.get(base + "/data")
	expectStatus(t, data, http.StatusOK)
	if got := data.Doc.Find(`[data-testid="table-row"][data-table="data"] [data-testid="table-rows"]`).Text(); strings.TrimSpace(got) != "2" {
		t.Errorf("data row count: %q", got)
	}
	if data.Doc.Find(`[data-testid="table-row"][data-table="_sdc_rejected"]`).Length() != 1 {
		t.Error("_sdc_rejected is not listed")
	}
	if testID(data, "data-row").Length() != 2 || testID(data, "event-filter").Length() != 1 {
		t.Fatalf("data rows: %d, filter %d", testID(data, "data-row").Length(), testID(data, "event-filter").Length())
	}
	if testID(data, "column").Length() == 0 {
		t.Error("no columns listed")
	}
	sent := c.get(base + "/data?table=data&type=sent")
	if testID(sent, "data-row").Length() != 1 {
		t.Errorf("type=sent shows %d rows", testID(sent, "data-row").Length())
	}
	// Its download follows the filter (issue 15).
	download, _ := testID(sent, "export-csv").Attr("href")
	if recs, err := csv.NewReader(strings.NewReader(c.get(download).Body)).ReadAll(); err != nil || len(recs) != 2 {
		t.Errorf("the CSV of type=sent (%s): %v, %d lines; want the header and 1 row", download, err, len(recs))
	}
	href, _ = testID(data, "row-json-link").First().Attr("href")
	row := c.get(href)
	expectStatus(t, row, http.StatusOK)
	var obj map[string]any
	if err := json.Unmarshal([]byte(testID(row, "row-json").Text()), &obj); err != nil || obj["type"] != "opened" {
		t.Errorf("row JSON: %v %v", obj, err)
	}
	if snippet := text(data, "sqlite-snippet"); !strings.Contains(snippet, "sqlite3 -readonly") || !strings.Contains(snippet, "stitch_vero.db") {
		t.Errorf("snippet: %q", snippet)
	}

	export := c.get(base + "/export?table=data&format=csv")
	expectStatus(t, export, http.StatusOK)
	if cd := export.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename="stitch_vero.data.csv"`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	recs, err := csv.NewReader(strings.NewReader(export.Body)).ReadAll()
	if err != nil || len(recs) != 3 || !strings.Contains(export.Body, "opened") || !strings.Contains(export.Body, "sent") {
		t.Errorf("CSV export (%v): %q", err, export.Body)
	}
	jsonl := c.get(base + "/export?table=data&format=jsonl")
	if lines := strings.Split(strings.TrimSpace(jsonl.Body), "\n"); jsonl.Status != http.StatusOK || len(lines) != 2 {
		t.Errorf("JSON Lines export: %d %q", jsonl.Status, jsonl.Body)
	}
	expectStatus(t, c.get(base+"/export?table=data&format=xml"), http.StatusBadRequest)
	expectStatus(t, c.get(base+"/export?table=sqlite_master&format=csv"), http.StatusNotFound)
	expectStatus(t, c.get(base+"/data?table=nope"), http.StatusNotFound)

	for _, page := range []response{list, overview, logs, body, reports, data, row, export} {
		if strings.Contains(page.Body, token) {
			t.Fatal("a page shows the webhook token")
		}
	}
}

// A batch whose every record was rejected loaded no rows, and its report says 0 (not a blank),
// before the data table exists and after.
func TestLoadingReportOfAllRejectedSaysZeroRows(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	id, hookURL := mustAddKeyed(t, c, "vero", "Stitch Vero", "message_id")
	client := &http.Client{}
	for _, name := range []string{"vero/user_created.json", "vero/sent.json", "vero/unsubscribed.json"} {
		if a := postWebhook(t, client, http.MethodPost, hookURL, "application/json", fixture(t, name)); a.Status != http.StatusOK {
			t.Fatalf("post %s: %d %s", name, a.Status, a.Body)
		}
		app.flush(t) // a batch each
	}
	reports := c.get(fmt.Sprintf("/integrations/%d/loading-reports", id))
	expectStatus(t, reports, http.StatusOK)
	var got []string
	testID(reports, "report-row").Each(func(_ int, row *goquery.Selection) {
		rows := strings.Join(strings.Fields(row.Find(`[data-testid="report-rows"]`).Text()), " ")
		got = append(got, rows+" / "+strings.TrimSpace(row.Find(`[data-testid="report-rejected"]`).Text()))
	})
	// Newest first: unsubscribed and user_created lack message_id.
	if want := []string{"0 / 1", "data 1 / 0", "0 / 1"}; strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("reports (rows loaded / rejected): %q, want %q", got, want)
	}
}

func TestExtractionLogsAndReportsPaginate(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	id, _ := mustAdd(t, c, "incoming-webhooks", "Orders")
	start := time.Now().UTC().Add(-time.Hour)
	for i := range 120 {
		at := start.Add(time.Duration(i) * time.Second) // one a second: all logged, none sampled out
		app.Store.RecordRequest(store.WebhookRequest{IntegrationID: id, ReceivedAt: at, Status: 200, Records: 1, Bytes: int64(i + 1), ContentType: "application/json"})
		app.Store.RecordBatch("orders", warehouse.BatchReport{CommittedAt: at, Records: i + 1, RowsByTable: map[string]int{"data": i + 1}})
	}
	app.flush(t)

	for _, tc := range []struct{ path, row string }{
		{"/extraction-logs", "log-row"},
		{"/loading-reports", "report-row"},
	} {
		seen := map[string]bool{}
		path := fmt.Sprintf("/integrations/%d%s", id, tc.path)
		var sizes []int
		for range 5 {
			p := c.get(path)
			expectStatus(t, p, http.StatusOK)
			if hint := p.Doc.Find("p.hint").First().Text(); !strings.Contains(strings.Join(strings.Fields(hint), " "), "up to 10 a second after a burst of 100") {
				t.Errorf("%s: the hint does not say what is logged under load: %q", tc.path, hint)
			}
			rows := testID(p, tc.row)
			sizes = append(sizes, rows.Length())
			for i := range rows.Length() {
				seen[rows.Eq(i).Text()] = true
			}
			next, ok := testID(p, "page-older").Attr("href")
			if !ok {
				break
			}
			if testID(p, "page-newest").Length() != 0 && len(sizes) == 1 {
				t.Errorf("%s: the first page links to the newest", tc.path)
			}
			path = next
		}
		if fmt.Sprint(sizes) != "[50 50 20]" || len(seen) != 120 {
			t.Errorf("%s: pages of %v, %d distinct rows; want [50 50 20] and 120", tc.path, sizes, len(seen))
		}
	}
	expectStatus(t, c.get(fmt.Sprintf("/integrations/%d/extraction-logs?before=x", id)), http.StatusBadRequest)

	// Data pages by key: 120 rows in 50, 50, 20, newest first.
	records := make([]warehouse.Record, 120)
	for i := range records {
		records[i] = warehouse.Record{"n": json.Number(fmt.Sprint(i))}
	}
	if _, err := app.Warehouse.Load(t.Context(), "orders", warehouse.Target{}, records, time.Now()); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/integrations/%d/data?table=data", id)
	var firsts []string
	var sizes []int
	for range 5 {
		p := c.get(path)
		expectStatus(t, p, http.StatusOK)
		sizes = append(sizes, testID(p, "data-row").Length())
		firsts = append(firsts, testID(p, "data-row").First().Text())
		next, ok := testID(p, "page-older").Attr("href")
		if !ok {
			break
		}
		path = next
	}
	if fmt.Sprint(sizes) != "[50 50 20]" || firsts[0] == firsts[1] {
		t.Errorf("data pages of %v (first rows %q)", sizes, firsts)
	}
}

func TestLatestVersionToggle(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	p := addIntegration(t, c, "incoming-webhooks", url.Values{"name": {"Orders"}, "primary_key": {"id"}})
	expectStatus(t, p, http.StatusSeeOther)
	hookURL := revealedURL(t, c, p.Header.Get("Location"))
	for _, body := range []string{`{"id": 1, "status": "placed"}`, `{"id": 2, "status": "placed"}`, `{"id": 1, "status": "shipped"}`} {
		if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(body)); a.Status != http.StatusOK {
			t.Fatal(a.Body)
		}
	}
	all := c.get("/integrations/1/data")
	latest := c.get("/integrations/1/data?table=data_latest")
	if testID(all, "data-row").Length() != 3 || testID(latest, "data-row").Length() != 2 {
		t.Fatalf("all versions %d rows, latest %d; want 3 and 2", testID(all, "data-row").Length(), testID(latest, "data-row").Length())
	}
	// The table list counts the view's rows too: one per order.
	if got := strings.TrimSpace(all.Doc.Find(`[data-testid="table-row"][data-table="data_latest"] [data-testid="table-rows"]`).Text()); got != "2" {
		t.Errorf("data_latest's row count on the Data page: %q, want 2", got)
	}
	if testID(all, "latest-versions").Length() != 1 || !strings.Contains(latest.Body, "shipped") {
		t.Fatal("no toggle, or the latest version of order 1 is missing")
	}
	// The snippet follows the toggle: all versions newest first, or the latest with Stitch's query.
	if snippet := text(all, "sqlite-snippet"); !strings.Contains(snippet, "SELECT * FROM data ORDER BY _sdc_sequence DESC") || strings.Contains(snippet, "data_latest") {
		t.Errorf("all-versions snippet: %q", snippet)
	}
	if snippet := text(latest, "sqlite-snippet"); !strings.Contains(snippet, "SELECT * FROM data_latest LIMIT 20") || !strings.Contains(snippet, "GROUP BY id") || !strings.Contains(snippet, "ATTACH") {
		t.Errorf("latest-version snippet: %q", snippet)
	}
	export := c.get("/integrations/1/export?table=data_latest&format=jsonl")
	if lines := strings.Split(strings.TrimSpace(export.Body), "\n"); export.Status != http.StatusOK || len(lines) != 2 {
		t.Errorf("latest export: %d %q", export.Status, export.Body)
	}
}

func TestActivityPagesAreScopedToTheirUser(t *testing.T) {
	app := newTestApp(t)
	owner := app.signedInClient(t)
	_, hookURL := mustAdd(t, owner, "vero", "Stitch Vero")
	postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", fixture(t, "vero/sent.json"))
	app.flush(t)
	other := app.secondUser(t)
	for _, path := range []string{
		"/integrations/1/extraction-logs", "/integrations/1/extraction-logs/1", "/integrations/1/loading-reports",
		"/integrations/1/data", "/integrations/1/data/data/1", "/integrations/1/export?table=data&format=csv",
	} {
		expectStatus(t, owner.get(path), http.StatusOK)
		expectStatus(t, other.get(path), http.StatusNotFound)
	}
	if testID(other.get("/integrations"), "integration-row").Length() != 0 {
		t.Fatal("the other user sees the owner's integration")
	}
}

func TestMetricsNeedTheToken(t *testing.T) {
	app := newTestApp(t)
	if resp, err := http.Get(app.URL + "/metrics"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/metrics without a token configured: %v %v, want 404", resp, err)
	}
	const secret = "metrics-secret-token"
	srv := httptest.NewServer(web.New(web.Config{Store: app.Store, Warehouse: app.Warehouse, Log: slog.New(slog.DiscardHandler), DataDir: app.DataDir, MetricsToken: secret}))
	defer srv.Close()
	c := app.signedInClient(t)
	_, hookURL := mustAdd(t, c, "vero", "Stitch Vero")
	token := tokenOf(t, hookURL)
	hookURL = strings.Replace(hookURL, app.URL, srv.URL, 1)
	postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", fixture(t, "vero/sent.json"))
	postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(`{`))

	scrape := func(auth string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, auth := range []string{"", "Bearer wrong", "Basic " + secret, secret} {
		if status, _ := scrape(auth); status != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d, want 401", auth, status)
		}
	}
	if status, _ := scrape("bearer " + secret); status != http.StatusOK {
		t.Errorf("with the token, the scheme in lower case: %d, want 200", status)
	}
	status, body := scrape("Bearer " + secret)
	if status != http.StatusOK {
		t.Fatalf("with the token: %d", status)
	}
	for _, want := range []string{
		`hookhouse_webhook_requests_total{integration_id="1",result="accepted"} 1`,
		`hookhouse_webhook_requests_total{integration_id="1",result="invalid_body"} 1`,
		`hookhouse_records_loaded_total{integration_id="1"} 1`,
		`hookhouse_active_integrations 1`,
		`hookhouse_commit_duration_seconds_bucket`,
		`hookhouse_batch_records_bucket`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, token) || strings.Contains(body, secret) {
		t.Fatal("the metrics show a secret")
	}
}

// A deleted integration's series leave /metrics at once, and a paused one's stay: they stayed
// until the server restarted, so every integration ever deleted was scraped forever.
func TestDeletedIntegrationLeavesTheMetrics(t *testing.T) {
	const secret = "metrics-token-for-the-delete-test"
	app := newTestAppWith(t, warehouse.Options{}, web.Config{MetricsToken: secret})
	c := app.signedInClient(t)
	deleted, deletedURL := mustAdd(t, c, "vero", "Deleted")
	paused, pausedURL := mustAdd(t, c, "vero", "Paused")
	for _, u := range []string{deletedURL, pausedURL} {
		// One record loaded, one rejected, one body refused: every series an integration has.
		for body, status := range map[string]int{`[{"type":"sent"},{"_sdc_mine":1}]`: http.StatusOK, `{`: http.StatusBadRequest} {
			if a := postWebhook(t, http.DefaultClient, http.MethodPost, u, "application/json", []byte(body)); a.Status != status {
				t.Fatalf("webhook %s: %d %s, want %d", body, a.Status, a.Body, status)
			}
		}
	}
	series := func() map[int64]int { // the number of hookhouse_ series labelled with each integration
		t.Helper()
		n := map[int64]int{}
		for _, m := range regexp.MustCompile(`(?m)^hookhouse_\w+\{integration_id="(\d+)"`).FindAllStringSubmatch(app.metrics(t, secret), -1) {
			id, _ := strconv.ParseInt(m[1], 10, 64)
			n[id]++
		}
		return n
	}
	before := series()
	if before[deleted] != 4 || before[paused] != 4 { // accepted, invalid_body, loaded, rejected
		t.Fatalf("before: series per integration %v, want 4 of each", before)
	}
	expectRedirect(t, c.post(fmt.Sprintf("/integrations/%d/pause", paused), nil), fmt.Sprintf("/integrations/%d", paused))
	c.get(fmt.Sprintf("/integrations/%d/settings", deleted))
	expectRedirect(t, c.post(fmt.Sprintf("/integrations/%d/delete", deleted), url.Values{"confirm_schema": {"deleted"}, "data": {"keep"}}), "/integrations")
	if after := series(); after[deleted] != 0 || after[paused] != 4 {
		t.Errorf("after deleting %d and pausing %d: series per integration %v, want none of the deleted, 4 of the paused", deleted, paused, after)
	}
}

// A webhook authenticated before its integration's delete and answered after it (refused: the
// URL is gone, or its body is invalid) puts no series of the deleted integration back on
// /metrics: the refusal's count made one again, after the delete had removed them.
func TestWebhookAnsweredAfterTheDeleteLeavesNoSeries(t *testing.T) {
	const secret = "metrics-token-for-the-delete-race"
	app := newTestAppWith(t, warehouse.Options{}, web.Config{MetricsToken: secret})
	c := app.signedInClient(t)
	for _, tc := range []struct {
		schema, body string
		status       int
	}{
		{"found_gone_before_loading", `{"type":"late"}`, http.StatusUnauthorized},
		{"invalid_body", `{`, http.StatusBadRequest},
	} {
		t.Run(tc.schema, func(t *testing.T) {
			id, hook := mustAdd(t, c, "vero", tc.schema)
			schema := tc.schema
			if status := postEvent(t, hook); status != http.StatusOK {
				t.Fatalf("first webhook: %d", status)
			}
			label := fmt.Sprintf(`integration_id="%d"`, id)
			if !strings.Contains(app.metrics(t, secret), label) {
				t.Fatalf("no series of integration %d before the delete", id)
			}
			status, answer := webhookAround(t, hook, tc.body, func() {
				c.get(fmt.Sprintf("/integrations/%d/settings", id))
				expectRedirect(t, c.post(fmt.Sprintf("/integrations/%d/delete", id), url.Values{"confirm_schema": {schema}, "data": {"keep"}}), "/integrations")
			})
			if status != tc.status {
				t.Fatalf("the webhook answered after the delete: %d %s, want %d", status, answer, tc.status)
			}
			for line := range strings.Lines(app.metrics(t, secret)) {
				if strings.Contains(line, label) {
					t.Errorf("after the delete /metrics has %s", strings.TrimSpace(line))
				}
			}
		})
	}
}

// The Data page's snippet reads the table the page shows: data, a subtable, or the rejects.
func TestSnippetFollowsTheTable(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	id, hookURL := mustAdd(t, c, "incoming-webhooks", "Orders")
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(`{"id": 1, "items": [{"sku": "a"}]}`)); a.Status != http.StatusOK {
		t.Fatal(a.JSON)
	}
	base := "/integrations/" + itoa(id) + "/data"
	for query, want := range map[string]string{
		"":                     "'SELECT * FROM data ORDER BY _sdc_sequence DESC LIMIT 20;'",
		"?table=data__items":   "'SELECT * FROM data__items LIMIT 20;'",
		"?table=_sdc_rejected": "'SELECT * FROM _sdc_rejected LIMIT 20;'",
	} {
		p := c.get(base + query)
		if p.Status != http.StatusOK {
			var tables []string
			c.get(base).Doc.Find(`[data-testid="table-row"]`).Each(func(_ int, s *goquery.Selection) { tables = append(tables, s.AttrOr("data-table", "")) })
			t.Fatalf("Data%s: %d (tables %v)", query, p.Status, tables)
		}
		if got := text(p, "sqlite-snippet"); !strings.HasPrefix(got, "sqlite3 -readonly '") || !strings.HasSuffix(got, want) {
			t.Errorf("Data%s: snippet %q, want it to end with %s", query, got, want)
		}
	}
	// Before the first reject, _sdc_rejected is listed and its link shows no rows (it was a 404).
	if got := text(c.get(base+"?table=_sdc_rejected"), "rows-empty"); got != "No rows." {
		t.Errorf("_sdc_rejected before any reject: %q", got)
	}
}

// The latest versions' snippet, copied with its one Copy button and pasted into a shell, runs
// both of its queries: data_latest, then Stitch's query with the file attached. (Its second
// part was bare SQL under a "--" line: the shell ran the first query, then stopped at the
// ATTACH's quote.)
func TestLatestSnippetRunsPastedIntoAShell(t *testing.T) {
	if _, err := exec.LookPath("sqlite3"); err != nil {
		t.Skip("needs sqlite3 (Debian's sqlite3 package)")
	}
	app := newTestApp(t)
	c := app.signedInClient(t)
	id, hookURL := mustAddKeyed(t, c, "incoming-webhooks", "Orders", "id")
	for _, body := range []string{`{"id": 1, "status": "placed"}`, `{"id": 1, "status": "shipped"}`, `{"id": 2, "status": "placed"}`} {
		if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(body)); a.Status != http.StatusOK {
			t.Fatal(a.JSON)
		}
	}
	app.flush(t)
	snippet := text(c.get("/integrations/"+itoa(id)+"/data?table=data_latest"), "sqlite-snippet")
	out, err := exec.Command("bash", "-c", snippet).CombinedOutput()
	if err != nil {
		t.Fatalf("the snippet pasted into bash: %v\n%s\n--- the snippet:\n%s", err, out, snippet)
	}
	// Each query gives the two latest versions: order 1 shipped, order 2 placed.
	if n := strings.Count(string(out), "shipped"); n != 2 || strings.Count(string(out), "placed") != 2 {
		t.Errorf("the snippet's output holds %d shipped rows, want 1 per query:\n%s", n, out)
	}
}

// The Data page's snippet, filtered by event type, reads the rows the page shows, on both
// warehouses, the latest versions too: run pasted into a shell, with types an SQL literal or a
// shell must keep as they are (quotes, a backslash, lines, one of them the here-document's
// end). It read the whole table whatever the filter.
func TestSnippetReadsTheFilteredRows(t *testing.T) {
	for _, tool := range []string{"sqlite3", "psql"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (Debian's sqlite3 and postgresql-client packages)", tool)
		}
	}
	types := []string{"opened", "it's", `back\slash`, "two\nlines\nSQL\n.shell touch PWNED\ngo\n/", "$(touch PWNED)", `"quoted"`}
	for _, warehouseOn := range []string{"sqlite", "postgres"} {
		t.Run(warehouseOn, func(t *testing.T) {
			var app *testApp
			if warehouseOn == "postgres" {
				app = newTestAppOn(t, testDatabases{Warehouse: pgtest.Start(t)}, slog.LevelDebug, warehouse.Options{}, web.Config{})
			} else {
				app = newTestApp(t)
			}
			c := app.signedInClient(t)
			id, hookURL := mustAddKeyed(t, c, "incoming-webhooks", "Orders", "id")
			// Order 1 is opened, then it's; order 2 opened twice: a filter of the latest versions differs from the table's.
			for n, ev := range []struct {
				id  int
				typ string
			}{{1, types[0]}, {2, types[0]}, {1, types[1]}, {3, types[2]}, {4, types[3]}, {5, types[4]}, {6, types[5]}, {2, types[0]}} {
				body, _ := json.Marshal(map[string]any{"id": ev.id, "type": ev.typ, "tag": fmt.Sprintf("tag-%d", n+1)})
				if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", body); a.Status != http.StatusOK {
					t.Fatal(a.JSON)
				}
			}
			tags := regexp.MustCompile(`^tag-\d+$`)
			for _, table := range []string{"data", "data_latest"} {
				for _, typ := range types {
					p := c.get(fmt.Sprintf("/integrations/%d/data?%s", id, url.Values{"table": {table}, "type": {typ}}.Encode()))
					expectStatus(t, p, http.StatusOK)
					queries := 1 // data_latest's snippet also runs Stitch's query: each row once a query
					if table == "data_latest" {
						queries = 2
					}
					want := map[string]int{}
					testID(p, "rows").Find("td").Each(func(_ int, td *goquery.Selection) {
						if tags.MatchString(td.Text()) {
							want[td.Text()] = queries
						}
					})
					if len(want) == 0 {
						t.Fatalf("%s of type %q: the page shows no rows", table, typ)
					}
					snippet := text(p, "sqlite-snippet")
					run := exec.Command("bash", "-c", snippet)
					run.Dir = t.TempDir()
					out, err := run.CombinedOutput()
					if err != nil {
						t.Fatalf("%s of type %q: the snippet pasted into bash: %v\n%s\n--- the snippet:\n%s", table, typ, err, out, snippet)
					}
					got := map[string]int{}
					for _, tag := range regexp.MustCompile(`tag-\d+`).FindAllString(string(out), -1) {
						got[tag]++
					}
					if !maps.Equal(got, want) {
						t.Errorf("%s of type %q: the snippet read %v, the page shows %v (each once per query)\n--- the snippet:\n%s", table, typ, got, want, snippet)
					}
					if entries, _ := os.ReadDir(run.Dir); len(entries) > 0 {
						t.Fatalf("%s of type %q: the snippet ran a command of the type's value", table, typ)
					}
				}
			}
		})
	}
}

// A rejected record shows on the overview, linked to where it can be read.
func TestOverviewCountsRejectedRecords(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	id, hookURL := mustAdd(t, c, "vero", "Stitch Vero")
	base := fmt.Sprintf("/integrations/%d", id)
	if got := text(c.get(base), "rows-rejected"); got != "0" {
		t.Errorf("a new integration's rejected records: %q", got)
	}
	a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(`[{"type":"sent"},{"_sdc_mine":1}]`))
	if a.Status != http.StatusOK || a.JSON["rejected"] != float64(1) {
		t.Fatalf("post: %d %s", a.Status, a.Body)
	}
	overview := c.get(base)
	link := testID(overview, "rows-rejected").Find("a")
	if href, _ := link.Attr("href"); link.Text() != "1" || href != base+"/data?table=_sdc_rejected" {
		t.Errorf("overview after a reject: %q linking to %q", link.Text(), href)
	}
}

// Headers may carry bytes that are not UTF-8 (a quoted Content-Type parameter of \xff loads):
// the Extraction Logs keep such a request, and the others written with it, on both stores.
// PostgreSQL refused the log line's text, and the recorder lost the whole batch of logs.
func TestLogsKeepRequestsWithHeadersThatAreNotUTF8(t *testing.T) {
	onBothStores(t, func(t *testing.T, newApp func(testing.TB) *testApp) {
		app := newApp(t)
		c := app.signedInClient(t)
		id, hookURL := mustAdd(t, c, "incoming-webhooks", "Odd Headers")
		for _, h := range []http.Header{
			{"Content-Type": {"application/json; x=\"\xff\""}, "User-Agent": {"sender \xff"}},
			{"Content-Type": {"application/json"}},
		} {
			if a := postWithHeaders(t, hookURL, h, []byte(`{"id":1}`)); a.Status != http.StatusOK {
				t.Fatalf("%v: %d %s", h, a.Status, a.Body)
			}
		}
		app.flush(t)
		logs := c.get(fmt.Sprintf("/integrations/%d/extraction-logs", id))
		if n := testID(logs, "log-row").Length(); n != 2 {
			t.Fatalf("%d log rows, want both requests", n)
		}
		if !strings.Contains(logs.Body, "sender \uFFFD") {
			t.Errorf("the odd User-Agent is not shown with a replacement character")
		}
	})
}

// An Older link's cursor beyond 2^31 pages the Loading Reports on both stores: PostgreSQL typed
// the query's "before = 0" parameter int4 and answered 500 for it.
func TestLoadingReportsPageFromAnyCursor(t *testing.T) {
	onBothStores(t, func(t *testing.T, newApp func(testing.TB) *testApp) {
		app := newApp(t)
		c := app.signedInClient(t)
		id, hookURL := mustAdd(t, c, "incoming-webhooks", "Cursors")
		if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(`{"id":1}`)); a.Status != http.StatusOK {
			t.Fatalf("webhook: %d %s", a.Status, a.Body)
		}
		app.flush(t)
		for _, before := range []string{"", "?before=2147483648", "?before=9223372036854775807"} {
			p := c.get(fmt.Sprintf("/integrations/%d/loading-reports%s", id, before))
			expectStatus(t, p, http.StatusOK)
			if n := testID(p, "report-row").Length(); n != 1 {
				t.Errorf("before %q: %d reports, want the one batch", before, n)
			}
		}
	})
}

// The Data page lists the columns of the table it shows, and only counts the others': a
// schema of many wide subtables made every view of it megabytes (200 subtables of 900
// columns: 28 MB, rebuilt on each arrival for each open tab).
func TestDataPageListsOnlyTheShownTablesColumns(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	id, hookURL := mustAdd(t, c, "incoming-webhooks", "Wide Subtables")
	body := `{"id":1,"top":"x","items":[{"sub_only_field":1,"another_sub_field":2}]}`
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(body)); a.Status != http.StatusOK {
		t.Fatalf("webhook: %d %s", a.Status, a.Body)
	}
	app.flush(t)
	data := c.get(fmt.Sprintf("/integrations/%d/data", id))
	expectStatus(t, data, http.StatusOK)
	listed := data.Doc.Find(`[data-testid="table-row"][data-table="data"] [data-testid="column"]`).Text()
	if !strings.Contains(listed, "top") {
		t.Errorf("data's columns are not listed on its page: %q", listed)
	}
	sub := data.Doc.Find(`[data-testid="table-row"][data-table="data__items"]`)
	if n := sub.Find(`[data-testid="column"]`).Length(); n != 0 {
		t.Errorf("data__items lists %d columns on data's page, want only its count", n)
	}
	if got := strings.TrimSpace(sub.Find(`[data-testid="column-count"]`).Text()); !strings.HasSuffix(got, " columns") || got == " columns" {
		t.Errorf("data__items' column count: %q", got)
	}
	if strings.Contains(data.Body, "sub_only_field") {
		t.Error("a subtable's column name is on data's page")
	}
	items := c.get(fmt.Sprintf("/integrations/%d/data?table=data__items", id))
	if n := items.Doc.Find(`[data-testid="table-row"][data-table="data__items"] [data-testid="column"]`).Length(); n == 0 {
		t.Error("data__items' own page does not list its columns")
	}
}
