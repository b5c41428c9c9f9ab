package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// The server's page is Account, so an integration's page has one Settings: its own tab,
// the one Stitch's guides mean by "click the Settings button". Old bookmarks still work.
func TestAccountPageAndOneSettingsPerIntegration(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	id, _ := mustAdd(t, c, "vero", "Stitch Vero")

	p := c.get("/account")
	expectStatus(t, p, http.StatusOK)
	if h1 := strings.TrimSpace(p.Doc.Find("h1").Text()); h1 != "Account" {
		t.Fatalf("the account page is titled %q", h1)
	}
	if got := strings.TrimSpace(testID(p, "account-email").Text()); got != ownerEmail {
		t.Fatalf("account page shows %q", got)
	}
	if cur := p.Doc.Find(`nav.sidenav a[aria-current="page"]`); cur.Text() != "Account" {
		t.Fatalf("current navigation entry: %q", cur.Text())
	}

	old := c.get("/settings")
	if old.Status != http.StatusPermanentRedirect || old.Header.Get("Location") != "/account" {
		t.Fatalf("GET /settings: %d to %q, want 308 to /account", old.Status, old.Header.Get("Location"))
	}

	for _, path := range []string{"/integrations/" + itoa(id), "/integrations/" + itoa(id) + "/settings", "/integrations/" + itoa(id) + "/data"} {
		p := c.get(path)
		expectStatus(t, p, http.StatusOK)
		var settings []string
		p.Doc.Find("a, button").Each(func(_ int, s *goquery.Selection) {
			if strings.TrimSpace(s.Text()) == "Settings" {
				settings = append(settings, s.AttrOr("href", "(a button)"))
			}
		})
		for _, href := range settings {
			if href != "/integrations/"+itoa(id)+"/settings" {
				t.Errorf("%s: links labelled Settings: %v, want only the integration's (its tab, and the hint to it)", path, settings)
			}
		}
		if len(settings) == 0 || p.Doc.Find(`[data-testid="tab-settings"]`).Length() != 1 {
			t.Errorf("%s: no Settings tab", path)
		}
		if p.Doc.Find(`nav.sidenav a[href="/account"]`).Text() != "Account" {
			t.Errorf("%s: no Account in the navigation", path)
		}
	}
}
