package warehouse

import (
	"fmt"
	"strings"
)

// ClientSQL is the SQL the Data page suggests pasting into the destination's own client
// (psql, or sqlite3 on the schema's file) for one of its tables.
type ClientSQL struct {
	// Rows looks at the table: data's newest rows, another table's first.
	Rows string
	// Latest is Stitch's documented query for the latest version of each record, with its
	// tables qualified by the schema's name (on SQLite after an ATTACH of the schema's file
	// under it, which it starts with): for LatestView only, "" otherwise.
	Latest string
}

// SuggestedSQL is what to run on schema's table in the destination's own client; key is data's
// primary-key column (Contents.Key), "" without one: then LatestView shows data.
func (l Location) SuggestedSQL(schema, table, key string) ClientSQL {
	if table == LatestView && key == "" {
		table = rootTable
	}
	name := clientIdent(table)
	if l.PostgresURL != "" {
		name = schema + "." + name
	}
	if table == rootTable {
		return ClientSQL{Rows: "SELECT * FROM " + name + " ORDER BY _sdc_sequence DESC LIMIT 20;"}
	}
	out := ClientSQL{Rows: "SELECT * FROM " + name + " LIMIT 20;"}
	if table != LatestView {
		return out
	}
	k := clientIdent(key)
	out.Latest = fmt.Sprintf(`SELECT * FROM %[1]s.data o
  INNER JOIN (SELECT MAX(_sdc_sequence) AS seq, %[2]s FROM %[1]s.data GROUP BY %[2]s) oo
  ON o.%[2]s = oo.%[2]s AND o._sdc_sequence = oo.seq;`, schema, k)
	if l.SQLiteFile != "" {
		out.Latest = "ATTACH " + sqlString(l.SQLiteFile) + " AS " + schema + ";\n" + out.Latest
	}
	return out
}

// clientIdent quotes a name for a client's query only where PostgreSQL would otherwise fold
// or refuse it (SQLite reads it alike either way), so the query reads as a user types it.
func clientIdent(name string) string {
	plain := name != ""
	for i, r := range name {
		if !(r >= 'a' && r <= 'z' || r == '_' || i > 0 && r >= '0' && r <= '9') {
			plain = false
		}
	}
	if plain {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// sqlString is s as an SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
