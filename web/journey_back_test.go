package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// After Log out, the browser's Back button must not show what the signed-in pages showed: a
// webhook's body (customers' addresses, a provider's tokens) on a shared computer. Before,
// signed-in pages carried no Cache-Control but the copy-once ones, and Chromium showed the
// body again from its cache after sign-out; now every signed-in page is no-store, so Back asks
// the server, which sends the sign-in page.
func TestJourneyBackAfterLogOutShowsNothingOfTheSession(t *testing.T) {
	app := newTestApp(t)
	b := newBrowser(t, app)
	b.setupOwner()
	hookURL := b.addFirstIntegration("incoming-webhooks", "Shop")
	const marker = "alice.private@example.com"
	resp, err := http.Post(hookURL, "application/json", strings.NewReader(`{"email": "`+marker+`", "broken": `))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	time.Sleep(300 * time.Millisecond) // the recorder writes the log
	b.navigate("/integrations/1/extraction-logs/1")
	if !strings.Contains(b.text("main"), marker) {
		t.Fatalf("the request's page does not show its body: %s", b.text("main"))
	}
	b.submit(`[data-testid="logout"]`)
	b.expectPath("/login")
	run(b, "go back", chromedp.Evaluate[bool](`history.back(), true`))
	time.Sleep(time.Second) // a page from the cache shows without a load event to wait for
	if body := run(b, "read the page", chromedp.Evaluate[string](`document.body.innerText`)); strings.Contains(body, marker) {
		t.Fatalf("after Log out, Back shows the request's body again (at %s): %.300s", b.path(), body)
	}
}
