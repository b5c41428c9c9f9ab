package web_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/hookhouse/hookhouse/store"
	"github.com/hookhouse/hookhouse/store/pgtest"
	"github.com/hookhouse/hookhouse/store/warehouse"
	"github.com/hookhouse/hookhouse/web"
)

// testApp is the real application (real SQLite file, real HTTP server on 127.0.0.1).
type testApp struct {
	URL       string
	Store     *store.Store
	Warehouse *warehouse.Warehouse
	DataDir   string
	Database  string     // the PostgreSQL metadata database (-database); "" for <data>/hookhouse.db
	Logs      *logBuffer // everything the app logged
}

// testDatabases says where a test app keeps its metadata (-database) and its warehouse
// (-warehouse): PostgreSQL URLs, or "" for the SQLite files in the data folder.
type testDatabases struct {
	Metadata, Warehouse string
	SecretKey           []byte // nil: a new one; nodes sharing Metadata share one
}

// logBuffer collects log lines from concurrent request goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const (
	ownerEmail    = "owner@example.com"
	ownerPassword = "correct horse battery"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

func newTestApp(t testing.TB) *testApp {
	t.Helper()
	return newTestAppWith(t, warehouse.Options{}, web.Config{})
}

// newTestAppWith builds the app with the given warehouse options (OnCommit is set here) and
// web limits (MaxBodyBytes, RateLimit, RateBurst; the rest of cfg is filled in).
func newTestAppWith(t testing.TB, opts warehouse.Options, cfg web.Config) *testApp {
	t.Helper()
	return newTestAppLogging(t, slog.LevelDebug, opts, cfg)
}

// newTestAppLogging is newTestAppWith with the log at level, as -log-level sets it.
func newTestAppLogging(t testing.TB, level slog.Level, opts warehouse.Options, cfg web.Config) *testApp {
	t.Helper()
	return newTestAppOn(t, testDatabases{}, level, opts, cfg)
}

// newTestAppOn builds the app with its metadata and its warehouse where on says.
func newTestAppOn(t testing.TB, on testDatabases, level slog.Level, opts warehouse.Options, cfg web.Config) *testApp {
	t.Helper()
	dir := t.TempDir()
	var st *store.Store
	var err error
	if on.Metadata != "" {
		st, err = store.OpenPostgres(context.Background(), on.Metadata)
	} else {
		st, err = store.Open(context.Background(), filepath.Join(dir, "hookhouse.db"))
	}
	if err != nil {
		t.Fatal(err)
	}
	key := on.SecretKey
	if key == nil {
		key = make([]byte, 32)
		rand.Read(key)
	}
	if err := st.SetSecretKey(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: level}))
	opts.OnCommit = st.RecordBatch
	var wh *warehouse.Warehouse
	if on.Warehouse != "" {
		wh, err = warehouse.OpenPostgres(context.Background(), on.Warehouse, log, opts)
	} else {
		wh, err = warehouse.Open(filepath.Join(dir, "warehouse"), log, opts)
	}
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store, cfg.Warehouse, cfg.Log, cfg.DataDir = st, wh, log, dir
	srv := httptest.NewServer(web.New(cfg))
	t.Cleanup(func() {
		srv.Close()
		wh.Close()
		st.Close()
	})
	return &testApp{URL: srv.URL, Store: st, Warehouse: wh, DataDir: dir, Database: on.Metadata, Logs: logs}
}

// setupCode is a new setup code, as a start of hookhouse without an account writes to its file.
func (a *testApp) setupCode(t testing.TB) string {
	t.Helper()
	code, err := a.Store.NewSetupCode(t.Context())
	if err != nil || code == "" {
		t.Fatalf("setup code %q: %v", code, err)
	}
	return code
}

// metrics scrapes the app's /metrics with the bearer token, as Prometheus does; anything but a
// 200 fails the test.
func (a *testApp) metrics(t testing.TB, token string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, a.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %.300s", resp.StatusCode, body)
	}
	return string(body)
}

// onBothStores runs test with the metadata in <data>/hookhouse.db and in PostgreSQL
// (-database): what a user sees must not depend on it.
func onBothStores(t *testing.T, test func(t *testing.T, newApp func(testing.TB) *testApp)) {
	t.Run("sqlite", func(t *testing.T) { test(t, newTestApp) })
	t.Run("postgres", func(t *testing.T) {
		test(t, func(t testing.TB) *testApp {
			return newTestAppOn(t, testDatabases{Metadata: pgtest.Start(t)}, slog.LevelDebug, warehouse.Options{}, web.Config{})
		})
	})
}

// client is a browser-like HTTP client: it keeps cookies, does not follow redirects and
// remembers the CSRF token of the last page it loaded.
type client struct {
	t    testing.TB
	app  *testApp
	http *http.Client
	csrf string
}

func (a *testApp) newClient(t testing.TB) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, app: a, http: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// response is an HTTP response with its parsed HTML.
type response struct {
	Status int
	Header http.Header
	Body   string
	Doc    *goquery.Document
}

func (c *client) do(req *http.Request) response {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	doc, _ := goquery.NewDocumentFromReader(strings.NewReader(string(body)))
	if tok, ok := doc.Find(`input[name="_csrf"]`).First().Attr("value"); ok {
		c.csrf = tok
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: string(body), Doc: doc}
}

func (c *client) get(path string) response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.app.URL+path, nil)
	return c.do(req)
}

// post submits a form with the CSRF token of the last page loaded.
func (c *client) post(path string, form url.Values) response {
	c.t.Helper()
	form = cloneValues(form)
	if form.Get("_csrf") == "" {
		form.Set("_csrf", c.csrf)
	}
	return c.postRaw(path, form)
}

// postRaw submits the form exactly as given (no CSRF token added).
func (c *client) postRaw(path string, form url.Values) response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.app.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// signedInClient creates the owner account through /setup and returns its signed-in client.
func (a *testApp) signedInClient(t testing.TB) *client {
	t.Helper()
	c := a.newClient(t)
	c.get("/setup")
	p := c.post("/setup", url.Values{"code": {a.setupCode(t)}, "email": {ownerEmail}, "password": {ownerPassword}})
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/integrations" {
		t.Fatalf("setup: status %d, location %q, body %s", p.Status, p.Header.Get("Location"), p.Body)
	}
	return c
}

func expectStatus(t testing.TB, p response, want int) {
	t.Helper()
	if p.Status != want {
		t.Fatalf("status %d, want %d; body: %.500s", p.Status, want, p.Body)
	}
}

func expectRedirect(t testing.TB, p response, want string) {
	t.Helper()
	if p.Status != http.StatusSeeOther && p.Status != http.StatusFound {
		t.Fatalf("status %d, want a redirect to %s; body: %.300s", p.Status, want, p.Body)
	}
	if got := p.Header.Get("Location"); got != want {
		t.Fatalf("redirect to %q, want %q", got, want)
	}
}

func testID(p response, id string) *goquery.Selection {
	return p.Doc.Find(`[data-testid="` + id + `"]`)
}

// secondUser signs in a second account that owns nothing, in a workspace of its own (its
// workspace_id is NULL, like an owner's). It is added straight into the database, with the
// owner's password hash: hookhouse itself only makes one owner, and teammates of it.
func (app *testApp) secondUser(t *testing.T) *client {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(app.DataDir, "hookhouse.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO users (email, password_hash, created_at)
		SELECT 'other@example.com', password_hash, created_at FROM users WHERE email = ?`, ownerEmail); err != nil {
		t.Fatal(err)
	}
	other := app.newClient(t)
	other.get("/login")
	expectRedirect(t, other.post("/login", url.Values{"email": {"other@example.com"}, "password": {ownerPassword}}), "/integrations")
	return other
}
