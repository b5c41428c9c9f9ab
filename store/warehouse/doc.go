// Package warehouse loads webhook records into per-integration SQLite files,
// with Stitch's table, column and type semantics.
//
// Each schema (integration) has its own file <dir>/<schema>.db, so users can
// ATTACH it under the schema's name. Records are appended to table data;
// every file also carries its catalog (_sdc_tables, _sdc_columns, updated in
// the same transaction as the data) and its rejects (_sdc_rejected).
//
// One writer goroutine per file commits whatever requests are waiting in one
// transaction (group commit), so throughput is not bounded by one fsync per
// request, and Load returns only once its records are durable (WAL,
// synchronous=FULL). When the last commit answered several requests, the
// writer first waits briefly for their senders' next ones (Options.GroupGap,
// GroupMaxWait), rather than commit the first to come almost alone.
//
// Rules, as Stitch applies them, and the choices made where it is silent:
//
//   - Names: keys are lowercased and every character outside [a-z0-9_]
//     becomes '_'; nested objects flatten to parent__child; an empty key is
//     "_". When two source paths want the same name, the one seen later gets
//     name__2, name__3 ... (within a record, keys that are already valid names
//     go first, then the rest in byte order); the
//     mapping is kept in _sdc_columns so a key always lands in the same column.
//     SQLite keeps rowid, oid and _rowid_ for a table's own key (ALTER TABLE
//     cannot add them, and browsing pages by that key), so those names count
//     as taken: a field rowid lands in rowid__2.
//   - Types: integer (fits int64), float (other numbers; integers beyond
//     int64 lose precision), boolean (0/1), string, and timestamp for RFC 3339
//     strings, stored as UTC text 2006-01-02T15:04:05.000000Z. The first type
//     of a field keeps the plain column; later types go to name__bi, __fl,
//     __bo, __st, __ti. Numbers beyond float64 reject the record.
//   - null creates no column; an empty array creates no subtable.
//   - Arrays become subtables <table>__<field> whose rows carry
//     _sdc_source_key_<pk> (the root record's key), _sdc_level_N_id (position
//     in each enclosing array) and the parent record's _sdc_sequence; array
//     elements that are scalars go to column value, nested arrays to
//     <subtable>__value.
//   - data is created by the first record that is not rejected. With a
//     primary key, its column is created then, typed by that record's key
//     (no timestamp detection for keys), with an index on (pk,
//     _sdc_sequence) and the view data_latest. Without one, each row gets a
//     random UUID in __sdc_primary_key and there is no view.
//   - Rejected (to _sdc_rejected, the rest of the request still loads): key
//     missing, null, not a scalar or of another type than the key column; a
//     table that would exceed Options.MaxColumns; a schema that would exceed
//     Options.MaxTables (500 by default, data included); a field whose column
//     name would be longer than MaxColumnNameLen (59, before a __2 or type
//     suffix; MaxIdentifierLen, 63, after), or an array whose subtable name
//     would be longer than MaxTableNameLen (63): Stitch's PostgreSQL limits,
//     which reject rather than truncate; a number beyond float64;
//     nesting deeper than MaxDepth; a Target.PrimaryKey other than the one
//     data was created with (drop the schema to change the key).
//   - Schema changes cost what the schema holds (SQLite reparses it all after
//     each ALTER TABLE ADD COLUMN), so a table is created with the columns its
//     first record brings, and MaxTables and the name limits bound the rest.
//   - _sdc_sequence is max(arrival in Unix ns, previous + 1): strictly
//     increasing in data, across restarts.
package warehouse
