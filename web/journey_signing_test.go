package web_test

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Someone switches an integration to Standard Webhooks in Settings, has hookhouse generate the
// secret, gives it to the sender, and sees an unsigned request refused, with its reason, in the
// Extraction Logs.
func TestJourneySignedWebhooks(t *testing.T) {
	app := newTestApp(t)
	b := newBrowser(t, app)
	shots := os.Getenv("HOOKHOUSE_SCREENSHOTS")

	b.setupOwner()
	b.navigate("/integrations/new/incoming-webhooks")
	b.fill("#name", "Signed Orders")
	b.submit(`[data-testid="save-integration"]`)
	b.expectPath("/integrations/1/webhook-url")
	hookURL := b.text(`[data-testid="webhook-url"]`)

	// Settings: choose the scheme, generate the secret; it is shown once.
	b.navigate("/integrations/1/settings")
	if got := b.text(`[data-testid="signature-scheme"]`); !strings.HasPrefix(got, "None") {
		t.Fatalf("a new integration's verification: %q", got)
	}
	b.do("choose Standard Webhooks", chromedp.SetValue(chromedp.CSS(`[data-testid="scheme"]`), "standard-webhooks"))
	b.submit(`[data-testid="generate-secret"]`)
	b.expectPath("/integrations/1/settings#signature")
	secret := b.text(`[data-testid="generated-secret"]`)
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("generated secret %q", secret)
	}
	b.click(`[data-testid="copy-button"]`)
	b.do("wait for Copied", chromedp.WaitVisible(chromedp.CSS(`[data-testid="copied"]`)))
	if got := b.text(`[data-testid="copied"]`); got != "Copied" {
		t.Fatalf("the secret's copy confirmation says %q", got)
	}
	if got := b.text(`[data-testid="copy-button"]`); got != "Copy" { // one confirmation, beside it
		t.Fatalf("after copying, the button says %q", got)
	}
	if got := b.text(`[data-testid="secret-warning"]`); !strings.Contains(got, "shown only once. Give it") {
		t.Fatalf("the warning reads %q: its two sentences run together", got)
	}
	// A browser that refuses both ways of copying (no clipboard permission, execCommand off):
	// the page must not say Copied.
	run(b, "refuse copying", chromedp.Evaluate[bool](`navigator.clipboard.writeText = () => Promise.reject(new Error("denied"));
		document.execCommand = () => false; true`))
	b.click(`[data-testid="copy-button"]`)
	b.do("wait for the page to say the text is selected, not copied", chromedp.Poll[chromedp.Void](
		`document.querySelector('[data-testid="copied"]').textContent.startsWith("Selected")`,
		chromedp.WithPollingTimeout(5*time.Second)))
	if got := b.text(`[data-testid="signature-scheme"]`); got != "Standard Webhooks (Svix)" {
		t.Fatalf("verification after saving: %q", got)
	}
	if shots != "" { // the section only: the rest of Settings is in settings-rotated.png
		png := run(b, "screenshot the section", chromedp.Screenshot(chromedp.CSS("#signature")))
		if err := os.WriteFile(shots+"/signature-settings.png", png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The sender signs with it; an unsigned request is refused.
	body := []byte(`{"id": 7, "type": "order.created"}`)
	if a := postWithHeaders(t, hookURL, standardHeaders(secret, "msg_journey", time.Now(), body), body); a.Status != http.StatusOK || a.JSON["records"] != 1.0 {
		t.Fatalf("signed request: %d %s", a.Status, a.Body)
	}
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", body); a.Status != http.StatusUnauthorized {
		t.Fatalf("unsigned request: %d %s", a.Status, a.Body)
	}
	app.flush(t)

	// Extraction Logs: the refusal, newest first, with the reason a sender can act on.
	b.navigate("/integrations/1")
	b.click(`[data-testid="tab-extraction-logs"]`)
	b.expectPath("/integrations/1/extraction-logs")
	if got := b.text(`[data-testid="log-row"]:first-child [data-testid="log-reason"]`); !strings.Contains(got, "header webhook-id is missing") {
		t.Fatalf("the refusal's reason: %q", got)
	}
	if got := b.text(`[data-testid="log-row"]:first-child`); !strings.Contains(got, "401") {
		t.Fatalf("the refusal's row: %q", got)
	}
	if shots != "" {
		b.screenshot(shots + "/extraction-logs-signature.png")
	}

	// The secret is not shown again.
	b.navigate("/integrations/1/settings")
	if b.exists(`[data-testid="generated-secret"]`) {
		t.Fatal("the generated secret is shown a second time")
	}
	if html := run(b, "page HTML", chromedp.Evaluate[string](`document.documentElement.outerHTML`)); strings.Contains(html, secret) {
		t.Fatal("the Settings page holds the secret after it was shown")
	}
}
