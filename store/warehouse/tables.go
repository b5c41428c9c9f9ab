package warehouse

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Table is a warehouse table as the dashboard shows it.
type Table struct {
	Name      string
	Parent    string // "" for data
	CreatedAt time.Time
	Rows      int64
	Columns   []Column // in the order they were added, system columns first
}

// Tables reads the catalog of schema from its file, with row counts (from _sdc_counts). A
// schema that has not loaded anything yet has no tables.
func (w *Warehouse) Tables(ctx context.Context, schema string) ([]Table, error) {
	db, release, ok, err := w.reader(ctx, schema)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, nil
	}
	defer release()

	rows, err := db.QueryContext(ctx, `SELECT table_name, COALESCE(parent_table, ''), created_at FROM `+tableName(w.dest, schema, tablesCatalog)+` ORDER BY `+w.dest.catalogOrder())
	if err != nil {
		return nil, fmt.Errorf("warehouse %s: read tables: %w", schema, err)
	}
	var tables []Table
	index := map[string]int{}
	for rows.Next() {
		var t Table
		if err := rows.Scan(&t.Name, &t.Parent, timeScanner{&t.CreatedAt}); err != nil {
			rows.Close()
			return nil, err
		}
		index[t.Name] = len(tables)
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	rows, err = db.QueryContext(ctx, `SELECT table_name, column_name, source_path, type, first_seen_at FROM `+tableName(w.dest, schema, columnsCatalog)+` ORDER BY `+w.dest.catalogOrder())
	if err != nil {
		return nil, fmt.Errorf("warehouse %s: read columns: %w", schema, err)
	}
	for rows.Next() {
		var c Column
		var path sql.NullString
		if err := rows.Scan(&c.Table, &c.Name, &path, &c.Type, timeScanner{&c.FirstSeen}); err != nil {
			rows.Close()
			return nil, err
		}
		if path.Valid {
			c.Source = displayPath(path.String)
		}
		if i, ok := index[c.Table]; ok {
			tables[i].Columns = append(tables[i].Columns, c)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	counts := rowCounts(ctx, db, w.dest, schema)
	for i := range tables {
		tables[i].Rows, err = countRows(ctx, db, w.dest, schema, tables[i].Name, counts)
		if err != nil {
			return nil, fmt.Errorf("warehouse %s: count %s: %w", schema, tables[i].Name, err)
		}
	}
	return tables, nil
}

// RejectedCount is how many records of schema went to _sdc_rejected.
func (w *Warehouse) RejectedCount(ctx context.Context, schema string) (int64, error) {
	db, release, ok, err := w.reader(ctx, schema)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, nil
	}
	defer release()
	n, err := countRows(ctx, db, w.dest, schema, rejectedTable, rowCounts(ctx, db, w.dest, schema))
	if err != nil {
		return 0, fmt.Errorf("warehouse %s: count rejected: %w", schema, err)
	}
	return n, nil
}

// LatestCount is how many rows data_latest (see LatestView) has, from its counter: -1 when
// schema has no such view, or its counter is not made yet (a schema of an older version,
// until its writer opens it), so that a page never waits for a scan of the view.
func (w *Warehouse) LatestCount(ctx context.Context, schema string) (int64, error) {
	db, release, ok, err := w.reader(ctx, schema)
	if err != nil || !ok {
		return -1, err
	}
	defer release()
	if n, ok := rowCounts(ctx, db, w.dest, schema)[latestView]; ok {
		return n, nil
	}
	return -1, nil
}

// reader returns a pool to read schema with, and false when it has nothing yet.
func (w *Warehouse) reader(ctx context.Context, schema string) (querier, func(), bool, error) {
	if !ValidSchema(schema) {
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
