package warehouse

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadFlattensFixtures(t *testing.T) {
	w := openTest(t, t.TempDir(), Options{})
	opened := fixtureRecords(t, "vero/opened.json", "application/json")
	click := fixtureRecords(t, "iterable/emailClick.json", "application/json")
	received := time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)
	res, err := w.Load(context.Background(), "stitch_vero", Target{}, opened, received)
	if err != nil {
		t.Fatal(err)
	}
	if res.Loaded != 1 || res.Rejected != 0 || res.Batch.RowsByTable["data"] != 1 {
		t.Fatalf("result = %+v", res)
	}
	mustLoad(t, w, "iterable", Target{PrimaryKey: "email"}, click...)

	db := readDB(t, w.Path("stitch_vero"))
	// CAST: the driver turns TIMESTAMP columns into time.Time; check the stored text.
	rows := queryRows(t, db, `SELECT *, CAST(_sdc_received_at AS TEXT) AS received, CAST(_sdc_batched_at AS TEXT) AS batched FROM data`)
	if len(rows) != 1 {
		t.Fatalf("got %d rows", len(rows))
	}
	r := rows[0]
	want := map[string]any{
		"campaign__trigger_event": "purchased item",
		"campaign__id":            int64(987),
		"user__id":                int64(123),
		"user__email":             "steve@getvero.com",
		"opened_at":               int64(1435016300),
		"type":                    "opened",
		"received":                "2024-05-01T12:00:00.123456Z",
		"_sdc_table_version":      int64(0),
		"_sdc_sequence":           received.UnixNano(),
	}
	for col, v := range want {
		if !reflect.DeepEqual(r[col], v) {
			t.Errorf("%s = %#v, want %#v", col, r[col], v)
		}
	}
	if pk, _ := r["__sdc_primary_key"].(string); len(pk) != 36 {
		t.Errorf("__sdc_primary_key = %q, want a UUID", pk)
	}
	if batched, _ := r["batched"].(string); batched < "2024" || !strings.HasSuffix(batched, "Z") {
		t.Errorf("_sdc_batched_at = %q", batched)
	}
	types := columnTypes(t, db, "data")
	for col, typ := range map[string]string{
		"_sdc_received_at": "TIMESTAMP", "_sdc_batched_at": "TIMESTAMP", "_sdc_sequence": "INTEGER",
		"_sdc_table_version": "INTEGER", "__sdc_primary_key": "TEXT", "campaign__id": "INTEGER", "type": "TEXT",
	} {
		if types[col] != typ {
			t.Errorf("column %s has type %q, want %q", col, types[col], typ)
		}
	}
	if _, ok := types["campaign"]; ok {
		t.Error("a nested object got a column of its own")
	}

	db = readDB(t, w.Path("iterable"))
	got := queryRows(t, db, `SELECT email, datafields__campaignid, datafields__templateid, datafields__createdat FROM data`)
	wantRows := []map[string]any{{"email": "docs@iterable.com", "datafields__campaignid": int64(59667),
		"datafields__templateid": int64(93849), "datafields__createdat": "2016-12-02 20:31:39 +00:00"}}
	if !reflect.DeepEqual(got, wantRows) {
		t.Errorf("iterable data\n got %v\nwant %v", got, wantRows)
	}
	labels := queryRows(t, db, `SELECT _sdc_source_key_email, _sdc_level_0_id, value, _sdc_sequence = (SELECT _sdc_sequence FROM data) AS same_seq FROM data__datafields__labels ORDER BY _sdc_level_0_id`)
	wantLabels := []map[string]any{
		{"_sdc_source_key_email": "docs@iterable.com", "_sdc_level_0_id": int64(0), "value": "newsletter", "same_seq": int64(1)},
		{"_sdc_source_key_email": "docs@iterable.com", "_sdc_level_0_id": int64(1), "value": "q4", "same_seq": int64(1)},
	}
	if !reflect.DeepEqual(labels, wantLabels) {
		t.Errorf("labels\n got %v\nwant %v", labels, wantLabels)
	}
}

func TestLoadAllFixtures(t *testing.T) {
	for _, dest := range testDestinations {
		t.Run(dest.name, func(t *testing.T) { testLoadAllFixtures(t, dest.open(t, Options{})) })
	}
}

func testLoadAllFixtures(t *testing.T, w *Warehouse) {
	total := 0
	for _, rel := range fixtureNames() {
		ct := "application/json"
		if strings.HasSuffix(rel, ".form") {
			ct = "application/x-www-form-urlencoded"
		}
		recs := fixtureRecords(t, rel, ct)
		res := mustLoad(t, w, "all", Target{}, recs...)
		if res.Loaded != len(recs) || res.Rejected != 0 {
			t.Fatalf("%s: result %+v, want %d loaded", rel, res, len(recs))
		}
		total += len(recs)
	}
	db := schemaDB(t, w, "all")
	if n := queryInt(t, db, `SELECT COUNT(*) FROM data`); n != int64(total) {
		t.Errorf("data has %d rows, want %d", n, total)
	}
	// Vero user_updated: changes._tags.add is an array of strings.
	tags := queryRows(t, db, `SELECT value FROM data__changes___tags__add`)
	if len(tags) != 1 || tags[0]["value"] != "active-customer" {
		t.Errorf("data__changes___tags__add = %v", tags)
	}
	// Mandrill: msg.tags inside each event.
	if n := queryInt(t, db, `SELECT COUNT(*) FROM data__msg__tags WHERE value = 'webhook-example'`); n != 2 {
		t.Errorf("data__msg__tags has %d webhook-example rows, want 2", n)
	}
}

func TestColumnNaming(t *testing.T) {
	tests := []struct{ path, want string }{
		{joinPath("", "trigger-event"), "trigger_event"},
		{joinPath(joinPath("", "dataFields"), "campaignId"), "datafields__campaignid"},
		{joinPath("", "dataFields.campaignId"), "datafields_campaignid"},
		{joinPath("", ""), "_"},
		{joinPath("", "héllo wörld"), "h_llo_w_rld"},
		{joinPath("", `a"b`), "a_b"},
		{joinPath("", "[x]"), "_x_"},
		{joinPath("", "1st"), "1st"},
		{joinPath("", "SELECT"), "select"},
		{"", "value"},
	}
	for _, tt := range tests {
		if got := columnName(tt.path); got != tt.want {
			t.Errorf("columnName(%s) = %q, want %q", tt.path, got, tt.want)
		}
	}
	for _, keys := range [][]string{{"a"}, {"a.b", `"c"`}, {""}, {"x", "", "\x00\xff"}} {
		path := ""
		for _, k := range keys {
			path = joinPath(path, k)
		}
		if got := splitPath(path); !reflect.DeepEqual(got, keys) {
			t.Errorf("splitPath(joinPath(%q)) = %q", keys, got)
		}
	}
}

func TestLoadNamesAndCollisions(t *testing.T) {
	dir := t.TempDir()
	w := openTest(t, dir, Options{})
	first := decodeOne(t, `{"a\"b":1,"a-b":2,"a_b":3,"select":"s","ORDER":4,"[x]":5,"héllo":6,"1st":7,"":8,"_sdc_sequence":9,"nested":{"a-b":10}}`)
	mustLoad(t, w, "names", Target{}, first)
	// Same keys, other order: every key must keep its column.
	mustLoad(t, w, "names", Target{}, decodeOne(t, `{"a_b":30,"a-b":20,"a\"b":10}`))
	w.Close()
	w = openTest(t, dir, Options{})
	mustLoad(t, w, "names", Target{}, decodeOne(t, `{"a-b":200,"a_b":300,"a\"b":100}`))

	db := readDB(t, w.Path("names"))
	got := queryRows(t, db, `SELECT "a_b", "a_b__2", "a_b__3", "select", "order", "_x_", "h_llo", "1st", "_", "_sdc_sequence__2", "nested__a_b" FROM data ORDER BY _sdc_sequence`)
	want := []map[string]any{
		{"a_b": int64(3), "a_b__2": int64(1), "a_b__3": int64(2), "select": "s", "order": int64(4), "_x_": int64(5),
			"h_llo": int64(6), "1st": int64(7), "_": int64(8), "_sdc_sequence__2": int64(9), "nested__a_b": int64(10)},
		{"a_b": int64(30), "a_b__2": int64(10), "a_b__3": int64(20), "select": nil, "order": nil, "_x_": nil,
			"h_llo": nil, "1st": nil, "_": nil, "_sdc_sequence__2": nil, "nested__a_b": nil},
		{"a_b": int64(300), "a_b__2": int64(100), "a_b__3": int64(200), "select": nil, "order": nil, "_x_": nil,
			"h_llo": nil, "1st": nil, "_": nil, "_sdc_sequence__2": nil, "nested__a_b": nil},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows\n got %v\nwant %v", got, want)
	}
	sources := queryRows(t, db, `SELECT column_name, source_path FROM _sdc_columns WHERE column_name LIKE 'a_b%' ORDER BY column_name`)
	wantSources := []map[string]any{
		{"column_name": "a_b", "source_path": `"a_b"`},
		{"column_name": "a_b__2", "source_path": `"a\"b"`},
		{"column_name": "a_b__3", "source_path": `"a-b"`},
	}
	if !reflect.DeepEqual(sources, wantSources) {
		t.Errorf("catalog\n got %v\nwant %v", sources, wantSources)
	}
}

func TestLoadSubtables(t *testing.T) {
	tests := []struct {
		name   string
		target Target
		record string
		query  string
		want   []map[string]any
	}{
		{
			name: "array of objects", target: Target{PrimaryKey: "id"},
			record: `{"id":7,"items":[{"sku":"a","qty":1},{"sku":"b","price":2.5}]}`,
			query:  `SELECT _sdc_source_key_id, _sdc_level_0_id, sku, qty, price FROM data__items ORDER BY _sdc_level_0_id`,
			want: []map[string]any{
				{"_sdc_source_key_id": int64(7), "_sdc_level_0_id": int64(0), "sku": "a", "qty": int64(1), "price": nil},
				{"_sdc_source_key_id": int64(7), "_sdc_level_0_id": int64(1), "sku": "b", "qty": nil, "price": 2.5},
			},
		},
		{
			name: "array of scalars with null", target: Target{PrimaryKey: "id"},
			record: `{"id":"k1","tags":["x",null,"y"]}`,
			query:  `SELECT _sdc_source_key_id, _sdc_level_0_id, value FROM data__tags ORDER BY _sdc_level_0_id`,
			want: []map[string]any{
				{"_sdc_source_key_id": "k1", "_sdc_level_0_id": int64(0), "value": "x"},
				{"_sdc_source_key_id": "k1", "_sdc_level_0_id": int64(1), "value": nil},
				{"_sdc_source_key_id": "k1", "_sdc_level_0_id": int64(2), "value": "y"},
			},
		},
		{
			name: "array in an array of objects", target: Target{PrimaryKey: "id"},
			record: `{"id":1,"a":[{"b":[10,11]},{"b":[12]}]}`,
			query:  `SELECT _sdc_source_key_id, _sdc_level_0_id, _sdc_level_1_id, value FROM data__a__b ORDER BY _sdc_level_0_id, _sdc_level_1_id`,
			want: []map[string]any{
				{"_sdc_source_key_id": int64(1), "_sdc_level_0_id": int64(0), "_sdc_level_1_id": int64(0), "value": int64(10)},
				{"_sdc_source_key_id": int64(1), "_sdc_level_0_id": int64(0), "_sdc_level_1_id": int64(1), "value": int64(11)},
				{"_sdc_source_key_id": int64(1), "_sdc_level_0_id": int64(1), "_sdc_level_1_id": int64(0), "value": int64(12)},
			},
		},
		{
			name: "array of arrays", target: Target{PrimaryKey: "id"},
			record: `{"id":1,"m":[[1,2],[3]]}`,
			query:  `SELECT _sdc_level_0_id, _sdc_level_1_id, value FROM data__m__value ORDER BY 1, 2`,
			want: []map[string]any{
				{"_sdc_level_0_id": int64(0), "_sdc_level_1_id": int64(0), "value": int64(1)},
				{"_sdc_level_0_id": int64(0), "_sdc_level_1_id": int64(1), "value": int64(2)},
				{"_sdc_level_0_id": int64(1), "_sdc_level_1_id": int64(0), "value": int64(3)},
			},
		},
		{
			name: "nested object in an element", target: Target{PrimaryKey: "id"},
			record: `{"id":1,"a":[{"geo":{"lat":1.5}}]}`,
			query:  `SELECT geo__lat FROM data__a`,
			want:   []map[string]any{{"geo__lat": 1.5}},
		},
		{
			name: "no primary key", target: Target{},
			record: `{"labels":["a"]}`,
			query:  `SELECT CASE WHEN s._sdc_source_key___sdc_primary_key = d.__sdc_primary_key THEN 1 END AS joined, s.value FROM data__labels s, data d`,
			want:   []map[string]any{{"joined": int64(1), "value": "a"}},
		},
	}
	for _, dest := range testDestinations {
		for _, tt := range tests {
			t.Run(dest.name+"/"+tt.name, func(t *testing.T) {
				w := dest.open(t, Options{})
				res := mustLoad(t, w, "sub", tt.target, decodeOne(t, tt.record))
				if res.Loaded != 1 {
					t.Fatalf("result %+v", res)
				}
				got := queryRows(t, schemaDB(t, w, "sub"), tt.query)
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("\n got %v\nwant %v", got, tt.want)
				}
			})
		}
	}
}

func TestLoadTypes(t *testing.T) {
	w := openTest(t, t.TempDir(), Options{})
	records := []string{
		`{"x":1,"ts":"2015-06-22T23:37:18.5+02:00","big":18446744073709551616,"f":1.25,"b":true,"n":null,"local":"2015-06-22 23:37:18"}`,
		`{"x":"one","b":false}`,
		`{"x":1.5}`,
		`{"x":false}`,
		`{"x":"2015-06-22T23:37:18Z","n":null}`,
		`{"x":2}`,
	}
	for _, r := range records {
		mustLoad(t, w, "types", Target{}, decodeOne(t, r))
	}
	db := readDB(t, w.Path("types"))
	types := columnTypes(t, db, "data")
	wantTypes := map[string]string{
		"x": "INTEGER", "x__st": "TEXT", "x__fl": "REAL", "x__bo": "BOOLEAN", "x__ti": "TIMESTAMP",
		"ts": "TIMESTAMP", "big": "REAL", "f": "REAL", "b": "BOOLEAN", "local": "TEXT",
	}
	for col, typ := range wantTypes {
		if types[col] != typ {
			t.Errorf("column %s: type %q, want %q", col, types[col], typ)
		}
	}
	if _, ok := types["n"]; ok {
		t.Error("an all-null field created a column")
	}
	got := queryRows(t, db, `SELECT x, x__st, x__fl, x__bo, CAST(x__ti AS TEXT) AS x__ti, b FROM data ORDER BY _sdc_sequence`)
	want := []map[string]any{
		{"x": int64(1), "x__st": nil, "x__fl": nil, "x__bo": nil, "x__ti": nil, "b": int64(1)},
		{"x": nil, "x__st": "one", "x__fl": nil, "x__bo": nil, "x__ti": nil, "b": int64(0)},
		{"x": nil, "x__st": nil, "x__fl": 1.5, "x__bo": nil, "x__ti": nil, "b": nil},
		{"x": nil, "x__st": nil, "x__fl": nil, "x__bo": int64(0), "x__ti": nil, "b": nil},
		{"x": nil, "x__st": nil, "x__fl": nil, "x__bo": nil, "x__ti": "2015-06-22T23:37:18.000000Z", "b": nil},
		{"x": int64(2), "x__st": nil, "x__fl": nil, "x__bo": nil, "x__ti": nil, "b": nil},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows\n got %v\nwant %v", got, want)
	}
	first := queryRows(t, db, `SELECT CAST(ts AS TEXT) AS ts, datetime(ts) AS dt, big, f FROM data ORDER BY _sdc_sequence LIMIT 1`)[0]
	wantFirst := map[string]any{"ts": "2015-06-22T21:37:18.500000Z", "dt": "2015-06-22 21:37:18", "big": 1.8446744073709552e19, "f": 1.25}
	if !reflect.DeepEqual(first, wantFirst) {
		t.Errorf("first row\n got %v\nwant %v", first, wantFirst)
	}
}

func TestLoadSendGridTypeChange(t *testing.T) {
	w := openTest(t, t.TempDir(), Options{})
	recs := fixtureRecords(t, "sendgrid/batch.json", "application/json")
	res := mustLoad(t, w, "sendgrid", Target{PrimaryKey: "sg_event_id"}, recs...)
	if res.Loaded != 3 || res.Batch.RowsByTable["data__category"] != 2 {
		t.Fatalf("result %+v", res)
	}
	db := readDB(t, w.Path("sendgrid"))
	got := queryRows(t, db, `SELECT sg_event_id, category, smtp_id, timestamp FROM data ORDER BY _sdc_sequence`)
	want := []map[string]any{
		{"sg_event_id": "rbtnWrG1DVDGGGFHFyun0A==", "category": "cat facts", "smtp_id": "<14c5d75ce93.dfd.64b469@ismtpd-555>", "timestamp": int64(1513299569)},
		{"sg_event_id": "rWVYmVk90MjZJ9iohOBa3w==", "category": nil, "smtp_id": "<14c5d75ce93.dfd.64b469@ismtpd-555>", "timestamp": int64(1513299570)},
		{"sg_event_id": "FOTFFO0ecsBE-zxFXfs6WA==", "category": nil, "smtp_id": nil, "timestamp": int64(1513299571)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("data\n got %v\nwant %v", got, want)
	}
	cats := queryRows(t, db, `SELECT _sdc_source_key_sg_event_id AS k, _sdc_level_0_id AS i, value FROM data__category ORDER BY i`)
	wantCats := []map[string]any{
		{"k": "rWVYmVk90MjZJ9iohOBa3w==", "i": int64(0), "value": "cat facts"},
		{"k": "rWVYmVk90MjZJ9iohOBa3w==", "i": int64(1), "value": "onboarding"},
	}
	if !reflect.DeepEqual(cats, wantCats) {
		t.Errorf("data__category\n got %v\nwant %v", cats, wantCats)
	}
}

func TestLoadRejects(t *testing.T) {
	w := openTest(t, t.TempDir(), Options{MaxColumns: 8})
	recs := []Record{
		decodeOne(t, `{"id":1,"a":1,"b":2}`), // 4 system + id + a + b = 7 columns
		decodeOne(t, `{"a":2}`),
		decodeOne(t, `{"id":null}`),
		decodeOne(t, `{"id":{"x":1}}`),
		decodeOne(t, `{"id":"str"}`),
		decodeOne(t, `{"id":2,"c":1,"d":1}`), // would need 9 columns
		decodeOne(t, `{"id":3,"huge":1e400}`),
		decodeOne(t, `{"id":4,"c":1}`), // 8 columns: fits
	}
	res := mustLoad(t, w, "rejects", Target{PrimaryKey: "id"}, recs...)
	if res.Loaded != 2 || res.Rejected != 6 {
		t.Fatalf("result %+v, want 2 loaded, 6 rejected", res)
	}
	// The key field changed: everything is rejected, nothing is lost.
	res = mustLoad(t, w, "rejects", Target{PrimaryKey: "email"}, decodeOne(t, `{"email":"x@example.com","id":5}`))
	if res.Loaded != 0 || res.Rejected != 1 {
		t.Fatalf("result after key change %+v", res)
	}

	db := readDB(t, w.Path("rejects"))
	if ids := queryRows(t, db, `SELECT id, c FROM data ORDER BY id`); !reflect.DeepEqual(ids, []map[string]any{
		{"id": int64(1), "c": nil}, {"id": int64(4), "c": int64(1)},
	}) {
		t.Errorf("data = %v", ids)
	}
	if _, ok := columnTypes(t, db, "data")["d"]; ok {
		t.Error("a rejected record added column d")
	}
	got := queryRows(t, db, `SELECT table_name, reason, record FROM _sdc_rejected ORDER BY rowid`)
	want := []map[string]any{
		{"table_name": "data", "reason": `primary key "id" is missing or null`, "record": `{"a":2}`},
		{"table_name": "data", "reason": `primary key "id" is missing or null`, "record": `{"id":null}`},
		{"table_name": "data", "reason": `primary key "id" is an object, not a scalar`, "record": `{"id":{"x":1}}`},
		{"table_name": "data", "reason": `primary key "id" is string, but the column id holds integer values`, "record": `{"id":"str"}`},
		{"table_name": "data", "reason": `table data would have more than 8 columns`, "record": `{"c":1,"d":1,"id":2}`},
		{"table_name": "data", "reason": `field huge: number 1e400 is out of range`, "record": `{"huge":1e400,"id":3}`},
		{"table_name": "data", "reason": `the primary key is now "email" but table data was created with "id"; drop the integration's data to change it`,
			"record": `{"email":"x@example.com","id":5}`},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("_sdc_rejected\n got %v\nwant %v", got, want)
	}
	n, err := w.RejectedCount(context.Background(), "rejects")
	if err != nil || n != 7 {
		t.Errorf("RejectedCount = %d, %v", n, err)
	}
}

func TestLoadAllRejectedCreatesNoDataTable(t *testing.T) {
	w := openTest(t, t.TempDir(), Options{})
	res := mustLoad(t, w, "nokey", Target{PrimaryKey: "id"}, decodeOne(t, `{"a":1}`))
	if res.Rejected != 1 {
		t.Fatalf("result %+v", res)
	}
	tables, err := w.Tables(context.Background(), "nokey")
	if err != nil || len(tables) != 0 {
		t.Fatalf("Tables = %v, %v; want none", tables, err)
	}
	// The first good record creates data with the key typed by its value.
	mustLoad(t, w, "nokey", Target{PrimaryKey: "id"}, decodeOne(t, `{"id":"abc"}`))
	if typ := columnTypes(t, readDB(t, w.Path("nokey")), "data")["id"]; typ != "TEXT" {
		t.Errorf("id column type %q, want TEXT", typ)
	}
}

func TestLatestViewAndAttach(t *testing.T) {
	dir := t.TempDir()
	w := openTest(t, dir, Options{})
	mustLoad(t, w, "stitch_vero", Target{PrimaryKey: "id"},
		decodeOne(t, `{"id":1,"v":"a"}`), decodeOne(t, `{"id":2,"v":"b"}`))
	mustLoad(t, w, "stitch_vero", Target{PrimaryKey: "id"}, decodeOne(t, `{"id":1,"v":"c","added":true}`))

	// A user's own database, with a data table of its own to confuse name resolution.
	user := readDB(t, dir+"/user.db")
	user.SetMaxOpenConns(1)
	if _, err := user.Exec(`CREATE TABLE data (id INTEGER, v TEXT); INSERT INTO data VALUES (1, 'wrong')`); err != nil {
		t.Fatal(err)
	}
	if _, err := user.Exec(`ATTACH DATABASE ? AS stitch_vero`, w.Path("stitch_vero")); err != nil {
		t.Fatal(err)
	}
	const documented = `SELECT * FROM stitch_vero.data o INNER JOIN (SELECT MAX(_sdc_sequence) AS seq, [primary-key] FROM stitch_vero.data GROUP BY [primary-key]) oo ON o.[primary-key] = oo.[primary-key] AND o._sdc_sequence = oo.seq`
	query := "SELECT o.id, o.v, o.added FROM" + strings.SplitN(strings.ReplaceAll(documented, "[primary-key]", "id"), "FROM", 2)[1] + " ORDER BY o.id"
	want := []map[string]any{{"id": int64(1), "v": "c", "added": int64(1)}, {"id": int64(2), "v": "b", "added": nil}}
	if got := queryRows(t, user, query); !reflect.DeepEqual(got, want) {
		t.Errorf("documented query\n got %v\nwant %v", got, want)
	}
	// The exact text runs too.
	if got := queryRows(t, user, strings.ReplaceAll(documented, "[primary-key]", "id")); len(got) != 2 {
		t.Errorf("documented query as written returned %d rows", len(got))
	}
	if got := queryRows(t, user, `SELECT id, v, added FROM stitch_vero.data_latest ORDER BY id`); !reflect.DeepEqual(got, want) {
		t.Errorf("data_latest\n got %v\nwant %v", got, want)
	}
	plan := queryRows(t, user, `EXPLAIN QUERY PLAN SELECT * FROM stitch_vero.data_latest`)
	if !strings.Contains(fmtRows(plan), "data_pk_sequence") {
		t.Errorf("data_latest does not use the (pk, sequence) index: %v", plan)
	}
}

func fmtRows(rows []map[string]any) string {
	b, _ := json.Marshal(rows)
	return string(b)
}

func TestTables(t *testing.T) {
	w := openTest(t, t.TempDir(), Options{})
	received := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	res, err := w.Load(context.Background(), "iterable", Target{PrimaryKey: "email"},
		fixtureRecords(t, "iterable/emailClick.json", "application/json"), received)
	if err != nil {
		t.Fatal(err)
	}
	added := map[string]Column{}
	for _, c := range res.Batch.ColumnsAdded {
		added[c.Table+"."+c.Name] = c
	}
	if c := added["data.datafields__campaignid"]; c.Type != "integer" || c.Source != "dataFields.campaignId" || !c.FirstSeen.Equal(received) {
		t.Errorf("ColumnsAdded entry = %+v", c)
	}
	if _, ok := added["data._sdc_sequence"]; ok {
		t.Error("system columns reported as added")
	}
	tables, err := w.Tables(context.Background(), "iterable")
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 2 || tables[0].Name != "data" || tables[0].Rows != 1 ||
		tables[1].Name != "data__datafields__labels" || tables[1].Parent != "data" || tables[1].Rows != 2 {
		t.Fatalf("tables = %+v", tables)
	}
	cols := map[string]Column{}
	for _, c := range tables[0].Columns {
		cols[c.Name] = c
	}
	if c := cols["datafields__campaignid"]; c.Type != "integer" || c.Source != "dataFields.campaignId" || !c.FirstSeen.Equal(received) {
		t.Errorf("datafields__campaignid = %+v", c)
	}
	if c := cols["_sdc_sequence"]; c.Type != "integer" || c.Source != "" {
		t.Errorf("_sdc_sequence = %+v", c)
	}
	if tables, err := w.Tables(context.Background(), "unknown"); err != nil || tables != nil {
		t.Errorf("Tables of an unloaded schema = %v, %v", tables, err)
	}
}

func TestDrop(t *testing.T) {
	w := openTest(t, t.TempDir(), Options{})
	mustLoad(t, w, "gone", Target{PrimaryKey: "id"}, decodeOne(t, `{"id":1,"a":"x"}`))
	if err := w.Drop(context.Background(), "gone"); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if _, err := osStat(w.Path("gone") + suffix); err == nil {
			t.Errorf("%s still exists", w.Path("gone")+suffix)
		}
	}
	// Loading again starts from scratch: new key type, new columns.
	mustLoad(t, w, "gone", Target{PrimaryKey: "id"}, decodeOne(t, `{"id":"k","b":1}`))
	types := columnTypes(t, readDB(t, w.Path("gone")), "data")
	if types["id"] != "TEXT" || types["a"] != "" || types["b"] != "INTEGER" {
		t.Errorf("columns after drop = %v", types)
	}
	if err := w.Drop(context.Background(), "../etc"); err == nil {
		t.Error("Drop accepted an invalid schema name")
	}
}
