package warehouse

import (
	"context"
	"database/sql"
)

// A destination is the database a Warehouse loads into. It holds only what differs between
// databases: connections, identifier quoting, type names and DDL. The Stitch model (decoding,
// flattening, naming, typing, the catalog's decisions, rejects) and group commit are shared,
// so a new database is a new destination and nothing else.
type destination interface {
	dialect
	// session opens the writer's connection to schema, creating the schema and its system
	// tables (the catalog, _sdc_rejected) when they are missing.
	session(ctx context.Context, schema string) (session, error)
	// reader returns a connection for reading schema (queries with ? placeholders), and
	// false when the schema has nothing yet. release is called when the read is done.
	reader(ctx context.Context, schema string) (db querier, release func(), ok bool, err error)
	// schemas lists the schemas that hold a catalog, by name.
	schemas(ctx context.Context) ([]string, error)
	// drop deletes schema and everything in it. The schema's writer has stopped.
	drop(ctx context.Context, schema string) error
	// claimable refuses (ErrForeignSchema) a schema name the database already uses for
	// something that is not hookhouse's.
	claimable(ctx context.Context, schema string) error
	// refusal says whether err is the database refusing a record it cannot hold (a value, a
	// name, a row too large) rather than failing, and why: such a record is rejected.
	refusal(err error) (reason string, refused bool)
	// ping checks that the database answers.
	ping(ctx context.Context) error
	// lostServer says whether err is the database server out of reach (stopped, restarting,
	// the connection cut) rather than refusing the work: once ping answers, that may be over.
	lostServer(err error) bool
	// Describe says where the data goes, for people: never a password.
	Describe() string
	close() error
}

// A dialect is how a destination spells SQL.
type dialect interface {
	// appendTable appends the quoted name of schema's table name, qualified where needed.
	appendTable(b []byte, schema, name string) []byte
	// fewStatements asks that multi-row INSERTs come in chunks of powers of two rows (15 rows:
	// 8, 4, 2 and 1), so that each shape needs at most six prepared statements; otherwise all
	// queued rows go in one statement.
	fewStatements() bool
	// appendParam appends the placeholder of a statement's n-th argument, from 1.
	appendParam(b []byte, n int) []byte
	// foldName is how the database compares identifiers: two names that fold alike are the
	// same column (a field collision).
	foldName(name string) string
	// reservedColumn reports whether the database keeps name for itself: a field asking for
	// it gets the next free name, name__2.
	reservedColumn(name string) bool
	// sqlType is the column type a Stitch type is declared with.
	sqlType(t colType) string
	// appendKeys appends a FROM item k of one column, column1, holding keys (distinct values
	// of a column of type t, none NULL), and its arguments to args; it may take only the first
	// taken of them (a statement's parameters are bounded) and repeat some (count them DISTINCT).
	appendKeys(b []byte, args []any, t colType, keys []any) (_ []byte, _ []any, taken int)
	// customPlanSQL is a statement after which the transaction's statements are planned for
	// their arguments and the tables as they are now, not by a plan the database cached when
	// data was small; "" where no such plan is kept.
	customPlanSQL() string
	// pageReader is what an export's page and a latest page's bound are read with, from db, the
	// schema's reader: in key order by the key's index, never by sorting all the rows after the
	// page's start.
	pageReader(ctx context.Context, db querier) (querier, func(), error)
	// catalogOrder orders the catalog's rows as they were added.
	catalogOrder() string
	// rowKey names the columns that identify a row of a table at level (0 for data) and
	// follow arrival: rows are paged and linked by them.
	rowKey(level int) []string
	// rejectedKey names the column that identifies a row of _sdc_rejected and follows
	// arrival, as rowKey does for the tables (Stitch gives _sdc_rejected no key).
	rejectedKey() string
	// tableSQL creates what a new table needs beside its columns (an index on its key).
	tableSQL(schema, name string, level int) []string
	// rootSQL creates data's indexes and, for primary-key column pk ("" for none), the
	// data_latest view; with refresh, after data gained a column, it updates the view.
	rootSQL(schema, pk string, refresh bool) []string
	// latestViewSQL replaces the data_latest view of a schema made by an older version.
	latestViewSQL(schema, pk string) []string
	// systemSQL creates the schema's catalog, counters and rejects tables when missing.
	systemSQL(schema string) []string
	// eventTypeIndexSQL indexes data's event-type column col so that a filter on it is an
	// index lookup in the order rows are paged, and its distinct values a loose index scan.
	eventTypeIndexSQL(schema, col string) string
}

// A session is the writer's hold on its schema: statements run in order, one transaction at a
// time, between begin and end. Queries are written with ? placeholders.
type session interface {
	querier
	begin(ctx context.Context) error
	exec(ctx context.Context, query []byte, args ...any) error
	// query runs a statement that returns rows, prepared once like exec's.
	query(ctx context.Context, query []byte, args ...any) (*sql.Rows, error)
	// end commits the transaction, or rolls it back (the database may have already).
	end(ctx context.Context, commit bool) error
	close() error
}

// A sharedSession's schema may also be written by other processes (several nodes on one
// PostgreSQL). Its transactions begin under the schema's lock, and beginShared begins one and
// reads, in the same round trip, what the others may have committed: the catalog's count of
// columns (when it changed, the catalog is read again) and, when data exists, its last
// _sdc_sequence.
type sharedSession interface {
	beginShared(ctx context.Context, withData bool) (columns int, lastSeq int64, err error)
}

// A pipelinedSession can send statements without waiting for each one's answer: after hold,
// exec queues its statement and returns nil, and end(ctx, true) sends the queue and COMMIT in
// one round trip. A queued statement that the database refused fails end with a *heldError,
// the transaction rolled back; any other failure comes as it is.
type pipelinedSession interface {
	hold()
	held() int // statements queued since hold
}

// heldError is the failure of the statement-th statement queued after hold (from 0).
type heldError struct {
	statement int
	err       error
}

func (e *heldError) Error() string { return e.err.Error() }
func (e *heldError) Unwrap() error { return e.err }

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// tableName is schema's table name as dialect d spells it in a statement.
func tableName(d dialect, schema, name string) string {
	return string(d.appendTable(nil, schema, name))
}
