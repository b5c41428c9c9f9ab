package warehouse

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Table is a warehouse table as the dashboard shows it.
type Table struct {
	Name        string
	Parent      string // "" for data
	CreatedAt   time.Time
	Rows        int64
	ColumnCount int      // in the catalog, system columns included
	Columns     []Column // of the table Contents was asked for only; in the order added, system columns first
}

// Contents is what a schema holds, as the Data page and the overview show it.
type Contents struct {
	Tables []Table // data and its subtables, with their rows; none before the first load
	// Latest is data_latest's rows (see LatestView), from its counter: -1 when the schema has
	// no such view, or its counter is not made yet (a schema of an older version, until its
	// writer opens it), so that a page never waits for a scan of the view.
	Latest   int64
	Rejected int64 // records that went to _sdc_rejected
	// Key is data's primary-key column, when data's columns were asked for; "" otherwise, or
	// without a primary key.
	Key string
}

// Contents reads the catalog of schema with every count a page shows, and the columns of
// table columnsOf ("": none): one reader, one read of _sdc_counts (a COUNT(*) of a table only
// in a schema that predates the counters). Other tables' columns are counted, not listed: a
// schema of hundreds of wide subtables would make every page read them all.
func (w *Warehouse) Contents(ctx context.Context, schema, columnsOf string) (Contents, error) {
	none := Contents{Latest: -1}
	db, release, ok, err := w.reader(ctx, schema)
	if err != nil || !ok {
		return none, err
	}
	defer release()

	rows, err := db.QueryContext(ctx, `SELECT table_name, COALESCE(parent_table, ''), created_at, COALESCE(primary_key, '') FROM `+tableName(w.dest, schema, tablesCatalog)+` ORDER BY `+w.dest.catalogOrder())
	if err != nil {
		return none, fmt.Errorf("warehouse %s: read tables: %w", schema, err)
	}
	var tables []Table
	index := map[string]int{}
	var pkField string
	for rows.Next() {
		var t Table
		var pk string
		if err := rows.Scan(&t.Name, &t.Parent, timeScanner{&t.CreatedAt}, &pk); err != nil {
			rows.Close()
			return none, err
		}
		if t.Parent == "" {
			pkField = pk
		}
		index[t.Name] = len(tables)
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return none, err
	}

	rows, err = db.QueryContext(ctx, `SELECT table_name, COUNT(*) FROM `+tableName(w.dest, schema, columnsCatalog)+` GROUP BY table_name`)
	if err != nil {
		return none, fmt.Errorf("warehouse %s: count columns: %w", schema, err)
	}
	for rows.Next() {
		var name string
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			rows.Close()
			return none, err
		}
		if i, ok := index[name]; ok {
			tables[i].ColumnCount = n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return none, err
	}
	var key string
	if i, ok := index[columnsOf]; ok {
		if tables[i].Columns, err = listColumns(ctx, db, w.dest, schema, columnsOf); err != nil {
			return none, err
		}
		for _, c := range tables[i].Columns {
			if columnsOf == rootTable && pkField != "" && c.Source == displayPath(joinPath("", pkField)) {
				key = c.Name
			}
		}
	}

	counts := rowCounts(ctx, db, w.dest, schema)
	for i := range tables {
		tables[i].Rows, err = countRows(ctx, db, w.dest, schema, tables[i].Name, counts)
		if err != nil {
			return none, fmt.Errorf("warehouse %s: count %s: %w", schema, tables[i].Name, err)
		}
	}
	out := Contents{Tables: tables, Latest: -1, Key: key}
	if n, ok := counts[latestView]; ok {
		out.Latest = n
	}
	if out.Rejected, err = countRows(ctx, db, w.dest, schema, rejectedTable, counts); err != nil {
		return none, fmt.Errorf("warehouse %s: count rejected: %w", schema, err)
	}
	return out, nil
}

// listColumns is table's columns from the catalog, in the order they were added.
func listColumns(ctx context.Context, db querier, d dialect, schema, table string) ([]Column, error) {
	rows, err := db.QueryContext(ctx, `SELECT column_name, source_path, type, first_seen_at FROM `+tableName(d, schema, columnsCatalog)+
		` WHERE table_name = ? ORDER BY `+d.catalogOrder(), table)
	if err != nil {
		return nil, fmt.Errorf("warehouse %s: read the columns of %s: %w", schema, table, err)
	}
	defer rows.Close()
	var out []Column
	for rows.Next() {
		c := Column{Table: table}
		var path sql.NullString
		if err := rows.Scan(&c.Name, &path, &c.Type, timeScanner{&c.FirstSeen}); err != nil {
			return nil, err
		}
		if path.Valid {
			c.Source = displayPath(path.String)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// reader returns a pool to read schema with, and false when it has nothing yet.
func (w *Warehouse) reader(ctx context.Context, schema string) (querier, func(), bool, error) {
	if !validSchema(schema) {
		return nil, nil, false, fmt.Errorf("%w: %q", ErrInvalidSchema, schema)
	}
	return w.dest.reader(ctx, schema)
}

// timeScanner reads a catalog time: PostgreSQL returns a time, SQLite the text it stores.
type timeScanner struct{ t *time.Time }

func (s timeScanner) Scan(v any) error {
	switch v := v.(type) {
	case time.Time:
		*s.t = v.UTC()
	case string:
		*s.t, _ = time.Parse(timestampLayout, v)
	case []byte:
		*s.t, _ = time.Parse(timestampLayout, string(v))
	}
	return nil
}
