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
		"campaign__triggerevent": "purchased item",
		"campaign__id":           int64(987),
		"user__id":               int64(123),
		"user__email":            "steve@getvero.com",
		"opened_at":              int64(1435016300),
		"type":                   "opened",
		"received":               "2024-05-01T12:00:00.123456Z",
		"_sdc_table_version":     int64(0),
		"_sdc_sequence":          received.UnixNano(),
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
	got := queryRows(t, db, `SELECT email, "dataFields__campaignId", "dataFields__templateId", "dataFields__createdAt" FROM data`)
	wantRows := []map[string]any{{"email": "docs@iterable.com", "dataFields__campaignId": int64(59667),
		"dataFields__templateId": int64(93849), "dataFields__createdAt": "2016-12-02 20:31:39 +00:00"}}
	if !reflect.DeepEqual(got, wantRows) {
		t.Errorf("iterable data\n got %v\nwant %v", got, wantRows)
	}
	labels := queryRows(t, db, `SELECT _sdc_source_key_email, _sdc_level_0_id, value, _sdc_sequence = (SELECT _sdc_sequence FROM data) AS same_seq FROM "data__dataFields__labels" ORDER BY _sdc_level_0_id`)
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
		{joinPath("", "trigger-event"), "triggerevent"},
		{joinPath(joinPath("", "dataFields"), "campaignId"), "dataFields__campaignId"},
		{joinPath("", "dataFields.campaignId"), "dataFieldscampaignId"},
		{joinPath("", ""), ""},
		{joinPath("", "héllo wörld"), "hllo wrld"},
		{joinPath("", `a"b`), "ab"},
		{joinPath("", "[x]"), "x"},
		{joinPath("", "1st"), "st"},
		{joinPath("", "  padded  "), "padded"},
		{joinPath(joinPath("", "_tags"), "9add"), "_tags__9add"},
		{joinPath("", "SELECT"), "SELECT"},
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

// TestLoadTypes checks the values each type stores, on every destination (TestStitchRules
// checks the columns and their declared types).
func TestLoadTypes(t *testing.T) {
	for _, dest := range testDestinations {
		t.Run(dest.name, func(t *testing.T) {
			w := dest.open(t, Options{})
			records := []string{
				`{"x":1,"ts":"2015-06-22T23:37:18.5+02:00","f":1.25,"b":true,"n":null,"local":"2015-06-22 23:37:18"}`,
				`{"x":"one","b":false}`,
				`{"x":1.5}`,
				`{"x":false}`,
				`{"x":"2015-06-22T23:37:18Z","n":null}`,
				`{"x":2}`,
			}
			for _, r := range records {
				mustLoad(t, w, "types", Target{}, decodeOne(t, r))
			}
			got := queryRows(t, schemaDB(t, w, "types"), `SELECT x, x__st, x__do, CASE WHEN x__bo THEN 1 WHEN NOT x__bo THEN 0 END AS x__bo,
				x__ti, CASE WHEN b THEN 1 WHEN NOT b THEN 0 END AS b, ts, f, local FROM data ORDER BY _sdc_sequence`)
			for _, r := range got {
				for k, v := range r {
					if tv, ok := v.(time.Time); ok { // PostgreSQL's timestamptz; SQLite has the text
						r[k] = formatTimestamp(tv)
					}
				}
			}
			ts, local := "2015-06-22T21:37:18.500000Z", "2015-06-22 23:37:18"
			want := []map[string]any{
				{"x": int64(1), "x__st": nil, "x__do": nil, "x__bo": nil, "x__ti": nil, "b": int64(1), "ts": ts, "f": 1.25, "local": local},
				{"x": nil, "x__st": "one", "x__do": nil, "x__bo": nil, "x__ti": nil, "b": int64(0), "ts": nil, "f": nil, "local": nil},
				{"x": nil, "x__st": nil, "x__do": 1.5, "x__bo": nil, "x__ti": nil, "b": nil, "ts": nil, "f": nil, "local": nil},
				{"x": nil, "x__st": nil, "x__do": nil, "x__bo": int64(0), "x__ti": nil, "b": nil, "ts": nil, "f": nil, "local": nil},
				{"x": nil, "x__st": nil, "x__do": nil, "x__bo": nil, "x__ti": "2015-06-22T23:37:18.000000Z", "b": nil, "ts": nil, "f": nil, "local": nil},
				{"x": int64(2), "x__st": nil, "x__do": nil, "x__bo": nil, "x__ti": nil, "b": nil, "ts": nil, "f": nil, "local": nil},
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("rows\n got %v\nwant %v", got, want)
			}
			if cols := userColumns(t, w, "types")["data"]; cols["n"] != "" {
				t.Error("an all-null field created a column")
			}
		})
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
	got := queryRows(t, db, `SELECT sg_event_id, category, smtpid, timestamp FROM data ORDER BY _sdc_sequence`)
	want := []map[string]any{
		{"sg_event_id": "rbtnWrG1DVDGGGFHFyun0A==", "category": "cat facts", "smtpid": "<14c5d75ce93.dfd.64b469@ismtpd-555>", "timestamp": int64(1513299569)},
		{"sg_event_id": "rWVYmVk90MjZJ9iohOBa3w==", "category": nil, "smtpid": "<14c5d75ce93.dfd.64b469@ismtpd-555>", "timestamp": int64(1513299570)},
		{"sg_event_id": "FOTFFO0ecsBE-zxFXfs6WA==", "category": nil, "smtpid": nil, "timestamp": int64(1513299571)},
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
	if n := contents(t, w, "rejects").Rejected; n != 7 {
		t.Errorf("Contents says %d rejected, want 7", n)
	}
}

func TestLoadAllRejectedCreatesNoDataTable(t *testing.T) {
	w := openTest(t, t.TempDir(), Options{})
	res := mustLoad(t, w, "nokey", Target{PrimaryKey: "id"}, decodeOne(t, `{"a":1}`))
	if res.Rejected != 1 {
		t.Fatalf("result %+v", res)
	}
	if c := contents(t, w, "nokey"); len(c.Tables) != 0 || c.Rejected != 1 {
		t.Fatalf("Contents = %+v; want no tables and 1 rejected", c)
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
	if c := added["data.dataFields__campaignId"]; c.Type != "integer" || c.Source != "dataFields.campaignId" || !c.FirstSeen.Equal(received) {
		t.Errorf("ColumnsAdded entry = %+v", c)
	}
	if _, ok := added["data._sdc_sequence"]; ok {
		t.Error("system columns reported as added")
	}
	tables := contents(t, w, "iterable").Tables
	if len(tables) != 2 || tables[0].Name != "data" || tables[0].Rows != 1 ||
		tables[1].Name != "data__dataFields__labels" || tables[1].Parent != "data" || tables[1].Rows != 2 {
		t.Fatalf("tables = %+v", tables)
	}
	cols := map[string]Column{}
	listed := tableColumns(t, w, "iterable", "data")
	for _, c := range listed {
		cols[c.Name] = c
	}
	if tables[0].ColumnCount != len(listed) || len(listed) == 0 || tables[0].Columns != nil {
		t.Errorf("Contents of no table's columns counts %d of data and lists %d; listed for data, %d", tables[0].ColumnCount, len(tables[0].Columns), len(listed))
	}
	if c := cols["dataFields__campaignId"]; c.Type != "integer" || c.Source != "dataFields.campaignId" || !c.FirstSeen.Equal(received) {
		t.Errorf("dataFields__campaignId = %+v", c)
	}
	if c := cols["_sdc_sequence"]; c.Type != "integer" || c.Source != "" {
		t.Errorf("_sdc_sequence = %+v", c)
	}
	if c := contents(t, w, "unknown"); c.Tables != nil || c.Latest != -1 || c.Rejected != 0 {
		t.Errorf("Contents of an unloaded schema = %+v", c)
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

// TestOlderFilesKeepTheirNames: a SQLite file written by the naming of before Stitch's
// PostgreSQL rules (lowercased, special characters as _, collisions as __2, floats as __fl)
// keeps loading each field into its column; only new fields follow the rules.
func TestOlderFilesKeepTheirNames(t *testing.T) {
	dir := t.TempDir()
	w := openTest(t, dir, Options{})
	mustLoad(t, w, "old", Target{PrimaryKey: "id"}, decodeOne(t, `{"id":1,"x":1}`))
	w.Close()
	db := readDB(t, w.Path("old"))
	for _, col := range []struct{ name, path, typ, sqlType string }{
		{"trigger_event", `"trigger-event"`, "string", "TEXT"},
		{"a_b", `"a_b"`, "integer", "INTEGER"},
		{"a_b__2", `"a-b"`, "integer", "INTEGER"},
		{"datafields__campaignid", `"dataFields"."campaignId"`, "integer", "INTEGER"},
		{"x__fl", `"x"`, "float", "REAL"},
	} {
		for _, q := range []string{
			`ALTER TABLE data ADD COLUMN "` + col.name + `" ` + col.sqlType,
			`INSERT INTO _sdc_columns VALUES ('data', '` + col.name + `', '` + col.path + `', '` + col.typ + `', '2026-01-01T00:00:00.000000Z')`,
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
	}
	db.Close()
	w = openTest(t, dir, Options{})
	res := mustLoad(t, w, "old", Target{PrimaryKey: "id"},
		decodeOne(t, `{"id":2,"trigger-event":"t","a_b":1,"a-b":2,"dataFields":{"campaignId":3},"x":1.5,"NewField":"n"}`))
	if res.Loaded != 1 {
		t.Fatalf("result %+v", res)
	}
	got := queryRows(t, readDB(t, w.Path("old")), `SELECT trigger_event, a_b, a_b__2, datafields__campaignid, x__fl, "NewField" FROM data WHERE id = 2`)
	want := []map[string]any{{"trigger_event": "t", "a_b": int64(1), "a_b__2": int64(2), "datafields__campaignid": int64(3), "x__fl": 1.5, "NewField": "n"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("\n got %v\nwant %v", got, want)
	}
	if added := res.Batch.ColumnsAdded; len(added) != 1 || added[0].Name != "NewField" {
		t.Errorf("columns added = %+v, want only NewField", added)
	}
}
