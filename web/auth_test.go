package web_test

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFirstRunLeadsToSetup(t *testing.T) {
	app := newTestApp(t)
	c := app.newClient(t)
	for _, path := range []string{"/", "/integrations", "/account", "/login"} {
		expectRedirect(t, c.get(path), "/setup")
	}
	p := c.get("/setup")
	expectStatus(t, p, http.StatusOK)
	if p.Doc.Find(`form[action="/setup"] input[name="email"]`).Length() != 1 {
		t.Fatal("setup page has no email field")
	}
}

func TestSetupValidatesAndCreatesOwner(t *testing.T) {
	onBothStores(t, testSetupValidatesAndCreatesOwner)
}

func testSetupValidatesAndCreatesOwner(t *testing.T, newApp func(testing.TB) *testApp) {
	app := newApp(t)
	c := app.newClient(t)
	c.get("/setup")

	// Without the code hookhouse wrote to its data folder, or with an older one, nobody becomes the owner.
	old := app.setupCode(t)
	code := app.setupCode(t) // a restart writes a new code; the old one no longer works
	for _, try := range []string{"", old, "not-the-code"} {
		p := c.post("/setup", url.Values{"code": {try}, "email": {ownerEmail}, "password": {ownerPassword}})
		expectStatus(t, p, http.StatusForbidden)
		if msg := testID(p, "form-error").Text(); !strings.Contains(msg, "setup-code") {
			t.Errorf("code %q: error %q, want it to name the file setup-code", try, msg)
		}
		if got, _ := p.Doc.Find(`input[name="email"]`).Attr("value"); got != ownerEmail {
			t.Errorf("email field lost its input: %q", got)
		}
		if has, err := app.Store.HasUsers(t.Context()); err != nil || has {
			t.Fatalf("code %q created an account (%v)", try, err)
		}
	}

	cases := []struct{ email, password, want string }{
		{"not-an-email", ownerPassword, "valid email"},
		{ownerEmail, "short", "at least 12 characters"},
		{ownerEmail, "elevenchars", "at least 12 characters"},
	}
	for _, tc := range cases {
		p := c.post("/setup", url.Values{"code": {code}, "email": {tc.email}, "password": {tc.password}})
		expectStatus(t, p, http.StatusUnprocessableEntity)
		if msg := testID(p, "form-error").Text(); !strings.Contains(msg, tc.want) {
			t.Errorf("%q/%q: error %q, want it to mention %q", tc.email, tc.password, msg, tc.want)
		}
		if got, _ := p.Doc.Find(`input[name="email"]`).Attr("value"); got != tc.email {
			t.Errorf("email field lost its input: %q", got)
		}
	}

	// Typed in capitals with spaces instead of dashes, it is the same code.
	p := c.post("/setup", url.Values{"code": {strings.ToUpper(strings.ReplaceAll(code, "-", " "))}, "email": {ownerEmail}, "password": {ownerPassword}})
	expectRedirect(t, p, "/integrations")
	p = c.get("/integrations")
	expectStatus(t, p, http.StatusOK)
	if got := testID(p, "current-user").Text(); got != ownerEmail {
		t.Fatalf("top bar shows %q, want %q", got, ownerEmail)
	}

	// Setup is closed once the owner exists, even to a forged post.
	other := app.newClient(t)
	expectRedirect(t, other.get("/setup"), "/login")
	other.get("/login")
	expectRedirect(t, other.post("/setup", url.Values{"code": {code}, "email": {"intruder@example.com"}, "password": {ownerPassword}}), "/login")
	if _, err := app.Store.Authenticate(t.Context(), "intruder@example.com", ownerPassword); err == nil {
		t.Fatal("a second owner was created through /setup")
	}
}

func TestPasswordIsNotStoredInPlaintext(t *testing.T) {
	onBothStores(t, testPasswordIsNotStoredInPlaintext)
}

func testPasswordIsNotStoredInPlaintext(t *testing.T, newApp func(testing.TB) *testApp) {
	app := newApp(t)
	app.signedInClient(t)
	assertNotInDataDir(t, app, ownerPassword)
}

func TestLoginLogout(t *testing.T) { onBothStores(t, testLoginLogout) }

func testLoginLogout(t *testing.T, newApp func(testing.TB) *testApp) {
	app := newApp(t)
	owner := app.signedInClient(t)

	// Log out: the session no longer opens dashboard pages.
	owner.get("/integrations")
	expectRedirect(t, owner.post("/logout", nil), "/login")
	expectRedirect(t, owner.get("/integrations"), "/login?next=%2Fintegrations")
	p := owner.get("/login")
	if !strings.Contains(testID(p, "flash").Text(), "signed out") {
		t.Errorf("no signed-out message after logout: %q", testID(p, "flash").Text())
	}

	// Wrong password and unknown email get the same message.
	c := app.newClient(t)
	expectRedirect(t, c.get("/account"), "/login?next=%2Faccount")
	c.get("/login?next=%2Faccount")
	wrongPass := c.post("/login", url.Values{"email": {ownerEmail}, "password": {"wrong password!"}, "next": {"/account"}})
	expectStatus(t, wrongPass, http.StatusUnauthorized)
	unknown := c.post("/login", url.Values{"email": {"nobody@example.com"}, "password": {ownerPassword}, "next": {"/account"}})
	expectStatus(t, unknown, http.StatusUnauthorized)
	if a, b := testID(wrongPass, "form-error").Text(), testID(unknown, "form-error").Text(); a == "" || a != b {
		t.Fatalf("wrong password says %q, unknown email says %q: want the same, non-empty message", a, b)
	}

	// Right credentials: back to the remembered page, with a new session token.
	before := sessionCookie(c)
	expectRedirect(t, c.post("/login", url.Values{"email": {ownerEmail}, "password": {ownerPassword}, "next": {"/account"}}), "/account")
	if after := sessionCookie(c); after == "" || after == before {
		t.Fatalf("session token not renewed at login: before %q, after %q", before, after)
	}
	p = c.get("/account")
	expectStatus(t, p, http.StatusOK)
	if got := testID(p, "account-email").Text(); got != ownerEmail {
		t.Fatalf("account shows %q", got)
	}

	// Only local paths are accepted as the post-login target.
	c2 := app.newClient(t)
	c2.get("/login")
	expectRedirect(t, c2.post("/login", url.Values{"email": {ownerEmail}, "password": {ownerPassword}, "next": {"//evil.example.com/"}}), "/integrations")
}

func TestLoginIsThrottledAfterRepeatedFailures(t *testing.T) {
	app := newTestApp(t)
	app.signedInClient(t)
	c := app.newClient(t)
	c.get("/login")
	for i := range 5 {
		p := c.post("/login", url.Values{"email": {ownerEmail}, "password": {fmt.Sprintf("wrong password %d", i)}})
		expectStatus(t, p, http.StatusUnauthorized)
	}
	p := c.post("/login", url.Values{"email": {ownerEmail}, "password": {ownerPassword}})
	expectStatus(t, p, http.StatusTooManyRequests)
	if p.Header.Get("Retry-After") == "" || !strings.Contains(testID(p, "form-error").Text(), "Too many failed sign-ins") {
		t.Fatalf("throttled sign-in: Retry-After %q, message %q", p.Header.Get("Retry-After"), testID(p, "form-error").Text())
	}
}

func TestSessionCookieFlags(t *testing.T) {
	app := newTestApp(t)
	cookie := func(p response, name string) *http.Cookie {
		t.Helper()
		for _, ck := range (&http.Response{Header: p.Header}).Cookies() {
			if ck.Name == name {
				return ck
			}
		}
		t.Fatalf("no %s cookie set", name)
		return nil
	}
	// A visitor's form token, before any session is stored: no other site's request sends it.
	if ck := cookie(app.newClient(t).get("/setup"), "hookhouse_csrf"); !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
		t.Fatalf("CSRF cookie: HttpOnly=%v SameSite=%v", ck.HttpOnly, ck.SameSite)
	}
	app.signedInClient(t)
	c := app.newClient(t)
	expectStatus(t, c.get("/login"), http.StatusOK)
	p := c.post("/login", url.Values{"email": {ownerEmail}, "password": {ownerPassword}})
	if ck := cookie(p, "hookhouse_session"); !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie: HttpOnly=%v SameSite=%v", ck.HttpOnly, ck.SameSite)
	}
}

func TestCSRFRequired(t *testing.T) {
	app := newTestApp(t)
	owner := app.signedInClient(t)
	owner.get("/integrations")

	p := owner.postRaw("/logout", nil)
	expectStatus(t, p, http.StatusForbidden)
	if !strings.Contains(p.Body, "reload the page") {
		t.Fatalf("CSRF refusal does not say what to do: %.300s", p.Body)
	}
	p = owner.postRaw("/logout", url.Values{"_csrf": {"forged"}})
	expectStatus(t, p, http.StatusForbidden)
	// Still signed in: the forged logout did nothing.
	expectStatus(t, owner.get("/integrations"), http.StatusOK)

	anon := app.newClient(t)
	expectStatus(t, anon.postRaw("/login", url.Values{"email": {ownerEmail}, "password": {ownerPassword}}), http.StatusForbidden)
}

// The CSRF token counts only in the form's body or the X-CSRF-Token header, never in the
// address: a URL is kept by proxies' logs and browser history, where the token would outlive
// the form (no dashboard page ever puts it there).
func TestCSRFTokenInTheAddressIsRefused(t *testing.T) {
	app := newTestApp(t)
	owner := app.signedInClient(t)
	owner.get("/integrations")

	p := owner.postRaw("/logout?_csrf="+url.QueryEscape(owner.csrf), nil)
	expectStatus(t, p, http.StatusForbidden)
	expectStatus(t, owner.get("/integrations"), http.StatusOK) // still signed in
	expectRedirect(t, owner.post("/logout", nil), "/login")    // the body's token works
}

// A visitor who is not signed in stores no session: the sign-in form's CSRF token lives in a
// cookie of its own until then. Each cookieless GET /login stored a session row for 12 idle
// hours before, so anyone could fill the metadata database's disk (and keep its one writer
// busy) by asking for the sign-in page.
func TestAnonymousVisitsStoreNoSession(t *testing.T) {
	app := newTestApp(t)
	app.signedInClient(t)
	db := app.metaDB(t)
	count := func() (n int) {
		t.Helper()
		if err := db.QueryRow("SELECT COUNT(*) FROM sessions").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	for range 20 {
		visitor := app.newClient(t)
		expectStatus(t, visitor.get("/login"), http.StatusOK)
		expectRedirect(t, visitor.get("/integrations"), "/login?next=%2Fintegrations")
	}
	if after := count(); after != before {
		t.Fatalf("20 visitors who did not sign in left %d sessions stored", after-before)
	}

	// The form still needs its own visitor's token: another's, or none, is refused.
	a, b := app.newClient(t), app.newClient(t)
	a.get("/login")
	b.get("/login")
	signIn := url.Values{"email": {ownerEmail}, "password": {ownerPassword}}
	expectStatus(t, a.postRaw("/login", signIn), http.StatusForbidden)
	forged := cloneValues(signIn)
	forged.Set("_csrf", b.csrf)
	expectStatus(t, a.postRaw("/login", forged), http.StatusForbidden)
	expectRedirect(t, a.post("/login", signIn), "/integrations")
	expectStatus(t, a.get("/integrations"), http.StatusOK)
	p := a.get("/team")
	expectStatus(t, p, http.StatusOK)
	if a.csrf == b.csrf || a.csrf == "" {
		t.Fatal("the signed-in page's CSRF token is the anonymous form's")
	}
	expectRedirect(t, a.post("/logout", nil), "/login")
}

func TestSessionRequired(t *testing.T) {
	app := newTestApp(t)
	app.signedInClient(t)
	anon := app.newClient(t)
	for _, path := range []string{"/", "/integrations", "/account"} {
		p := anon.get(path)
		expectRedirect(t, p, "/login?next="+url.QueryEscape(path))
	}
}

func TestHealthzAndSecurityHeaders(t *testing.T) {
	app := newTestApp(t)
	c := app.newClient(t)
	p := c.get("/healthz")
	expectStatus(t, p, http.StatusOK)
	p = c.get("/setup")
	for header, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
	} {
		if got := p.Header.Get(header); got != want {
			t.Errorf("%s: %q, want %q", header, got, want)
		}
	}
	csp := p.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy: %q", csp)
	}
}

func TestWebhookGroupNeedsNoSessionAndRedactsTokens(t *testing.T) {
	app := newTestApp(t)
	c := app.newClient(t)
	secret := "deadbeefcafe0123456789"
	p := c.postRaw("/v1/clients/1/token/"+secret, url.Values{"a": {"b"}})
	if p.Status == http.StatusForbidden || p.Status == http.StatusSeeOther {
		t.Fatalf("webhook route went through CSRF or sign-in: status %d", p.Status)
	}
	if !strings.HasPrefix(p.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("webhook error is not JSON: %q", p.Header.Get("Content-Type"))
	}
	logs := app.Logs.String()
	if strings.Contains(logs, secret) {
		t.Fatalf("token reached the logs:\n%s", logs)
	}
	if !strings.Contains(logs, "/token/…") {
		t.Fatalf("access log has no redacted webhook line:\n%s", logs)
	}
}

func TestStaticFilesAreEmbedded(t *testing.T) {
	app := newTestApp(t)
	c := app.newClient(t)
	p := c.get("/setup")
	href, ok := p.Doc.Find(`link[rel="stylesheet"]`).Attr("href")
	if !ok {
		t.Fatal("no stylesheet link")
	}
	css := c.get(href)
	expectStatus(t, css, http.StatusOK)
	if !strings.Contains(css.Header.Get("Cache-Control"), "immutable") || !strings.Contains(css.Body, ".topbar") {
		t.Fatalf("stylesheet: cache %q, %d bytes", css.Header.Get("Cache-Control"), len(css.Body))
	}
	old := c.get("/static/nope/app.css")
	expectStatus(t, old, http.StatusOK) // old versions still load, uncached
	if old.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("an old version's stylesheet: Cache-Control %q, want no-cache", old.Header.Get("Cache-Control"))
	}
	// A missing file is hookhouse's 404 page, as every other 404 (it was Go's plain text).
	for _, path := range []string{"/static/nope.css", strings.Replace(href, "app.css", "missing.css", 1), "/static/nope/icons"} {
		p := c.get(path)
		expectStatus(t, p, http.StatusNotFound)
		if testID(p, "error-page").Length() != 1 || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: Content-Type %q, body %.200q, want the error page", path, p.Header.Get("Content-Type"), p.Body)
		}
	}
}

// storedSessionKey is the key the session store keeps a session under: its token's hash, as
// scs makes it with HashTokenInStore.
func storedSessionKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// The session store holds no session's token, only its hash: whoever reads hookhouse.db (a
// backup, a copy of the folder) cannot sign in with what they read.
func TestSessionStoreHoldsNoToken(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	expectStatus(t, c.get("/integrations"), http.StatusOK)
	token := sessionCookie(c)
	db := app.metaDB(t)
	var stored []string
	rows, err := db.Query("SELECT token FROM sessions")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		rows.Scan(&k)
		stored = append(stored, k)
	}
	rows.Close()
	if !slices.Contains(stored, storedSessionKey(token)) || slices.Contains(stored, token) {
		t.Fatalf("the store keeps sessions under %q; the cookie's token is %q", stored, token)
	}
	thief := app.newClient(t)
	u, _ := url.Parse(app.URL)
	thief.http.Jar.SetCookies(u, []*http.Cookie{{Name: "hookhouse_session", Value: storedSessionKey(token)}})
	expectRedirect(t, thief.get("/integrations"), "/login?next=%2Fintegrations")
}

func sessionCookie(c *client) string {
	u, _ := url.Parse(c.app.URL)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == "hookhouse_session" {
			return ck.Value
		}
	}
	return ""
}

// A burst of parallel wrong passwords must not get more guesses verified than the throttle
// lets through one at a time: each attempt is counted before its password is checked.
func TestParallelWrongPasswordsAreCountedBeforeVerifying(t *testing.T) {
	app := newTestApp(t)
	app.signedInClient(t)
	const burst = 80
	clients := make([]*client, burst)
	for i := range clients {
		clients[i] = app.newClient(t)
		clients[i].get("/login")
	}
	answers := make([]response, burst)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			<-start
			answers[i] = c.post("/login", url.Values{"email": {ownerEmail}, "password": {fmt.Sprintf("wrong password %d", i)}})
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(began)
	// After the 5 free failures, one more attempt is let through after 1 s, another 2 s later,
	// 4 s later ...: a burst slowed down by a busy machine may see those too, never more.
	allowed := 5
	for window := time.Second; window < elapsed; window = 2*window + time.Second {
		allowed++
	}
	statuses := map[int]int{}
	for _, p := range answers {
		statuses[p.Status]++
		if p.Status == http.StatusTooManyRequests && p.Header.Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After")
		}
	}
	t.Logf("%d parallel wrong passwords in %v: %v", burst, elapsed, statuses)
	if statuses[http.StatusUnauthorized] > allowed || statuses[http.StatusUnauthorized]+statuses[http.StatusTooManyRequests] != burst {
		t.Fatalf("answers %v in %v: want at most %d verified (401), the rest 429", statuses, elapsed, allowed)
	}
	// Locked now: the right password is refused too, without being checked, until the next
	// attempt is let through: no sooner after the burst began than the schedule above says.
	nextSlot := time.Second
	for range statuses[http.StatusUnauthorized] - 5 {
		nextSlot = 2*nextSlot + time.Second
	}
	p := clients[0].post("/login", url.Values{"email": {ownerEmail}, "password": {ownerPassword}})
	if since := time.Since(began); since < nextSlot {
		expectStatus(t, p, http.StatusTooManyRequests)
	} else if p.Status != http.StatusTooManyRequests {
		t.Logf("the right password came %v after the burst began, when the throttle may let one attempt through: %d", since, p.Status)
	}
}
