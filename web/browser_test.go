package web_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// The browser harness drives Debian's headless chromium against the real app. Without a
// chromium the journeys skip locally; under CI (CI=true) they fail instead, so a missing
// browser can never pass unnoticed.

// browserSession is one fresh browser (own user-data-dir) pointed at one test app.
type browserSession struct {
	t   *testing.T
	app *testApp
	ctx context.Context
}

// actionTimeout bounds each step, so a missing element fails the test instead of hanging it.
const actionTimeout = 20 * time.Second

func chromiumPath() string {
	if p := os.Getenv("HOOKHOUSE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

func newBrowser(t *testing.T, app *testApp) *browserSession {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("browser tests need chromium under CI: apt-get install -y chromium (or set HOOKHOUSE_CHROMIUM)")
		}
		t.Skip("chromium not found: install it (apt-get install -y chromium) to run the browser journeys")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	// The first action starts the browser; it gets no timeout of its own.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// Let the page use the clipboard, as a person clicking Copy would.
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true},
			Setting:    browser.PermissionSettingGranted,
			Origin:     app.URL,
		}); err != nil {
			t.Logf("granting %s: %v", name, err)
		}
	}
	return &browserSession{t: t, app: app, ctx: ctx}
}

// otherProfile is a second browser context of the same chromium (own cookies and storage,
// like an incognito window): another person, or the same person on another device.
func (b *browserSession) otherProfile() *browserSession {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		b.t.Fatalf("open a second browser context: %v", err)
	}
	return &browserSession{t: b.t, app: b.app, ctx: ctx}
}

// do runs steps with a timeout, failing the test with what was attempted.
func (b *browserSession) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v (at %s)", what, err, b.location())
	}
}

func run[T any](b *browserSession, what string, action chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		b.t.Fatalf("%s: %v (at %s)", what, err, b.location())
	}
	return v
}

func (b *browserSession) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	return loc
}

// navigate opens a path of the app and waits for it to load.
func (b *browserSession) navigate(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.app.URL+path))
}

// path is the current page's path and query.
func (b *browserSession) path() string {
	return strings.TrimPrefix(b.location(), b.app.URL)
}

// expectPath waits until the browser shows path (after a redirect or a form post).
func (b *browserSession) expectPath(path string) {
	b.t.Helper()
	deadline := time.Now().Add(actionTimeout)
	for b.path() != path {
		if time.Now().After(deadline) {
			b.t.Fatalf("browser is at %s, want %s", b.path(), path)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Loaded whole, not just begun: the address changes when the new document is committed,
	// and a query made while it is still parsing can find no node, or one that is then replaced
	// ("No node with given id found", seen on a loaded machine). The document's script context
	// may itself still be being replaced ("Cannot find context with specified id"): ask again.
	deadline = time.Now().Add(actionTimeout)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		complete, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState === "complete"`))
		cancel()
		if err == nil && complete {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s did not finish loading: %v (at %s)", path, err, b.location())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// text returns the visible text of the first element matching the CSS selector.
func (b *browserSession) text(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(run(b, "read "+sel, chromedp.Text(chromedp.CSS(sel))))
}

// exists reports whether an element matching sel is on the page now.
func (b *browserSession) exists(sel string) bool {
	b.t.Helper()
	return run(b, "look for "+sel, chromedp.Evaluate[bool](`document.querySelector(`+jsString(sel)+`) !== null`))
}

// fill types value into a form field, replacing what was there.
func (b *browserSession) fill(sel, value string) {
	b.t.Helper()
	b.do("fill "+sel, chromedp.Clear(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), value))
}

// click clicks the first element matching sel.
func (b *browserSession) click(sel string) {
	b.t.Helper()
	b.do("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// submit clicks a submit button and waits for the next page to load.
func (b *browserSession) submit(sel string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)); err != nil {
		b.t.Fatalf("submit %s: %v (at %s)", sel, err, b.location())
	}
}

// screenshot saves a PNG of the whole page (for the README and for looking at failures).
func (b *browserSession) screenshot(file string) {
	b.t.Helper()
	png := run(b, "screenshot", chromedp.FullScreenshot(100))
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// setupOwner creates the owner account through the first-run page and lands on Integrations.
func (b *browserSession) setupOwner() {
	b.t.Helper()
	b.navigate("/")
	b.expectPath("/setup")
	b.fill("#code", b.app.setupCode(b.t))
	b.fill("#email", ownerEmail)
	b.fill("#password", ownerPassword)
	b.submit(`form[action="/setup"] button[type="submit"]`)
	b.expectPath("/integrations")
}

// addFirstIntegration names the server's first integration, of source, on its Add
// Integration page, saves it, copies its webhook URL and continues to its overview.
func (b *browserSession) addFirstIntegration(source, name string) (hookURL string) {
	b.t.Helper()
	if b.path() != "/integrations/new/"+source {
		b.navigate("/integrations/new/" + source)
	}
	b.expectPath("/integrations/new/" + source)
	b.fill("#name", name)
	b.submit(`[data-testid="save-integration"]`)
	b.expectPath("/integrations/1/webhook-url")
	hookURL = b.text(`[data-testid="webhook-url"]`)
	b.click(`[data-testid="continue"]`)
	b.expectPath("/integrations/1")
	return hookURL
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
