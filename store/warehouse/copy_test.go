package warehouse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// copyCases load a schema with what the catalog has to carry across: nested objects, arrays
// of objects in arrays (two subtable levels), a field that changes type (a suffixed column),
// booleans, timestamps, an event type, a second version of a key, a rejected record and a
// delivery id.
var copyCases = []string{
	`{"id":1,"type":"order","amount":10,"paid":true,"at":"2026-11-30T10:00:00Z","customer":{"name":"Ada","vip":false},"items":[{"sku":"a","tags":["x","y"]},{"sku":"b","tags":[]}]}`,
	`{"id":2,"type":"refund","amount":2.5,"paid":false,"note":null}`,
	`{"id":1,"type":"order","amount":12,"paid":true,"customer":{"name":"Ada L."},"items":[{"sku":"c","tags":["z"]}]}`,
	`{"id":3,"type":"order","bad":"a NUL \u0000 here"}`,
}

// TestCopySchemaIntoPostgres copies a SQLite schema into PostgreSQL: the catalog, every table's
// rows (as exports show them, _sdc_* included), the latest versions, the rejects and the
// counters are the same; the columns have PostgreSQL's types; and loading goes on there with
// later sequences and the delivery ids remembered.
func latestCount(t *testing.T, w *Warehouse) int64 {
	t.Helper()
	return contents(t, w, "shop").Latest
}

func TestCopySchemaIntoPostgres(t *testing.T) {
	ctx := context.Background()
	src := openTest(t, t.TempDir(), Options{})
	for i, body := range copyCases {
		target := Target{PrimaryKey: "id"}
		if i == 0 {
			target.DeliveryID = "delivery-1"
		}
		mustLoad(t, src, "shop", target, decodeOne(t, body))
	}
	dst := openPostgresTest(t, Options{})

	report, err := src.CopySchema(ctx, dst, "shop")
	if err != nil {
		t.Fatal(err)
	}
	want := CopyReport{Tables: 3, Rows: 3 + 3 + 3, Rejected: 1, Deliveries: 1} // data, data__items, data__items__tags
	if report != want {
		t.Errorf("copied %+v, want %+v", report, want)
	}

	srcTables, dstTables := contents(t, src, "shop").Tables, contents(t, dst, "shop").Tables
	if !reflect.DeepEqual(srcTables, dstTables) {
		t.Errorf("catalog differs:\nSQLite     %+v\nPostgreSQL %+v", srcTables, dstTables)
	}
	physicalTypesMatch(t, dst, "shop")
	for _, table := range []string{"data", "data__items", "data__items__tags", LatestView} {
		if a, b := export(t, src, table), export(t, dst, table); a != b {
			t.Errorf("%s differs:\nSQLite\n%s\nPostgreSQL\n%s", table, a, b)
		}
	}
	checkCounts(t, dst, "shop", "copied") // data_latest's counter included
	if a, b := latestCount(t, src), latestCount(t, dst); a != b || a < 0 {
		t.Errorf("data_latest counts %d rows in SQLite, %d in PostgreSQL", a, b)
	}
	if n := contents(t, dst, "shop").Rejected; n != 1 {
		t.Errorf("PostgreSQL has %d rejected records, want 1", n)
	}

	// Loading goes on in PostgreSQL: the delivery is still known, sequences follow the copied ones.
	before := queryInt(t, schemaDB(t, dst, "shop"), `SELECT MAX(_sdc_sequence) FROM data`)
	if res := mustLoad(t, dst, "shop", Target{PrimaryKey: "id", DeliveryID: "delivery-1"}, decodeOne(t, `{"id":9}`)); !res.Duplicate {
		t.Errorf("a delivery copied is not recognised: %+v", res)
	}
	mustLoad(t, dst, "shop", Target{PrimaryKey: "id"}, decodeOne(t, `{"id":4,"amount":1}`))
	if after := queryInt(t, schemaDB(t, dst, "shop"), `SELECT MAX(_sdc_sequence) FROM data`); after <= before {
		t.Errorf("the next _sdc_sequence is %d, not after the copied %d", after, before)
	}
	if tables := contents(t, dst, "shop").Tables; tables[0].Rows != 4 {
		t.Errorf("data counts %d rows after one more load, want 4", tables[0].Rows)
	}

	if _, err := src.CopySchema(ctx, dst, "shop"); !errors.Is(err, ErrSchemaExists) || errors.Is(err, ErrSchemaBehind) {
		t.Errorf("a second copy: %v, want ErrSchemaExists and not behind: the folder has nothing new", err)
	}
	// A row loaded into the folder after the copy: a second copy says the destination lacks it.
	mustLoad(t, src, "shop", Target{PrimaryKey: "id"}, decodeOne(t, `{"id":5}`))
	if _, err := src.CopySchema(ctx, dst, "shop"); !errors.Is(err, ErrSchemaBehind) {
		t.Errorf("a copy after the folder loaded a row: %v, want ErrSchemaBehind", err)
	}
	if r, err := src.CopySchema(ctx, dst, "never_loaded"); err != nil || r != (CopyReport{}) {
		t.Errorf("copying a schema the source does not have: %+v %v", r, err)
	}
	for _, w := range []*Warehouse{src, dst} {
		if names, err := w.Schemas(ctx); err != nil || !reflect.DeepEqual(names, []string{"shop"}) {
			t.Errorf("%s holds schemas %v (%v), want [shop]", w.Describe(), names, err)
		}
	}
}

// export is a table's rows as the JSON Lines download has them.
func export(t *testing.T, w *Warehouse, table string) string {
	t.Helper()
	var b bytes.Buffer
	if err := w.Export(context.Background(), "shop", ExportQuery{Table: table}, JSONLines, &b, nil); err != nil {
		t.Fatalf("export %s: %v", table, err)
	}
	return b.String()
}

// A destination schema that only ever rejected a record has no tables, but it is not empty:
// the copy refuses it rather than mix its rejects with the copied ones (or collide on the
// rejects' counter, as it did).
func TestCopySchemaRefusesADestinationWithRejects(t *testing.T) {
	ctx := context.Background()
	src := openTest(t, t.TempDir(), Options{})
	mustLoad(t, src, "shop", Target{PrimaryKey: "id"}, decodeOne(t, `{"id": 1}`))
	dst := openPostgresTest(t, Options{})
	if res := mustLoad(t, dst, "shop", Target{PrimaryKey: "id"}, decodeOne(t, `{"name": "no id"}`)); res.Rejected != 1 {
		t.Fatalf("the destination's record was not rejected: %+v", res)
	}
	if _, err := src.CopySchema(ctx, dst, "shop"); !errors.Is(err, ErrSchemaExists) {
		t.Fatalf("copy into a schema holding a reject: %v, want ErrSchemaExists", err)
	}
}

// wideFields is a JSON object's fields (without braces): n strings of 20 characters, about
// 21 bytes each in a PostgreSQL row, whose limit is 8160 bytes (SQLite holds any).
func wideFields(prefix string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `,"%s%03d":"%020d"`, prefix, i, i)
	}
	return b.String()
}

// A record SQLite held whose row PostgreSQL cannot hold (wider than a page) does not stop the
// copy: it goes to _sdc_rejected with PostgreSQL's reason, as loading into PostgreSQL would
// have sent it, its rows in the other tables are left out with it, and the counters stay exact.
func TestCopySchemaSetsAsideRecordsTheDestinationRefuses(t *testing.T) {
	ctx := context.Background()
	src := openTest(t, t.TempDir(), Options{})
	for _, body := range []string{
		`{"id":1,"v":"a","items":[{"x":1}]}`,
		`{"id":2,"items":[{"x":2},{"x":3}]` + wideFields("f", 500) + `}`, // its data row is too wide
		`{"id":2,"v":"b"}`,
		`{"id":4,"items":[{"x":4` + wideFields("g", 500) + `}]}`, // its data__items row is
	} {
		mustLoad(t, src, "shop", Target{PrimaryKey: "id"}, decodeOne(t, body))
	}
	dst := openPostgresTest(t, Options{})

	report, err := src.CopySchema(ctx, dst, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if want := (CopyReport{Tables: 2, Rows: 2 + 1, Rejected: 2, Refused: 2}); report != want {
		t.Errorf("copied %+v, want %+v", report, want)
	}
	db := schemaDB(t, dst, "shop")
	if got := queryRows(t, db, `SELECT id, v FROM data ORDER BY id`); fmt.Sprint(got) != "[map[id:1 v:a] map[id:2 v:b]]" {
		t.Errorf("data holds %v, want the records 1 and the second 2", got)
	}
	if n := queryInt(t, db, `SELECT COUNT(*) FROM data__items WHERE x <> 1`); n != 0 {
		t.Errorf("data__items holds %d rows of the refused records", n)
	}
	rejected := queryRows(t, db, `SELECT table_name, reason, record FROM _sdc_rejected ORDER BY table_name`)
	if len(rejected) != 2 {
		t.Fatalf("_sdc_rejected holds %v, want the two refused records", rejected)
	}
	for i, table := range []string{"data", "data__items"} {
		r := rejected[i]
		if r["table_name"] != table || !strings.Contains(fmt.Sprint(r["reason"]), "row is too big") ||
			!strings.Contains(fmt.Sprint(r["record"]), `"_sdc_sequence":`) {
			t.Errorf("the refused row of %s is kept as %v", table, r)
		}
	}
	checkCounts(t, dst, "shop", "copied with refusals")
	if n := latestCount(t, dst); n != 2 {
		t.Errorf("data_latest counts %d rows, want 2", n)
	}
}

// A refused record leaves no row behind unkept: its _sdc_rejected entry holds its rows of every
// table (the data row of a record whose array element was refused, the array's rows of one whose
// data row was), one entry per record however many of its rows were refused.
func TestCopySchemaKeepsEveryRowOfARefusedRecord(t *testing.T) {
	ctx := context.Background()
	src := openTest(t, t.TempDir(), Options{})
	for _, body := range []string{
		`{"id":1,"items":[{"x":1}]}`,
		`{"id":2,"v":"kept","items":[{"x":2},{"x":3}]` + wideFields("f", 500) + `}`,                                         // data row too wide
		`{"id":3,"v":"kept too","items":[{"x":4` + wideFields("g", 500) + `},{"x":5` + wideFields("g", 500) + `},{"x":6}]}`, // two items rows
	} {
		mustLoad(t, src, "shop", Target{PrimaryKey: "id"}, decodeOne(t, body))
	}
	dst := openPostgresTest(t, Options{})
	report, err := src.CopySchema(ctx, dst, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if want := (CopyReport{Tables: 2, Rows: 2, Rejected: 2, Refused: 2}); report != want {
		t.Errorf("copied %+v, want %+v", report, want)
	}
	rejected := queryRows(t, schemaDB(t, dst, "shop"), `SELECT table_name, record FROM _sdc_rejected ORDER BY table_name`)
	if len(rejected) != 2 {
		t.Fatalf("_sdc_rejected holds %d entries, want one per refused record", len(rejected))
	}
	for i, want := range []struct {
		table string
		items []int
		v     string
	}{{"data", []int{2, 3}, "kept"}, {"data__items", []int{4, 5, 6}, "kept too"}} {
		var rec map[string][]map[string]any
		if err := json.Unmarshal([]byte(rejected[i]["record"].(string)), &rec); err != nil {
			t.Fatalf("the record of the refused %s row: %v", want.table, err)
		}
		if rejected[i]["table_name"] != want.table || len(rec["data"]) != 1 || rec["data"][0]["v"] != want.v {
			t.Errorf("the record refused in %s keeps %v, want its data row (v %q)", want.table, rec["data"], want.v)
		}
		var xs []int
		for _, row := range rec["data__items"] {
			xs = append(xs, int(row["x"].(float64)))
		}
		slices.Sort(xs)
		if !slices.Equal(xs, want.items) {
			t.Errorf("the record refused in %s keeps the items %v, want %v", want.table, xs, want.items)
		}
	}
	checkCounts(t, dst, "shop", "copied with refusals")
}

// A schema made under a larger -max-columns is copied whole: hookhouse migrate opens
// PostgreSQL with the default limit, and a table of 1,102 columns stopped the copy ("table
// data would have more than 1000 columns"), so the folder could not be migrated at all.
func TestCopySchemaKeepsATableWiderThanTheLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"id":1`)
	for i := range 1100 {
		fmt.Fprintf(&b, `,"k%04d":"v"`, i) // text: 1,100 bigints would pass PostgreSQL's 8 KB row
	}
	b.WriteString(`}`)
	src := openTest(t, t.TempDir(), Options{MaxColumns: 1600})
	mustLoad(t, src, "wide", Target{PrimaryKey: "id"}, decodeOne(t, b.String()))
	dst := openPostgresTest(t, Options{})
	report, err := src.CopySchema(context.Background(), dst, "wide")
	if err != nil {
		t.Fatal(err)
	}
	if report.Rows != 1 || report.Rejected != 0 {
		t.Errorf("copied %+v, want the one row", report)
	}
	if n := queryInt(t, schemaDB(t, dst, "wide"), `SELECT count(*) FROM information_schema.columns WHERE table_schema = 'wide' AND table_name = 'data'`); n < 1101 {
		t.Errorf("data has %d columns on PostgreSQL, want its 1,101 and the system columns", n)
	}
}
