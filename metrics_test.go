package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// The binary wires the metrics to the webhook path and to the warehouse's commits, and
// serves them only with the token.
func TestMetricsOfTheRunningBinary(t *testing.T) {
	const token = "a-metrics-token-for-tests"
	s := startServer(t, filepath.Join(t.TempDir(), "data"), append(adminEnv, "HOOKHOUSE_METRICS_TOKEN="+token)...)
	hookURL := addWebhookIntegration(t, s, "Orders")
	resp, err := http.Post(hookURL, "application/json", strings.NewReader(`[{"id": 1}, {"id": 2}]`))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook: %v %v", resp, err)
	}
	resp.Body.Close()

	scrape := func(auth string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, _ := scrape(""); status != http.StatusUnauthorized {
		t.Fatalf("/metrics without the token: %d, want 401", status)
	}
	status, body := scrape("Bearer " + token)
	if status != http.StatusOK {
		t.Fatalf("/metrics with the token: %d", status)
	}
	for _, want := range []string{
		`hookhouse_webhook_requests_total{integration_id="1",result="accepted"} 1`,
		`hookhouse_records_loaded_total{integration_id="1"} 2`,
		"hookhouse_batch_records_sum 2",
		"hookhouse_batch_records_count 1",
		"hookhouse_commit_duration_seconds_count 1",
		"hookhouse_active_integrations 1",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	s.stop(t)
}
