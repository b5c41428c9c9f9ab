package warehouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrNoTable is returned when browsing a table or view the schema does not have.
var ErrNoTable = errors.New("no such table")

// LatestView is the view holding the latest version of each primary key.
const LatestView = latestView

// RejectedTable is the table of records that could not be loaded, made with each schema.
const RejectedTable = rejectedTable

// RejectedColumnCount is how many columns RejectedTable has (Stitch's, fixed: not in the catalog).
func RejectedColumnCount() int { return len(rejectedColumns) }

// eventTypeColumns are the fields sources name their event type with, as columns, the
// preferred first: Vero's type, Iterable's eventName, Mandrill's and SendGrid's event.
var eventTypeColumns = []string{"type", "eventname", "event"}

// The event-type column of data is the column the Data page filters on and the one indexed
// for it (see dialect.eventTypeIndexSQL), decided by one rule here: of data's text columns (the
// filter compares with a text, as a number or boolean column could not be) in the order they
// were added, the first of eventTypeColumns in any case, and of two spellings of one (type and
// Type, on PostgreSQL) the one added first. It depends only on the catalog; a column added
// later takes over only when it is preferred, and is then indexed as it is added.

// eventTypeIndex names the index of data's event-type column col, alike on every destination.
func eventTypeIndex(col string) string { return rootTable + "_" + col }

// eventTypeRank is name's place in eventTypeColumns, in any case; -1 when it is none.
func eventTypeRank(name string) int {
	lower := asciiLower(name)
	for i, c := range eventTypeColumns {
		if lower == c {
			return i
		}
	}
	return -1
}

// takesEventType reports whether text column name of data, added after the event-type column
// current ("" for none), becomes the event-type column.
func takesEventType(name, current string) bool {
	r := eventTypeRank(name)
	return r >= 0 && (current == "" || r < eventTypeRank(current))
}

// eventTypeColumn is data's event-type column, from the catalog; "" when there is none.
func eventTypeColumn(ctx context.Context, db querier, d dialect, schema string) (string, error) {
	rows, err := db.QueryContext(ctx, "SELECT column_name FROM "+tableName(d, schema, columnsCatalog)+
		" WHERE table_name = ? AND type = 'string' ORDER BY "+d.catalogOrder(), rootTable)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	col := ""
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return "", err
		}
		if takesEventType(name, col) {
			col = name
		}
	}
	return col, rows.Err()
}

// RowsQuery selects one page of a table's rows, newest first.
type RowsQuery struct {
	Table     string // a table of the schema, or LatestView for the latest version per key
	EventType string // only rows whose event-type column holds this ("" for all)
	Before    string // page cursor: rows older than this key; "" starts at the newest
	Limit     int
}

// RowsPage is one page of rows; the event's fields come first, the _sdc columns last.
type RowsPage struct {
	Columns         []string
	Rows            []BrowsedRow
	Next            string   // cursor of the next (older) page; "" on the last page
	EventTypeColumn string   // the column EventType filters on; "" when the table has none
	EventTypes      []string // every event type the table holds (up to maxEventTypes), for the filter
	// ReadBound: a page of the latest versions stopped after reading LatestReadBound rows of
	// data with fewer than a page of them among those rows (the rest have newer versions);
	// Next goes on from there.
	ReadBound bool
}

// BrowsedRow is one row: its key (see dialect.rowKey; it follows arrival, as rows are only
// appended) and its values (nil, int64, float64, bool, string).
type BrowsedRow struct {
	Key    string
	Values []any
}

// ErrBadKey is returned for a row key or page cursor that no row could have.
var ErrBadKey = errors.New("not a row key")

// browse is a read of one table of a schema, as the catalog describes it.
type browse struct {
	d      dialect
	db     querier
	schema string
	base   string   // the table read: data for the latest-version view
	key    []string // the key columns of base
	hasKey bool     // data has a primary key (and so data_latest)
	// columns is what a row shows: o.* for the catalog's tables, Stitch's columns of
	// _sdc_rejected in their order (without a key of the destination's).
	columns string
}

// openBrowse finds name among schema's tables, the latest-version view or the rejects;
// anything else, the catalog's own tables included, is ErrNoTable.
func (w *Warehouse) openBrowse(ctx context.Context, schema, name string) (*browse, func(), error) {
	if !storableText(name) { // no table has such a name, and PostgreSQL would refuse to compare it
		return nil, nil, ErrNoTable
	}
	db, release, ok, err := w.reader(ctx, schema)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, ErrNoTable
	}
	b := &browse{d: w.dest, db: db, schema: schema, base: name, columns: "o.*"}
	if name == rejectedTable { // made with the schema, beside the catalog
		b.key, b.columns = []string{w.dest.rejectedKey()}, "o."+strings.Join(rejectedColumns, ", o.")
		return b, release, nil
	}
	table := name
	if name == latestView {
		table = rootTable
	}
	var level int
	var pk sql.NullString
	err = db.QueryRowContext(ctx, `SELECT level, primary_key FROM `+b.table(tablesCatalog)+` WHERE table_name = ?`, table).Scan(&level, &pk)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && name == latestView && pk.String == "") {
		err = ErrNoTable
	}
	if err != nil {
		release()
		return nil, nil, err
	}
	b.base, b.key, b.hasKey = table, w.dest.rowKey(level), pk.String != ""
	return b, release, nil
}

func (b *browse) table(name string) string { return tableName(b.d, b.schema, name) }

// keyList is the key columns of o, for SELECT and ORDER BY.
func (b *browse) keyList(order string) string { return b.keyOf("o", order) }

// keyOf is the key columns of the row alias, each followed by order.
func (b *browse) keyOf(alias, order string) string {
	parts := make([]string, len(b.key))
	for i, k := range b.key {
		parts[i] = alias + "." + quoteIdent(k) + order
	}
	return strings.Join(parts, ", ")
}

// keyCompare compares the key columns of the row alias with a key's values: (k1, k2) op (?, ?).
func (b *browse) keyCompare(alias, op string) string {
	return "(" + b.keyOf(alias, "") + ") " + op + " (" + strings.TrimSuffix(strings.Repeat("?, ", len(b.key)), ", ") + ")"
}

// keyWhere compares the key columns of o with a key's values: (k1, k2) op (?, ?).
func (b *browse) keyWhere(op, key string) (string, []any, error) {
	vals, err := parseKey(key, len(b.key))
	if err != nil {
		return "", nil, err
	}
	return b.keyCompare("o", op), vals, nil
}

// parseKey reads a row key: n integers joined by '-'.
func parseKey(key string, n int) ([]any, error) {
	parts := strings.Split(key, "-")
	if len(parts) != n {
		return nil, ErrBadKey
	}
	vals := make([]any, n)
	for i, p := range parts {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil || v < 0 {
			return nil, ErrBadKey
		}
		vals[i] = v
	}
	return vals, nil
}

func formatKey(vals []any) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, "-")
}

// latestWhere keeps the newest version of each key of data; with asOf (a row key of data), the
// newest of the rows up to that key, as data_latest was when that row was the last.
func (b *browse) latestWhere(ctx context.Context, asOf []any) (string, []any, error) {
	pk, err := latestKey(ctx, b.db, b.d, b.schema)
	if err != nil {
		return "", nil, err
	}
	if asOf == nil {
		return latestCondition(b.table(rootTable), pk, ""), nil, nil
	}
	return latestCondition(b.table(rootTable), pk, b.keyCompare("n", "<=")), asOf, nil
}

// selection is the WHERE conditions of reading table (or LatestView) with an event-type filter
// ("" for none), and the column that filter is on ("" when the table has none). asOf, if not
// nil, is a row key of the table: the latest versions are those of the rows up to it.
func (b *browse) selection(ctx context.Context, table, eventType string, asOf []any) (where []string, args []any, eventCol string, err error) {
	if b.base == rootTable {
		if eventCol, err = eventTypeColumn(ctx, b.db, b.d, b.schema); err != nil {
			return nil, nil, "", err
		}
	}
	if table == latestView {
		latest, vals, err := b.latestWhere(ctx, asOf)
		if err != nil {
			return nil, nil, "", err
		}
		where, args = append(where, latest), append(args, vals...)
	}
	switch {
	case eventType == "" || eventCol == "":
	case !storableText(eventType): // no row holds it (see scalar), and PostgreSQL would refuse to compare it
		where = append(where, "1 = 0")
	default:
		where = append(where, "o."+quoteIdent(eventCol)+" = ?")
		args = append(args, eventType)
	}
	return where, args, eventCol, nil
}

// pageSelection is selection for the page q of table, with its type filter, from its cursor.
func (b *browse) pageSelection(ctx context.Context, table string, q RowsQuery) (where []string, args []any, eventCol string, err error) {
	if where, args, eventCol, err = b.selection(ctx, table, q.EventType, nil); err != nil || q.Before == "" {
		return where, args, eventCol, err
	}
	cond, vals, err := b.keyWhere("<", q.Before)
	if err != nil {
		return nil, nil, "", err
	}
	return append(where, cond), append(args, vals...), eventCol, nil
}

// storableText reports whether s can be a text value of the warehouse: UTF-8 without NUL, as
// every loaded string is (decode, scalar).
func storableText(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

// Rows returns a page of table's rows, newest first. Paging is by key, so a page costs the
// same at the millionth row as at the first. A schema that has loaded nothing has no tables.
func (w *Warehouse) Rows(ctx context.Context, schema string, q RowsQuery) (RowsPage, error) {
	b, release, err := w.openBrowse(ctx, schema, q.Table)
	if err != nil {
		return RowsPage{}, err
	}
	defer release()
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 500
	}
	var page RowsPage
	where, args, eventCol, err := b.pageSelection(ctx, q.Table, q)
	if err != nil {
		return RowsPage{}, err
	}
	page.EventTypeColumn = eventCol
	var bound []any
	if q.Table == latestView {
		if bound, err = b.latestBound(ctx, q); err != nil {
			return RowsPage{}, err
		}
		if bound != nil {
			where = append(where, b.keyCompare("o", ">="))
			args = append(args, bound...)
		}
	}
	query := "SELECT " + b.keyList("") + ", " + b.columns + " FROM " + b.table(b.base) + " o"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY " + b.keyList(" DESC") + " LIMIT ?"
	args = append(args, q.Limit+1)
	booleans, err := booleanColumns(ctx, b) // before the rows: a SQLite reader has one connection
	if err != nil {
		return RowsPage{}, err
	}
	pkCol := ""
	if b.base == rootTable && b.hasKey {
		if pkCol, err = latestKey(ctx, b.db, b.d, b.schema); err != nil {
			return RowsPage{}, err
		}
	}
	rows, err := b.db.QueryContext(ctx, query, args...)
	if err != nil {
		return RowsPage{}, fmt.Errorf("warehouse %s: browse %s: %w", schema, q.Table, err)
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return RowsPage{}, err
	}
	nk := len(b.key)
	order := b.columnOrder(names[nk:])
	// The primary key leads, then the event type: what people scan for.
	for _, lead := range []string{page.EventTypeColumn, pkCol} {
		for i, j := range order {
			if lead != "" && names[nk+j] == lead {
				order = append(append([]int{j}, order[:i]...), order[i+1:]...)
				break
			}
		}
	}
	page.Columns = reorder(names[nk:], order)
	for rows.Next() {
		vals, err := scanAll(rows, len(names))
		if err != nil {
			return RowsPage{}, err
		}
		if len(page.Rows) == q.Limit {
			page.Next = page.Rows[len(page.Rows)-1].Key
			break
		}
		page.Rows = append(page.Rows, BrowsedRow{Key: formatKey(vals[:nk]), Values: reorder(plainValues(vals[nk:], names[nk:], booleans), order)})
	}
	if err := rows.Err(); err != nil {
		return RowsPage{}, err
	}
	rows.Close() // a SQLite reader has one connection
	if bound != nil && page.Next == "" {
		page.Next, page.ReadBound = formatKey(bound), true
	}
	if page.EventTypeColumn != "" {
		page.EventTypes, err = eventTypes(ctx, b, page.EventTypeColumn)
	}
	return page, err
}

// LatestReadBound is the most rows of data a page of the latest versions reads: each row costs
// an index probe for a newer version of its key, and a key sent again and again would otherwise
// make a page read every older version of it (500,000 versions of one key: 1.6 s a page).
const LatestReadBound = 5000

// latestBound is the key of the LatestReadBound-th row of data, newest first, that the page q
// would read (with its type filter, from its cursor); nil when no row is left after it. The
// page reads no row older than it.
func (b *browse) latestBound(ctx context.Context, q RowsQuery) ([]any, error) {
	where, args, _, err := b.pageSelection(ctx, rootTable, q)
	if err != nil {
		return nil, err
	}
	query := "SELECT " + b.keyList("") + " FROM " + b.table(b.base) + " o"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	// The offset is written out, not a parameter, so that PostgreSQL plans for it: a walk of an
	// index, not a sort of every row of the type. Two rows: a bound that is the last row left
	// would only lead to an empty page.
	query += " ORDER BY " + b.keyList(" DESC") + " LIMIT 2 OFFSET " + strconv.Itoa(LatestReadBound-1)
	db, done, err := b.d.pageReader(ctx, b.db)
	if err != nil {
		return nil, err
	}
	defer done()
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("warehouse %s: browse %s: %w", b.schema, latestView, err)
	}
	defer rows.Close()
	var bound []any
	if rows.Next() {
		if bound, err = scanAll(rows, len(b.key)); err != nil {
			return nil, err
		}
	}
	if !rows.Next() {
		bound = nil
	}
	return bound, rows.Err()
}

// scanAll scans a row of n columns into plain values.
func scanAll(rows *sql.Rows, n int) ([]any, error) {
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	return vals, rows.Scan(ptrs...)
}

// Row returns one row of table by its key, as column name and value pairs.
func (w *Warehouse) Row(ctx context.Context, schema, table, key string) ([]string, []any, error) {
	b, release, err := w.openBrowse(ctx, schema, table)
	if err != nil {
		return nil, nil, err
	}
	defer release()
	cond, args, err := b.keyWhere("=", key)
	if err != nil {
		return nil, nil, err
	}
	booleans, err := booleanColumns(ctx, b)
	if err != nil {
		return nil, nil, err
	}
	rows, err := b.db.QueryContext(ctx, "SELECT "+b.columns+" FROM "+b.table(b.base)+" o WHERE "+cond, args...)
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
	vals, err := scanAll(rows, len(names))
	if err != nil {
		return nil, nil, err
	}
	order := b.columnOrder(names)
	return reorder(names, order), reorder(plainValues(vals, names, booleans), order), nil
}

// columnOrder orders the columns of a row for reading: those of _sdc_rejected as they are
// (when, which table, why, the record), the others with the event's own fields first.
func (b *browse) columnOrder(names []string) []int {
	order := make([]int, 0, len(names))
	if b.base == rejectedTable {
		for i := range names {
			order = append(order, i)
		}
		return order
	}
	return userColumnsFirst(names)
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

// plainValues shows values alike whatever the destination: the times the drivers parse out
// of timestamp columns as the text SQLite stores, and booleans (SQLite's 0 and 1) as true and
// false.
func plainValues(vals []any, names []string, booleans map[string]bool) []any {
	for i, v := range vals {
		switch x := v.(type) {
		case time.Time:
			vals[i] = formatTimestamp(x)
		case int64:
			if booleans[names[i]] {
				vals[i] = x != 0
			}
		}
	}
	return vals
}

// nameSet runs a query of one text column and returns its values as a set.
func nameSet(ctx context.Context, db querier, query string, args ...any) (map[string]bool, error) {
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
func latestKey(ctx context.Context, db querier, d dialect, schema string) (string, error) {
	var field string
	if err := db.QueryRowContext(ctx, "SELECT COALESCE(primary_key, '') FROM "+tableName(d, schema, tablesCatalog)+" WHERE table_name = ?", rootTable).Scan(&field); err != nil {
		return "", err
	}
	var col string
	err := db.QueryRowContext(ctx, "SELECT column_name FROM "+tableName(d, schema, columnsCatalog)+" WHERE table_name = ? AND source_path = ? ORDER BY "+d.catalogOrder()+" LIMIT 1",
		rootTable, joinPath("", field)).Scan(&col)
	if err != nil {
		return "", fmt.Errorf("primary key column of %q: %w", field, err)
	}
	return col, nil
}

// maxEventTypes bounds the types the filter offers.
const maxEventTypes = 500

// eventTypes lists the distinct values of data's event-type column, every one the table holds
// (up to maxEventTypes), by a loose index scan of the column's index: one index probe per
// value, whatever the number of rows.
func eventTypes(ctx context.Context, b *browse, col string) ([]string, error) {
	c, data := "o."+quoteIdent(col), b.table(rootTable)
	rows, err := b.db.QueryContext(ctx, fmt.Sprintf(`WITH RECURSIVE t(v) AS (
		SELECT MIN(%[1]s) FROM %[2]s o
		UNION ALL
		SELECT (SELECT MIN(%[1]s) FROM %[2]s o WHERE %[1]s > t.v) FROM t WHERE t.v IS NOT NULL)
		SELECT v FROM t WHERE v IS NOT NULL LIMIT %[3]d`, c, data, maxEventTypes))
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
