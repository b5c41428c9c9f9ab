package warehouse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"
)

func randHex(n int) string {
	b := make([]byte, n/2)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// TestNoBodyFailsALoad: bodies a database cannot hold as sent (found by review on
// PostgreSQL, where each answered 503 forever) load or go to _sdc_rejected, on every
// destination, and a later ordinary record still loads.
func TestNoBodyFailsALoad(t *testing.T) {
	wide := Record{}
	for i := range 600 {
		wide[fmt.Sprintf("f%03d", i)] = randHex(2100) // TOAST pointers of 600 columns: a row over 8 KB
	}
	cases := []struct {
		name     string
		pk       string
		bodies   []Record
		loaded   int
		rejected string // a part of the reason of the one rejected record ("" for none)
	}{
		{"NUL in a string", "", []Record{decodeOne(t, `{"a":"x\u0000y"}`)}, 0, "NUL character"},
		{"NUL in the primary key", "id", []Record{decodeOne(t, `{"id":"x\u0000y"}`)}, 0, "NUL character"},
		{"year 0 is text, not a timestamp", "", []Record{decodeOne(t, `{"at":"0000-06-01T00:00:00Z"}`)}, 1, ""},
		{"year 1 east of UTC is text", "", []Record{decodeOne(t, `{"at":"0001-01-01T00:00:00+01:00"}`)}, 1, ""},
		{"a long text primary key", "id", []Record{{"id": randHex(8000)}}, 0, "longer than 1024 bytes"},
		{"array x then array x_key", "", []Record{decodeOne(t, `{"x":[1]}`), decodeOne(t, `{"x_key":[1]}`)}, 2, ""},
		{"PostgreSQL's system column names", "", []Record{decodeOne(t, `{"xmin":1,"tableoid":"x","ctid":"y","items":[{"cmax":1}]}`)}, 1, ""},
	}
	for _, dest := range testDestinations {
		for _, tc := range cases {
			t.Run(dest.name+"/"+tc.name, func(t *testing.T) {
				w := dest.open(t, Options{})
				loaded := 0
				for _, rec := range tc.bodies {
					res, err := w.Load(context.Background(), "refusals", Target{PrimaryKey: tc.pk}, []Record{rec}, time.Now())
					if err != nil {
						t.Fatalf("Load failed (a 503 for the sender, on every retry): %.300v", err)
					}
					loaded += res.Loaded
				}
				if loaded != tc.loaded {
					t.Errorf("loaded %d records, want %d", loaded, tc.loaded)
				}
				reasons := queryRows(t, schemaDB(t, w, "refusals"), `SELECT reason FROM _sdc_rejected`)
				switch {
				case tc.rejected == "" && len(reasons) != 0:
					t.Errorf("rejected: %v", reasons)
				case tc.rejected != "" && (len(reasons) != 1 || !strings.Contains(reasons[0]["reason"].(string), tc.rejected)):
					t.Errorf("rejected %v, want one saying %q", reasons, tc.rejected)
				}
				if res, err := w.Load(context.Background(), "refusals", Target{PrimaryKey: tc.pk}, []Record{{"id": "ok", "other": int64(1)}}, time.Now()); err != nil || res.Loaded+res.Rejected != 1 {
					t.Fatalf("the next record: %+v %v", res, err)
				}
			})
		}
	}
	// A row PostgreSQL cannot hold is refused by the database itself: the record is rejected
	// with its reason, the others of the request load.
	t.Run("postgres/a row over 8 KB", func(t *testing.T) {
		w := openPostgresTest(t, Options{})
		res, err := w.Load(context.Background(), "refusals", Target{}, []Record{{"a": int64(1)}, wide, {"a": int64(2)}}, time.Now())
		if err != nil || res.Loaded != 2 || res.Rejected != 1 {
			t.Fatalf("%+v %v, want 2 loaded and the wide record rejected", res, err)
		}
		reason := queryRows(t, schemaDB(t, w, "refusals"), `SELECT reason FROM _sdc_rejected`)[0]["reason"].(string)
		if !strings.Contains(reason, "the database refused the record: row is too big") {
			t.Errorf("reason %q", reason)
		}
		// Last in its request, the refused row is inserted in the round trip of COMMIT, which
		// the server then skips: the request runs again record by record all the same.
		res, err = w.Load(context.Background(), "refusals", Target{}, []Record{{"a": int64(3)}, wide}, time.Now())
		if err != nil || res.Loaded != 1 || res.Rejected != 1 {
			t.Fatalf("%+v %v, want 1 loaded and the wide record rejected", res, err)
		}
		if n := len(queryRows(t, schemaDB(t, w, "refusals"), `SELECT a FROM data`)); n != 3 {
			t.Errorf("%d rows in data, want 3", n)
		}
	})
}
