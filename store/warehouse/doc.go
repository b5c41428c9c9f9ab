// Package warehouse loads webhook records into a destination with Stitch's table, column and
// type semantics: SQLite files by default, or a PostgreSQL database.
//
// The Stitch model (decoding, flattening, naming, typing, the catalog's decisions, rejects)
// is shared; a destination (sqlite.go, postgres.go) only says how its database connects,
// spells SQL and declares types. On SQLite each schema (integration) has its own file
// <dir>/<schema>.db, so users can ATTACH it under the schema's name; on PostgreSQL it is a
// schema of that name. Records are appended to table data; every schema also carries its
// catalog (_sdc_tables, _sdc_columns, updated in the same transaction as the data) and its
// rejects (_sdc_rejected).
//
// Nothing the dashboard shows or a restart reads costs a scan of the data: _sdc_counts holds
// each table's rows, data_latest's rows, the rejects' count and data's last _sdc_sequence,
// incremented in SQL in the transaction of each commit (so several processes writing one
// PostgreSQL schema keep them exact); a schema written before it existed is counted once when
// its writer opens it, and read with COUNT(*) until then. The event-type column (type,
// eventName or event) of data is indexed: the Data page's filter is an index lookup and the
// types it offers a loose index scan.
//
// One writer goroutine per schema commits whatever requests are waiting in one
// transaction (group commit), so throughput is not bounded by one fsync per
// request, and Load returns only once its records are durable (SQLite: WAL,
// synchronous=FULL; PostgreSQL: COMMIT with synchronous_commit on). A writer that has had
// nothing to do for Options.IdleTimeout closes its file or connection and stops; the next
// Load starts another (Warehouse.retire decides under the lock Load queues under, so none is
// lost), and 10,000 integrations of one event each hold no files. When the last
// commit answered several requests, the writer first waits briefly for their senders'
// next ones (Options.GroupGap, GroupMaxWait), rather than commit the first to come almost
// alone. On PostgreSQL, writers of one schema in several processes take turns under an
// advisory lock and read what the others committed (catalog, last _sdc_sequence) first.
//
// Rules, as Stitch's PostgreSQL destination applies them (README, Querying, names the files
// followed), the same on every destination but where a database must differ:
//
//   - Names (columnName): each key keeps its case and its ASCII letters, digits,
//     underscores and spaces, and loses other characters; nested objects flatten to
//     parent__child; leading characters other than letters and underscores are removed.
//     A field whose name is empty, starts with _sdc or _rjm, ends with a type suffix, or
//     is longer than MaxColumnNameLen (59) is rejected; so is an array whose subtable name
//     would be longer than MaxTableNameLen (63). Two fields that become one name are a
//     field collision: the record that brings the second is rejected. SQLite ignores case
//     in names, so there id beside ID collides; PostgreSQL keeps both. The mapping is kept
//     in _sdc_columns, so a key always lands in the same column, and files named by the
//     rules of before (lowercased, a_b__2, __fl) keep theirs.
//     SQLite keeps rowid, oid and _rowid_ for a table's own key (ALTER TABLE cannot add
//     them, and browsing pages by that key): a field rowid lands in rowid__2 there.
//   - Types: integer (bigint; an integer beyond it rejects the record), float (double
//     precision; beyond it rejects), boolean, string, and timestamp for RFC 3339 strings
//     (SQLite: UTC text 2006-01-02T15:04:05.000000Z; PostgreSQL: timestamp with time
//     zone). The first type of a field keeps the plain column; later types go to
//     name__bi, __do, __bo, __st, __ti.
//   - A record larger than MaxRecordBytes (4 MB) is rejected.
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
//     Options.MaxTables (500 by default, data included); the names and values above;
//     nesting deeper than MaxDepth; a Target.PrimaryKey other than the one
//     data was created with (drop the schema to change the key).
//   - Schema changes cost what the schema holds (SQLite reparses it all after
//     each ALTER TABLE ADD COLUMN), so a table is created with the columns its
//     first record brings, and MaxTables and the name limits bound the rest.
//   - _sdc_sequence is max(arrival in Unix ns, previous + 1): strictly
//     increasing in data, across restarts.
package warehouse
