package web_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fixture reads a sample payload from the repository's testdata/fixtures.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "fixtures", filepath.FromSlash(name)))
	if err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return b
}

// webhookAnswer is a webhook response as a provider sees it.
type webhookAnswer struct {
	Status int
	Header http.Header
	JSON   map[string]any
	Body   string
}

func postWebhook(t testing.TB, client *http.Client, method, target, contentType string, body []byte) webhookAnswer {
	t.Helper()
	req, err := http.NewRequest(method, target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := webhookAnswer{Status: resp.StatusCode, Header: resp.Header, Body: string(raw)}
	json.Unmarshal(raw, &a.JSON)
	return a
}

// warehouseDB opens an integration's warehouse file the way a user would, read-only.
func warehouseDB(t *testing.T, app *testApp, schema string) *sql.DB {
	t.Helper()
	path := filepath.Join(app.DataDir, "warehouse", schema+".db")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("warehouse file: %v", err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func queryInt(t *testing.T, db *sql.DB, query string, args ...any) int64 {
	t.Helper()
	var n sql.NullInt64
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n.Int64
}

func TestWebhookLoadsProviderPayloads(t *testing.T) {
	onBothStores(t, testWebhookLoadsProviderPayloads)
}

func testWebhookLoadsProviderPayloads(t *testing.T, newApp func(testing.TB) *testApp) {
	app := newApp(t)
	c := app.signedInClient(t)
	_, veroURL := mustAdd(t, c, "vero", "Stitch Vero")
	_, mandrillURL := mustAdd(t, c, "mandrill", "Mandrill")
	_, sendgridURL := mustAdd(t, c, "sendgrid", "SendGrid")

	for _, name := range []string{"sent", "opened", "clicked", "bounced", "unsubscribed", "user_created", "user_updated", "delivered"} {
		a := postWebhook(t, http.DefaultClient, http.MethodPost, veroURL, "application/json", fixture(t, "vero/"+name+".json"))
		if a.Status != http.StatusOK || a.JSON["status"] != "ok" || a.JSON["records"] != 1.0 {
			t.Fatalf("vero %s: %d %s", name, a.Status, a.Body)
		}
	}
	a := postWebhook(t, http.DefaultClient, http.MethodPost, mandrillURL, "application/x-www-form-urlencoded", fixture(t, "mandrill/events.form"))
	if a.Status != http.StatusOK || a.JSON["records"] != 2.0 {
		t.Fatalf("mandrill form: %d %s", a.Status, a.Body)
	}
	batch := fixture(t, "sendgrid/batch.json")
	var events []any
	json.Unmarshal(batch, &events)
	a = postWebhook(t, http.DefaultClient, http.MethodPost, sendgridURL, "application/json", batch)
	if a.Status != http.StatusOK || a.JSON["records"] != float64(len(events)) {
		t.Fatalf("sendgrid batch of %d: %d %s", len(events), a.Status, a.Body)
	}

	vero := warehouseDB(t, app, "stitch_vero")
	if n := queryInt(t, vero, "SELECT COUNT(*) FROM data"); n != 8 {
		t.Fatalf("stitch_vero.data has %d rows, want 8", n)
	}
	if n := queryInt(t, vero, "SELECT COUNT(*) FROM data WHERE campaign__triggerevent = 'purchased item' AND _sdc_received_at IS NOT NULL AND _sdc_batched_at IS NOT NULL AND _sdc_table_version = 0"); n == 0 {
		t.Fatal("no row with campaign.trigger-event flattened to campaign__triggerevent (the hyphen removed, as Stitch does) and the _sdc columns set")
	}
	if n := queryInt(t, warehouseDB(t, app, "mandrill"), "SELECT COUNT(*) FROM data WHERE event IS NOT NULL"); n != 2 {
		t.Fatalf("mandrill.data has %d events, want 2", n)
	}
	if n := queryInt(t, warehouseDB(t, app, "sendgrid"), "SELECT COUNT(DISTINCT sg_event_id) FROM data"); n != int64(len(events)) {
		t.Fatalf("sendgrid.data has %d distinct sg_event_id, want %d", n, len(events))
	}
}

// assertWebhookHeaders checks that a webhook answer carries the API security headers: it can
// be neither loaded, framed nor sniffed as a page.
func assertWebhookHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	if h.Get("Content-Security-Policy") != "default-src 'none'; frame-ancestors 'none'" ||
		h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" ||
		!strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Errorf("%s: headers %v, want JSON with the security headers", what, h)
	}
}

func TestWebhookRefusalsStoreNothing(t *testing.T) { onBothStores(t, testWebhookRefusalsStoreNothing) }

func testWebhookRefusalsStoreNothing(t *testing.T, newApp func(testing.TB) *testApp) {
	app := newApp(t)
	c := app.signedInClient(t)
	id, hookURL := mustAdd(t, c, "incoming-webhooks", "Orders")
	ok := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(`{"id": 1}`))
	if ok.Status != http.StatusOK {
		t.Fatalf("first event: %d %s", ok.Status, ok.Body)
	}
	assertWebhookHeaders(t, "the 200", ok.Header)
	token := tokenOf(t, hookURL)
	base := strings.TrimSuffix(hookURL, "/v1/clients/"+fmt.Sprint(id)+"/token/"+token)
	otherToken := strings.Repeat("ab", 32)

	cases := []struct {
		name, method, url, contentType string
		body                           []byte
		status                         int
		says                           string
	}{
		{"wrong token", "POST", fmt.Sprintf("%s/v1/clients/%d/token/%s", base, id, otherToken), "application/json", []byte(`{"id":2}`), 401, "not valid"},
		{"unknown integration", "POST", fmt.Sprintf("%s/v1/clients/%d/token/%s", base, id+100, token), "application/json", []byte(`{"id":2}`), 401, "not valid"},
		{"non-numeric id", "POST", fmt.Sprintf("%s/v1/clients/x/token/%s", base, token), "application/json", []byte(`{"id":2}`), 401, "not valid"},
		{"other method", "PUT", hookURL, "application/json", []byte(`{"id":2}`), 405, ""},
		{"unsupported type", "POST", hookURL, "text/plain", []byte(`id=2`), 415, "application/json"},
		{"invalid JSON", "POST", hookURL, "application/json", []byte(`{"id": 2,}`), 400, "byte"},
		{"empty body", "POST", hookURL, "application/json", nil, 400, "empty"},
		{"array with a string", "POST", hookURL, "application/json", []byte(`[{"id":2}, "x"]`), 400, "element 1"},
		{"too deep", "POST", hookURL, "application/json", []byte(strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)), 400, "deep"},
		{"too large", "POST", hookURL, "application/json", append([]byte(`{"id":2,"pad":"`), append(bytes.Repeat([]byte("x"), 20<<20), '"', '}')...), 413, "limit"},
	}
	for _, tc := range cases {
		a := postWebhook(t, http.DefaultClient, tc.method, tc.url, tc.contentType, tc.body)
		if a.Status != tc.status {
			t.Errorf("%s: status %d, want %d (%.200s)", tc.name, a.Status, tc.status, a.Body)
			continue
		}
		if msg, _ := a.JSON["error"].(string); !strings.Contains(strings.ToLower(msg), strings.ToLower(tc.says)) {
			t.Errorf("%s: error %q does not say %q", tc.name, msg, tc.says)
		}
		assertWebhookHeaders(t, tc.name, a.Header)
	}
	if n := queryInt(t, warehouseDB(t, app, "orders"), "SELECT COUNT(*) FROM data"); n != 1 {
		t.Fatalf("data has %d rows after the refusals, want only the first event", n)
	}
	verify := postWebhook(t, http.DefaultClient, http.MethodGet, hookURL, "", nil)
	if verify.Status != http.StatusOK || verify.JSON["status"] != "ok" {
		t.Fatalf("GET on a valid URL: %d %s", verify.Status, verify.Body)
	}
	if head := postWebhook(t, http.DefaultClient, http.MethodHead, hookURL, "", nil); head.Status != http.StatusOK {
		t.Fatalf("HEAD on a valid URL (Mandrill's check): %d", head.Status)
	}
	if strings.Contains(app.Logs.String(), token) {
		t.Fatal("the token reached the logs")
	}
}

// Two Content-Type headers are refused, whichever comes first: decoding by the first was a
// guess at what the sender meant.
func TestWebhookWithTwoContentTypesIsRefused(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	_, hookURL := mustAdd(t, c, "incoming-webhooks", "Orders")
	req, err := http.NewRequest(http.MethodPost, hookURL, strings.NewReader(`{"id":1}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header["Content-Type"] = []string{"application/json", "application/x-www-form-urlencoded"}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "2 Content-Type headers; send one") {
		t.Fatalf("two Content-Types: %d %s", resp.StatusCode, body)
	}
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(`{"id":2}`)); a.Status != http.StatusOK {
		t.Fatalf("one Content-Type: %d %s", a.Status, a.Body)
	}
	if n := queryInt(t, warehouseDB(t, app, "orders"), "SELECT COUNT(*) FROM data"); n != 1 {
		t.Fatalf("data has %d rows, want only the second request's", n)
	}
}

func TestWebhookConcurrentPostsAllLandOnce(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	p := addIntegration(t, c, "incoming-webhooks", url.Values{"name": {"Orders"}, "primary_key": {"id"}})
	expectStatus(t, p, http.StatusSeeOther)
	hookURL := revealedURL(t, c, p.Header.Get("Location"))

	const workers, perWorker = 50, 200
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	var wg sync.WaitGroup
	failures := make(chan string, workers*perWorker)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				id := w*perWorker + i
				body := fmt.Sprintf(`{"id": %d, "status": "placed", "total": %d.5, "items": [{"sku": "a"}, {"sku": "b"}]}`, id, id)
				a := postWebhook(t, client, http.MethodPost, hookURL, "application/json", []byte(body))
				if a.Status != http.StatusOK || a.JSON["records"] != 1.0 {
					failures <- fmt.Sprintf("id %d: %d %s", id, a.Status, a.Body)
				}
			}
		}()
	}
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Fatal("not acknowledged: " + f)
	}

	db := warehouseDB(t, app, "orders")
	total, distinct := queryInt(t, db, "SELECT COUNT(*) FROM data"), queryInt(t, db, "SELECT COUNT(DISTINCT id) FROM data")
	if total != workers*perWorker || distinct != workers*perWorker {
		t.Fatalf("data has %d rows with %d distinct ids, want %d of each", total, distinct, workers*perWorker)
	}
	if n := queryInt(t, db, "SELECT COUNT(DISTINCT _sdc_sequence) FROM data"); n != total {
		t.Fatalf("%d distinct _sdc_sequence values for %d rows", n, total)
	}
	if n := queryInt(t, db, "SELECT COUNT(*) FROM data__items"); n != 2*total {
		t.Fatalf("data__items has %d rows, want %d", n, 2*total)
	}

	// A new version of order 7 arrives; the documented latest-version query picks it.
	a := postWebhook(t, client, http.MethodPost, hookURL, "application/json", []byte(`{"id": 7, "status": "shipped"}`))
	if a.Status != http.StatusOK {
		t.Fatal(a.Body)
	}
	attached, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "analyst.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer attached.Close()
	attached.SetMaxOpenConns(1)
	if _, err := attached.Exec(fmt.Sprintf("ATTACH '%s' AS orders", filepath.Join(app.DataDir, "warehouse", "orders.db"))); err != nil {
		t.Fatal(err)
	}
	var status string
	var rows int
	q := `SELECT o.status FROM orders.data o INNER JOIN (SELECT MAX(_sdc_sequence) AS seq, id FROM orders.data GROUP BY id) oo
		ON o.id = oo.id AND o._sdc_sequence = oo.seq WHERE o.id = 7`
	if err := attached.QueryRow(q).Scan(&status); err != nil || status != "shipped" {
		t.Fatalf("latest version of order 7: %q, %v", status, err)
	}
	if err := attached.QueryRow("SELECT COUNT(*) FROM orders.data_latest").Scan(&rows); err != nil || rows != workers*perWorker {
		t.Fatalf("data_latest has %d rows (%v), want one per id: %d", rows, err, workers*perWorker)
	}
}
