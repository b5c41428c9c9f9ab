package web_test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// fits checks, at each phone width, that the page does not scroll sideways (wide tables
// scroll inside their own box instead) and that the first thing the keyboard reaches is the
// skip link. With HOOKHOUSE_PHONE_SHOTS set it saves a screenshot at 390 px there.
func (b *browserSession) fits(name string) {
	b.t.Helper()
	shots := os.Getenv("HOOKHOUSE_PHONE_SHOTS")
	for _, w := range []int64{390, 360} { // phones every page must fit without scrolling sideways
		b.do(fmt.Sprintf("resize to %d px", w), chromedp.EmulateViewport(w, 800))
		over := run(b, "measure "+name, chromedp.Evaluate[string](`(() => {
			const d = document.documentElement;
			if (d.scrollWidth <= window.innerWidth) return "";
			// Name what sticks out, to say what to fix.
			const wide = [...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
				.filter(e => !e.closest(".table-wrap, pre, .tabs"))
				.slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? "." + e.className : "") + "@" + Math.round(e.getBoundingClientRect().right));
			return d.scrollWidth + " px wide in " + window.innerWidth + ": " + wide.join(", ");
		})()`))
		if over != "" {
			b.t.Errorf("%s at %d px scrolls sideways: %s", name, w, over)
		}
		if w == 390 && shots != "" {
			b.screenshot(fmt.Sprintf("%s/%s-390.png", shots, name))
		}
	}
	first := run(b, "find the first focusable element", chromedp.Evaluate[string](
		`(() => { const e = document.querySelector("a[href], button, input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex='-1'])"); return e ? e.textContent.trim() : "" })()`))
	if first != "Skip to content" {
		b.t.Errorf("%s: the first focusable element is %q, want the skip link", name, first)
	}
	b.do("back to desktop width", chromedp.EmulateViewport(1280, 900))
	if shots != "" {
		b.screenshot(fmt.Sprintf("%s/%s-1280.png", shots, name))
	}
}

// Every page, on a phone: nothing scrolls sideways, wide tables scroll in their own box,
// and a keyboard can skip to the content.
func TestJourneyEveryPageFitsAPhone(t *testing.T) {
	app := newTestApp(t)
	b := newBrowser(t, app)

	b.navigate("/")
	b.expectPath("/setup")
	b.fits("setup")
	b.setupOwner()
	b.fits("integrations-empty")

	b.click(`[data-testid="add-integration"]`)
	b.expectPath("/integrations/new")
	b.fits("catalog")
	b.click(`[data-testid="source-incoming-webhooks"]`)
	b.expectPath("/integrations/new/incoming-webhooks")
	b.fits("add-form")
	b.fill("#name", "Orders from the warehouse management system, EU")
	b.fill("#primary_key", "id")
	b.submit(`[data-testid="save-integration"]`)
	b.expectPath("/integrations/1/webhook-url")
	b.fits("webhook-url")
	hookURL := b.text(`[data-testid="webhook-url"]`)
	b.click(`[data-testid="continue"]`)
	b.expectPath("/integrations/1")

	// A wide record: many fields, long values, a nested array; and a refused body.
	fields := []string{`"id": 1`, `"type": "order.created"`}
	for i := range 30 {
		fields = append(fields, fmt.Sprintf(`"field_with_a_long_name_%02d": "a value long enough to need room %02d"`, i, i))
	}
	wide := "{" + strings.Join(fields, ", ") + `, "items": [{"sku": "A-1", "qty": 2}]}`
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(wide)); a.Status != http.StatusOK {
		t.Fatalf("wide record: %d %s", a.Status, a.Body)
	}
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(`{"id": 2, "broken": }`)); a.Status != http.StatusBadRequest {
		t.Fatalf("malformed body: %d %s", a.Status, a.Body)
	}
	app.flush(t)

	b.navigate("/integrations/1")
	b.fits("overview")
	b.navigate("/integrations/1/extraction-logs")
	b.fits("extraction-logs")
	b.navigate("/integrations/1/extraction-logs/1")
	b.fits("extraction-log")
	b.navigate("/integrations/1/loading-reports")
	b.fits("loading-reports")
	b.navigate("/integrations/1/data?table=data")
	b.fits("data")
	// The table list counts data_latest's rows too (a counter, not a scan of the view).
	if got := b.text(`[data-testid="table-row"][data-table="data_latest"] [data-testid="table-rows"]`); got != "1" {
		t.Errorf("data_latest's row count on the Data page: %q, want 1", got)
	}
	// The rows table is wide: it scrolls inside its own box, not the page.
	b.do("resize to 390 px", chromedp.EmulateViewport(390, 800))
	if !run(b, "measure the rows table", chromedp.Evaluate[bool](`(() => {
		const t = document.querySelector('[data-testid="rows"]');
		const box = t.closest(".table-wrap");
		return box !== null && box.scrollWidth > box.clientWidth && getComputedStyle(box).overflowX === "auto";
	})()`)) {
		t.Error("the Data page's rows table does not scroll inside its box")
	}
	b.do("back to desktop width", chromedp.EmulateViewport(1280, 900))
	b.click(`[data-testid="data-row"]:first-child [data-testid="row-json-link"]`)
	b.do("wait for the row", chromedp.WaitVisible(chromedp.CSS(`[data-testid="row-json"]`)))
	b.fits("data-row")
	b.navigate("/integrations/1/settings")
	b.fits("integration-settings")
	b.navigate("/account")
	b.fits("account")

	// A team's list: long names stay on one line, the table fits or scrolls in its box.
	seedIntegrations(t, app, listSeed{n: 12, failing: 2, waiting: 2, paused: 1, reports: 1})
	b.navigate("/integrations")
	b.fits("integrations")

	b.submit(`[data-testid="logout"]`)
	b.expectPath("/login")
	b.fits("login")
}
