package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookhouse/hookhouse/store"
	"github.com/hookhouse/hookhouse/store/warehouse"
	"github.com/hookhouse/hookhouse/web"
)

// BenchmarkIngest compares hookhouse's webhook endpoint (real server on 127.0.0.1, every
// acknowledged event fsynced) with a bare net/http handler that only reads the body, both
// driven by the same client: 64 concurrent keep-alive connections posting a Vero event.
// Rounds alternate between the two to share the machine's noise; medians are reported.
//
//	go test ./web/ -run '^$' -bench Ingest -benchtime 20000x
func BenchmarkIngest(b *testing.B) {
	const connections, rounds = 64, 3
	payload := fixture(b, "vero/sent.json")

	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok","records":1}`))
	}))
	defer bare.Close()
	var commits, committed atomic.Int64
	hookURL := benchApp(b, func(r warehouse.BatchReport) {
		commits.Add(1)
		committed.Add(int64(r.Records))
	})

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: connections, MaxConnsPerHost: connections}}
	var bareRates, hookRates []float64
	var latencies []time.Duration
	b.ResetTimer()
	for range rounds {
		rate, _ := drive(b, client, bare.URL, payload, connections, b.N)
		bareRates = append(bareRates, rate)
		rate, lat := drive(b, client, hookURL, payload, connections, b.N)
		hookRates = append(hookRates, rate)
		latencies = append(latencies, lat...)
	}
	b.StopTimer()
	slices.Sort(latencies)
	hook, base := median(hookRates), median(bareRates)
	b.ReportMetric(hook, "events/s")
	b.ReportMetric(base, "bare-events/s")
	b.ReportMetric(hook/base, "ratio")
	b.ReportMetric(ms(latencies[len(latencies)/2]), "p50-ms")
	b.ReportMetric(ms(latencies[len(latencies)*99/100]), "p99-ms")
	b.ReportMetric(float64(committed.Load())/float64(max(commits.Load(), 1)), "events/commit")
	b.ReportMetric(0, "ns/op") // wall time per op mixes both servers; the metrics above say it
}

// benchApp starts the real app with one Vero integration and returns its webhook URL;
// onCommit sees every committed batch.
func benchApp(b *testing.B, onCommit func(warehouse.BatchReport)) string {
	dir := b.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "hookhouse.db"))
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	wh, err := warehouse.Open(filepath.Join(dir, "warehouse"), log, warehouse.Options{OnCommit: func(schema string, r warehouse.BatchReport) {
		st.RecordBatch(schema, r)
		onCommit(r)
	}})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(web.New(web.Config{Store: st, Warehouse: wh, Log: log, DataDir: dir}))
	b.Cleanup(func() {
		srv.Close()
		wh.Close()
		st.Close()
	})
	ctx := context.Background()
	owner, err := st.CreateOwner(ctx, "bench@example.com", "benchmark password")
	if err != nil {
		b.Fatal(err)
	}
	in, _, token, err := st.CreateIntegration(ctx, store.NewIntegration{UserID: owner.ID, Name: "Stitch Vero", Source: "vero", Schema: "stitch_vero"})
	if err != nil {
		b.Fatal(err)
	}
	return srv.URL + "/v1/clients/" + itoa(in.ID) + "/token/" + url.PathEscape(token)
}

// drive posts payload n times over the given number of connections and returns the rate
// and each request's latency. Any non-200 answer fails the benchmark.
func drive(b *testing.B, client *http.Client, target string, payload []byte, connections, n int) (float64, []time.Duration) {
	var next atomic.Int64
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	start := time.Now()
	for range connections {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				t0 := time.Now()
				resp, err := client.Post(target, "application/json", bytes.NewReader(payload))
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
		}()
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds(), lat
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
