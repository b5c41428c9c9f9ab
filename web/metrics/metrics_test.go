package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// The requests counter's help names every result it can be labelled with, so that whoever
// reads /metrics (or writes an alert on it) knows them all.
func TestRequestsHelpNamesEveryResult(t *testing.T) {
	m := New(Sources{})
	for status := 100; status < 600; status++ {
		m.ObserveWebhook(1, status, 0, 0)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	help := regexp.MustCompile(`(?m)^# HELP hookhouse_webhook_requests_total (.*)$`).FindSubmatch(body)
	if help == nil {
		t.Fatalf("no help for hookhouse_webhook_requests_total:\n%s", body)
	}
	results := regexp.MustCompile(`hookhouse_webhook_requests_total\{integration_id="1",result="([a-z_]+)"\}`).FindAllSubmatch(body, -1)
	if len(results) < 2 {
		t.Fatalf("the results counted: %q", results)
	}
	for _, r := range results {
		if !strings.Contains(string(help[1]), string(r[1])+",") && !strings.Contains(string(help[1]), string(r[1])+")") {
			t.Errorf("the help %q does not name the result %s", help[1], r[1])
		}
	}
}
