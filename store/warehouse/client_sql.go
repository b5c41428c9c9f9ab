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
// primary-key column (Contents.Key), "" without one: then LatestView shows data. With
// eventType, the rows are those of the Data page's filter: eventCol (RowsPage.EventTypeColumn,
// "" for a table without one) holding it.
func (l Location) SuggestedSQL(schema, table, key, eventCol, eventType string) ClientSQL {
	if table == LatestView && key == "" {
		table = rootTable
	}
	name := clientIdent(table)
	if l.PostgresURL != "" {
		name = schema + "." + name
	}
	where := ""
	if eventCol != "" && eventType != "" {
		where = l.typeCondition("", eventCol, eventType)
	}
	if table == rootTable {
		return ClientSQL{Rows: "SELECT * FROM " + name + where + " ORDER BY _sdc_sequence DESC LIMIT 20;"}
	}
	out := ClientSQL{Rows: "SELECT * FROM " + name + where + " LIMIT 20;"}
	if table != LatestView {
		return out
	}
	if where != "" {
		where = "\n " + l.typeCondition("o.", eventCol, eventType)
	}
	k := clientIdent(key)
	out.Latest = fmt.Sprintf(`SELECT * FROM %[1]s.data o
  INNER JOIN (SELECT MAX(_sdc_sequence) AS seq, %[2]s FROM %[1]s.data GROUP BY %[2]s) oo
  ON o.%[2]s = oo.%[2]s AND o._sdc_sequence = oo.seq%[3]s;`, schema, k, where)
	if l.SQLiteFile != "" {
		out.Latest = "ATTACH " + l.sqlString(l.SQLiteFile) + " AS " + schema + ";\n" + out.Latest
	}
	return out
}

// typeCondition is " WHERE " the event-type column col (after prefix, an alias) holds value,
// as the Data page's filter reads it (selection): a value no row can hold matches nothing.
func (l Location) typeCondition(prefix, col, value string) string {
	if !storableText(value) {
		return " WHERE 1 = 0"
	}
	return " WHERE " + prefix + clientIdent(col) + " = " + l.sqlString(value)
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

// sqlString is s as an SQL string literal of the destination, on one line: control characters
// (a line break would end the snippet's here-document, or split a line of the client's
// input) are written as char(n) on SQLite, chr(n) on PostgreSQL, joined with ||. Backslashes
// stay as they are: neither reads them in a standard string.
func (l Location) sqlString(s string) string {
	char := "char"
	if l.PostgresURL != "" {
		char = "chr"
	}
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch {
		case r == '\'':
			b.WriteString("''")
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "' || %s(%d) || '", char, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}
