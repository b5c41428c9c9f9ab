package warehouse

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
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

// Flattening is split in two. prepare, on the caller's goroutine (Load), does what needs no
// catalog: it walks a record's keys in their fixed order, joins their paths and types and
// converts their values, into a list of fields. The writer then only places the fields in
// tables and columns (flatten). Measured with BenchmarkLoadArrays: the walk was about a fifth
// of the writer's CPU, and the writer is the one goroutine every request of a schema waits on.

// fieldKind says what a prepared field is.
type fieldKind uint8

const (
	fieldScalar  fieldKind = iota // a value at path in the current row
	fieldArray                    // an array at path: its elements follow, then fieldEnd
	fieldElement                  // element n of the array: a new row of its subtable
	fieldEnd                      // the array's end: back to its parent's row
	fieldReject                   // the record is rejected here (val is the *rejection)
)

type field struct {
	kind fieldKind
	typ  colType
	n    int
	path string
	val  any
}

// prepared is a record ready for flatten: its fields in order, its primary key's value and
// type (or why it has none) and its size as JSON without escapes.
type prepared struct {
	fields []field
	pk     any
	pkType colType
	pkErr  error
	size   int
}

// pathCache remembers joinPath's results across requests (the same fields come back with
// every record), for every goroutine: a map read without locks, replaced by a larger copy when
// a request met new paths, up to maxCachedPaths (against bodies of ever-new keys).
type pathCache struct {
	paths atomic.Pointer[map[pathKey]string]
	mu    sync.Mutex // for replacing paths
	keys  sync.Pool  // *[]string: prepare's buffers of keys being sorted, kept between requests
}

type pathKey struct{ prefix, key string }

const maxCachedPaths = 4096

// add stores the paths a request met that the cache lacked.
func (c *pathCache) add(found map[pathKey]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.paths.Load()
	if old != nil && len(*old) >= maxCachedPaths {
		return
	}
	next := make(map[pathKey]string, len(found))
	if old != nil {
		next = maps.Clone(*old)
	}
	for k, p := range found {
		if len(next) >= maxCachedPaths {
			break
		}
		next[k] = p
	}
	c.paths.Store(&next)
}

// preparer walks records into prepared fields, reusing its key buffer.
type preparer struct {
	cached     map[pathKey]string // the cache's paths when the request came
	found      map[pathKey]string // and those it lacked
	out        []field            // the current chunk of fields; the record being walked starts at start
	start      int
	keys       []string
	size       int
	rowScalars int // the scalars of the row being walked: past maxColumnsLimit, no table can hold them
}

func (p *preparer) path(prefix, key string) string {
	k := pathKey{prefix, key}
	if path, ok := p.cached[k]; ok {
		return path
	}
	if path, ok := p.found[k]; ok {
		return path
	}
	if p.found == nil {
		p.found = make(map[pathKey]string)
	}
	path := joinPath(prefix, key)
	p.found[k] = path
	return path
}

// fieldChunk is how many fields a chunk of a request's fields holds, once it has more than a
// record's worth.
const fieldChunk = 1 << 16

// add appends f to the record being walked. The fields of a request's records fill chunks; a
// full chunk is left to the records it holds and the current record moves to a new one, so a
// body of 100,000 records allocates its fields about once, not twice over as a doubling slice
// would (with the old copies alive while each is made).
func (p *preparer) add(f field) {
	if len(p.out) == cap(p.out) {
		cur := p.out[p.start:]
		next := make([]field, len(cur), max(2*len(cur), fieldChunk))
		copy(next, cur)
		p.out, p.start = next, 0
	}
	p.out = append(p.out, f)
}

// prepare prepares each record of recs; their fields share chunks. A row with more scalars
// than maxColumnsLimit is cut short: no table could hold them. (Not Options.MaxColumns: a
// table made wider under a larger -max-columns keeps its columns, and rows that fit them load.)
func prepare(paths *pathCache, recs []Record, pkField string) []prepared {
	keys, _ := paths.keys.Get().(*[]string)
	if keys == nil {
		keys = new([]string)
	}
	defer paths.keys.Put(keys)
	p := preparer{keys: (*keys)[:0]}
	defer func() { clear(p.keys[:cap(p.keys)]); *keys = p.keys[:0] }() // (kept, emptied, for the next request)
	if cached := paths.paths.Load(); cached != nil {
		p.cached = *cached
	}
	p.out = make([]field, 0, 16) // a lone record's; records tend to be alike, so for more of them:
	out := make([]prepared, len(recs))
	for i, rec := range recs {
		p.start, p.size, p.rowScalars = len(p.out), 0, 0
		if i == 1 && len(recs) > 2 && cap(p.out) < fieldChunk {
			p.out = slices.Grow(p.out, min(len(p.out)*(len(recs)-1), fieldChunk))
			p.start = len(p.out)
		}
		pr := &out[i]
		pr.pk, pr.pkType, pr.pkErr = primaryKeyValue(rec, pkField)
		if pr.pkErr == nil {
			if err := p.object("", rec, 1, pkField, true); err != nil {
				p.add(field{kind: fieldReject, val: err})
			}
		}
		pr.fields = p.out[p.start:len(p.out):len(p.out)]
		pr.size = p.size
	}
	if len(p.found) > 0 {
		paths.add(p.found)
	}
	return out
}

// randomUUID is uuid.NewString's version 4 UUID, its 16 random bytes read into the stack
// (uuid's io.ReadFull moves them to the heap: an allocation per event without a primary key).
func randomUUID() string {
	var u uuid.UUID
	rand.Read(u[:])         // never fails
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // variant RFC 4122
	return u.String()
}

// primaryKeyValue is the record's primary key value and type, or why it cannot have one (a
// *rejection); a random UUID without a primary key field.
func primaryKeyValue(rec Record, pkField string) (any, colType, error) {
	if pkField == "" {
		return randomUUID(), typeString, nil
	}
	v, ok := rec[pkField]
	if !ok || v == nil {
		return nil, 0, reject("primary key %q is missing or null", pkField)
	}
	switch v.(type) {
	case map[string]any, []any:
		return nil, 0, reject("primary key %q is %s, not a scalar", pkField, jsonKind(v))
	}
	typ, val, err := scalar(v, false)
	if err != nil {
		return nil, 0, reject("primary key %q: %v", pkField, err)
	}
	if s, ok := val.(string); ok && len(s) > MaxPrimaryKeyBytes {
		return nil, 0, reject("primary key %q is longer than %d bytes", pkField, MaxPrimaryKeyBytes)
	}
	return val, typ, nil
}

// object adds the fields of obj, found at prefix, in a fixed key order so that new columns are
// named the same way every time. top: obj is the record itself.
func (p *preparer) object(prefix string, obj map[string]any, depth int, pkField string, top bool) error {
	if depth > MaxDepth {
		return reject("record nests deeper than %d levels", MaxDepth)
	}
	if len(obj) > maxColumnsLimit-p.rowScalars && p.rowScalars+scalars(obj) > maxColumnsLimit {
		return errRowTooWide // before sorting a million keys that could never be columns
	}
	start := len(p.keys)
	for k := range obj {
		p.keys = append(p.keys, k)
	}
	keys := p.keys[start:]
	sortKeys(keys)
	for _, k := range keys {
		p.size += len(k) + 4 // "k":, and a comma
	}
	defer func() { p.keys = p.keys[:start] }()
	for _, k := range keys {
		// Only the top-level key field skips timestamp detection: its text is an identifier
		// and must stay exactly as sent.
		isPK := top && k == pkField
		if err := p.value(p.path(prefix, k), obj[k], depth, isPK, pkField); err != nil {
			return err
		}
	}
	return nil
}

// value adds v, found at path: scalars become columns, objects flatten into parent__child
// columns, arrays into subtable rows.
func (p *preparer) value(path string, v any, depth int, isPK bool, pkField string) error {
	switch v := v.(type) {
	case nil:
		// A null creates no column; the row simply has NULL there.
		return nil
	case map[string]any:
		return p.object(path, v, depth+1, pkField, false)
	case []any:
		if len(v) == 0 {
			return nil
		}
		if depth+1 > MaxDepth {
			return reject("record nests deeper than %d levels", MaxDepth)
		}
		p.add(field{kind: fieldArray, path: path})
		parentScalars := p.rowScalars
		for i, elem := range v {
			p.add(field{kind: fieldElement, n: i})
			p.rowScalars = 0
			var err error
			if obj, ok := elem.(map[string]any); ok {
				err = p.object("", obj, depth+2, "", false)
			} else {
				// Scalars go to "value"; a nested array becomes a subtable of this subtable.
				err = p.value("", elem, depth+1, false, "")
			}
			if err != nil {
				return err
			}
		}
		p.add(field{kind: fieldEnd})
		p.rowScalars = parentScalars
		return nil
	}
	switch v := v.(type) {
	case string:
		p.size += len(v) + 2
	case json.Number:
		p.size += len(v) // as sent: counting 8 bytes for "1" rejected records of half the limit
	default:
		p.size += 5 // true, false
	}
	typ, val, err := scalar(v, !isPK)
	if err != nil {
		return reject("field %s: %v", clip(displayPath(path)), err)
	}
	p.add(field{kind: fieldScalar, typ: typ, path: path, val: val})
	if p.rowScalars++; p.rowScalars > maxColumnsLimit {
		return errRowTooWide
	}
	return nil
}

// errRowTooWide is where prepare stops a record one of whose rows has more scalars than any
// table may have columns: each needs a column of its own, so the record is rejected, and
// walking on would only cost (a body of one object of a million keys took seconds of the
// writer and half a gigabyte). flatten gives the reason the catalog gives for a full table.
var errRowTooWide = errors.New("a row with more scalars than a table may have columns")

// scalars counts obj's own values that would be columns: neither null, nor objects, nor arrays.
func scalars(obj map[string]any) int {
	n := 0
	for _, v := range obj {
		switch v.(type) {
		case nil, map[string]any, []any:
		default:
			n++
		}
	}
	return n
}

// flattener turns prepared records into rows, growing the catalog as new tables and columns
// appear. It reuses its buffers between records.
type flattener struct {
	cat        *catalog
	receivedAt time.Time
	rows       []row
	arrays     []openArray
}

// openArray is an array whose elements are being placed: the row it is in and its subtable.
type openArray struct {
	parent int
	sub    *table
}

// flatten returns the rows of one prepared record and its primary key value (the source key
// of its subtable rows). A *rejection error means the record must be rejected; the caller
// rolls the catalog back in that case.
func (f *flattener) flatten(rec *prepared, pkField string) ([]row, any, error) {
	f.rows, f.arrays = f.rows[:0], f.arrays[:0]
	if err := f.primaryKey(rec, pkField); err != nil {
		return nil, nil, err
	}
	f.addRow(f.cat.root, nil)
	ri := 0
	for i := range rec.fields {
		fd := &rec.fields[i]
		switch fd.kind {
		case fieldScalar:
			r := &f.rows[ri]
			col, err := f.cat.column(r.table, fd.path, fd.typ, f.receivedAt)
			if err != nil {
				return nil, nil, asRejection(err)
			}
			r.cols = append(r.cols, col)
			r.vals = append(r.vals, fd.val)
		case fieldArray:
			sub, err := f.cat.subtable(f.rows[ri].table, fd.path, f.receivedAt)
			if err != nil {
				return nil, nil, err
			}
			if len(sub.taken) > f.cat.maxColumns {
				return nil, nil, reject("%v", errTooManyColumns{sub.name, f.cat.maxColumns})
			}
			f.arrays = append(f.arrays, openArray{parent: ri, sub: sub})
		case fieldElement:
			a := f.arrays[len(f.arrays)-1]
			parentLevels := f.rows[a.parent].levels
			levels := make([]int64, len(parentLevels)+1)
			copy(levels, parentLevels)
			levels[len(parentLevels)] = int64(fd.n)
			ri = f.addRow(a.sub, levels)
		case fieldEnd:
			ri = f.arrays[len(f.arrays)-1].parent
			f.arrays = f.arrays[:len(f.arrays)-1]
		case fieldReject:
			if fd.val == errRowTooWide {
				return nil, nil, reject("%v", errTooManyColumns{f.rows[ri].table.name, f.cat.maxColumns})
			}
			return nil, nil, fd.val.(error)
		}
	}
	if rec.size > MaxRecordBytes {
		return nil, nil, reject("the record is larger than %d MB, Stitch's limit for a record", MaxRecordBytes>>20)
	}
	return f.rows, rec.pk, nil
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

// primaryKey checks the record's key against the table's and creates the data table on the
// first accepted record.
func (f *flattener) primaryKey(rec *prepared, pkField string) error {
	cat := f.cat
	if cat.root != nil && cat.pkField != pkField {
		if cat.pkField == "" {
			return reject("the primary key is now %q but table data was created without one; drop the integration's data to change it", pkField)
		}
		return reject("the primary key is now %q but table data was created with %q; drop the integration's data to change it", pkField, cat.pkField)
	}
	if rec.pkErr != nil {
		return rec.pkErr
	}
	if cat.root == nil {
		if _, err := cat.createRoot(pkField, rec.pkType, f.receivedAt); err != nil {
			return asRejection(err)
		}
	} else if pkField != "" && rec.pkType != cat.pkType {
		return reject("primary key %q is %s, but the column %s holds %s values", pkField, rec.pkType, cat.pkColumn, cat.pkType)
	}
	return nil
}

func asRejection(err error) error {
	var tooMany errTooManyColumns
	if errors.As(err, &tooMany) {
		return &rejection{reason: err.Error()}
	}
	return err
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
