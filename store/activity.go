package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/hookhouse/hookhouse/store/warehouse"
)

// MaxLoggedBody caps how much of a request body the Extraction Logs keep.
const MaxLoggedBody = 64 << 10

// WebhookRequest is one webhook request as the Extraction Logs show it.
type WebhookRequest struct {
	ID            int64
	IntegrationID int64
	ReceivedAt    time.Time
	Status        int    // the HTTP status answered
	Error         string // why it was refused; empty when accepted
	Records       int    // records loaded
	Rejected      int    // records sent to _sdc_rejected
	Bytes         int64
	ContentType   string
	IP            string
	UserAgent     string
	Body          []byte // at most MaxLoggedBody bytes
	BodyTruncated bool
	// Paused: refused because the integration is paused, which the user chose: such a refusal
	// is no error, and does not make the integration's status "Errors".
	Paused bool
	// RevokedURL: refused because the URL was revoked (the sender still uses an old URL).
	RevokedURL bool
}

// maxLoggedHeader caps the User-Agent and Content-Type the Extraction Logs keep: headers may
// be up to 1 MB each, which -log-max-bytes (bodies only) would not bound.
const maxLoggedHeader = 1 << 10

// clip shortens s to at most n bytes, dropping a rune cut in half.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// loggedText is s as a log line keeps it: a header may carry any byte above 0x7f
// (Content-Type: application/json; x="\xff" loads), and PostgreSQL's text refuses what is not
// UTF-8, or a NUL, failing the whole batch of every integration's logs with it.
func loggedText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// Accepted reports whether the request's records were stored.
func (r WebhookRequest) Accepted() bool { return r.Status < 300 }

// LoadReport is one committed batch of a schema, as the Loading Reports show it.
type LoadReport struct {
	ID           int64
	CommittedAt  time.Time
	Duration     time.Duration
	Records      int
	Rejected     int
	RowsByTable  map[string]int
	ColumnsAdded []AddedColumn
}

// AddedColumn is a column a batch created.
type AddedColumn struct {
	Table  string `json:"table"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Source string `json:"source"`
}

// Retention bounds the Extraction Logs and Loading Reports.
type Retention struct {
	MaxAge            time.Duration
	MaxPerIntegration int
	// MaxBytesPerIntegration bounds the request bodies the Extraction Logs keep per
	// integration; the oldest requests go first. At least MaxLoggedBody.
	MaxBytesPerIntegration int64
}

// DefaultRetention keeps a week of requests, at most 10,000 and 64 MiB of bodies per integration.
var DefaultRetention = Retention{MaxAge: 7 * 24 * time.Hour, MaxPerIntegration: 10000, MaxBytesPerIntegration: 64 << 20}

// activity records requests and batches off the webhook's critical path: they are queued
// and written in batches by one goroutine, so logging never costs a webhook an fsync of its
// own. Logs are observability, not data: when the queue is full an entry is dropped (and
// counted) rather than slowing ingestion.
type activity struct {
	queue     chan any // WebhookRequest or schemaLoad
	flushReq  chan chan struct{}
	done      chan struct{}
	dropped   atomic.Int64
	queued    atomic.Int64 // bytes of request bodies waiting in queue (maxQueuedBodies)
	retention atomic.Pointer[Retention]
	mu        sync.RWMutex // guards closed against a send on the closed queue
	closed    bool

	// How many routine entries each integration (or schema) may still log.
	sampleMu sync.Mutex
	sampled  map[sampleKey]*rate.Limiter

	// Accepted requests beyond the sample are not queued, only counted here, per integration
	// and hour: at webhook rates queueing each one cost the server about 2% of its CPU. The
	// first count since the last write prompts the recorder, which adds them to that write.
	unloggedMu sync.Mutex
	unlogged   map[hourKey]int
	prompt     chan struct{}
}

// hourKey is what the hourly counters are kept by: an integration's requests, or a schema's
// rows, in one hour (formatted once per key when written).
type hourKey struct {
	integration int64
	schema      string
	hour        time.Time
}

// MaxLoggedPerSecond bounds the accepted requests, and the loading reports, logged per
// integration and second, after bursts of up to LoggedBurst. Under a heavy stream, retention
// would delete almost every row within a minute, unseen; a sample keeps minutes of history for
// a fraction of the writes. Refused requests are always logged, and the overview's totals
// count everything.
const (
	MaxLoggedPerSecond = 10
	LoggedBurst        = 100
)

type sampleKey struct {
	integration int64
	schema      string
}

// sample reports whether a routine entry of k, from time at, is within its allowance.
func (a *activity) sample(k sampleKey, at time.Time) bool {
	a.sampleMu.Lock()
	defer a.sampleMu.Unlock()
	lim := a.sampled[k]
	if lim == nil {
		lim = rate.NewLimiter(MaxLoggedPerSecond, LoggedBurst)
		a.sampled[k] = lim
	}
	return lim.AllowN(at, 1)
}

// forgetIdle drops the allowances that are full again: a new one would be the same, and
// deleted integrations must not linger.
func (a *activity) forgetIdle(now time.Time) {
	a.sampleMu.Lock()
	defer a.sampleMu.Unlock()
	for k, lim := range a.sampled {
		if lim.TokensAt(now) >= LoggedBurst {
			delete(a.sampled, k)
		}
	}
}

// countUnlogged counts an accepted request that the sample leaves out of the logs.
func (a *activity) countUnlogged(integration int64, at time.Time) {
	a.unloggedMu.Lock()
	a.unlogged[hourKey{integration: integration, hour: at.UTC().Truncate(time.Hour)}]++
	a.unloggedMu.Unlock()
	select {
	case a.prompt <- struct{}{}:
	default: // a prompt is pending already
	}
}

// takeUnlogged returns the counts so far and starts afresh.
func (a *activity) takeUnlogged() map[hourKey]int {
	a.unloggedMu.Lock()
	defer a.unloggedMu.Unlock()
	counts := a.unlogged
	a.unlogged = make(map[hourKey]int)
	return counts
}

type schemaLoad struct {
	schema string
	report LoadReport
}

const (
	activityQueue  = 4096
	activityBatch  = 1024
	activityGather = 100 * time.Millisecond
	pruneEvery     = time.Minute
)

func (s *Store) startActivity() {
	s.act = &activity{
		queue:    make(chan any, activityQueue),
		flushReq: make(chan chan struct{}),
		done:     make(chan struct{}),
		sampled:  make(map[sampleKey]*rate.Limiter),
		unlogged: make(map[hourKey]int),
		prompt:   make(chan struct{}, 1),
	}
	r := DefaultRetention
	s.act.retention.Store(&r)
	go s.recordActivity()
}

// SetRetention changes how long Extraction Logs and Loading Reports are kept.
func (s *Store) SetRetention(r Retention) { s.act.retention.Store(&r) }

// RecordRequest counts a webhook request and, if it was refused or is within the sample of
// accepted ones, queues it for the Extraction Logs. It never blocks.
func (s *Store) RecordRequest(r WebhookRequest) {
	if r.Accepted() && !s.act.sample(sampleKey{integration: r.IntegrationID}, r.ReceivedAt) {
		s.act.countUnlogged(r.IntegrationID, r.ReceivedAt)
		return
	}
	r.UserAgent, r.ContentType = loggedText(clip(r.UserAgent, maxLoggedHeader)), loggedText(clip(r.ContentType, maxLoggedHeader))
	r.IP, r.Error = loggedText(r.IP), loggedText(r.Error)
	if len(r.Body) > MaxLoggedBody {
		// Copy the head, so the queue does not pin a large body's whole buffer.
		r.Body, r.BodyTruncated = bytes.Clone(r.Body[:MaxLoggedBody]), true
	}
	n := int64(len(r.Body))
	if s.act.queued.Add(n) > maxQueuedBodies {
		// The recorder is behind a flood of refused bodies: log the request without its body
		// rather than hold up to activityQueue × 64 KiB (256 MiB) in memory.
		s.act.queued.Add(-n)
		r.Body, r.BodyTruncated, n = nil, true, 0
	}
	if !s.enqueue(r) {
		s.act.queued.Add(-n)
	}
}

// maxQueuedBodies bounds the request bodies waiting for the recorder, in bytes: 160 refused
// bodies of 64 KiB, far more than arrive between two writes (every 100 ms) but in a flood.
const maxQueuedBodies = 10 << 20

// RecordBatch queues a committed warehouse batch of the integration whose schema is given,
// for the Loading Reports and the overview. It never blocks: it is the warehouse's OnCommit.
func (s *Store) RecordBatch(schema string, b warehouse.BatchReport) {
	r := LoadReport{
		CommittedAt: b.CommittedAt,
		Duration:    b.Duration,
		Records:     b.Records,
		Rejected:    b.Rejected,
		RowsByTable: b.RowsByTable,
	}
	for _, c := range b.ColumnsAdded {
		r.ColumnsAdded = append(r.ColumnsAdded, AddedColumn{Table: c.Table, Name: c.Name, Type: c.Type, Source: c.Source})
	}
	s.enqueue(schemaLoad{schema, r})
}

// enqueue queues e for the recorder and reports whether it did (or dropped it, counted).
func (s *Store) enqueue(e any) bool {
	s.act.mu.RLock()
	defer s.act.mu.RUnlock()
	if s.act.closed {
		s.act.dropped.Add(1)
		return false
	}
	select {
	case s.act.queue <- e:
		return true
	default:
		s.act.dropped.Add(1)
		return false
	}
}

// DroppedActivity is how many log entries were dropped because the queue was full.
func (s *Store) DroppedActivity() int64 { return s.act.dropped.Load() }

// FlushActivity waits until everything recorded so far is written.
func (s *Store) FlushActivity(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case s.act.flushReq <- ack:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stopActivity writes what is queued and stops the recorder.
func (s *Store) stopActivity() {
	s.act.mu.Lock()
	s.act.closed = true
	close(s.act.queue)
	s.act.mu.Unlock()
	<-s.act.done
}

func (s *Store) recordActivity() {
	defer close(s.act.done)
	prune := time.NewTicker(pruneEvery)
	defer prune.Stop()
	var batch []any
	for {
		select {
		case e, ok := <-s.act.queue:
			if !ok {
				s.writeActivity(nil) // the last counts; everything taken has been written
				return
			}
			batch = s.gatherAndWrite(append(batch[:0], e))
		case <-s.act.prompt: // requests counted but not logged
			batch = s.gatherAndWrite(batch[:0])
		case ack := <-s.act.flushReq:
			batch = s.drainQueue(batch[:0])
			s.writeActivity(batch)
			close(ack)
		case <-prune.C:
			s.act.forgetIdle(time.Now())
			if err := s.pruneActivity(context.Background()); err != nil {
				s.logErr("pruning extraction logs", err)
			}
		}
	}
}

// gatherAndWrite gathers for a moment, writes what it has, and acknowledges a flush request
// that ended the moment. It returns batch for reuse.
func (s *Store) gatherAndWrite(batch []any) []any {
	ack := s.gather(&batch)
	s.writeActivity(batch)
	if ack != nil {
		close(ack)
	}
	return batch
}

// gather adds to batch what arrives for a moment, so a busy stream of webhooks costs a few
// transactions (and fsyncs) a second rather than one per request. A flush request ends the
// moment: everything queued joins the batch, and the caller acknowledges the flush once the
// batch is written.
func (s *Store) gather(batch *[]any) (flushed chan struct{}) {
	timer := time.NewTimer(activityGather)
	defer timer.Stop()
	for len(*batch) < activityBatch {
		select {
		case e, ok := <-s.act.queue:
			if !ok {
				return nil
			}
			*batch = append(*batch, e)
		case ack := <-s.act.flushReq:
			*batch = s.drainQueue(*batch)
			return ack
		case <-timer.C:
			return nil
		}
	}
	return nil
}

// drainQueue appends what is queued now to batch.
func (s *Store) drainQueue(batch []any) []any {
	for n := len(s.act.queue); n > 0; n-- {
		e, ok := <-s.act.queue
		if !ok {
			break
		}
		batch = append(batch, e)
	}
	return batch
}

// writeActivity writes a batch and the requests counted but not logged since the last write.
func (s *Store) writeActivity(batch []any) {
	defer func() { // these bodies are out of the queue now
		for _, e := range batch {
			if r, ok := e.(WebhookRequest); ok {
				s.act.queued.Add(-int64(len(r.Body)))
			}
		}
	}()
	unlogged := s.act.takeUnlogged()
	if len(batch) == 0 && len(unlogged) == 0 {
		return
	}
	ctx := context.Background()
	ids, err := s.writeActivityTx(ctx, batch, unlogged, false)
	if err != nil && len(batch) > 0 {
		// One entry the database refuses must not lose the others, every integration's, and
		// their counters: again, each entry in a savepoint, leaving out those refused.
		s.logErr("recording activity; retrying entry by entry", err)
		ids, err = s.writeActivityTx(ctx, batch, unlogged, true)
	}
	if err != nil {
		s.logErr("recording activity", err)
		return
	}
	s.watch.notifyIDs(ids)
}

// writeActivityTx writes a batch in one transaction; alone, each log entry in a savepoint of
// its own, and one refused is left out (counted all the same).
func (s *Store) writeActivityTx(ctx context.Context, batch []any, unlogged map[hourKey]int, alone bool) ([]int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	// Nodes write their activity one at a time: their transactions touch the same integrations'
	// rows (the logged bytes, the hourly counters) in no fixed order, which could deadlock.
	if err := tx.lock(ctx, "activity"); err != nil {
		return nil, err
	}
	if err := s.insertActivity(ctx, tx, batch, unlogged, alone); err != nil {
		return nil, err
	}
	ids := activityIDs(batch, unlogged)
	if err := s.watch.announceArrivals(ctx, tx, ids); err != nil {
		return nil, err
	}
	return ids, tx.Commit()
}

// insertAlone runs insert in a savepoint: a refused entry is rolled back alone and left out.
func (s *Store) insertAlone(ctx context.Context, tx *sqlTx, insert func() error) error {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT log_entry`); err != nil {
		return err
	}
	if err := insert(); err != nil {
		s.logErr("an activity entry the database refused is left out of the logs", err)
		_, err = tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT log_entry`)
		return err
	}
	_, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT log_entry`)
	return err
}

func hourOf(t time.Time) string { return t.UTC().Format("2006-01-02T15") }

// insertActivity writes a batch, adding up the per-hour counters first so a burst of
// requests costs one counter update per integration and hour. Every entry is counted, and so
// are the unlogged requests; routine batches are logged up to MaxLoggedPerSecond, after a
// burst of LoggedBurst (requests were sampled by RecordRequest).
func (s *Store) insertActivity(ctx context.Context, tx *sqlTx, batch []any, unlogged map[hourKey]int, alone bool) error {
	type counts struct{ requests, errors, refused, revoked, rows int }
	hourly := map[hourKey]*counts{}
	count := func(k hourKey) *counts {
		if hourly[k] == nil {
			hourly[k] = &counts{}
		}
		return hourly[k]
	}
	insertRequest, insertLoad := s.inTx(ctx, tx, s.stmts.insertRequest), s.inTx(ctx, tx, s.stmts.insertLoad)
	insert := func(f func() error) error {
		if alone {
			return s.insertAlone(ctx, tx, f)
		}
		return f()
	}
	// Make room for the new bodies before inserting them, so the file need not grow past the
	// bound before the oldest go. Of a batch holding more than the bound, only the newest
	// requests that fit are logged (the others would go at once); all are counted.
	bound := s.act.retention.Load().MaxBytesPerIntegration
	incoming := map[int64]int64{}
	skip := make([]bool, len(batch))
	for i := len(batch) - 1; i >= 0; i-- {
		if r, ok := batch[i].(WebhookRequest); ok {
			n := incoming[r.IntegrationID] + int64(len(r.Body))
			if bound > 0 && n > bound {
				skip[i] = true
				continue
			}
			incoming[r.IntegrationID] = n
		}
	}
	if err := s.trimLoggedBytes(ctx, tx, bound, incoming); err != nil {
		return err
	}
	for i, e := range batch {
		switch e := e.(type) {
		case WebhookRequest:
			c := count(hourKey{integration: e.IntegrationID, hour: e.ReceivedAt.UTC().Truncate(time.Hour)})
			c.requests++
			if !e.Accepted() {
				c.refused++
				if !e.Paused {
					c.errors++
				}
			}
			if e.RevokedURL {
				c.revoked++
			}
			if skip[i] {
				continue
			}
			err := insert(func() error {
				_, err := insertRequest.ExecContext(ctx, e.IntegrationID, formatTime(e.ReceivedAt), e.Status, e.Error, e.Records, e.Rejected,
					e.Bytes, e.ContentType, e.IP, e.UserAgent, e.Body, e.BodyTruncated, e.IntegrationID)
				return err
			})
			if err != nil {
				return err
			}
		case schemaLoad:
			r := e.report
			count(hourKey{schema: e.schema, hour: r.CommittedAt.UTC().Truncate(time.Hour)}).rows += r.RowsByTable["data"]
			routine := len(r.ColumnsAdded) == 0 && r.Rejected == 0
			if routine && !s.act.sample(sampleKey{schema: e.schema}, r.CommittedAt) {
				continue
			}
			if r.ColumnsAdded == nil {
				r.ColumnsAdded = []AddedColumn{}
			}
			rows, err := json.Marshal(r.RowsByTable)
			if err != nil {
				return err
			}
			cols, err := json.Marshal(r.ColumnsAdded)
			if err != nil {
				return err
			}
			err = insert(func() error {
				_, err := insertLoad.ExecContext(ctx, formatTime(r.CommittedAt), r.Duration.Microseconds(), r.Records, r.Rejected,
					rows, cols, e.schema)
				return err
			})
			if err != nil {
				return err
			}
		}
	}
	for k, n := range unlogged {
		count(k).requests += n
	}
	countRequests, countRows := s.inTx(ctx, tx, s.stmts.countRequests), s.inTx(ctx, tx, s.stmts.countRows)
	for k, c := range hourly {
		var err error
		if k.schema == "" {
			_, err = countRequests.ExecContext(ctx, k.integration, hourOf(k.hour), c.requests, c.errors, c.refused, c.revoked, k.integration)
		} else {
			_, err = countRows.ExecContext(ctx, hourOf(k.hour), c.rows, k.schema)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// trimLoggedBytes deletes the oldest logged requests of each integration given whose bodies,
// with the incoming bytes about to be logged, exceed bound. It runs in the transaction that
// logs the new ones, so a flood of refused bodies never grows the file past the bound, even
// between prunes. The stored total is the counter the triggers keep (migration 0004): an
// integration under its bound costs one primary-key read.
func (s *Store) trimLoggedBytes(ctx context.Context, tx *sqlTx, bound int64, incoming map[int64]int64) error {
	if bound <= 0 || len(incoming) == 0 {
		return nil
	}
	loggedBytes, trim := s.inTx(ctx, tx, s.stmts.loggedBytes), s.inTx(ctx, tx, s.stmts.trimLogged)
	for id, adding := range incoming {
		var stored int64
		err := loggedBytes.QueryRowContext(ctx, id).Scan(&stored)
		if errors.Is(err, sql.ErrNoRows) {
			continue // deleted meanwhile: its logs went with it
		}
		if err != nil {
			return err
		}
		if excess := stored + adding - bound; excess > 0 && stored > 0 {
			if _, err := trim.ExecContext(ctx, id, excess); err != nil {
				return err
			}
		}
	}
	return nil
}

// pruneActivity enforces the retention: by age for everything, by count per integration for
// the request and batch logs, by bytes of bodies per integration for the request log; then it
// gives the freed space back.
func (s *Store) pruneActivity(ctx context.Context) error {
	r := *s.act.retention.Load()
	cutoff := s.now().Add(-r.MaxAge)
	stmts := []struct {
		sql  string
		args []any
	}{
		{"DELETE FROM webhook_requests WHERE received_at < ?", []any{formatTime(cutoff)}},
		{"DELETE FROM load_reports WHERE committed_at < ?", []any{formatTime(cutoff)}},
		{"DELETE FROM hourly_activity WHERE hour < ?", []any{hourOf(cutoff.Add(-24 * time.Hour))}},
		{"DELETE FROM reveals WHERE expires_at < ?", []any{formatTime(s.now())}}, // never opened
	}
	for _, table := range []string{"webhook_requests", "load_reports"} {
		stmts = append(stmts, struct {
			sql  string
			args []any
		}{fmt.Sprintf(`DELETE FROM %[1]s WHERE id IN (
			SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY integration_id ORDER BY id DESC) AS n FROM %[1]s) AS numbered
			WHERE n > ?)`, table), []any{r.MaxPerIntegration}})
	}
	// Each statement in a transaction of its own, so the recorder (and on PostgreSQL every
	// node's, waiting for the same lock) waits for one at a time, not for the whole prune.
	for _, st := range stmts {
		if err := s.execLockedActivity(ctx, st.sql, st.args...); err != nil {
			return err
		}
	}
	if err := s.pruneLoggedBytes(ctx); err != nil {
		return err
	}
	return s.giveSpaceBack(ctx)
}

// execLockedActivity runs one statement on the activity tables under the lock writeActivity
// takes, in its own transaction.
func (s *Store) execLockedActivity(ctx context.Context, query string, args ...any) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := tx.lock(ctx, "activity"); err != nil { // see writeActivity
		return err
	}
	if _, err := tx.ExecContext(ctx, query, args...); err != nil {
		return err
	}
	return tx.Commit()
}

// pruneLoggedBytes applies the byte bound to every integration over it, for logs kept before
// the bound was set or lowered (new requests are trimmed as they are logged).
func (s *Store) pruneLoggedBytes(ctx context.Context) error {
	bound := s.act.retention.Load().MaxBytesPerIntegration
	if bound <= 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := tx.lock(ctx, "activity"); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, "SELECT id FROM integrations WHERE logged_body_bytes > ?", bound)
	if err != nil {
		return err
	}
	over := map[int64]int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		over[id] = 0
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := s.trimLoggedBytes(ctx, tx, bound, over); err != nil {
		return err
	}
	return tx.Commit()
}

// giveSpaceBack returns the pages pruning freed to the file system: with auto_vacuum
// INCREMENTAL, incremental_vacuum moves them to the end of the file and cuts them off (without
// it the file only ever grows: 1 GB after a flood of refused bodies stayed 1 GB). In WAL mode
// the file shrinks when the WAL is checkpointed; a passive checkpoint never waits for readers.
//
// PostgreSQL needs neither: autovacuum makes the space of deleted rows reusable, and
// returning it to the file system (VACUUM FULL) would lock the tables.
func (s *Store) giveSpaceBack(ctx context.Context) error {
	if s.d.postgres {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, "PRAGMA incremental_vacuum"); err != nil {
		return err
	}
	var busy, frames, done int
	return s.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &done)
}
