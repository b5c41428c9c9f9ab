package web_test

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Someone has just pasted the URL into the provider and watches the integration: the page
// changes by itself when the first webhook arrives ("Waiting for first event" becomes the
// first rows), and so do Extraction Logs and Data; refusals are counted and one click away.
func TestJourneyLiveArrivals(t *testing.T) {
	app := newTestApp(t)
	b := newBrowser(t, app)
	shots := os.Getenv("HOOKHOUSE_SCREENSHOTS")

	b.setupOwner()
	hookURL := b.addFirstIntegration("vero", "Stitch Vero")
	if got := b.text(`[data-testid="status"]`); got != "Waiting for first event" || !b.exists(`[data-testid="waiting"]`) {
		t.Fatalf("a fresh integration: status %q", got)
	}

	// The provider's first webhook: the overview flips to live without a reload.
	b.markPage()
	post(t, hookURL, "application/json", fixture(t, "vero/sent.json"), http.StatusOK)
	b.waitUntil("the overview shows the first row", `!document.querySelector('[data-testid="waiting"]') &&
		document.querySelector('[data-testid="rows-today"]').textContent.trim() === "1"`)
	if got := b.text(`[data-testid="status"]`); got != "Active" {
		t.Fatalf("status after the first event: %q", got)
	}
	if got := b.text(`[data-testid="last-table"]`); got != "data" {
		t.Fatalf("last table after the first event: %q", got)
	}
	b.expectSamePage()

	// Extraction Logs: a refused request appears on top, with its exact time.
	b.click(`[data-testid="tab-extraction-logs"]`)
	b.expectPath("/integrations/1/extraction-logs")
	b.markPage()
	post(t, hookURL, "application/json", []byte(`{"type": "clicked", "user": }`), http.StatusBadRequest)
	b.waitUntil("the refused request is listed", `document.querySelectorAll('[data-testid="log-row"]').length === 2`)
	b.expectSamePage()
	if got := b.text(`[data-testid="log-row"]:first-child [data-testid="log-result"] .badge`); got != "Refused · 400" {
		t.Fatalf("the newest line: %q", got)
	}
	if got := b.text(`[data-testid="log-row"]:first-child [data-testid="log-time"]`); !regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`).MatchString(got) {
		t.Fatalf("the newest line's exact time: %q", got)
	}

	// The result filter applies as soon as it is chosen.
	b.do("choose Refused", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector('#result');
		s.value = 'refused'; s.dispatchEvent(new Event('change', {bubbles: true})); })()`))
	b.expectPath("/integrations/1/extraction-logs?result=refused")
	if n := run(b, "count lines", chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="log-row"]').length`)); n != 1 {
		t.Fatalf("%d lines under Refused, want 1", n)
	}

	// The overview counts the refusal and links to the refused requests.
	b.click(`[data-testid="tab-overview"]`)
	b.expectPath("/integrations/1")
	if got := b.text(`[data-testid="refusals-link"]`); got != "1 request refused in the last hour" {
		t.Fatalf("the overview's refusals: %q", got)
	}
	b.click(`[data-testid="refusals-link"]`)
	b.expectPath("/integrations/1/extraction-logs?result=refused")

	// Data: a wide event arrives as a new row, and the table says it scrolls.
	b.click(`[data-testid="tab-data"]`)
	b.expectPath("/integrations/1/data")
	overflows := `(() => { const w = document.querySelector('[data-scroll-cue]'); return w.scrollWidth > w.clientWidth; })()`
	if b.visible(`[data-testid="scroll-hint"]`) != run(b, "measure the table", chromedp.Evaluate[bool](overflows)) {
		t.Fatal("the scroll hint is shown when the table fits, or hidden when it overflows")
	}
	b.markPage()
	var wide strings.Builder
	wide.WriteString(`{"type": "sent"`)
	for i := range 40 {
		fmt.Fprintf(&wide, `, "field_%02d": "a value wide enough to need room %d"`, i, i)
	}
	wide.WriteString("}")
	post(t, hookURL, "application/json", []byte(wide.String()), http.StatusOK)
	b.waitUntil("the new row is shown", `document.querySelectorAll('[data-testid="data-row"]').length === 2`)
	b.expectSamePage()
	if !run(b, "measure the table", chromedp.Evaluate[bool](overflows)) || !b.visible(`[data-testid="scroll-hint"]`) || !b.exists(`.scroll-box.scrolls:not(.at-end)`) {
		t.Fatal("the wide table does not say that it scrolls")
	}
	if !strings.Contains(b.text(`[data-testid="scroll-hint"]`), "scroll sideways") {
		t.Fatalf("scroll hint: %q", b.text(`[data-testid="scroll-hint"]`))
	}
	if shots != "" {
		b.screenshot(shots + "/data-wide.png")
	}
	if sideways := run(b, "page width", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)); sideways {
		t.Fatal("the page scrolls sideways; only the table should")
	}
	b.do("scroll the table to its end", chromedp.Evaluate[chromedp.Void](`(() => { const w = document.querySelector('[data-scroll-cue]');
		w.scrollLeft = w.scrollWidth; w.dispatchEvent(new Event('scroll')); })()`))
	b.waitUntil("the fade goes at the end", `!!document.querySelector('.scroll-box.scrolls.at-end')`)
}

// post sends a webhook from the test, as the provider would.
func post(t *testing.T, hookURL, contentType string, body []byte, want int) {
	t.Helper()
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, contentType, body); a.Status != want {
		t.Fatalf("webhook: %d %v, want %d", a.Status, a.JSON, want)
	}
}

// markPage leaves a mark on the page that a reload would wipe (see expectSamePage).
func (b *browserSession) markPage() {
	b.t.Helper()
	b.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.hookhouseJourneyMark = true`))
}

// expectSamePage fails if the page was reloaded since markPage.
func (b *browserSession) expectSamePage() {
	b.t.Helper()
	if !run(b, "read the mark", chromedp.Evaluate[bool](`window.hookhouseJourneyMark === true`)) {
		b.t.Fatal("the page was reloaded; it should have changed in place")
	}
}

// waitUntil polls a JavaScript condition until it holds.
func (b *browserSession) waitUntil(what, js string) {
	b.t.Helper()
	deadline := time.Now().Add(actionTimeout)
	for !run(b, what, chromedp.Evaluate[bool](`!!(`+js+`)`)) {
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: not within %v", what, actionTimeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// visible reports whether the element is on the page and not hidden.
func (b *browserSession) visible(sel string) bool {
	b.t.Helper()
	return run(b, "look at "+sel, chromedp.Evaluate[bool](`(() => { const e = document.querySelector(`+jsString(sel)+`);
		return !!e && !e.hidden && e.getClientRects().length > 0; })()`))
}

// Someone leaves the overview in a background tab and comes back: what arrived meanwhile is
// shown with one fetch of the page, and coming back when nothing arrived fetches nothing,
// also after the page changed in place (its parts swapped, the mark it was made at older than
// what it shows). Hiding is the page's own visibilitychange, with document.hidden set.
func TestJourneyLiveTabShownAgainFetchesOnce(t *testing.T) {
	app := newTestApp(t)
	b := newBrowser(t, app)
	b.setupOwner()
	hookURL := b.addFirstIntegration("vero", "Stitch Vero")
	b.markPage()
	b.do("count the page's fetches, and let the test hide it", chromedp.Evaluate[chromedp.Void](`(() => {
		const fetch = window.fetch;
		window.journeyFetches = 0;
		window.fetch = (...args) => { window.journeyFetches++; return fetch(...args); };
		window.journeyHidden = false;
		Object.defineProperty(document, "hidden", { configurable: true, get: () => window.journeyHidden });
		Object.defineProperty(document, "visibilityState", { configurable: true, get: () => window.journeyHidden ? "hidden" : "visible" });
	})()`))
	rows := func(n int) string {
		return fmt.Sprintf(`document.querySelector('[data-testid="rows-today"]')?.textContent.trim() === "%d"`, n)
	}
	fetches := func() int {
		return run(b, "count the fetches", chromedp.Evaluate[int](`window.journeyFetches`))
	}
	watches := func(want int) {
		t.Helper()
		for deadline := time.Now().Add(actionTimeout); app.Store.Watches() != want; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d streams open, want %d", app.Store.Watches(), want)
			}
		}
	}
	// settled waits out the stream's least time between two events, and a fetch after it.
	settled := func() { time.Sleep(2 * time.Second) }
	setHidden := func(hidden bool) {
		b.do("hide or show the tab", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { window.journeyHidden = %t;
			document.dispatchEvent(new Event("visibilitychange")); })()`, hidden)))
	}

	// The first event swaps all of <main>, the second only the page's parts.
	watches(1)
	post(t, hookURL, "application/json", fixture(t, "vero/sent.json"), http.StatusOK)
	b.waitUntil("the first row", rows(1))
	settled()
	post(t, hookURL, "application/json", fixture(t, "vero/sent.json"), http.StatusOK)
	b.waitUntil("the second row", rows(2))
	settled()
	if n := fetches(); n != 2 {
		t.Fatalf("two webhooks, %d fetches of the page", n)
	}

	// Hidden, the tab closes its stream; a webhook arrives meanwhile; shown again, it fetches once.
	setHidden(true)
	watches(0)
	post(t, hookURL, "application/json", fixture(t, "vero/sent.json"), http.StatusOK)
	if err := app.Store.FlushActivity(t.Context()); err != nil {
		t.Fatal(err)
	}
	setHidden(false)
	b.waitUntil("the row that came while hidden", rows(3))
	settled()
	if n := fetches() - 2; n != 1 {
		t.Fatalf("shown again after one webhook, the page fetched itself %d times, want 1", n)
	}

	// Hidden and shown again with nothing new: the stream reopens, and nothing is fetched.
	setHidden(true)
	watches(0)
	setHidden(false)
	watches(1)
	settled()
	if n := fetches() - 3; n != 0 {
		t.Fatalf("shown again with nothing new, the page fetched itself %d times, want 0", n)
	}
	b.expectSamePage()
}
