package web_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hookhouse/hookhouse/store"
	"github.com/hookhouse/hookhouse/store/warehouse"
	"github.com/hookhouse/hookhouse/web"
)

// dashboardRoute is one route of the dashboard as the route table declares it, with its
// parameters filled in.
type dashboardRoute struct {
	Method, Pattern, Path string
	Public                bool // /setup, /login and invite links: open without a session
	OfIntegration         bool // belongs to one integration: another user must get 404
	OfTeam                bool // a teammate or an invite of the workspace: another workspace's user must get 404
}

// dashboardRoutes lists every dashboard route of the Echo instance, so a route added later
// is crawled without touching this test. Parameters become the given integration's ids.
func dashboardRoutes(t *testing.T, app *testApp, ids map[string]string) []dashboardRoute {
	t.Helper()
	e := web.New(web.Config{Store: app.Store, Warehouse: app.Warehouse, Log: slog.New(slog.DiscardHandler), DataDir: app.DataDir})
	var list []dashboardRoute
	for _, r := range e.Routes() {
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			continue // HEAD/PUT/... on webhooks and RouteNotFound entries
		}
		if strings.HasPrefix(r.Path, "/v1/") || strings.HasPrefix(r.Path, "/static/") || r.Path == "/healthz" || r.Path == "/metrics" {
			continue
		}
		var parts []string
		for _, seg := range strings.Split(r.Path, "/") {
			if name, ok := strings.CutPrefix(seg, ":"); ok {
				v, known := ids[name]
				if !known {
					t.Fatalf("route %s %s has a parameter :%s this crawl does not know: add it to ids", r.Method, r.Path, name)
				}
				seg = v
			}
			parts = append(parts, seg)
		}
		list = append(list, dashboardRoute{
			Method: r.Method, Pattern: r.Path, Path: strings.Join(parts, "/"),
			Public:        r.Path == "/setup" || r.Path == "/login" || r.Path == "/invite/:token",
			OfIntegration: strings.HasPrefix(r.Path, "/integrations/:id"),
			OfTeam:        strings.HasPrefix(r.Path, "/team/members/:memberID") || strings.HasPrefix(r.Path, "/team/invites/:inviteID"),
		})
	}
	sort.Slice(list, func(i, j int) bool { // state-changing routes last: delete must not run first
		if list[i].Method != list[j].Method {
			return list[i].Method == http.MethodGet
		}
		return list[i].Pattern < list[j].Pattern
	})
	if len(list) < 15 {
		t.Fatalf("only %d dashboard routes found: %v", len(list), list)
	}
	return list
}

// crawlFixture is an owner with one integration holding data, a teammate and a pending
// invite, and a second account in a workspace of its own.
type crawlFixture struct {
	app          *testApp
	owner, other *client
	mate         *client // the owner's teammate
	ids          map[string]string
	hookURL      string
}

// newCrawlFixture is newIntegrationFixture with a teammate and a pending invite of the owner.
func newCrawlFixture(t *testing.T) crawlFixture {
	t.Helper()
	f := newIntegrationFixture(t)
	f.mate = f.app.teammate(t, f.owner)
	link := f.owner.invite(t, pendingEmail)
	invites, err := f.app.Store.PendingInvites(t.Context(), 1)
	if err != nil || len(invites) != 1 {
		t.Fatalf("pending invites: %v %v", invites, err)
	}
	members, err := f.app.Store.Members(t.Context(), 1)
	if err != nil || len(members) != 2 || members[1].Email != mateEmail {
		t.Fatalf("members: %v %v", members, err)
	}
	f.ids["token"], f.ids["inviteID"], f.ids["memberID"] = link[strings.LastIndex(link, "/")+1:], itoa(invites[0].ID), itoa(members[1].ID)
	return f
}

// pendingEmail is the crawl fixture's invite, never accepted.
const pendingEmail = "pending@example.com"

// newIntegrationFixture is the owner's integration and the second account of a crawlFixture.
func newIntegrationFixture(t *testing.T) crawlFixture {
	t.Helper()
	app := newTestApp(t)
	owner := app.signedInClient(t)
	id, hookURL := mustAdd(t, owner, "incoming-webhooks", "Secret Orders")
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(`{"id":1,"items":[{"sku":"a"}]}`)); a.Status != http.StatusOK {
		t.Fatalf("event: %d %s", a.Status, a.Body)
	}
	if err := app.Store.FlushActivity(t.Context()); err != nil {
		t.Fatal(err)
	}
	urls, err := app.Store.WebhookURLs(t.Context(), 1, id)
	if err != nil || len(urls) != 1 {
		t.Fatalf("webhook URLs: %v %v", urls, err)
	}
	logs, err := app.Store.ExtractionLogs(t.Context(), 1, id, store.LogFilter{}, 0, 10)
	if err != nil || len(logs) == 0 {
		t.Fatalf("extraction logs: %v %v", logs, err)
	}

	other := app.secondUser(t)

	return crawlFixture{app: app, owner: owner, other: other, hookURL: hookURL, ids: map[string]string{
		"id": itoa(id), "urlID": itoa(urls[0].ID), "requestID": itoa(logs[0].ID),
		"source": "incoming-webhooks", "table": "data", "row": "1", "secretID": "1",
	}}
}

// assertUntouched checks that the owner's integration survived the crawl as it was.
func (f crawlFixture) assertUntouched(t *testing.T) {
	t.Helper()
	p := f.owner.get("/integrations/" + f.ids["id"])
	expectStatus(t, p, http.StatusOK)
	if got := strings.TrimSpace(testID(p, "integration-name").Text()); got != "Secret Orders" {
		t.Fatalf("integration name is now %q", got)
	}
	if got := strings.TrimSpace(testID(p, "integration-status").Text()); got != "Active" {
		t.Fatalf("integration status is now %q", got)
	}
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, f.hookURL, "application/json", []byte(`{"id":2}`)); a.Status != http.StatusOK {
		t.Fatalf("the webhook URL stopped working: %d %s", a.Status, a.Body)
	}
	n, err := f.app.Store.WebhookURLs(t.Context(), 1, mustInt(t, f.ids["id"]))
	if err != nil || len(n) != 1 {
		t.Fatalf("webhook URLs after the crawl: %v %v", n, err)
	}
	// The team as it was: the teammate still signed in, the invite still pending.
	expectStatus(t, f.mate.get("/integrations"), http.StatusOK)
	p = f.owner.get("/team")
	if got := strings.Join(memberEmails(p), ","); got != ownerEmail+":Owner,"+mateEmail+":Member" {
		t.Fatalf("members after the crawl: %q", got)
	}
	if p.Doc.Find(`tr[data-email="`+pendingEmail+`"]`).Length() != 1 {
		t.Fatal("the pending invite is gone after the crawl")
	}
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCrawlWithoutASessionIsRefused(t *testing.T) {
	f := newCrawlFixture(t)
	stranger := f.app.newClient(t)
	crawled := 0
	for _, r := range dashboardRoutes(t, f.app, f.ids) {
		if r.Public {
			continue
		}
		crawled++
		var p response
		if r.Method == http.MethodGet {
			p = stranger.get(r.Path)
			expectRedirect(t, p, "/login?next="+url.QueryEscape(r.Path))
			continue
		}
		// A POST without a session has no CSRF token to match: refused before sign-in is checked.
		p = stranger.post(r.Path, url.Values{"name": {"Hijacked"}})
		if p.Status != http.StatusForbidden && p.Status != http.StatusSeeOther {
			t.Errorf("%s %s without a session: %d", r.Method, r.Pattern, p.Status)
		}
		if p.Status == http.StatusSeeOther && !strings.HasPrefix(p.Header.Get("Location"), "/login") {
			t.Errorf("%s %s without a session redirects to %q", r.Method, r.Pattern, p.Header.Get("Location"))
		}
		if strings.Contains(p.Body, "Secret Orders") {
			t.Errorf("%s %s shows the integration to a stranger", r.Method, r.Pattern)
		}
	}
	t.Logf("crawled %d dashboard routes without a session: all refused", crawled)
	f.assertUntouched(t)
}

func TestCrawlWithAnotherUsersSessionIsRefused(t *testing.T) {
	f := newCrawlFixture(t)
	f.other.get("/integrations") // loads a CSRF token for the other user's session
	crawled := 0
	for _, r := range dashboardRoutes(t, f.app, f.ids) {
		var p response
		if r.Method == http.MethodGet {
			p = f.other.get(r.Path)
		} else {
			if r.Pattern == "/logout" {
				continue
			}
			p = f.other.post(r.Path, url.Values{"name": {"Hijacked"}, "primary_key": {"id"}})
		}
		if strings.Contains(p.Body, "Secret Orders") || strings.Contains(p.Body, "secret_orders") {
			t.Errorf("%s %s shows the owner's integration to another user (%d)", r.Method, r.Pattern, p.Status)
		}
		// The invite link's own page names its invitee, to whoever holds the link.
		if !r.Public && (strings.Contains(p.Body, mateEmail) || strings.Contains(p.Body, pendingEmail)) {
			t.Errorf("%s %s shows the owner's team to another user (%d)", r.Method, r.Pattern, p.Status)
		}
		if !r.OfIntegration && !r.OfTeam {
			continue
		}
		crawled++
		if p.Status != http.StatusNotFound {
			t.Errorf("%s %s with another user's session: %d, want 404", r.Method, r.Pattern, p.Status)
		}
	}
	t.Logf("crawled %d integration and team routes with another user's session: all 404", crawled)
	f.assertUntouched(t)
}

func TestEveryStateChangingRouteNeedsTheCSRFToken(t *testing.T) {
	f := newCrawlFixture(t)
	posts := 0
	for _, r := range dashboardRoutes(t, f.app, f.ids) {
		if r.Method != http.MethodPost {
			continue
		}
		posts++
		for name, form := range map[string]url.Values{
			"no token":    {"name": {"Hijacked"}},
			"wrong token": {"name": {"Hijacked"}, "_csrf": {strings.Repeat("0", 64)}},
		} {
			p := f.owner.postRaw(r.Path, form)
			if p.Status != http.StatusForbidden {
				t.Errorf("%s %s with %s: %d, want 403", r.Method, r.Pattern, name, p.Status)
			}
		}
	}
	t.Logf("%d state-changing routes refuse a POST without the CSRF token", posts)
	f.assertUntouched(t)
}

// Every dashboard page sends the security headers, the copy-once page is never cached, and
// the session cookie is HttpOnly, SameSite=Lax and Secure behind https.
func TestSecurityHeadersOnEveryPage(t *testing.T) {
	f := newCrawlFixture(t)
	pages := 0
	for _, r := range dashboardRoutes(t, f.app, f.ids) {
		if r.Method != http.MethodGet {
			continue
		}
		p := f.owner.get(r.Path)
		pages++
		h := p.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", r.Pattern, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: nosniff %q, Referrer-Policy %q, X-Frame-Options %q", r.Pattern,
				h.Get("X-Content-Type-Options"), h.Get("Referrer-Policy"), h.Get("X-Frame-Options"))
		}
	}
	t.Logf("%d dashboard pages checked for security headers", pages)

	// The copy-once page of a new URL: headers and no-store on the page that holds the secret.
	p := f.owner.post("/integrations/"+f.ids["id"]+"/urls", nil)
	expectStatus(t, p, http.StatusSeeOther)
	p = f.owner.get(p.Header.Get("Location"))
	if testID(p, "webhook-url").Length() != 1 {
		t.Fatalf("no new URL shown: %.500s", p.Body)
	}
	if p.Header.Get("Cache-Control") != "no-store" || p.Header.Get("Referrer-Policy") != "no-referrer" ||
		!strings.Contains(p.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatalf("copy-once page headers: %v", p.Header)
	}

	// Behind https the session cookie is Secure as well.
	secure := newTestAppWith(t, warehouse.Options{}, web.Config{PublicURL: "https://hooks.example.com"})
	resp, err := http.Get(secure.URL + "/setup")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	var found bool
	for _, ck := range resp.Cookies() {
		if ck.Name == "hookhouse_csrf" { // the form's token: no session is stored before sign-in
			found = true
			if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" {
				t.Fatalf("CSRF cookie behind https: HttpOnly=%v Secure=%v SameSite=%v Path=%q", ck.HttpOnly, ck.Secure, ck.SameSite, ck.Path)
			}
		}
	}
	if !found {
		t.Fatalf("no CSRF cookie on /setup: %v", resp.Header["Set-Cookie"])
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// A teammate gets every page of the workspace's integrations as the owner does, and none of
// the owner-only team actions.
func TestCrawlAsATeammate(t *testing.T) {
	f := newCrawlFixture(t)
	f.mate.get("/team")
	pages, refused := 0, 0
	for _, r := range dashboardRoutes(t, f.app, f.ids) {
		switch {
		case r.Method == http.MethodGet && r.OfIntegration:
			pages++
			want, got := f.owner.get(r.Path), f.mate.get(r.Path)
			if got.Status != want.Status || (got.Status == http.StatusOK && !strings.Contains(got.Body, "Secret Orders")) {
				t.Errorf("GET %s: the teammate gets %d, the owner %d", r.Pattern, got.Status, want.Status)
			}
		case r.Method == http.MethodPost && (r.OfTeam || r.Pattern == "/team/invites"):
			refused++
			if p := f.mate.post(r.Path, url.Values{"email": {"friend@example.com"}}); p.Status != http.StatusForbidden {
				t.Errorf("POST %s by the teammate: %d, want 403", r.Pattern, p.Status)
			}
		}
	}
	t.Logf("a teammate gets %d integration pages like the owner, and is refused %d owner-only actions", pages, refused)
	f.assertUntouched(t)
}
