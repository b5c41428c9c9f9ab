package warehouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSequenceUnderConcurrentLoads(t *testing.T) {
	const goroutines, loads = 50, 40
	var committed, batches atomic.Int64
	w := openTest(t, t.TempDir(), Options{OnCommit: func(schema string, r BatchReport) {
		committed.Add(int64(r.Records))
		batches.Add(1)
	}})
	// Half the loads claim the same old arrival time: their sequence must
	// still be unique and increasing.
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*loads)
	for g := range goroutines {
		wg.Go(func() {
			for i := range loads {
				received := time.Now()
				if i%2 == 0 {
					received = old
				}
				rec := Record{"g": int64(g), "i": int64(i), "tags": []any{"x"}}
				if _, err := w.Load(context.Background(), "seq", Target{}, []Record{rec}, received); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	db := readDB(t, w.Path("seq"))
	rows := queryRows(t, db, `SELECT g, i, _sdc_sequence FROM data ORDER BY rowid`)
	if len(rows) != goroutines*loads {
		t.Fatalf("got %d rows, want %d", len(rows), goroutines*loads)
	}
	seen := map[string]bool{}
	var last int64
	for _, r := range rows {
		key := fmt.Sprint(r["g"], "/", r["i"])
		if seen[key] {
			t.Fatalf("record %s loaded twice", key)
		}
		seen[key] = true
		seq := r["_sdc_sequence"].(int64)
		if seq <= last {
			t.Fatalf("_sdc_sequence %d after %d: not strictly increasing", seq, last)
		}
		last = seq
	}
	if n := queryInt(t, db, `SELECT COUNT(*) FROM data__tags t JOIN data d ON t._sdc_source_key___sdc_primary_key = d.__sdc_primary_key AND t._sdc_sequence = d._sdc_sequence`); n != goroutines*loads {
		t.Errorf("%d subtable rows join their parent, want %d", n, goroutines*loads)
	}
	if committed.Load() != goroutines*loads {
		t.Errorf("OnCommit saw %d records", committed.Load())
	}
	t.Logf("%d loads in %d batches", goroutines*loads, batches.Load())
}

func TestReopenKeepsCatalogAndSequence(t *testing.T) {
	dir := t.TempDir()
	w := openTest(t, dir, Options{})
	future := time.Now().Add(time.Hour)
	mustLoad(t, w, "re", Target{PrimaryKey: "id"}, decodeOne(t, `{"id":1,"a-b":1,"a_c":2,"x":1}`))
	if _, err := w.Load(context.Background(), "re", Target{PrimaryKey: "id"}, []Record{decodeOne(t, `{"id":2,"x":"s"}`)}, future); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Load(context.Background(), "re", Target{}, []Record{{"a": 1}}, time.Now()); !errors.Is(err, ErrClosed) {
		t.Errorf("Load after Close: %v, want ErrClosed", err)
	}

	w = openTest(t, dir, Options{})
	res := mustLoad(t, w, "re", Target{PrimaryKey: "id"}, decodeOne(t, `{"id":3,"a_c":20,"a-b":10,"x":"t","y":1}`))
	var added []string
	for _, c := range res.Batch.ColumnsAdded {
		added = append(added, c.Name)
	}
	if strings.Join(added, ",") != "y" {
		t.Errorf("columns added after reopen = %v, want only y", added)
	}
	db := readDB(t, w.Path("re"))
	got := queryRows(t, db, `SELECT id, ab, a_c, x, x__st, _sdc_sequence FROM data ORDER BY rowid`)
	if len(got) != 3 {
		t.Fatalf("rows = %v", got)
	}
	if got[2]["a_c"] != int64(20) || got[2]["ab"] != int64(10) || got[2]["x__st"] != "t" {
		t.Errorf("column mapping changed after reopen: %v", got[2])
	}
	if s2, s3 := got[1]["_sdc_sequence"].(int64), got[2]["_sdc_sequence"].(int64); s3 != s2+1 {
		t.Errorf("sequence after reopen = %d, want %d (last + 1)", s3, s2+1)
	}
}

// TestLoadFailsWhileLockedThenRecovers holds the write lock from another
// connection: the batch fails with an error, and the writer goes on.
func TestLoadFailsWhileLockedThenRecovers(t *testing.T) {
	w := openTest(t, t.TempDir(), Options{BusyTimeout: 50 * time.Millisecond})
	mustLoad(t, w, "locked", Target{}, Record{"n": int64(1)})

	other := readDB(t, w.Path("locked"))
	unlock := holdWriteLock(t, other)
	if _, err := w.Load(context.Background(), "locked", Target{}, []Record{{"n": int64(2)}}, time.Now()); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("Load under a foreign lock: %v, want a locked error", err)
	}
	unlock()
	mustLoad(t, w, "locked", Target{}, Record{"n": int64(3), "new": "col"})
	got := queryRows(t, other, `SELECT n, new FROM data ORDER BY rowid`)
	if fmtRows(got) != `[{"n":1,"new":null},{"n":3,"new":"col"}]` {
		t.Errorf("rows = %s", fmtRows(got))
	}
}

// TestLoadFailsOnUnwritableFileThenRecovers makes the file unwritable (or,
// as root, who may write anything, puts a directory in its place).
func TestLoadFailsOnUnwritableFileThenRecovers(t *testing.T) {
	dir := t.TempDir()
	w := openTest(t, dir, Options{BusyTimeout: 50 * time.Millisecond})
	mustLoad(t, w, "ro", Target{}, Record{"n": int64(1)})
	path := w.Path("ro")
	w.Close()

	restore := makeUnwritable(t, path)
	w = openTest(t, dir, Options{BusyTimeout: 50 * time.Millisecond})
	for range 2 {
		if _, err := w.Load(context.Background(), "ro", Target{}, []Record{{"n": int64(2)}}, time.Now()); err == nil {
			t.Fatal("Load into an unwritable file succeeded")
		}
	}
	restore()
	mustLoad(t, w, "ro", Target{}, Record{"n": int64(3)})
	if got := fmtRows(queryRows(t, readDB(t, path), `SELECT n FROM data ORDER BY rowid`)); got != `[{"n":1},{"n":3}]` {
		t.Errorf("rows = %s", got)
	}
}

func makeUnwritable(t *testing.T, path string) (restore func()) {
	t.Helper()
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	if f, err := os.OpenFile(path, os.O_WRONLY, 0); err != nil {
		return func() {
			if err := os.Chmod(path, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	} else {
		f.Close()
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".aside"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".aside", path); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadBusyAndCanceled(t *testing.T) {
	w := openTest(t, t.TempDir(), Options{MaxQueue: 1, BusyTimeout: 10 * time.Second})
	mustLoad(t, w, "busy", Target{}, Record{"n": int64(0)})
	other := readDB(t, w.Path("busy"))
	unlock := holdWriteLock(t, other)

	// A: taken by the writer, which then waits for the lock.
	first := make(chan error, 1)
	go func() {
		_, err := w.Load(context.Background(), "busy", Target{}, []Record{{"n": int64(1)}}, time.Now())
		first <- err
	}()
	wr := writerOf(w, "busy")
	waitFor(t, func() bool { return wr.taken.Load() == 2 }) // A is in a batch of its own, waiting for the lock
	// B: waits in the queue (capacity 1) until its ctx ends.
	ctx, cancel := context.WithCancel(context.Background())
	second := make(chan error, 1)
	go func() {
		_, err := w.Load(ctx, "busy", Target{}, []Record{{"n": int64(2)}}, time.Now())
		second <- err
	}()
	waitFor(t, func() bool { return len(wr.queue) == 1 })
	// C: the queue is full.
	if _, err := w.Load(context.Background(), "busy", Target{}, []Record{{"n": int64(3)}}, time.Now()); !errors.Is(err, ErrBusy) {
		t.Fatalf("Load on a full queue: %v, want ErrBusy", err)
	}
	cancel()
	if err := <-second; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled Load: %v", err)
	}
	unlock()
	if err := <-first; err != nil {
		t.Fatalf("Load A: %v", err)
	}
	waitFor(t, func() bool { return len(wr.queue) == 0 }) // the writer drops the canceled B
	mustLoad(t, w, "busy", Target{}, Record{"n": int64(4)})
	if got := fmtRows(queryRows(t, other, `SELECT n FROM data ORDER BY rowid`)); got != `[{"n":0},{"n":1},{"n":4}]` {
		t.Errorf("rows = %s (the canceled load must not be committed)", got)
	}
}

// holdWriteLock takes the file's write lock from another connection, as a user's tool might;
// unlock releases it.
func holdWriteLock(t *testing.T, db *sql.DB) (unlock func()) {
	t.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	return func() {
		if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
			t.Fatal(err)
		}
	}
}

// writerOf is schema's running writer.
func writerOf(w *Warehouse, schema string) *writer {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writers[schema]
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestMaxBatchSplitsBatchesNotRequests(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	w := openTest(t, t.TempDir(), Options{MaxBatch: 3, OnCommit: func(_ string, r BatchReport) {
		mu.Lock()
		sizes = append(sizes, r.Records)
		mu.Unlock()
	}})
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			mustLoad(t, w, "mb", Target{}, Record{"a": int64(1)}, Record{"a": int64(2)})
		})
	}
	wg.Wait()
	mustLoad(t, w, "mb", Target{}, Record{"a": int64(1)}, Record{"a": int64(2)}, Record{"a": int64(3)}, Record{"a": int64(4)})
	mu.Lock()
	defer mu.Unlock()
	total := 0
	for i, n := range sizes {
		total += n
		if n%2 != 0 && i != len(sizes)-1 {
			t.Errorf("batch of %d records: a request was split", n)
		}
		if n > 3 && i != len(sizes)-1 {
			t.Errorf("batch of %d records exceeds MaxBatch", n)
		}
	}
	if last := sizes[len(sizes)-1]; last != 4 || total != 24 {
		t.Errorf("batches %v: want the oversized request whole and 24 records", sizes)
	}
}

// BenchmarkLoad loads one Vero event per Load from 32 goroutines, on each destination: the
// writer's group commits of single events, as BenchmarkIngest's senders make them, in process.
func BenchmarkLoad(b *testing.B) {
	recs := fixtureRecords(b, "vero/opened.json", "application/json")
	for _, dest := range testDestinations {
		b.Run(dest.name, func(b *testing.B) {
			var batches, records, nanos atomic.Int64
			w := dest.open(b, Options{OnCommit: func(_ string, r BatchReport) {
				batches.Add(1)
				records.Add(int64(r.Records))
				nanos.Add(int64(r.Duration))
			}})
			mustLoad(b, w, "bench", Target{PrimaryKey: "message_id"}, recs...)
			b.SetParallelism(32)
			batches.Store(0)
			records.Store(0)
			nanos.Store(0)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := w.Load(context.Background(), "bench", Target{PrimaryKey: "message_id"}, recs, time.Now()); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			if n := batches.Load(); n > 0 {
				b.ReportMetric(float64(records.Load())/float64(n), "records/batch")
				b.ReportMetric(float64(nanos.Load())/float64(n)/1e6, "ms/batch")
			}
		})
	}
}

// TestRequestFailingAloneSparesItsBatch: a trigger the user added to their warehouse refuses
// one record. Its request fails whole (its other record too), while the requests sharing its
// transaction load: the batch, first run without savepoints, runs again with one per request.
func TestRequestFailingAloneSparesItsBatch(t *testing.T) {
	w, db := unluckySchema(t)
	// Hold the write lock: a first load waits for it in a batch of its own, and the three
	// loads queued behind it then share one transaction.
	unlock := holdWriteLock(t, db)
	load := func(recs ...Record) <-chan loadOutcome { return loadAsync(w, "trig", Target{}, recs) }
	first := load(Record{"n": int64(100)})
	wr := writerOf(w, "trig")
	waitFor(t, func() bool { return wr.taken.Load() == 2 })
	good, unlucky, alsoGood := load(Record{"n": int64(1)}, Record{"n": int64(2)}), load(Record{"n": int64(14)}, Record{"n": int64(13)}), load(Record{"n": int64(3)})
	waitFor(t, func() bool { return len(wr.queue) == 3 })
	unlock()

	if out := <-first; out.err != nil {
		t.Fatalf("first load: %v", out.err)
	}
	bad := <-unlucky
	if bad.err == nil || !strings.Contains(bad.err.Error(), "thirteen is unlucky") {
		t.Errorf("the refused request: %v, want the trigger's error", bad.err)
	}
	a, b := <-good, <-alsoGood
	if a.err != nil || b.err != nil {
		t.Fatalf("the requests beside it failed: %v, %v", a.err, b.err)
	}
	if a.result.Batch.ID != b.result.Batch.ID || a.result.Batch.Records != 3 {
		t.Errorf("batches %d and %d with %d records: want the 3 records in one transaction", a.result.Batch.ID, b.result.Batch.ID, a.result.Batch.Records)
	}
	if got := fmtRows(queryRows(t, db, `SELECT n FROM data ORDER BY n`)); got != `[{"n":0},{"n":1},{"n":2},{"n":3},{"n":100}]` {
		t.Errorf("rows = %s: want every record but the refused request's", got)
	}
}

// unluckySchema is a SQLite schema "trig" with one row and a trigger a user might add, which
// refuses any record whose n is 13.
func unluckySchema(t *testing.T) (*Warehouse, *sql.DB) {
	t.Helper()
	w := openTest(t, t.TempDir(), Options{BusyTimeout: 10 * time.Second})
	mustLoad(t, w, "trig", Target{}, Record{"n": int64(0)})
	db := readDB(t, w.Path("trig"))
	if _, err := db.Exec(`CREATE TRIGGER unlucky BEFORE INSERT ON data WHEN NEW.n = 13
		BEGIN SELECT RAISE(ABORT, 'thirteen is unlucky'); END`); err != nil {
		t.Fatal(err)
	}
	return w, db
}

// loadAsync loads recs in a goroutine of its own; its outcome comes on the channel.
func loadAsync(w *Warehouse, schema string, target Target, recs []Record) <-chan loadOutcome {
	out := make(chan loadOutcome, 1)
	go func() {
		res, err := w.Load(context.Background(), schema, target, recs, time.Now())
		out <- loadOutcome{res, err}
	}()
	return out
}

// TestFailedRequestKeepsNoDeliveryID: a batch records its requests' delivery ids in one
// statement; a request that then fails alone must not leave its id behind, or the provider's
// retry of it would be dropped as a duplicate. Two requests of one id in a batch store once.
func TestFailedRequestKeepsNoDeliveryID(t *testing.T) {
	w, db := unluckySchema(t)
	unlock := holdWriteLock(t, db)
	load := func(id string, recs ...Record) <-chan loadOutcome {
		return loadAsync(w, "trig", Target{DeliveryID: id}, recs)
	}
	first := load("evt_first", Record{"n": int64(100)})
	wr := writerOf(w, "trig")
	waitFor(t, func() bool { return wr.taken.Load() == 2 })
	good, unlucky, again := load("evt_good", Record{"n": int64(1)}), load("evt_unlucky", Record{"n": int64(13)}), load("evt_good", Record{"n": int64(2)})
	waitFor(t, func() bool { return len(wr.queue) == 3 })
	unlock()
	if out := <-first; out.err != nil {
		t.Fatalf("first load: %v", out.err)
	}
	if out := <-unlucky; out.err == nil {
		t.Fatal("the unlucky request loaded")
	}
	// (the queue's order of the two is the goroutines')
	if a, b := <-good, <-again; a.err != nil || b.err != nil || a.result.Duplicate == b.result.Duplicate {
		t.Fatalf("two requests of one id in a batch: %+v %v, %+v %v; want one stored, the other a duplicate", a.result, a.err, b.result, b.err)
	}
	// The provider retries the failed delivery, whose record the user's trigger now takes.
	if _, err := db.Exec(`DROP TRIGGER unlucky`); err != nil {
		t.Fatal(err)
	}
	res, err := w.Load(context.Background(), "trig", Target{DeliveryID: "evt_unlucky"}, []Record{{"n": int64(13)}}, time.Now())
	if err != nil || res.Duplicate || res.Loaded != 1 {
		t.Fatalf("the retry of the failed delivery: %+v %v, want it stored", res, err)
	}
	if got := fmtRows(queryRows(t, db, `SELECT n FROM data WHERE n NOT IN (1, 2) ORDER BY n`)); got != `[{"n":0},{"n":13},{"n":100}]` {
		t.Errorf("rows = %s", got)
	}
	if n := queryInt(t, db, `SELECT COUNT(*) FROM data WHERE n IN (1, 2)`); n != 1 {
		t.Errorf("%d rows of the two requests of one id, want 1", n)
	}
}

// TestGroupCommitDelay: once a commit has answered several requests, the next to come waits for
// its fellow senders' requests to share a commit with them, for GroupMaxWait at most; a lone
// sender never waits. The group gap is a minute here, so that any wait is unmistakable.
func TestGroupCommitDelay(t *testing.T) {
	for _, tc := range []struct {
		name    string
		maxWait time.Duration
		shared  bool // the three loads after the commit of three share a commit
	}{
		{"the next loads share a commit", time.Minute, true},
		{"no longer than GroupMaxWait", 50 * time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := openTest(t, t.TempDir(), Options{BusyTimeout: 10 * time.Second, GroupGap: time.Minute, GroupMaxWait: tc.maxWait})
			load := func(n int64) <-chan loadOutcome {
				out := make(chan loadOutcome, 1)
				go func() {
					res, err := w.Load(context.Background(), "group", Target{}, []Record{{"n": n}}, time.Now())
					out <- loadOutcome{res, err}
				}()
				return out
			}
			answer := func(out <-chan loadOutcome, what string) Result {
				t.Helper()
				select {
				case o := <-out:
					if o.err != nil {
						t.Fatalf("%s: %v", what, o.err)
					}
					return o.result
				case <-time.After(10 * time.Second):
					t.Fatalf("%s: no answer in 10s", what)
				}
				return Result{}
			}

			for i := range 3 {
				answer(load(int64(i)), "a lone sender's load")
			}

			// Three senders: their loads queue behind one waiting for the write lock, and
			// share the next commit.
			unlock := holdWriteLock(t, readDB(t, w.Path("group")))
			first := load(10)
			wr := writerOf(w, "group")
			waitFor(t, func() bool { return wr.taken.Load() == 4 })
			a, b, c := load(11), load(12), load(13)
			waitFor(t, func() bool { return len(wr.queue) == 3 })
			unlock()
			answer(first, "the load that waited for the lock")
			if res := answer(a, "a"); res.Batch.Records != 3 {
				t.Fatalf("the three queued loads were committed in batches of %d records, want one of 3", res.Batch.Records)
			}
			answer(b, "b")
			answer(c, "c")

			// Their next loads: the first to come waits for the others.
			d := load(21)
			select {
			case o := <-d:
				if tc.shared {
					t.Fatalf("after a commit of three, a load was committed alone (%v): it must wait for the others", o.err)
				}
				d = nil
			case <-time.After(200 * time.Millisecond):
				if !tc.shared {
					t.Fatalf("a load waited over 200ms for others, with GroupMaxWait %v", tc.maxWait)
				}
			}
			if d == nil {
				return
			}
			e, f := load(22), load(23)
			rd, re, rf := answer(d, "d"), answer(e, "e"), answer(f, "f")
			if rd.Batch.ID != re.Batch.ID || re.Batch.ID != rf.Batch.ID {
				t.Errorf("the next three loads were committed in batches %d, %d and %d, want one", rd.Batch.ID, re.Batch.ID, rf.Batch.ID)
			}
		})
	}
}

// TestMixedShapesLoadEveryRow: rows of one shape are inserted together, in chunks, and a
// record of another shape, a new column or a subtable row in the middle must not lose,
// reorder or mix up anyone's values.
func TestMixedShapesLoadEveryRow(t *testing.T) {
	w := openTest(t, t.TempDir(), Options{})
	var recs []Record
	for i := range 75 {
		rec := Record{"id": int64(i), "a": "a" + strconv.Itoa(i)}
		switch {
		case i == 33:
			rec = Record{"id": int64(i), "b": true} // a new column, mid-group
		case i == 50:
			rec["tags"] = []any{"x", "y"} // a subtable row between root rows
		}
		recs = append(recs, rec)
	}
	if res := mustLoad(t, w, "mixed", Target{PrimaryKey: "id"}, recs...); res.Loaded != len(recs) {
		t.Fatalf("result %+v", res)
	}
	db := readDB(t, w.Path("mixed"))
	rows := queryRows(t, db, `SELECT id, a, b FROM data ORDER BY _sdc_sequence`)
	if len(rows) != len(recs) {
		t.Fatalf("data has %d rows, want %d", len(rows), len(recs))
	}
	for i, r := range rows {
		want := map[string]any{"id": int64(i), "a": "a" + strconv.Itoa(i), "b": nil}
		if i == 33 {
			want = map[string]any{"id": int64(i), "a": nil, "b": int64(1)}
		}
		if !reflect.DeepEqual(r, want) {
			t.Fatalf("row %d = %v, want %v", i, r, want)
		}
	}
	tags := queryRows(t, db, `SELECT _sdc_source_key_id AS id, value FROM data__tags ORDER BY _sdc_level_0_id`)
	if want := []map[string]any{{"id": int64(50), "value": "x"}, {"id": int64(50), "value": "y"}}; !reflect.DeepEqual(tags, want) {
		t.Fatalf("data__tags = %v, want %v", tags, want)
	}
}

// BenchmarkLoadArrays decodes and loads JSON arrays of 1,000 Vero-like records (the body
// BenchmarkArrayBodies posts) in process, one Load at a time: for profiling what a record
// costs between the body and the INSERT.
//
//	go test ./store/warehouse -run '^$' -bench LoadArrays/sqlite -benchtime 30x -cpuprofile cpu.out
//
// On each destination (LoadArrays/postgres needs PostgreSQL, see pgtest).
func BenchmarkLoadArrays(b *testing.B) {
	const perArray = 1000
	body := []byte{'['}
	for i := range perArray {
		if i > 0 {
			body = append(body, ',')
		}
		id := i + 1
		campaign := i % 500
		body = fmt.Appendf(body, `{"id":%d,"sent_at":%d,"type":%q,"user":{"id":%d,"email":"user%d@example.com"},`+
			`"campaign":{"id":%d,"type":"transactional","name":"Campaign %d","subject":"Your order is being processed!",`+
			`"trigger-event":"purchased item","permalink":"http://app.getvero.com/view/1/%d","variation":"Variation A"},`+
			`"message_id":"%d.1B72E094173067F0F@veromail.com"}`, id, 1435016238+id, "opened", id, id, campaign, campaign, id, id)
	}
	body = append(body, ']')
	for _, dest := range testDestinations {
		b.Run(dest.name, func(b *testing.B) {
			w := dest.open(b, Options{})
			target := Target{PrimaryKey: "id"}
			load := func() {
				recs, err := DecodeBody("application/json", body, "")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := w.Load(context.Background(), "arrays", target, recs, time.Now()); err != nil {
					b.Fatal(err)
				}
			}
			load() // creates the table
			b.ResetTimer()
			for range b.N {
				load()
			}
			b.ReportMetric(float64(b.N*perArray)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// The paths Load remembers for every schema stop at maxCachedPaths, and records of ever-new
// keys still load whole.
func TestPathCacheIsBounded(t *testing.T) {
	w := openTest(t, t.TempDir(), Options{})
	const schemas, keys = 7, 700 // new keys beyond the bound, fewer than a table's columns
	for sc := range schemas {
		rec := Record{"id": int64(1), "n": Record{"x": int64(sc)}} // one record: one CREATE TABLE
		for i := range keys {
			rec[fmt.Sprintf("k%d_%d", sc, i)] = "v"
		}
		if res := mustLoad(t, w, fmt.Sprintf("paths%d", sc), Target{PrimaryKey: "id"}, rec); res.Loaded != 1 {
			t.Fatalf("schema %d: %d loaded, %d rejected", sc, res.Loaded, res.Rejected)
		}
	}
	if n := len(*w.paths.paths.Load()); n != maxCachedPaths {
		t.Errorf("%d paths remembered after %d new keys, want the bound, %d", n, schemas*keys, maxCachedPaths)
	}
	rows := queryRows(t, readDB(t, w.Path("paths6")), `SELECT k6_699, n__x FROM data WHERE id = 1`)
	if got := fmtRows(rows); got != `[{"k6_699":"v","n__x":6}]` {
		t.Errorf("a record of keys past the bound: %s", got)
	}
}
