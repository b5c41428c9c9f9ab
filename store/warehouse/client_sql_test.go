package warehouse

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

// The Data page's suggested latest-version query is Stitch's, and runs as suggested in the
// destination's own client: with a key whose column must be quoted, it finds each key's
// newest version.
func TestSuggestedLatestQueryRunsAsShown(t *testing.T) {
	for _, dest := range testDestinations {
		t.Run(dest.name, func(t *testing.T) {
			w := dest.open(t, Options{})
			target := Target{PrimaryKey: "Order ID"}
			for _, body := range []string{`{"Order ID":1,"status":"new"}`, `{"Order ID":2,"status":"new"}`, `{"Order ID":1,"status":"paid"}`} {
				mustLoad(t, w, "shop", target, decodeOne(t, body))
			}
			contents, err := w.Contents(context.Background(), "shop", "data")
			if err != nil {
				t.Fatal(err)
			}
			if contents.Key != "Order ID" {
				t.Fatalf("Contents.Key is %q, want the key's column \"Order ID\"", contents.Key)
			}
			suggested := w.Location("shop").SuggestedSQL("shop", LatestView, contents.Key, "", "")
			if !strings.Contains(suggested.Latest, `SELECT MAX(_sdc_sequence) AS seq, "Order ID" FROM shop.data GROUP BY "Order ID"`) {
				t.Errorf("the suggested query is not Stitch's:\n%s", suggested.Latest)
			}
			var db *sql.DB
			query := suggested.Latest
			if where := w.Location("shop"); where.SQLiteFile != "" {
				db = readDB(t, filepath.Join(t.TempDir(), "session.db")) // any sqlite3 session
				db.SetMaxOpenConns(1)                                    // (the ATTACH is the connection's)
				attach, rest, _ := strings.Cut(query, ";\n")
				if _, err := db.Exec(attach); err != nil {
					t.Fatalf("%s: %v", attach, err)
				}
				query = rest
			} else {
				db = schemaDB(t, w, "shop")
			}
			got := map[int64]string{}
			for _, r := range queryRows(t, db, query) {
				got[r["Order ID"].(int64)] = r["status"].(string)
			}
			if len(got) != 2 || got[1] != "paid" || got[2] != "new" {
				t.Errorf("the suggested query found %v, want 1 paid and 2 new", got)
			}
		})
	}
}
