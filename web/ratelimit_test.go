package web_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookhouse/hookhouse/store/warehouse"
	"github.com/hookhouse/hookhouse/web"
)

func TestRateLimitPerWebhookURL(t *testing.T) {
	app := newTestAppWith(t, warehouse.Options{}, web.Config{RateLimit: 2, RateBurst: 5})
	c := app.signedInClient(t)
	_, hookURL := mustAdd(t, c, "incoming-webhooks", "Orders")
	_, otherURL := mustAdd(t, c, "incoming-webhooks", "Refunds")
	token := tokenOf(t, hookURL)

	for i := range 5 {
		if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(fmt.Sprintf(`{"id":%d}`, i))); a.Status != http.StatusOK {
			t.Fatalf("request %d within the burst: %d %s", i, a.Status, a.Body)
		}
	}
	a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(`{"id":99}`))
	if a.Status != http.StatusTooManyRequests {
		t.Fatalf("request beyond the burst: %d %s, want 429", a.Status, a.Body)
	}
	wait, err := strconv.Atoi(a.Header.Get("Retry-After"))
	if err != nil || wait < 1 {
		t.Fatalf("429 Retry-After %q, want whole seconds >= 1", a.Header.Get("Retry-After"))
	}
	if msg, _ := a.JSON["error"].(string); !strings.Contains(msg, "Too many requests") || !strings.Contains(msg, "nothing of this request was stored") {
		t.Fatalf("429 JSON error: %s", a.Body)
	}
	// Another URL has its own bucket.
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, otherURL, "application/json", []byte(`{"id":1}`)); a.Status != http.StatusOK {
		t.Fatalf("another URL is throttled too: %d %s", a.Status, a.Body)
	}
	// After Retry-After the sender is let through again.
	time.Sleep(time.Duration(wait) * time.Second)
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(`{"id":100}`)); a.Status != http.StatusOK {
		t.Fatalf("after Retry-After: %d %s", a.Status, a.Body)
	}
	if n := queryInt(t, warehouseDB(t, app, "orders"), "SELECT COUNT(*) FROM data WHERE id = 99"); n != 0 {
		t.Fatal("the throttled request was stored")
	}
	if strings.Contains(app.Logs.String(), token) {
		t.Fatal("the token reached the logs")
	}
}

// A full writer queue answers 503 with Retry-After, every acknowledged event is stored, and
// the dashboard stays quick during the flood.
func TestWebhookFloodFullQueueAnswers503AndDashboardStaysQuick(t *testing.T) {
	app := newTestAppWith(t, warehouse.Options{MaxQueue: 1}, web.Config{})
	c := app.signedInClient(t)
	_, hookURL := mustAdd(t, c, "incoming-webhooks", "Orders")

	const workers, perWorker = 32, 40
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	var mu sync.Mutex
	var acked []int
	busy := 0
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				id := w*perWorker + i
				a := postWebhook(t, client, http.MethodPost, hookURL, "application/json", []byte(fmt.Sprintf(`{"id":%d,"pad":"%s"}`, id, strings.Repeat("x", 200))))
				mu.Lock()
				switch {
				case a.Status == http.StatusOK:
					acked = append(acked, id)
				case a.Status == http.StatusServiceUnavailable && a.Header.Get("Retry-After") == "1" && strings.Contains(a.Body, "busy"):
					busy++
				default:
					t.Errorf("id %d: %d (Retry-After %q) %s", id, a.Status, a.Header.Get("Retry-After"), a.Body)
				}
				mu.Unlock()
			}
		}()
	}
	// Meanwhile, the dashboard answers.
	var slowest time.Duration
	for range 10 {
		start := time.Now()
		expectStatus(t, c.get("/integrations"), http.StatusOK)
		slowest = max(slowest, time.Since(start))
		time.Sleep(20 * time.Millisecond)
	}
	wg.Wait()
	t.Logf("flood of %d requests with a writer queue of 1: %d acknowledged, %d answered 503 busy; slowest dashboard page %v",
		workers*perWorker, len(acked), busy, slowest)
	if busy == 0 {
		t.Error("a writer queue of 1 never filled under 32 concurrent senders")
	}
	if slowest > time.Second {
		t.Errorf("the dashboard took %v during the flood", slowest)
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
}

// Writing the integration id another way (01, 001, +1) is the same URL, so it gets no fresh
// bucket: the limit is per webhook URL, counted once the URL is authenticated.
func TestRateLimitIgnoresHowTheIDIsWritten(t *testing.T) {
	app := newTestAppWith(t, warehouse.Options{}, web.Config{RateLimit: 0.001, RateBurst: 3})
	c := app.signedInClient(t)
	id, hookURL := mustAdd(t, c, "incoming-webhooks", "Orders")
	for i := range 3 {
		if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(fmt.Sprintf(`{"id":%d}`, i))); a.Status != http.StatusOK {
			t.Fatalf("request %d within the burst: %d %s", i, a.Status, a.Body)
		}
	}
	plain := fmt.Sprintf("/clients/%d/", id)
	for _, written := range []string{"0%d", "00%d", "+%d", "000000000000%d"} {
		u := strings.Replace(hookURL, plain, "/clients/"+fmt.Sprintf(written, id)+"/", 1)
		a := postWebhook(t, http.DefaultClient, http.MethodPost, u, "application/json", []byte(`{"id":99}`))
		if a.Status != http.StatusTooManyRequests || a.Header.Get("Retry-After") == "" {
			t.Errorf("the id written %q after the burst: %d (Retry-After %q) %s, want 429", fmt.Sprintf(written, id), a.Status, a.Header.Get("Retry-After"), a.Body)
		}
	}
	if n := queryInt(t, warehouseDB(t, app, "orders"), "SELECT COUNT(*) FROM data WHERE id = 99"); n != 0 {
		t.Fatalf("%d requests past the limit were stored", n)
	}
}

// Requests with made-up tokens are refused before the limiter: however many there are, they
// cannot reset a throttled URL's bucket (before, 10,000 of them made the limiter start afresh).
func TestRandomTokensCannotResetARateLimit(t *testing.T) {
	app := newTestAppWith(t, warehouse.Options{}, web.Config{RateLimit: 0.001, RateBurst: 2})
	c := app.signedInClient(t)
	id, hookURL := mustAdd(t, c, "incoming-webhooks", "Orders")
	for i := range 2 {
		if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(fmt.Sprintf(`{"id":%d}`, i))); a.Status != http.StatusOK {
			t.Fatalf("request %d within the burst: %d %s", i, a.Status, a.Body)
		}
	}
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(`{"id":2}`)); a.Status != http.StatusTooManyRequests {
		t.Fatalf("request beyond the burst: %d %s, want 429", a.Status, a.Body)
	}

	const flood, workers = 10001, 8
	base := strings.TrimSuffix(hookURL, tokenOf(t, hookURL))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	statuses := make([]map[int]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		statuses[w] = map[int]int{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < flood; i += workers {
				u := base + fmt.Sprintf("%064x", i) // a well-formed token nobody was given
				if i%2 == 1 {
					u = strings.Replace(u, fmt.Sprintf("/clients/%d/", id), fmt.Sprintf("/clients/%d/", 1000+i), 1)
				}
				statuses[w][postWebhook(t, client, http.MethodPost, u, "application/json", []byte(`{"id":3}`)).Status]++
			}
		}()
	}
	wg.Wait()
	total := map[int]int{}
	for _, s := range statuses {
		for code, n := range s {
			total[code] += n
		}
	}
	if total[http.StatusUnauthorized] != flood {
		t.Fatalf("made-up tokens answered %v, want %d × 401", total, flood)
	}
	a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(`{"id":4}`))
	if a.Status != http.StatusTooManyRequests {
		t.Fatalf("after %d requests with made-up tokens the throttled URL answers %d %s, want 429 still", flood, a.Status, a.Body)
	}
	if n := queryInt(t, warehouseDB(t, app, "orders"), "SELECT COUNT(*) FROM data"); n != 2 {
		t.Fatalf("data has %d rows, want the 2 within the burst", n)
	}
}
