package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// snippetsShowAll checks, at 1280 and 390 px, that each command to copy (a .snippet's pre)
// shows all its text: nothing past the box's right or bottom edge.
func (b *browserSession) snippetsShowAll(page string) {
	b.t.Helper()
	for _, w := range []int64{1280, 390} {
		b.do(fmt.Sprintf("resize to %d px", w), chromedp.EmulateViewport(w, 900))
		cut := run(b, "measure the snippets of "+page, chromedp.Evaluate[string](`(() => {
			const pres = [...document.querySelectorAll(".snippet pre")];
			if (pres.length === 0) return "no snippet";
			return pres.filter(p => p.scrollWidth > p.clientWidth + 1 || p.scrollHeight > p.clientHeight + 1)
				.map(p => p.id + ": " + p.scrollWidth + "x" + p.scrollHeight + " px of text in " + p.clientWidth + "x" + p.clientHeight).join("; ");
		})()`))
		if cut != "" {
			b.t.Errorf("%s at %d px: a snippet is cut: %s", page, w, cut)
		}
	}
	b.do("back to desktop width", chromedp.EmulateViewport(1280, 900))
}

// sectionSpacing is how a page spaces its panels, in px: from what is above the first panel
// to it, between panels, and from each panel's top edge to its heading.
func (b *browserSession) sectionSpacing(page string) string {
	b.t.Helper()
	return run(b, "measure the sections of "+page, chromedp.Evaluate[string](`(() => {
		const panels = [...document.querySelectorAll("main section.panel")];
		if (panels.length === 0) return "no panel";
		const box = (e) => e.getBoundingClientRect();
		let above = panels[0].previousElementSibling;
		while (above && box(above).height === 0) above = above.previousElementSibling;
		const lead = above ? Math.round(box(panels[0]).top - box(above).bottom) : "none";
		const gaps = new Set(panels.slice(1).map((p, i) => Math.round(box(p).top - box(panels[i]).bottom)));
		const heads = new Set(panels.map(p => Math.round(box(p.firstElementChild).top - box(p).top)));
		return "above " + lead + ", between " + [...gaps].join("/") + ", heading " + [...heads].join("/");
	})()`))
}

// chooseScheme picks a scheme in the Settings form as a person does: the select changes and
// says so (a change event), without a reload.
func (b *browserSession) chooseScheme(value string) {
	b.t.Helper()
	run(b, "choose "+value, chromedp.Evaluate[bool](`(() => {
		const s = document.querySelector('[data-testid="scheme"]');
		s.value = `+jsString(value)+`;
		return s.dispatchEvent(new Event("change", { bubbles: true }));
	})()`))
}

// Details a user notices: a copied command shows all of itself, the HMAC fields show only for
// HMAC (and follow the scheme chosen without a reload), and Account and Team space their
// sections as an integration's Settings does.
func TestJourneyDashboardDetails(t *testing.T) {
	app := newTestApp(t)
	b := newBrowser(t, app)
	b.setupOwner()
	b.navigate("/integrations/new/incoming-webhooks")
	b.fill("#name", "Orders from the warehouse management system, EU")
	b.fill("#primary_key", "id")
	b.submit(`[data-testid="save-integration"]`)
	b.expectPath("/integrations/1/webhook-url")
	hookURL := b.text(`[data-testid="webhook-url"]`)
	b.snippetsShowAll("the webhook URL page")

	body := `[{"id": 1, "type": "sent"}, {"id": 2, "type": "sent", "big": 92233720368547758070}]`
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(body)); a.Status != http.StatusOK {
		t.Fatalf("webhook: %d %s", a.Status, a.Body)
	}
	app.flush(t)
	b.navigate("/integrations/1/data")
	b.snippetsShowAll("the Data page")
	b.navigate("/integrations/1/data?table=data_latest") // the longest: Stitch's query as well
	b.snippetsShowAll("data_latest's Data page")

	// Signature verification: the HMAC fields are hidden until HMAC is chosen, then filled and saved.
	b.navigate("/integrations/1/settings")
	settingsSpacing := b.sectionSpacing("Settings")
	if b.visible("#hmac-header") {
		t.Error("with no verification the HMAC fields show")
	}
	b.chooseScheme("hmac")
	if !b.visible("#hmac-header") {
		t.Fatal("HMAC chosen: its fields do not show")
	}
	b.chooseScheme("stripe")
	if b.visible("#hmac-header") {
		t.Error("Stripe chosen after HMAC: the HMAC fields still show")
	}
	b.chooseScheme("hmac")
	b.fill("#hmac-header", "X-Signature")
	b.fill("#secret", "s3cret")
	b.submit(`[data-testid="save-signature"]`)
	b.expectPath("/integrations/1/settings#signature")
	if got := b.text(`[data-testid="signature-scheme"]`); got != "HMAC of the body" {
		t.Fatalf("verification after saving HMAC: %q", got)
	}
	if !b.visible("#hmac-header") {
		t.Error("HMAC saved: its fields do not show")
	}

	// Account and Team: spaced as Settings is.
	if !strings.HasPrefix(settingsSpacing, "above ") {
		t.Fatalf("Settings' sections: %s", settingsSpacing)
	}
	for _, page := range []string{"/account", "/team"} {
		b.navigate(page)
		if got := b.sectionSpacing(page); got != settingsSpacing {
			t.Errorf("%s spaces its sections %s; Settings: %s", page, got, settingsSpacing)
		}
	}
}
