package web_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/hookhouse/hookhouse/store/warehouse"
	"github.com/hookhouse/hookhouse/web"
)

// onlyReader hides bytes.Reader's length, so the client sends the body chunked, without a
// Content-Length.
type onlyReader struct{ io.Reader }

// postChunked posts body with Transfer-Encoding: chunked.
func postChunked(t *testing.T, client *http.Client, target string, body []byte) webhookAnswer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, onlyReader{bytes.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return webhookAnswer{Status: resp.StatusCode, Header: resp.Header, Body: string(raw)}
}

// paddedEvent is a JSON event of exactly size bytes.
func paddedEvent(id, size int) []byte {
	head := fmt.Sprintf(`{"id":%d,"pad":"`, id)
	return []byte(head + strings.Repeat("x", size-len(head)-2) + `"}`)
}

// Many large bodies at once: beyond the in-flight bound they are refused with 503 and
// Retry-After, and store nothing; every 200 is stored; and every path, refusals included,
// gives its reservation back, so a body of the whole bound still fits afterwards.
func TestConcurrentLargeBodiesStayWithinTheInflightBound(t *testing.T) {
	const maxBody = 1 << 20
	app := newTestAppWith(t, warehouse.Options{}, web.Config{MaxBodyBytes: maxBody, MaxInflightBodyBytes: maxBody})
	c := app.signedInClient(t)
	_, hookURL := mustAdd(t, c, "incoming-webhooks", "Orders")

	const senders, each = 16, 4
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	var mu sync.Mutex
	var acked []int
	refused := 0
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := s*each + i
				body := paddedEvent(id, 600<<10)
				var a webhookAnswer
				if id%2 == 0 {
					a = postWebhook(t, client, http.MethodPost, hookURL, "application/json", body)
				} else {
					a = postChunked(t, client, hookURL, body)
				}
				mu.Lock()
				switch {
				case a.Status == http.StatusOK:
					acked = append(acked, id)
				case a.Status == http.StatusServiceUnavailable && a.Header.Get("Retry-After") != "" && strings.Contains(a.Body, "in flight"):
					refused++
				default:
					t.Errorf("id %d: %d (Retry-After %q) %s", id, a.Status, a.Header.Get("Retry-After"), a.Body)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("%d concurrent senders of 600 KiB bodies, %d bytes in flight at most: %d stored, %d refused with 503", senders, maxBody, len(acked), refused)
	if refused == 0 {
		t.Error("no request was refused: the bodies in flight are not bounded")
	}
	if len(acked) == 0 {
		t.Error("no request got through")
	}
	db := warehouseDB(t, app, "orders")
	if n := queryInt(t, db, "SELECT COUNT(*) FROM data"); n != int64(len(acked)) {
		t.Fatalf("data has %d rows, %d requests were acknowledged", n, len(acked))
	}
	for _, id := range acked {
		if n := queryInt(t, db, "SELECT COUNT(*) FROM data WHERE id = ?", id); n != 1 {
			t.Fatalf("acknowledged id %d is stored %d times", id, n)
		}
	}

	// Refusals of every kind, each holding some of the bound while it lasts.
	for _, r := range []struct {
		chunked bool
		ctype   string
		body    []byte
		status  int
	}{
		{false, "application/json", []byte(`{"id":`), http.StatusBadRequest},
		{true, "application/json", []byte(`{"id":`), http.StatusBadRequest},
		{false, "application/xml", []byte(`<a/>`), http.StatusUnsupportedMediaType},
		{false, "application/json", paddedEvent(1000, maxBody+1), http.StatusRequestEntityTooLarge},
		{true, "application/json", paddedEvent(1001, maxBody+1), http.StatusRequestEntityTooLarge},
	} {
		var a webhookAnswer
		if r.chunked {
			a = postChunked(t, http.DefaultClient, hookURL, r.body)
		} else {
			a = postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, r.ctype, r.body)
		}
		if a.Status != r.status {
			t.Fatalf("refusal (chunked %v, %s, %d bytes): %d %s, want %d", r.chunked, r.ctype, len(r.body), a.Status, a.Body, r.status)
		}
	}
	// Everything was given back: a body of the whole bound fits, announced or chunked.
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", paddedEvent(2000, maxBody)); a.Status != http.StatusOK {
		t.Fatalf("a body of the whole bound after the flood: %d %s", a.Status, a.Body)
	}
	if a := postChunked(t, http.DefaultClient, hookURL, paddedEvent(2001, maxBody)); a.Status != http.StatusOK {
		t.Fatalf("a chunked body of the whole bound after the flood: %d %s", a.Status, a.Body)
	}
	if n := queryInt(t, db, "SELECT COUNT(*) FROM data WHERE id >= 1000"); n != 2 {
		t.Fatalf("%d rows of the refusals and the last two bodies, want the 2 accepted", n)
	}
}
