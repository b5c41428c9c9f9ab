package warehouse

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzLoad decodes arbitrary bodies and loads whatever decodes into one
// growing schema: no body may make Load fail (the webhook would answer 5xx
// and the provider retry, then drop it) but for the operational ErrBusy and
// ErrClosed, nor panic; every record is either loaded or rejected, and data
// gains exactly the loaded rows.
func FuzzLoad(f *testing.F) {
	for _, rel := range fixtureNames() {
		ct := "application/json"
		if strings.HasSuffix(rel, ".form") {
			ct = "application/x-www-form-urlencoded"
		}
		f.Add(ct, fixture(f, rel), "")
	}
	f.Add("application/json", []byte(`[{"id":1,"a":[[1,[2]],{"b":null}]},{"id":"x","":{"":[]}}]`), "id")
	f.Add("application/json", []byte(`{"id":1.5,"a-b":1,"a_b":"2015-06-22T23:37:18Z","A_B":true}`), "id")
	f.Add("application/json", []byte(`{"_sdc_sequence":1,"__sdc_primary_key":"x","\"":1e400}`), "")
	// SQLite's rowid aliases, which ALTER TABLE refuses to add.
	f.Add("application/json", []byte(`{"id":"x","rowid":1}`), "id")
	f.Add("application/json", []byte(`{"id":"x","OID":true,"_rowid_":"2015-06-22T23:37:18Z"}`), "id")
	f.Add("application/json", []byte(`[{"_ROWID_":1,"a":[{"rowid":2,"oid":[3]}]}]`), "")

	w := openTest(f, f.TempDir(), Options{MaxColumns: 200})
	db := readDB(f, w.Path("fuzz"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte, pk string) {
		recs, err := DecodeBody(contentType, body, "mandrill_events")
		if err != nil {
			return
		}
		// One key per schema: a changed key only rejects, so keep one.
		if pk != "" {
			pk = "id"
		}
		before := countData(t, db)
		res, err := w.Load(context.Background(), "fuzz", Target{PrimaryKey: pk}, recs, time.Now())
		if errors.Is(err, ErrBusy) || errors.Is(err, ErrClosed) {
			return
		}
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if res.Loaded+res.Rejected != len(recs) {
			t.Fatalf("loaded %d + rejected %d != %d records", res.Loaded, res.Rejected, len(recs))
		}
		if after := countData(t, db); after-before != int64(res.Loaded) {
			t.Fatalf("data grew by %d rows, Load reported %d", after-before, res.Loaded)
		}
	})
}

func countData(t *testing.T, db *sql.DB) int64 {
	t.Helper()
	if queryInt(t, db, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'data'`) == 0 {
		return 0
	}
	return queryInt(t, db, `SELECT COUNT(*) FROM data`)
}
