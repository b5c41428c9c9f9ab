package main

import (
	"bytes"
	"context"
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
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/hookhouse/hookhouse/store/pgtest"
)

// Several hookhouse nodes behind HAProxy, all on one PostgreSQL (issue 17): the real binary, a
// real PostgreSQL cluster the test may stop, and Debian's haproxy with testdata/haproxy.cfg.

// clusterSecretKey is the HOOKHOUSE_SECRET_KEY every node of a test cluster shares.
const clusterSecretKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

// cluster is PostgreSQL, hookhouse nodes on fixed ports (a restarted node comes back where
// HAProxy expects it) and HAProxy in front of them.
type cluster struct {
	pg    *pgtest.Cluster
	dbURL string // the database the nodes share
	nodes []*clusterNode
	proxy *haproxy
}

type clusterNode struct {
	name, addr, data string
	env              []string
	*server          // nil while stopped
}

// startCluster starts PostgreSQL, n nodes sharing its database for the metadata and the
// warehouse, the first with its owner account, and HAProxy in front of them.
func startCluster(t testing.TB, n int) *cluster {
	t.Helper()
	return startClusterWith(t, n)
}

// startClusterWith starts a cluster like startCluster, with env added to every node's.
func startClusterWith(t testing.TB, n int, env ...string) *cluster {
	t.Helper()
	haproxyBin := needHAProxy(t)
	pg := pgtest.NewCluster(t)
	c := &cluster{pg: pg, dbURL: pg.CreateDatabase(t)}
	for i := range n {
		c.nodes = append(c.nodes, &clusterNode{
			name: fmt.Sprintf("node%d", i+1),
			addr: freeAddr(t),
			data: filepath.Join(t.TempDir(), "data"),
			env: []string{
				"HOOKHOUSE_WAREHOUSE=" + c.dbURL,
				"HOOKHOUSE_DATABASE=" + c.dbURL,
				"HOOKHOUSE_SECRET_KEY=" + clusterSecretKey,
				"HOOKHOUSE_TRUSTED_PROXIES=127.0.0.1",
				"HOOKHOUSE_SHUTDOWN_DRAIN=2s", // HAProxy takes a node out after 2 failed checks 500 ms apart
			},
		})
	}
	for _, node := range c.nodes {
		node.env = append(node.env, env...)
	}
	c.nodes[0].env = append(c.nodes[0].env, adminEnv...)
	for _, node := range c.nodes {
		c.start(t, node) // one after the other: the first creates the schema and the owner
	}
	c.proxy = startHAProxy(t, haproxyBin, c.nodes)
	return c
}

// start starts a stopped node and waits until it answers /healthz.
func (c *cluster) start(t testing.TB, node *clusterNode) {
	t.Helper()
	node.server = startServerAt(t, node.addr, node.data, node.env...)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(node.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is not healthy 30 s after its start: %v %v\n%s", node.name, resp, err, node.logs())
		}
	}
}

// freeAddr is a 127.0.0.1 address with a port free at the time of the call.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// needHAProxy returns the haproxy binary's path; without it the test is skipped, or fails in CI.
func needHAProxy(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("haproxy")
	if err == nil {
		return path
	}
	if _, err := os.Stat("/usr/sbin/haproxy"); err == nil {
		return "/usr/sbin/haproxy" // Debian's, when sbin is not on PATH
	}
	if os.Getenv("CI") != "" {
		t.Fatal("the cluster tests need haproxy (apt-get install -y haproxy); CI is set, so this fails instead of skipping")
	}
	t.Skip("the cluster tests need haproxy: apt-get install -y haproxy")
	return ""
}

// haproxy is a running HAProxy.
type haproxy struct {
	URL    string
	cmd    *exec.Cmd
	log    string
	exited chan error
}

// haproxyServer is a server line of the HAProxy configuration.
type haproxyServer struct{ Name, Addr string }

// haproxyConfig is testdata/haproxy.cfg for HAProxy listening on listen, in front of servers.
func haproxyConfig(t testing.TB, listen string, servers []haproxyServer) []byte {
	t.Helper()
	tmpl, err := template.ParseFiles(filepath.Join("testdata", "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg bytes.Buffer
	if err := tmpl.Execute(&cfg, struct {
		Listen string
		Nodes  []haproxyServer
	}{listen, servers}); err != nil {
		t.Fatal(err)
	}
	return cfg.Bytes()
}

// startHAProxy runs HAProxy with testdata/haproxy.cfg for nodes on a free port, in the
// foreground until the test ends.
func startHAProxy(t testing.TB, bin string, nodes []*clusterNode) *haproxy {
	t.Helper()
	listen := freeAddr(t)
	var servers []haproxyServer
	for _, n := range nodes {
		servers = append(servers, haproxyServer{n.name, n.addr})
	}
	cfg := haproxyConfig(t, listen, servers)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-c", "-q", "-f", cfgPath).CombinedOutput(); err != nil {
		t.Fatalf("haproxy refuses its configuration: %v\n%s\n%s", err, out, cfg)
	}
	logFile, err := os.Create(filepath.Join(dir, "haproxy.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "-db", "-f", cfgPath) // -db: in the foreground, a child of this test
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &haproxy{URL: "http://" + listen, cmd: cmd, log: logFile.Name(), exited: make(chan error, 1)}
	go func() { h.exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill(); <-h.exited })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if status, _ := getStatus(h.URL + "/healthz"); status == http.StatusOK {
			return h
		}
		select {
		case err := <-h.exited:
			t.Fatalf("haproxy exited: %v\n%s", err, h.logs())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy does not pass /healthz on within 10 s:\n%s", h.logs())
		}
	}
}

func (h *haproxy) logs() string {
	b, _ := os.ReadFile(h.log)
	return string(b)
}

func getStatus(target string) (int, error) {
	resp, err := http.Get(target)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestREADMEShowsTheHAProxyConfigurationTheTestsUse: the deployment section's configuration is
// testdata/haproxy.cfg, filled in for three nodes.
func TestREADMEShowsTheHAProxyConfigurationTheTestsUse(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	cfg := haproxyConfig(t, ":80", []haproxyServer{{"node1", "10.0.0.11:8080"}, {"node2", "10.0.0.12:8080"}, {"node3", "10.0.0.13:8080"}})
	if !bytes.Contains(readme, cfg) {
		t.Errorf("README.md does not show testdata/haproxy.cfg for three nodes; it should hold:\n%s", cfg)
	}
}

// ackedCount is how many requests the load has had acknowledged so far.
func (l *load) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// answers is a copy of the load's status counts so far.
func (l *load) answers() map[int]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := make(map[int]int, len(l.statuses))
	for k, v := range l.statuses {
		m[k] = v
	}
	return m
}

func (l *load) failedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed
}

// waitAcks waits until the load has more than n acknowledged requests.
func waitAcks(t *testing.T, l *load, n int, what string) {
	t.Helper()
	for deadline := time.Now().Add(40 * time.Second); l.ackedCount() <= n; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: nothing acknowledged for 40 s: %v", what, l.answers())
		}
	}
}

// TestClusterLosesNoAcknowledgedEvent drives webhooks through HAProxy to three nodes while one
// node is killed with SIGKILL and restarted, one is stopped with SIGTERM and restarted, and
// PostgreSQL is restarted: every acknowledged request is in the warehouse exactly once, and
// while one node is down the others go on acknowledging.
func TestClusterLosesNoAcknowledgedEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test: several seconds of load")
	}
	c := startCluster(t, 3)
	hookURL := addWebhookIntegration(t, &server{URL: c.proxy.URL}, "Crash")
	path := strings.TrimPrefix(hookURL, c.proxy.URL)

	l := newLoad(c.proxy.URL+path, 0)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { l.run(stop); close(done) }()
	waitAcks(t, l, 0, "start")

	type phase struct {
		name           string
		node, graceful bool   // one node goes down; it stops gracefully
		outage         func() // takes a part down and returns when it is down
		restore        func()
	}
	killed, stopped := c.nodes[0], c.nodes[1]
	phases := []phase{
		{"kill -9 " + killed.name, true, false,
			func() {
				killed.cmd.Process.Signal(syscall.SIGKILL)
				<-killed.exited
			},
			func() { c.start(t, killed) }},
		{"SIGTERM " + stopped.name, true, true,
			func() {
				stopped.cmd.Process.Signal(syscall.SIGTERM)
				select {
				case err := <-stopped.exited:
					if err != nil {
						t.Errorf("%s exited with %v after SIGTERM under load\n%s", stopped.name, err, stopped.logs())
					}
				case <-time.After(30 * time.Second):
					t.Fatalf("%s did not exit 30 s after SIGTERM", stopped.name)
				}
			},
			func() { c.start(t, stopped) }},
		{"PostgreSQL restart", false, false,
			func() {
				if err := c.pg.Stop(context.Background()); err != nil {
					t.Fatal(err)
				}
				// What takes the nodes out of HAProxy: each says it cannot reach its databases.
				for _, node := range c.nodes {
					if status, body := healthz(t, node.URL); status != http.StatusServiceUnavailable || !strings.Contains(body, `"failing"`) {
						t.Errorf("PostgreSQL is down, but %s's /healthz answers %d %s", node.name, status, body)
					}
				}
			},
			func() {
				if err := c.pg.Start(context.Background()); err != nil {
					t.Fatal(err)
				}
			}},
	}
	for _, p := range phases {
		time.Sleep(time.Second)
		before, answers, failed := l.ackedCount(), l.answers(), l.failedCount()
		p.outage()
		time.Sleep(time.Second)
		during := l.ackedCount() - before
		p.restore()
		waitAcks(t, l, l.ackedCount(), "after "+p.name)
		t.Logf("%s: %d requests acknowledged while it was down; answers until it was back %v, no answer %d", p.name, during, diffAnswers(l.answers(), answers), l.failedCount()-failed)
		if during == 0 && p.node {
			t.Errorf("%s: the other nodes acknowledged nothing while it was down", p.name)
		}
		// A graceful stop is a deploy: requests in flight finish and new ones go elsewhere.
		if p.graceful {
			if d := diffAnswers(l.answers(), answers); len(d) != 1 || l.failedCount() != failed {
				t.Errorf("%s: answers %v and %d without an answer; want only 200s", p.name, d, l.failedCount()-failed)
			}
		}
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	<-done

	db := postgresSchemaDB(t, c.dbURL, "crash")
	var duplicates int
	if err := db.QueryRow("SELECT COUNT(*) FROM (SELECT id FROM data GROUP BY id HAVING COUNT(*) > 1) d").Scan(&duplicates); err != nil {
		t.Fatal(err)
	}
	found, stored := warehouseCheck(t, db, l.acked) // fails the test on a duplicate or a partial request
	sent := l.sent.Load()
	t.Logf("cluster of 3 behind HAProxy, kill -9 / SIGTERM / PostgreSQL restart under load: sent %d requests (%d events), acknowledged %d (%d events), found %d, lost %d, duplicates %d; answers %v, no answer %d; %d requests stored in all",
		sent, sent*recordsPerReq, len(l.acked), len(l.acked)*recordsPerReq, found, len(l.acked)-found, duplicates, l.statuses, l.failed, stored)
	if found != len(l.acked) {
		t.Errorf("%d acknowledged requests lost", len(l.acked)-found)
	}
	for status, n := range l.statuses {
		if status != http.StatusOK && status != http.StatusServiceUnavailable && status != http.StatusBadGateway {
			t.Errorf("%d requests answered %d; want 200, or 502/503 during an outage", n, status)
		}
	}
	for _, node := range c.nodes {
		node.stop(t)
	}
}

// diffAnswers is now minus before, status by status.
func diffAnswers(now, before map[int]int) map[int]int {
	d := map[int]int{}
	for k, v := range now {
		if v-before[k] != 0 {
			d[k] = v - before[k]
		}
	}
	return d
}

// TestShutdownDrainFailsHealthzButServes: with -shutdown-drain, SIGTERM first turns /healthz
// to 503 while webhooks are still stored, so a load balancer moves traffic before the node
// closes its connections; then it exits cleanly.
func TestShutdownDrainFailsHealthzButServes(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "data"), append(adminEnv, "HOOKHOUSE_SHUTDOWN_DRAIN=1500ms")...)
	hookURL := addWebhookIntegration(t, s, "Drain")
	if status, body := healthz(t, s.URL); status != http.StatusOK {
		t.Fatalf("before SIGTERM /healthz answers %d %s", status, body)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	for deadline := time.Now().Add(time.Second); ; time.Sleep(10 * time.Millisecond) {
		status, body := healthz(t, s.URL)
		if status == http.StatusServiceUnavailable && strings.Contains(body, `"draining"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after SIGTERM /healthz still answers %d %s", status, body)
		}
	}
	resp, err := http.Post(hookURL, "application/json", strings.NewReader(`{"id":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a webhook while draining: %d, want 200", resp.StatusCode)
	}
	select {
	case err := <-s.exited:
		if err != nil {
			t.Fatalf("exit after the drain: %v\n%s", err, s.logs())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit 20 s after SIGTERM")
	}
}

var revokeAction = regexp.MustCompile(`action="(/integrations/\d+/urls/\d+/revoke)"`)

// TestClusterNodesShareSessionsURLsAndRevocations goes from node to node as HAProxy without
// sticky sessions may send a user: signed in through node 1, the next page from node 2; a URL
// added through node 1 is shown by node 2's copy-once page, and by no page after; a URL revoked
// through node 1 is refused by nodes 2 and 3 within a second, though both had just used it.
func TestClusterNodesShareSessionsURLsAndRevocations(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test")
	}
	const metricsToken = "cluster-metrics-token"
	c := startClusterWith(t, 3, "HOOKHOUSE_METRICS_TOKEN="+metricsToken)
	n1, n2, n3 := c.nodes[0].URL, c.nodes[1].URL, c.nodes[2].URL

	// The cookie jar sends the session to every port of 127.0.0.1, as a browser would send it
	// to every node behind one name.
	client, ok := signInClient(t, n1, crashEmail, crashPassword)
	if !ok {
		t.Fatal("sign-in through node 1 failed")
	}
	if page := getPage(t, client, n2+"/integrations"); !strings.Contains(page, `data-testid="current-user">`+crashEmail) {
		t.Fatalf("node 2 does not know the session made by node 1:\n%.1500s", page)
	}

	form := getPage(t, client, n1+"/integrations/new/incoming-webhooks")
	m := csrfField.FindStringSubmatch(form)
	if m == nil {
		t.Fatal("no CSRF field on Add Integration")
	}
	resp, err := client.PostForm(n1+"/integrations/new/incoming-webhooks", url.Values{"name": {"Across"}, "primary_key": {"id"}, "_csrf": {m[1]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("Add Integration through node 1: %d", resp.StatusCode)
	}
	copyOnce := resp.Header.Get("Location")
	shown := webhookURLInPage.FindStringSubmatch(getPage(t, client, n2+copyOnce))
	if shown == nil {
		t.Fatal("node 2's copy-once page does not show the URL added through node 1")
	}
	hookURL := html.UnescapeString(shown[1])
	for _, again := range []string{n2, n3, n1} {
		if page := getPage(t, client, again+copyOnce); webhookURLInPage.MatchString(page) || !strings.Contains(page, `data-testid="url-gone"`) {
			t.Errorf("the copy-once page shows the URL a second time, from %s", again)
		}
	}
	path := strings.TrimPrefix(hookURL, n1) // built on the address node 1 was asked at

	post := func(base string, id int) int {
		resp, err := http.Post(base+path, "application/json", strings.NewReader(fmt.Sprintf(`{"id":%d}`, id)))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for i, base := range []string{n1, n2, n3} { // each node has the URL cached now
		if status := post(base, i); status != http.StatusOK {
			t.Fatalf("a webhook through node %d: %d", i+1, status)
		}
	}

	id := strings.Split(strings.TrimPrefix(path, "/v1/clients/"), "/")[0]
	settings := getPage(t, client, n1+"/integrations/"+id+"/settings")
	action, csrf := revokeAction.FindStringSubmatch(settings), csrfField.FindStringSubmatch(settings)
	if action == nil || csrf == nil {
		t.Fatalf("Settings has no revoke form:\n%.2000s", settings)
	}
	resp, err = client.PostForm(n1+action[1], url.Values{"_csrf": {csrf[1]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke through node 1: %d", resp.StatusCode)
	}
	revoked := time.Now()
	for i, base := range []string{n2, n3} {
		for status := post(base, 100); status != http.StatusUnauthorized; status = post(base, 100) {
			if time.Since(revoked) > time.Second {
				t.Fatalf("node %d still answers %d to the URL revoked through node 1 a second ago", i+2, status)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	t.Logf("revoked through node 1: nodes 2 and 3 refuse the URL after %v", time.Since(revoked).Round(time.Millisecond))

	// Deleted through node 1: every node's /metrics drops the integration's series, not only
	// node 1's (each node counted a webhook above).
	series := `integration_id="` + id + `"`
	metricsOf := func(base string) string { return string(metricsBody(t, base, metricsToken)) }
	for i, base := range []string{n1, n2, n3} {
		if !strings.Contains(metricsOf(base), series) {
			t.Fatalf("node %d has no series of the integration before its delete", i+1)
		}
	}
	settings = getPage(t, client, n1+"/integrations/"+id+"/settings")
	if csrf = csrfField.FindStringSubmatch(settings); csrf == nil {
		t.Fatal("Settings has no CSRF field")
	}
	resp, err = client.PostForm(n1+"/integrations/"+id+"/delete", url.Values{"_csrf": {csrf[1]}, "confirm_schema": {"across"}, "data": {"keep"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete through node 1: %d", resp.StatusCode)
	}
	deleted := time.Now()
	for i, base := range []string{n1, n2, n3} {
		for strings.Contains(metricsOf(base), series) {
			if time.Since(deleted) > time.Second {
				t.Fatalf("node %d still shows the series of the integration deleted through node 1 a second ago", i+1)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	for _, node := range c.nodes {
		node.stop(t)
	}
}

// BenchmarkCluster compares the throughput of one node and of three nodes behind HAProxy, in
// one run: PostgreSQL (metadata and warehouse) and three nodes, with one HAProxy in front of
// node 1 alone and one in front of all three; rounds of 64 keep-alive connections posting a
// Vero event alternate between the two. Everything shares this machine's cores (the client,
// HAProxy, PostgreSQL and the nodes), so more nodes add no CPU here: the ratio says what
// spreading the requests costs or gains on one machine, not how a cluster of machines scales.
//
//	go test -run '^$' -bench Cluster -benchtime 5000x -count 5 .
func BenchmarkCluster(b *testing.B) {
	const connections, rounds, metricsToken = 64, 3, "bench-metrics-token"
	payload, err := os.ReadFile(filepath.Join("testdata", "fixtures", "vero", "sent.json"))
	if err != nil {
		b.Fatal(err)
	}
	c := startClusterWith(b, 3, "HOOKHOUSE_METRICS_TOKEN="+metricsToken)
	one := startHAProxy(b, needHAProxy(b), c.nodes[:1])
	hookURL := addIntegration(b, &server{URL: c.proxy.URL}, "vero", "Stitch Vero", "")
	path := strings.TrimPrefix(hookURL, c.proxy.URL)

	// commits is how many transactions all nodes have committed so far.
	commits := func() float64 {
		var n float64
		for _, node := range c.nodes {
			n += serverMetric(b, node.URL, metricsToken, "hookhouse_batch_records_count")
		}
		return n
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: connections, MaxConnsPerHost: connections}}
	var rates1, rates3 []float64
	var commits1, commits3 float64
	b.ResetTimer()
	for range rounds {
		c0 := commits()
		r1, _ := drive(b, client, one.URL+path, payload, connections, b.N, nil)
		c1 := commits()
		r3, _ := drive(b, client, c.proxy.URL+path, payload, connections, b.N, nil)
		commits1, commits3 = commits1+c1-c0, commits3+commits()-c1
		rates1, rates3 = append(rates1, r1), append(rates3, r3)
	}
	b.StopTimer()
	b.ReportMetric(median(rates1), "1node-events/s")
	b.ReportMetric(median(rates3), "3nodes-events/s")
	b.ReportMetric(median(rates3)/median(rates1), "ratio")
	// Each node commits its own batches, under the schema's lock: with three, each batch is smaller.
	b.ReportMetric(float64(rounds*b.N)/commits1, "1node-events/commit")
	b.ReportMetric(float64(rounds*b.N)/commits3, "3nodes-events/commit")
	b.ReportMetric(0, "ns/op") // wall time per op mixes the two; the metrics above say it
}

// Deleted through node 1: node 2 forgets the integration's /metrics series when it hears of
// the delete, but does not believe a NOTIFY any database user can send, and a delete it did
// not hear of (its listener's connection lost) is found when the listener connects again.
func TestClusterForgetsMetricsOfDeletedIntegrations(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test")
	}
	const metricsToken = "cluster-metrics-token"
	c := startClusterWith(t, 2, "HOOKHOUSE_METRICS_TOKEN="+metricsToken)
	n1, n2 := c.nodes[0], c.nodes[1]
	db := postgresSchemaDB(t, c.dbURL, "hookhouse")
	defer db.Close()
	exec := func(query string) {
		t.Helper()
		if _, err := db.Exec(query); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}

	ids := map[string]string{} // by name
	for _, name := range []string{"Kept", "Gone", "Missed"} {
		hook, err := url.Parse(addIntegration(t, n1.server, "vero", name, ""))
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = strings.Split(strings.TrimPrefix(hook.Path, "/v1/clients/"), "/")[0]
		resp, err := http.Post(n2.URL+hook.Path, "application/json", strings.NewReader(`{"type":"sent"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("a webhook of %s through node 2: %d", name, resp.StatusCode)
		}
	}
	counted := func(name string) bool {
		return strings.Contains(string(metricsBody(t, n2.URL, metricsToken)), `integration_id="`+ids[name]+`"`)
	}
	forgotten := func(name, what string) {
		t.Helper()
		for start := time.Now(); counted(name); time.Sleep(10 * time.Millisecond) {
			if time.Since(start) > 5*time.Second {
				t.Fatalf("node 2 still shows the series of %s 5 s after %s", name, what)
			}
		}
	}
	client, ok := signInClient(t, n1.URL, crashEmail, crashPassword)
	if !ok {
		t.Fatal("sign-in through node 1 failed")
	}
	deleteThroughNode1 := func(name string) {
		t.Helper()
		csrf := csrfField.FindStringSubmatch(getPage(t, client, n1.URL+"/integrations/"+ids[name]+"/settings"))
		if csrf == nil {
			t.Fatalf("%s's Settings has no CSRF field", name)
		}
		resp, err := client.PostForm(n1.URL+"/integrations/"+ids[name]+"/delete",
			url.Values{"_csrf": {csrf[1]}, "confirm_schema": {strings.ToLower(name)}, "data": {"keep"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("delete %s through node 1: %d", name, resp.StatusCode)
		}
	}

	// Anyone's NOTIFY first; the real delete's notification comes after it.
	exec(`NOTIFY hookhouse_deleted, '` + ids["Kept"] + `'`)
	deleteThroughNode1("Gone")
	forgotten("Gone", "its delete through node 1")
	if !counted("Kept") {
		t.Error("a NOTIFY made node 2 forget the series of an integration that exists")
	}

	// A delete node 2 does not hear of, then its listener's connection lost and made again.
	exec(`ALTER TABLE integrations DISABLE TRIGGER integrations_deleted_each`)
	deleteThroughNode1("Missed")
	exec(`ALTER TABLE integrations ENABLE TRIGGER integrations_deleted_each`)
	if !counted("Missed") {
		t.Fatal("node 2 forgot an integration whose delete it was not told of: the test shows nothing")
	}
	exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND (query LIKE 'LISTEN %' OR query = '-- ping')`)
	forgotten("Missed", "its listener connected again")
	if !counted("Kept") {
		t.Error("node 2 forgot the series of an integration that exists")
	}
	for _, node := range c.nodes {
		node.stop(t)
	}
}
