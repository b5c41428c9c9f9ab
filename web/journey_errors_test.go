package web_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// waitForFocus waits for the browser to focus the element with id: autofocus applies at the
// next rendering after the page loads, not at once.
func (b *browserSession) waitForFocus(id string) {
	b.t.Helper()
	deadline := time.Now().Add(actionTimeout)
	for run(b, "read the focus", chromedp.Evaluate[string](`document.activeElement.id`)) != id {
		if time.Now().After(deadline) {
			b.t.Fatalf("the focus never came to #%s", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.do("let the page scroll", chromedp.Evaluate[chromedp.Void](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))`, chromedp.EvalAwaitPromise))
}

// focusedError reports the focused field and whether the message it points to is on screen.
func (b *browserSession) focusedError() (field string, visible bool, message string) {
	b.t.Helper()
	got := run(b, "look at the focused field", chromedp.Evaluate[map[string]any](`(() => {
		const f = document.activeElement;
		const msg = document.getElementById(f.getAttribute("aria-describedby") || "");
		const r = msg ? msg.getBoundingClientRect() : null;
		return {
			field: f.id + (f.getAttribute("aria-invalid") === "true" ? " (invalid)" : ""),
			visible: r !== null && r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0,
			message: msg ? msg.textContent.trim() : "",
		};
	})()`))
	field, _ = got["field"].(string)
	visible, _ = got["visible"].(bool)
	message, _ = got["message"].(string)
	return field, visible, message
}

// A failed form comes back with the focus on the field in error and its message beside it,
// in view, on a desktop and on a phone; and the keyboard can skip to the content.
func TestJourneyErrorsWhereTheEyeIs(t *testing.T) {
	app := newTestApp(t)
	b := newBrowser(t, app)
	b.setupOwner()

	for _, w := range []int64{1280, 390} {
		b.do(fmt.Sprintf("resize to %d px", w), chromedp.EmulateViewport(w, 800))

		// Add Integration with an empty name.
		b.navigate("/integrations/new/vero")
		b.submit(`[data-testid="save-integration"]`)
		b.waitForFocus("name")
		field, visible, msg := b.focusedError()
		if field != "name (invalid)" || !visible || !strings.Contains(msg, "Enter an integration name") {
			t.Fatalf("%d px, empty name: focus on %q, message %q visible %v", w, field, msg, visible)
		}
	}
	b.do("resize to 1280 px", chromedp.EmulateViewport(1280, 800))
	b.fill("#name", "Stitch Vero")
	b.submit(`[data-testid="save-integration"]`)
	b.expectPath("/integrations/1/webhook-url")

	// The delete confirmation sits at the bottom of Settings: a wrong one comes back there.
	for _, w := range []int64{1280, 390} {
		b.do(fmt.Sprintf("resize to %d px", w), chromedp.EmulateViewport(w, 800))
		b.navigate("/integrations/1/settings")
		b.fill("#confirm_schema", "stitch_ver")
		b.submit(`[data-testid="delete-keep"]`)
		b.waitForFocus("confirm_schema")
		if got := run(b, "read the scroll position", chromedp.Evaluate[float64](`window.scrollY`)); got == 0 {
			t.Errorf("%d px: the page came back at the top", w)
		}
		field, visible, msg := b.focusedError()
		if field != "confirm_schema (invalid)" || !visible || !strings.Contains(msg, "Type the schema name exactly, stitch_vero") {
			t.Fatalf("%d px, wrong confirmation: focus on %q, message %q visible %v", w, field, msg, visible)
		}
		if v := run(b, "read the field", chromedp.Evaluate[string](`document.activeElement.value`)); v != "stitch_ver" {
			t.Fatalf("the field now holds %q, want what was typed", v)
		}
	}
	b.do("resize to 1280 px", chromedp.EmulateViewport(1280, 800))

	// Tab from the top reaches Skip to content first; Enter moves to the page's content.
	b.navigate("/integrations/1")
	b.do("press Tab", chromedp.KeyEvent("\t"))
	if got := run(b, "read the focus", chromedp.Evaluate[string](`document.activeElement.textContent.trim()`)); got != "Skip to content" {
		t.Fatalf("the first Tab reaches %q", got)
	}
	if !run(b, "is the skip link visible", chromedp.Evaluate[bool](`document.activeElement.getBoundingClientRect().top >= 0`)) {
		t.Fatal("the focused skip link is out of sight")
	}
	b.do("press Enter", chromedp.KeyEvent("\r"))
	if got := run(b, "read the focus", chromedp.Evaluate[string](`document.activeElement.id`)); got != "content" {
		t.Fatalf("after Skip to content the focus is on %q, want the main content", got)
	}
}
