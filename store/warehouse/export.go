package warehouse

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// ExportFormat is how Export writes rows.
type ExportFormat string

// Export formats.
const (
	CSV        ExportFormat = "csv"
	JSONLines  ExportFormat = "jsonl"
	exportBuf               = 64 << 10
	flushEvery              = 1000 // rows between flushes to the client
)

// ExportQuery selects the rows an export writes: a table (or LatestView), and the Data page's
// event-type filter ("" for all).
type ExportQuery struct {
	Table     string
	EventType string
}

// Export streams every row of q's selection to out, oldest first, one row in memory at a
// time: memory stays flat at millions of rows. flush, if not nil, is called every flushEvery
// rows after the buffered bytes reach out, so a download starts at once. Booleans are written
// as true/false; NULLs as empty CSV fields or JSON null.
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
	where, args, _, err := b.selection(ctx, q.Table, q.EventType)
	if err != nil {
		return err
	}
	query := "SELECT " + b.columns + " FROM " + b.table(b.base) + " o"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := b.db.QueryContext(ctx, query+" ORDER BY "+b.keyList(""), args...)
	if err != nil {
		return fmt.Errorf("warehouse %s: export %s: %w", schema, q.Table, err)
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return err
	}
	isBool := make([]bool, len(names))
	for i, n := range names {
		isBool[i] = booleans[n]
	}

	buf := bufio.NewWriterSize(out, exportBuf)
	var cw *csv.Writer // buffers rows of its own on top of buf
	drain := func() error {
		if cw != nil {
			cw.Flush()
			if err := cw.Error(); err != nil {
				return err
			}
		}
		return buf.Flush()
	}
	var writeRow func(vals []any) error
	switch format {
	case CSV:
		cw = csv.NewWriter(buf)
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
			_, err := buf.Write(line)
			return err
		}
	}

	vals := make([]any, len(names))
	ptrs := make([]any, len(names))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for n := 1; rows.Next(); n++ {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if err := writeRow(vals); err != nil {
			return err
		}
		if n%flushEvery == 0 && flush != nil {
			if err := drain(); err != nil {
				return err
			}
			flush()
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return drain()
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
