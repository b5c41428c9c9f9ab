package warehouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Copying a schema from one warehouse into another (the SQLite files into PostgreSQL, when a
// user moves to several nodes): the destination's catalog is rebuilt by replaying the source's
// tables and columns through the same catalog code that loading uses, so names, types, DDL,
// indexes and the data_latest view are the destination's own, as if it had loaded the records
// itself; then the rows are copied with their _sdc_* values, _sdc_sequence included.

// ErrSchemaExists is returned when the destination already holds tables of the schema.
var ErrSchemaExists = errors.New("the destination already has tables in this schema")

// ErrSchemaBehind is ErrSchemaExists where the source has loaded rows since the copy: a second
// copy would leave them out, so the caller must say so.
var ErrSchemaBehind = fmt.Errorf("%w, and the source has rows loaded since that the destination lacks", ErrSchemaExists)

// CopyReport is what CopySchema copied.
type CopyReport struct {
	Tables     int   // data and its subtables
	Rows       int64 // in all of them
	Rejected   int64 // rows of _sdc_rejected, Refused included
	Refused    int64 // records the destination could not hold, moved to _sdc_rejected
	Deliveries int64 // delivery ids remembered for deduplication
}

// copyChunk is how many rows go in one INSERT of a copy, fewer when they are wide.
const copyChunk = 256

// sourceTable is a table of the source's catalog, with its columns in the order they came.
type sourceTable struct {
	name, parent, path string
	pk                 sql.NullString
	level              int
	created            time.Time
	columns            []sourceColumn
}

type sourceColumn struct {
	name      string
	path      sql.NullString // NULL for system columns
	typ       colType
	firstSeen time.Time
}

// Schemas lists the schemas the warehouse holds (one per integration, and those kept after an
// integration was deleted), by name.
func (w *Warehouse) Schemas(ctx context.Context) ([]string, error) { return w.dest.schemas(ctx) }

// CopySchema copies schema from w into dst: its tables with their catalog (column names, types,
// source fields, first seen), every row with its _sdc_* values unchanged, _sdc_rejected, the
// delivery ids and the counters, in one transaction of dst. Nothing may load into the schema
// meanwhile, on either side. A schema w does not have copies nothing; one dst has already
// is refused with ErrSchemaExists.
func (w *Warehouse) CopySchema(ctx context.Context, dst *Warehouse, schema string) (CopyReport, error) {
	if !validSchema(schema) {
		return CopyReport{}, fmt.Errorf("%w: %q", ErrInvalidSchema, schema)
	}
	if _, release, ok, err := w.dest.reader(ctx, schema); err != nil || !ok {
		return CopyReport{}, err
	} else {
		release()
	}
	if q, release, ok, err := dst.dest.reader(ctx, schema); err != nil {
		return CopyReport{}, err
	} else if ok {
		var n int
		// A schema opened once and never loaded has its system tables (and counters): it is
		// empty unless one of them holds something.
		err := q.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM `+tableName(dst.dest, schema, tablesCatalog)+`) + (SELECT COUNT(*) FROM `+
			tableName(dst.dest, schema, rejectedTable)+`) + (SELECT COUNT(*) FROM `+tableName(dst.dest, schema, deliveriesTable)+`)`).Scan(&n)
		release()
		if err != nil {
			return CopyReport{}, err
		}
		if n > 0 {
			behind, err := w.LoadedSinceCopy(ctx, dst, schema)
			if err != nil {
				return CopyReport{}, err
			}
			if behind {
				return CopyReport{}, fmt.Errorf("%w: %s", ErrSchemaBehind, schema)
			}
			return CopyReport{}, fmt.Errorf("%w: %s", ErrSchemaExists, schema)
		}
	}
	// The source is opened as its writer would open it, which brings a file of an older
	// version to this one's form (counters, indexes) first.
	src, err := w.dest.session(ctx, schema)
	if err != nil {
		return CopyReport{}, fmt.Errorf("open %s: %w", schema, err)
	}
	defer src.close()
	if err := initCounts(ctx, src, w.dest, schema); err != nil {
		return CopyReport{}, fmt.Errorf("count %s: %w", schema, err)
	}
	tables, err := readSourceCatalog(ctx, src, w.dest, schema)
	if err != nil {
		return CopyReport{}, fmt.Errorf("read the catalog of %s: %w", schema, err)
	}

	out, err := dst.dest.session(ctx, schema)
	if err != nil {
		return CopyReport{}, err
	}
	defer out.close()
	if err := out.begin(ctx); err != nil {
		return CopyReport{}, err
	}
	c := copier{src: src, out: out, from: w.dest, to: dst.dest, schema: schema}
	report, err := c.copy(ctx, tables, dst.opts)
	if err != nil {
		out.end(ctx, false) //nolint:errcheck // the error that matters is err
		return CopyReport{}, fmt.Errorf("copy %s: %w", schema, err)
	}
	if err := out.end(ctx, true); err != nil {
		return CopyReport{}, fmt.Errorf("copy %s: commit: %w", schema, err)
	}
	return report, nil
}

// LoadedSinceCopy reports whether dst, which holds schema, lacks w's newest data row: rows
// loaded into w after schema was copied, or before a first load into dst made the schema
// there (the copy keeps _sdc_sequence, so the row is found by it). The newest comes from w's
// counters, which the copy brought to this version's form.
func (w *Warehouse) LoadedSinceCopy(ctx context.Context, dst *Warehouse, schema string) (bool, error) {
	q, release, ok, err := w.dest.reader(ctx, schema)
	if err != nil || !ok {
		return false, err
	}
	var last sql.NullInt64
	err = q.QueryRowContext(ctx, `SELECT last_sequence FROM `+tableName(w.dest, schema, countsTable)+` WHERE table_name = ?`, rootTable).Scan(&last)
	release()
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !last.Valid) {
		return false, nil // no data table
	}
	if err != nil {
		return false, fmt.Errorf("read the counters of %s: %w", schema, err)
	}
	q, release, ok, err = dst.dest.reader(ctx, schema)
	if err != nil || !ok {
		return ok, err
	}
	defer release()
	var found bool
	err = q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+tableName(dst.dest, schema, tablesCatalog)+` WHERE table_name = ?)`, rootTable).Scan(&found)
	if err == nil && found {
		err = q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+tableName(dst.dest, schema, rootTable)+` WHERE _sdc_sequence = ?)`, last.Int64).Scan(&found)
	}
	if err != nil {
		return false, fmt.Errorf("look for %s's newest row in the destination: %w", schema, err)
	}
	return !found, nil
}

func readSourceCatalog(ctx context.Context, q querier, d dialect, schema string) ([]*sourceTable, error) {
	rows, err := q.QueryContext(ctx, `SELECT table_name, COALESCE(parent_table, ''), source_path, level, primary_key, created_at FROM `+
		tableName(d, schema, tablesCatalog)+` ORDER BY `+d.catalogOrder())
	if err != nil {
		return nil, err
	}
	var tables []*sourceTable
	byName := map[string]*sourceTable{}
	for rows.Next() {
		t := &sourceTable{}
		if err := rows.Scan(&t.name, &t.parent, &t.path, &t.level, &t.pk, timeScanner{&t.created}); err != nil {
			rows.Close()
			return nil, err
		}
		tables = append(tables, t)
		byName[t.name] = t
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = q.QueryContext(ctx, `SELECT table_name, column_name, source_path, type, first_seen_at FROM `+
		tableName(d, schema, columnsCatalog)+` ORDER BY `+d.catalogOrder())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var table, typeName string
		var col sourceColumn
		if err := rows.Scan(&table, &col.name, &col.path, &typeName, timeScanner{&col.firstSeen}); err != nil {
			return nil, err
		}
		if col.typ, err = parseColType(typeName); err != nil {
			return nil, fmt.Errorf("column %s.%s: %w", table, col.name, err)
		}
		t := byName[table]
		if t == nil {
			return nil, fmt.Errorf("column %s.%s: its table is missing from the catalog", table, col.name)
		}
		t.columns = append(t.columns, col)
	}
	return tables, rows.Err()
}

// copier copies one schema from a source session into a destination's open transaction.
type copier struct {
	src      session
	out      session
	from, to destination
	schema   string
	refused  []refusedRow
}

// refusedRow is a row the destination refused (see destination.refusal: a row PostgreSQL cannot
// hold, where SQLite could): its record goes to _sdc_rejected, as loading would have sent it, and
// the record's rows in the other tables (its _sdc_sequence) are left out with it.
type refusedRow struct {
	table, reason string
	row           map[string]any // its columns, as the source held them
	sequence      int64
}

func (c *copier) copy(ctx context.Context, tables []*sourceTable, opts Options) (CopyReport, error) {
	// Tables are copied as they are: one made wider under a larger -max-columns than the
	// destination's keeps every column (the limit is for columns loading adds).
	cat := newCatalog(c.schema, c.to, maxColumnsLimit, opts.MaxTables)
	made := make([]*table, len(tables))
	for i, t := range tables {
		var err error
		if made[i], err = c.replayTable(cat, t); err != nil {
			return CopyReport{}, fmt.Errorf("table %s: %w", t.name, err)
		}
	}
	// Each table's source columns, and what the destination named them: the same but where
	// its rules differ (a name it keeps for itself; a float column of an older file, __fl).
	names := make([][]string, len(tables))
	for i, t := range tables {
		for _, col := range t.columns {
			name, err := c.replayColumn(cat, made[i], col)
			if err != nil {
				return CopyReport{}, fmt.Errorf("table %s, column %s: %w", t.name, col.name, err)
			}
			names[i] = append(names[i], name)
		}
	}
	for _, st := range cat.schemaChanges() {
		if err := c.out.exec(ctx, []byte(st.sql), st.args...); err != nil {
			return CopyReport{}, fmt.Errorf("create the tables: %w", err)
		}
	}
	cat.committed()

	var report CopyReport
	counts := tableName(c.to, c.schema, countsTable)
	for i, t := range tables {
		srcCols, types := make([]string, len(t.columns)), make([]colType, len(t.columns))
		for j, col := range t.columns {
			srcCols[j], types[j] = col.name, col.typ
		}
		n, err := c.copyRows(ctx, t.name, c.from.rowKey(t.level), srcCols, names[i], types, slices.Index(names[i], colSequence))
		if err != nil {
			return CopyReport{}, fmt.Errorf("table %s: %w", t.name, err)
		}
		if err := c.out.exec(ctx, []byte(`UPDATE `+counts+` SET row_count = ? WHERE table_name = ?`), n, t.name); err != nil {
			return CopyReport{}, err
		}
		report.Tables++
		report.Rows += n
	}
	if len(tables) > 0 {
		var last sql.NullInt64
		err := c.src.QueryRowContext(ctx, `SELECT last_sequence FROM `+tableName(c.from, c.schema, countsTable)+` WHERE table_name = ?`, rootTable).Scan(&last)
		if err != nil {
			return CopyReport{}, fmt.Errorf("read the last sequence: %w", err)
		}
		if err := c.out.exec(ctx, []byte(`UPDATE `+counts+` SET last_sequence = ? WHERE table_name = ?`), last, rootTable); err != nil {
			return CopyReport{}, err
		}
		// data_latest holds the same rows as the source's: its counter too (initCounts made it).
		var latest int64
		err = c.src.QueryRowContext(ctx, `SELECT row_count FROM `+tableName(c.from, c.schema, countsTable)+` WHERE table_name = ?`, latestView).Scan(&latest)
		switch {
		case errors.Is(err, sql.ErrNoRows): // no primary key, no view
		case err != nil:
			return CopyReport{}, fmt.Errorf("read the count of %s: %w", latestView, err)
		default:
			if err := c.out.exec(ctx, []byte(`UPDATE `+counts+` SET row_count = ? WHERE table_name = ?`), latest, latestView); err != nil {
				return CopyReport{}, err
			}
		}
	}
	var err error
	var refused []refusedRecord
	if len(c.refused) > 0 {
		if refused, report.Rows, err = c.leaveOutRefused(ctx, tables, names); err != nil {
			return CopyReport{}, fmt.Errorf("leave out the records the destination refused: %w", err)
		}
	}
	report.Rejected, err = c.copyRows(ctx, rejectedTable, []string{c.from.rejectedKey()}, rejectedColumns, rejectedColumns,
		[]colType{typeTimestamp, typeString, typeString, typeString}, -1)
	if err != nil {
		return CopyReport{}, fmt.Errorf("%s: %w", rejectedTable, err)
	}
	at := formatTimestamp(time.Now())
	for _, r := range refused {
		record, err := recordText(r.rows)
		if err != nil {
			return CopyReport{}, fmt.Errorf("a refused record (_sdc_sequence %d): %w", r.sequence, err)
		}
		err = c.out.exec(ctx, []byte(`INSERT INTO `+tableName(c.to, c.schema, rejectedTable)+` (_sdc_rejected_at, table_name, reason, record) VALUES (?, ?, ?, ?)`),
			at, r.table, r.reason, record)
		if err != nil {
			return CopyReport{}, fmt.Errorf("%s: %w", rejectedTable, err)
		}
	}
	report.Refused = int64(len(refused))
	report.Rejected += report.Refused
	// (the destination's writer may have made this counter already, at 0)
	if err := c.out.exec(ctx, []byte(`DELETE FROM `+counts+` WHERE table_name = ?`), rejectedTable); err != nil {
		return CopyReport{}, err
	}
	if err := c.out.exec(ctx, []byte(`INSERT INTO `+counts+` (table_name, row_count) VALUES (?, ?)`), rejectedTable, report.Rejected); err != nil {
		return CopyReport{}, err
	}
	deliveries := []string{"delivery_id", "received_at"}
	report.Deliveries, err = c.copyRows(ctx, deliveriesTable, []string{"received_at"}, deliveries, deliveries, []colType{typeString, typeInteger}, -1)
	if err != nil {
		return CopyReport{}, fmt.Errorf("%s: %w", deliveriesTable, err)
	}
	return report, nil
}

// replayTable creates t in the destination's catalog as loading would have, with its time.
func (c *copier) replayTable(cat *catalog, t *sourceTable) (*table, error) {
	var made *table
	var err error
	if t.parent == "" {
		pkType := typeString
		if t.pk.String != "" {
			pkPath := joinPath("", t.pk.String)
			found := false
			for _, col := range t.columns {
				if col.path.Valid && col.path.String == pkPath {
					pkType, found = col.typ, true
					break // the first type of the field is its plain column's, the key's
				}
			}
			if !found {
				return nil, fmt.Errorf("the primary key %q has no column in the catalog", t.pk.String)
			}
		}
		made, err = cat.createRoot(t.pk.String, pkType, t.created)
	} else {
		parent := cat.tables[t.parent]
		if parent == nil {
			return nil, fmt.Errorf("its parent %s is missing from the catalog", t.parent)
		}
		made, err = cat.subtable(parent, t.path, t.created)
	}
	if err != nil {
		return nil, err
	}
	if made.name != t.name {
		return nil, fmt.Errorf("the destination would name it %s", made.name)
	}
	return made, nil
}

// replayColumn adds a source column to the destination's table and returns its name there.
func (c *copier) replayColumn(cat *catalog, t *table, col sourceColumn) (string, error) {
	if !col.path.Valid { // a system column, made with its table
		if name, ok := t.taken[c.to.foldName(col.name)]; ok {
			return name, nil
		}
		return "", errors.New("this version's tables have no such system column")
	}
	made, err := cat.column(t, col.path.String, col.typ, col.firstSeen)
	if err != nil {
		return "", err
	}
	return made.name, nil
}

// copyRows copies the columns from of the source's table into the columns to of the
// destination's, in the order of key, and returns how many rows it copied. With sequenceAt (the
// index of _sdc_sequence in to; -1 for none) a row the destination refuses is set aside in
// c.refused and the copy goes on; without, it fails the copy.
func (c *copier) copyRows(ctx context.Context, table string, key, from, to []string, types []colType, sequenceAt int) (int64, error) {
	sel := appendIdents([]byte("SELECT "), from)
	sel = append(sel, " FROM "...)
	sel = c.from.appendTable(sel, c.schema, table)
	sel = appendIdents(append(sel, " ORDER BY "...), key)
	rows, err := c.src.QueryContext(ctx, string(sel))
	if err != nil {
		return 0, err
	}
	defer rows.Close()

	into := []byte("INSERT INTO ")
	into = c.to.appendTable(into, c.schema, table)
	into = appendIdents(append(into, " ("...), to)
	into = append(into, ") VALUES "...)
	chunk := max(1, min(copyChunk, maxInsertArgs/len(to)))
	insert := func(args []any) (int64, error) {
		if sequenceAt < 0 {
			return int64(len(args) / len(to)), c.insert(ctx, into, args, len(to))
		}
		return c.insertOrSetAside(ctx, table, into, to, args, sequenceAt)
	}

	var copied int64
	args := make([]any, 0, chunk*len(to))
	err = scanRows(rows, types, func(row []any) error {
		args = append(args, row...)
		if len(args) < chunk*len(to) {
			return nil
		}
		n, err := insert(args)
		copied += n
		args = args[:0]
		return err
	})
	if err != nil {
		return 0, err
	}
	if len(args) > 0 {
		n, err := insert(args)
		if err != nil {
			return 0, err
		}
		copied += n
	}
	return copied, nil
}

// insertOrSetAside inserts a chunk of rows in a savepoint; if the destination refuses it, the
// rows go again one at a time, and each one refused is set aside with the database's reason.
func (c *copier) insertOrSetAside(ctx context.Context, table string, into []byte, to []string, args []any, sequenceAt int) (int64, error) {
	width := len(to)
	refused, _, err := c.inSavepoint(ctx, into, args, width)
	if err != nil || !refused {
		return int64(len(args) / width), err
	}
	var copied int64
	for i := 0; i < len(args); i += width {
		row := args[i : i+width]
		refused, reason, err := c.inSavepoint(ctx, into, row, width)
		if err != nil {
			return 0, err
		}
		if !refused {
			copied++
			continue
		}
		seq, ok := row[sequenceAt].(int64)
		if !ok {
			return 0, fmt.Errorf("a row with _sdc_sequence %v refused: %s", row[sequenceAt], reason)
		}
		c.refused = append(c.refused, refusedRow{table: table, sequence: seq, row: rowRecord(to, row), reason: reason})
	}
	return copied, nil
}

// rowRecord is a row as a JSON object: its columns but the empty ones.
func rowRecord(names []string, row []any) map[string]any {
	record := make(map[string]any, len(names))
	for j, v := range row {
		if v != nil {
			record[names[j]] = v
		}
	}
	return record
}

// inSavepoint inserts args in a savepoint; when the destination refuses them (see
// destination.refusal), it rolls back to the savepoint and says why. Any other failure is
// returned.
func (c *copier) inSavepoint(ctx context.Context, into []byte, args []any, width int) (refused bool, reason string, err error) {
	if err := c.out.exec(ctx, []byte("SAVEPOINT copy_rows")); err != nil {
		return false, "", err
	}
	err = c.insert(ctx, into, args, width)
	if reason, refused := c.to.refusal(err); refused {
		return true, reason, c.out.exec(ctx, []byte("ROLLBACK TO SAVEPOINT copy_rows"))
	}
	if err != nil {
		return false, "", err
	}
	return false, "", c.out.exec(ctx, []byte("RELEASE SAVEPOINT copy_rows"))
}

// refusedRecord is a record the destination refused, for _sdc_rejected: all its rows, by table
// (the refused one and those the other tables held), so that leaving it out loses none.
type refusedRecord struct {
	table, reason string
	sequence      int64
	rows          map[string][]map[string]any
}

// leaveOutRefused takes every row of the refused records (their _sdc_sequence, in every table)
// out of the destination into one refusedRecord each, and counts the tables and data_latest
// again; it returns the records and the rows left in all tables. names are each table's columns
// in the destination.
func (c *copier) leaveOutRefused(ctx context.Context, tables []*sourceTable, names [][]string) ([]refusedRecord, int64, error) {
	var records []refusedRecord
	bySequence := map[int64]int{} // index in records
	for _, r := range c.refused {
		i, ok := bySequence[r.sequence]
		if !ok { // the first of its rows refused names the table and the reason
			i = len(records)
			bySequence[r.sequence] = i
			records = append(records, refusedRecord{table: r.table, sequence: r.sequence, rows: map[string][]map[string]any{},
				reason: "the database refused the record when the schema was copied into it: " + r.reason + " (in its row of " + r.table +
					"; record: its rows in every table, by table, as the source held them)"})
		}
		records[i].rows[r.table] = append(records[i].rows[r.table], r.row)
	}
	seqs := make([]any, 0, len(records))
	for _, r := range records {
		seqs = append(seqs, r.sequence)
	}
	counts := tableName(c.to, c.schema, countsTable)
	var rows int64
	for i, t := range tables {
		name := tableName(c.to, c.schema, t.name)
		seqAt := slices.Index(names[i], colSequence)
		for part := range slices.Chunk(seqs, 512) {
			q := appendIdents([]byte(`DELETE FROM `+name+` WHERE _sdc_sequence IN (?`+strings.Repeat(", ?", len(part)-1)+`) RETURNING `), names[i])
			if err := c.takeRows(ctx, q, part, func(row []any) {
				if seq, ok := row[seqAt].(int64); ok {
					r := &records[bySequence[seq]]
					r.rows[t.name] = append(r.rows[t.name], rowRecord(names[i], row))
				}
			}); err != nil {
				return nil, 0, err
			}
		}
		var n int64
		if err := c.out.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+name).Scan(&n); err != nil {
			return nil, 0, err
		}
		if err := c.out.exec(ctx, []byte(`UPDATE `+counts+` SET row_count = ? WHERE table_name = ?`), n, t.name); err != nil {
			return nil, 0, err
		}
		rows += n
	}
	if tables[0].pk.String == "" { // no primary key: no data_latest
		return records, rows, nil
	}
	err := c.out.exec(ctx, []byte(`UPDATE `+counts+` SET row_count = (SELECT COUNT(*) FROM `+tableName(c.to, c.schema, latestView)+`) WHERE table_name = ?`), latestView)
	return records, rows, err
}

// takeRows runs q, a statement returning rows, and hands each row to fn as the copy would have
// inserted it.
func (c *copier) takeRows(ctx context.Context, q []byte, args []any, fn func(row []any)) error {
	res, err := c.out.query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer res.Close()
	return scanRows(res, nil, func(row []any) error { fn(row); return nil })
}

// scanRows hands each row of res to fn with its values as the copy inserts them (copiedValue,
// by types; as text where types is nil). The slice is reused: fn must not keep it.
func scanRows(res *sql.Rows, types []colType, fn func(row []any) error) error {
	cols, err := res.Columns()
	if err != nil {
		return err
	}
	vals, ptrs, row := make([]any, len(cols)), make([]any, len(cols)), make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for res.Next() {
		if err := res.Scan(ptrs...); err != nil {
			return err
		}
		for i, v := range vals {
			typ := typeString
			if types != nil {
				typ = types[i]
			}
			row[i] = copiedValue(typ, v)
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	return res.Err()
}

// appendIdents appends names quoted, separated by commas.
func appendIdents(b []byte, names []string) []byte {
	for i, name := range names {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendIdent(b, name)
	}
	return b
}

// insert runs one multi-row INSERT of args, width values a row, built as the writer's are.
func (c *copier) insert(ctx context.Context, into []byte, args []any, width int) error {
	return c.out.exec(ctx, appendValues(append([]byte(nil), into...), c.to, len(args)/width, width), args...)
}

// copiedValue is a value read from one destination as the other takes it: timestamps as the
// text the warehouse writes, SQLite's 0 and 1 of a boolean column as false and true.
func copiedValue(typ colType, v any) any {
	switch x := v.(type) {
	case time.Time:
		return formatTimestamp(x)
	case []byte:
		return string(x)
	case int64:
		if typ == typeBoolean {
			return x != 0
		}
	}
	return v
}
