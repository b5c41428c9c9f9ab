package web_test

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver

	"github.com/hookhouse/hookhouse/store"
	"github.com/hookhouse/hookhouse/store/pgtest"
	"github.com/hookhouse/hookhouse/store/warehouse"
	"github.com/hookhouse/hookhouse/web"
)

// addIntegration submits the Add Integration form for a source.
func addIntegration(t *testing.T, c *client, slug string, form url.Values) response {
	t.Helper()
	c.get("/integrations/new/" + slug)
	return c.post("/integrations/new/"+slug, form)
}

// mustAdd adds an integration and returns its id and the webhook URL shown once.
func mustAdd(t *testing.T, c *client, slug, name string) (int64, string) {
	t.Helper()
	return mustAddKeyed(t, c, slug, name, "")
}

// mustAddKeyed is mustAdd with a primary key (where the source lets the user choose it).
func mustAddKeyed(t *testing.T, c *client, slug, name, primaryKey string) (int64, string) {
	t.Helper()
	p := addIntegration(t, c, slug, url.Values{"name": {name}, "primary_key": {primaryKey}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("add %s %q: status %d; body %.500s", slug, name, p.Status, p.Body)
	}
	var id int64
	if _, err := fmt.Sscanf(p.Header.Get("Location"), "/integrations/%d/webhook-url", &id); err != nil {
		t.Fatalf("add redirects to %q", p.Header.Get("Location"))
	}
	return id, revealedURL(t, c, p.Header.Get("Location"))
}

// revealedURL opens the copy-once page and returns the URL it shows.
func revealedURL(t *testing.T, c *client, path string) string {
	t.Helper()
	p := c.get(path)
	expectStatus(t, p, http.StatusOK)
	u := strings.TrimSpace(testID(p, "webhook-url").Text())
	if u == "" {
		t.Fatalf("%s shows no webhook URL; body %.800s", path, p.Body)
	}
	return u
}

var webhookURLShape = regexp.MustCompile(`^(http://127\.0\.0\.1:\d+)/v1/clients/(\d+)/token/([0-9a-f]{64})$`)

func tokenOf(t *testing.T, webhookURL string) string {
	t.Helper()
	m := webhookURLShape.FindStringSubmatch(webhookURL)
	if m == nil {
		t.Fatalf("webhook URL %q is not <public url>/v1/clients/<id>/token/<64 hex>", webhookURL)
	}
	return m[3]
}

func TestAddIntegrationCatalog(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)

	p := c.get("/integrations")
	expectStatus(t, p, http.StatusOK)
	if href, _ := testID(p, "add-integration").Attr("href"); href != "/integrations/new" {
		t.Fatalf("Add Integration links to %q", href)
	}
	p = c.get("/integrations/new")
	expectStatus(t, p, http.StatusOK)
	for _, slug := range []string{"vero", "iterable", "mandrill", "incoming-webhooks", "sendgrid", "customerio"} {
		tile := testID(p, "source-"+slug)
		if tile.Length() != 1 || tile.Find(".tile-desc").Text() == "" {
			t.Fatalf("catalog tile for %s missing or without a description", slug)
		}
		icon, _ := tile.Find("img").Attr("src")
		if r := c.get(strings.TrimPrefix(icon, app.URL)); r.Status != http.StatusOK || !strings.Contains(r.Header.Get("Content-Type"), "svg") {
			t.Fatalf("icon %s of %s: status %d, type %q", icon, slug, r.Status, r.Header.Get("Content-Type"))
		}
	}
	expectStatus(t, c.get("/integrations/new/not-a-source"), http.StatusNotFound)
	expectStatus(t, c.post("/integrations/new/not-a-source", url.Values{"name": {"x"}}), http.StatusNotFound)

	p = c.get("/integrations/new/vero")
	expectStatus(t, p, http.StatusOK)
	if !strings.Contains(p.Doc.Find("form").Text(), "cannot be changed after saving") {
		t.Fatal("the form does not say the schema name is fixed")
	}
	if p.Doc.Find(`details summary[data-testid="custom-schema"]`).Length() != 1 || p.Doc.Find(`input[name="schema"]`).Length() != 1 {
		t.Fatal("no way to use a different schema name")
	}
	if p.Doc.Find(`[style], [onclick], [oninput], script:not([src])`).Length() != 0 {
		t.Fatal("inline script or style would break the CSP")
	}
}

func TestAddVeroShowsTheURLExactlyOnce(t *testing.T) {
	onBothStores(t, testAddVeroShowsTheURLExactlyOnce)
}

func testAddVeroShowsTheURLExactlyOnce(t *testing.T, newApp func(testing.TB) *testApp) {
	app := newApp(t)
	c := app.signedInClient(t)

	p := addIntegration(t, c, "vero", url.Values{"name": {"Stitch Vero"}})
	expectRedirect(t, p, "/integrations/1/webhook-url")

	p = c.get("/integrations/1/webhook-url")
	expectStatus(t, p, http.StatusOK)
	if cc := p.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("copy-once page Cache-Control %q, want no-store", cc)
	}
	webhookURL := strings.TrimSpace(testID(p, "webhook-url").Text())
	token := tokenOf(t, webhookURL)
	if m := webhookURLShape.FindStringSubmatch(webhookURL); m[1] != app.URL || m[2] != "1" {
		t.Fatalf("URL %s: want base %s and integration 1", webhookURL, app.URL)
	}
	if target, _ := testID(p, "copy-button").Attr("data-copy-target"); target != "webhook-url" {
		t.Fatalf("Copy button copies #%s", target)
	}
	if testID(p, "copied").Length() != 1 {
		t.Fatal("no place for the Copied confirmation")
	}
	if w := testID(p, "secret-warning").Text(); !strings.Contains(w, "shown only once") || !strings.Contains(w, "password") {
		t.Fatalf("warning says %q", w)
	}
	if steps := testID(p, "setup-steps").Text(); !strings.Contains(steps, "Notification URL") || !strings.Contains(steps, "Add Webhooks Integration") {
		t.Fatalf("Vero steps: %q", steps)
	}
	if href, _ := testID(p, "continue").Attr("href"); href != "/integrations/1" {
		t.Fatalf("Continue leads to %q", href)
	}
	if !strings.Contains(testID(p, "flash").Text(), "Stitch Vero was added") {
		t.Fatalf("flash: %q", testID(p, "flash").Text())
	}

	// Reload: gone for good, and still not cacheable.
	p = c.get("/integrations/1/webhook-url")
	expectStatus(t, p, http.StatusOK)
	if p.Header.Get("Cache-Control") != "no-store" || testID(p, "webhook-url").Length() != 0 || strings.Contains(p.Body, token) {
		t.Fatal("the URL is shown a second time")
	}
	if !strings.Contains(testID(p, "url-gone").Text(), "This URL was shown once and can't be shown again. Generate a new one in Settings.") {
		t.Fatalf("second visit says %q", testID(p, "url-gone").Text())
	}

	// The integration page has the facts and never the token.
	p = c.get("/integrations/1")
	expectStatus(t, p, http.StatusOK)
	for id, want := range map[string]string{
		"integration-name":   "Stitch Vero",
		"integration-source": "Vero",
		"integration-schema": "stitch_vero",
		"integration-status": "Waiting for first event", // Active once something arrives
		"last-event":         "No events yet",
	} {
		if got := strings.TrimSpace(testID(p, id).Text()); got != want {
			t.Errorf("%s: %q, want %q", id, got, want)
		}
	}
	if href, _ := testID(p, "tab-settings").Attr("href"); href != "/integrations/1/settings" {
		t.Fatalf("Settings tab links to %q", href)
	}
	p = c.get("/integrations")
	if rows := testID(p, "integration-row"); rows.Length() != 1 || !strings.Contains(rows.Text(), "stitch_vero") {
		t.Fatalf("list: %q", rows.Text())
	}
	for _, path := range []string{"/integrations", "/integrations/1", "/integrations/1/settings"} {
		if strings.Contains(c.get(path).Body, token) {
			t.Fatalf("%s shows the token", path)
		}
	}

	// Only the hash is stored; the token is in no file and no log line.
	if _, err := app.Store.WebhookTarget(t.Context(), 1, token); err != nil {
		t.Fatalf("the shown URL does not authenticate: %v", err)
	}
	assertNotInDataDir(t, app, token)
	assertNotInDataDir(t, app, token[store.TokenPrefixLength:])
	if strings.Contains(app.Logs.String(), token) {
		t.Fatal("the token is in the logs")
	}
}

func TestTheURLIsOnlyRevealedToTheSessionThatCreatedIt(t *testing.T) {
	onBothStores(t, testTheURLIsOnlyRevealedToTheSessionThatCreatedIt)
}

func testTheURLIsOnlyRevealedToTheSessionThatCreatedIt(t *testing.T, newApp func(testing.TB) *testApp) {
	app := newApp(t)
	c := app.signedInClient(t)
	p := addIntegration(t, c, "vero", url.Values{"name": {"Vero"}})
	expectRedirect(t, p, "/integrations/1/webhook-url")

	// The same account signed in elsewhere cannot pick it up.
	other := app.newClient(t)
	other.get("/login")
	expectRedirect(t, other.post("/login", url.Values{"email": {ownerEmail}, "password": {ownerPassword}}), "/integrations")
	if p := other.get("/integrations/1/webhook-url"); testID(p, "webhook-url").Length() != 0 {
		t.Fatal("another session sees the new URL")
	}
	revealedURL(t, c, "/integrations/1/webhook-url")
}

func TestSchemaNameRules(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	mustAdd(t, c, "vero", "Stitch Vero")

	for _, tc := range []struct {
		name, schema string
		wantSchema   string // created with this schema; "" means refused
		errField     string
		errText      string
	}{
		{name: "Mandrill (EU) v1.2", wantSchema: "mandrill_eu_v12"},
		{name: "Café Crème", wantSchema: "cafe_creme"},
		{name: "Ünïcödé-Events", wantSchema: "unicode_events"},
		{name: "Anything", schema: "my_schema", wantSchema: "my_schema"},
		{name: "Stitch-Vero", errField: "schema", errText: "stitch_vero is already in use"},
		{name: "STITCH VERO", errField: "schema", errText: "already in use"},
		{name: "Other", schema: "stitch_vero", errField: "schema", errText: "already in use"},
		{name: "日本語", errField: "schema", errText: "Enter a schema name"},
		{name: "3 Vero", errField: "schema", errText: "must start with a letter"},
		{name: "Main", errField: "schema", errText: "reserved"},
		{name: "Other", schema: "sqlite_stuff", errField: "schema", errText: "reserved"},
		{name: "Other", schema: "Has Caps", errField: "schema", errText: "only lowercase letters"},
		{name: "Other", schema: "bad-dash", errField: "schema", errText: "only lowercase letters"},
		{name: strings.Repeat("a", 64), errField: "schema", errText: "at most 63"},
		{name: "   ", errField: "name", errText: "Enter an integration name"},
		{name: strings.Repeat("n", 101), errField: "name", errText: "at most 100"},
	} {
		p := addIntegration(t, c, "incoming-webhooks", url.Values{"name": {tc.name}, "schema": {tc.schema}})
		if tc.wantSchema != "" {
			if p.Status != http.StatusSeeOther {
				t.Errorf("%q/%q: status %d, want created; error %q", tc.name, tc.schema, p.Status, p.Doc.Find(".field-error").Text())
				continue
			}
			var id int64
			fmt.Sscanf(p.Header.Get("Location"), "/integrations/%d/", &id)
			if got := strings.TrimSpace(testID(c.get(fmt.Sprintf("/integrations/%d", id)), "integration-schema").Text()); got != tc.wantSchema {
				t.Errorf("%q/%q: schema %q, want %q", tc.name, tc.schema, got, tc.wantSchema)
			}
			continue
		}
		if p.Status != http.StatusUnprocessableEntity {
			t.Errorf("%q/%q: status %d, want 422", tc.name, tc.schema, p.Status)
			continue
		}
		if got := testID(p, "error-"+tc.errField).Text(); !strings.Contains(got, tc.errText) {
			t.Errorf("%q/%q: %s error %q, want it to say %q", tc.name, tc.schema, tc.errField, got, tc.errText)
		}
		// The input is kept.
		if v, _ := p.Doc.Find("#name").Attr("value"); v != strings.TrimSpace(tc.name) {
			t.Errorf("%q: name field comes back as %q", tc.name, v)
		}
		if v, _ := p.Doc.Find("#schema").Attr("value"); v != tc.schema {
			t.Errorf("%q: schema field comes back as %q", tc.schema, v)
		}
	}

	// The form's first paint shows the schema the kept name gives.
	p := addIntegration(t, c, "vero", url.Values{"name": {"Stitch Vero"}})
	if got := testID(p, "schema-preview").Text(); got != "stitch_vero" {
		t.Fatalf("preview %q", got)
	}
}

func TestPrimaryKeyRules(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)

	p := addIntegration(t, c, "incoming-webhooks", url.Values{"name": {"Orders"}, "primary_key": {" order_id "}})
	expectRedirect(t, p, "/integrations/1/webhook-url")
	if got := testID(c.get("/integrations/1/settings"), "primary-key").Text(); got != "order_id" {
		t.Fatalf("primary key %q, want order_id", got)
	}

	for key, want := range map[string]string{
		strings.Repeat("k", 51): "at most 50",
		"data.id":               "top-level",
	} {
		p := addIntegration(t, c, "incoming-webhooks", url.Values{"name": {"Keyed"}, "primary_key": {key}})
		expectStatus(t, p, http.StatusUnprocessableEntity)
		if got := testID(p, "error-primary_key").Text(); !strings.Contains(got, want) {
			t.Errorf("key %q: error %q, want %q", key, got, want)
		}
		if v, _ := p.Doc.Find("#primary_key").Attr("value"); v != key {
			t.Errorf("key %q comes back as %q", key, v)
		}
	}

	// A branded source with a stable event id shows its key read-only and ignores a forged one.
	p = c.get("/integrations/new/customerio")
	if v, _ := testID(p, "fixed-primary-key").Attr("value"); v != "event_id" {
		t.Fatalf("Customer.io key shown as %q", v)
	}
	if _, ok := testID(p, "fixed-primary-key").Attr("readonly"); !ok {
		t.Fatal("Customer.io key is editable")
	}
	p = c.post("/integrations/new/customerio", url.Values{"name": {"CIO"}, "primary_key": {"forged"}})
	expectRedirect(t, p, "/integrations/2/webhook-url")
	if got := testID(c.get("/integrations/2/settings"), "primary-key").Text(); got != "event_id" {
		t.Fatalf("Customer.io key stored as %q", got)
	}
	// Vero has no stable id: the key is the user's choice, empty by default.
	if got := testID(c.get("/integrations/1"), "primary-key").Text(); got != "order_id" {
		t.Fatalf("overview shows key %q", got)
	}
}

func TestGenerateAtMostTwoURLsAndRevoke(t *testing.T) {
	onBothStores(t, testGenerateAtMostTwoURLsAndRevoke)
}

func testGenerateAtMostTwoURLsAndRevoke(t *testing.T, newApp func(testing.TB) *testApp) {
	app := newApp(t)
	c := app.signedInClient(t)
	id, first := mustAdd(t, c, "vero", "Stitch Vero")
	firstToken := tokenOf(t, first)

	p := c.get("/integrations/1/settings")
	expectStatus(t, p, http.StatusOK)
	rows := testID(p, "url-row")
	if rows.Length() != 1 || !strings.Contains(rows.Text(), firstToken[:8]+"…") || strings.Contains(p.Body, firstToken[8:]) {
		t.Fatalf("URL row shows %q", rows.Text())
	}
	if _, disabled := testID(p, "generate-url").Attr("disabled"); disabled {
		t.Fatal("Generate is disabled with one URL")
	}

	// Generate a second: shown once, then back to Settings.
	p = c.post("/integrations/1/urls", nil)
	expectRedirect(t, p, "/integrations/1/webhook-url")
	p = c.get("/integrations/1/webhook-url")
	second := strings.TrimSpace(testID(p, "webhook-url").Text())
	secondToken := tokenOf(t, second)
	if secondToken == firstToken {
		t.Fatal("the second URL repeats the first")
	}
	if href, _ := testID(p, "continue").Attr("href"); href != "/integrations/1/settings" {
		t.Fatalf("Continue after Generate leads to %q", href)
	}

	// With two, the button is disabled and says why; a forged third is refused.
	p = c.get("/integrations/1/settings")
	if testID(p, "url-row").Length() != 2 {
		t.Fatalf("%d URL rows, want 2", testID(p, "url-row").Length())
	}
	if _, disabled := testID(p, "generate-url").Attr("disabled"); !disabled {
		t.Fatal("Generate is enabled with two active URLs")
	}
	if !strings.Contains(testID(p, "url-limit").Text(), "at most 2 active URLs") {
		t.Fatalf("limit says %q", testID(p, "url-limit").Text())
	}
	p = c.post("/integrations/1/urls", nil)
	expectStatus(t, p, http.StatusConflict)
	if !strings.Contains(testID(p, "url-error").Text(), "already has 2 active webhook URLs") {
		t.Fatalf("forged third: %q", testID(p, "url-error").Text())
	}
	if urls, _ := app.Store.WebhookURLs(t.Context(), 1, id); len(urls) != 2 {
		t.Fatalf("%d URLs after a refused third", len(urls))
	}

	// Revoke the oldest (the form asks for confirmation in the browser).
	p = c.get("/integrations/1/settings")
	form := testID(p, "url-row").First().Find("form")
	action, _ := form.Attr("action")
	if confirm, _ := form.Attr("data-confirm"); !strings.Contains(confirm, "Revoke") {
		t.Fatalf("revoke form has no confirmation: %q", confirm)
	}
	p = c.post(action, nil)
	expectRedirect(t, p, "/integrations/1/settings")
	p = c.get("/integrations/1/settings")
	if !strings.Contains(testID(p, "flash").Text(), "revoked") {
		t.Fatalf("flash after revoke: %q", testID(p, "flash").Text())
	}
	oldest := testID(p, "url-row").First()
	if !oldest.HasClass("revoked") || !strings.Contains(oldest.Find(`[data-testid="revoked-at"]`).Text(), "Revoked 20") || oldest.Find("form").Length() != 0 {
		t.Fatalf("revoked row: class %q, text %q", oldest.AttrOr("class", ""), oldest.Text())
	}
	if _, disabled := testID(p, "generate-url").Attr("disabled"); disabled {
		t.Fatal("Generate stays disabled after a revoke")
	}

	// At once: the revoked token is refused, the other accepted (no cache in between).
	if _, err := app.Store.WebhookTarget(t.Context(), id, firstToken); !errors.Is(err, store.ErrUnauthorized) {
		t.Fatalf("revoked URL: %v, want ErrUnauthorized", err)
	}
	if _, err := app.Store.WebhookTarget(t.Context(), id, secondToken); err != nil {
		t.Fatalf("active URL: %v", err)
	}

	if status := postEvent(t, first); status != http.StatusUnauthorized {
		t.Fatalf("webhook POST with the revoked URL: status %d, want 401", status)
	}
	if status := postEvent(t, second); status != http.StatusOK {
		t.Fatalf("webhook POST with the active URL: status %d, want 200", status)
	}

	expectStatus(t, c.post("/integrations/1/urls/999/revoke", nil), http.StatusNotFound)
	expectStatus(t, c.postRaw(action, url.Values{}), http.StatusForbidden) // no CSRF token

	for _, tok := range []string{firstToken, secondToken} {
		assertNotInDataDir(t, app, tok)
		if strings.Contains(app.Logs.String(), tok) {
			t.Fatal("a token is in the logs")
		}
	}
}

func TestRenamePauseResume(t *testing.T) { onBothStores(t, testRenamePauseResume) }

func testRenamePauseResume(t *testing.T, newApp func(testing.TB) *testApp) {
	app := newApp(t)
	c := app.signedInClient(t)
	id, webhookURL := mustAdd(t, c, "vero", "Stitch Vero")

	c.get("/integrations/1/settings")
	p := c.post("/integrations/1/settings", url.Values{"name": {"  "}})
	expectStatus(t, p, http.StatusUnprocessableEntity)
	if !strings.Contains(testID(p, "error-name").Text(), "Enter an integration name") {
		t.Fatalf("empty rename: %q", testID(p, "error-name").Text())
	}
	expectRedirect(t, c.post("/integrations/1/settings", url.Values{"name": {"Vero (prod)"}}), "/integrations/1/settings")
	p = c.get("/integrations/1/settings")
	if v, _ := p.Doc.Find("#name").Attr("value"); v != "Vero (prod)" || testID(p, "settings-schema").Text() != "stitch_vero" {
		t.Fatalf("after rename: name %q, schema %q", v, testID(p, "settings-schema").Text())
	}

	expectRedirect(t, c.post("/integrations/1/pause", url.Values{"from": {"settings"}}), "/integrations/1/settings")
	if got := testID(c.get("/integrations/1"), "integration-status").Text(); !strings.Contains(got, "Paused") {
		t.Fatalf("status after pause: %q", got)
	}
	target, err := app.Store.WebhookTarget(t.Context(), id, tokenOf(t, webhookURL))
	if err != nil || !target.Paused {
		t.Fatalf("paused target: %+v %v", target, err)
	}
	resp, err := http.Post(webhookURL, "application/json", strings.NewReader(`{"id":1}`))
	if err != nil {
		t.Fatal(err)
	}
	var refusal map[string]string
	json.NewDecoder(resp.Body).Decode(&refusal)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(refusal["error"], "paused") {
		t.Fatalf("webhook to a paused integration: status %d, body %v; want 503 saying it is paused", resp.StatusCode, refusal)
	}
	// A refusal by design, summarised with the other refusals: a provider retrying against a
	// paused integration must not fill the log with errors.
	if strings.Contains(app.Logs.String(), "level=ERROR") {
		t.Fatalf("a paused integration's 503 was logged as an error:\n%s", app.Logs.String())
	}
	expectRedirect(t, c.post("/integrations/1/resume", nil), "/integrations/1")
	if status := postEvent(t, webhookURL); status != http.StatusOK {
		t.Fatalf("webhook after resume: status %d", status)
	}
	if got := testID(c.get("/integrations/1"), "last-event").Text(); !strings.HasSuffix(got, " UTC") {
		t.Fatalf("last event after a delivery: %q", got)
	}
	if got := testID(c.get("/integrations/1/settings"), "url-row").Text(); strings.Contains(got, "Never") {
		t.Fatalf("the URL's last use was not recorded: %q", got)
	}
	app.flush(t) // the refusal while paused is recorded: pausing is no error (issue 15)
	if got := testID(c.get("/integrations/1"), "integration-status").Text(); !strings.Contains(got, "Active") {
		t.Fatalf("status after resume: %q", got)
	}
}

func TestDeleteKeepingData(t *testing.T) { onBothStores(t, testDeleteKeepingData) }

func testDeleteKeepingData(t *testing.T, newApp func(testing.TB) *testApp) {
	app := newApp(t)
	c := app.signedInClient(t)
	id, webhookURL := mustAdd(t, c, "vero", "Stitch Vero")

	p := c.get("/integrations/1/settings")
	for _, want := range []string{"Delete integration, keep data", "Delete integration and data", "stays and can still be queried"} {
		if !strings.Contains(p.Body, want) {
			t.Fatalf("Settings lacks %q", want)
		}
	}
	p = c.post("/integrations/1/delete", url.Values{"confirm_schema": {"stitch"}, "data": {"keep"}})
	expectStatus(t, p, http.StatusUnprocessableEntity)
	if !strings.Contains(testID(p, "error-confirm_schema").Text(), "stitch_vero") {
		t.Fatalf("wrong confirmation: %q", testID(p, "error-confirm_schema").Text())
	}
	if v, _ := p.Doc.Find("#confirm_schema").Attr("value"); v != "stitch" {
		t.Fatalf("typed confirmation comes back as %q", v)
	}

	expectRedirect(t, c.post("/integrations/1/delete", url.Values{"confirm_schema": {"stitch_vero"}, "data": {"keep"}}), "/integrations")
	p = c.get("/integrations")
	if !strings.Contains(testID(p, "flash").Text(), "Its data stays in schema stitch_vero") || testID(p, "integrations-empty").Length() != 1 {
		t.Fatalf("after delete: flash %q", testID(p, "flash").Text())
	}
	expectStatus(t, c.get("/integrations/1"), http.StatusNotFound)
	if _, err := app.Store.WebhookTarget(t.Context(), id, tokenOf(t, webhookURL)); !errors.Is(err, store.ErrUnauthorized) {
		t.Fatalf("deleted integration's URL: %v", err)
	}
	// The kept schema is the owner's to reuse.
	mustAdd(t, c, "vero", "Stitch Vero")
}

// A bookmark of a deleted integration stays a 404 once another is added: on SQLite the new one
// used to get the deleted one's id (the largest + 1), and /integrations/N opened it.
func TestDeletedIntegrationStaysNotFound(t *testing.T) {
	onBothStores(t, testDeletedIntegrationStaysNotFound)
}

func testDeletedIntegrationStaysNotFound(t *testing.T, newApp func(testing.TB) *testApp) {
	app := newApp(t)
	c := app.signedInClient(t)
	mustAdd(t, c, "vero", "Kept")
	gone, goneURL := mustAdd(t, c, "vero", "Gone")
	old := fmt.Sprintf("/integrations/%d", gone)
	c.get(old + "/settings")
	expectRedirect(t, c.post(old+"/delete", url.Values{"confirm_schema": {"gone"}, "data": {"drop"}}), "/integrations")
	added, _ := mustAdd(t, c, "vero", "Added later")
	if added == gone {
		t.Errorf("the integration added after deleting #%d got its id", gone)
	}
	for _, path := range []string{old, old + "/settings", old + "/webhook-url", old + "/extraction-logs", old + "/loading-reports"} {
		p := c.get(path)
		expectStatus(t, p, http.StatusNotFound)
		if strings.Contains(p.Body, "Added later") {
			t.Errorf("%s shows the integration added later", path)
		}
	}
	if status := postEvent(t, goneURL); status != http.StatusUnauthorized {
		t.Errorf("the deleted integration's webhook URL: status %d, want 401", status)
	}
	p := c.get(fmt.Sprintf("/integrations/%d", added))
	expectStatus(t, p, http.StatusOK)
	if !strings.Contains(p.Body, "Added later") {
		t.Errorf("/integrations/%d does not show the integration added later", added)
	}
}

// A second account (added straight into the database: only the owner has a sign-up flow)
// gets 404 for everything of the first.
func TestIntegrationsAreScopedToTheirUser(t *testing.T) {
	app := newTestApp(t)
	owner := app.signedInClient(t)
	mustAdd(t, owner, "vero", "Stitch Vero")

	other := app.secondUser(t)

	if testID(other.get("/integrations"), "integration-row").Length() != 0 {
		t.Fatal("the other user lists the owner's integration")
	}
	for _, path := range []string{"/integrations/1", "/integrations/1/settings", "/integrations/1/webhook-url"} {
		expectStatus(t, other.get(path), http.StatusNotFound)
	}
	for path, form := range map[string]url.Values{
		"/integrations/1/settings":            {"name": {"mine"}},
		"/integrations/1/urls":                nil,
		"/integrations/1/urls/1/revoke":       nil,
		"/integrations/1/pause":               nil,
		"/integrations/1/resume":              nil,
		"/integrations/1/delete":              {"confirm_schema": {"stitch_vero"}, "data": {"keep"}},
		"/integrations/new/incoming-webhooks": {"name": {"x"}, "schema": {"stitch_vero"}},
	} {
		p := other.post(path, form)
		if path == "/integrations/new/incoming-webhooks" {
			expectStatus(t, p, http.StatusUnprocessableEntity) // the schema name is taken, by someone
			continue
		}
		expectStatus(t, p, http.StatusNotFound)
	}
	urls, _ := app.Store.WebhookURLs(t.Context(), 1, 1)
	if in, err := app.Store.Integration(t.Context(), 1, 1); err != nil || in.Name != "Stitch Vero" || in.Paused || len(urls) != 1 || !urls[0].Active() {
		t.Fatalf("the other user changed the owner's integration: %+v %v %+v", in, err, urls)
	}
}

// postEvent sends one JSON event to a webhook URL and returns the status.
func postEvent(t *testing.T, webhookURL string) int {
	t.Helper()
	resp, err := http.Post(webhookURL, "application/json", strings.NewReader(`{"id":1,"type":"opened"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestDeleteWithItsData(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	_, keptURL := mustAdd(t, c, "vero", "Kept")
	_, droppedURL := mustAdd(t, c, "vero", "Dropped")
	for _, u := range []string{keptURL, droppedURL} {
		if status := postEvent(t, u); status != http.StatusOK {
			t.Fatalf("POST %s: status %d", webhookURLShape.ReplaceAllString(u, "$1/…"), status)
		}
	}
	exists := func(schema string) bool {
		_, err := os.Stat(app.Warehouse.Path(schema))
		return err == nil
	}
	if !exists("kept") || !exists("dropped") {
		t.Fatal("the events left no warehouse files")
	}

	c.get("/integrations/1/settings")
	expectRedirect(t, c.post("/integrations/1/delete", url.Values{"confirm_schema": {"kept"}, "data": {"keep"}}), "/integrations")
	expectRedirect(t, c.post("/integrations/2/delete", url.Values{"confirm_schema": {"dropped"}, "data": {"drop"}}), "/integrations")
	if !strings.Contains(testID(c.get("/integrations"), "flash").Text(), "and its data in schema dropped were deleted") {
		t.Fatal("no flash after deleting with data")
	}
	if !exists("kept") {
		t.Fatal("keep data deleted the data")
	}
	if exists("dropped") {
		t.Fatal("delete data too left the data")
	}
	for _, u := range []string{keptURL, droppedURL} {
		if status := postEvent(t, u); status != http.StatusUnauthorized {
			t.Fatalf("POST to a deleted integration: status %d, want 401", status)
		}
	}
}

// TestWebhookSentDuringDeleteWithDataIsNotLoaded: a webhook whose URL was authenticated before
// "Delete integration and data" and whose body arrived after it was answered 200 and loaded
// into a schema made anew after the drop, under no integration (third attacker's pass); a new
// integration of that schema name then started with its rows. Now it is refused, and the
// schema stays dropped.
func TestWebhookSentDuringDeleteWithDataIsNotLoaded(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		app := newTestApp(t)
		webhookAcrossDeleteWithData(t, app, func() bool {
			_, err := os.Stat(app.Warehouse.Path("dropped"))
			return err == nil
		})
	})
	t.Run("postgres", func(t *testing.T) {
		dbURL := pgtest.Start(t)
		app := newTestAppOn(t, testDatabases{Warehouse: dbURL}, slog.LevelDebug, warehouse.Options{}, web.Config{})
		db, err := sql.Open("pgx", dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		webhookAcrossDeleteWithData(t, app, func() bool {
			var n int
			if err := db.QueryRow(`SELECT count(*) FROM pg_namespace WHERE nspname = 'dropped'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n > 0
		})
	})
}

func webhookAcrossDeleteWithData(t *testing.T, app *testApp, schemaExists func() bool) {
	c := app.signedInClient(t)
	_, hook := mustAdd(t, c, "vero", "Dropped")
	if status := postEvent(t, hook); status != http.StatusOK {
		t.Fatalf("first webhook: %d", status)
	}
	status, answer := webhookAround(t, hook, `{"id":2,"type":"late"}`, func() {
		c.get("/integrations/1/settings")
		expectRedirect(t, c.post("/integrations/1/delete", url.Values{"confirm_schema": {"dropped"}, "data": {"drop"}}), "/integrations")
	})
	if status != http.StatusUnauthorized {
		t.Errorf("the webhook sent across the delete: %d %s, want 401", status, answer)
	}
	if schemaExists() {
		t.Fatal("the dropped schema was made again after the delete")
	}
}

// TestPostgresWarehouseIsNamedWithoutItsPassword: the Settings page and the Data page's psql
// snippet say where the data goes, and never the password of the warehouse's address.
func TestPostgresWarehouseIsNamedWithoutItsPassword(t *testing.T) {
	u, err := url.Parse(pgtest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), "hunter2-secret") // the test cluster trusts its socket
	app := newTestAppOn(t, testDatabases{Warehouse: u.String()}, slog.LevelDebug, warehouse.Options{}, web.Config{})
	c := app.signedInClient(t)
	settings := c.get("/account")
	if got := settings.Doc.Find(`[data-testid="warehouse"]`).Text(); !strings.HasPrefix(got, "PostgreSQL postgres@") {
		t.Errorf("Account names the warehouse %q", got)
	}
	added := addIntegration(t, c, "incoming-webhooks", url.Values{"name": {"Orders"}, "primary_key": {"id"}})
	hook := revealedURL(t, c, added.Header.Get("Location"))
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, hook, "application/json", []byte(`{"id":1}`)); a.Status != http.StatusOK {
		t.Fatalf("webhook: %d %s", a.Status, a.Body)
	}
	data := c.get("/integrations/1/data?table=data_latest")
	if got := data.Doc.Find(`[data-testid="sqlite-snippet"]`).Text(); !strings.Contains(got, "psql 'postgres://postgres@") || !strings.Contains(got, "FROM orders.data o") {
		t.Errorf("the Data page's snippet: %s", got)
	}
	for _, page := range []response{settings, data, c.get("/integrations/1")} {
		if strings.Contains(page.Body, "hunter2") {
			t.Fatal("a page shows the warehouse's password")
		}
	}
	if strings.Contains(app.Logs.String(), "hunter2") {
		t.Fatal("the log shows the warehouse's password")
	}
}

// TestDeleteWithDataDropsThePostgresSchema: on a PostgreSQL warehouse, "Delete integration
// and data" drops the schema (DROP SCHEMA ... CASCADE), and the schema name can be used again.
func TestDeleteWithDataDropsThePostgresSchema(t *testing.T) {
	dbURL := pgtest.Start(t)
	app := newTestAppOn(t, testDatabases{Warehouse: dbURL}, slog.LevelDebug, warehouse.Options{}, web.Config{})
	c := app.signedInClient(t)
	_, webhookURL := mustAdd(t, c, "vero", "Stitch Vero")
	if status := postEvent(t, webhookURL); status != http.StatusOK {
		t.Fatalf("webhook: %d", status)
	}
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	schemas := func() int {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM pg_namespace WHERE nspname = 'stitch_vero'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if schemas() != 1 {
		t.Fatal("no schema stitch_vero after a webhook")
	}
	c.get("/integrations/1/settings")
	expectRedirect(t, c.post("/integrations/1/delete", url.Values{"confirm_schema": {"stitch_vero"}, "data": {"drop"}}), "/integrations")
	if schemas() != 0 {
		t.Fatal("Delete integration and data left the schema")
	}
	_, webhookURL = mustAdd(t, c, "vero", "Stitch Vero")
	if status := postEvent(t, webhookURL); status != http.StatusOK {
		t.Fatalf("webhook to the new integration of the same schema: %d", status)
	}
}

// TestAddRefusesAForeignPostgresSchema: on a PostgreSQL warehouse whose database already has a
// schema of the name for something else, Add Integration says so at once and creates nothing;
// before, the integration was made and every webhook got 503 "retry later" for good, the
// reason only in the server's log.
func TestAddRefusesAForeignPostgresSchema(t *testing.T) {
	dbURL := pgtest.Start(t)
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE SCHEMA sales; CREATE TABLE sales.data (x int, note text)`); err != nil {
		t.Fatal(err)
	}
	app := newTestAppOn(t, testDatabases{Warehouse: dbURL}, slog.LevelDebug, warehouse.Options{}, web.Config{})
	c := app.signedInClient(t)

	p := addIntegration(t, c, "incoming-webhooks", url.Values{"name": {"Sales"}, "primary_key": {""}})
	expectStatus(t, p, http.StatusUnprocessableEntity)
	if msg := testID(p, "error-schema").Text(); !strings.Contains(msg, "already has a schema sales that hookhouse did not make") {
		t.Fatalf("the form says %q, want that the schema is someone else's", msg)
	}
	if list := c.get("/integrations"); testID(list, "integration-row").Length() != 0 {
		t.Fatal("a refused Add left an integration")
	}
	var cols int
	if err := db.QueryRow(`SELECT count(*) FROM information_schema.columns WHERE table_schema = 'sales'`).Scan(&cols); err != nil || cols != 2 {
		t.Fatalf("sales has %d columns (%v), want its own 2 untouched", cols, err)
	}

	// Another name works.
	_, hookURL := mustAdd(t, c, "incoming-webhooks", "Sales Two")
	if status := postEvent(t, hookURL); status != http.StatusOK {
		t.Fatalf("webhook to sales_two: %d", status)
	}
}

// TestCopyOncePageGivesACurlTestAndSaysWhenProvidersCannotReachIt: the snippet runs as it is
// and its event loads, whatever the primary key (a user's name, quoted for JSON and the
// shell); a URL on this machine's address says that providers on the internet cannot reach
// it and what to set; one built from -public-url does not.
func TestCopyOncePageGivesACurlTestAndSaysWhenProvidersCannotReachIt(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("needs curl")
	}
	app := newTestApp(t)
	c := app.signedInClient(t)
	for i, tc := range []struct{ source, name, key string }{
		{"incoming-webhooks", "Orders", "id"},
		{"vero", "Stitch Vero", "message_id"},
		{"vero", "Vero Stream", ""},
		{"incoming-webhooks", "Quoted", `it's "q" \ <b>`},
		{"incoming-webhooks", "Typed", "type"},
		{"incoming-webhooks", "Typed Upper", "Type"}, // SQLite folds case: no "type" beside it
		{"customerio", "Customer io", ""},            // its fixed key, event_id
	} {
		p := addIntegration(t, c, tc.source, url.Values{"name": {tc.name}, "primary_key": {tc.key}})
		expectStatus(t, p, http.StatusSeeOther)
		page := c.get(p.Header.Get("Location"))
		if !strings.Contains(testID(page, "unreachable-host").Text(), "-public-url") {
			t.Fatalf("a URL on 127.0.0.1 gives no warning naming -public-url")
		}
		// A key the user typed may be a number in their events: the page says the test's is text.
		if said := testID(page, "curl-test-key").Length() == 1; said != (tc.key != "") {
			t.Errorf("%s with primary key %q: a note on the test key's type: %v", tc.name, tc.key, said)
		}
		snippet := testID(page, "curl-test").Text()
		out, err := exec.Command("sh", "-c", strings.Replace(snippet, "curl ", curl+" -s ", 1)).CombinedOutput()
		if err != nil || !strings.Contains(string(out), `"records":1,"rejected":0`) {
			t.Fatalf("%s with primary key %q: the page's curl test %q: %v %s", tc.name, tc.key, redactToken(snippet), err, out)
		}
		app.flush(t)
		if got := testID(c.get(fmt.Sprintf("/integrations/%d", i+1)), "rows-total").Text(); got != "1" {
			t.Fatalf("%s: after the curl test the integration shows %q rows", tc.name, got)
		}
	}

	public := newTestAppWith(t, warehouse.Options{}, web.Config{PublicURL: "https://hooks.example.com"})
	pc := public.signedInClient(t)
	p := addIntegration(t, pc, "incoming-webhooks", url.Values{"name": {"Orders"}})
	if page := pc.get(p.Header.Get("Location")); testID(page, "unreachable-host").Length() != 0 || !strings.Contains(testID(page, "curl-test").Text(), "https://hooks.example.com/v1/clients/") {
		t.Fatalf("with -public-url: warning %q, snippet %q", testID(page, "unreachable-host").Text(), testID(page, "curl-test").Text())
	}
}

// TestCopyOncePageTestEventKeepsTheSourcesEventFilter: a user runs the copy-once page's curl
// test, then the provider's events arrive; the Data page still filters on the provider's
// event-type field and offers its events' types. (A test event in type took the filter: for
// SendGrid it offered only "test", and the events' event column could not be filtered.)
func TestCopyOncePageTestEventKeepsTheSourcesEventFilter(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("needs curl")
	}
	app := newTestApp(t)
	c := app.signedInClient(t)
	for _, tc := range []struct {
		source, name, fixture, field, eventType string
	}{
		{"sendgrid", "SendGrid", "sendgrid/batch.json", "event", "processed"},
		{"iterable", "Iterable", "iterable/emailSend.json", "eventName", "emailSend"},
		{"vero", "Vero", "vero/sent.json", "type", "sent"},
	} {
		p := addIntegration(t, c, tc.source, url.Values{"name": {tc.name}})
		expectStatus(t, p, http.StatusSeeOther)
		page := c.get(p.Header.Get("Location"))
		hook := testID(page, "webhook-url").Text()
		snippet := testID(page, "curl-test").Text()
		if out, err := exec.Command("sh", "-c", strings.Replace(snippet, "curl ", curl+" -s ", 1)).CombinedOutput(); err != nil || !strings.Contains(string(out), `"records":1,"rejected":0`) {
			t.Fatalf("%s: the page's curl test: %v %s", tc.name, err, out)
		}
		if a := postWebhook(t, http.DefaultClient, http.MethodPost, hook, "application/json", fixture(t, tc.fixture)); a.Status != http.StatusOK {
			t.Fatalf("%s: the fixture got %d %s", tc.name, a.Status, a.Body)
		}
		app.flush(t)
		id := strings.TrimSuffix(strings.TrimPrefix(p.Header.Get("Location"), "/integrations/"), "/webhook-url")
		data := c.get("/integrations/" + id + "/data")
		if label := strings.TrimSpace(data.Doc.Find(`label[for="event-type"]`).Text()); label != tc.field {
			t.Errorf("%s: after the curl test the Data page filters on %q, want %q", tc.name, label, tc.field)
		}
		var offered []string
		for i, opts := 0, data.Doc.Find(`#event-type option`); i < opts.Length(); i++ {
			offered = append(offered, opts.Eq(i).AttrOr("value", ""))
		}
		if !slices.Contains(offered, tc.eventType) || !slices.Contains(offered, "test") {
			t.Errorf("%s: the filter offers %q, want %q and the test's", tc.name, offered, tc.eventType)
		}
	}
}

// webhookAround posts body to hook, running meanwhile after the URL is authenticated and before
// the body is sent: with Expect: 100-continue the server says "100 Continue" once the handler
// reads the body. It returns the answer's status and body.
func webhookAround(t *testing.T, hook, body string, meanwhile func()) (int, string) {
	t.Helper()
	u, err := url.Parse(hook)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
		u.Path, u.Host, len(body))
	r := bufio.NewReader(conn)
	if line, err := r.ReadString('\n'); err != nil || !strings.Contains(line, "100 Continue") {
		t.Fatalf("before the body: %q, %v", line, err)
	}
	meanwhile()
	if _, err := io.WriteString(conn, body); err != nil {
		t.Fatal(err)
	}
	r.ReadString('\n') // the blank line after 100 Continue
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(answer)
}
