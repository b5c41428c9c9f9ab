package warehouse

import (
	"context"
	"errors"
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
	} {
		ct := "application/json"
		if strings.HasPrefix(body, "mandrill") {
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
			if err != nil || len(page.Rows) != 2 || page.Next == 0 {
				t.Fatalf("browse: %+v, %v", page, err)
			}
			next, err := w.Rows(ctx, "reserved", RowsQuery{Table: tc.table, Limit: 2, Before: page.Next})
			if err != nil || len(next.Rows) != 1 || next.Next != 0 || next.Rows[0].Key >= page.Rows[1].Key {
				t.Fatalf("second page: %+v, %v", next, err)
			}
			if _, _, err := w.Row(ctx, "reserved", tc.table, page.Rows[0].Key); err != nil {
				t.Fatalf("Row: %v", err)
			}
		})
	}
}
