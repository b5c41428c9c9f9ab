package warehouse

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// stitchCase is one of Stitch's rules: records loaded in order into a fresh schema, and what
// each destination must then hold. Where a destination must differ (SQLite's identifiers
// ignore case), its expectation is given under its name.
type stitchCase struct {
	name    string
	pk      string
	records []string
	want    stitchWant            // on every destination
	on      map[string]stitchWant // replaces want on the destination named
}

type stitchWant struct {
	// columns of each table that are not system columns, with their Stitch types;
	// every table of the schema is listed.
	columns map[string]map[string]string
	// system, when set, is every system column (_sdc_*) of each table it names, with its type.
	system   map[string]map[string]string
	rejected []string // a part of each reject reason, in order
}

// Stitch's system columns (_data/stitch/sdc-columns.yml) as hookhouse names and types them:
// data's, and a subtable's beside its _sdc_source_key_<pk> and _sdc_level_N_id.
var (
	sdcColumns = map[string]string{
		"_sdc_received_at": "timestamp", "_sdc_batched_at": "timestamp", "_sdc_sequence": "integer", "_sdc_table_version": "integer",
	}
	sdcKeyless = withColumns(sdcColumns, map[string]string{"__sdc_primary_key": "string"})
)

func withColumns(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range []map[string]string{a, b} {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

var stitchCases = []stitchCase{
	{
		name:    "names keep their case and lose special characters",
		records: []string{`{"CuStOmErId":1,"customer!id":2,"customer id":3,"CUSTOMER! ID":4,"trigger-event":"x","dataFields":{"campaignId":5}}`},
		want: stitchWant{columns: map[string]map[string]string{"data": {
			"CuStOmErId": "integer", "customerid": "integer", "customer id": "integer", "CUSTOMER ID": "integer",
			"triggerevent": "string", "dataFields__campaignId": "integer",
		}}},
		on: map[string]stitchWant{"sqlite": { // CUSTOMER ID and customer id are one name there
			rejected: []string{"Field collision on customer id: fields CUSTOMER! ID and customer id would both be column CUSTOMER ID of table data"},
		}},
	},
	{
		name:    "leading characters other than letters and underscores are removed",
		records: []string{`{"123customerid":1,"_customerid":2,"_987CUSTOMERID":3,"!x":4}`},
		want: stitchWant{columns: map[string]map[string]string{"data": {
			"customerid": "integer", "_customerid": "integer", "_987CUSTOMERID": "integer", "x": "integer",
		}}},
	},
	{
		name:    "a key with nothing left of a name rejects its record",
		records: []string{`{"a":1,"123":2}`, `{"a":1}`},
		want: stitchWant{
			columns:  map[string]map[string]string{"data": {"a": "integer"}},
			rejected: []string{"field 123: its name has no letters or underscores"},
		},
	},
	{
		name:    "nested objects flatten to parent__child",
		records: []string{`{"user":{"email":"a@example.com","geo":{"lat":1.5}}}`},
		want:    stitchWant{columns: map[string]map[string]string{"data": {"user__email": "string", "user__geo__lat": "float"}}},
	},
	{
		name:    "two keys that become one name: field collision",
		records: []string{`{"a":{"b":1},"a__b":2}`, `{"a__b":3}`, `{"x":1}`, `{"a":{"b":4}}`, `{"__sdc_primary_key":1}`},
		want: stitchWant{
			columns: map[string]map[string]string{"data": {"a__b": "integer", "x": "integer"}},
			rejected: []string{"Field collision on a__b: fields a.b and a__b would both be column a__b of table data",
				"Field collision on a__b: fields a__b and a.b would both be column a__b of table data",
				"Field collision on __sdc_primary_key: field __sdc_primary_key would be column __sdc_primary_key of table data, which hookhouse keeps for itself"},
		},
	},
	{
		name:    "id beside Id",
		records: []string{`{"id":1,"Id":2}`},
		want:    stitchWant{columns: map[string]map[string]string{"data": {"id": "integer", "Id": "integer"}}},
		on: map[string]stitchWant{"sqlite": {
			rejected: []string{"Field collision on Id: fields id and Id would both be column id of table data"},
		}},
	},
	{
		name:    "reserved prefixes and type suffixes reject their record",
		records: []string{`{"_sdc_x":1}`, `{"_RJM_y":1}`, `{"age__st":"x"}`, `{"n":{"x__do":1.5}}`, `{"ok":1}`},
		want: stitchWant{
			columns: map[string]map[string]string{"data": {"ok": "integer"}},
			rejected: []string{"column name _sdc_x starts with _sdc, which Stitch reserves", "column name _RJM_y starts with _rjm",
				"column name age__st ends with __st, which Stitch reserves", "column name n__x__do ends with __do"},
		},
	},
	{
		name:    "a field's later types get Stitch's PostgreSQL suffixes; the first keeps the plain name",
		records: []string{`{"age":15,"has_magic":false}`, `{"age":16.5,"has_magic":"yes"}`, `{"age":"old","has_magic":true}`, `{"age":true}`, `{"age":"2015-06-22T23:37:18Z"}`},
		want: stitchWant{columns: map[string]map[string]string{"data": {
			"age": "integer", "age__do": "float", "age__st": "string", "age__bo": "boolean", "age__ti": "timestamp",
			"has_magic": "boolean", "has_magic__st": "string",
		}}},
	},
	{
		name:    "integers beyond bigint reject their record; other numbers are double precision",
		records: []string{`{"n":9223372036854775807,"f":1e300}`, `{"n":9223372036854775808}`, `{"n":-9223372036854775809}`, `{"f":1e400}`},
		want: stitchWant{
			columns: map[string]map[string]string{"data": {"n": "integer", "f": "float"}},
			rejected: []string{"field n: integer 9223372036854775808 is outside the range of bigint",
				"field n: integer -9223372036854775809 is outside the range of bigint", "field f: number 1e400 is out of range"},
		},
	},
	{
		name:    "arrays become subtables named by Stitch's rules too",
		pk:      "order_id",
		records: []string{`{"order_id":1,"Line-Items":[{"product_id":5,"tax_lines":[{"rate":0.06}]}]}`},
		want: stitchWant{columns: map[string]map[string]string{
			"data":                       {"order_id": "integer"},
			"data__LineItems":            {"product_id": "integer"},
			"data__LineItems__tax_lines": {"rate": "float"},
		}},
	},
	{
		// _replication/preparing/data-structuring/non-bigquery-nested-data-structures.md's order,
		// as sent (every value a string), with its Primary Key order_id.
		name: "the nested-structures guide's order: subtables, their keys and system columns",
		pk:   "order_id",
		records: []string{`{"order_id":"1234","created_at":"2015-01-01 00:00:00","customer_id":"100","line_items":[` +
			`{"product_id":"5008798","price":"5.99","quantity":"1","tax_lines":[{"price":"5.99","rate":"0.06","title":"State Tax"}]}]}`},
		want: stitchWant{
			columns: map[string]map[string]string{
				"data":                        {"order_id": "string", "created_at": "string", "customer_id": "string"},
				"data__line_items":            {"product_id": "string", "price": "string", "quantity": "string"},
				"data__line_items__tax_lines": {"price": "string", "rate": "string", "title": "string"},
			},
			system: map[string]map[string]string{
				"data":                        sdcColumns,
				"data__line_items":            withColumns(sdcColumns, map[string]string{"_sdc_source_key_order_id": "string", "_sdc_level_0_id": "integer"}),
				"data__line_items__tax_lines": withColumns(sdcColumns, map[string]string{"_sdc_source_key_order_id": "string", "_sdc_level_0_id": "integer", "_sdc_level_1_id": "integer"}),
			},
		},
	},
	{
		name:    "without a primary key: __sdc_primary_key, and the subtables' _sdc_source_key___sdc_primary_key",
		records: []string{`{"order_id":1234,"line_items":[{"tax_lines":[{"rate":0.06}]}]}`},
		want: stitchWant{
			columns: map[string]map[string]string{
				"data": {"order_id": "integer"}, "data__line_items": {}, "data__line_items__tax_lines": {"rate": "float"},
			},
			system: map[string]map[string]string{
				"data":                        sdcKeyless,
				"data__line_items":            withColumns(sdcColumns, map[string]string{"_sdc_source_key___sdc_primary_key": "string", "_sdc_level_0_id": "integer"}),
				"data__line_items__tax_lines": withColumns(sdcColumns, map[string]string{"_sdc_source_key___sdc_primary_key": "string", "_sdc_level_0_id": "integer", "_sdc_level_1_id": "integer"}),
			},
		},
	},
	{
		// _data/dataloading/examples/mixed-data-types.yml, PostgreSQL: 16.0 is a double.
		name:    "the mixed-data-types example: age bigint and age__do, has_magic boolean and has_magic__st",
		pk:      "id",
		records: []string{`{"id":1,"name":"Finn","age":15,"has_magic":false}`, `{"id":3,"name":"Bubblegum","age":16.0,"has_magic":"yes"}`},
		want: stitchWant{columns: map[string]map[string]string{"data": {
			"id": "integer", "name": "string", "age": "integer", "age__do": "float", "has_magic": "boolean", "has_magic__st": "string",
		}}, system: map[string]map[string]string{"data": sdcColumns}},
	},
	{
		name:    "a number with a fraction or an exponent is a double, even 1.0; -0 is an integer",
		records: []string{`{"a":1.0,"b":1e3,"c":-0,"d":-0.0,"e":0,"f":1E-2}`},
		want: stitchWant{columns: map[string]map[string]string{"data": {
			"a": "float", "b": "float", "c": "integer", "d": "float", "e": "integer", "f": "float",
		}}},
	},
	{
		name: "only RFC 3339 date-times are timestamps",
		records: []string{`{"z":"2015-06-22T23:37:18Z","offset":"2015-06-22T23:37:18.123+02:00","space":"2015-01-01 00:00:00",` +
			`"nozone":"2015-06-22T23:37:18","date":"2015-06-22","epoch":1434999438}`},
		want: stitchWant{columns: map[string]map[string]string{"data": {
			"z": "timestamp", "offset": "timestamp", "space": "string", "nozone": "string", "date": "string", "epoch": "integer",
		}}},
	},
	{
		name:    "null, {} and [] make no column and no subtable until a value comes",
		records: []string{`{"a":null,"o":{},"e":[],"n":{"x":null}}`, `{"a":1,"e":[true],"n":{"x":"y"}}`},
		want: stitchWant{columns: map[string]map[string]string{
			"data": {"a": "integer", "n__x": "string"}, "data__e": {"value": "boolean"},
		}},
	},
	{
		name:    "two arrays that become one table name: field collision",
		records: []string{`{"a":{"b":[1]}}`, `{"a__b":[2]}`},
		want: stitchWant{
			columns:  map[string]map[string]string{"data": {}, "data__a__b": {"value": "integer"}},
			rejected: []string{"Field collision on table data__a__b: array a__b would be the table data__a__b"},
		},
	},
	{
		name:    "records over 4 MB are rejected",
		records: []string{`{"big":"` + strings.Repeat("x", MaxRecordBytes) + `"}`, `{"small":"x"}`},
		want: stitchWant{
			columns:  map[string]map[string]string{"data": {"small": "string"}},
			rejected: []string{"the record is larger than 4 MB"},
		},
	},
	{
		// 2.3 MB of JSON; when each number counted 8 bytes it was measured over 4 MB.
		name:    "a record of many short numbers under 4 MB loads",
		records: []string{`{"a":[` + strings.Repeat(`{"w":1,"x":1,"y":1,"z":1},`, 90_000) + `{"w":1}]}`},
		want:    stitchWant{columns: map[string]map[string]string{"data": {}, "data__a": {"w": "integer", "x": "integer", "y": "integer", "z": "integer"}}},
	},
	{
		name:    "names over the limits are rejected",
		records: []string{`{"` + strings.Repeat("c", 60) + `":1}`, `{"` + strings.Repeat("t", 58) + `":[1]}`, `{"ok":1}`},
		want: stitchWant{
			columns:  map[string]map[string]string{"data": {"ok": "integer"}},
			rejected: []string{"is longer than 59 characters", "is longer than 63 characters"},
		},
	},
}

// TestStitchRules runs every case of Stitch's rules against every destination.
func TestStitchRules(t *testing.T) {
	for _, dest := range testDestinations {
		for _, tc := range stitchCases {
			t.Run(dest.name+"/"+tc.name, func(t *testing.T) {
				want := tc.want
				if w, ok := tc.on[dest.name]; ok {
					want = w
				}
				w := dest.open(t, Options{})
				for _, body := range tc.records {
					mustLoad(t, w, "rules", Target{PrimaryKey: tc.pk}, decodeOne(t, body))
				}
				if got := userColumns(t, w, "rules"); !reflect.DeepEqual(got, want.columns) && (len(got) > 0 || len(want.columns) > 0) {
					t.Errorf("tables and columns\n got %v\nwant %v", got, want.columns)
				}
				for table, want := range want.system {
					if got := systemColumns(t, w, "rules", table); !reflect.DeepEqual(got, want) {
						t.Errorf("system columns of %s\n got %v\nwant %v", table, got, want)
					}
				}
				physicalTypesMatch(t, w, "rules")
				var reasons []string
				for _, r := range queryRows(t, schemaDB(t, w, "rules"), `SELECT reason FROM _sdc_rejected ORDER BY _sdc_rejected_at`) {
					reasons = append(reasons, r["reason"].(string))
				}
				if len(reasons) != len(want.rejected) {
					t.Fatalf("rejected %d records, want %d: %q", len(reasons), len(want.rejected), reasons)
				}
				for i, part := range want.rejected {
					if !strings.Contains(reasons[i], part) {
						t.Errorf("reject %d: %q does not say %q", i, reasons[i], part)
					}
				}
			})
		}
	}
}

// userColumns is every table of schema with its columns that are not system columns, from
// the catalog, as name -> Stitch type.
func userColumns(t *testing.T, w *Warehouse, schema string) map[string]map[string]string {
	t.Helper()
	tables := contents(t, w, schema).Tables
	out := map[string]map[string]string{}
	for _, tb := range tables {
		cols := map[string]string{}
		for _, c := range tableColumns(t, w, schema, tb.Name) {
			if c.Source != "" {
				cols[c.Name] = c.Type
			}
		}
		out[tb.Name] = cols
	}
	return out
}

// systemColumns is table's system columns, from the catalog, as name -> Stitch type.
func systemColumns(t *testing.T, w *Warehouse, schema, table string) map[string]string {
	t.Helper()
	cols := map[string]string{}
	for _, c := range tableColumns(t, w, schema, table) {
		if c.Source == "" {
			cols[c.Name] = c.Type
		}
	}
	return cols
}

// physicalTypesMatch checks that every column the catalog lists is in the database, declared
// with the destination's type for its Stitch type.
func physicalTypesMatch(t *testing.T, w *Warehouse, schema string) {
	t.Helper()
	tables := contents(t, w, schema).Tables
	db := schemaDB(t, w, schema)
	for _, tb := range tables {
		declared := map[string]string{}
		query := `SELECT name AS column_name, type AS data_type FROM pragma_table_info(?)`
		if w.Location(schema).PostgresURL != "" {
			query = `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`
		}
		for _, r := range queryRows(t, db, query, tb.Name) {
			declared[r["column_name"].(string)] = r["data_type"].(string)
		}
		var missing []string
		for _, c := range tableColumns(t, w, schema, tb.Name) {
			typ, err := parseColType(c.Type)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := declared[c.Name], w.dest.sqlType(typ); !strings.EqualFold(got, want) {
				missing = append(missing, fmt.Sprintf("%s.%s declared %q, want %q", tb.Name, c.Name, got, want))
			}
		}
		sort.Strings(missing)
		for _, m := range missing {
			t.Error(m)
		}
	}
}
