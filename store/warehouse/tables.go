package warehouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
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

// Tables reads the catalog of schema from its file, with row counts. A
// schema that has not loaded anything yet has no tables.
func (w *Warehouse) Tables(ctx context.Context, schema string) ([]Table, error) {
	db, err := w.openReader(schema)
	if db == nil || err != nil {
		return nil, err
	}
	defer db.Close()

	rows, err := db.QueryContext(ctx, `SELECT table_name, COALESCE(parent_table, ''), CAST(created_at AS TEXT) FROM _sdc_tables ORDER BY rowid`)
	if err != nil {
		return nil, fmt.Errorf("warehouse %s: read tables: %w", schema, err)
	}
	var tables []Table
	index := map[string]int{}
	for rows.Next() {
		var t Table
		var created string
		if err := rows.Scan(&t.Name, &t.Parent, &created); err != nil {
			rows.Close()
			return nil, err
		}
		t.CreatedAt, _ = time.Parse(timestampLayout, created)
		index[t.Name] = len(tables)
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	rows, err = db.QueryContext(ctx, `SELECT table_name, column_name, source_path, type, CAST(first_seen_at AS TEXT) FROM _sdc_columns ORDER BY rowid`)
	if err != nil {
		return nil, fmt.Errorf("warehouse %s: read columns: %w", schema, err)
	}
	for rows.Next() {
		var c Column
		var path sql.NullString
		var seen string
		if err := rows.Scan(&c.Table, &c.Name, &path, &c.Type, &seen); err != nil {
			rows.Close()
			return nil, err
		}
		if path.Valid {
			c.Source = displayPath(path.String)
		}
		c.FirstSeen, _ = time.Parse(timestampLayout, seen)
		if i, ok := index[c.Table]; ok {
			tables[i].Columns = append(tables[i].Columns, c)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	for i := range tables {
		err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+quoteIdent(tables[i].Name)).Scan(&tables[i].Rows)
		if err != nil {
			return nil, fmt.Errorf("warehouse %s: count %s: %w", schema, tables[i].Name, err)
		}
	}
	return tables, nil
}

// RejectedCount is how many records of schema went to _sdc_rejected.
func (w *Warehouse) RejectedCount(ctx context.Context, schema string) (int64, error) {
	db, err := w.openReader(schema)
	if db == nil || err != nil {
		return 0, err
	}
	defer db.Close()
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM _sdc_rejected`).Scan(&n); err != nil {
		return 0, fmt.Errorf("warehouse %s: count rejected: %w", schema, err)
	}
	return n, nil
}

// openReader opens schema's file read-only beside the writer (WAL lets
// readers run during commits); it returns nil, nil when there is no file.
func (w *Warehouse) openReader(schema string) (*sql.DB, error) {
	path := w.Path(schema)
	if path == "" {
		return nil, fmt.Errorf("%w: %q", ErrInvalidSchema, schema)
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	q := url.Values{"mode": {"ro"}, "_pragma": {"busy_timeout(5000)"}}
	db, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}).String())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}
