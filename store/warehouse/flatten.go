package warehouse

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// row is one row to insert: the record's own fields in data, or one array
// element in a subtable.
type row struct {
	table  *table
	levels []int64 // position in each enclosing array, outermost first
	cols   []*column
	vals   []any
}

// rejection is an error that sends a record to _sdc_rejected instead of
// failing the request.
type rejection struct{ reason string }

func (r *rejection) Error() string { return r.reason }

func reject(format string, args ...any) error {
	return &rejection{reason: fmt.Sprintf(format, args...)}
}

// flattener turns records into rows, growing the catalog as new tables and
// columns appear. It reuses its buffers between records.
type flattener struct {
	cat        *catalog
	receivedAt time.Time
	rows       []row
	keys       []string
	paths      map[pathKey]string // joinPath's results: the same fields come back with every record
	size       int                // of the record being flattened, as JSON without escapes
}

type pathKey struct{ prefix, key string }

// maxCachedPaths bounds the remembered paths, against bodies of ever-new keys.
const maxCachedPaths = 4096

// path is joinPath(prefix, key), remembered.
func (f *flattener) path(prefix, key string) string {
	k := pathKey{prefix, key}
	if p, ok := f.paths[k]; ok {
		return p
	}
	if f.paths == nil || len(f.paths) >= maxCachedPaths {
		f.paths = make(map[pathKey]string)
	}
	p := joinPath(prefix, key)
	f.paths[k] = p
	return p
}

// flatten returns the rows of one record and its primary key value (the
// source key of its subtable rows). A *rejection error means the record
// must be rejected; the caller rolls the catalog back in that case.
func (f *flattener) flatten(rec Record, pkField string) ([]row, any, error) {
	f.rows, f.size = f.rows[:0], 0
	pkValue, err := f.primaryKey(rec, pkField)
	if err != nil {
		return nil, nil, err
	}
	f.addRow(f.cat.root, nil)
	if err := f.object(0, "", rec, 1, pkField); err != nil {
		return nil, nil, err
	}
	if f.size > MaxRecordBytes {
		return nil, nil, reject("the record is larger than %d MB, Stitch's limit for a record", MaxRecordBytes>>20)
	}
	return f.rows, pkValue, nil
}

// MaxPrimaryKeyBytes bounds a text primary key: the (key, _sdc_sequence) index of PostgreSQL
// cannot hold an entry of more than about 2.7 KB.
const MaxPrimaryKeyBytes = 1024

// MaxRecordBytes is Stitch's limit of a record's size (its PostgreSQL destination's
// max-record-size): a larger record is rejected. Its JSON is measured without escapes.
const MaxRecordBytes = 4 << 20

// addRow appends a row of table t and returns its index. It reuses the column and value
// buffers of earlier records' rows: most records are shaped alike.
func (f *flattener) addRow(t *table, levels []int64) int {
	n := len(f.rows)
	if n == cap(f.rows) {
		f.rows = append(f.rows, row{})
	}
	f.rows = f.rows[:n+1]
	r := &f.rows[n]
	clear(r.vals) // drop the previous record's values
	r.table, r.levels, r.cols, r.vals = t, levels, r.cols[:0], r.vals[:0]
	return n
}

// primaryKey checks the record's key against the table's and creates the
// data table on the first accepted record.
func (f *flattener) primaryKey(rec Record, pkField string) (any, error) {
	cat := f.cat
	if cat.root != nil && cat.pkField != pkField {
		if cat.pkField == "" {
			return nil, reject("the primary key is now %q but table data was created without one; drop the integration's data to change it", pkField)
		}
		return nil, reject("the primary key is now %q but table data was created with %q; drop the integration's data to change it", pkField, cat.pkField)
	}
	if pkField == "" {
		if cat.root == nil {
			if _, err := cat.createRoot("", typeString, f.receivedAt); err != nil {
				return nil, err
			}
		}
		return uuid.NewString(), nil
	}
	v, ok := rec[pkField]
	if !ok || v == nil {
		return nil, reject("primary key %q is missing or null", pkField)
	}
	switch v.(type) {
	case map[string]any, []any:
		return nil, reject("primary key %q is %s, not a scalar", pkField, jsonKind(v))
	}
	typ, val, err := scalar(v, false)
	if err != nil {
		return nil, reject("primary key %q: %v", pkField, err)
	}
	if s, ok := val.(string); ok && len(s) > MaxPrimaryKeyBytes {
		return nil, reject("primary key %q is longer than %d bytes", pkField, MaxPrimaryKeyBytes)
	}
	if cat.root == nil {
		if _, err := cat.createRoot(pkField, typ, f.receivedAt); err != nil {
			return nil, asRejection(err)
		}
	} else if typ != cat.pkType {
		return nil, reject("primary key %q is %s, but the column %s holds %s values", pkField, typ, cat.pkColumn, cat.pkType)
	}
	return val, nil
}

func asRejection(err error) error {
	var tooMany errTooManyColumns
	if errors.As(err, &tooMany) {
		return &rejection{reason: err.Error()}
	}
	return err
}

// object adds the fields of obj, found at prefix within row ri, in a fixed
// key order so that new columns are named the same way every time.
func (f *flattener) object(ri int, prefix string, obj map[string]any, depth int, pkField string) error {
	if depth > MaxDepth {
		return reject("record nests deeper than %d levels", MaxDepth)
	}
	start := len(f.keys)
	for k := range obj {
		f.keys = append(f.keys, k)
	}
	keys := f.keys[start:]
	sortKeys(keys)
	for _, k := range keys {
		f.size += len(k) + 4 // "k":, and a comma
	}
	defer func() { f.keys = f.keys[:start] }()
	for _, k := range keys {
		// Only the top-level key field skips timestamp detection: its text
		// is an identifier and must stay exactly as sent.
		isPK := ri == 0 && prefix == "" && k == pkField
		if err := f.value(ri, f.path(prefix, k), obj[k], depth, isPK, pkField); err != nil {
			return err
		}
	}
	return nil
}

// value adds v, found at path within row ri: scalars become columns,
// objects flatten into parent__child columns, arrays into subtable rows.
func (f *flattener) value(ri int, path string, v any, depth int, isPK bool, pkField string) error {
	switch v := v.(type) {
	case nil:
		// A null creates no column; the row simply has NULL there.
		return nil
	case map[string]any:
		return f.object(ri, path, v, depth+1, pkField)
	case []any:
		if len(v) == 0 {
			return nil
		}
		if depth+1 > MaxDepth {
			return reject("record nests deeper than %d levels", MaxDepth)
		}
		sub, err := f.cat.subtable(f.rows[ri].table, path, f.receivedAt)
		if err != nil {
			return err
		}
		if len(sub.taken) > f.cat.maxColumns {
			return reject("%v", errTooManyColumns{sub.name, f.cat.maxColumns})
		}
		parentLevels := f.rows[ri].levels
		for i, elem := range v {
			levels := make([]int64, len(parentLevels)+1)
			copy(levels, parentLevels)
			levels[len(parentLevels)] = int64(i)
			child := f.addRow(sub, levels)
			switch elem := elem.(type) {
			case map[string]any:
				err := f.object(child, "", elem, depth+2, "")
				if err != nil {
					return err
				}
			default:
				// Scalars go to "value"; a nested array becomes a subtable
				// of this subtable.
				if err := f.value(child, "", elem, depth+1, false, ""); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if s, ok := v.(string); ok {
		f.size += len(s) + 2
	} else {
		f.size += 8
	}
	typ, val, err := scalar(v, !isPK)
	if err != nil {
		return reject("field %s: %v", clip(displayPath(path)), err)
	}
	r := &f.rows[ri]
	col, err := f.cat.column(r.table, path, typ, f.receivedAt)
	if err != nil {
		return asRejection(err)
	}
	r.cols = append(r.cols, col)
	r.vals = append(r.vals, val)
	return nil
}

// sortKeys fixes the order a record's keys are named in, so that new columns are added the
// same way every time: keys that are plain lowercase names first, then the rest, each part
// by bytes. On a collision the first keeps the name.
func sortKeys(keys []string) {
	named := 0
	for i, k := range keys {
		if isColumnName(k) {
			keys[named], keys[i] = k, keys[named]
			named++
		}
	}
	slices.Sort(keys[:named])
	slices.Sort(keys[named:])
}

func isColumnName(key string) bool {
	if key == "" {
		return false
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}
