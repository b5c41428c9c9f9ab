package warehouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNoTable is returned when browsing a table or view the schema does not have.
var ErrNoTable = errors.New("no such table")

// LatestView is the view holding the latest version of each primary key.
const LatestView = latestView

// eventTypeColumns are the fields sources name their event type with, as columns: Vero's
// type, Iterable's eventName, Mandrill's and SendGrid's event.
var eventTypeColumns = []string{"type", "eventname", "event"}

// RowsQuery selects one page of a table's rows, newest first.
type RowsQuery struct {
	Table     string // a table of the schema, or LatestView for the latest version per key
	EventType string // only rows whose event-type column holds this ("" for all)
	Before    int64  // page cursor: rows older than this key; 0 starts at the newest
	Limit     int
}

// RowsPage is one page of rows; the event's fields come first, the _sdc columns last.
type RowsPage struct {
	Columns         []string
	Rows            []BrowsedRow
	Next            int64    // cursor of the next (older) page; 0 on the last page
	EventTypeColumn string   // the column EventType filters on; "" when the table has none
	EventTypes      []string // event types among the newest rows, for the filter
}

// BrowsedRow is one row: its key (the rowid, which follows _sdc_sequence as rows are only
// appended) and its values as SQLite returns them (nil, int64, float64, string, []byte).
type BrowsedRow struct {
	Key    int64
	Values []any
}

// Rows returns a page of table's rows, newest first. Paging is by key (rowid), so a page
// costs the same at the millionth row as at the first. A schema without a file has no tables.
func (w *Warehouse) Rows(ctx context.Context, schema string, q RowsQuery) (RowsPage, error) {
	db, release, ok, err := w.reader(ctx, schema)
	if err != nil {
		return RowsPage{}, err
	}
	if !ok {
		return RowsPage{}, ErrNoTable
	}
	defer release()
	base, err := browsable(ctx, db, q.Table)
	if err != nil {
		return RowsPage{}, err
	}
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 500
	}
	cols, err := columnsOf(ctx, db, base)
	if err != nil {
		return RowsPage{}, err
	}
	var page RowsPage
	for _, c := range eventTypeColumns {
		if base == rootTable && cols[c] {
			page.EventTypeColumn = c
			break
		}
	}

	from := quoteIdent(base) + " o"
	var where []string
	var args []any
	if q.Table == latestView {
		pk, err := latestKey(ctx, db)
		if err != nil {
			return RowsPage{}, err
		}
		where = append(where, fmt.Sprintf("o.%[1]s = (SELECT MAX(i.%[1]s) FROM %[2]s i WHERE i.%[3]s = o.%[3]s)",
			colSequence, quoteIdent(rootTable), quoteIdent(pk)))
	}
	if q.EventType != "" && page.EventTypeColumn != "" {
		where = append(where, "o."+quoteIdent(page.EventTypeColumn)+" = ?")
		args = append(args, q.EventType)
	}
	if q.Before > 0 {
		where = append(where, "o.rowid < ?")
		args = append(args, q.Before)
	}
	query := "SELECT o.rowid, o.* FROM " + from
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY o.rowid DESC LIMIT ?"
	args = append(args, q.Limit+1)
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return RowsPage{}, fmt.Errorf("warehouse %s: browse %s: %w", schema, q.Table, err)
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return RowsPage{}, err
	}
	order := userColumnsFirst(names[1:])
	for i, j := range order { // the event type leads: it is what people scan for
		if names[1+j] == page.EventTypeColumn {
			order = append(append([]int{j}, order[:i]...), order[i+1:]...)
			break
		}
	}
	page.Columns = reorder(names[1:], order)
	for rows.Next() {
		vals := make([]any, len(names))
		ptrs := make([]any, len(names))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return RowsPage{}, err
		}
		if len(page.Rows) == q.Limit {
			page.Next = page.Rows[len(page.Rows)-1].Key
			break
		}
		key, _ := vals[0].(int64)
		page.Rows = append(page.Rows, BrowsedRow{Key: key, Values: reorder(plainValues(vals[1:]), order)})
	}
	if err := rows.Err(); err != nil {
		return RowsPage{}, err
	}
	rows.Close() // the reader has one connection
	if page.EventTypeColumn != "" {
		page.EventTypes, err = recentValues(ctx, db, page.EventTypeColumn)
	}
	return page, err
}

// Row returns one row of table by its key, as column name and value pairs.
func (w *Warehouse) Row(ctx context.Context, schema, table string, key int64) ([]string, []any, error) {
	db, release, ok, err := w.reader(ctx, schema)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, ErrNoTable
	}
	defer release()
	base, err := browsable(ctx, db, table)
	if err != nil {
		return nil, nil, err
	}
	rows, err := db.QueryContext(ctx, "SELECT * FROM "+quoteIdent(base)+" WHERE rowid = ?", key)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil, nil, err
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, nil, err
		}
		return nil, nil, ErrNoTable
	}
	vals := make([]any, len(names))
	ptrs := make([]any, len(names))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, nil, err
	}
	order := userColumnsFirst(names)
	return reorder(names, order), reorder(plainValues(vals), order), nil
}

// userColumnsFirst orders columns for reading: the event's own fields first, in table
// order, then the _sdc system columns.
func userColumnsFirst(names []string) []int {
	order := make([]int, 0, len(names))
	for pass := range 2 {
		for i, n := range names {
			system := strings.HasPrefix(n, "_sdc_") || n == colGeneratedPK
			if system == (pass == 1) {
				order = append(order, i)
			}
		}
	}
	return order
}

func reorder[T any](xs []T, order []int) []T {
	out := make([]T, len(order))
	for i, j := range order {
		out[i] = xs[j]
	}
	return out
}

// plainValues turns the times the driver parses out of TIMESTAMP columns back into the text
// stored in the file, so what the dashboard shows is what SQL returns.
func plainValues(vals []any) []any {
	for i, v := range vals {
		if t, ok := v.(time.Time); ok {
			vals[i] = formatTimestamp(t)
		}
	}
	return vals
}

// browsable returns the table to read for name: itself for a table of the file, data for
// the latest-version view. Anything else, SQLite's own tables included, is ErrNoTable.
func browsable(ctx context.Context, db *sql.DB, name string) (string, error) {
	if strings.HasPrefix(name, "sqlite_") {
		return "", ErrNoTable
	}
	var kind string
	err := db.QueryRowContext(ctx, "SELECT type FROM sqlite_master WHERE name = ? AND type IN ('table', 'view')", name).Scan(&kind)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNoTable
	}
	if err != nil {
		return "", err
	}
	if kind == "view" {
		if name != latestView {
			return "", ErrNoTable
		}
		return rootTable, nil
	}
	return name, nil
}

func columnsOf(ctx context.Context, db *sql.DB, table string) (map[string]bool, error) {
	return nameSet(ctx, db, "SELECT name FROM pragma_table_info(?)", table)
}

// nameSet runs a query of one text column and returns its values as a set.
func nameSet(ctx context.Context, db *sql.DB, query string, args ...any) (map[string]bool, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	set := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		set[name] = true
	}
	return set, rows.Err()
}

// latestKey is the primary-key column of data (the view exists only when there is one).
func latestKey(ctx context.Context, db *sql.DB) (string, error) {
	var field string
	if err := db.QueryRowContext(ctx, "SELECT COALESCE(primary_key, '') FROM _sdc_tables WHERE table_name = ?", rootTable).Scan(&field); err != nil {
		return "", err
	}
	var col string
	err := db.QueryRowContext(ctx, "SELECT column_name FROM _sdc_columns WHERE table_name = ? AND source_path = ? ORDER BY rowid LIMIT 1",
		rootTable, joinPath("", field)).Scan(&col)
	if err != nil {
		return "", fmt.Errorf("primary key column of %q: %w", field, err)
	}
	return col, nil
}

// recentValues lists the distinct values of a column among the newest rows of data: enough
// to offer as filters without scanning millions of rows.
func recentValues(ctx context.Context, db *sql.DB, col string) ([]string, error) {
	rows, err := db.QueryContext(ctx, fmt.Sprintf(`SELECT DISTINCT v FROM (SELECT %s AS v FROM %s ORDER BY rowid DESC LIMIT 2000)
		WHERE v IS NOT NULL ORDER BY v LIMIT 50`, quoteIdent(col), quoteIdent(rootTable)))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
