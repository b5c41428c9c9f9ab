package main

import (
	"bytes"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
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

	"github.com/hookhouse/hookhouse/store/pgtest"
)

var scaleRows = flag.Int("scale-rows", 200_000, "rows BenchmarkLargeTable loads into its big integration")

// BenchmarkLargeTable fills one integration with -scale-rows Vero-like events through the real
// endpoint (JSON arrays of 1,000 records and single events, an array every 10th request, 20% of
// ids repeated) and a small one with 1,000, then times each dashboard page of both, alternately,
// and reports the big one's median and its ratio to the small one's; the first webhook after a
// restart against the next; and, on the big table, a plain SELECT *, the documented
// latest-version query and count(*) of data_latest.
//
//	go test -run '^$' -bench LargeTable/sqlite -benchtime 1x -timeout 2h . -scale-rows 10000000
func BenchmarkLargeTable(b *testing.B) {
	for _, dest := range []string{"sqlite", "postgres"} {
		b.Run(dest, func(b *testing.B) { benchmarkLargeTable(b, dest) })
	}
}

func benchmarkLargeTable(b *testing.B, dest string) {
	dataDir := filepath.Join(b.TempDir(), "data")
	env := append(adminEnv, "HOOKHOUSE_RATE_LIMIT=0")
	var pgURL string
	if dest == "postgres" {
		pgURL = pgtest.Start(b)
		env = append(env, "HOOKHOUSE_WAREHOUSE="+pgURL)
	}
	s := startServer(b, dataDir, env...)
	bigHook := addIntegration(b, s, "vero", "big", "id")
	smallHook := addIntegration(b, s, "vero", "small", "id")

	start := time.Now()
	fill(b, bigHook, *scaleRows)
	b.Logf("%s: %d rows loaded in %v", dest, *scaleRows, time.Since(start).Round(time.Second))
	fill(b, smallHook, 1000)

	c, ok := signInClient(b, s.URL, crashEmail, crashPassword)
	if !ok {
		b.Fatal("sign-in failed")
	}
	b.ResetTimer()
	for range b.N {
		pages(b, c, s.URL, integrationPath(b, bigHook), integrationPath(b, smallHook))
		s = restarts(b, s, dataDir, env, bigHook, smallHook)
	}
	b.StopTimer()

	var db *sql.DB
	var client func(query string) *exec.Cmd // the command-line client a user would query with
	if dest == "postgres" {
		db = postgresSchemaDB(b, pgURL, "big")
		client = func(query string) *exec.Cmd {
			return exec.Command("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", "SET search_path = big", "-c", query, pgURL)
		}
	} else {
		file := filepath.Join(dataDir, "warehouse", "big.db")
		var err error
		if db, err = sql.Open("sqlite", "file:"+file+"?mode=ro"); err != nil {
			b.Fatal(err)
		}
		client = func(query string) *exec.Cmd { return exec.Command("sqlite3", "-readonly", file, query) }
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	queries(b, db)
	clientQueries(b, client)
}

var integrationID = regexp.MustCompile(`/clients/(\d+)/`)

// integrationPath is the dashboard path of the integration a webhook URL belongs to.
func integrationPath(b *testing.B, hook string) string {
	m := integrationID.FindStringSubmatch(hook)
	if m == nil {
		b.Fatalf("no integration id in %s", hook)
	}
	return "/integrations/" + m[1]
}

// veroEvents makes Vero-like events: seven types (one rare), 20% of ids seen before.
type veroEvents struct {
	mu     sync.Mutex
	rng    *rand.Rand
	lastID int64
}

var veroTypes = []string{"sent", "delivered", "opened", "clicked", "sent", "opened", "unsubscribed", "bounced"}

func (v *veroEvents) append(buf []byte) []byte {
	v.mu.Lock()
	id := v.lastID + 1
	if v.lastID > 0 && v.rng.IntN(5) == 0 {
		id = 1 + v.rng.Int64N(v.lastID)
	} else {
		v.lastID = id
	}
	typ := veroTypes[v.rng.IntN(len(veroTypes))]
	if v.rng.IntN(1000) == 0 {
		typ = "user_created"
	}
	campaign := v.rng.IntN(500)
	v.mu.Unlock()
	return fmt.Appendf(buf, `{"id":%d,"sent_at":%d,"type":%q,"user":{"id":%d,"email":"user%d@example.com"},`+
		`"campaign":{"id":%d,"type":"transactional","name":"Campaign %d","subject":"Your order is being processed!",`+
		`"trigger-event":"purchased item","permalink":"http://app.getvero.com/view/1/%d","variation":"Variation A"},`+
		`"message_id":"%d.1B72E094173067F0F@veromail.com"}`, id, 1435016238+id, typ, id%100000, id%100000, campaign, campaign, id, id)
}

// fill posts events to hook until it holds rows of them: every 10th request an array of 1,000.
func fill(b testing.TB, hook string, rows int) {
	const connections = 8
	events := &veroEvents{rng: rand.New(rand.NewPCG(uint64(rows), 1))}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: connections}}
	var sent, requests atomic.Int64
	var wg sync.WaitGroup
	for range connections {
		wg.Go(func() {
			var body []byte
			for {
				n := int64(1)
				if requests.Add(1)%10 == 0 {
					n = 1000
				}
				if left := int64(rows) - sent.Add(n) + n; left <= 0 {
					return
				} else {
					n = min(n, left)
				}
				body = body[:0]
				if n > 1 {
					body = append(body, '[')
				}
				for i := range n {
					if i > 0 {
						body = append(body, ',')
					}
					body = events.append(body)
				}
				if n > 1 {
					body = append(body, ']')
				}
				resp, err := client.Post(hook, "application/json", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
}

var olderLink = regexp.MustCompile(`[?&](?:amp;)?before=([0-9-]+)`)

// pages times each dashboard page of the big and the small integration, alternately.
func pages(b *testing.B, c *http.Client, base, big, small string) {
	const rounds = 15
	// Page 51 of the big table; the small one has 20: its page 11.
	cursor := func(path string, page int) string {
		before := ""
		for range page - 1 {
			m := olderLink.FindStringSubmatch(getPage(b, c, base+path+"/data?before="+before))
			if m == nil {
				b.Fatalf("no Older link on %s", path)
			}
			before = m[1]
		}
		return before
	}
	pages := []struct{ name, big, small string }{
		{"overview", big, small},
		{"data", big + "/data", small + "/data"},
		{"page51", big + "/data?before=" + cursor(big, 51), small + "/data?before=" + cursor(small, 11)},
		{"latest", big + "/data?table=data_latest", small + "/data?table=data_latest"},
		{"type", big + "/data?type=opened", small + "/data?type=opened"},
		{"type-rare", big + "/data?type=user_created", small + "/data?type=user_created"},
		{"type-none", big + "/data?type=none", small + "/data?type=none"},
	}
	for _, p := range pages {
		var bigTimes, smallTimes []float64
		for range rounds {
			for _, run := range []struct {
				path  string
				times *[]float64
			}{{p.big, &bigTimes}, {p.small, &smallTimes}} {
				t0 := time.Now()
				getPage(b, c, base+run.path)
				*run.times = append(*run.times, ms(time.Since(t0)))
			}
		}
		b.ReportMetric(median(bigTimes), p.name+"-ms")
		b.ReportMetric(median(bigTimes)/median(smallTimes), p.name+"-ratio")
	}
}

// restarts restarts the server nine times and times the first webhook after each, to the big
// integration or the small one in turn, against the next one: what a restart costs per row
// shows against the small one's, which pays the rest (a new process, its files and caches);
// and, once the process has answered a webhook to the small one, the big one's first against
// its next (its file's opening alone).
func restarts(b *testing.B, s *server, dataDir string, env []string, big, small string) *server {
	first := map[string][]float64{}
	var next []float64
	post := func(hook string) float64 {
		t0 := time.Now()
		resp, err := http.Post(hook, "application/json", strings.NewReader(`{"id":1,"type":"sent"}`))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
		return ms(time.Since(t0))
	}
	var warmFirst, warmNext []float64
	for i := range 9 {
		s.cmd.Process.Signal(syscall.SIGTERM)
		if err := <-s.exited; err != nil {
			b.Fatalf("exit: %v", err)
		}
		s = startServer(b, dataDir, env...)
		at := func(hook string) string {
			u, err := url.Parse(hook)
			if err != nil {
				b.Fatal(err)
			}
			return s.URL + u.Path // the new process listens on another port
		}
		switch i % 3 {
		case 0:
			first["big"] = append(first["big"], post(at(big)))
			next = append(next, post(at(big)))
		case 1:
			first["small"] = append(first["small"], post(at(small)))
		case 2: // the process warmed by a webhook to another integration: what opening big costs
			post(at(small))
			warmFirst = append(warmFirst, post(at(big)))
			warmNext = append(warmNext, post(at(big)))
		}
	}
	b.ReportMetric(median(first["big"]), "restart-first-ms")
	b.ReportMetric(median(first["big"])/median(next), "restart-first/next")
	b.ReportMetric(median(first["big"])/median(first["small"]), "restart-ratio")
	b.ReportMetric(median(warmFirst)/median(warmNext), "restart-warm-first/next")
	return s
}

// documentedLatestQuery is Stitch's latest-version query as README (Querying) gives it.
const documentedLatestQuery = `SELECT * FROM data o INNER JOIN (SELECT MAX(_sdc_sequence) AS seq, id FROM data GROUP BY id) oo ON o.id = oo.id AND o._sdc_sequence = oo.seq`

// queries times, on the big table, a plain SELECT * read whole, the latest-version query as
// README documents it, and count(*) of data_latest.
func queries(b *testing.B, db *sql.DB) {
	run := func(query string) (float64, int) {
		t0 := time.Now()
		rows, err := db.Query(query)
		if err != nil {
			b.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		for i := range vals {
			vals[i] = new(sql.RawBytes)
		}
		n := 0
		for rows.Next() {
			if err := rows.Scan(vals...); err != nil {
				b.Fatal(err)
			}
			n++
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		return ms(time.Since(t0)), n
	}
	var all, latest, count []float64
	for range queryRuns() {
		t, n := run(`SELECT * FROM data`)
		all = append(all, t)
		t, m := run(documentedLatestQuery)
		latest = append(latest, t)
		var c int
		t0 := time.Now()
		if err := db.QueryRow(`SELECT count(*) FROM data_latest`).Scan(&c); err != nil {
			b.Fatal(err)
		}
		count = append(count, ms(time.Since(t0)))
		if c != m {
			b.Errorf("data_latest has %d rows, the documented query %d", c, m)
		}
		b.Logf("SELECT *: %d rows; latest versions: %d", n, m)
	}
	b.ReportMetric(median(all), "select-all-ms")
	b.ReportMetric(median(latest), "latest-query-ms")
	b.ReportMetric(median(latest)/median(all), "latest-query-ratio")
	b.ReportMetric(median(count), "count-latest-ms")
}

// queryRuns is how many times each of the big table's queries runs: once at 10M rows, where
// each takes minutes.
func queryRuns() int {
	if *scaleRows > 2_000_000 {
		return 1
	}
	return 3
}

// clientQueries times the queries of issue 18's targets as a user runs them: through sqlite3 or
// psql (client makes the command), the output to /dev/null. It reports the medians' ratio, the
// documented query against SELECT *, in wall time and, for sqlite3, which runs the query in its
// own process, in that process's CPU time (steadier on a loaded machine); and count(*) of
// data_latest. It reports nothing when the client is not installed.
func clientQueries(b *testing.B, client func(query string) *exec.Cmd) {
	name := client("").Args[0]
	if _, err := exec.LookPath(name); err != nil {
		b.Logf("no %s: the client's timings are left out", name)
		return
	}
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devNull.Close()
	run := func(query string) (wall, cpu float64) {
		cmd := client(query)
		cmd.Stdout = devNull // written by the client itself, not copied through this process
		var stderr strings.Builder
		cmd.Stderr = &stderr
		t0 := time.Now()
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			b.Fatalf("%s %q: %v %s", name, query, err, stderr.String())
		}
		return ms(time.Since(t0)), ms(cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime())
	}
	var all, latest, count, allCPU, latestCPU []float64
	for range queryRuns() {
		w, c := run(`SELECT * FROM data`)
		all, allCPU = append(all, w), append(allCPU, c)
		w, c = run(documentedLatestQuery)
		latest, latestCPU = append(latest, w), append(latestCPU, c)
		w, _ = run(`SELECT count(*) FROM data_latest`)
		count = append(count, w)
	}
	b.ReportMetric(median(all), "cli-select-all-ms")
	b.ReportMetric(median(latest), "cli-latest-query-ms")
	b.ReportMetric(median(latest)/median(all), "cli-latest-query-ratio")
	if name == "sqlite3" {
		b.ReportMetric(median(latestCPU)/median(allCPU), "cli-latest-query-cpu-ratio")
	}
	b.ReportMetric(median(count), "cli-count-latest-ms")
}
