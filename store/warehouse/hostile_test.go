package warehouse

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestParserCountsArrayElements(t *testing.T) {
	for _, tc := range []struct {
		body     string
		elements int
	}{
		{`{}`, 0},
		{`[]`, 0},
		{`[{}]`, 1},
		{`[{}, {} ,{}]`, 3},
		{`{"a":[1,2,3],"b":{"c":[]}}`, 3},
		{`[{"a":[[1,2],[3]]}]`, 1 + 2 + 3},
		{`{"s":"[1,2,3]","t":"\"[,,]\""}`, 0},
		{`[ "a,b" , "c" ]`, 2},
		{`{"a":[true,false,null]}`, 3},
	} {
		p := jsonParser{data: tc.body}
		if _, err := p.value(); err != nil || p.rows != tc.elements {
			t.Errorf("parsing %s counted %d array elements (err %v); want %d", tc.body, p.rows, err, tc.elements)
		}
	}
}

// Every body with more than MaxRows array elements is refused.
func TestDecodeBodyBoundsRows(t *testing.T) {
	ok := "[" + strings.Repeat(`{},`, MaxRows-1) + "{}]"
	recs, err := DecodeBody("application/json", []byte(ok), "")
	if err != nil || len(recs) != MaxRows {
		t.Fatalf("%d records: %d, %v", MaxRows, len(recs), err)
	}
	for name, body := range map[string]string{
		"records":          "[" + strings.Repeat(`{},`, MaxRows) + "{}]",
		"array elements":   `{"a":[` + strings.Repeat(`1,`, MaxRows) + `1]}`,
		"nested arrays":    `[{"a":[` + strings.Repeat(`[],`, MaxRows/2) + `[]]}, {"b":[` + strings.Repeat(`0,`, MaxRows/2) + `0]}]`,
		"form-packed JSON": "mandrill_events=[" + strings.Repeat(`{},`, MaxRows) + "{}]",
		// Each packed value under the bound, together over it: 3 × 99,000 events unpacked into
		// 2.97 million records (13 s, 1.7 GB) before this counted them together.
		"form-packed JSON, several values": strings.Repeat("mandrill_events=["+strings.Repeat(`{},`, MaxRows/2)+"{}]&", 3) + "x=1",
	} {
		ct := "application/json"
		if strings.HasPrefix(body, "mandrill") { // (both form bodies)
			ct = "application/x-www-form-urlencoded"
		}
		_, err := DecodeBody(ct, []byte(body), "mandrill_events")
		var be *BodyError
		if !errors.As(err, &be) || !strings.Contains(be.Msg, "more than the 100000") {
			t.Errorf("%s beyond MaxRows: %v", name, err)
		}
	}
}

// SQLite keeps rowid, oid and _rowid_ for a table's own key: ALTER TABLE refuses to add a column
// so named ("cannot add rowid alias"), which used to fail the request (503) every time it was sent.
// Such fields load as ordinary columns under the next free name, and browsing by key still works.
func TestRowidNamesLoadAsOrdinaryColumns(t *testing.T) {
	for _, tc := range []struct {
		name, pk, body string
		column         string // where the reserved key's value lands
		table          string
	}{
		{"rowid", "id", `{"id":"x","rowid":1}`, "rowid__2", "data"},
		{"oid", "id", `{"id":"x","oid":1}`, "oid__2", "data"},
		{"_rowid_", "id", `{"id":"x","_rowid_":1}`, "_rowid___2", "data"},
		{"upper case", "", `{"ROWID":1}`, "rowid__2", "data"},
		{"in a subtable", "id", `{"id":"x","a":[{"oid":1}]}`, "oid__2", "data__a"},
		{"primary key", "rowid", `{"rowid":1}`, "rowid__2", "data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := openTest(t, t.TempDir(), Options{})
			ctx := context.Background()
			for i := range 3 { // and again, now that the column exists
				res, err := w.Load(ctx, "reserved", Target{PrimaryKey: tc.pk}, []Record{decodeOne(t, tc.body)}, time.Now())
				if err != nil || res.Loaded != 1 {
					t.Fatalf("load %d: %+v, %v", i, res, err)
				}
			}
			db := readDB(t, w.Path("reserved"))
			if n := queryInt(t, db, `SELECT COUNT(*) FROM `+quoteIdent(tc.table)+` WHERE `+quoteIdent(tc.column)+` = 1`); n != 3 {
				t.Errorf("%s.%s holds the value in %d rows, want 3", tc.table, tc.column, n)
			}
			page, err := w.Rows(ctx, "reserved", RowsQuery{Table: tc.table, Limit: 2})
			if err != nil || len(page.Rows) != 2 || page.Next == "" {
				t.Fatalf("browse: %+v, %v", page, err)
			}
			next, err := w.Rows(ctx, "reserved", RowsQuery{Table: tc.table, Limit: 2, Before: page.Next})
			if err != nil || len(next.Rows) != 1 || next.Next != "" || next.Rows[0].Key == page.Rows[1].Key {
				t.Fatalf("second page: %+v, %v", next, err)
			}
			if _, _, err := w.Row(ctx, "reserved", tc.table, page.Rows[0].Key); err != nil {
				t.Fatalf("Row: %v", err)
			}
		})
	}
}

// oneElementArrays is {"id":1,"<key 0>":[1],"<key 1>":[1],...}: a subtable per key, keys of
// keyLen characters.
func oneElementArrays(n, keyLen int) string {
	var b strings.Builder
	b.WriteString(`{"id":1`)
	for i := range n {
		key := fmt.Sprintf("a%05d", i)
		key += strings.Repeat("k", max(0, keyLen-len(key)))
		fmt.Fprintf(&b, `,%q:[1]`, key)
	}
	b.WriteString("}")
	return b.String()
}

// A small body of many arrays made a subtable each at a cost that grew with the square of their
// number (6,000 one-element arrays, 83 KB: 205 s of the schema's writer); long keys the same.
// Now the record is rejected at the bound, at once, and the integration goes on loading.
func TestManySubtablesAreRejectedQuickly(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"id":1`)
	for i := range 900 { // under MaxColumns: each would be a column
		fmt.Fprintf(&b, `,"b%05d%s":1`, i, strings.Repeat("k", 994))
	}
	b.WriteString("}")
	columns := b.String()
	for _, tc := range []struct {
		name, body      string
		reason, reason2 string // its start and its end
	}{
		{"6,000 one-element arrays", oneElementArrays(6000, 0),
			"array a00499: table data__a00499 would make more than the 500 tables a schema may have", ""},
		{"2,000 arrays with 1,000-character keys", oneElementArrays(2000, 1000),
			"array a00000kkkkkkkk", "...: table name data__a00000kkkkkkkk"},
		{"900 fields with 1,000-character keys", columns,
			"field b00000kkkkkkkk", "...: column name b00000kkkkkkkk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := openTest(t, t.TempDir(), Options{})
			start := time.Now()
			res := mustLoad(t, w, "flood", Target{PrimaryKey: "id"}, decodeOne(t, tc.body))
			elapsed := time.Since(start)
			t.Logf("%d-byte body answered in %v", len(tc.body), elapsed)
			if res.Loaded != 0 || res.Rejected != 1 {
				t.Fatalf("result %+v, want the record rejected", res)
			}
			if elapsed > 10*time.Second {
				t.Errorf("the body took %v of the writer", elapsed)
			}
			db := readDB(t, w.Path("flood"))
			reason := queryRows(t, db, `SELECT reason FROM _sdc_rejected`)[0]["reason"].(string)
			if !strings.HasPrefix(reason, tc.reason) || !strings.Contains(reason, tc.reason2) {
				t.Errorf("reason %q, want it to start with %q and hold %q", reason, tc.reason, tc.reason2)
			}
			if len(reason) > 300 {
				t.Errorf("reason is %d characters long", len(reason))
			}
			res = mustLoad(t, w, "flood", Target{PrimaryKey: "id"}, decodeOne(t, `{"id":2,"tags":["a"]}`))
			if res.Loaded != 1 {
				t.Fatalf("a normal record after it: %+v", res)
			}
			if n := queryInt(t, db, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 'data%'`); n != 2 {
				t.Errorf("%d tables, want data and data__tags", n)
			}
		})
	}
}

// A record just inside every bound loads: DefaultMaxTables tables, with names of
// MaxTableNameLen characters, and a field of MaxColumnNameLen whose type-suffixed column has
// MaxIdentifierLen.
func TestBodyJustUnderTheBoundsLoads(t *testing.T) {
	w := openTest(t, t.TempDir(), Options{})
	long := strings.Repeat("f", MaxColumnNameLen)
	body := strings.TrimSuffix(oneElementArrays(DefaultMaxTables-1, MaxTableNameLen-len("data__")), "}") + `,"` + long + `":"x"}`
	start := time.Now()
	res := mustLoad(t, w, "edge", Target{PrimaryKey: "id"}, decodeOne(t, body))
	t.Logf("%d-byte body with %d new tables loaded in %v", len(body), DefaultMaxTables, time.Since(start))
	if res.Loaded != 1 || res.Rejected != 0 {
		t.Fatalf("result %+v", res)
	}
	res = mustLoad(t, w, "edge", Target{PrimaryKey: "id"}, decodeOne(t, `{"id":2,"`+long+`":5}`))
	if res.Loaded != 1 {
		t.Fatalf("second record: %+v", res)
	}
	db := readDB(t, w.Path("edge"))
	if n := queryInt(t, db, `SELECT COUNT(*) FROM _sdc_tables`); n != DefaultMaxTables {
		t.Errorf("%d tables, want %d", n, DefaultMaxTables)
	}
	if n := queryInt(t, db, `SELECT COUNT(*) FROM data WHERE "`+long+`__bi" = 5`); n != 1 {
		t.Errorf("the integer went to %d rows of %s__bi", n, long)
	}
	// The schema is full: a new array is rejected, records using the tables it has still load.
	res = mustLoad(t, w, "edge", Target{PrimaryKey: "id"}, decodeOne(t, `{"id":3,"new":[1]}`), decodeOne(t, oneElementArrays(3, MaxTableNameLen-len("data__"))))
	if res.Loaded != 1 || res.Rejected != 1 {
		t.Fatalf("in a full schema: %+v", res)
	}
}

func TestNameLengthBounds(t *testing.T) {
	k := func(n int) string { return strings.Repeat("k", n) }
	for _, tc := range []struct {
		name    string
		records []string
		reason  string // of the last record; "" if every record loads
	}{
		{"column name of 59", []string{`{"` + k(59) + `":1}`}, ""},
		{"column name of 60", []string{`{"` + k(60) + `":1}`},
			"field " + k(60)[:60] + ": column name " + k(60) + " is longer than 59 characters"},
		{"nested name of 62", []string{`{"` + k(30) + `":{"` + k(30) + `":1}}`},
			"field " + k(30) + "." + k(29) + "...: column name " + k(30) + "__" + k(28) + "... is longer than 59 characters"},
		{"type suffix on a name of 59", []string{`{"` + k(59) + `":1}`, `{"` + k(59) + `":"s"}`}, ""},
		{"table name of 63", []string{`{"` + k(57) + `":[1]}`}, ""},
		{"table name of 64", []string{`{"` + k(58) + `":[1]}`},
			"array " + k(58) + ": table name data__" + k(54) + "... is longer than 63 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := openTest(t, t.TempDir(), Options{})
			for i, body := range tc.records {
				res := mustLoad(t, w, "names", Target{}, decodeOne(t, body))
				last := i == len(tc.records)-1
				if want := 1; tc.reason != "" && last {
					if res.Rejected != want {
						t.Fatalf("record %d: %+v, want it rejected", i, res)
					}
				} else if res.Loaded != 1 {
					t.Fatalf("record %d: %+v, want it loaded", i, res)
				}
			}
			if tc.reason == "" {
				return
			}
			got := queryRows(t, readDB(t, w.Path("names")), `SELECT reason FROM _sdc_rejected`)[0]["reason"]
			if got != tc.reason {
				t.Errorf("reason\n got %q\nwant %q", got, tc.reason)
			}
		})
	}
}

func TestMaxTables(t *testing.T) {
	w := openTest(t, t.TempDir(), Options{MaxTables: 3})
	res := mustLoad(t, w, "few", Target{}, decodeOne(t, `{"a":[1],"b":[{"c":[]}]}`), decodeOne(t, `{"c":[1]}`), decodeOne(t, `{"a":[2],"b":[{"x":1}]}`))
	if res.Loaded != 2 || res.Rejected != 1 {
		t.Fatalf("result %+v", res)
	}
	got := queryRows(t, readDB(t, w.Path("few")), `SELECT reason FROM _sdc_rejected`)[0]["reason"]
	if want := "array c: table data__c would make more than the 3 tables a schema may have"; got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
}

// Files written before the name bounds may have longer names: the fields they map keep loading
// into them; only new names are bounded.
func TestLongNamesOfOlderFilesKeepLoading(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("k", 70)
	w := openTest(t, dir, Options{})
	mustLoad(t, w, "old", Target{PrimaryKey: "id"}, decodeOne(t, `{"id":1}`))
	w.Close()
	// What the loader wrote before the bounds, by hand.
	db := readDB(t, w.Path("old"))
	for _, q := range []string{
		`ALTER TABLE data ADD COLUMN "` + long + `" INTEGER`,
		`INSERT INTO _sdc_columns VALUES ('data', '` + long + `', '"` + long + `"', 'integer', '2026-01-01T00:00:00.000000Z')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	w = openTest(t, dir, Options{})
	res := mustLoad(t, w, "old", Target{PrimaryKey: "id"}, decodeOne(t, `{"id":2,"`+long+`":7}`), decodeOne(t, `{"id":3,"`+long+`":"s"}`))
	if res.Loaded != 1 || res.Rejected != 1 {
		t.Fatalf("result %+v, want the integer loaded and the string (a new, longer column) rejected", res)
	}
	if n := queryInt(t, readDB(t, w.Path("old")), `SELECT COUNT(*) FROM data WHERE "`+long+`" = 7`); n != 1 {
		t.Errorf("the value is in %d rows of the old column", n)
	}
}

// Large bodies cost about what their decoding costs. A record one of whose rows has more
// scalars than a table may have columns is rejected without walking its keys (one object of
// 1.3 million keys took 5 s of its schema's writer and 970 MB of allocations, five times its
// decoding); and the fields of a body of many records are allocated about once (a doubling
// slice allocated twice their size, with the old copies alive while each was made).
func TestLargeBodiesCostAboutTheirDecoding(t *testing.T) {
	var wide strings.Builder
	wide.WriteString(`[{"id":1,"ok":true},{"id":2,"user":{`)
	for i := range 200_000 {
		if i > 0 {
			wide.WriteByte(',')
		}
		fmt.Fprintf(&wide, `"k%06d":%d`, i, i)
	}
	wide.WriteString(`}}]`)
	var many strings.Builder
	many.WriteByte('[')
	for i := range 30_000 {
		if i > 0 {
			many.WriteByte(',')
		}
		fmt.Fprintf(&many, `{"id":%d,"type":"opened","email":"u%d@example.com","campaign":{"id":%d,"name":"c"},"ts":%d,"x":12.5,"y":true}`, i, i, i%50, 1700000000+i)
	}
	many.WriteByte(']')
	for _, tc := range []struct {
		name, body       string
		loaded, rejected int
		reason           string
	}{
		{"a record of 200,000 keys", wide.String(), 1, 1, "table data would have more than 1000 columns"},
		{"30,000 records", many.String(), 30_000, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := openTest(t, t.TempDir(), Options{})
			mustLoad(t, w, "big", Target{PrimaryKey: "id"}, decodeOne(t, `{"id":0}`)) // the writer's start is not the body's
			allocated := func(f func()) uint64 {
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				f()
				runtime.ReadMemStats(&after)
				return after.TotalAlloc - before.TotalAlloc
			}
			var recs []Record
			decoding := allocated(func() {
				var err error
				if recs, err = DecodeBody("application/json", []byte(tc.body), ""); err != nil {
					t.Fatal(err)
				}
			})
			var res Result
			loading := allocated(func() { res = mustLoad(t, w, "big", Target{PrimaryKey: "id"}, recs...) })
			t.Logf("%d-byte body: decoding allocated %d MB, loading %d MB", len(tc.body), decoding>>20, loading>>20)
			if res.Loaded != tc.loaded || res.Rejected != tc.rejected {
				t.Fatalf("result %+v, want %d loaded and %d rejected", res, tc.loaded, tc.rejected)
			}
			if loading > 2*decoding { // before: 5.6 and 2.8 times
				t.Errorf("loading allocated %d MB, more than twice the %d MB of decoding", loading>>20, decoding>>20)
			}
			if tc.reason != "" {
				db := readDB(t, w.Path("big"))
				if got := queryRows(t, db, `SELECT reason FROM _sdc_rejected`)[0]["reason"]; got != tc.reason {
					t.Errorf("reason %q, want %q", got, tc.reason)
				}
			}
		})
	}
}

// A table made wide under a larger -max-columns keeps taking records that fit its existing
// columns after the limit is lowered, as it did before prepare stopped wide rows.
func TestWideTableKeepsLoadingAfterTheLimitIsLowered(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"id":1`)
	for i := range 1100 {
		fmt.Fprintf(&b, `,"k%04d":%d`, i, i)
	}
	b.WriteString(`}`)
	dir := t.TempDir()
	w := openTest(t, dir, Options{MaxColumns: 1600})
	if res := mustLoad(t, w, "wide", Target{}, decodeOne(t, b.String())); res.Loaded != 1 {
		t.Fatalf("with 1600 columns allowed: %+v", res)
	}
	w = reopenTest(t, w, Options{MaxColumns: 1000})
	if res := mustLoad(t, w, "wide", Target{}, decodeOne(t, b.String()), decodeOne(t, b.String())); res.Loaded != 2 {
		t.Errorf("after -max-columns 1000, a record of the table's own 1101 fields: %+v, want 2 loaded", res)
	}
}
