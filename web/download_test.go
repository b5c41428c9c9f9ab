package web_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookhouse/hookhouse/store/pgtest"
	"github.com/hookhouse/hookhouse/store/warehouse"
	"github.com/hookhouse/hookhouse/web"
)

// A download kept its warehouse query open while the client read (it now reads in pages, see
// warehouse.TestExportIsTheTableAsItsDownloadBegan). Before, a client that stopped reading
// held it for ever (the server has no write timeout): on PostgreSQL four such
// downloads took the four connections the dashboard reads with, and every Overview, Data page
// and download of every integration hung; on SQLite the snapshot kept the schema's WAL from
// being checkpointed, so it grew with every webhook (4.6 MB to 106 MB in 70 s of traffic,
// measured against the binary). Now a download whose client takes nothing for DownloadStall
// is cut, and what it held is released.
func TestStalledDownloadIsCutAndFreesTheWarehouse(t *testing.T) {
	const stall = time.Second
	for name, on := range map[string]func(*testing.T) testDatabases{
		"sqlite":   func(*testing.T) testDatabases { return testDatabases{} },
		"postgres": func(t *testing.T) testDatabases { return testDatabases{Warehouse: pgtest.Start(t)} },
	} {
		t.Run(name, func(t *testing.T) {
			app := newTestAppOn(t, on(t), slog.LevelInfo, warehouse.Options{}, web.Config{DownloadStall: stall})
			c := app.signedInClient(t)
			bigID, bigURL := mustAdd(t, c, "incoming-webhooks", "Big")
			otherID, otherURL := mustAdd(t, c, "incoming-webhooks", "Other")
			postRows(t, bigURL, 40, 1000, 300) // about 16 MB of CSV: more than the sockets buffer
			postRows(t, otherURL, 1, 1, 10)
			export := fmt.Sprintf("/integrations/%d/export?format=csv", bigID)
			full := c.get(export)
			expectStatus(t, full, http.StatusOK)

			// Four downloads (the PostgreSQL dashboard's connections) that read their headers, then nothing.
			var stalled []net.Conn
			for range 4 {
				stalled = append(stalled, stalledDownload(t, app, c, export))
			}
			time.Sleep(3 * stall)

			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/integrations/%d/data", app.URL, otherID), nil)
			start := time.Now()
			resp, err := c.http.Do(req)
			if err != nil {
				t.Fatalf("with 4 stalled downloads open for %v, another integration's Data page gave no answer in %v: %v", 3*stall, time.Since(start).Round(time.Millisecond), err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("another integration's Data page: %d", resp.StatusCode)
			}

			if name == "sqlite" {
				postRows(t, bigURL, 20, 1000, 1000) // about 21 MB written to the schema's file
				wal, err := os.Stat(filepath.Join(app.DataDir, "warehouse", "big.db-wal"))
				if err != nil {
					t.Fatal(err)
				}
				if wal.Size() > 12<<20 {
					t.Errorf("after 21 MB of webhooks the WAL is %d MB: a stalled download's snapshot keeps it from being checkpointed", wal.Size()>>20)
				}
			}

			// The server cut each download: reading it now ends where the sockets' buffers did,
			// where a download never cut is served whole once read.
			deadline := time.Now().Add(10 * time.Second)
			for i, conn := range stalled {
				conn.SetReadDeadline(deadline)
				got, _ := io.ReadAll(conn)
				if bytes.HasSuffix(got, []byte("\r\n0\r\n\r\n")) || len(got) >= len(full.Body) {
					t.Errorf("stalled download %d was served whole (%d bytes) once read again: it was never cut", i, len(got))
				}
			}
			if !strings.Contains(app.Logs.String(), "export cut short") {
				t.Errorf("the log does not say the downloads were cut: %s", app.Logs.String())
			}
			// And the next download is whole.
			if again := c.get(export); again.Status != http.StatusOK || len(again.Body) < len(full.Body) {
				t.Errorf("a download after the stalled ones: %d, %d bytes of %d", again.Status, len(again.Body), len(full.Body))
			}
		})
	}
}

// A download open on PostgreSQL held its table's lock until its last row was sent, so a webhook
// bringing a new field (ALTER TABLE … ADD COLUMN) waited lock_timeout twice and got 503 after
// 10 s, and the webhooks queued behind it waited as long. Now the download is read in pages
// that hold nothing between them: with one open and its client not reading, both webhooks
// answer at once, and the download, read on, ends whole without the new field.
func TestWebhookWithANewFieldDuringADownload(t *testing.T) {
	for name, on := range map[string]func(*testing.T) testDatabases{
		"sqlite":   func(*testing.T) testDatabases { return testDatabases{} },
		"postgres": func(t *testing.T) testDatabases { return testDatabases{Warehouse: pgtest.Start(t)} },
	} {
		t.Run(name, func(t *testing.T) {
			app := newTestAppOn(t, on(t), slog.LevelInfo, warehouse.Options{}, web.Config{})
			c := app.signedInClient(t)
			id, hook := mustAdd(t, c, "incoming-webhooks", "Big")
			postRows(t, hook, 40, 1000, 300) // about 16 MB of CSV: more than the sockets buffer
			download := stalledDownload(t, app, c, fmt.Sprintf("/integrations/%d/export?format=csv", id))
			time.Sleep(500 * time.Millisecond) // its first page is read and waits for the client

			// The new field, and a known one sent while it is in flight (behind it in the writer).
			var wg sync.WaitGroup
			for i, body := range []string{`{"id": 1, "brand_new_field": "x"}`, `{"id": 2, "type": "sent"}`} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					time.Sleep(time.Duration(i) * 200 * time.Millisecond)
					start := time.Now()
					resp, err := http.Post(hook, "application/json", strings.NewReader(body))
					if err != nil {
						t.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					took := time.Since(start)
					t.Logf("%s during the download: %d in %v", body, resp.StatusCode, took.Round(time.Millisecond))
					if resp.StatusCode != http.StatusOK || took > 2*time.Second {
						t.Errorf("webhook %s with a download open: %d after %v, want 200 at once", body, resp.StatusCode, took.Round(time.Millisecond))
					}
				}()
			}
			wg.Wait()

			download.SetReadDeadline(time.Now().Add(30 * time.Second))
			got, err := io.ReadAll(download)
			if err != nil {
				t.Fatalf("reading the download on: %v after %d bytes", err, len(got))
			}
			if !bytes.HasSuffix(got, []byte("\r\n0\r\n\r\n")) || len(got) < 16<<20 {
				t.Errorf("the download, read on, is not whole: %d bytes", len(got))
			}
			if bytes.Contains(got, []byte("brand_new_field")) {
				t.Error("the download has the column a webhook brought after it began")
			}
		})
	}
}

// postRows posts requests of n records, each with a pad of size bytes.
func postRows(t *testing.T, webhookURL string, requests, n, size int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("[")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id": %d, "type": "sent", "pad": %q}`, i, strings.Repeat("x", size))
	}
	b.WriteString("]")
	for range requests {
		resp, err := http.Post(webhookURL, "application/json", strings.NewReader(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("webhook: %d", resp.StatusCode)
		}
	}
}

// stalledDownload starts a download with c's session on a connection with a tiny receive
// buffer, reads its status line and stops reading.
func stalledDownload(t *testing.T, app *testApp, c *client, path string) net.Conn {
	t.Helper()
	u, _ := url.Parse(app.URL)
	// The buffer is set before connecting, so the window the client offers is small from the
	// start (shrunk later, the window stays closed for long after the client reads again).
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	conn, err := d.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var cookies []string
	for _, ck := range c.http.Jar.Cookies(u) {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nCookie: %s\r\nConnection: close\r\n\r\n", path, u.Host, strings.Join(cookies, "; "))
	status, err := bufio.NewReaderSize(conn, 16).ReadString('\n')
	if err != nil || !strings.Contains(status, " 200 ") {
		t.Fatalf("download: %q, %v", status, err)
	}
	return conn
}
