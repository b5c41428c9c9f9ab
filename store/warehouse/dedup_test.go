package warehouse

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestDeliveryIDsStoreEachDeliveryOnce: a delivery id seen before within the window stores
// nothing, also when the copies arrive at once (one transaction) and after a restart.
func TestDeliveryIDsStoreEachDeliveryOnce(t *testing.T) {
	for _, dest := range testDestinations {
		t.Run(dest.name, func(t *testing.T) {
			w := dest.open(t, Options{DedupWindow: time.Hour})
			ctx := context.Background()
			load := func(id string, at time.Time) Result {
				t.Helper()
				res, err := w.Load(ctx, "dedup", Target{PrimaryKey: "id", DeliveryID: id}, []Record{{"id": "r", "n": int64(1)}}, at)
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			now := time.Now()
			if res := load("evt_1", now); res.Duplicate || res.Loaded != 1 {
				t.Fatalf("first delivery: %+v", res)
			}
			if res := load("evt_1", now.Add(time.Minute)); !res.Duplicate || res.Loaded != 0 {
				t.Fatalf("second delivery: %+v, want a duplicate", res)
			}
			// Twenty copies at the same moment: one is stored.
			var loaded, dups atomic.Int64
			var wg sync.WaitGroup
			for range 20 {
				wg.Go(func() {
					res := load("evt_2", now.Add(2*time.Minute))
					loaded.Add(int64(res.Loaded))
					if res.Duplicate {
						dups.Add(1)
					}
				})
			}
			wg.Wait()
			if loaded.Load() != 1 || dups.Load() != 19 {
				t.Fatalf("20 copies at once: %d loaded, %d duplicates; want 1 and 19", loaded.Load(), dups.Load())
			}
			// Past the window the id is new again.
			if res := load("evt_1", now.Add(2*time.Hour)); res.Duplicate || res.Loaded != 1 {
				t.Fatalf("after the window: %+v", res)
			}
			if n := queryInt(t, schemaDB(t, w, "dedup"), `SELECT COUNT(*) FROM data`); n != 3 {
				t.Fatalf("data has %d rows, want 3", n)
			}
		})
	}
}

// TestDeliveryIDsOutliveARestart: the id is committed with the data, in the schema.
func TestDeliveryIDsOutliveARestart(t *testing.T) {
	dir := t.TempDir()
	w := openTest(t, dir, Options{})
	target := Target{DeliveryID: "msg-1"}
	if res, err := w.Load(context.Background(), "dedup", target, []Record{{"a": int64(1)}}, time.Now()); err != nil || res.Loaded != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	w.Close()
	w = openTest(t, dir, Options{})
	if res, err := w.Load(context.Background(), "dedup", target, []Record{{"a": int64(1)}}, time.Now()); err != nil || !res.Duplicate {
		t.Fatalf("after a restart: %+v %v, want a duplicate", res, err)
	}
}

// A delivery id the database refuses (PostgreSQL's text holds no NUL byte) fails its own
// request, not the others of its batch, whose ids are recorded in one statement.
func TestARefusedDeliveryIDFailsAlone(t *testing.T) {
	for _, dest := range testDestinations {
		t.Run(dest.name, func(t *testing.T) {
			w := dest.open(t, Options{BusyTimeout: 10 * time.Second})
			mustLoad(t, w, "ids", Target{}, Record{"n": int64(0)})
			// A first load waits for the held schema in a batch of its own; the three queued
			// behind it then share one transaction.
			unlock := holdSchema(t, w, "ids")
			first := loadAsync(w, "ids", Target{}, []Record{{"n": int64(100)}})
			wr := writerOf(w, "ids")
			waitFor(t, func() bool { return wr.taken.Load() == 2 })
			good := loadAsync(w, "ids", Target{DeliveryID: "good"}, []Record{{"n": int64(1)}})
			bad := loadAsync(w, "ids", Target{DeliveryID: "bad\x00id"}, []Record{{"n": int64(2)}})
			good2 := loadAsync(w, "ids", Target{DeliveryID: "good2"}, []Record{{"n": int64(3)}})
			waitFor(t, func() bool { return len(wr.queue) == 3 })
			unlock()
			if out := <-first; out.err != nil {
				t.Fatal(out.err)
			}
			for name, out := range map[string]<-chan loadOutcome{"good": good, "good2": good2} {
				if o := <-out; o.err != nil || o.result.Loaded != 1 {
					t.Errorf("%s beside a refused id: %+v %v", name, o.result, o.err)
				}
			}
			o := <-bad
			t.Logf("the NUL id: %+v %v", o.result, o.err) // (SQLite's text holds it)
		})
	}
}

// holdSchema holds schema's write lock from another connection until unlock, as another
// process writing it would: the SQLite file's, or on PostgreSQL the schema's advisory lock.
func holdSchema(t *testing.T, w *Warehouse, schema string) (unlock func()) {
	t.Helper()
	if _, ok := w.dest.(*postgresDest); !ok {
		return holdWriteLock(t, readDB(t, w.Path(schema)))
	}
	conn, err := schemaDB(t, w, schema).Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_lock(hashtext($1))`, schema); err != nil {
		t.Fatal(err)
	}
	return func() {
		if _, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(hashtext($1))`, schema); err != nil {
			t.Fatal(err)
		}
	}
}
