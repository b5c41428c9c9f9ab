package store

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hookhouse/hookhouse/store/warehouse"
)

func TestActivityIsRecordedAndPruned(t *testing.T) { eachDB(t, testActivityIsRecordedAndPruned) }

func testActivityIsRecordedAndPruned(t *testing.T, db testDB) {
	s := db.open(t)
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
	if err := s.pruneActivity(ctx); err != nil {
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
func TestCloseWritesQueuedActivityOnce(t *testing.T) { eachDB(t, testCloseWritesQueuedActivityOnce) }

func testCloseWritesQueuedActivityOnce(t *testing.T, db testDB) {
	s := db.open(t)
	in := addVero(t, s)
	for range 3 {
		s.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: time.Now(), Status: 200, Records: 1})
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = db.open(t)
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
	eachDB(t, testActivityLogsASampleOfAHeavyStream)
}

func testActivityLogsASampleOfAHeavyStream(t *testing.T, db testDB) {
	s := db.open(t)
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
	eachDB(t, testUnloggedRequestsAreCountedPromptlyAndAtClose)
}

func testUnloggedRequestsAreCountedPromptlyAndAtClose(t *testing.T, db testDB) {
	s := db.open(t)
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
	s = db.open(t)
	defer s.Close()
	if n := requests(); n != LoggedBurst+62 {
		t.Errorf("%d requests counted after Close, want %d", n, LoggedBurst+62)
	}
	if n := queryInt(t, s, "SELECT COUNT(*) FROM webhook_requests"); n != LoggedBurst {
		t.Errorf("%d requests logged, want the burst of %d", n, LoggedBurst)
	}
}

// fileSizes are the database file's size on disk and its WAL's.
func fileSizes(t *testing.T, path string) (db, wal int64) {
	t.Helper()
	if fi, err := os.Stat(path); err == nil {
		db = fi.Size()
	}
	if fi, err := os.Stat(path + "-wal"); err == nil {
		wal = fi.Size()
	}
	return db, wal
}

// A sender with a valid URL posting refused 70 KB bodies cannot grow the Extraction Logs past
// their byte bound per integration (each refusal keeps 64 KiB of body), the file stops growing
// near the bound, and pruning gives the space back to the file system.
func TestExtractionLogBytesAreBoundedAndGivenBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookhouse.db")
	s := openTestStore(t, path)
	defer s.Close()
	ctx := t.Context()
	in := addVero(t, s)
	const bound = 2 << 20
	s.SetRetention(Retention{MaxAge: DefaultRetention.MaxAge, MaxPerIntegration: DefaultRetention.MaxPerIntegration, MaxBytesPerIntegration: bound})
	body := bytes.Repeat([]byte("x"), 70_000)
	refuse := func(n int) {
		for range n {
			s.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: time.Now().UTC(), Status: 400, Error: "invalid JSON", Bytes: int64(len(body)), Body: body})
		}
		if err := s.FlushActivity(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var sizes []int64
	const rounds, perRound = 12, 40
	for round := range rounds {
		refuse(perRound)
		if n := queryInt(t, s, "SELECT COALESCE(SUM(length(body)), 0) FROM webhook_requests WHERE integration_id = ?", in.ID); n > bound {
			t.Errorf("after %d refused requests the logs keep %d bytes of bodies, over the bound of %d", (round+1)*perRound, n, bound)
		}
		db, _ := fileSizes(t, path)
		sizes = append(sizes, db)
	}
	logged := queryInt(t, s, "SELECT COUNT(*) FROM webhook_requests WHERE integration_id = ?", in.ID)
	if logged < bound/MaxLoggedBody-1 {
		t.Errorf("%d requests kept: the bound should keep the newest %d", logged, bound/MaxLoggedBody)
	}
	filled, wal := fileSizes(t, path)
	t.Logf("%d refused requests of %d bytes with a bound of %d bytes: %d kept; database sizes %v, WAL %d", rounds*perRound, len(body), bound, logged, sizes, wal)
	if grown := filled - sizes[rounds/2]; grown > bound/2 {
		t.Errorf("the database grew by %d bytes in the last %d rounds", grown, rounds/2)
	}
	if filled > bound+bound/4 {
		t.Errorf("the database is %d bytes for at most %d bytes of logged bodies", filled, bound)
	}

	// Pruning down to one request gives the space back; the next write cuts the WAL back.
	s.SetRetention(Retention{MaxAge: DefaultRetention.MaxAge, MaxPerIntegration: 1, MaxBytesPerIntegration: bound})
	if err := s.pruneActivity(ctx); err != nil {
		t.Fatal(err)
	}
	refuse(1)
	pruned, wal := fileSizes(t, path)
	t.Logf("after pruning to 1 request and logging one more: database %d bytes, WAL %d", pruned, wal)
	if pruned > filled/3 {
		t.Errorf("after pruning to 1 request the database is %d bytes, %d before: the space was not given back", pruned, filled)
	}
	if wal > 5<<20 {
		t.Errorf("the WAL stays at %d bytes", wal)
	}

	// Headers are bounded too: net/http lets a User-Agent reach 1 MB.
	s.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: time.Now().UTC(), Status: 400, Error: "invalid JSON",
		UserAgent: strings.Repeat("é", 100_000), ContentType: strings.Repeat("a", 100_000)})
	if err := s.FlushActivity(ctx); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, s, "SELECT MAX(length(CAST(user_agent AS BLOB)) + length(CAST(content_type AS BLOB))) FROM webhook_requests"); n > 2<<10 {
		t.Errorf("a logged request keeps %d bytes of headers", n)
	}
	// Logs kept before the bound was lowered are trimmed at the next prune.
	s.SetRetention(Retention{MaxAge: DefaultRetention.MaxAge, MaxPerIntegration: DefaultRetention.MaxPerIntegration})
	refuse(perRound)
	s.SetRetention(Retention{MaxAge: DefaultRetention.MaxAge, MaxPerIntegration: DefaultRetention.MaxPerIntegration, MaxBytesPerIntegration: bound / 2})
	if err := s.pruneActivity(ctx); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, s, "SELECT COALESCE(SUM(length(body)), 0) FROM webhook_requests WHERE integration_id = ?", in.ID); n > bound/2 || n == 0 {
		t.Errorf("after lowering the bound to %d and pruning, the logs keep %d bytes of bodies", bound/2, n)
	}

	// The total the bound is checked against is kept up to date through inserts and prunes.
	if counted, summed := queryInt(t, s, "SELECT logged_body_bytes FROM integrations WHERE id = ?", in.ID),
		queryInt(t, s, "SELECT COALESCE(SUM(length(body)), 0) FROM webhook_requests WHERE integration_id = ?", in.ID); counted != summed {
		t.Errorf("the maintained total of logged bodies is %d, their lengths add up to %d", counted, summed)
	}
}

// A database made before incremental vacuuming is converted once at start (a VACUUM): its
// data is kept, and pruning can give space back from then on.
func TestExistingDatabaseGetsIncrementalVacuum(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookhouse.db")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec("PRAGMA auto_vacuum = NONE; CREATE TABLE left_over (x); INSERT INTO left_over VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	old.Close()
	s := openTestStore(t, path)
	defer s.Close()
	if n := queryInt(t, s, "PRAGMA auto_vacuum"); n != 2 {
		t.Fatalf("auto_vacuum is %d after opening an existing database, want 2 (incremental)", n)
	}
	if n := queryInt(t, s, "SELECT x FROM left_over"); n != 42 {
		t.Fatalf("the existing data was lost: %d", n)
	}
}

// A flood of refused bodies faster than the recorder writes them cannot make the queue hold
// them all in memory (up to 4,096 × 64 KiB): beyond a few MiB waiting, requests are logged
// without their body, flagged, and still every one is logged.
func TestQueuedBodiesAreBoundedInMemory(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "hookhouse.db"))
	defer s.Close()
	in := addVero(t, s)
	s.SetRetention(Retention{MaxAge: DefaultRetention.MaxAge, MaxPerIntegration: DefaultRetention.MaxPerIntegration, MaxBytesPerIntegration: 1 << 30})
	const n = 2000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range n {
		s.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: time.Now().UTC(), Status: 400, Error: "invalid JSON",
			Bytes: 70_000, Body: bytes.Repeat([]byte("x"), 70_000)})
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d refused bodies recorded at once: %d MiB held until the recorder writes them", n, held>>20)
	if held > 32<<20 {
		t.Errorf("the recorder's queue holds %d MiB of bodies", held>>20)
	}
	if err := s.FlushActivity(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := queryInt(t, s, "SELECT COUNT(*) FROM webhook_requests"); got != n {
		t.Errorf("%d requests logged, want all %d", got, n)
	}
	if got := queryInt(t, s, "SELECT COUNT(*) FROM webhook_requests WHERE body IS NULL AND body_truncated = 0"); got != 0 {
		t.Errorf("%d requests logged without their body and not flagged", got)
	}
}

// An entry the database refuses (here a trigger's, standing for any row it may refuse) is left
// out alone: the requests written with it, and the counters of all, are kept. The recorder
// wrote a batch in one transaction and lost it whole.
func TestActivityKeepsTheEntriesBesideOneRefused(t *testing.T) {
	eachDB(t, testActivityKeepsTheEntriesBesideOneRefused)
}

func testActivityKeepsTheEntriesBesideOneRefused(t *testing.T, db testDB) {
	s := db.open(t)
	defer s.Close()
	ctx := t.Context()
	in := addVero(t, s)
	refuse := []string{`CREATE TRIGGER refuse_agent BEFORE INSERT ON webhook_requests
		WHEN NEW.user_agent = 'refused-agent' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`}
	if db.url != "" {
		refuse = []string{`CREATE FUNCTION ` + Schema + `.refuse_agent() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN IF NEW.user_agent = 'refused-agent' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`,
			`CREATE TRIGGER refuse_agent BEFORE INSERT ON ` + Schema + `.webhook_requests FOR EACH ROW EXECUTE FUNCTION ` + Schema + `.refuse_agent()`}
	}
	for _, q := range refuse {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC()
	for _, agent := range []string{"sender", "refused-agent", "sender"} {
		s.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: now, Status: 200, Records: 1, UserAgent: agent, Body: []byte(`{"i":1}`)})
	}
	s.RecordBatch("stitch_vero", warehouse.BatchReport{CommittedAt: now, Records: 3, RowsByTable: map[string]int{"data": 3},
		ColumnsAdded: []warehouse.Column{{Table: "data", Name: "i", Type: "integer"}}})
	if err := s.FlushActivity(ctx); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, s, "SELECT COUNT(*) FROM webhook_requests WHERE integration_id = ?", in.ID); n != 2 {
		t.Errorf("%d requests logged, want the 2 beside the refused one", n)
	}
	if n := queryInt(t, s, "SELECT COUNT(*) FROM load_reports"); n != 1 {
		t.Errorf("%d load reports, want the batch's", n)
	}
	if n := queryInt(t, s, "SELECT requests * 100 + rows FROM hourly_activity WHERE integration_id = ? AND hour = ?", in.ID, hourOf(now)); n != 303 {
		t.Errorf("hourly requests*100+rows = %d, want 303: every request counted, the refused one too", n)
	}
}
