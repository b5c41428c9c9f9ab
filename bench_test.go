package main

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookhouse/hookhouse/store/pgtest"
)

// BenchmarkIngest compares the real hookhouse binary's webhook endpoint (every acknowledged
// event committed to disk) on its two warehouses, the SQLite files and a PostgreSQL database,
// with a bare net/http server that only reads the body and answers 200. Each runs in a process
// of its own on 127.0.0.1, as a deployed server would (PostgreSQL too, on the same 2 cores);
// this process is the client of all: 64 concurrent keep-alive connections posting a Vero
// event. Rounds alternate between them to share the machine's noise; medians are reported,
// the PostgreSQL warehouse's with a pg- prefix.
//
//	go test -run '^$' -bench Ingest -benchtime 20000x .
func BenchmarkIngest(b *testing.B) {
	const connections, rounds, metricsToken = 64, 3, "bench-metrics-token"
	payload, err := os.ReadFile(filepath.Join("testdata", "fixtures", "vero", "sent.json"))
	if err != nil {
		b.Fatal(err)
	}
	bareURL, barePID := startBareServer(b)
	env := append(adminEnv, "HOOKHOUSE_METRICS_TOKEN="+metricsToken)
	servers := []*benchServer{{name: ""}, {name: "pg-", env: []string{"HOOKHOUSE_WAREHOUSE=" + pgtest.Start(b)}}}
	for _, hs := range servers {
		hs.server = startServer(b, filepath.Join(b.TempDir(), "data"), append(env, hs.env...)...)
		hs.url = addIntegration(b, hs.server, "vero", "Stitch Vero", "")
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: connections, MaxConnsPerHost: connections}}
	var bareRates []float64
	var bareCPU, bareClient time.Duration
	b.ResetTimer()
	for range rounds {
		cpu0 := processCPU(barePID)
		client0 := processCPU(os.Getpid())
		rate, _ := drive(b, client, bareURL, payload, connections, b.N, nil)
		bareCPU += processCPU(barePID) - cpu0
		bareClient += processCPU(os.Getpid()) - client0
		bareRates = append(bareRates, rate)
		for _, hs := range servers {
			hs.round(b, client, payload, connections, metricsToken)
		}
	}
	b.StopTimer()
	base := median(bareRates)
	b.ReportMetric(base, "bare-events/s")
	for _, hs := range servers {
		hs.report(b, base, rounds, metricsToken)
	}
	if bareCPU > 0 {
		b.ReportMetric(float64(bareCPU.Microseconds())/float64(rounds*b.N), "bare-cpu-us/event")
		b.ReportMetric(float64(bareClient.Microseconds())/float64(rounds*b.N), "bare-client-cpu-us/event")
	}
	b.ReportMetric(0, "ns/op") // wall time per op mixes the servers; the metrics above say it
}

// benchServer is a hookhouse process under BenchmarkIngest and what its rounds measured.
type benchServer struct {
	name      string   // prefix of its metrics
	env       []string // its warehouse
	server    *server
	url       string // its webhook URL
	rates     []float64
	latencies []time.Duration
	cpu       time.Duration // the server's CPU, PostgreSQL's own processes not included
	dbCPU     time.Duration // PostgreSQL's processes' CPU in its rounds (all servers' rounds)
	client    time.Duration // this client's CPU in its rounds
	allocs    float64
}

func (hs *benchServer) round(b *testing.B, client *http.Client, payload []byte, connections int, token string) {
	pid := hs.server.cmd.Process.Pid
	cpu0, client0, db0 := processCPU(pid), processCPU(os.Getpid()), postgresCPU()
	mallocs0 := serverMetric(b, hs.server.URL, token, "go_memstats_mallocs_total")
	rate, lat := drive(b, client, hs.url, payload, connections, b.N, nil)
	hs.allocs += serverMetric(b, hs.server.URL, token, "go_memstats_mallocs_total") - mallocs0
	hs.cpu += processCPU(pid) - cpu0
	hs.client += processCPU(os.Getpid()) - client0
	hs.dbCPU += postgresCPU() - db0
	hs.rates = append(hs.rates, rate)
	hs.latencies = append(hs.latencies, lat...)
}

func (hs *benchServer) report(b *testing.B, base float64, rounds int, token string) {
	slices.Sort(hs.latencies)
	rate := median(hs.rates)
	events := float64(rounds * b.N)
	b.ReportMetric(rate, hs.name+"events/s")
	b.ReportMetric(rate/base, hs.name+"ratio")
	b.ReportMetric(ms(hs.latencies[len(hs.latencies)/2]), hs.name+"p50-ms")
	b.ReportMetric(ms(hs.latencies[len(hs.latencies)*99/100]), hs.name+"p99-ms")
	b.ReportMetric(serverMetric(b, hs.server.URL, token, "hookhouse_batch_records_sum")/
		serverMetric(b, hs.server.URL, token, "hookhouse_batch_records_count"), hs.name+"events/commit")
	// The server's Go heap allocations: a steadier measure of its work than CPU time.
	b.ReportMetric(hs.allocs/events, hs.name+"allocs/event")
	if hs.cpu > 0 { // Linux: CPU time (user and system) per request of the server, and of this client
		b.ReportMetric(float64(hs.cpu.Microseconds())/events, hs.name+"cpu-us/event")
		b.ReportMetric(float64(hs.client.Microseconds())/events, hs.name+"client-cpu-us/event")
	}
	if hs.name == "pg-" && hs.dbCPU > 0 {
		b.ReportMetric(float64(hs.dbCPU.Microseconds())/events, "pg-postgres-cpu-us/event")
	}
}

// BenchmarkIngestSigned measures what Standard Webhooks costs: one hookhouse process, three
// Vero integrations: unsigned; verifying every request's webhook-signature; and verifying and
// deduplicating by webhook-id (the scheme's default). Rounds of 64 connections rotate through
// the three. It reports each rate, the ratios to the unsigned rate (signed-ratio: verification
// alone; dedup-ratio: with the delivery ids) and the server's CPU per event in each.
//
//	go test -run '^$' -bench IngestSigned -benchtime 20000x .
func BenchmarkIngestSigned(b *testing.B) {
	const connections, rounds, secret = 64, 3, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	payload, err := os.ReadFile(filepath.Join("testdata", "fixtures", "vero", "sent.json"))
	if err != nil {
		b.Fatal(err)
	}
	s := startServer(b, filepath.Join(b.TempDir(), "data"), adminEnv...)
	legs := []struct {
		name, url string
		signed    bool
		rates     []float64
		cpu       time.Duration
	}{
		{name: "plain"},
		{name: "signed", signed: true},
		{name: "dedup", signed: true},
	}
	legs[0].url = addIntegration(b, s, "vero", "Plain Vero", "")
	legs[1].url = addIntegration(b, s, "vero", "Signed Vero", "")
	enableStandardWebhooks(b, s, legs[1].url, secret, "none")
	legs[2].url = addIntegration(b, s, "vero", "Dedup Vero", "")
	enableStandardWebhooks(b, s, legs[2].url, secret, "default")
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: connections, MaxConnsPerHost: connections}}
	pid := s.cmd.Process.Pid
	var seq int
	sign := func() []http.Header { // each delivery a new id, signed now, before the round
		headers := make([]http.Header, b.N)
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		for i := range headers {
			seq++
			id := "msg_bench_" + strconv.Itoa(seq)
			m := hmac.New(sha256.New, key)
			m.Write([]byte(id + "." + ts + "."))
			m.Write(payload)
			headers[i] = http.Header{"Content-Type": {"application/json"}, "Webhook-Id": {id}, "Webhook-Timestamp": {ts},
				"Webhook-Signature": {"v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))}}
		}
		return headers
	}
	b.ResetTimer()
	for r := range rounds {
		for k := range legs {
			leg := &legs[(r+k)%len(legs)] // rotate which goes first
			var headers []http.Header
			if leg.signed {
				b.StopTimer()
				headers = sign()
				b.StartTimer()
			}
			cpu0 := processCPU(pid)
			rate, _ := drive(b, client, leg.url, payload, connections, b.N, headers)
			leg.cpu += processCPU(pid) - cpu0
			leg.rates = append(leg.rates, rate)
		}
	}
	b.StopTimer()
	plain := median(legs[0].rates)
	b.ReportMetric(plain, "events/s")
	b.ReportMetric(median(legs[1].rates), "signed-events/s")
	b.ReportMetric(median(legs[2].rates), "dedup-events/s")
	b.ReportMetric(median(legs[1].rates)/plain, "signed-ratio")
	b.ReportMetric(median(legs[2].rates)/plain, "dedup-ratio")
	if legs[0].cpu > 0 {
		for _, leg := range legs {
			b.ReportMetric(float64(leg.cpu.Microseconds())/float64(rounds*b.N), leg.name+"-cpu-us/event")
		}
	}
	b.ReportMetric(0, "ns/op")
}

// enableStandardWebhooks switches the integration of hookURL to Standard Webhooks with secret,
// through its Settings form; deliveryID is the form's delivery_id_from (default or none).
func enableStandardWebhooks(b testing.TB, s *server, hookURL, secret, deliveryID string) {
	b.Helper()
	m := regexp.MustCompile(`/v1/clients/(\d+)/`).FindStringSubmatch(hookURL)
	c, ok := signInClient(b, s.URL, crashEmail, crashPassword)
	if m == nil || !ok {
		b.Fatalf("sign-in failed or no id in %s", hookURL)
	}
	settings := s.URL + "/integrations/" + m[1] + "/settings"
	token := csrfField.FindStringSubmatch(getPage(b, c, settings))
	if token == nil {
		b.Fatal("Settings has no CSRF field")
	}
	resp, err := c.PostForm(s.URL+"/integrations/"+m[1]+"/signature", url.Values{"_csrf": {token[1]}, "scheme": {"standard-webhooks"}, "secret": {secret}, "delivery_id_from": {deliveryID}})
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		b.Fatalf("saving the signature settings: %d", resp.StatusCode)
	}
}

// bareServerEnv makes the test binary serve as the bare baseline (see TestMain).
const bareServerEnv = "HOOKHOUSE_BENCH_BARE_SERVER"

// serveBare is the baseline: read the body, answer 200 with a small JSON. It prints its
// address and serves until killed.
func serveBare() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Println(ln.Addr())
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok","records":1}`))
	}))
}

// startBareServer runs the test binary itself as the bare server and returns its URL and pid.
func startBareServer(t testing.TB) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), bareServerEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("bare server: %v", err)
	}
	return "http://" + addr[:len(addr)-1], cmd.Process.Pid
}

// processCPU is the user and system CPU time process pid has used, from /proc (0 elsewhere).
func processCPU(pid int) time.Duration {
	fields := procStat(pid)
	if fields == nil {
		return 0
	}
	// Fields 14 and 15, after the command name in parentheses, in clock ticks of 1/100 s.
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// procStat is /proc/pid/stat's fields after the command name, from the state on (nil when pid is gone).
func procStat(pid int) []string {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	return strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
}

// postgresCPU is the CPU time of the PostgreSQL servers this process started (the private
// cluster of pgtest): each postmaster, its children that run, and those that have exited
// (fields 16 and 17). 0 with HOOKHOUSE_TEST_POSTGRES, whose server is not ours to watch.
func postgresCPU() time.Duration {
	entries, _ := os.ReadDir("/proc")
	parents := map[int]int{}
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			if f := procStat(pid); f != nil {
				parents[pid], _ = strconv.Atoi(f[1])
			}
		}
	}
	postmaster := func(pid int) bool {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		return parents[pid] == os.Getpid() && strings.TrimSpace(string(comm)) == "postgres"
	}
	var total time.Duration
	for pid, parent := range parents {
		switch {
		case postmaster(parent):
			total += processCPU(pid)
		case postmaster(pid):
			total += processCPU(pid)
			if f := procStat(pid); f != nil {
				cutime, _ := strconv.ParseInt(f[13], 10, 64)
				cstime, _ := strconv.ParseInt(f[14], 10, 64)
				total += time.Duration(cutime+cstime) * 10 * time.Millisecond
			}
		}
	}
	return total
}

// drive posts payload n times over the given number of connections and returns the rate
// and each request's latency. headers, when not nil, are the n requests' headers (signatures
// computed beforehand, so the client's HMAC is not counted against the server). Any non-200
// answer fails the benchmark.
func drive(b *testing.B, client *http.Client, target string, payload []byte, connections, n int, headers []http.Header) (float64, []time.Duration) {
	var next atomic.Int64
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	start := time.Now()
	for range connections {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(payload))
				if headers != nil {
					req.Header = headers[i]
				} else {
					req.Header.Set("Content-Type", "application/json")
				}
				t0 := time.Now()
				resp, err := client.Do(req)
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
				lat[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds(), lat
}

// serverMetric reads one sample from the server's /metrics, e.g. the group-commit histogram's
// hookhouse_batch_records_sum (records committed) and _count (transactions).
func serverMetric(b *testing.B, base, token, name string) float64 {
	body := metricsBody(b, base, token)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(?:\{[^}]*\})? (\S+)$`).FindSubmatch(body)
	if m == nil {
		b.Fatalf("no %s in /metrics:\n%.2000s", name, body)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		b.Fatal(err)
	}
	return v
}

// metricsBody is the server's /metrics page, read with its token.
func metricsBody(t testing.TB, base, token string) []byte {
	req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return body
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
