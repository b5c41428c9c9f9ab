package warehouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Names of the tables and columns the warehouse manages itself.
const (
	rootTable       = "data"
	latestView      = "data_latest"
	rejectedTable   = "_sdc_rejected"
	tablesCatalog   = "_sdc_tables"
	columnsCatalog  = "_sdc_columns"
	deliveriesTable = "_sdc_deliveries" // delivery ids, for Target.DeliveryID
	countsTable     = "_sdc_counts"     // rows per table, and data's last _sdc_sequence
	colReceivedAt   = "_sdc_received_at"
	colBatchedAt    = "_sdc_batched_at"
	colSequence     = "_sdc_sequence"
	colTableVersion = "_sdc_table_version"
	colGeneratedPK  = "__sdc_primary_key"
)

// rejectedColumns are Stitch's columns of _sdc_rejected, in the order of its DDL.
var rejectedColumns = []string{"_sdc_rejected_at", "table_name", "reason", "record"}

type colKey struct {
	path string
	typ  colType
}

type column struct {
	name string
	typ  colType
}

// table is the in-memory catalog entry of one warehouse table.
type table struct {
	name     string
	parent   *table
	path     string // of the array in the parent's rows
	level    int
	columns  map[colKey]*column
	base     map[string]string // source path -> its plain column's name
	taken    map[string]string // every column name, system ones included, by its folded name (see dialect.foldName)
	children map[string]*table // array path -> subtable
	// defs are the column definitions of a table created by the record being loaded, until
	// its CREATE TABLE runs (schemaChanges); nil afterwards, when new columns need ALTER TABLE.
	defs []string
}

// catalog mirrors _sdc_tables and _sdc_columns of one file, so that a
// steady-state batch needs no schema queries. Changes made while loading a
// batch are logged in undo so a rejected record or a failed commit can put
// the catalog back exactly as the file has it.
type catalog struct {
	schema     string
	d          dialect
	maxColumns int
	maxTables  int
	tables     map[string]*table
	root       *table
	pkField    string // raw configured primary key field, "" = generated UUIDs
	pkColumn   string
	pkType     colType
	lastSeq    int64
	eventType  string // data's event-type column, "" for none (see takesEventType)
	// indexEventType: eventType took over in this record; its index is made in schemaChanges
	indexEventType bool

	undo          []func()
	refreshLatest bool        // data gained a column: data_latest is refreshed after the record's schema changes
	ddl           []statement // DDL of the record being loaded, run once it is accepted
	added         []Column    // data columns added since the last commit, for BatchReport
}

// statement is a change to run once its record is accepted. A CREATE TABLE is kept as its
// table (create) and written by schemaChanges, with every column the record gave it: SQLite
// reparses its whole schema after each ALTER TABLE ADD COLUMN, so a record of N new arrays
// (a subtable and a column each) cost N² (6,000 one-element arrays: 205 s).
type statement struct {
	sql    string
	args   []any
	create *table
}

func newCatalog(schema string, d dialect, maxColumns, maxTables int) *catalog {
	return &catalog{schema: schema, d: d, maxColumns: maxColumns, maxTables: maxTables, tables: make(map[string]*table)}
}

// table is the name of the schema's table name as the destination spells it.
func (c *catalog) table(name string) string { return tableName(c.d, c.schema, name) }

// tableTaken returns the table (or view) that name would be the same identifier as.
func (c *catalog) tableTaken(name string) (string, bool) {
	folded := c.d.foldName(name)
	if folded == c.d.foldName(latestView) {
		return latestView, true
	}
	for existing := range c.tables {
		if c.d.foldName(existing) == folded {
			return existing, true
		}
	}
	return "", false
}

type catalogMark struct {
	undo, ddl, added int
	lastSeq          int64
}

func (c *catalog) mark() catalogMark {
	return catalogMark{undo: len(c.undo), ddl: len(c.ddl), added: len(c.added), lastSeq: c.lastSeq}
}

func (c *catalog) rollback(m catalogMark) {
	c.refreshLatest, c.indexEventType = false, false
	for i := len(c.undo) - 1; i >= m.undo; i-- {
		c.undo[i]()
	}
	c.undo = c.undo[:m.undo]
	c.ddl = c.ddl[:m.ddl]
	c.added = c.added[:m.added]
	c.lastSeq = m.lastSeq
}

// committed forgets the undo log once the file holds the changes and
// returns the columns added since the last commit.
func (c *catalog) committed() []Column {
	clear(c.undo)
	c.undo = c.undo[:0]
	added := c.added
	c.added = nil
	return added
}

func (c *catalog) exec(sql string, args ...any) {
	c.ddl = append(c.ddl, statement{sql: sql, args: args})
}

// columnRows is how many rows the catalog's columns table has: one per column of every table.
func (c *catalog) columnRows() int {
	n := 0
	for _, t := range c.tables {
		n += len(t.taken)
	}
	return n
}

// schemaChanges returns the statements of the record being loaded, its CREATE TABLEs written
// out now that their columns are known. The caller runs them and empties c.ddl.
func (c *catalog) schemaChanges() []statement {
	for i := range c.ddl {
		if t := c.ddl[i].create; t != nil {
			c.ddl[i] = statement{sql: fmt.Sprintf(`CREATE TABLE %s (%s)`, c.table(t.name), strings.Join(t.defs, ", "))}
			t.defs = nil
		}
	}
	if c.indexEventType { // the column that took over last (a record's keys come sorted: event before type)
		c.exec(c.d.eventTypeIndexSQL(c.schema, c.eventType))
		c.indexEventType = false
	}
	if c.refreshLatest { // one refresh of data_latest per record, however many columns it added
		for _, q := range c.d.rootSQL(c.schema, c.pkColumn, true) {
			c.exec(q)
		}
		c.refreshLatest = false
	}
	return c.ddl
}

func (c *catalog) sourceKeyColumn() string { return "_sdc_source_key_" + c.pkColumn }

// createRoot creates the data table with its system columns and, with a
// primary key, the key column typed by its first value, the (pk, sequence)
// index and the data_latest view.
func (c *catalog) createRoot(pkField string, pkType colType, at time.Time) (*table, error) {
	t := c.addTable(rootTable, nil, "")
	c.pkField = pkField
	system := []column{
		{colReceivedAt, typeTimestamp}, {colBatchedAt, typeTimestamp},
		{colSequence, typeInteger}, {colTableVersion, typeInteger},
	}
	if pkField == "" {
		system = append(system, column{colGeneratedPK, typeString})
	}
	c.createTable(t, system, at, "")
	if pkField == "" {
		c.pkColumn, c.pkType = colGeneratedPK, typeString
		for _, q := range c.d.rootSQL(c.schema, "", false) {
			c.exec(q)
		}
		return t, nil
	}
	col, err := c.column(t, joinPath("", pkField), pkType, at)
	if err != nil {
		return nil, err
	}
	c.pkColumn, c.pkType = col.name, pkType
	for _, q := range c.d.rootSQL(c.schema, col.name, false) {
		c.exec(q)
	}
	c.exec(`INSERT INTO `+c.table(countsTable)+` (table_name, row_count) VALUES (?, 0)`, latestView)
	return t, nil
}

// subtable returns the table holding the elements of the array at path in
// parent's rows, creating it (with source key and level columns) if new. A
// *rejection error means the record cannot have it.
func (c *catalog) subtable(parent *table, path string, at time.Time) (*table, error) {
	if t := parent.children[path]; t != nil {
		return t, nil
	}
	field := columnName(path)
	if field == "" {
		return nil, reject("array %s: %s", clip(displayPath(path)), noNameReason)
	}
	name := parent.name + "__" + field
	if len(name) > MaxTableNameLen {
		return nil, reject("array %s: table name %s is longer than %d characters", clip(displayPath(path)), clip(name), MaxTableNameLen)
	}
	if existing, taken := c.tableTaken(name); taken {
		return nil, reject("Field collision on table %s: array %s would be the table %s", clip(name), clip(displayPath(path)), clip(existing))
	}
	if len(c.tables) >= c.maxTables {
		return nil, reject("array %s: table %s would make more than the %d tables a schema may have", clip(displayPath(path)), name, c.maxTables)
	}
	t := c.addTable(name, parent, path)
	system := []column{{c.sourceKeyColumn(), c.pkType}}
	for i := 0; i < t.level; i++ {
		system = append(system, column{levelColumn(i), typeInteger})
	}
	system = append(system, []column{
		{colSequence, typeInteger}, {colReceivedAt, typeTimestamp},
		{colBatchedAt, typeTimestamp}, {colTableVersion, typeInteger},
	}...)
	c.createTable(t, system, at, path)
	return t, nil
}

func levelColumn(level int) string { return "_sdc_level_" + strconv.Itoa(level) + "_id" }

// addTable registers a table in memory only.
func (c *catalog) addTable(name string, parent *table, path string) *table {
	t := &table{
		name: name, parent: parent, path: path,
		columns:  make(map[colKey]*column),
		base:     make(map[string]string),
		taken:    make(map[string]string),
		children: make(map[string]*table),
	}
	c.tables[name] = t
	if parent == nil {
		c.root = t
	} else {
		t.level = parent.level + 1
		parent.children[path] = t
	}
	c.undo = append(c.undo, func() {
		delete(c.tables, name)
		if parent == nil {
			c.root = nil
		} else {
			delete(parent.children, path)
		}
	})
	return t
}

func (c *catalog) createTable(t *table, system []column, at time.Time, path string) {
	t.defs = make([]string, len(system))
	c.ddl = append(c.ddl, statement{create: t})
	for i, col := range system {
		t.taken[c.d.foldName(col.name)] = col.name
		t.defs[i] = quoteIdent(col.name) + " " + c.d.sqlType(col.typ)
		c.exec(`INSERT INTO `+c.table(columnsCatalog)+` (table_name, column_name, source_path, type, first_seen_at) VALUES (?, ?, NULL, ?, ?)`,
			t.name, col.name, col.typ.String(), formatTimestamp(at))
	}
	for _, q := range c.d.tableSQL(c.schema, t.name, t.level) { // after the CREATE TABLE above
		c.exec(q)
	}
	var parent, pk any
	if t.parent != nil {
		parent = t.parent.name
	} else {
		pk = c.pkField
	}
	c.exec(`INSERT INTO `+c.table(tablesCatalog)+` (table_name, parent_table, source_path, level, primary_key, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		t.name, parent, path, t.level, pk, formatTimestamp(at))
	c.exec(`INSERT INTO `+c.table(countsTable)+` (table_name, row_count) VALUES (?, 0)`, t.name)
}

// errTooManyColumns is the reject reason when a table is full.
type errTooManyColumns struct {
	table string
	max   int
}

func (e errTooManyColumns) Error() string {
	return fmt.Sprintf("table %s would have more than %d columns", e.table, e.max)
}

// column returns the column for values of typ at path in t, adding it (and
// its ALTER TABLE) when first seen. The first type of a path gets the plain
// name; later types get the type suffix.
func (c *catalog) column(t *table, path string, typ colType, at time.Time) (*column, error) {
	key := colKey{path, typ}
	if col := t.columns[key]; col != nil {
		return col, nil
	}
	if len(t.taken) >= c.maxColumns {
		return nil, errTooManyColumns{t.name, c.maxColumns}
	}
	base, hasBase := t.base[path]
	name := base + typ.suffix() // a later type of a field: Stitch's suffixed column
	if !hasBase {
		name = columnName(path)
		if reason := nameProblem(name); reason != "" {
			return nil, reject("field %s: %s", clip(displayPath(path)), reason)
		}
	}
	if len(name) > MaxIdentifierLen {
		return nil, reject("field %s: column name %s is longer than %d characters", clip(displayPath(path)), clip(name), MaxIdentifierLen)
	}
	if c.d.reservedColumn(name) { // a name the database keeps for itself: the next free one
		name = uniqueName(name, func(n string) bool { _, taken := t.taken[c.d.foldName(n)]; return taken || c.d.reservedColumn(n) })
	}
	if existing, taken := t.taken[c.d.foldName(name)]; taken {
		return nil, collision(t, path, name, existing)
	}
	c.registerColumn(t, path, name, typ)
	def := quoteIdent(name) + " " + c.d.sqlType(typ)
	if t.defs != nil { // created by this record: the column joins its CREATE TABLE
		t.defs = append(t.defs, def)
	} else {
		c.exec(`ALTER TABLE ` + c.table(t.name) + ` ADD COLUMN ` + def)
		if t == c.root && c.pkField != "" {
			c.refreshLatest = true // once the record's columns are all added: see schemaChanges
		}
	}
	c.exec(`INSERT INTO `+c.table(columnsCatalog)+` (table_name, column_name, source_path, type, first_seen_at) VALUES (?, ?, ?, ?, ?)`,
		t.name, name, path, typ.String(), formatTimestamp(at))
	if t == c.root && c.eventType == name { // it took over: indexed once the record's columns are added
		c.indexEventType = true
	}
	c.added = append(c.added, Column{Table: t.name, Name: name, Type: typ.String(), Source: displayPath(path), FirstSeen: at})
	return t.columns[key], nil
}

// collision is the reject reason when the field at path would have the name of column
// existing of t, as Stitch words it ("Field collision on ...").
func collision(t *table, path, name, existing string) error {
	for key, col := range t.columns {
		if col.name == existing {
			return reject("Field collision on %s: fields %s and %s would both be column %s of table %s",
				clip(name), clip(displayPath(key.path)), clip(displayPath(path)), clip(existing), t.name)
		}
	}
	return reject("Field collision on %s: field %s would be column %s of table %s, which hookhouse keeps for itself",
		clip(name), clip(displayPath(path)), existing, t.name)
}

// registerColumn records a column in memory; the first column of a path
// becomes its base name.
func (c *catalog) registerColumn(t *table, path, name string, typ colType) {
	key := colKey{path, typ}
	t.columns[key] = &column{name: name, typ: typ}
	folded := c.d.foldName(name)
	t.taken[folded] = name
	_, hadBase := t.base[path]
	if !hadBase {
		t.base[path] = name
	}
	eventType := c.eventType
	if t == c.root && typ == typeString && takesEventType(name, eventType) {
		c.eventType = name
	}
	c.undo = append(c.undo, func() {
		delete(t.columns, key)
		delete(t.taken, folded)
		if !hadBase {
			delete(t.base, path)
		}
		c.eventType = eventType
	})
}

// loadCatalog reads the catalog of a schema and the last sequence of data.
func loadCatalog(ctx context.Context, q querier, schema string, d dialect, maxColumns, maxTables int) (*catalog, error) {
	c := newCatalog(schema, d, maxColumns, maxTables)
	rows, err := q.QueryContext(ctx, `SELECT table_name, parent_table, source_path, primary_key FROM `+c.table(tablesCatalog)+` ORDER BY `+d.catalogOrder())
	if err != nil {
		return nil, fmt.Errorf("read tables: %w", err)
	}
	for rows.Next() {
		var name, path string
		var parent, pk sql.NullString
		if err := rows.Scan(&name, &parent, &path, &pk); err != nil {
			rows.Close()
			return nil, err
		}
		var p *table
		if parent.Valid {
			if p = c.tables[parent.String]; p == nil {
				rows.Close()
				return nil, fmt.Errorf("table %s: parent %s is missing from the catalog", name, parent.String)
			}
		} else {
			c.pkField = pk.String
		}
		c.addTable(name, p, path)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	rows, err = q.QueryContext(ctx, `SELECT table_name, column_name, source_path, type FROM `+c.table(columnsCatalog)+` ORDER BY `+d.catalogOrder())
	if err != nil {
		return nil, fmt.Errorf("read columns: %w", err)
	}
	for rows.Next() {
		var tableName, name, typeName string
		var path sql.NullString
		if err := rows.Scan(&tableName, &name, &path, &typeName); err != nil {
			rows.Close()
			return nil, err
		}
		t := c.tables[tableName]
		typ, err := parseColType(typeName)
		if t == nil || err != nil {
			rows.Close()
			return nil, fmt.Errorf("column %s.%s: unknown table or type %q", tableName, name, typeName)
		}
		if !path.Valid {
			t.taken[c.d.foldName(name)] = name
			continue
		}
		c.registerColumn(t, path.String, name, typ)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	c.committed()

	if c.root != nil {
		if c.pkField == "" {
			c.pkColumn, c.pkType = colGeneratedPK, typeString
		} else {
			path := joinPath("", c.pkField)
			name, ok := c.root.base[path]
			if !ok {
				return nil, fmt.Errorf("primary key column of %q is missing from the catalog", c.pkField)
			}
			c.pkColumn = name
			for key, col := range c.root.columns {
				if key.path == path && col.name == name {
					c.pkType = col.typ
				}
			}
		}
		// From the counter, not MAX(_sdc_sequence): SQLite has no index to read it from.
		var last sql.NullInt64
		err := q.QueryRowContext(ctx, `SELECT last_sequence FROM `+c.table(countsTable)+` WHERE table_name = ?`, rootTable).Scan(&last)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("read last sequence: %w", err)
		}
		if !last.Valid { // counts not initialised (initCounts) or no row yet
			if err := q.QueryRowContext(ctx, `SELECT MAX(_sdc_sequence) FROM `+c.table(rootTable)).Scan(&last); err != nil {
				return nil, fmt.Errorf("read last sequence: %w", err)
			}
		}
		c.lastSeq = last.Int64
	}
	return c, nil
}
