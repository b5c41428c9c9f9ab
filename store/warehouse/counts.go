package warehouse

import (
	"context"
	"fmt"
)

// Counts that would need a scan are kept in _sdc_counts, in the transaction that changes
// them: each table's rows, the rejected records, and data's last _sdc_sequence (a restart
// reads it there rather than scanning an index). They are incremented in SQL, not written
// from memory, so writers of one schema in several processes keep them exact.

// latestSelect is the data_latest view's query over data (as a statement names it), for
// primary-key column pk: the rows no newer row of the same key follows. Each destination
// runs it as an anti-join over the (pk, _sdc_sequence) index; measured against the correlated
// MAX(_sdc_sequence) of before, see README (Querying).
func latestSelect(data, pk string) string {
	return `SELECT * FROM ` + data + ` o WHERE ` + latestCondition(data, pk, "")
}

// latestCondition keeps a row o of data that no newer row of the same key follows: the rule
// of data_latest, for the view and for the Data page's latest toggle alike. within, if not "",
// is a further condition on the newer row n (a download counts only the rows it started with).
func latestCondition(data, pk, within string) string {
	pk = quoteIdent(pk)
	if within != "" {
		within = " AND " + within
	}
	return `NOT EXISTS (SELECT 1 FROM ` + data + ` n WHERE n.` + pk + ` = o.` + pk + ` AND n._sdc_sequence > o._sdc_sequence` + within + `)`
}

// initCounts counts, once, what a schema written before _sdc_counts existed holds: each table
// missing from it is counted whole, data's event-type column gets its index and data_latest
// this version's form; data_latest, when missing, is counted whole too (a scan of the view:
// about 10 s at 10 million rows, once). It runs
// when a writer opens its session; a schema of this version only reads the list of tables.
func initCounts(ctx context.Context, sess session, d destination, schema string) error {
	counts, tables := tableName(d, schema, countsTable), tableName(d, schema, tablesCatalog)
	missing, err := nameSet(ctx, sess, `SELECT table_name FROM `+tables+` WHERE table_name NOT IN (SELECT table_name FROM `+counts+`)
		UNION ALL SELECT ? WHERE NOT EXISTS (SELECT 1 FROM `+counts+` WHERE table_name = ?)
		UNION ALL SELECT ? WHERE EXISTS (SELECT 1 FROM `+tables+` WHERE table_name = ? AND COALESCE(primary_key, '') <> '')
			AND NOT EXISTS (SELECT 1 FROM `+counts+` WHERE table_name = ?)`,
		rejectedTable, rejectedTable, latestView, rootTable, latestView)
	if err != nil || len(missing) == 0 {
		return err
	}
	if err := sess.begin(ctx); err != nil { // (on PostgreSQL, under the schema's lock)
		return err
	}
	err = countTables(ctx, sess, d, schema, missing)
	if err == nil {
		return sess.end(ctx, true)
	}
	sess.end(ctx, false) //nolint:errcheck // the error that matters is err
	return err
}

func countTables(ctx context.Context, sess session, d destination, schema string, missing map[string]bool) error {
	counts := tableName(d, schema, countsTable)
	names := make([]string, 0, len(missing))
	for name := range missing {
		if name != latestView {
			names = append(names, name)
		}
	}
	if missing[latestView] { // last: after data's view is in this version's form
		names = append(names, latestView)
	}
	for _, name := range names {
		t := tableName(d, schema, name)
		last := "NULL"
		if name == rootTable {
			last = "(SELECT MAX(_sdc_sequence) FROM " + t + ")"
			col, err := eventTypeColumn(ctx, sess, d, schema)
			if err != nil {
				return err
			}
			if col != "" {
				if err := sess.exec(ctx, []byte(d.eventTypeIndexSQL(schema, col))); err != nil {
					return fmt.Errorf("index %s: %w", col, err)
				}
			}
			var field string
			if err := sess.QueryRowContext(ctx, `SELECT COALESCE(primary_key, '') FROM `+tableName(d, schema, tablesCatalog)+` WHERE table_name = ?`, rootTable).Scan(&field); err != nil {
				return err
			}
			if field != "" { // the view in the form of this version
				pk, err := latestKey(ctx, sess, d, schema)
				if err != nil {
					return err
				}
				for _, q := range d.latestViewSQL(schema, pk) {
					if err := sess.exec(ctx, []byte(q)); err != nil {
						return fmt.Errorf("view %s: %w", latestView, err)
					}
				}
			}
		}
		// Another process may have counted it first, under the same lock: then nothing to do.
		err := sess.exec(ctx, []byte(`INSERT INTO `+counts+` (table_name, row_count, last_sequence) SELECT ?, (SELECT COUNT(*) FROM `+t+`), `+last+
			` WHERE NOT EXISTS (SELECT 1 FROM `+counts+` WHERE table_name = ?)`), name, name)
		if err != nil {
			return fmt.Errorf("count %s: %w", name, err)
		}
	}
	return nil
}

// countCommitted adds a batch's rows and rejects to the counters, in its transaction.
func (wr *writer) countCommitted(ctx context.Context, rowsByTable map[string]int, rejected int) error {
	counts := tableName(wr.dest, wr.schema, countsTable)
	for name, n := range rowsByTable {
		var err error
		if name == rootTable {
			err = wr.sess.exec(ctx, []byte(`UPDATE `+counts+` SET row_count = row_count + ?, last_sequence = ? WHERE table_name = ?`), int64(n), wr.cat.lastSeq, name)
		} else {
			err = wr.sess.exec(ctx, []byte(`UPDATE `+counts+` SET row_count = row_count + ? WHERE table_name = ?`), int64(n), name)
		}
		if err != nil {
			return fmt.Errorf("count rows: %w", err)
		}
	}
	if len(wr.latest.keys) > 0 {
		if err := wr.countLatest(ctx); err != nil {
			return err
		}
	}
	if rejected > 0 {
		if err := wr.sess.exec(ctx, []byte(`UPDATE `+counts+` SET row_count = row_count + ? WHERE table_name = ?`), int64(rejected), rejectedTable); err != nil {
			return fmt.Errorf("count rejects: %w", err)
		}
	}
	return nil
}

// latestKeys are the primary-key values of the records a batch inserted into data, in the
// order loaded; a request or record rolled back to its savepoint takes its keys back.
type latestKeys struct {
	keys   []any
	before int64 // data's last _sdc_sequence before the batch: its rows are all later
	seen   map[any]struct{}
	sql    []byte
	args   []any
}

func (l *latestKeys) begin(lastSeq int64) {
	clear(l.keys)
	l.keys, l.before = l.keys[:0], lastSeq
}

// countLatest adds to data_latest's counter the batch's distinct keys that data had no row of
// before the batch (each is one more row of the view; a key seen before only replaces its
// latest row). The check is SQL's, under the transaction's lock, so writers of one schema in
// several processes keep the counter exact; each key is one probe of the (key, _sdc_sequence)
// index. Go's equality of the keys (one type per column: string, int64, float64 or bool) is
// SQL's, so the keys are deduplicated here (a batch's keys may take several statements).
func (wr *writer) countLatest(ctx context.Context) error {
	l := &wr.latest
	if l.seen == nil {
		l.seen = map[any]struct{}{}
	}
	distinct := l.keys[:0] // in place: l.keys is not read again in this batch
	for _, k := range l.keys {
		if _, dup := l.seen[k]; !dup {
			l.seen[k] = struct{}{}
			distinct = append(distinct, k)
		}
	}
	clear(l.seen)
	if q := wr.dest.customPlanSQL(); q != "" {
		if err := wr.exec(ctx, q); err != nil {
			return fmt.Errorf("count %s: %w", latestView, err)
		}
	}
	data, pk := tableName(wr.dest, wr.schema, rootTable), quoteIdent(wr.cat.pkColumn)
	for len(distinct) > 0 {
		b := append(l.sql[:0], `UPDATE `+tableName(wr.dest, wr.schema, countsTable)+` SET row_count = row_count + (SELECT COUNT(DISTINCT k.column1) FROM `...)
		b, args, taken := wr.dest.appendKeys(b, l.args[:0], wr.cat.pkType, distinct)
		distinct = distinct[taken:]
		b = append(b, ` WHERE NOT EXISTS (SELECT 1 FROM `+data+` d WHERE d.`+pk+` = k.column1 AND d._sdc_sequence <= ?)) WHERE table_name = ?`...)
		args = append(args, l.before, latestView)
		l.sql, l.args = b, args
		err := wr.sess.exec(ctx, b, args...)
		clear(args)
		if err != nil {
			return fmt.Errorf("count %s: %w", latestView, err)
		}
	}
	return nil
}

// rowCounts reads the counters of schema's tables; nil when the schema predates them and its
// writer has not opened it since (initCounts), so the caller counts.
func rowCounts(ctx context.Context, db querier, d dialect, schema string) map[string]int64 {
	rows, err := db.QueryContext(ctx, `SELECT table_name, row_count FROM `+tableName(d, schema, countsTable))
	if err != nil {
		return nil // no such table yet
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return nil
		}
		out[name] = n
	}
	if rows.Err() != nil {
		return nil
	}
	return out
}

// countRows is a table's rows: the counter, or a COUNT(*) when there is none.
func countRows(ctx context.Context, db querier, d dialect, schema, name string, counts map[string]int64) (int64, error) {
	if n, ok := counts[name]; ok {
		return n, nil
	}
	var n int64
	err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+tableName(d, schema, name)).Scan(&n)
	return n, err
}
