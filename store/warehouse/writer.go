package warehouse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
)

// Request states: a waiting caller whose ctx ends may cancel its request only
// while it is still queued; once the writer has taken it, the caller waits
// for the true outcome.
const (
	stateQueued int32 = iota
	stateTaken
	stateCanceled
)

type loadRequest struct {
	target     Target
	records    []Record
	prepared   []prepared // records[i] prepared for flattening (see prepare)
	receivedAt time.Time
	state      atomic.Int32
	done       chan loadOutcome // buffered: the writer never blocks on it
}

type loadOutcome struct {
	result Result
	err    error
}

// writer owns one schema: it alone writes it, through one session, committing whatever
// requests are waiting in one transaction.
type writer struct {
	schema  string
	dest    destination
	opts    Options
	log     *slog.Logger
	nextID  *atomic.Int64
	paths   *pathCache                     // see prepare
	outcome func(schema string, err error) // each commit's outcome, for Warehouse.LastFailure

	queue  chan *loadRequest
	done   chan struct{}
	retire func(*writer) bool // see Warehouse.retire
	taken  atomic.Int64       // batches taken off the queue so far (tests wait on it)

	// Used only by the writer goroutine.
	sess         session
	cat          *catalog
	carry        *loadRequest // taken but left for the next batch (MaxBatch)
	gap          *time.Timer  // see groupTarget
	idle         *time.Timer  // Options.IdleTimeout
	lastBatch    int          // requests in the last batch
	lastPrune    time.Time    // of the delivery ids
	deliverySQL  []byte       // see recordDeliveries
	deliveryArgs []any
	flat         flattener
	receivedArg  any // the request's _sdc_received_at, as an INSERT argument
	batchedArg   any // the batch's _sdc_batched_at
	queued       queuedRows
	latest       latestKeys // the keys this batch gave data, for data_latest's counter
	failingSince time.Time  // the first of the batches failing in a row; zero while they commit
	failedInRow  int        // batches failed since failingSince
	failLogged   time.Time  // the last line logged about them
}

// startWriter starts schema's writer on queue, under w.mu: the one way a writer is set up, at
// a schema's first Load, after its writer retired, and when work came as it retired (see
// Warehouse.retire). Its first batch opens its session.
func (w *Warehouse) startWriter(schema string, queue chan *loadRequest) *writer {
	wr := &writer{
		schema: schema, dest: w.dest, opts: w.opts, log: w.log, nextID: &w.nextID, paths: &w.paths,
		outcome: w.reportCommit, retire: w.retire,
		queue: queue,
		done:  make(chan struct{}),
		gap:   time.NewTimer(w.opts.GroupGap),
		idle:  time.NewTimer(w.opts.IdleTimeout),
	}
	wr.gap.Stop() // armed only while nextBatch waits
	wr.idle.Stop()
	w.started.Add(1)
	w.writers[schema] = wr
	go wr.run()
	return wr
}

// run commits batches until the queue is closed and drained.
func (wr *writer) run() {
	defer close(wr.done)
	defer wr.closeSession()
	for {
		batch, ok := wr.nextBatch()
		if !ok {
			return
		}
		if len(batch) > 0 {
			wr.taken.Add(1)
			wr.commit(batch)
		}
		wr.lastBatch = len(batch)
	}
}

// Group commit delay, as MySQL's binlog_group_commit_sync_delay and PostgreSQL's commit_delay:
// the senders a commit answers tend to send again together, and the first of them to arrive
// would otherwise be committed almost alone, paying a whole fsync for one or two requests while
// the rest queue behind it. So when a batch holds fewer requests than the last commit answered
// (up to groupTarget), the writer waits for more: until the batch has that many, or no request
// has come for Options.GroupGap, or Options.GroupMaxWait has passed. A lone sender never waits:
// its last commit answered one request. Measured with BenchmarkIngest, ten alternating pairs:
// 19 to 27 events per commit, the ratio's median 0.48 to 0.51, and p99 no higher. Before it, 40%
// of the commits at 64 senders carried fewer than 5 requests.
const groupTarget = 32

// nextBatch waits for a request, then takes every request already waiting, and more as they
// come (see groupTarget), up to MaxBatch records (a request is never split).
func (wr *writer) nextBatch() ([]*loadRequest, bool) {
	var batch []*loadRequest
	records := 0
	take := func(req *loadRequest) {
		if !req.state.CompareAndSwap(stateQueued, stateTaken) && req.state.Load() != stateTaken {
			return // canceled while queued
		}
		if len(batch) > 0 && records+len(req.records) > wr.opts.MaxBatch {
			wr.carry = req
			return
		}
		batch = append(batch, req)
		records += len(req.records)
	}
	if req := wr.carry; req != nil {
		wr.carry = nil
		take(req)
	} else {
		req, ok := wr.wait()
		if !ok {
			return nil, false
		}
		take(req)
	}
	target := min(groupTarget, wr.lastBatch)
	var deadline time.Time
	for wr.carry == nil {
		var req *loadRequest
		var ok bool
		select {
		case req, ok = <-wr.queue:
		default:
			if len(batch) >= target {
				return batch, true
			}
			if deadline.IsZero() {
				deadline = time.Now().Add(wr.opts.GroupMaxWait)
			}
			wait := min(wr.opts.GroupGap, time.Until(deadline))
			if wait <= 0 {
				return batch, true
			}
			wr.gap.Reset(wait)
			select {
			case req, ok = <-wr.queue:
				wr.gap.Stop()
			case <-wr.gap.C:
				return batch, true
			}
		}
		if !ok {
			return batch, true
		}
		take(req)
	}
	return batch, true
}

// wait waits for the next request. After Options.IdleTimeout without one, the writer closes
// its session and retires (a request that came meanwhile goes to its successor); false: the
// writer is done.
func (wr *writer) wait() (*loadRequest, bool) {
	select {
	case req, ok := <-wr.queue: // (under load: no timer to arm)
		return req, ok
	default:
	}
	for {
		wr.idle.Reset(wr.opts.IdleTimeout)
		select {
		case req, ok := <-wr.queue:
			wr.idle.Stop()
			return req, ok
		case <-wr.idle.C:
			wr.closeSession() // before retire: out of w.writers, nothing waits for it
			if wr.retire(wr) {
				return nil, false
			}
			// Refused: the schema is being dropped or the warehouse closed; drain the queue.
		}
	}
}

// open (re)opens the session and loads the catalog; after a failed commit the writer starts
// from scratch, so it recovers once the destination can be written again.
func (wr *writer) open(ctx context.Context) error {
	if wr.sess != nil {
		return nil
	}
	sess, err := wr.dest.session(ctx, wr.schema)
	if err != nil {
		return err
	}
	if err := initCounts(ctx, sess, wr.dest, wr.schema); err != nil {
		sess.close()
		return fmt.Errorf("count: %w", err)
	}
	cat, err := loadCatalog(ctx, sess, wr.schema, wr.dest, wr.opts.MaxColumns, wr.opts.MaxTables)
	if err != nil {
		sess.close()
		return err
	}
	wr.sess, wr.cat = sess, cat
	wr.flat.cat = cat
	return nil
}

func (wr *writer) closeSession() {
	if wr.sess != nil {
		if err := wr.sess.close(); err != nil {
			wr.log.Warn("warehouse: close", "schema", wr.schema, "err", err)
		}
		wr.sess = nil
	}
	wr.cat = nil
}

// commit loads a batch in one transaction. A request that fails on its own (say, a trigger a
// user added refuses one of its records) fails alone: the batch first runs without savepoints,
// the usual and cheaper case, and if a request fails it runs again with a savepoint per
// request, so that only the failing one is rolled back.
func (wr *writer) commit(batch []*loadRequest) {
	if wr.load(batch, false) == errIsolate {
		wr.load(batch, true)
	}
}

// errIsolate reports that a request failed in a batch run without savepoints, which was then
// rolled back whole.
var errIsolate = errors.New("warehouse: a request failed; run its batch again with savepoints")

// load runs a batch in one transaction and answers its callers, but for errIsolate: then it
// has rolled the batch back and answered no one.
func (wr *writer) load(batch []*loadRequest, isolate bool) error {
	// Not the callers' ctx: once taken, a batch runs to its true outcome.
	ctx := context.Background()
	start := time.Now()
	outcomes := make([]loadOutcome, len(batch))
	if err := wr.open(ctx); err != nil {
		wr.fail(batch, fmt.Errorf("warehouse %s: open: %w", wr.schema, err))
		return err
	}
	report := BatchReport{ID: wr.nextID.Add(1), RowsByTable: map[string]int{}}
	batched := formatTimestamp(start.UTC()) // every row's _sdc_batched_at
	wr.batchedArg = batched
	if shared, ok := wr.sess.(sharedSession); ok {
		if err := wr.catchUp(ctx, shared); err != nil { // (it begins the transaction)
			return wr.abort(batch, err)
		}
	} else if err := wr.sess.begin(ctx); err != nil {
		return wr.abort(batch, err)
	}
	batchMark := wr.cat.mark()
	wr.latest.begin(wr.cat.lastSeq)
	var fresh map[string]bool // the batch's new delivery ids; nil when none has one, or with savepoints (each request records its own)
	if !isolate {
		var err error
		if fresh, err = wr.batchDeliveries(ctx, batch); err != nil {
			if _, refused := wr.dest.refusal(err); refused { // one request's id: it fails alone
				return wr.rollbackForRetry(ctx, batchMark)
			}
			return wr.abort(batch, err)
		}
	}
	rows := map[string]int{} // rows per table of the current request
	for i, req := range batch {
		mark := wr.cat.mark()
		keyMark := len(wr.latest.keys)
		if isolate {
			if err := wr.exec(ctx, "SAVEPOINT request"); err != nil {
				return wr.abort(batch, err)
			}
		}
		clear(rows)
		res, err := wr.loadRequest(ctx, req, fresh, batched, rows, false)
		if err == nil && isolate {
			err = wr.flush(ctx) // the request's rows, inside its savepoint
		}
		if _, refused := wr.dest.refusal(err); refused && isolate {
			// The database refused a record (a value, a name or a row it cannot hold): the
			// request runs again a record at a time, and what the database refuses is rejected.
			wr.queued.reset()
			wr.cat.rollback(mark)
			wr.latest.keys = wr.latest.keys[:keyMark]
			if rbErr := wr.exec(ctx, "ROLLBACK TO SAVEPOINT request"); rbErr != nil {
				return wr.abort(batch, err)
			}
			clear(rows)
			res, err = wr.loadRequest(ctx, req, fresh, batched, rows, true)
		}
		switch {
		case err != nil && !isolate:
			return wr.rollbackForRetry(ctx, batchMark)
		case err != nil:
			wr.queued.reset()
			wr.cat.rollback(mark)
			wr.latest.keys = wr.latest.keys[:keyMark]
			outcomes[i].err = fmt.Errorf("warehouse %s: load: %w", wr.schema, err)
			if rbErr := wr.exec(ctx, "ROLLBACK TO SAVEPOINT request"); rbErr != nil {
				// The database already rolled the whole transaction back (disk full, I/O).
				return wr.abort(batch, err)
			}
		default:
			outcomes[i].result = res
			report.Records += res.Loaded
			report.Rejected += res.Rejected
			for name, n := range rows {
				report.RowsByTable[name] += n
			}
		}
		if isolate {
			if err := wr.exec(ctx, "RELEASE SAVEPOINT request"); err != nil {
				return wr.abort(batch, err)
			}
		}
	}
	if err := wr.pruneDeliveries(ctx, start); err != nil {
		return wr.abort(batch, err)
	}
	// On PostgreSQL the last rows, the counters and COMMIT go in one round trip.
	pipe, _ := wr.sess.(pipelinedSession)
	if pipe != nil {
		pipe.hold()
	}
	if !isolate { // (with savepoints, each request has flushed its own rows)
		if err := wr.flush(ctx); err != nil {
			return wr.rollbackForRetry(ctx, batchMark) // a row of some request failed: find which
		}
	}
	inserts := 0 // the statements held for the rows
	if pipe != nil {
		inserts = pipe.held()
	}
	if err := wr.countCommitted(ctx, report.RowsByTable, report.Rejected); err != nil {
		return wr.abort(batch, err)
	}
	if err := wr.sess.end(ctx, true); err != nil {
		var held *heldError
		if !isolate && errors.As(err, &held) && held.statement < inserts {
			return wr.rollbackForRetry(ctx, batchMark) // as a failed flush above
		}
		return wr.abort(batch, err)
	}
	wr.outcome(wr.schema, nil)
	wr.noteSuccess()
	report.ColumnsAdded = wr.cat.committed()
	report.CommittedAt = time.Now().UTC()
	report.Duration = time.Since(start)
	if wr.opts.OnCommit != nil {
		wr.opts.OnCommit(wr.schema, report)
	}
	for i, req := range batch {
		outcomes[i].result.Batch = report
		req.done <- outcomes[i]
	}
	// Let the callers just answered run before this goroutine takes the next batch: their
	// responses go out sooner, and what their senders post meanwhile joins the next commit.
	// Measured: batches of 15 grew to 19 and CPU per event fell by about 4%.
	runtime.Gosched()
	return nil
}

// catchUp begins the transaction and reads, under the schema's lock, what other processes
// committed since this writer last looked: a changed catalog is read again whole (it holds the last sequence too).
func (wr *writer) catchUp(ctx context.Context, shared sharedSession) error {
	n, last, err := shared.beginShared(ctx, wr.cat.root != nil)
	if err != nil {
		return err
	}
	if n == wr.cat.columnRows() {
		wr.cat.lastSeq = max(wr.cat.lastSeq, last)
		return nil
	}
	cat, err := loadCatalog(ctx, wr.sess, wr.schema, wr.dest, wr.opts.MaxColumns, wr.opts.MaxTables)
	if err != nil {
		return err
	}
	wr.cat, wr.flat.cat = cat, cat
	return nil
}

// rollbackForRetry rolls back a batch run without savepoints, in which a request failed, so
// that commit runs it again with them.
func (wr *writer) rollbackForRetry(ctx context.Context, batchMark catalogMark) error {
	wr.queued.reset()
	wr.cat.rollback(batchMark)
	wr.sess.end(ctx, false) //nolint:errcheck // the database may have rolled back already
	return errIsolate
}

// exec runs a statement without arguments.
func (wr *writer) exec(ctx context.Context, query string) error {
	return wr.sess.exec(ctx, []byte(query))
}

// abort rolls back a failed transaction, resets the connection and catalog
// (they are rebuilt from the file on the next batch), and fails every caller with the error
// it returns.
func (wr *writer) abort(batch []*loadRequest, err error) error {
	wr.queued.reset()
	wr.sess.end(context.Background(), false) //nolint:errcheck // may already be rolled back
	wr.closeSession()
	err = fmt.Errorf("warehouse %s: commit: %w", wr.schema, err)
	wr.fail(batch, err)
	return err
}

func (wr *writer) fail(batch []*loadRequest, err error) {
	wr.noteFailure(len(batch), err)
	wr.outcome(wr.schema, err)
	for _, req := range batch {
		req.done <- loadOutcome{err: err}
	}
}

// failureReminder is how often a run of failing batches is logged again while it lasts.
const failureReminder = time.Minute

// noteFailure logs a failed batch: the first of a run at Error, then, while they keep failing
// (the warehouse down: every sender's every retry fails alike, thousands a minute), one line a
// minute with the count and the others at Debug; noteSuccess ends the run with one line.
func (wr *writer) noteFailure(requests int, err error) {
	now := time.Now()
	wr.failedInRow++
	switch {
	case wr.failingSince.IsZero():
		wr.failingSince, wr.failLogged = now, now
		wr.log.Error("warehouse: batch failed", "schema", wr.schema, "requests", requests, "err", err)
	case now.Sub(wr.failLogged) >= failureReminder:
		wr.failLogged = now
		wr.log.Error("warehouse: batches still fail", "schema", wr.schema, "failed_batches", wr.failedInRow,
			"since", wr.failingSince.UTC().Format(time.RFC3339), "err", err)
	default:
		wr.log.Debug("warehouse: batch failed", "schema", wr.schema, "requests", requests, "err", err)
	}
}

func (wr *writer) noteSuccess() {
	if wr.failingSince.IsZero() {
		return
	}
	wr.log.Info("warehouse: batches commit again", "schema", wr.schema, "failed_batches", wr.failedInRow,
		"after", time.Since(wr.failingSince).Round(time.Millisecond))
	wr.failingSince, wr.failedInRow = time.Time{}, 0
}

// loadRequest inserts one request's records; records that cannot be loaded
// go to _sdc_rejected.
//
// With byRecord, each record runs in a savepoint of its own and a record the database refuses
// (see destination.refusal) goes to _sdc_rejected with the database's reason.
func (wr *writer) loadRequest(ctx context.Context, req *loadRequest, fresh map[string]bool, batched string, rowsByTable map[string]int, byRecord bool) (Result, error) {
	var res Result
	receivedAt := req.receivedAt.UTC()
	arrival := receivedAt.UnixNano()
	if id := req.target.DeliveryID; id != "" {
		dup, err := wr.duplicate(ctx, id, arrival, fresh)
		if err != nil || dup {
			return Result{Duplicate: dup}, err
		}
	}
	if req.prepared == nil { // a lone record (see Warehouse.Load)
		req.prepared = prepare(wr.paths, req.records, req.target.PrimaryKey)
	}
	wr.receivedArg = formatTimestamp(receivedAt)
	wr.flat.receivedAt = receivedAt
	for i, rec := range req.records {
		load := wr.loadRecord
		if byRecord {
			load = wr.loadRecordAlone
		}
		loaded, err := load(ctx, rec, &req.prepared[i], req.target.PrimaryKey, arrival, batched, rowsByTable, byRecord)
		if err != nil {
			return Result{}, err
		}
		if loaded {
			res.Loaded++
		} else {
			res.Rejected++
		}
	}
	return res, nil
}

// loadRecordAlone is loadRecord in a savepoint of its own: a record the database refuses (see
// destination.refusal) goes to _sdc_rejected with the database's reason.
func (wr *writer) loadRecordAlone(ctx context.Context, rec Record, prep *prepared, pkField string, arrival int64, batched string, rowsByTable map[string]int, _ bool) (bool, error) {
	if err := wr.exec(ctx, "SAVEPOINT record"); err != nil {
		return false, err
	}
	loaded, err := wr.loadRecord(ctx, rec, prep, pkField, arrival, batched, rowsByTable, true)
	if reason, refused := wr.dest.refusal(err); refused {
		wr.queued.reset()
		if err := wr.exec(ctx, "ROLLBACK TO SAVEPOINT record"); err != nil {
			return false, err
		}
		loaded, err = false, wr.reject(ctx, rec, "the database refused the record: "+reason, batched)
	}
	if err == nil {
		err = wr.exec(ctx, "RELEASE SAVEPOINT record")
	}
	return loaded, err
}

// loadRecord flattens a record, runs its schema changes and queues its rows (with flush, it
// inserts them too); a record the model rejects goes to _sdc_rejected (false, nil). On an error
// the catalog is as it was before the record.
func (wr *writer) loadRecord(ctx context.Context, rec Record, prep *prepared, pkField string, arrival int64, batched string, rowsByTable map[string]int, flush bool) (bool, error) {
	mark := wr.cat.mark()
	fail := func(err error) (bool, error) {
		wr.cat.ddl = wr.cat.ddl[:0]
		wr.cat.rollback(mark)
		return false, err
	}
	rows, pk, err := wr.flat.flatten(prep, pkField)
	if err != nil {
		var rej *rejection // declared here: errors.As moves it to the heap
		if errors.As(err, &rej) {
			wr.cat.rollback(mark)
			return false, wr.reject(ctx, rec, rej.reason, batched)
		}
		return fail(err)
	}
	for _, st := range wr.cat.schemaChanges() {
		if err := wr.sess.exec(ctx, []byte(st.sql), st.args...); err != nil {
			return fail(fmt.Errorf("schema change %q: %w", st.sql, err))
		}
	}
	wr.cat.ddl = wr.cat.ddl[:0]

	seq := max(arrival, wr.cat.lastSeq+1)
	wr.cat.lastSeq = seq
	for i := range rows {
		if err := wr.insert(ctx, &rows[i], pk, seq); err != nil {
			return fail(err)
		}
	}
	if flush {
		if err := wr.flush(ctx); err != nil {
			return fail(err)
		}
	}
	for i := range rows {
		rowsByTable[rows[i].table.name]++
	}
	if wr.cat.pkField != "" {
		wr.latest.keys = append(wr.latest.keys, pk)
	}
	return true, nil
}

// insert queues a row for a multi-row INSERT: rows of the same table and columns, the usual
// stream, are inserted together, which pays the per-statement costs (database/sql, binding,
// running the VDBE program) once per group rather than once per row. A row of another shape
// flushes the queue; so do the end of a request run in its own savepoint, so that its
// failures stay its own, and the commit. Schema changes need no flush: they only add.
func (wr *writer) insert(ctx context.Context, r *row, pk any, seq int64) error {
	q := &wr.queued
	// A full queue is flushed when the next row comes, not at once, so that the last rows of a
	// batch are always flushed at its end: on PostgreSQL they go with COMMIT, in one round trip.
	if q.rows > 0 && (!q.sameShape(r) || q.rows == maxRowsPerInsert || len(q.args)+q.width > maxInsertArgs) {
		if err := wr.flush(ctx); err != nil {
			return err
		}
	}
	if q.rows == 0 {
		// Built into a reused buffer: a steady stream of same-shaped records allocates nothing here.
		q.into = wr.insertHead(q.into[:0], r)
		q.table, q.cols = r.table, append(q.cols[:0], r.cols...)
	}
	n := len(q.args)
	// (received and batched are boxed once per request and per batch, not per row)
	if r.table.parent == nil {
		q.args = append(q.args, wr.receivedArg, wr.batchedArg, seq, int64(0))
		if wr.cat.pkField == "" {
			q.args = append(q.args, pk)
		}
	} else {
		q.args = append(q.args, pk)
		for _, level := range r.levels {
			q.args = append(q.args, level)
		}
		q.args = append(q.args, seq, wr.receivedArg, wr.batchedArg, int64(0))
	}
	q.args = append(q.args, r.vals...)
	if q.rows == 0 {
		q.width = len(q.args) - n
	}
	q.rows++
	return nil
}

// insertHead appends the head of r's INSERT: INSERT INTO t (columns) VALUES.
func (wr *writer) insertHead(b []byte, r *row) []byte {
	t := r.table
	b = append(b, "INSERT INTO "...)
	b = wr.dest.appendTable(b, wr.schema, t.name)
	b = append(b, " ("...)
	if t.parent == nil {
		b = append(b, colReceivedAt+", "+colBatchedAt+", "+colSequence+", "+colTableVersion...)
		if wr.cat.pkField == "" {
			b = append(b, ", "+colGeneratedPK...)
		}
	} else {
		b = appendIdent(b, wr.cat.sourceKeyColumn())
		for i := range r.levels {
			b = append(b, ", "...)
			b = append(b, levelColumn(i)...)
		}
		b = append(b, ", "+colSequence+", "+colReceivedAt+", "+colBatchedAt+", "+colTableVersion...)
	}
	for _, col := range r.cols {
		b = append(b, ", "...)
		b = appendIdent(b, col.name)
	}
	return append(b, ") VALUES "...)
}

// queuedRows are rows of one shape waiting for flush.
type queuedRows struct {
	into  []byte // INSERT INTO t (columns) VALUES
	table *table
	cols  []*column // the rows' columns: the same table and columns make the same head
	width int       // arguments per row
	rows  int
	args  []any
	sql   []byte // the statement being built
}

// reset drops the queued rows, after they are inserted or when their transaction is rolled back.
func (q *queuedRows) reset() {
	clear(q.args)
	q.args, q.rows = q.args[:0], 0
	clear(q.cols)
	q.table, q.cols = nil, q.cols[:0]
}

// sameShape reports whether r goes in the queued rows' INSERT: a catalog's tables and columns
// keep their names (a catalog read again makes new ones, which only costs a flush).
func (q *queuedRows) sameShape(r *row) bool {
	if r.table != q.table || len(r.cols) != len(q.cols) {
		return false
	}
	for i, col := range r.cols {
		if col != q.cols[i] {
			return false
		}
	}
	return true
}

const (
	// maxRowsPerInsert bounds a multi-row INSERT (see dialect.fewStatements for how a group
	// is cut into statements).
	maxRowsPerInsert = 32
	// maxInsertArgs stays under SQLite's limit of 32766 parameters per statement.
	maxInsertArgs = 32766
)

// flush inserts the queued rows.
func (wr *writer) flush(ctx context.Context) error {
	q := &wr.queued
	defer q.reset()
	for done := 0; done < q.rows; {
		n := q.rows - done // one statement: PostgreSQL's statements cost a round trip each
		if wr.dest.fewStatements() {
			n = 1
			for n*2 <= q.rows-done {
				n *= 2
			}
		}
		q.sql = appendValues(append(q.sql[:0], q.into...), wr.dest, n, q.width)
		if err := wr.sess.exec(ctx, q.sql, q.args[done*q.width:(done+n)*q.width]...); err != nil {
			return fmt.Errorf("insert into %s: %w", q.table.name, err)
		}
		done += n
	}
	return nil
}

// appendValues appends the VALUES of a multi-row INSERT, rows rows of width placeholders:
// (?, ?), (?, ?) as d spells them, numbered from 1.
func appendValues(b []byte, d dialect, rows, width int) []byte {
	param := 0
	for i := range rows {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '(')
		for j := range width {
			if j > 0 {
				b = append(b, ", "...)
			}
			param++
			b = d.appendParam(b, param)
		}
		b = append(b, ')')
	}
	return b
}

// recordDeliveries records the distinct delivery ids ids, arrived at arrival, in the
// transaction that stores their requests' records, and returns those not committed within the
// dedup window (earlier in this transaction included: it sees its own rows). A new id is
// inserted, an expired one renewed, a live one left alone (and not returned). One statement
// for a batch's ids: on PostgreSQL each statement is a round trip, made under the schema's lock.
func (wr *writer) recordDeliveries(ctx context.Context, ids []any, arrival int64) (map[string]bool, error) {
	fresh := make(map[string]bool, len(ids))
	for len(ids) > 0 {
		b := append(wr.deliverySQL[:0], `INSERT INTO `+tableName(wr.dest, wr.schema, deliveriesTable)+` AS d (delivery_id, received_at) SELECT k.column1, CAST(? AS BIGINT) FROM `...)
		b, args, taken := wr.dest.appendKeys(b, append(wr.deliveryArgs[:0], arrival), typeString, ids)
		ids = ids[taken:]
		// (WHERE true: SQLite reads ON CONFLICT after a SELECT's FROM as a join's ON otherwise)
		b = append(b, ` WHERE true ON CONFLICT (delivery_id) DO UPDATE SET received_at = excluded.received_at WHERE d.received_at <= ? RETURNING delivery_id`...)
		args = append(args, arrival-wr.opts.DedupWindow.Nanoseconds())
		wr.deliverySQL, wr.deliveryArgs = b, args
		rows, err := wr.sess.query(ctx, b, args...)
		clear(args)
		if err != nil {
			return nil, fmt.Errorf("record the delivery ids: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("record the delivery ids: %w", err)
			}
			fresh[id] = true
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, fmt.Errorf("record the delivery ids: %w", err)
		}
	}
	return fresh, nil
}

// duplicate reports whether the request's delivery id was seen before: it is not among
// fresh, the batch's new ids, which the first request with it takes; with savepoints (fresh
// nil) the request records its own id, which a rollback to its savepoint takes back.
func (wr *writer) duplicate(ctx context.Context, id string, arrival int64, fresh map[string]bool) (bool, error) {
	if fresh == nil {
		recorded, err := wr.recordDeliveries(ctx, []any{id}, arrival)
		return err == nil && !recorded[id], err
	}
	if fresh[id] {
		delete(fresh, id)
		return false, nil
	}
	return true, nil
}

// batchDeliveries records the delivery ids of a batch run without savepoints (any failure
// rolls it back whole, ids included) in one statement, at the latest of their requests'
// arrivals (a batch spans milliseconds of a window of hours). Of two requests with one id,
// the first takes it: the other is a duplicate, as it would be in a later batch.
func (wr *writer) batchDeliveries(ctx context.Context, batch []*loadRequest) (map[string]bool, error) {
	var ids []any
	var arrival int64
	var seen map[string]bool
	for _, req := range batch {
		if id := req.target.DeliveryID; id != "" && !seen[id] {
			if seen == nil {
				seen = map[string]bool{}
			}
			seen[id] = true
			ids = append(ids, id)
			arrival = max(arrival, req.receivedAt.UnixNano())
		}
	}
	if len(ids) == 0 {
		return nil, nil // (no request asks: duplicate is not called)
	}
	return wr.recordDeliveries(ctx, ids, arrival)
}

// pruneDeliveries forgets the delivery ids older than the dedup window, at most once a
// minute, inside a batch's transaction.
func (wr *writer) pruneDeliveries(ctx context.Context, now time.Time) error {
	if now.Sub(wr.lastPrune) < time.Minute {
		return nil
	}
	wr.lastPrune = now
	return wr.sess.exec(ctx, []byte(`DELETE FROM `+tableName(wr.dest, wr.schema, deliveriesTable)+` WHERE received_at < ?`),
		now.Add(-wr.opts.DedupWindow).UnixNano())
}

func (wr *writer) reject(ctx context.Context, rec Record, reason, at string) error {
	body, err := recordText(rec)
	if err != nil {
		body = fmt.Sprintf("%v", rec)
	}
	err = wr.sess.exec(ctx,
		[]byte(`INSERT INTO `+tableName(wr.dest, wr.schema, rejectedTable)+` (_sdc_rejected_at, table_name, reason, record) VALUES (?, ?, ?, ?)`),
		at, rootTable, reason, body)
	if err != nil {
		return fmt.Errorf("insert rejected record: %w", err)
	}
	return nil
}

// recordText is a rejected record's JSON for _sdc_rejected, its text as sent: json.Marshal
// would write < > & as \u003c \u003e \u0026.
func recordText(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}
