package warehouse

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ExportFormat is how Export writes rows.
type ExportFormat string

// Export formats.
const (
	CSV       ExportFormat = "csv"
	JSONLines ExportFormat = "jsonl"
)

// An export reads its rows in pages by key, each page one short statement read whole before
// it is sent: no statement stays open while the client reads, so on PostgreSQL a webhook's
// ALTER TABLE waits for one page at most (not for the download), and on SQLite the WAL can be
// checkpointed between pages. A page is up to exportPageRows rows or exportPageBytes of output
// (and one row more), so memory stays flat; writes to the client are exportWrite bytes at most,
// each a small step for a slow client's stall deadline.
const (
	exportPageRows  = 5000
	exportPageBytes = 1 << 20
	exportWrite     = 64 << 10
)

// ExportQuery selects the rows an export writes: a table (or LatestView), and the Data page's
// event-type filter ("" for all).
type ExportQuery struct {
	Table     string
	EventType string
}

// Export writes every row of q's selection to out, oldest first, as the table was when the
// export began: its columns then, its rows up to the last one then, and for LatestView the
// latest version of each key among those rows. Rows are read in pages (see exportPageRows) and
// flush, if not nil, is called after each page reaches out, so a download starts at once.
// Booleans are written as true/false; NULLs as empty CSV fields or JSON null.
func (w *Warehouse) Export(ctx context.Context, schema string, q ExportQuery, format ExportFormat, out io.Writer, flush func()) error {
	if format != CSV && format != JSONLines {
		return fmt.Errorf("unknown export format %q", format)
	}
	b, release, err := w.openBrowse(ctx, schema, q.Table)
	if err != nil {
		return err
	}
	defer release()
	booleans, err := booleanColumns(ctx, b)
	if err != nil {
		return err
	}
	names, last, err := b.lastRow(ctx)
	if err != nil {
		return fmt.Errorf("warehouse %s: export %s: %w", schema, q.Table, err)
	}
	where, args, _, err := b.selection(ctx, q.Table, q.EventType, last)
	if err != nil {
		return err
	}
	// The columns by name, not o.*: one added during the download is in no page.
	cols := make([]string, len(names))
	for i, n := range names {
		cols[i] = "o." + quoteIdent(n)
	}
	query := "SELECT " + b.keyList("") + ", " + strings.Join(cols, ", ") + " FROM " + b.table(b.base) + " o"
	isBool := make([]bool, len(names))
	for i, n := range names {
		isBool[i] = booleans[n]
	}

	var page bytes.Buffer
	var cw *csv.Writer // buffers rows of its own on top of page
	var writeRow func(vals []any) error
	switch format {
	case CSV:
		cw = csv.NewWriter(&page)
		if err := cw.Write(names); err != nil {
			return err
		}
		record := make([]string, len(names))
		writeRow = func(vals []any) error {
			for i, v := range vals {
				record[i] = csvCell(v, isBool[i])
			}
			return cw.Write(record)
		}
	case JSONLines:
		keys := make([][]byte, len(names))
		for i, n := range names {
			k, _ := json.Marshal(n)
			keys[i] = append(k, ':')
		}
		line := make([]byte, 0, 4096)
		text := newJSONText()
		writeRow = func(vals []any) error {
			line = append(line[:0], '{')
			for i, v := range vals {
				if i > 0 {
					line = append(line, ',')
				}
				line = append(line, keys[i]...)
				line = appendJSON(line, v, isBool[i], text)
			}
			line = append(line, '}', '\n')
			_, err := page.Write(line)
			return err
		}
	}
	send := func() error {
		if cw != nil {
			cw.Flush()
			if err := cw.Error(); err != nil {
				return err
			}
		}
		for p := page.Bytes(); len(p) > 0; {
			n := min(len(p), exportWrite)
			if _, err := out.Write(p[:n]); err != nil {
				return err
			}
			p = p[n:]
		}
		page.Reset()
		if flush != nil {
			flush()
		}
		return nil
	}

	nk := len(b.key)
	vals := make([]any, nk+len(names))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	// Pages go on from the last key sent and stop at the last row of the start. That bound is
	// checked here, not in the query: with it, PostgreSQL without statistics of a new table
	// (ANALYZE comes later) reads and sorts every row up to it for each page.
	var after []any // the key of the last row sent; nil before the first page
	for more := last != nil; more; {
		cond, condArgs := where, args
		if after != nil {
			cond, condArgs = append(slices.Clip(where), b.keyCompare("o", ">")), append(slices.Clip(args), after...)
		}
		pageQuery := query
		if len(cond) > 0 {
			pageQuery += " WHERE " + strings.Join(cond, " AND ")
		}
		pageQuery += " ORDER BY " + b.keyList("") + " LIMIT " + strconv.Itoa(exportPageRows)
		more, err = exportPage(ctx, b, pageQuery, condArgs, ptrs, func() (bool, error) {
			if keyAfter(vals[:nk], last) {
				return false, nil
			}
			after = append(after[:0], vals[:nk]...)
			return true, writeRow(vals[nk:])
		}, &page)
		if err != nil {
			return err
		}
		if err := send(); err != nil {
			return err
		}
	}
	if last == nil { // no page: the header alone
		return send()
	}
	return nil
}

// exportPage runs one page's query, calling row for each row scanned into ptrs until it
// answers false, and reports whether rows may follow the page: it was full, or it stopped at
// exportPageBytes of page.
func exportPage(ctx context.Context, b *browse, query string, args, ptrs []any, row func() (bool, error), page *bytes.Buffer) (more bool, err error) {
	db, done, err := b.d.pageReader(ctx, b.db)
	if err != nil {
		return false, err
	}
	defer done()
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return false, err
		}
		if more, err := row(); !more || err != nil {
			return false, err
		}
		if n++; page.Len() >= exportPageBytes {
			return true, nil
		}
	}
	return n == exportPageRows, rows.Err()
}

// keyAfter reports whether row key a comes after row key b (both of int64s, as scanned).
func keyAfter(a, b []any) bool {
	for i := range a {
		if x, y := a[i].(int64), b[i].(int64); x != y {
			return x > y
		}
	}
	return false
}

// lastRow reads, in one statement, the browsed table's columns and the key of its last row
// (nil when it has none): what an export is bounded by.
func (b *browse) lastRow(ctx context.Context) (names []string, key []any, err error) {
	rows, err := b.db.QueryContext(ctx, "SELECT "+b.keyList("")+", "+b.columns+" FROM "+b.table(b.base)+" o ORDER BY "+b.keyList(" DESC")+" LIMIT 1")
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	all, err := rows.Columns()
	if err != nil {
		return nil, nil, err
	}
	nk := len(b.key)
	if rows.Next() {
		vals, err := scanAll(rows, len(all))
		if err != nil {
			return nil, nil, err
		}
		key = vals[:nk]
	}
	return all[nk:], key, rows.Err()
}

// booleanColumns are the browsed table's columns the catalog types boolean (SQLite stores
// them as 0/1).
func booleanColumns(ctx context.Context, b *browse) (map[string]bool, error) {
	return nameSet(ctx, b.db, "SELECT column_name FROM "+b.table(columnsCatalog)+" WHERE table_name = ? AND type = 'boolean'", b.base)
}

func csvField(v any, isBool bool) string {
	switch v := v.(type) {
	case nil:
		return ""
	case int64:
		if isBool {
			return strconv.FormatBool(v != 0)
		}
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case string:
		return v
	case []byte:
		return string(v)
	case time.Time:
		return formatTimestamp(v)
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprint(v)
}

// csvCell is v as a CSV field that a spreadsheet will not run as a formula, as OWASP advises
// for CSV injection: text starting with = + - @, tab, CR or LF gets a leading single quote,
// and so does each = + - @ that follows a semicolon, tab, CR or LF in it (after any double
// quotes): a spreadsheet that splits on semicolons (Excel in much of Europe) or tabs, or that
// breaks the row at a line break (a quoted field is only one cell where its quote opens the
// cell), starts a cell there. Only text: an integer or float column's -5 is a number, and
// stays one. JSON Lines, read by programs rather than spreadsheets, keeps every value as
// stored.
func csvCell(v any, isBool bool) string {
	s := csvField(v, isBool)
	switch v.(type) {
	case string, []byte:
		return neutraliseFormulas(s)
	}
	return s
}

// neutraliseFormulas puts a single quote before each formula character of s that can start a
// cell: see csvCell.
func neutraliseFormulas(s string) string {
	var b strings.Builder
	copied := 0 // s[copied:] is not in b yet
	for p := 0; p < len(s); p++ {
		if p > 0 && strings.IndexByte(";\t\r\n", s[p-1]) < 0 {
			continue // not where a cell can start
		}
		triggers := "=+-@"
		if p == 0 {
			triggers = "=+-@\t\r\n"
		}
		q := p
		for q < len(s) && s[q] == '"' {
			q++
		}
		if q < len(s) && strings.IndexByte(triggers, s[q]) >= 0 {
			b.WriteString(s[copied:q])
			b.WriteByte('\'')
			copied = q
		}
	}
	if b.Len() == 0 {
		return s
	}
	b.WriteString(s[copied:])
	return b.String()
}

// appendJSON appends v as a JSON value.
func appendJSON(b []byte, v any, isBool bool, text *jsonText) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case int64:
		if isBool {
			return strconv.AppendBool(b, v != 0)
		}
		return strconv.AppendInt(b, v, 10)
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, v, 'g', -1, 64)
	case bool:
		return strconv.AppendBool(b, v)
	}
	return text.append(b, csvField(v, false))
}

// jsonText encodes text without Go's HTML escaping (< > & as \u003c…): a file is no page, and
// a value searched for in it must be there as it was sent.
type jsonText struct {
	buf bytes.Buffer
	enc *json.Encoder
}

func newJSONText() *jsonText {
	t := &jsonText{}
	t.enc = json.NewEncoder(&t.buf)
	t.enc.SetEscapeHTML(false)
	return t
}

func (t *jsonText) append(b []byte, s string) []byte {
	t.buf.Reset()
	_ = t.enc.Encode(s) // a string always encodes
	return append(b, bytes.TrimSuffix(t.buf.Bytes(), []byte("\n"))...)
}
