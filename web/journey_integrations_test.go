package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Someone who has never seen the app adds Vero, copies its URL once, rotates it in
// Settings and revokes the old one.
func TestJourneyAddVeroCopyRotateRevoke(t *testing.T) {
	app := newTestApp(t)
	b := newBrowser(t, app)
	shots := os.Getenv("HOOKHOUSE_SCREENSHOTS")

	b.setupOwner()
	b.click(`[data-testid="add-integration"]`)
	b.expectPath("/integrations/new")
	if shots != "" {
		b.screenshot(shots + "/catalog.png")
	}
	b.click(`[data-testid="source-vero"]`)
	b.expectPath("/integrations/new/vero")

	// The schema name follows the typing (static/app.js, allowed by the CSP).
	b.fill("#name", "Stitch Vero")
	if got := b.text(`[data-testid="schema-preview"]`); got != "stitch_vero" {
		t.Fatalf("live preview shows %q, want stitch_vero", got)
	}
	if shots != "" {
		b.screenshot(shots + "/add-vero.png")
	}
	b.submit(`[data-testid="save-integration"]`)
	b.expectPath("/integrations/1/webhook-url")

	// Copy the URL: the page confirms, and the clipboard holds what the page shows.
	shown := b.text(`[data-testid="webhook-url"]`)
	token := tokenOf(t, shown)
	b.click(`[data-testid="copy-button"]`)
	b.do("wait for Copied", chromedp.WaitVisible(chromedp.CSS(`[data-testid="copied"]`)))
	if got := b.text(`[data-testid="copied"]`); got != "Copied" {
		t.Fatalf("copy confirmation says %q", got)
	}
	clip, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Logf("clipboard not readable here (%v); the element's text was checked instead", err)
	} else if strings.TrimSpace(clip) != shown {
		t.Fatalf("clipboard holds %q, page shows %q", clip, shown)
	}
	if shots != "" {
		b.screenshot(shots + "/webhook-url.png")
	}

	b.click(`[data-testid="continue"]`)
	b.expectPath("/integrations/1")
	if got := b.text(`[data-testid="integration-schema"]`); got != "stitch_vero" {
		t.Fatalf("integration page shows schema %q", got)
	}

	// Back and reload: the URL is gone for good.
	b.do("go back", chromedp.NavigateBack())
	b.expectPath("/integrations/1/webhook-url")
	b.expectURLGone(token)
	b.do("reload", chromedp.Reload())
	b.expectURLGone(token)

	// Rotate: generate a second URL, see it once, find a third impossible.
	b.navigate("/integrations/1")
	b.click(`[data-testid="tab-settings"]`)
	b.expectPath("/integrations/1/settings")
	b.submit(`[data-testid="generate-url"]`)
	b.expectPath("/integrations/1/webhook-url")
	newToken := tokenOf(t, b.text(`[data-testid="webhook-url"]`))
	if newToken == token {
		t.Fatal("Generate showed the first URL again")
	}
	b.click(`[data-testid="continue"]`)
	b.expectPath("/integrations/1/settings")
	if n := run(b, "count URL rows", chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="url-row"]').length`)); n != 2 {
		t.Fatalf("%d URL rows, want 2", n)
	}
	if !run(b, "is Generate disabled", chromedp.Evaluate[bool](`document.querySelector('[data-testid="generate-url"]').disabled`)) {
		t.Fatal("Generate Webhook URL is enabled with two active URLs")
	}
	if got := b.text(`[data-testid="url-limit"]`); !strings.Contains(got, "at most 2 active URLs") {
		t.Fatalf("the disabled button's reason: %q", got)
	}

	// Revoke the oldest, confirming the dialog.
	dialogs := chromedp.Events(b.ctx, cdppage.JavascriptDialogOpening)
	confirmed := make(chan string, 1)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			confirmed <- ev.Message
			chromedp.Call(b.ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: true})
			return
		}
	}()
	b.submit(`[data-testid="url-row"]:first-child [data-testid="revoke"]`)
	b.expectPath("/integrations/1/settings")
	if msg := <-confirmed; !strings.Contains(msg, "Revoke the URL starting "+token[:8]) {
		t.Fatalf("confirmation asked %q", msg)
	}
	if got := b.text(`[data-testid="flash"]`); !strings.Contains(got, "revoked") {
		t.Fatalf("after revoke the page says %q", got)
	}
	if got := b.text(`[data-testid="url-row"]:first-child [data-testid="revoked-at"]`); !strings.HasPrefix(got, "Revoked ") {
		t.Fatalf("the oldest row says %q", got)
	}
	if shots != "" {
		b.screenshot(shots + "/settings-rotated.png")
	}

	// The revoked URL is refused at once, with a JSON error.
	resp, err := http.Post(shown, "application/json", strings.NewReader(`{"event":"opened"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	if resp.StatusCode != http.StatusUnauthorized || json.NewDecoder(resp.Body).Decode(&body) != nil || body["error"] == "" {
		t.Fatalf("POST with the revoked URL: status %d, body %v; want 401 with a JSON error", resp.StatusCode, body)
	}
	// ... and the new one accepted.
	if status := postEvent(t, fmt.Sprintf("%s/v1/clients/1/token/%s", app.URL, newToken)); status != http.StatusOK {
		t.Fatalf("POST with the new URL: status %d, want 200", status)
	}

	// The provider still using the old URL shows in the integration's Extraction Logs: counted,
	// and one click from the 401s, each naming the revoked URL.
	b.click(`[data-testid="tab-extraction-logs"]`)
	b.expectPath("/integrations/1/extraction-logs")
	b.waitUntil("the revoked URL's request is counted", `!!document.querySelector('[data-testid="revoked-hits"]')`)
	if got := b.text(`[data-testid="revoked-hits"]`); !strings.HasPrefix(got, "1 request in the last 24 hours came to a revoked URL") {
		t.Fatalf("the revoked URL's count: %q", got)
	}
	b.click(`[data-testid="revoked-hits-link"]`)
	b.expectPath("/integrations/1/extraction-logs?result=401")
	if got := b.text(`[data-testid="log-row"] [data-testid="log-reason"]`); !strings.Contains(got, "the URL "+token[:8]+"… was revoked on") {
		t.Fatalf("the 401's reason: %q", got)
	}
}

// expectURLGone checks the copy-once page no longer shows the URL.
func (b *browserSession) expectURLGone(token string) {
	b.t.Helper()
	if b.exists(`[data-testid="webhook-url"]`) {
		b.t.Fatal("the webhook URL is visible again")
	}
	if got := b.text(`[data-testid="url-gone"]`); !strings.Contains(got, "shown once and can't be shown again") {
		b.t.Fatalf("copy-once page now says %q", got)
	}
	if html := run(b, "read the page", chromedp.Evaluate[string](`document.documentElement.outerHTML`)); strings.Contains(html, token) {
		b.t.Fatal("the token is still in the page")
	}
}

// Another site's link to a copy-once page, followed in a signed-in browser, shows nothing and
// uses nothing up (chromium sends Sec-Fetch-Site: cross-site); the page's own link then shows
// the URL (same-origin), once. The URL is made by a POST whose redirect is not followed, so it
// waits as it would for a page another site reached first.
func TestJourneyAnotherSiteCannotUseUpACopyOncePage(t *testing.T) {
	app := newTestApp(t)
	b := newBrowser(t, app)
	b.setupOwner()
	b.addFirstIntegration("vero", "Stitch Vero")
	b.navigate("/integrations/1/settings")
	status := run(b, "generate a URL without following the redirect", chromedp.Evaluate[string](`fetch("/integrations/1/urls", {
		method: "POST", redirect: "manual",
		body: new URLSearchParams({_csrf: document.querySelector('input[name="_csrf"]').value}),
	}).then(r => r.type)`, chromedp.EvalAwaitPromise))
	if status != "opaqueredirect" {
		t.Fatalf("generating a URL: response %q, want the redirect to the copy-once page", status)
	}
	page := app.URL + "/integrations/1/webhook-url"
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><a id="go" href="%s">a link</a>`, page)
	}))
	defer other.Close()
	// localhost is another site than 127.0.0.1, where the app is.
	b.do("open another site", chromedp.Navigate(strings.Replace(other.URL, "127.0.0.1", "localhost", 1)))
	b.click("#go")
	b.expectPath("/integrations/1/webhook-url")
	if b.exists(`[data-testid="webhook-url"]`) || !b.exists(`[data-testid="reveal-held"]`) {
		t.Fatal("the copy-once page opened from another site shows the URL, or does not say why it does not")
	}
	b.click(`[data-testid="open-here"]`)
	b.expectPath("/integrations/1/webhook-url")
	if !b.exists(`[data-testid="webhook-url"]`) {
		t.Fatal("the copy-once page opened from its own link shows no URL: another site used it up")
	}
	b.navigate("/integrations/1/webhook-url")
	if b.exists(`[data-testid="webhook-url"]`) || !b.exists(`[data-testid="url-gone"]`) {
		t.Fatal("the URL is shown a second time")
	}
}
