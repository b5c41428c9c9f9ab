package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/hookhouse/hookhouse/store/pgtest"
)

// Durability of the real binary: kill -9 mid-load and SIGTERM mid-load, then restart on the
// same data folder and compare the warehouse with what was acknowledged.

const (
	crashEmail    = "ops@example.com"
	crashPassword = "a long admin password"
	crashSenders  = 16
	recordsPerReq = 3 // records per request, sharing a request id: all stored or none
)

var adminEnv = []string{"HOOKHOUSE_ADMIN_EMAIL=" + crashEmail, "HOOKHOUSE_ADMIN_PASSWORD=" + crashPassword}

var webhookURLInPage = regexp.MustCompile(`data-testid="webhook-url"[^>]*>\s*([^<\s]+)\s*<`)

// addWebhookIntegration adds an Incoming Webhooks integration with primary key id through the
// dashboard and returns the webhook URL its copy-once page shows.
func addWebhookIntegration(t testing.TB, s *server, name string) string {
	t.Helper()
	return addIntegration(t, s, "incoming-webhooks", name, "id")
}

// addIntegration adds an integration of source through the dashboard and returns the webhook
// URL its copy-once page shows.
func addIntegration(t testing.TB, s *server, source, name, primaryKey string) string {
	t.Helper()
	c, ok := signInClient(t, s.URL, crashEmail, crashPassword)
	if !ok {
		t.Fatalf("sign-in failed:\n%s", s.logs())
	}
	page := getPage(t, c, s.URL+"/integrations/new/"+source)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("Add Integration form has no CSRF field:\n%.1000s", page)
	}
	resp, err := c.PostForm(s.URL+"/integrations/new/"+source, url.Values{"name": {name}, "primary_key": {primaryKey}, "_csrf": {m[1]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add integration: status %d", resp.StatusCode)
	}
	page = getPage(t, c, s.URL+resp.Header.Get("Location"))
	u := webhookURLInPage.FindStringSubmatch(page)
	if u == nil {
		t.Fatalf("copy-once page shows no webhook URL:\n%.2000s", page)
	}
	return html.UnescapeString(u[1])
}

func getPage(t testing.TB, c *http.Client, target string) string {
	t.Helper()
	resp, err := c.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%.1000s", target, resp.StatusCode, b)
	}
	return string(b)
}

// load is webhook traffic from several senders: each request carries recordsPerReq records
// with unique ids and one request id.
type load struct {
	hookURL string
	nextReq atomic.Int64
	sent    atomic.Int64

	mu       sync.Mutex
	acked    []int64 // request ids answered 200
	refused  int     // answered, but not 200
	failed   int     // no answer: connection refused or cut
	statuses map[int]int
}

func newLoad(hookURL string, firstReq int64) *load {
	l := &load{hookURL: hookURL, statuses: map[int]int{}}
	l.nextReq.Store(firstReq)
	return l
}

func requestBody(req int64) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for k := range int64(recordsPerReq) {
		if k > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"req":%d,"k":%d,"note":"crash test event","nested":{"a":[1,2]}}`, req*recordsPerReq+k, req, k)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// run sends from crashSenders goroutines until stop is closed, and returns once every
// request started has its outcome.
func (l *load) run(stop <-chan struct{}) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: crashSenders}, Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	for range crashSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req := l.nextReq.Add(1) - 1
				l.sent.Add(1)
				resp, err := client.Post(l.hookURL, "application/json", bytes.NewReader(requestBody(req)))
				if err != nil {
					l.mu.Lock()
					l.failed++
					l.mu.Unlock()
					time.Sleep(10 * time.Millisecond) // the server is gone: don't spin
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				l.mu.Lock()
				l.statuses[resp.StatusCode]++
				refused := resp.StatusCode != http.StatusOK
				if refused {
					l.refused++
				} else {
					l.acked = append(l.acked, req)
				}
				l.mu.Unlock()
				if refused {
					time.Sleep(10 * time.Millisecond) // as a sender would back off; don't spin on 503s
				}
			}
		}()
	}
	wg.Wait()
}

// crashWarehouse is where a durability test's server loads: the default SQLite files in its
// data folder, or a fresh PostgreSQL database.
type crashWarehouse struct {
	env []string       // the server's environment for it
	db  func() *sql.DB // opens the crash schema, with its tables by their plain names
}

var crashDestinations = []string{"sqlite", "postgres"}

func newCrashWarehouse(t *testing.T, dest, dataDir string) crashWarehouse {
	t.Helper()
	if dest == "postgres" {
		url := pgtest.Start(t)
		return crashWarehouse{
			env: []string{"HOOKHOUSE_WAREHOUSE=" + url},
			db:  func() *sql.DB { return postgresSchemaDB(t, url, "crash") },
		}
	}
	return crashWarehouse{db: func() *sql.DB {
		db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "warehouse", "crash.db")+"?mode=ro&_pragma=busy_timeout(5000)")
		if err != nil {
			t.Fatal(err)
		}
		return db
	}}
}

// postgresSchemaDB connects to the database at url with schema first on the search path.
func postgresSchemaDB(t testing.TB, url, schema string) *sql.DB {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["search_path"] = schema
	return stdlib.OpenDB(*cfg)
}

// warehouseCheck compares the crash schema with the acknowledged requests: each acknowledged
// request is there with all its records exactly once, and no request is there in part. It
// returns how many acknowledged requests were found, and how many requests are stored in all
// (a request committed just before a kill is stored without its answer).
func warehouseCheck(t *testing.T, db *sql.DB, acked []int64) (found, stored int) {
	t.Helper()
	defer db.Close()
	rows, err := db.Query("SELECT req, COUNT(*), COUNT(DISTINCT id) FROM data GROUP BY req")
	if err != nil {
		t.Fatal(err)
	}
	byReq := map[int64]int{}
	for rows.Next() {
		var req int64
		var n, distinct int
		if err := rows.Scan(&req, &n, &distinct); err != nil {
			t.Fatal(err)
		}
		if n != recordsPerReq || distinct != recordsPerReq {
			t.Errorf("request %d is stored with %d rows (%d distinct ids), want all %d or none", req, n, distinct, recordsPerReq)
		}
		byReq[req] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var dup int
	if err := db.QueryRow("SELECT COUNT(*) FROM (SELECT id FROM data GROUP BY id HAVING COUNT(*) > 1) dups").Scan(&dup); err != nil {
		t.Fatal(err)
	}
	if dup != 0 {
		t.Errorf("%d ids are stored more than once", dup)
	}
	for _, req := range acked {
		if byReq[req] == recordsPerReq {
			found++
		}
	}
	return found, len(byReq)
}

// TestKill9MidLoadLosesNoAcknowledgedEvent kills the server with SIGKILL at several points of
// a concurrent load; after each restart every acknowledged request is stored exactly once and
// no request is stored in part.
func TestKill9MidLoadLosesNoAcknowledgedEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: several seconds of load")
	}
	t.Parallel()
	for _, dest := range crashDestinations {
		t.Run(dest, func(t *testing.T) { testKill9MidLoad(t, dest) })
	}
}

func testKill9MidLoad(t *testing.T, dest string) {
	data := filepath.Join(t.TempDir(), "data")
	wh := newCrashWarehouse(t, dest, data)
	s := startServer(t, data, append(adminEnv, wh.env...)...)
	hookURL := addWebhookIntegration(t, s, "Crash")
	path := strings.TrimPrefix(hookURL, s.URL) // the port changes at each start

	var allAcked []int64
	var next int64
	for i, after := range []time.Duration{1500 * time.Millisecond, 2 * time.Second, 2500 * time.Millisecond} {
		l := newLoad(s.URL+path, next)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { l.run(stop); close(done) }()
		time.Sleep(after)
		if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-s.exited
		close(stop)
		<-done
		next = l.nextReq.Load()
		allAcked = append(allAcked, l.acked...)

		s = startServer(t, data, wh.env...)
		// The first request opens the schema file again (recovering its WAL) before we read it.
		if resp, err := http.Post(s.URL+path, "application/json", bytes.NewReader(requestBody(next))); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("kill point %d: first request after restart: %v %v\n%s", i+1, resp, err, s.logs())
		}
		allAcked = append(allAcked, next)
		next++
		found, stored := warehouseCheck(t, wh.db(), l.acked)
		t.Logf("kill -9 point %d after %v: sent %d requests (%d events), acknowledged %d, refused %d, cut by the kill %d; found %d acknowledged, lost %d; %d requests stored in all so far",
			i+1, after, l.sent.Load(), l.sent.Load()*recordsPerReq, len(l.acked), l.refused, l.failed, found, len(l.acked)-found, stored)
		if found != len(l.acked) {
			t.Errorf("kill point %d: %d acknowledged requests lost", i+1, len(l.acked)-found)
		}
		if len(l.acked) == 0 {
			t.Errorf("kill point %d: nothing was acknowledged before the kill: %v\n%s", i+1, l.statuses, s.logs())
		}
	}
	if found, _ := warehouseCheck(t, wh.db(), allAcked); found != len(allAcked) {
		t.Errorf("after all kill points: %d of %d acknowledged requests found", found, len(allAcked))
	}
	t.Logf("all kill points: acknowledged %d requests (%d events), found all %d", len(allAcked), len(allAcked)*recordsPerReq, len(allAcked))
	s.stop(t)
}

// TestPostgresStoppedUnderLoadLosesNothing stops the PostgreSQL warehouse under a concurrent
// load, then crashes it (SIGKILL of the postmaster), starting it again after each: while it is
// down hookhouse answers 503 with Retry-After, it recovers by itself when it is back, and every
// acknowledged request is stored exactly once, none in part.
func TestPostgresStoppedUnderLoadLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("several seconds of load")
	}
	t.Parallel()
	cluster := pgtest.NewCluster(t)
	url := cluster.CreateDatabase(t)
	data := filepath.Join(t.TempDir(), "data")
	s := startServer(t, data, append(adminEnv, "HOOKHOUSE_WAREHOUSE="+url)...)
	hookURL := addWebhookIntegration(t, s, "Crash")

	l := newLoad(hookURL, 0)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { l.run(stop); close(done) }()
	outages := []struct {
		name string
		down func() error
	}{
		{"fast shutdown", func() error { return cluster.Stop(context.Background()) }},
		{"crash (SIGKILL)", cluster.Kill},
	}
	owner, ok := signInClient(t, s.URL, crashEmail, crashPassword)
	if !ok {
		t.Fatal("sign-in failed")
	}
	for _, o := range outages {
		time.Sleep(time.Second)
		if err := o.down(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		// While it is down, /healthz and the dashboard say what is wrong.
		if status, body := healthz(t, s.URL); status != http.StatusServiceUnavailable || !strings.Contains(body, `"failing":"warehouse"`) {
			t.Errorf("after the %s, /healthz answers %d %s; want 503 naming the warehouse", o.name, status, body)
		}
		if page := getPage(t, owner, s.URL+"/integrations"); !strings.Contains(page, `data-testid="warehouse-problem"`) {
			t.Errorf("after the %s, the dashboard does not say that the warehouse cannot be written", o.name)
		}
		if err := cluster.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		l.mu.Lock()
		ackedBefore := len(l.acked)
		l.mu.Unlock()
		// Recovered by itself: acknowledgements resume without a restart of hookhouse.
		for deadline := time.Now().Add(40 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			l.mu.Lock()
			resumed := len(l.acked) > ackedBefore
			l.mu.Unlock()
			if resumed {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after the %s, nothing was acknowledged for 40 s: %v\n%s", o.name, l.statuses, s.logs())
			}
		}
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	<-done
	if status, body := healthz(t, s.URL); status != http.StatusOK {
		t.Errorf("PostgreSQL is back, but /healthz answers %d %s", status, body)
	}
	if page := getPage(t, owner, s.URL+"/integrations"); strings.Contains(page, `data-testid="warehouse-problem"`) {
		t.Error("PostgreSQL is back and commits succeed, but the dashboard still reports a problem")
	}
	found, stored := warehouseCheck(t, postgresSchemaDB(t, url, "crash"), l.acked)
	t.Logf("PostgreSQL stopped and crashed under load: sent %d requests, acknowledged %d, refused %d %v, cut %d; found %d acknowledged, lost %d; %d stored in all",
		l.sent.Load(), len(l.acked), l.refused, l.statuses, l.failed, found, len(l.acked)-found, stored)
	if found != len(l.acked) {
		t.Errorf("%d acknowledged requests lost", len(l.acked)-found)
	}
	for status, n := range l.statuses {
		if status != http.StatusOK && status != http.StatusServiceUnavailable {
			t.Errorf("%d requests answered %d; want only 200 and 503", n, status)
		}
	}
	if l.statuses[http.StatusServiceUnavailable] == 0 {
		t.Errorf("no request was refused while PostgreSQL was down: %v", l.statuses)
	}
	s.stop(t)
}

func healthz(t *testing.T, base string) (int, string) {
	t.Helper()
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestSIGTERMMidLoadAcknowledgesOnlyWhatItKeeps stops the server with SIGTERM under load:
// requests in flight finish (200) or are refused, it exits cleanly, and after a restart every
// acknowledged request is stored.
func TestSIGTERMMidLoadAcknowledgesOnlyWhatItKeeps(t *testing.T) {
	if testing.Short() {
		t.Skip("several seconds of load")
	}
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	s := startServer(t, data, adminEnv...)
	hookURL := addWebhookIntegration(t, s, "Crash")
	path := strings.TrimPrefix(hookURL, s.URL)

	l := newLoad(hookURL, 0)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { l.run(stop); close(done) }()
	time.Sleep(1500 * time.Millisecond)
	l.mu.Lock()
	ackedBefore := len(l.acked)
	l.mu.Unlock()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM under load: %v\n%s", err, s.logs())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit 30s after SIGTERM under load")
	}
	close(stop)
	<-done

	s = startServer(t, data)
	if resp, err := http.Post(s.URL+path, "application/json", bytes.NewReader(requestBody(l.nextReq.Load()))); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("first request after restart: %v %v", resp, err)
	}
	found, _ := warehouseCheck(t, newCrashWarehouse(t, "sqlite", data).db(), l.acked)
	t.Logf("SIGTERM under load: sent %d requests, acknowledged %d (%d of them after the signal), refused %d %v, cut %d; found %d acknowledged, lost %d",
		l.sent.Load(), len(l.acked), len(l.acked)-ackedBefore, l.refused, l.statuses, l.failed, found, len(l.acked)-found)
	if found != len(l.acked) {
		t.Errorf("%d acknowledged requests lost across SIGTERM", len(l.acked)-found)
	}
	s.stop(t)
}

// TestSlowClientsAreCutOff trickles a request one byte every 200 ms, in its headers and then
// in its body: the server must hang up at -read-header-timeout and -read-timeout (set short
// here), so a slowloris cannot hold connections forever.
func TestSlowClientsAreCutOff(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "HOOKHOUSE_READ_HEADER_TIMEOUT=2s", "HOOKHOUSE_READ_TIMEOUT=3s")
	addr := strings.TrimPrefix(s.URL, "http://")
	for _, tc := range []struct {
		name, head string
		limit      time.Duration
	}{
		{"headers", "POST /login HTTP/1.1\r\nHost: hookhouse\r\n", 2 * time.Second},
		{"body", "POST /login HTTP/1.1\r\nHost: hookhouse\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nemail=", 3 * time.Second},
	} {
		held := trickle(t, addr, tc.head, tc.limit+4*time.Second)
		t.Logf("slowloris trickling its %s: disconnected after %v (limit %v)", tc.name, held.Round(time.Millisecond), tc.limit)
		if held < tc.limit-500*time.Millisecond || held > tc.limit+2*time.Second {
			t.Errorf("slow %s: disconnected after %v, want about %v", tc.name, held, tc.limit)
		}
	}
}

// trickle sends head, then one byte every 200 ms, and returns how long the server kept the
// connection open (giving up after max).
func trickle(t *testing.T, addr, head string, max time.Duration) time.Duration {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	closed := make(chan time.Duration, 1)
	go func() {
		buf := make([]byte, 1024)
		for {
			if _, err := conn.Read(buf); err != nil {
				closed <- time.Since(start)
				return
			}
		}
	}()
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case d := <-closed:
			return d
		case <-tick.C:
			if _, err := io.WriteString(conn, "x"); err != nil && !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatal(err)
			}
			if time.Since(start) > max {
				return time.Since(start)
			}
		}
	}
}

// TestFullDiskAnswers503AndRecovers puts the warehouse folder on a 4 MiB tmpfs and fills it:
// the endpoint answers 503 with a JSON error (never 200), the Extraction Logs record why, and
// once space is back the next request loads without a restart. Needs root (mount).
func TestFullDiskAnswers503AndRecovers(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	wh := filepath.Join(data, "warehouse")
	if err := os.MkdirAll(wh, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", wh).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", wh).Run() })
	s := startServer(t, data, adminEnv...)
	hookURL := addWebhookIntegration(t, s, "Full")

	post := func(id int) (int, string, string) {
		body := fmt.Sprintf(`{"id":%d,"pad":"%s"}`, id, strings.Repeat("x", 64<<10))
		resp, err := http.Post(hookURL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
	}
	var acked []int
	if status, _, body := post(0); status != http.StatusOK {
		t.Fatalf("first event: %d %s", status, body)
	}
	acked = append(acked, 0)

	// Fill the disk, leaving a little room, then keep sending until the warehouse is full.
	filler := filepath.Join(wh, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 32<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()
	var status int
	var retryAfter, body string
	for id := 1; id < 100; id++ {
		status, retryAfter, body = post(id)
		if status != http.StatusOK {
			break
		}
		acked = append(acked, id)
	}
	if status != http.StatusServiceUnavailable || retryAfter == "" || !strings.Contains(body, `"error":"The warehouse could not store this request`) {
		t.Fatalf("on a full disk: %d (Retry-After %q) %s, want 503 with Retry-After and a JSON error", status, retryAfter, body)
	}
	t.Logf("full disk: %d events acknowledged before the disk filled, then %d %s", len(acked), status, body)

	// The refusal is in the Extraction Logs with its reason.
	meta, err := sql.Open("sqlite", "file:"+filepath.Join(data, "hookhouse.db")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer meta.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var logged int
		meta.QueryRow(`SELECT COUNT(*) FROM webhook_requests WHERE status = 503 AND error LIKE '%warehouse could not store%'`).Scan(&logged)
		if logged > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the 503 is not in the Extraction Logs")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(s.logs(), "no space left on device") && !strings.Contains(s.logs(), "full") {
		t.Errorf("the server log does not say the disk is full:\n%s", s.logs())
	}

	// Space is back: the very next request loads, no restart needed.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if status, _, body := post(1000); status != http.StatusOK {
		t.Fatalf("after freeing space: %d %s\n%s", status, body, s.logs())
	}
	acked = append(acked, 1000)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(wh, "full.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, id := range acked {
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM data WHERE id = ?", id).Scan(&n); err != nil || n != 1 {
			t.Errorf("acknowledged id %d stored %d times (%v)", id, n, err)
		}
	}
	s.stop(t)
}
