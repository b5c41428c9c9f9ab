package warehouse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

var (
	// ErrBusy means the schema's queue is full (or it is being dropped):
	// answer 503 with Retry-After.
	ErrBusy = errors.New("warehouse busy")
	// ErrClosed is returned by calls made after Close.
	ErrClosed = errors.New("warehouse closed")
	// ErrInvalidSchema is returned for names outside [a-z][a-z0-9_]{0,62}.
	ErrInvalidSchema = errors.New("invalid schema name")
)

// Defaults and bounds for Options.
const (
	DefaultMaxColumns  = 1000
	DefaultMaxTables   = 500
	DefaultMaxQueue    = 1024
	DefaultMaxBatch    = 5000
	DefaultBusyTimeout = 5 * time.Second
	DefaultDedupWindow = 24 * time.Hour
	DefaultIdleTimeout = time.Minute
	// DefaultGroupGap and DefaultGroupMaxWait bound the group commit delay (see Options).
	DefaultGroupGap     = 200 * time.Microsecond
	DefaultGroupMaxWait = time.Millisecond
	// maxColumnsLimit is PostgreSQL's limit of columns per table (SQLite's is 2000): one limit
	// for every destination, so a record loads in all or in none.
	maxColumnsLimit = 1600
)

// Options tune a Warehouse; zero values take the defaults.
type Options struct {
	MaxColumns  int           // per table, system columns included; a record needing more goes to _sdc_rejected (max 1600, PostgreSQL's limit)
	MaxTables   int           // per schema, data and its subtables; a record that would create more goes to _sdc_rejected
	MaxQueue    int           // pending Loads per schema before Load returns ErrBusy
	MaxBatch    int           // records per transaction; a single larger request is still committed whole
	BusyTimeout time.Duration // how long a commit waits for a lock held by another process or an open transaction (PostgreSQL's lock_timeout)
	// DedupWindow is how long a delivery id is remembered (see Target.DeliveryID).
	DedupWindow time.Duration
	// IdleTimeout is how long a schema's writer waits for a Load before it closes its
	// files or connection and stops; the next Load starts it again.
	IdleTimeout time.Duration
	// The group commit delay: when a batch holds fewer requests than the last commit answered,
	// the writer waits for more, until none has come for GroupGap or GroupMaxWait has passed.
	GroupGap, GroupMaxWait time.Duration
	// OnCommit, if set, is called from the writer goroutine after each
	// commit, before the callers are answered: keep it quick.
	OnCommit func(schema string, report BatchReport)
}

func (o Options) withDefaults() Options {
	if o.MaxColumns <= 0 {
		o.MaxColumns = DefaultMaxColumns
	}
	o.MaxColumns = min(o.MaxColumns, maxColumnsLimit)
	if o.MaxTables <= 0 {
		o.MaxTables = DefaultMaxTables
	}
	if o.MaxQueue <= 0 {
		o.MaxQueue = DefaultMaxQueue
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = DefaultBusyTimeout
	}
	if o.DedupWindow <= 0 {
		o.DedupWindow = DefaultDedupWindow
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.GroupGap <= 0 {
		o.GroupGap = DefaultGroupGap
	}
	if o.GroupMaxWait <= 0 {
		o.GroupMaxWait = DefaultGroupMaxWait
	}
	return o
}

// Record is one webhook record as DecodeBody returns it: values are nil,
// bool, string, json.Number, []any and map[string]any.
type Record = map[string]any

// Target says how records are keyed. PrimaryKey is a top-level field name
// as the user typed it; "" means none (each row gets a random UUID).
type Target struct {
	PrimaryKey string
	// DeliveryID, when not "", names the delivery (a provider's event or delivery id): a
	// request whose id was committed within Options.DedupWindow stores nothing and comes back
	// as a Duplicate. The id is committed with the records, so a crash can neither store a
	// delivery twice nor keep the id without the records.
	DeliveryID string
}

// Result is the outcome of one Load.
type Result struct {
	Loaded   int // records committed to data
	Rejected int // records committed to _sdc_rejected instead
	// Duplicate: the delivery's id was committed before (within Options.DedupWindow), so
	// nothing was stored.
	Duplicate bool
	Batch     BatchReport
}

// BatchReport describes one committed transaction; it is shared by all the
// Loads of the batch, so treat it as read-only.
type BatchReport struct {
	ID           int64
	CommittedAt  time.Time
	Duration     time.Duration // from taking the batch to the end of the commit
	Records      int           // loaded, all requests together
	Rejected     int
	RowsByTable  map[string]int
	ColumnsAdded []Column
}

// Column is a column of a warehouse table as the catalog records it.
type Column struct {
	Table     string
	Name      string
	Type      string    // integer, float, boolean, string or timestamp
	Source    string    // the field it holds, e.g. dataFields.campaignId ("[]" for array elements, "" for system columns)
	FirstSeen time.Time // receipt time of the first record that had it
}

// Warehouse owns a destination and one writer per loaded schema.
type Warehouse struct {
	dest   destination
	log    *slog.Logger
	opts   Options
	nextID atomic.Int64
	// started counts the writers started: one per schema, again after each retirement.
	started atomic.Int64
	paths   pathCache // for prepare, shared by every schema

	mu       sync.Mutex
	closed   bool
	writers  map[string]*writer
	dropping map[string]bool

	failure atomic.Pointer[Failure] // the last commit's failure; nil since a commit succeeded
}

// Failure is why the warehouse could not commit lately, for people.
type Failure struct {
	Since  time.Time // the first failed commit since the last that succeeded
	At     time.Time // the last failed commit, of Schema, with Err
	Schema string
	Err    error
	// LostServer: Err is the database server out of reach, which a ping answering may end
	// (a full disk or a refused permission does not end so).
	LostServer bool
}

// LastFailure is the failure of the last commit that failed, or nil when a commit has
// succeeded since: the dashboard shows it while the warehouse cannot be written.
func (w *Warehouse) LastFailure() *Failure { return w.failure.Load() }

// reportCommit records the outcome of a writer's commit.
func (w *Warehouse) reportCommit(schema string, err error) {
	if err == nil {
		if w.failure.Load() != nil {
			w.failure.Store(nil)
		}
		return
	}
	now := time.Now().UTC()
	for {
		prev := w.failure.Load()
		f := &Failure{Since: now, At: now, Schema: schema, Err: err, LostServer: w.dest.lostServer(err)}
		if prev != nil {
			f.Since = prev.Since
		}
		if w.failure.CompareAndSwap(prev, f) {
			return
		}
	}
}

// Ping checks that the destination answers: PostgreSQL's server, SQLite's folder.
func (w *Warehouse) Ping(ctx context.Context) error { return w.dest.ping(ctx) }

// Open prepares dir (creating it, readable by its owner only) for SQLite files, one per
// schema, the embedded default. Files are opened lazily by the first Load of each schema.
func Open(dir string, log *slog.Logger, opts Options) (*Warehouse, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("warehouse dir: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("warehouse dir: %w", err)
	}
	opts = opts.withDefaults()
	return newWarehouse(&sqliteDest{dir: abs, busyTimeout: opts.BusyTimeout}, log, opts), nil
}

func newWarehouse(dest destination, log *slog.Logger, opts Options) *Warehouse {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Warehouse{
		dest: dest, log: log, opts: opts.withDefaults(),
		writers:  make(map[string]*writer),
		dropping: make(map[string]bool),
	}
}

// Describe says where the warehouse keeps its data, for people (never a password).
func (w *Warehouse) Describe() string { return w.dest.Describe() }

// DedupWindow is how long a delivery id is remembered (Options.DedupWindow).
func (w *Warehouse) DedupWindow() time.Duration { return w.opts.DedupWindow }

// Location tells people how to open a schema with their own tools: one of its fields is set.
type Location struct {
	SQLiteFile  string // the schema's file, for sqlite3
	PostgresURL string // the database, without a password, for psql; the schema is a PostgreSQL schema there
}

// Location is where schema's tables are.
func (w *Warehouse) Location(schema string) Location {
	if d, ok := w.dest.(*postgresDest); ok {
		return Location{PostgresURL: d.url}
	}
	return Location{SQLiteFile: w.Path(schema)}
}

// Path is the SQLite file of schema; "" for an invalid name or another destination.
func (w *Warehouse) Path(schema string) string {
	d, ok := w.dest.(*sqliteDest)
	if !ok || !validSchema(schema) {
		return ""
	}
	return d.path(schema)
}

// Load appends records to schema's data table and returns once they are
// committed and fsync'd. All of a request's records are committed or none
// are. Records that cannot be loaded are committed to _sdc_rejected and
// counted in Result.Rejected. The caller must not modify records until Load
// returns. A full queue returns ErrBusy at once; ctx is honoured while the
// request waits in the queue, not once its batch is being committed.
func (w *Warehouse) Load(ctx context.Context, schema string, target Target, records []Record, receivedAt time.Time) (Result, error) {
	if !validSchema(schema) {
		return Result{}, fmt.Errorf("%w: %q", ErrInvalidSchema, schema)
	}
	if len(records) == 0 {
		return Result{}, nil
	}
	if receivedAt.IsZero() {
		receivedAt = time.Now()
	}
	req := &loadRequest{target: target, records: records, receivedAt: receivedAt, done: make(chan loadOutcome, 1)}
	if len(records) > 1 {
		// Arrays are prepared here, on the caller's goroutine, beside the schema's writer, which
		// then only places the fields: the walk of 1,000 records is milliseconds of the writer's
		// time otherwise. A lone record's few microseconds stay with the writer (see writer.load):
		// measured with 64 senders of single events, moving them cost a fifth of the throughput.
		req.prepared = prepare(&w.paths, records, target.PrimaryKey)
	}
	if err := w.enqueue(schema, req); err != nil {
		return Result{}, err
	}
	select {
	case out := <-req.done:
		return out.result, out.err
	case <-ctx.Done():
		if req.state.CompareAndSwap(stateQueued, stateCanceled) {
			return Result{}, ctx.Err()
		}
		out := <-req.done
		return out.result, out.err
	}
}

func (w *Warehouse) enqueue(schema string, req *loadRequest) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if w.dropping[schema] {
		return ErrBusy
	}
	wr := w.writers[schema]
	if wr == nil {
		wr = w.startWriter(schema, make(chan *loadRequest, w.opts.MaxQueue))
	}
	select {
	case wr.queue <- req:
		return nil
	default:
		return ErrBusy
	}
}

// retire removes an idle writer, whose session is closed: enqueue sends under w.mu, so once
// it is gone from w.writers nothing more comes. Loads queued for it meanwhile go, in order, to
// a successor on its queue, started as every writer is. False when the writer must go on:
// the schema is being dropped or the warehouse closed (the queue is closed, and drained).
func (w *Warehouse) retire(wr *writer) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.writers[wr.schema] != wr { // (Close waits for the writers it knows)
		return false
	}
	delete(w.writers, wr.schema)
	if len(wr.queue) > 0 {
		w.startWriter(wr.schema, wr.queue)
	}
	return true
}

// Claimable says whether a new integration may take schema: ErrForeignSchema when the
// database already has a schema of that name holding what hookhouse did not make, which it
// would refuse to load into (every webhook a 503) or to drop.
func (w *Warehouse) Claimable(ctx context.Context, schema string) error {
	return w.dest.claimable(ctx, schema)
}

// Drop stops schema's writer (after its queued work) and deletes the schema.
func (w *Warehouse) Drop(ctx context.Context, schema string) error {
	if !validSchema(schema) {
		return fmt.Errorf("%w: %q", ErrInvalidSchema, schema)
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	if w.dropping[schema] {
		w.mu.Unlock()
		return ErrBusy
	}
	wr := w.writers[schema]
	delete(w.writers, schema)
	w.dropping[schema] = true
	if wr != nil {
		close(wr.queue)
	}
	w.mu.Unlock()
	doneDropping := func() {
		w.mu.Lock()
		delete(w.dropping, schema)
		w.mu.Unlock()
	}

	if wr != nil {
		select {
		case <-wr.done:
		case <-ctx.Done():
			// Keep refusing Loads until the writer is gone; the files stay.
			go func() { <-wr.done; doneDropping() }()
			return ctx.Err()
		}
	}
	defer doneDropping()
	return w.dest.drop(ctx, schema)
}

// Close finishes all queued work, then closes every file. Later calls
// return ErrClosed.
func (w *Warehouse) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	writers := slices.Collect(maps.Values(w.writers))
	for _, wr := range writers {
		close(wr.queue)
	}
	w.mu.Unlock()
	for _, wr := range writers {
		<-wr.done
	}
	return w.dest.close()
}
