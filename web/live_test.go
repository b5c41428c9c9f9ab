package web_test

import (
	"bufio"
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/hookhouse/hookhouse/store/warehouse"
	"github.com/hookhouse/hookhouse/web"
)

// openStream opens an integration's live stream with the client's session and returns its
// lines as they come; cancel closes it, as closing the tab does.
func openStream(t *testing.T, c *client, path string) (<-chan string, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.app.URL+path, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("live stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := make(chan string, 100)
	go func() {
		defer resp.Body.Close()
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines, cancel
}

// waitFor reads lines until one is want, failing after timeout.
func waitFor(t *testing.T, lines <-chan string, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the stream ended before %q", want)
			}
			if l == want {
				return
			}
		case <-deadline:
			t.Fatalf("no %q within %v", want, timeout)
		}
	}
}

// The live stream says "arrival" soon after a webhook arrives, is the integration's owner's
// alone, and leaves nothing behind on the server when the tab closes.
func TestLiveStreamTellsOfArrivalsAndEndsWithTheTab(t *testing.T) {
	app := newTestAppWith(t, warehouse.Options{}, web.Config{MetricsToken: metricsToken})
	c := app.signedInClient(t)
	id, hookURL := mustAdd(t, c, "vero", "Stitch Vero")
	path := "/integrations/" + itoa(id) + "/live"
	streams := func() string {
		t.Helper()
		return regexp.MustCompile(`(?m)^hookhouse_live_streams .*$`).FindString(app.metrics(t, metricsToken))
	}

	expectStatus(t, c.get(path), http.StatusNotAcceptable) // a plain GET (a crawl, a link) is not a stream
	expectStatus(t, app.secondUser(t).get(path), http.StatusNotFound)

	// A stream opened with the mark of a page made just now says nothing until a webhook comes.
	made := c.get("/integrations/"+itoa(id)).Doc.Find("[data-live-stream]").AttrOr("data-live-mark", "")
	lines, closeTab := openStream(t, c, path+"?since="+made)
	waitFor(t, lines, "retry: 2000", 5*time.Second)
	for quiet := time.After(300 * time.Millisecond); ; {
		select {
		case l := <-lines:
			if l != "" {
				t.Fatalf("before any webhook, the stream says %q", l)
			}
			continue
		case <-quiet:
		}
		break
	}
	if got := streams(); got != "hookhouse_live_streams 1" {
		t.Fatalf("with one stream open, /metrics says %q", got)
	}
	start := time.Now()
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", fixture(t, "vero/sent.json")); a.Status != http.StatusOK {
		t.Fatalf("webhook: %d %v", a.Status, a.JSON)
	}
	waitFor(t, lines, "event: arrival", 5*time.Second)
	if l := <-lines; l == "data: "+made || !strings.HasPrefix(l, "data: ") {
		t.Fatalf("the arrival says %q, not a mark after the page's %q", l, made)
	}
	t.Logf("arrival announced %v after the webhook was answered", time.Since(start).Round(time.Millisecond))

	closeTab()
	deadline := time.Now().Add(5 * time.Second)
	for streams() != "hookhouse_live_streams 0" {
		if time.Now().After(deadline) {
			t.Fatalf("after the tab closed, /metrics says %q", streams())
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A page names its stream and the mark it was made at; a stream opened from a page made
	// before the webhook announces it at once (it came between the page and the stream), and
	// says the mark, which a page made after it carries.
	overview := c.get("/integrations/" + itoa(id)).Doc.Find("[data-live-stream]")
	stream, mark := overview.AttrOr("data-live-stream", ""), overview.AttrOr("data-live-mark", "")
	epoch, _, _ := strings.Cut(mark, ".")
	if stream != path || epoch == "" || mark == epoch+".0" {
		t.Fatalf("the overview's stream %q, mark %q", stream, mark)
	}
	lines, closeTab = openStream(t, c, path+"?since="+epoch+".0")
	waitFor(t, lines, "event: arrival", 5*time.Second)
	waitFor(t, lines, "data: "+mark, time.Second)
	closeTab()

	// A page made by another node, or by this one before a restart, carries a mark of another
	// epoch, which says nothing of what was written here: its stream announces at once (one
	// fetch), even for an integration that nothing was written for since the start.
	quiet, _ := mustAdd(t, c, "vero", "Stitch Vero quiet")
	quietPath := "/integrations/" + itoa(quiet) + "/live"
	lines, closeTab = openStream(t, c, quietPath+"?since=beforeTheRestart.7")
	waitFor(t, lines, "event: arrival", 5*time.Second)
	waitFor(t, lines, "data: "+epoch+".0", time.Second)
	closeTab()

	// At shutdown every stream ends at once, so the server need not wait for them.
	lines, _ = openStream(t, c, path)
	waitFor(t, lines, "retry: 2000", 5*time.Second)
	app.Store.EndWatches()
	select {
	case <-drain(lines):
	case <-time.After(5 * time.Second):
		t.Fatal("the stream outlived EndWatches")
	}
}

const metricsToken = "token-for-the-live-test"

// drain closes its channel once lines ends.
func drain(lines <-chan string) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		for range lines {
		}
		close(done)
	}()
	return done
}

// The status counts the refusals of the last hour (a paused integration's 503s too) and links
// to the Extraction Logs filtered to them; the filter by result and status lists what it
// says; each line shows its exact time beside the relative one.
func TestRefusalsAreCountedAndFiltered(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	id, hookURL := mustAdd(t, c, "vero", "Stitch Vero")
	post := func(contentType, body string, want int) {
		t.Helper()
		if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, contentType, []byte(body)); a.Status != want {
			t.Fatalf("webhook %q: %d, want %d", body, a.Status, want)
		}
	}
	post("application/json", `{"type": "sent"}`, http.StatusOK)
	post("application/json", `{"type": `, http.StatusBadRequest)
	post("text/plain", `hello`, http.StatusUnsupportedMediaType)
	app.flush(t)

	base := "/integrations/" + itoa(id)
	overview := c.get(base)
	link := testID(overview, "refusals-link")
	if got := strings.TrimSpace(link.Text()); got != "2 requests refused in the last hour" || link.AttrOr("href", "") != base+"/extraction-logs?result=refused" {
		t.Fatalf("overview's refusals: %q -> %q", got, link.AttrOr("href", ""))
	}
	if got := text(c.get("/integrations"), "refusals-link"); got != "2 requests refused in the last hour" {
		t.Errorf("the list's refusals: %q", got)
	}

	for query, want := range map[string]string{
		"":                 "Refused·415 Refused·400 Accepted",
		"?result=refused":  "Refused·415 Refused·400",
		"?result=accepted": "Accepted",
		"?result=400":      "Refused·400",
		"?result=401":      "",
	} {
		p := c.get(base + "/extraction-logs" + query)
		expectStatus(t, p, http.StatusOK)
		var got []string
		testID(p, "log-row").Each(func(_ int, row *goquery.Selection) {
			badge := strings.Join(strings.Fields(row.Find(".badge").Text()), "")
			got = append(got, badge)
		})
		if strings.Join(got, " ") != want {
			t.Errorf("Extraction Logs%s: %q, want %q", query, strings.Join(got, " "), want)
		}
		if want == "" && testID(p, "logs-none-match").Length() != 1 {
			t.Errorf("Extraction Logs%s: no word that nothing matches", query)
		}
		if sel := p.Doc.Find(`#result option[selected]`).AttrOr("value", ""); "?result="+sel != query && query != "" {
			t.Errorf("Extraction Logs%s: the filter shows %q chosen", query, sel)
		}
	}
	expectStatus(t, c.get(base+"/extraction-logs?result=bogus"), http.StatusBadRequest)

	logs := c.get(base + "/extraction-logs")
	exact := regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`)
	if got := text(logs, "log-time"); !exact.MatchString(got) {
		t.Errorf("a log line's exact time: %q", got)
	}
	if got := strings.TrimSpace(logs.Doc.Find(`[data-testid="log-row"] time`).First().Text()); got != "just now" {
		t.Errorf("a log line's relative time: %q", got)
	}

	// Paused: the 503s are refusals (counted, listed) but no error: the status stays Paused.
	expectStatus(t, c.post(base+"/pause", nil), http.StatusSeeOther)
	post("application/json", `{"type": "sent"}`, http.StatusServiceUnavailable)
	app.flush(t)
	overview = c.get(base)
	if got := text(overview, "refusals-link"); got != "3 requests refused in the last hour" || text(overview, "status") != "Paused" {
		t.Errorf("paused: status %q, refusals %q", text(overview, "status"), got)
	}
}

// A request to a revoked URL gets the same 401 as an unknown one, and is its integration's:
// logged in its Extraction Logs with the URL's prefix, counted on the page as a sender still
// using an old URL, and turning the status to errors.
func TestRevokedURLRequestsAreCountedPerIntegration(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	id, hookURL := mustAdd(t, c, "vero", "Stitch Vero")
	base := "/integrations/" + itoa(id)
	urls, err := app.Store.WebhookURLs(t.Context(), 1, id)
	if err != nil || len(urls) != 1 {
		t.Fatal(urls, err)
	}
	c.get(base + "/settings")
	expectStatus(t, c.post(base+"/urls/"+itoa(urls[0].ID)+"/revoke", nil), http.StatusSeeOther)

	revoked := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(`{"type": "sent"}`))
	unknown := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL[:len(hookURL)-4]+"0000", "application/json", []byte(`{"type": "sent"}`))
	if revoked.Status != http.StatusUnauthorized || unknown.Status != http.StatusUnauthorized || revoked.JSON["error"] != unknown.JSON["error"] {
		t.Fatalf("revoked %d %v, unknown %d %v: want the same 401", revoked.Status, revoked.JSON, unknown.Status, unknown.JSON)
	}
	app.flush(t)

	logs := c.get(base + "/extraction-logs")
	if n := testID(logs, "log-row").Length(); n != 1 {
		t.Fatalf("%d log lines, want the revoked URL's one (the unknown URL is nobody's)", n)
	}
	if got := text(logs, "log-reason"); !strings.Contains(got, "the URL "+urls[0].Prefix+"… was revoked on") {
		t.Errorf("the revoked URL's reason: %q", got)
	}
	if got := text(logs, "revoked-hits"); !strings.HasPrefix(got, "1 request in the last 24 hours came to a revoked URL") {
		t.Errorf("the revoked URL's count: %q", got)
	}
	if href := testID(logs, "revoked-hits-link").AttrOr("href", ""); href != base+"/extraction-logs?result=401" {
		t.Errorf("the count links to %q", href)
	}
	if got := text(c.get(base), "status"); got != "Errors in the last hour" {
		t.Errorf("status after a request to a revoked URL: %q", got)
	}
}
