package web_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookhouse/hookhouse/store/warehouse"
	"github.com/hookhouse/hookhouse/web"
)

// A stranger spraying webhook URLs gets a 401 each. At -log-level info the log must not grow
// a line per refusal: the first of an interval is logged in full, the rest are counted and
// summed up in one line, and no token (tried or real) reaches the log.
func TestRefusalFloodIsSummedUpInTheLog(t *testing.T) {
	const interval = 2 * time.Second
	app := newTestAppLogging(t, slog.LevelInfo, warehouse.Options{}, web.Config{Flood: web.NewFloodLog(interval)})
	owner := app.signedInClient(t)
	id, hookURL := mustAdd(t, owner, "vero", "Stitch Vero")
	token := tokenOf(t, hookURL)
	before := len(app.Logs.String())

	const flood, senders = 4000, 8
	began := time.Now()
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := s; i < flood; i += senders {
				target := fmt.Sprintf("%s/v1/clients/%d/token/%064x", app.URL, id, i) // a guessed token
				if i%100 == 0 {
					target = strings.Replace(hookURL, fmt.Sprintf("/clients/%d/", id), "/clients/999/", 1) // the real one, wrong id
				}
				if a := postWebhook(t, http.DefaultClient, http.MethodPost, target, "application/json", []byte(`{}`)); a.Status != http.StatusUnauthorized {
					t.Errorf("a wrong webhook URL: %d, want 401", a.Status)
					return
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(began)

	summary := regexp.MustCompile(`msg="webhook refusals in the last [^"]+" status=401 count=(\d+)`)
	firstInFull := regexp.MustCompile(`level=INFO msg=request method=POST path=\S+ status=401`)
	var logs string
	for deadline := time.Now().Add(interval + 5*time.Second); ; time.Sleep(50 * time.Millisecond) {
		logs = app.Logs.String()[before:]
		// Each interval's first refusal has its line; a summary counts it among the others,
		// and an interval with only that one has none.
		summaries := summary.FindAllStringSubmatch(logs, -1)
		counted := firstInFull.FindAllStringIndex(logs, -1)
		total := len(counted) - len(summaries)
		for _, m := range summaries {
			n, _ := strconv.Atoi(m[1])
			total += n
		}
		if total == flood {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d refusals the log counts %d:\n%.3000s", flood, total, logs)
		}
	}
	lines := strings.Count(logs, "status=401")
	intervals := int(took/interval) + 2 // the flood may straddle interval ends
	t.Logf("%d refusals in %v: %d log lines, %d bytes (%d intervals at most)", flood, took.Round(time.Millisecond), lines, len(logs), intervals)
	if lines > 2*intervals {
		t.Errorf("%d refusals wrote %d log lines, want at most 2 per interval (the first in full, then the count):\n%.3000s", flood, lines, logs)
	}
	if strings.Contains(app.Logs.String(), token) {
		t.Error("the token reached the log")
	}
}

// A load balancer checks /healthz every half second: answered probes are not logged at info,
// dashboard visits are.
func TestAnsweredProbesStayOutOfTheInfoLog(t *testing.T) {
	app := newTestAppLogging(t, slog.LevelInfo, warehouse.Options{}, web.Config{})
	owner := app.signedInClient(t)
	probe := app.newClient(t)
	for range 20 {
		expectStatus(t, probe.get("/healthz"), http.StatusOK)
	}
	expectStatus(t, owner.get("/integrations"), http.StatusOK)
	logs := app.Logs.String()
	if n := strings.Count(logs, "path=/healthz"); n != 0 {
		t.Errorf("20 answered probes wrote %d lines at info:\n%.2000s", n, logs)
	}
	if !strings.Contains(logs, "path=/integrations ") {
		t.Errorf("a dashboard visit is not in the log:\n%.2000s", logs)
	}
}
