package store

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/hookhouse/hookhouse/store/warehouse"
)

func TestActivityIsRecordedAndPruned(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "hookhouse.db"))
	defer s.Close()
	ctx := t.Context()
	in := addVero(t, s)
	now := time.Now().UTC()
	for range 5 {
		s.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: now, Status: 200, Records: 2, Bytes: 100, Body: []byte(`{"i":1}`)})
	}
	s.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: now, Status: 400, Error: "invalid JSON", Body: make([]byte, MaxLoggedBody+10)})
	s.RecordRequest(WebhookRequest{IntegrationID: 999, ReceivedAt: now, Status: 200}) // deleted integration: skipped
	s.RecordBatch("stitch_vero", warehouse.BatchReport{CommittedAt: now, Duration: 3 * time.Millisecond, Records: 10,
		RowsByTable: map[string]int{"data": 10, "data__labels": 4}, ColumnsAdded: []warehouse.Column{{Table: "data", Name: "type", Type: "string"}}})
	s.RecordBatch("no_such_schema", warehouse.BatchReport{CommittedAt: now, Records: 1, RowsByTable: map[string]int{"data": 1}})
	if err := s.FlushActivity(ctx); err != nil {
		t.Fatal(err)
	}

	count := func(query string, args ...any) int { return queryInt(t, s, query, args...) }
	if n := count("SELECT COUNT(*) FROM webhook_requests WHERE integration_id = ?", in.ID); n != 6 {
		t.Fatalf("%d requests logged, want 6", n)
	}
	if n := count("SELECT MAX(length(body)) FROM webhook_requests"); n != MaxLoggedBody {
		t.Fatalf("longest logged body is %d bytes, want the %d cap", n, MaxLoggedBody)
	}
	if n := count("SELECT COUNT(*) FROM load_reports"); n != 1 {
		t.Fatalf("%d load reports, want 1", n)
	}
	if n := count("SELECT rows FROM hourly_activity WHERE integration_id = ? AND hour = ?", in.ID, hourOf(now)); n != 10 {
		t.Fatalf("hourly rows %d, want 10", n)
	}
	if n := count("SELECT requests * 100 + errors FROM hourly_activity WHERE integration_id = ?", in.ID); n != 601 {
		t.Fatalf("hourly requests*100+errors = %d, want 601", n)
	}

	s.SetRetention(Retention{MaxAge: time.Hour, MaxPerIntegration: 4})
	s.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: now.Add(-2 * time.Hour), Status: 200})
	if err := s.FlushActivity(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.PruneActivity(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count("SELECT COUNT(*) FROM webhook_requests"); n != 4 {
		t.Fatalf("%d requests kept after pruning, want 4", n)
	}
	if n := count("SELECT COUNT(*) FROM webhook_requests WHERE received_at < ?", formatTime(now.Add(-time.Hour))); n != 0 {
		t.Fatalf("%d requests older than the retention kept", n)
	}
	if n := count("SELECT MAX(status) FROM webhook_requests"); n != 400 {
		t.Fatalf("the newest request (the 400) was pruned")
	}
}

// BenchmarkRecordActivity measures what the Extraction Logs and Loading Reports cost per
// webhook request: one logged request with a Vero body, and a batch report every 7 requests
// (the batch size under the ingest benchmark's load).
//
//	go test ./store -run '^$' -bench RecordActivity
func BenchmarkRecordActivity(b *testing.B) {
	s := openTestStore(b, filepath.Join(b.TempDir(), "hookhouse.db"))
	defer s.Close()
	ctx := b.Context()
	in := addVero(b, s)
	body := []byte(`{"sent_at":1435016238,"type":"sent","user":{"id":123,"email":"steve@getvero.com"},"campaign":{"id":987,"type":"transactional","name":"Order confirmation","subject":"Your order is being processed!","trigger-event":"purchased item","permalink":"http://app.getvero.com/view/1/341d64944577ac1f70f560e37db54a25","variation":"Variation A"},"message_id":"20190730123456.1.1B72E094173067F0F@veromail.com"}`)
	report := warehouse.BatchReport{Duration: time.Millisecond, Records: 7, RowsByTable: map[string]int{"data": 7}}
	b.ResetTimer()
	for i := range b.N {
		now := time.Now().UTC()
		s.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: now, Status: 200, Records: 1,
			Bytes: int64(len(body)), ContentType: "application/json", IP: "127.0.0.1", UserAgent: "Go-http-client/1.1", Body: body})
		if i%7 == 6 {
			report.CommittedAt = now
			s.RecordBatch("stitch_vero", report)
		}
		if i%1000 == 999 { // stay below the queue's bound: a dropped entry would cost nothing
			if err := s.FlushActivity(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := s.FlushActivity(ctx); err != nil {
		b.Fatal(err)
	}
	if n := s.DroppedActivity(); n > 0 {
		b.Fatalf("%d entries dropped", n)
	}
}

// TestCloseWritesQueuedActivityOnce closes the store while the recorder is still gathering:
// what was recorded is written, once.
func TestCloseWritesQueuedActivityOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookhouse.db")
	s := openTestStore(t, path)
	in := addVero(t, s)
	for range 3 {
		s.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: time.Now(), Status: 200, Records: 1})
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, path)
	defer s.Close()
	if n := queryInt(t, s, "SELECT COUNT(*) FROM webhook_requests"); n != 3 {
		t.Errorf("%d requests logged after Close, want 3", n)
	}
}

// addVero creates the owner and a Vero integration with schema stitch_vero.
func addVero(t testing.TB, s *Store) Integration {
	t.Helper()
	owner, err := s.CreateOwner(t.Context(), "a@example.com", "long enough password")
	if err != nil {
		t.Fatal(err)
	}
	in, _, _, err := s.CreateIntegration(t.Context(), NewIntegration{UserID: owner.ID, Name: "Stitch Vero", Source: "vero", Schema: "stitch_vero"})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestActivityLogsASampleOfAHeavyStream: accepted requests and routine batches are logged up
// to MaxLoggedPerSecond after a burst of LoggedBurst; refused requests and batches that added
// columns or rejected records always are; the hourly totals count everything.
func TestActivityLogsASampleOfAHeavyStream(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "hookhouse.db"))
	defer s.Close()
	in := addVero(t, s)
	at := time.Now().UTC().Truncate(time.Second)
	for range LoggedBurst + 50 { // all at once: the burst is logged, the rest counted
		s.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: at, Status: 200, Records: 1})
	}
	for range 3 {
		s.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: at, Status: 400, Error: "invalid JSON"})
	}
	for i := range MaxLoggedPerSecond + 5 { // a second later the allowance is back, for a second's worth
		s.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: at.Add(time.Second + time.Duration(i)), Status: 200, Records: 1})
	}
	for range LoggedBurst + 20 {
		s.RecordBatch("stitch_vero", warehouse.BatchReport{CommittedAt: at, Records: 2, RowsByTable: map[string]int{"data": 2}})
	}
	s.RecordBatch("stitch_vero", warehouse.BatchReport{CommittedAt: at, Records: 1, RowsByTable: map[string]int{"data": 1},
		ColumnsAdded: []warehouse.Column{{Table: "data", Name: "campaign__id", Type: "integer"}}})
	s.RecordBatch("stitch_vero", warehouse.BatchReport{CommittedAt: at, Rejected: 1, RowsByTable: map[string]int{}})
	if err := s.FlushActivity(t.Context()); err != nil {
		t.Fatal(err)
	}

	count := func(query string, args ...any) int { return queryInt(t, s, query, args...) }
	if n := count("SELECT COUNT(*) FROM webhook_requests WHERE status = 200"); n != LoggedBurst+MaxLoggedPerSecond {
		t.Errorf("%d accepted requests logged, want the burst of %d and a second's %d", n, LoggedBurst, MaxLoggedPerSecond)
	}
	if n := count("SELECT COUNT(*) FROM webhook_requests WHERE status = 400"); n != 3 {
		t.Errorf("%d refused requests logged, want all 3", n)
	}
	if n := count("SELECT COUNT(*) FROM load_reports"); n != LoggedBurst+2 {
		t.Errorf("%d loading reports, want the burst of %d routine ones and the 2 that added a column or rejected a record", n, LoggedBurst)
	}
	if n := count("SELECT COUNT(*) FROM load_reports WHERE CAST(columns_added AS TEXT) != '[]' OR rejected > 0"); n != 2 {
		t.Errorf("%d notable loading reports kept, want 2", n)
	}
	requests := LoggedBurst + 50 + 3 + MaxLoggedPerSecond + 5
	if n := count("SELECT SUM(requests) * 1000 + SUM(errors) FROM hourly_activity WHERE integration_id = ?", in.ID); n != requests*1000+3 {
		t.Errorf("hourly requests*1000+errors = %d, want every request counted (%d)", n, requests*1000+3)
	}
	if n := count("SELECT SUM(rows) FROM hourly_activity WHERE integration_id = ?", in.ID); n != 2*(LoggedBurst+20)+1 {
		t.Errorf("hourly rows = %d, want every batch's rows counted (%d)", n, 2*(LoggedBurst+20)+1)
	}
}

// queryInt runs a query that answers one number.
func queryInt(t testing.TB, s *Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.read.QueryRowContext(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestUnloggedRequestsAreCountedPromptlyAndAtClose: accepted requests beyond the sample are
// only counted in memory; the counts reach the overview's table within moments, with no
// other activity to carry them, and the last ones are written when the store closes.
func TestUnloggedRequestsAreCountedPromptlyAndAtClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookhouse.db")
	s := openTestStore(t, path)
	in := addVero(t, s)
	at := time.Now().UTC().Truncate(time.Second)
	accept := func(n int) {
		for range n {
			s.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: at, Status: 200, Records: 1})
		}
	}
	requests := func() int {
		return queryInt(t, s, "SELECT COALESCE(SUM(requests), 0) FROM hourly_activity WHERE integration_id = ?", in.ID)
	}
	accept(LoggedBurst + 50)
	if err := s.FlushActivity(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := requests(); n != LoggedBurst+50 {
		t.Fatalf("%d requests counted after a flush, want %d", n, LoggedBurst+50)
	}
	accept(5) // beyond the sample: counted, not queued, and nothing else arrives
	deadline := time.Now().Add(3 * time.Second)
	for requests() != LoggedBurst+55 {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests counted 3 s later, want %d", requests(), LoggedBurst+55)
		}
		time.Sleep(20 * time.Millisecond)
	}
	accept(7)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, path)
	defer s.Close()
	if n := requests(); n != LoggedBurst+62 {
		t.Errorf("%d requests counted after Close, want %d", n, LoggedBurst+62)
	}
	if n := queryInt(t, s, "SELECT COUNT(*) FROM webhook_requests"); n != LoggedBurst {
		t.Errorf("%d requests logged, want the burst of %d", n, LoggedBurst)
	}
}
