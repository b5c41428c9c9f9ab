package store

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The Extraction Logs' filters list what they say, newest first, and each is a walk of an
// index that stops at the page: no scan of the integration's logs and no sort.
func TestExtractionLogsFilterByResult(t *testing.T) { eachDB(t, testExtractionLogsFilterByResult) }

func testExtractionLogsFilterByResult(t *testing.T, db testDB) {
	s := db.open(t)
	defer s.Close()
	ctx := t.Context()
	in := addVero(t, s)
	now := time.Now().UTC()
	for _, status := range []int{200, 401, 200, 503, 400, 401, 200} {
		s.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: now, Status: status})
	}
	if err := s.FlushActivity(ctx); err != nil {
		t.Fatal(err)
	}
	statuses := func(f LogFilter, before int64, limit int) string {
		t.Helper()
		list, err := s.ExtractionLogs(ctx, in.UserID, in.ID, f, before, limit)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range list {
			out = append(out, fmt.Sprint(r.Status))
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct {
		f      LogFilter
		before int64
		limit  int
		want   string
	}{
		{LogFilter{}, 0, 10, "200 401 400 503 200 401 200"},
		{LogFilter{Result: LogAccepted}, 0, 10, "200 200 200"},
		{LogFilter{Result: LogRefused}, 0, 10, "401 400 503 401"},
		{LogFilter{Result: LogRefused}, 0, 2, "401 400"},
		{LogFilter{Result: LogRefused}, 5, 10, "503 401"}, // the next page, below the 400 (id 5)
		{LogFilter{Status: 401}, 0, 10, "401 401"},
		{LogFilter{Status: 429}, 0, 10, ""},
	} {
		if got := statuses(tc.f, tc.before, tc.limit); got != tc.want {
			t.Errorf("%+v before %d: %q, want %q", tc.f, tc.before, got, tc.want)
		}
	}

	if db.url != "" {
		return // the plans below are SQLite's; PostgreSQL's planner chooses by statistics
	}
	for f, index := range map[LogFilter]string{
		{}:                    "webhook_requests_integration_idx",
		{Result: LogAccepted}: "webhook_requests_result_idx",
		{Result: LogRefused}:  "webhook_requests_result_idx",
		{Status: 401}:         "webhook_requests_status_idx",
	} {
		for _, before := range []int64{0, 5} {
			query, args := extractionLogsQuery(in.ID, f, before, 50)
			p := queryPlan(t, s, query, args...)
			if !strings.Contains(p, "SEARCH webhook_requests USING INDEX "+index) || !strings.Contains(p, "id<?") ||
				strings.Contains(p, "TEMP B-TREE") || strings.Contains(p, "SCAN") {
				t.Errorf("%+v: plan %q, want a search of %s from the cursor, without a sort", f, p, index)
			}
		}
	}
}

// A revoked URL is still known by its token's hash: WebhookTarget says which integration
// and URL it was, as an ErrUnauthorized, and its requests count per integration and hour.
func TestRevokedURLIsAttributedToItsIntegration(t *testing.T) {
	eachDB(t, testRevokedURLIsAttributedToItsIntegration)
}

func testRevokedURLIsAttributedToItsIntegration(t *testing.T, db testDB) {
	s := db.open(t)
	defer s.Close()
	ctx := t.Context()
	owner, err := s.CreateOwner(ctx, "a@example.com", "long enough password")
	if err != nil {
		t.Fatal(err)
	}
	in, first, token, err := s.CreateIntegration(ctx, NewIntegration{UserID: owner.ID, Name: "Vero", Source: "vero", Schema: "vero"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WebhookTarget(ctx, in.ID, token); err != nil { // cached while active
		t.Fatal(err)
	}
	if _, err := s.RevokeWebhookURL(ctx, owner.ID, in.ID, first.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.WebhookTarget(ctx, in.ID, token)
	var revoked *RevokedURLError
	if !errors.Is(err, ErrUnauthorized) || !errors.As(err, &revoked) || revoked.IntegrationID != in.ID ||
		revoked.Prefix != token[:TokenPrefixLength] || revoked.RevokedAt.IsZero() {
		t.Fatalf("revoked URL: %v (%+v)", err, revoked)
	}
	_, err = s.WebhookTarget(ctx, in.ID, strings.Repeat("0", 64))
	if !errors.Is(err, ErrUnauthorized) || errors.As(err, &revoked) {
		t.Fatalf("unknown URL: %v, want a plain ErrUnauthorized", err)
	}
	if _, err := s.WebhookTarget(ctx, in.ID+1, token); errors.As(err, &revoked) {
		t.Fatal("a revoked token under another integration's id is attributed")
	}

	now := time.Now().UTC()
	s.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: now, Status: 401, RevokedURL: true})
	s.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: now, Status: 401, RevokedURL: true})
	s.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: now, Status: 503, Paused: true})
	if err := s.FlushActivity(ctx); err != nil {
		t.Fatal(err)
	}
	a, err := s.ActivityOf(ctx, owner.ID, []int64{in.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got := *a[in.ID]; got.RevokedLastDay != 2 || got.ErrorsLastHour != 2 || got.RefusedLastHour != 3 {
		t.Fatalf("revoked %d, errors %d, refused %d; want 2, 2 (the paused 503 is no error) and 3",
			got.RevokedLastDay, got.ErrorsLastHour, got.RefusedLastHour)
	}
}

// A watch wakes once after its integration's activity is written, not for another's; stopping
// it leaves nothing behind; EndWatches closes the open ones and the later ones.
func TestWatchArrivals(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "hookhouse.db"))
	defer s.Close()
	ctx := t.Context()
	in := addVero(t, s)
	mine, stopMine := s.WatchArrivals(in.ID, s.ArrivalMark(in.ID))
	other, stopOther := s.WatchArrivals(in.ID+1, 0)
	if s.Watches() != 2 {
		t.Fatalf("%d watches, want 2", s.Watches())
	}
	for range 3 {
		s.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: time.Now().UTC(), Status: 200})
	}
	if err := s.FlushActivity(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-mine:
	case <-time.After(5 * time.Second):
		t.Fatal("no wake-up after the integration's requests were written")
	}
	select {
	case <-mine:
		t.Fatal("a second wake-up for one write")
	case <-other:
		t.Fatal("another integration's watch woke")
	default:
	}
	stopMine()
	stopMine() // twice is harmless

	// A page made before a write whose stream opens after it hears of it at once; a page made
	// after it does not.
	before := s.ArrivalMark(in.ID)
	s.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: time.Now().UTC(), Status: 200})
	if err := s.FlushActivity(ctx); err != nil {
		t.Fatal(err)
	}
	late1, stop1 := s.WatchArrivals(in.ID, before)
	late2, stop2 := s.WatchArrivals(in.ID, s.ArrivalMark(in.ID))
	select {
	case <-late1:
	default:
		t.Fatal("a write between the page and its stream went unannounced")
	}
	select {
	case <-late2:
		t.Fatal("a page made after the write was told of it")
	default:
	}
	stop1()
	stop2()
	if s.Watches() != 1 {
		t.Fatalf("%d watches after one stopped, want 1", s.Watches())
	}
	s.EndWatches()
	if _, open := <-other; open {
		t.Fatal("EndWatches left a watch open")
	}
	stopOther()
	late, stopLate := s.WatchArrivals(in.ID, 0)
	defer stopLate()
	if _, open := <-late; open || s.Watches() != 0 {
		t.Fatal("a watch asked for after EndWatches is open")
	}
}

// The Extraction Logs of a big table read its index, however small the table was when the
// page was first shown: pgx prepares each statement, and PostgreSQL kept the generic plan it
// made for a table of a few rows (a scan and a sort of the whole table: 49 ms at 300,000
// requests, and growing).
func TestExtractionLogsReadTheIndexOnceTheTableIsBig(t *testing.T) {
	db := postgresDB(t)
	s := db.open(t)
	ctx := t.Context()
	in := addVero(t, s)
	for range 5 {
		s.RecordRequest(WebhookRequest{IntegrationID: in.ID, ReceivedAt: time.Now().UTC(), Status: 200})
	}
	if err := s.FlushActivity(ctx); err != nil {
		t.Fatal(err)
	}
	page := func() {
		t.Helper()
		for _, f := range []LogFilter{{}, {Result: LogRefused}} {
			if _, err := s.ExtractionLogs(ctx, in.UserID, in.ID, f, 0, 50); err != nil {
				t.Fatal(err)
			}
		}
	}
	sqlDB, err := sql.Open("pgx", db.url)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	// As autovacuum does once a new table has some 50 rows.
	if _, err := sqlDB.Exec(`ANALYZE hookhouse.webhook_requests`); err != nil {
		t.Fatal(err)
	}
	for range 8 { // PostgreSQL plans a statement anew five times, then may keep a plan
		page()
	}
	// Without the table's per-row trigger (a row count, not what is measured), and without DDL,
	// which would make PostgreSQL plan the cached statements again.
	tx, err := sqlDB.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`SET LOCAL session_replication_role = replica`,
		fmt.Sprintf(`INSERT INTO hookhouse.webhook_requests (integration_id, received_at, status) SELECT %d, '2026-12-01T00:00:00Z', 200 FROM generate_series(1, 100000)`, in.ID),
	} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	read := func() int64 {
		var n int64
		if err := sqlDB.QueryRow(`SELECT seq_tup_read FROM pg_stat_user_tables WHERE schemaname = 'hookhouse' AND relname = 'webhook_requests'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := read()
	page()
	// A backend reports its statistics when it exits: close the store's connections and wait
	// until they are gone.
	s.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var others int
		if err := sqlDB.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&others); err != nil {
			t.Fatal(err)
		}
		if others == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections of the store still open", others)
		}
	}
	if scanned := read() - before; scanned > 1000 { // (a scan of the table reads all 100,005)
		t.Errorf("the Extraction Logs of 100,005 requests scanned %d rows; want their index read", scanned)
	}
}
