package web_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/hookhouse/hookhouse/store/warehouse"
	"github.com/hookhouse/hookhouse/web"
)

// The copy-once page builds the URL from -public-url, or else from the address the page was
// opened at, with the scheme of the connection: forwarding headers count only from a trusted
// proxy. The page says which it was, so a wrong URL can be told and fixed.
func TestCopyOnceURLIsBuiltOnlyFromWhatCanBeTrusted(t *testing.T) {
	forged := map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example", "X-Forwarded-For": "203.0.113.7"}
	for _, tc := range []struct {
		name    string
		cfg     web.Config
		host    string            // the Host header sent; empty: the real one
		headers map[string]string // sent with the Add Integration form
		prefix  string            // of the URL shown; "app" is the test server's own URL
		says    string            // in the note on where it was built from
	}{
		{"opened directly", web.Config{}, "", nil, "app", "address you used to open this page"},
		{"forged forwarding headers", web.Config{}, "", forged, "app", "not in -trusted-proxies"},
		{"a forged Host, opened directly", web.Config{}, "hooks.example.org", nil, "http://hooks.example.org/", "address you used to open this page"},
		{"-public-url", web.Config{PublicURL: "https://hooks.example.com"}, "evil.example", forged, "https://hooks.example.com/", "-public-url"},
		{"a trusted proxy", trusting(t, "127.0.0.1"), "", map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}, "https://127.0.0.1:", "your proxy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := newTestAppWith(t, warehouse.Options{}, tc.cfg)
			c := app.signedInClient(t)
			c.get("/integrations/new/vero")
			form := url.Values{"name": {"Stitch Vero"}, "_csrf": {c.csrf}}
			req, _ := http.NewRequest(http.MethodPost, app.URL+"/integrations/new/vero", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			if tc.host != "" {
				req.Host = tc.host // the client's jar would then pick cookies by it: add the session's by hand
				for _, ck := range c.http.Jar.Cookies(req.URL) {
					req.AddCookie(ck)
				}
			}
			p := c.do(req)
			expectStatus(t, p, http.StatusSeeOther)
			page := c.get(p.Header.Get("Location"))
			expectStatus(t, page, http.StatusOK)
			shown := strings.TrimSpace(testID(page, "webhook-url").Text())
			prefix := strings.Replace(tc.prefix, "app", app.URL+"/", 1)
			if !strings.HasPrefix(shown, prefix) || strings.Contains(shown, "evil.example") {
				t.Errorf("the page shows %s, want a URL starting with %s", redactToken(shown), prefix)
			}
			if note := strings.Join(strings.Fields(testID(page, "url-built-from").Text()), " "); !strings.Contains(note, tc.says) {
				t.Errorf("the note on the URL says %q, want it to mention %q", note, tc.says)
			}
		})
	}
}

func redactToken(u string) string {
	if i := strings.Index(u, "/token/"); i >= 0 {
		return u[:i] + "/token/…"
	}
	return u
}

// Two integrations added before either copy-once page is opened (two tabs): each page still
// shows its own URL, once, and each URL loads.
func TestTwoAddsBeforeEitherCopyOncePageKeepBothURLs(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	first := addIntegration(t, c, "incoming-webhooks", url.Values{"name": {"Orders"}})
	second := addIntegration(t, c, "vero", url.Values{"name": {"Stitch Vero"}})
	for _, p := range []response{first, second} {
		expectStatus(t, p, http.StatusSeeOther)
	}
	for i, p := range []response{first, second} {
		page := c.get(p.Header.Get("Location"))
		if flash, name := testID(page, "flash").Text(), []string{"Orders", "Stitch Vero"}[i]; !strings.HasPrefix(flash, name+" was added") {
			t.Errorf("%s's copy-once page says %q", name, flash)
		}
		hook := strings.TrimSpace(testID(page, "webhook-url").Text())
		if a := postWebhook(t, http.DefaultClient, http.MethodPost, hook, "application/json", []byte(`{"type":"test"}`)); a.Status != http.StatusOK {
			t.Errorf("%s: %d %s", hook, a.Status, a.Body)
		}
		if again := testID(c.get(p.Header.Get("Location")), "webhook-url").Text(); again != "" {
			t.Errorf("%s shown a second time", p.Header.Get("Location"))
		}
	}
}

// Two tabs of one session at the same moment: one opens a copy-once page while the other adds
// an integration. Each request changing the session would save the whole of it, the later
// save undoing the other's change, and the new integration's URL would be lost; a copy-once
// page needs nothing written to the session.
func TestCopyOncePagesInTwoTabsAtOnceKeepEveryURL(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	send := func(method, path string, form url.Values) *http.Response {
		req, _ := http.NewRequest(method, app.URL+path, strings.NewReader(form.Encode()))
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := c.http.Do(req)
		if err != nil {
			t.Error(err)
			return nil
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	opened := addIntegration(t, c, "vero", url.Values{"name": {"Tab 0"}}).Header.Get("Location")
	csrf := c.csrf
	for i := 1; i <= 20; i++ {
		var added *http.Response
		var wg sync.WaitGroup
		wg.Go(func() { send(http.MethodGet, opened, nil) })
		wg.Go(func() {
			added = send(http.MethodPost, "/integrations/new/vero", url.Values{"name": {fmt.Sprintf("Tab %d", i)}, "_csrf": {csrf}})
		})
		wg.Wait()
		if added == nil || added.StatusCode != http.StatusSeeOther {
			t.Fatalf("round %d: adding answered %v", i, added)
		}
		opened = added.Header.Get("Location")
		if shown := strings.TrimSpace(testID(c.get(opened), "webhook-url").Text()); shown == "" {
			t.Fatalf("round %d: %s shows no URL: the add's session write was lost beside the other tab's", i, opened)
		}
	}
}

// getFrom opens path as a browser does when site (Sec-Fetch-Site) started the navigation.
func (c *client) getFrom(path, site string) response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.app.URL+path, nil)
	req.Header.Set("Sec-Fetch-Site", site)
	return c.do(req)
}

// A copy-once page opened by another site (a top-level navigation carries the SameSite=Lax
// session cookie) shows nothing and uses nothing up: its integration and invite ids count up
// from 1, so any site could send a signed-in browser to them and spend the one showing, which
// it cannot read. From hookhouse itself (same-origin) or an address typed (none), it shows once.
func TestCopyOncePagesOpenedFromAnotherSiteUseNothingUp(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	crossSite := func(t *testing.T, path, secretID string, linksHere bool) {
		t.Helper()
		for _, site := range []string{"cross-site", "same-site"} {
			p := c.getFrom(path, site)
			expectStatus(t, p, http.StatusOK)
			if testID(p, secretID).Length() != 0 {
				t.Fatalf("%s opened %s: it shows the %s", site, path, secretID)
			}
			if held, ok := testID(p, "open-here").Attr("href"); linksHere && (!ok || held != path) {
				t.Fatalf("%s opened %s: no link to open it from hookhouse (%q); body %.600s", site, path, held, p.Body)
			}
		}
	}
	showsOnce := func(t *testing.T, path, secretID, site string) {
		t.Helper()
		if text(c.getFrom(path, site), secretID) == "" {
			t.Fatalf("%s opened %s after the other sites: no %s", site, path, secretID)
		}
		if text(c.getFrom(path, site), secretID) != "" {
			t.Fatalf("%s opened %s twice: the %s is shown again", site, path, secretID)
		}
	}

	t.Run("webhook URL", func(t *testing.T) {
		p := addIntegration(t, c, "vero", url.Values{"name": {"Stitch Vero"}})
		expectStatus(t, p, http.StatusSeeOther)
		page := p.Header.Get("Location")
		crossSite(t, page, "webhook-url", true)
		showsOnce(t, page, "webhook-url", "same-origin")
		expectStatus(t, c.post(fmt.Sprintf("%s/urls", strings.TrimSuffix(page, "/webhook-url")), nil), http.StatusSeeOther)
		crossSite(t, page, "webhook-url", true)
		showsOnce(t, page, "webhook-url", "none")
	})
	t.Run("invite link", func(t *testing.T) {
		c.get("/team")
		p := c.post("/team/invites", url.Values{"email": {mateEmail}})
		expectStatus(t, p, http.StatusSeeOther)
		page := p.Header.Get("Location")
		crossSite(t, page, "invite-link", true)
		showsOnce(t, page, "invite-link", "same-origin")
	})
	t.Run("generated signing secret", func(t *testing.T) {
		expectStatus(t, saveSigning(t, c, 1, url.Values{"scheme": {"standard-webhooks"}, "action": {"generate"}}), http.StatusSeeOther)
		crossSite(t, "/integrations/1/settings", "generated-secret", false) // Settings shows no notice: it cannot tell one waits
		showsOnce(t, "/integrations/1/settings", "generated-secret", "same-origin")
	})
}
