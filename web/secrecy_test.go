package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookhouse/hookhouse/store"
	"github.com/hookhouse/hookhouse/store/warehouse"
	"github.com/hookhouse/hookhouse/web"
)

// The plaintext token of a webhook URL appears in no answer, page, log line (debug level
// included), database file or metric, whatever requests use it.
func TestTokenIsKeptSecretEverywhere(t *testing.T) {
	const metricsToken = "metrics-bearer-for-the-test"
	app := newTestAppWith(t, warehouse.Options{}, web.Config{MaxBodyBytes: 4096, MetricsToken: metricsToken})
	c := app.signedInClient(t)
	id, hookURL := mustAdd(t, c, "incoming-webhooks", "Orders")
	token := tokenOf(t, hookURL)
	secrets := []string{token, token[store.TokenPrefixLength:], strings.ToUpper(token)}
	leaks := func(where, text string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s contains the token", where)
			}
		}
	}

	// Every kind of webhook answer, accepted or refused.
	for _, r := range []struct {
		method, url, contentType, body string
		status                         int
	}{
		{"POST", hookURL, "application/json", `{"id":1}`, 200},
		{"POST", hookURL, "application/json", `{"id":`, 400},
		{"POST", hookURL, "text/csv", `id`, 415},
		{"POST", hookURL, "application/json", `{"pad":"` + strings.Repeat("x", 5000) + `"}`, 413},
		{"GET", hookURL, "", "", 200},
		{"HEAD", hookURL, "", "", 200},
		{"PUT", hookURL, "application/json", `{}`, 405},
		{"POST", hookURL + "/extra", "application/json", `{}`, 401},
		{"POST", hookURL + "?token=" + token, "application/json", `{"id":2}`, 200},
		{"POST", strings.Replace(hookURL, fmt.Sprintf("/clients/%d/", id), "/clients/999/", 1), "application/json", `{}`, 401},
	} {
		a := postWebhook(t, http.DefaultClient, r.method, r.url, r.contentType, []byte(r.body))
		if a.Status != r.status {
			t.Errorf("%s %s: %d, want %d (%s)", r.method, web.RedactPath(r.url), a.Status, r.status, a.Body)
		}
		leaks(fmt.Sprintf("the %d answer to %s", a.Status, r.method), a.Body+fmt.Sprint(a.Header))
	}
	// Error pages for misrouted webhook URLs (a wrong prefix behind a proxy, a doubled path).
	for _, path := range []string{"/hooks/v1/clients/1/token/" + token, "/clients/1/token/" + token, "/v1/clients/1/token/" + token + "/x",
		"/v1/clients/1/token/" + token + "/token/" + token} {
		p := c.get(path)
		if p.Status < 400 {
			t.Errorf("%s: %d", web.RedactPath(path), p.Status)
		}
		leaks("the error page of "+web.RedactPath(path), p.Body)
	}
	// The Extraction Logs (list and each entry), the integration's pages, /metrics.
	if err := app.Store.FlushActivity(t.Context()); err != nil {
		t.Fatal(err)
	}
	logs, err := app.Store.ExtractionLogs(t.Context(), 1, id, store.LogFilter{}, 0, 100)
	if err != nil || len(logs) < 5 {
		t.Fatalf("extraction logs: %d entries, %v", len(logs), err)
	}
	for _, l := range logs {
		leaks(fmt.Sprintf("extraction log %d", l.ID), fmt.Sprintf("%+v", l))
		p := c.get(fmt.Sprintf("/integrations/%d/extraction-logs/%d", id, l.ID))
		expectStatus(t, p, http.StatusOK)
		leaks(fmt.Sprintf("the page of extraction log %d", l.ID), p.Body)
	}
	for _, path := range []string{"", "/extraction-logs", "/loading-reports", "/settings", "/data"} {
		p := c.get(fmt.Sprintf("/integrations/%d%s", id, path))
		expectStatus(t, p, http.StatusOK)
		leaks("/integrations/:id"+path, p.Body)
	}
	metrics := app.metrics(t, metricsToken)
	if !strings.Contains(metrics, "hookhouse_") {
		t.Fatalf("/metrics: %.300s", metrics)
	}
	leaks("/metrics", metrics)

	// The log at debug level, and every file of the data folder (WAL files included).
	if !strings.Contains(app.Logs.String(), "path=/v1/clients/") {
		t.Fatal("no access log lines captured")
	}
	leaks("the debug-level log", app.Logs.String())
	for _, s := range secrets {
		assertNotInDataDir(t, app, s)
	}
}

// A revoked URL stops at once: every request that starts after the revoke answer is 401,
// under a steady stream of requests with it.
func TestRevokedURLStopsWithinTheSecond(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	id, oldURL := mustAdd(t, c, "incoming-webhooks", "Orders")
	c.get(fmt.Sprintf("/integrations/%d/settings", id))
	p := c.post(fmt.Sprintf("/integrations/%d/urls", id), nil)
	expectStatus(t, p, http.StatusSeeOther)
	newURL := revealedURL(t, c, p.Header.Get("Location"))
	urls, err := app.Store.WebhookURLs(t.Context(), 1, id)
	if err != nil || len(urls) != 2 {
		t.Fatalf("urls: %v %v", urls, err)
	}

	type outcome struct {
		start  time.Time
		status int
	}
	var mu sync.Mutex
	var outcomes []outcome
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				a := postWebhook(t, client, http.MethodPost, oldURL, "application/json", []byte(fmt.Sprintf(`{"id":%d}`, w*1e6+i)))
				mu.Lock()
				outcomes = append(outcomes, outcome{start, a.Status})
				mu.Unlock()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	c.get(fmt.Sprintf("/integrations/%d/settings", id))
	expectStatus(t, c.post(fmt.Sprintf("/integrations/%d/urls/%d/revoke", id, urls[0].ID), nil), http.StatusSeeOther)
	revoked := time.Now()
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()

	var before, after, acceptedAfter int
	for _, o := range outcomes {
		if o.start.Before(revoked) {
			before++
			continue
		}
		after++
		if o.status != http.StatusUnauthorized {
			acceptedAfter++
		}
	}
	t.Logf("revocation under load: %d requests before the revoke answer, %d after it, %d of those not refused", before, after, acceptedAfter)
	if after == 0 || acceptedAfter != 0 {
		t.Fatalf("%d of %d requests started after the revoke were not refused with 401", acceptedAfter, after)
	}
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, newURL, "application/json", []byte(`{"id":-1}`)); a.Status != http.StatusOK {
		t.Fatalf("the other URL after the revoke: %d %s", a.Status, a.Body)
	}
}
