package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// peakRSS is a process's peak resident memory (VmHWM), in bytes; 0 where /proc has none.
func peakRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	for s := bufio.NewScanner(f); s.Scan(); {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestLargeBodiesPeakRSS measures the binary's peak memory under 64 concurrent 19 MB bodies,
// arrays of 1 KB events and of 220-byte ones (87,000, under the 100,000 a body may hold: more
// records per byte cost more memory), for RELIABILITY.md. It takes a minute and a few GB
// without the in-flight bound, so it runs only on request:
//
//	HOOKHOUSE_MEASURE_RSS=1 go test -run LargeBodiesPeakRSS -v .
//	HOOKHOUSE_MEASURE_RSS=1 HOOKHOUSE_TEST_BINARY=/tmp/hookhouse-old go test -run LargeBodiesPeakRSS -v .
func TestLargeBodiesPeakRSS(t *testing.T) {
	if os.Getenv("HOOKHOUSE_MEASURE_RSS") == "" {
		t.Skip("set HOOKHOUSE_MEASURE_RSS=1 to measure (heavy)")
	}
	const senders, size = 64, 19_000_000
	for _, tc := range []struct {
		name, event string // the event's format: its id twice, then its padding
		pad         int
	}{
		{"1 KB events", `{"id":%d,"type":"sent","email":"user%d@example.com","pad":"%s"}`, 960},
		{"220-byte events", `{"id":%d,"type":"opened","email":"user%d@example.com","campaign":{"id":7,"name":"Campaign 7"},"ts":1700000000,"x1":"abcdefgh","x2":12.5,"x3":true,"x4":"%s"}`, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, filepath.Join(t.TempDir(), "data"), adminEnv...)
			hookURL := addWebhookIntegration(t, s, "Big Batches")

			var b bytes.Buffer
			b.WriteByte('[')
			for i := 0; b.Len() < size-1100; i++ {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, tc.event, i, i, strings.Repeat("x", tc.pad))
			}
			b.WriteByte(']')
			body := b.Bytes() // shared by every sender: the client holds one copy
			base := peakRSS(s.cmd.Process.Pid)

			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}, Timeout: 5 * time.Minute}
			statuses := map[int]int{}
			var mu sync.Mutex
			var wg sync.WaitGroup
			start := time.Now()
			for range senders {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := client.Post(hookURL, "application/json", bytes.NewReader(body))
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						statuses[0]++
						return
					}
					resp.Body.Close()
					statuses[resp.StatusCode]++
				}()
			}
			wg.Wait()
			t.Logf("%d concurrent bodies of %d bytes in %v: answers %v; server peak RSS %d MiB (%d MiB before the burst)",
				senders, len(body), time.Since(start).Round(time.Millisecond), statuses, peakRSS(s.cmd.Process.Pid)>>20, base>>20)
		})
	}
}

// TestRefusedBodiesDiskUse measures hookhouse.db under 32 senders posting refused 70 KB bodies
// for 15 s (each refusal is logged with 64 KiB of its body), for RELIABILITY.md. It writes up
// to a GB without the byte bound, so it runs only on request:
//
//	HOOKHOUSE_MEASURE_DISK=1 go test -run RefusedBodiesDiskUse -v .
func TestRefusedBodiesDiskUse(t *testing.T) {
	if os.Getenv("HOOKHOUSE_MEASURE_DISK") == "" {
		t.Skip("set HOOKHOUSE_MEASURE_DISK=1 to measure (heavy)")
	}
	const senders, size, flood = 32, 70_000, 15 * time.Second
	dataDir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, dataDir, adminEnv...)
	hookURL := addWebhookIntegration(t, s, "Refusals")
	dbSize := func() (db, wal int64) {
		if fi, err := os.Stat(filepath.Join(dataDir, "hookhouse.db")); err == nil {
			db = fi.Size()
		}
		if fi, err := os.Stat(filepath.Join(dataDir, "hookhouse.db-wal")); err == nil {
			wal = fi.Size()
		}
		return db, wal
	}
	db0, _ := dbSize()
	body := bytes.Repeat([]byte("x"), size) // not JSON: 400, logged with its first 64 KiB
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	statuses := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	stop := time.Now().Add(flood)
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				resp, err := client.Post(hookURL, "application/json", bytes.NewReader(body))
				mu.Lock()
				if err != nil {
					statuses[0]++
				} else {
					resp.Body.Close()
					statuses[resp.StatusCode]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	time.Sleep(time.Second) // the recorder writes what it gathered
	db, wal := dbSize()
	t.Logf("%d senders of refused %d-byte bodies for %v: answers %v; hookhouse.db %d MB before, %d MB after (WAL %d MB); server peak RSS %d MiB",
		senders, size, flood, statuses, db0/1e6, db/1e6, wal/1e6, peakRSS(s.cmd.Process.Pid)>>20)
	if keep := os.Getenv("HOOKHOUSE_MEASURE_KEEP"); keep != "" { // e.g. to time the one-time VACUUM of a newer build on it
		s.stop(t)
		if err := os.Rename(dataDir, keep); err != nil {
			t.Fatal(err)
		}
	}
}
