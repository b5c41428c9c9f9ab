package warehouse

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"hash/fnv"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// reopenTest closes w and opens its destination again, as a restarted process would.
func reopenTest(t testing.TB, w *Warehouse, opts Options) *Warehouse {
	t.Helper()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if d, ok := w.dest.(*postgresDest); ok {
		w2, err := OpenPostgres(context.Background(), d.address, nil, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w2.Close() })
		return w2
	}
	return openTest(t, w.dest.(*sqliteDest).dir, opts)
}

// checkCounts compares the counts Contents gives with a COUNT(*) of each table.
func checkCounts(t testing.TB, w *Warehouse, schema, when string) {
	t.Helper()
	c, err := w.Contents(context.Background(), schema, "")
	if err != nil {
		t.Fatalf("%s: Contents: %v", when, err)
	}
	db := schemaDB(t, w, schema)
	for _, tb := range c.Tables {
		if n := queryInt(t, db, `SELECT COUNT(*) FROM `+quoteIdent(tb.Name)); n != tb.Rows {
			t.Errorf("%s: table %s: Contents says %d rows, COUNT(*) %d", when, tb.Name, tb.Rows, n)
		}
	}
	if c.Latest >= 0 { // (-1: no counter yet, see TestLatestCountExact)
		if n := queryInt(t, db, `SELECT COUNT(*) FROM data_latest`); n != c.Latest {
			t.Errorf("%s: Contents says data_latest has %d rows, COUNT(*) %d", when, c.Latest, n)
		}
	}
	if n := queryInt(t, db, `SELECT COUNT(*) FROM _sdc_rejected`); n != c.Rejected {
		t.Errorf("%s: Contents says %d rejected, COUNT(*) %d", when, c.Rejected, n)
	}
}

func TestCountsExact(t *testing.T) {
	for _, dest := range testDestinations {
		t.Run(dest.name, func(t *testing.T) {
			ctx := context.Background()
			w := dest.open(t, Options{})
			key := Target{PrimaryKey: "id"}
			load := func(w *Warehouse, recs ...string) {
				t.Helper()
				var batch []Record
				for _, r := range recs {
					batch = append(batch, decodeOne(t, r))
				}
				if _, err := w.Load(ctx, "counted", key, batch, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			load(w, `{"id":1,"type":"sent","tags":["a","b"]}`, `{"no_id":1}`)
			checkCounts(t, w, "counted", "first commit")
			load(w, `{"id":2,"type":"open","tags":[],"links":[{"u":"x"}]}`, `{"id":{"x":1}}`, `{"id":3}`)
			checkCounts(t, w, "counted", "second commit")

			// Many commits at once, arrays and rejects among them.
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					for i := range 20 {
						load(w, fmt.Sprintf(`{"id":%d,"type":"t%d","tags":["x"]}`, g*100+i, i%3), `{"id":null}`)
					}
				})
			}
			wg.Wait()
			checkCounts(t, w, "counted", "concurrent commits")

			// A restart reads the counters and the last sequence back.
			db := schemaDB(t, w, "counted")
			lastSeq := queryInt(t, db, `SELECT MAX(_sdc_sequence) FROM data`)
			w = reopenTest(t, w, Options{})
			checkCounts(t, w, "counted", "after a restart")
			// An arrival time in the past: the sequence still follows the last one.
			if _, err := w.Load(ctx, "counted", key, []Record{decodeOne(t, `{"id":1000}`)}, time.Unix(1, 0)); err != nil {
				t.Fatal(err)
			}
			if seq := queryInt(t, db, `SELECT MAX(_sdc_sequence) FROM data`); seq != lastSeq+1 {
				t.Errorf("sequence after a restart %d, want %d", seq, lastSeq+1)
			}
			checkCounts(t, w, "counted", "a commit after a restart")

			// A schema written before _sdc_counts existed: counted once, at its writer's open.
			if _, err := db.Exec(`DROP TABLE _sdc_counts`); err != nil {
				t.Fatal(err)
			}
			oldView := `CREATE OR REPLACE VIEW data_latest AS SELECT * FROM data o WHERE o._sdc_sequence = (SELECT MAX(i._sdc_sequence) FROM data i WHERE i.id = o.id)`
			viewSQL := `SELECT definition FROM pg_views WHERE viewname = 'data_latest' AND schemaname = 'counted'`
			if w.Location("counted").SQLiteFile != "" {
				oldView = `DROP VIEW data_latest; ` + strings.Replace(oldView, "OR REPLACE ", "", 1)
				viewSQL = `SELECT sql FROM sqlite_master WHERE name = 'data_latest'`
			}
			if _, err := db.Exec(oldView); err != nil {
				t.Fatal(err)
			}
			checkCounts(t, w, "counted", "without counters (COUNT(*) instead)")
			w = reopenTest(t, w, Options{})
			load(w, `{"id":2000,"tags":["y"]}`, `{}`)
			checkCounts(t, w, "counted", "counted again at open")
			var view string
			if err := db.QueryRow(viewSQL).Scan(&view); err != nil || !strings.Contains(view, "EXISTS") || strings.Contains(strings.ToLower(view), "max(") {
				t.Errorf("data_latest not replaced at open: %q, %v", view, err)
			}

			// Dropped and loaded again: from zero.
			if err := w.Drop(ctx, "counted"); err != nil {
				t.Fatal(err)
			}
			if c := contents(t, w, "counted"); c.Tables != nil || c.Latest != -1 || c.Rejected != 0 {
				t.Fatalf("Contents after Drop = %+v", c)
			}
			load(w, `{"id":1,"tags":["z"]}`)
			checkCounts(t, w, "counted", "after a drop")
			if tables := contents(t, w, "counted").Tables; len(tables) != 2 || tables[0].Rows != 1 || tables[1].Rows != 1 {
				t.Errorf("tables after a drop and a load: %+v", tables)
			}
		})
	}
}

// Two processes writing one PostgreSQL schema keep the counters exact: they are incremented
// in SQL, under the schema's lock.
// TestLatestCountExact: data_latest's counter (the Data page shows it) equals a COUNT(*) of the
// view after commits of new keys, keys repeated in a batch and across batches, rejects, records
// the database refuses, a restart, a schema made before the counter, and two writers of one
// PostgreSQL schema.
func TestLatestCountExact(t *testing.T) {
	for _, dest := range testDestinations {
		t.Run(dest.name, func(t *testing.T) {
			ctx := context.Background()
			w := dest.open(t, Options{})
			load := func(w *Warehouse, recs ...string) {
				t.Helper()
				var batch []Record
				for _, r := range recs {
					batch = append(batch, decodeOne(t, r))
				}
				w.Load(ctx, "latest", Target{PrimaryKey: "id"}, batch, time.Now()) //nolint:errcheck // a refused request fails: the counter must say so too
			}
			want := func(n int64, when string) {
				t.Helper()
				checkCounts(t, w, "latest", when)
				if got := contents(t, w, "latest").Latest; got != n {
					t.Errorf("%s: data_latest counts %d rows, want %d", when, got, n)
				}
			}
			load(w, `{"id":1}`, `{"id":2,"a":[1]}`, `{"id":1,"b":"x"}`, `{"no_id":1}`, `{"id":"text"}`, `{"id":{"x":1}}`)
			want(2, "new keys, one repeated in the batch, rejects")
			load(w, `{"id":2}`, `{"id":3}`, `{"id":3}`, `{"id":1}`)
			want(3, "keys of earlier batches")

			db := schemaDB(t, w, "latest")
			trigger := `CREATE TRIGGER unlucky BEFORE INSERT ON data WHEN NEW.id = 13 BEGIN SELECT RAISE(ABORT, 'thirteen is unlucky'); END`
			if w.Location("latest").SQLiteFile == "" { // a refusal (class 22): the record is rejected, its request loads
				trigger = `CREATE FUNCTION unlucky() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
					IF NEW.id = 13 THEN RAISE EXCEPTION 'thirteen is unlucky' USING ERRCODE = '22023'; END IF; RETURN NEW; END $$;
					CREATE TRIGGER unlucky BEFORE INSERT ON data FOR EACH ROW EXECUTE FUNCTION unlucky()`
			}
			if _, err := db.Exec(trigger); err != nil {
				t.Fatal(err)
			}
			load(w, `{"id":14}`, `{"id":13}`, `{"id":15}`, `{"id":14}`, `{"id":3}`)
			refused := queryInt(t, db, `SELECT COUNT(DISTINCT id) FROM data WHERE id IN (14, 15)`)
			want(3+refused, "a record the database refuses")

			w = reopenTest(t, w, Options{})
			load(w, `{"id":3}`, `{"id":16}`, `{"id":16}`)
			want(4+refused, "after a restart")

			// A schema made before the counter: counted once at its writer's open.
			if _, err := db.Exec(`DELETE FROM _sdc_counts WHERE table_name = 'data_latest'`); err != nil {
				t.Fatal(err)
			}
			if got := contents(t, w, "latest").Latest; got != -1 {
				t.Errorf("without a counter, data_latest counts %d rows, want -1 (unknown)", got)
			}
			w = reopenTest(t, w, Options{})
			load(w, `{"id":16}`, `{"id":17}`)
			want(5+refused, "counted at open")

			if w.Location("latest").SQLiteFile != "" {
				return
			}
			// Two writers of one PostgreSQL schema, their keys overlapping.
			b, err := OpenPostgres(ctx, w.dest.(*postgresDest).address, nil, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			var wg sync.WaitGroup
			for g := range 8 {
				wr := w
				if g%2 == 1 {
					wr = b
				}
				wg.Go(func() {
					for i := range 25 {
						load(wr, fmt.Sprintf(`{"id":%d}`, 100+(g*25+i)%60), fmt.Sprintf(`{"id":%d}`, 100+(g+i)%60))
					}
				})
			}
			wg.Wait()
			want(65+refused, "two writers")
		})
	}
}

func TestCountsExactWithTwoWritersOnPostgres(t *testing.T) {
	a := openPostgresTest(t, Options{})
	b, err := OpenPostgres(context.Background(), a.dest.(*postgresDest).address, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		w := a
		if g%2 == 1 {
			w = b
		}
		wg.Go(func() {
			for i := range 25 {
				rec := Record{"id": int64(g*100 + i), "tags": []any{"x", "y"}}
				if _, err := w.Load(context.Background(), "shared", Target{PrimaryKey: "id"}, []Record{rec, {"id": nil}}, time.Now()); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	checkCounts(t, a, "shared", "two writers")
	if tables := contents(t, a, "shared").Tables; len(tables) != 2 || tables[0].Rows != 200 || tables[1].Rows != 400 {
		t.Errorf("tables: %+v", tables)
	}
}

// Writers that stay idle close and start again on the next Load, without losing or
// reordering any: with a tiny IdleTimeout, senders that pause at random make the writer
// retire between and during their loads.
func TestIdleWritersCloseAndReopen(t *testing.T) {
	for _, dest := range testDestinations {
		t.Run(dest.name, func(t *testing.T) {
			const senders, rounds, perRound = 8, 30, 2
			const loads = rounds * perRound
			w := dest.open(t, Options{IdleTimeout: time.Millisecond})
			// Rounds of concurrent loads, with pauses around the idle timeout between them, so
			// that Loads also arrive just as the writer retires.
			for round := range rounds {
				var wg sync.WaitGroup
				for g := range senders {
					wg.Go(func() {
						for i := range perRound {
							rec := Record{"sender": int64(g), "n": int64(round*perRound + i)}
							if _, err := w.Load(context.Background(), "idle", Target{}, []Record{rec}, time.Now()); err != nil {
								t.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				if round%5 == 4 {
					waitNoWriters(t, w) // one retirement in five rounds for sure, however loaded the machine
				} else {
					time.Sleep(time.Duration(round%5) * time.Millisecond)
				}
			}
			db := schemaDB(t, w, "idle")
			rows := queryRows(t, db, `SELECT sender, n FROM data ORDER BY _sdc_sequence`)
			if len(rows) != senders*loads {
				t.Fatalf("%d rows, want %d", len(rows), senders*loads)
			}
			next := map[int64]int64{}
			for _, r := range rows {
				s, n := r["sender"].(int64), r["n"].(int64)
				if n != next[s] {
					t.Fatalf("sender %d: event %d stored after %d", s, n, next[s]-1)
				}
				next[s] = n + 1
			}
			checkCounts(t, w, "idle", "after idle writers")
			started := w.started.Load()
			if started < rounds/5 {
				t.Errorf("the writer started %d times: it did not retire while idle", started)
			}
			waitNoWriters(t, w)
			t.Logf("%d loads, the writer started %d times", senders*loads, started)
		})
	}
}

func waitNoWriters(t testing.TB, w *Warehouse) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		w.mu.Lock()
		n := len(w.writers)
		w.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d writers still running", n)
		}
	}
}

// idleSchemas is how many integrations TestIdleWritersReleaseFiles loads on SQLite (a fifth of
// them on PostgreSQL, whose schemas cost more to create): enough for CI by default; the README
// quotes a run at 10,000.
var idleSchemas = flag.Int("idle-schemas", 1000, "integrations of one event each TestIdleWritersReleaseFiles loads on SQLite (a fifth on PostgreSQL)")

// Many integrations that each received one event hold no files, connections or goroutines
// once their writers are idle, and at no moment more than the writers busy within the idle
// timeout; a second event, to a writer started anew, is stored after the first.
func TestIdleWritersReleaseFiles(t *testing.T) {
	for _, dest := range testDestinations {
		t.Run(dest.name, func(t *testing.T) {
			schemas := *idleSchemas
			if dest.name == "postgres" {
				schemas = max(1, schemas/5)
			}
			start := time.Now()
			w := dest.open(t, Options{IdleTimeout: 20 * time.Millisecond})
			mustLoad(t, w, "first", Target{}, Record{"a": int64(1)}) // the pool's first connection
			waitNoWriters(t, w)
			fds0, goroutines0 := openFiles(t), runtime.NumGoroutine()
			load := func(i int, a int64) {
				if _, err := w.Load(context.Background(), fmt.Sprintf("s%05d", i), Target{}, []Record{{"a": a}}, time.Now()); err != nil {
					t.Error(err)
				}
			}
			peak := peakFiles(t, func() { loadEach(schemas, func(i int) { load(i, int64(i)) }) })
			waitNoWriters(t, w)
			runtime.GC()
			fds, goroutines := openFiles(t), runtime.NumGoroutine()
			t.Logf("%d schemas of one event in %v: %d open files before, %d at most while loading, %d after; %d goroutines before, %d after",
				schemas, time.Since(start).Round(time.Millisecond), fds0, peak, fds, goroutines0, goroutines)
			if fds > fds0+10 || goroutines > goroutines0+10 {
				t.Errorf("idle writers hold %d files (%d before) and %d goroutines (%d before)", fds, fds0, goroutines, goroutines0)
			}
			if peak > fds0+300 {
				t.Errorf("%d files open at once while loading (%d before): idle writers did not close", peak, fds0)
			}
			if d, ok := w.dest.(*postgresDest); ok {
				// The writers' pool keeps a few idle connections, for all schemas together.
				if open := d.db.Stats().OpenConnections; open > maxPostgresIdleConns {
					t.Errorf("%d connections still open to PostgreSQL, want at most the pool's %d idle ones", open, maxPostgresIdleConns)
				}
			}
			// A second event to every 50th, each to a writer started anew, is stored after the first.
			loadEach((schemas+49)/50, func(i int) { load(i*50, -int64(i*50)) })
			for i := 0; i < schemas; i += 50 {
				schema := fmt.Sprintf("s%05d", i)
				got := fmtRows(queryRows(t, schemaDB(t, w, schema), `SELECT a FROM data ORDER BY _sdc_sequence`))
				if want := fmt.Sprintf(`[{"a":%d},{"a":%d}]`, i, -i); got != want {
					t.Errorf("%s after a second event: %s, want %s", schema, got, want)
				}
				checkCounts(t, w, schema, "after a writer started anew")
			}
			waitNoWriters(t, w)
		})
	}
}

// loadEach calls load(i) for i from 0 to n-1 from 8 goroutines.
func loadEach(n int, load func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				load(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// peakFiles runs f and returns the most files this process had open at once meanwhile, sampled
// every millisecond.
func peakFiles(t testing.TB, f func()) int {
	done := make(chan struct{})
	peak := make(chan int)
	go func() {
		most := 0
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			most = max(most, openFiles(t))
			select {
			case <-done:
				peak <- most
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(done)
	return <-peak
}

func openFiles(t testing.TB) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	return len(entries)
}

// Every event type the table holds is offered, not only the newest rows', and filtering on
// one is an index lookup, on any of the source's spellings of the column.
func TestEventTypeFilter(t *testing.T) {
	for _, dest := range testDestinations {
		t.Run(dest.name, func(t *testing.T) {
			ctx := context.Background()
			w := dest.open(t, Options{})
			for _, schema := range []string{"vero", "iterable"} {
				col := map[string]string{"vero": "type", "iterable": "eventName"}[schema]
				var old, recent []Record
				for i := range 5 {
					old = append(old, Record{"id": int64(i), col: "bounced"})
				}
				for i := range 3000 {
					recent = append(recent, Record{"id": int64(100 + i), col: []string{"sent", "opened"}[i%2]})
				}
				if _, err := w.Load(ctx, schema, Target{PrimaryKey: "id"}, old, time.Now()); err != nil {
					t.Fatal(err)
				}
				if _, err := w.Load(ctx, schema, Target{PrimaryKey: "id"}, recent, time.Now()); err != nil {
					t.Fatal(err)
				}
				page, err := w.Rows(ctx, schema, RowsQuery{Table: "data", Limit: 10})
				if err != nil {
					t.Fatal(err)
				}
				if page.EventTypeColumn != col || strings.Join(page.EventTypes, ",") != "bounced,opened,sent" {
					t.Errorf("%s: filter on %q offers %v", schema, page.EventTypeColumn, page.EventTypes)
				}
				for _, tc := range []struct {
					typ  string
					want int
				}{{"bounced", 5}, {"none", 0}, {"sent", 10}} {
					page, err := w.Rows(ctx, schema, RowsQuery{Table: "data", EventType: tc.typ, Limit: 10})
					if err != nil || len(page.Rows) != tc.want {
						t.Errorf("%s: type %s: %d rows, %v; want %d", schema, tc.typ, len(page.Rows), err, tc.want)
					}
				}
				plan := eventFilterPlan(t, w, schema, col)
				if !strings.Contains(plan, eventTypeIndex(col)) {
					t.Errorf("%s: the filter on %s is not an index lookup:\n%s", schema, col, plan)
				}
			}
		})
	}
}

// On PostgreSQL a record can hold both type and Type (case is kept there): the filter is on the
// one that came first (type: lowercase names are added first), the same one every time, and it
// alone is indexed, after a restart and a later event-type column too.
func TestEventTypeColumnIsOneRule(t *testing.T) {
	w := openPostgresTest(t, Options{})
	ctx := context.Background()
	mustLoad(t, w, "both", Target{},
		decodeOne(t, `{"type":"sent","Type":"Email"}`), decodeOne(t, `{"type":"opened","Type":"Email"}`), decodeOne(t, `{"Type":"SMS"}`))
	check := func(when string) {
		t.Helper()
		for range 20 { // (the filter once chose by the order of a Go map)
			page, err := w.Rows(ctx, "both", RowsQuery{Table: "data", EventType: "sent", Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if page.EventTypeColumn != "type" || len(page.Rows) != 1 || strings.Join(page.EventTypes, ",") != "opened,sent" {
				t.Fatalf("%s: filter on %q offers %v, %d rows of sent; want type, [opened sent], 1", when, page.EventTypeColumn, page.EventTypes, len(page.Rows))
			}
		}
		var indexed []string // the event-type columns that lead an index of data
		for _, r := range queryRows(t, schemaDB(t, w, "both"), `SELECT a.attname::text AS col FROM pg_index i
			JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
			JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
			WHERE n.nspname = 'both' AND c.relname = 'data' ORDER BY 1`) {
			if col := r["col"].(string); strings.Contains(" type eventname event ", " "+strings.ToLower(col)+" ") {
				indexed = append(indexed, col)
			}
		}
		if strings.Join(indexed, ",") != "type" {
			t.Errorf("%s: event-type columns indexed %v; want only the filter's, type", when, indexed)
		}
		if plan := eventFilterPlan(t, w, "both", "type"); !strings.Contains(plan, eventTypeIndex("type")) {
			t.Errorf("%s: the filter on type is not an index lookup:\n%s", when, plan)
		}
	}
	check("one record with both")
	// event takes over before type in one record (its keys come sorted): only type is indexed.
	mustLoad(t, w, "both2", Target{}, decodeOne(t, `{"event":"e","type":"sent"}`))
	for _, r := range queryRows(t, schemaDB(t, w, "both2"), `SELECT indexdef FROM pg_indexes WHERE schemaname = 'both2' AND tablename = 'data'`) {
		if def := r["indexdef"].(string); strings.Contains(def, `(event,`) {
			t.Errorf("event, which type took over from, is indexed: %s", def)
		}
	}
	w = reopenTest(t, w, Options{})
	mustLoad(t, w, "both", Target{}, decodeOne(t, `{"Type":"Email","event":"x","eventName":"y"}`))
	check("after a restart, with event and eventName too")
}

// A PostgreSQL schema of an earlier version, whose event-type index was named
// _sdc_sequence_<hash> after its second column, has it renamed to data_<column>, its name on
// SQLite, when a writer next opens the schema: one index, the filter still on it.
func TestEventTypeIndexOfAnEarlierVersionIsRenamed(t *testing.T) {
	w := openPostgresTest(t, Options{})
	mustLoad(t, w, "vero", Target{}, decodeOne(t, `{"type":"sent"}`))
	h := fnv.New64a()
	h.Write([]byte("data_type"))
	earlier := fmt.Sprintf("_sdc_sequence_%016x", h.Sum64())
	db := schemaDB(t, w, "vero")
	if _, err := db.Exec(`ALTER INDEX data_type RENAME TO ` + earlier); err != nil {
		t.Fatal(err)
	}
	// A second such index of the column (made by hand) keeps its name: the first takes the new
	// one, and the writer still opens (both renamed to it, the second failed, and so did it).
	const second = "_sdc_sequence_ffffffffffffffff"
	if _, err := db.Exec(`CREATE INDEX ` + second + ` ON data (type, _sdc_sequence)`); err != nil {
		t.Fatal(err)
	}
	w = reopenTest(t, w, Options{})
	mustLoad(t, w, "vero", Target{}, decodeOne(t, `{"type":"opened"}`))
	var names []string
	for _, r := range queryRows(t, db, `SELECT indexname::text AS name FROM pg_indexes WHERE schemaname = 'vero' AND tablename = 'data' ORDER BY 1`) {
		names = append(names, r["name"].(string))
	}
	if want := rowKeyIndex("data") + "," + second + ",data_type"; strings.Join(names, ",") != want {
		t.Errorf("data's indexes are %v; want %s", names, want)
	}
	if _, err := db.Exec(`DROP INDEX ` + second); err != nil { // (the plan would take either)
		t.Fatal(err)
	}
	if plan := eventFilterPlan(t, w, "vero", "type"); !strings.Contains(plan, "data_type") {
		t.Errorf("the filter on type is not an index lookup:\n%s", plan)
	}
}

// eventFilterPlan is the plan of the Data page's filter query, with sequential scans ruled
// out on PostgreSQL: the tables are small enough for one to look cheaper.
func eventFilterPlan(t testing.TB, w *Warehouse, schema, col string) string {
	t.Helper()
	db := schemaDB(t, w, schema)
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	explain := `EXPLAIN QUERY PLAN SELECT o.rowid, o.* FROM data o WHERE o.` + quoteIdent(col) + ` = 'x' AND (o.rowid) < (1000) ORDER BY o.rowid DESC LIMIT 11`
	if _, ok := w.dest.(*postgresDest); ok {
		if _, err := conn.ExecContext(context.Background(), `SET enable_seqscan = off`); err != nil {
			t.Fatal(err)
		}
		explain = `EXPLAIN SELECT o._sdc_sequence, o.* FROM data o WHERE o.` + quoteIdent(col) + ` = 'x' AND (o._sdc_sequence) < (1000) ORDER BY o._sdc_sequence DESC LIMIT 11`
	}
	rows, err := conn.QueryContext(context.Background(), explain)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var b strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&b, vals...)
	}
	return b.String()
}

// The Data page reads the counters once a render: Contents takes every count the page shows
// (each table's, data_latest's, the rejects') from one reader and one read of _sdc_counts.
func TestContentsReadsCountersOnce(t *testing.T) {
	for _, dest := range testDestinations {
		t.Run(dest.name, func(t *testing.T) {
			w := dest.open(t, Options{})
			mustLoad(t, w, "shop", Target{PrimaryKey: "id"},
				decodeOne(t, `{"id":1,"items":[{"sku":"a"},{"sku":"b"}]}`), decodeOne(t, `{"id":1}`), decodeOne(t, `{"no_id":1}`))
			reads := &countingDest{destination: w.dest}
			w.dest = reads // (the schema's writer keeps its own)
			c := contents(t, w, "shop")
			if len(c.Tables) != 2 || c.Tables[0].Rows != 2 || c.Tables[1].Rows != 2 || c.Latest != 1 || c.Rejected != 1 {
				t.Errorf("Contents = %+v; want data 2, data__items 2, data_latest 1, rejected 1", c)
			}
			if reads.readers != 1 || reads.counters != 1 {
				t.Errorf("Contents took %d readers and read _sdc_counts %d times; want 1 and 1", reads.readers, reads.counters)
			}
		})
	}
}

// countingDest counts the readers taken and the queries of _sdc_counts run on them.
type countingDest struct {
	destination
	readers, counters int
}

func (d *countingDest) reader(ctx context.Context, schema string) (querier, func(), bool, error) {
	db, release, ok, err := d.destination.reader(ctx, schema)
	d.readers++
	if db != nil {
		db = countingQuerier{db, d}
	}
	return db, release, ok, err
}

type countingQuerier struct {
	querier
	d *countingDest
}

func (q countingQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	q.count(query)
	return q.querier.QueryContext(ctx, query, args...)
}

func (q countingQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	q.count(query)
	return q.querier.QueryRowContext(ctx, query, args...)
}

func (q countingQuerier) count(query string) {
	if strings.Contains(query, countsTable) {
		q.d.counters++
	}
}
