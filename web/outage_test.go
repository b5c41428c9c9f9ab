package web_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hookhouse/hookhouse/store/pgtest"
	"github.com/hookhouse/hookhouse/store/warehouse"
	"github.com/hookhouse/hookhouse/web"
)

// While the PostgreSQL warehouse is down, the dashboard says so plainly: the pages that show
// its data answer 503 with what to do, not a 500; the banner's "Since" is when the outage
// began; once PostgreSQL answers again, the banner says so before any webhook arrives. The log
// gets a line when the outage begins and when it ends, not one per failed batch or probe.
func TestWarehouseOutageOnTheDashboard(t *testing.T) {
	cluster := pgtest.NewCluster(t)
	app := newTestAppOn(t, testDatabases{Warehouse: cluster.CreateDatabase(t)}, slog.LevelInfo, warehouse.Options{}, web.Config{})
	owner := app.signedInClient(t)
	id, hookURL := mustAdd(t, owner, "vero", "Stitch Vero")
	event := []byte(`{"type":"sent","message_id":"m1"}`)
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", event); a.Status != http.StatusOK {
		t.Fatalf("before the outage: %d %s", a.Status, a.Body)
	}
	overview, data := fmt.Sprintf("/integrations/%d", id), fmt.Sprintf("/integrations/%d/data", id)
	expectStatus(t, owner.get(overview), http.StatusOK)
	expectStatus(t, owner.get(data), http.StatusOK)

	if err := cluster.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", event); a.Status != http.StatusServiceUnavailable {
			t.Fatalf("PostgreSQL stopped: a webhook got %d %s, want 503", a.Status, a.Body)
		}
	}
	for _, path := range []string{overview, data, data + "?table=data", fmt.Sprintf("/integrations/%d/export?format=csv&table=data", id)} {
		p := owner.get(path)
		if p.Status != http.StatusServiceUnavailable || !strings.Contains(p.Body, "does not answer") {
			t.Errorf("PostgreSQL stopped: %s answers %d, want 503 saying the warehouse does not answer: %.300s", path, p.Status, p.Body)
		}
	}
	since := regexp.MustCompile(`Since (\d\d:\d\d:\d\d) UTC the warehouse`)
	banner := func() string { return testID(owner.get("/integrations"), "warehouse-problem").Text() }
	first := since.FindStringSubmatch(banner())
	if first == nil {
		t.Fatalf("PostgreSQL stopped: the banner reads %q", banner())
	}
	time.Sleep(1100 * time.Millisecond) // a later failure must not move "Since"
	postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", event)
	if later := since.FindStringSubmatch(banner()); later == nil || later[1] != first[1] {
		t.Errorf("the banner's start moved from %s to %v: it must say when the outage began", first[1], later)
	}
	for range 5 {
		if status := app.newClient(t).get("/healthz").Status; status != http.StatusServiceUnavailable {
			t.Errorf("PostgreSQL stopped: /healthz %d", status)
		}
	}

	if err := cluster.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if status := app.newClient(t).get("/healthz").Status; status != http.StatusOK {
		t.Errorf("PostgreSQL back: /healthz %d", status)
	}
	if b := banner(); !strings.Contains(b, "It answers again") || !strings.Contains(b, "Since "+first[1]) {
		t.Errorf("PostgreSQL back, no webhook since: the banner reads %q; want it to say the warehouse answers again, since %s", b, first[1])
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", event); a.Status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("PostgreSQL back: webhooks still refused after 20 s")
		}
	}
	if b := banner(); b != "" {
		t.Errorf("a webhook was stored, yet the banner reads %q", b)
	}
	expectStatus(t, owner.get(data), http.StatusOK)

	logs := app.Logs.String()
	for line, want := range map[string]int{
		`level=ERROR msg="warehouse: batch failed"`:        1, // 21 webhooks refused, one line
		`level=INFO msg="warehouse: batches commit again"`: 1,
		`level=ERROR msg="health check failed"`:            1, // five probes, one line
		`level=INFO msg="health check passes again"`:       1,
	} {
		if got := strings.Count(logs, line); got != want {
			t.Errorf("the log has %d lines %s, want %d:\n%.4000s", got, line, want, logs)
		}
	}
}
