package web_test

import (
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// A team with 100 integrations, 3 of them failing, finds the failing ones at the top of a
// page of one-line rows, and finds any other by searching or filtering.
func TestJourneyFindingAnIntegration(t *testing.T) {
	app := newTestApp(t)
	b := newBrowser(t, app)
	shots := os.Getenv("HOOKHOUSE_SCREENSHOTS")
	b.setupOwner()
	seedIntegrations(t, app, listSeed{n: 100, failing: 3, waiting: 3, paused: 2, reports: 1})

	b.navigate("/integrations")
	if h := run(b, "measure the page", chromedp.Evaluate[int](`document.documentElement.scrollHeight`)); h > 3600 {
		t.Errorf("the list of 100 is %d px tall, want one page of 50 short rows", h)
	}
	// The failing ones are the first rows, in view without scrolling.
	failing := run(b, "find the failing rows", chromedp.Evaluate[[]int](`[...document.querySelectorAll('[data-testid="integration-row"]')]
		.map((r, i) => [i, r]).filter(([i, r]) => r.querySelector('[data-testid="status"]').textContent.includes("Errors"))
		.filter(([i, r]) => r.getBoundingClientRect().bottom <= window.innerHeight).map(([i]) => i)`))
	if len(failing) != 3 || failing[0] != 0 || failing[2] != 2 {
		t.Errorf("failing rows in view at the top: %v, want rows 0, 1 and 2", failing)
	}
	// Names stay on one line, cut short with the full name on hover.
	if tall := run(b, "measure the names", chromedp.Evaluate[int](`[...document.querySelectorAll('[data-testid="integration-name"]')]
		.filter(e => e.getBoundingClientRect().height > 1.6 * parseFloat(getComputedStyle(e).lineHeight)).length`)); tall != 0 {
		t.Errorf("%d names wrap onto more than one line", tall)
	}
	if shots != "" { // the first screenful, as the team sees it
		png := run(b, "screenshot", chromedp.CaptureScreenshot())
		if err := os.WriteFile(shots+"/integrations-team.png", png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Search: type and press Enter.
	b.fill(`[data-testid="search"]`, "team 0042\r")
	b.expectPath("/integrations?q=team+0042&status=")
	if got := b.text(`[data-testid="integration-row"] [data-testid="integration-name"]`); !strings.HasSuffix(got, "team 0042") {
		t.Fatalf("searching finds %q", got)
	}
	if n := run(b, "count rows", chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="integration-row"]').length`)); n != 1 {
		t.Fatalf("searching shows %d rows", n)
	}

	// Filter: choosing a status applies it at once (static/app.js), the search cleared first.
	b.click(`[data-testid="clear-filter"]`)
	b.expectPath("/integrations")
	b.do("choose Paused", chromedp.WaitReady(chromedp.CSS(`[data-testid="status-filter"]`)),
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector('[data-testid="status-filter"]');
			s.value = "paused"; s.dispatchEvent(new Event("change", {bubbles: true})) })()`))
	b.expectPath("/integrations?q=&status=paused")
	if got := b.text(`[data-testid="list-summary"]`); got != "2 integrations: Paused" {
		t.Fatalf("the paused filter says %q", got)
	}

	// Paging: Next shows the rest, in order.
	b.navigate("/integrations")
	b.click(`[data-testid="next-page"]`)
	b.expectPath("/integrations?page=2")
	if got := b.text(`[data-testid="list-summary"]`); got != "51–100 of 100 integrations" {
		t.Fatalf("page 2 says %q", got)
	}
	if shots != "" {
		b.do("resize to 390 px", chromedp.EmulateViewport(390, 800))
		b.navigate("/integrations")
		b.do("take a phone's view", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
		png := run(b, "screenshot", chromedp.CaptureScreenshot())
		if err := os.WriteFile(shots+"/integrations-phone.png", png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
