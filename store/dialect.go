package store

import (
	"context"
	"database/sql"

	"github.com/hookhouse/hookhouse/store/warehouse"
)

// dialect is what differs between the two metadata databases. The store's SQL is written once,
// for SQLite, with ? (or ?N) parameters; on PostgreSQL, bind turns them into $N, and the few
// expressions that differ come from here.
type dialect struct {
	postgres bool
}

// name is the dialect's folder of migrations.
func (d dialect) name() string {
	if d.postgres {
		return "postgres"
	}
	return "sqlite"
}

// bind rewrites ? and ?N parameters to PostgreSQL's $N (warehouse.BindPostgres); on SQLite it
// returns q as is.
func (d dialect) bind(q string) string {
	if !d.postgres {
		return q
	}
	return warehouse.BindPostgres(q)
}

// param is a ? parameter of the given PostgreSQL type: PostgreSQL resolves an untyped
// parameter in a SELECT list as text, which an INSERT ... SELECT into an integer column refuses.
func (d dialect) param(pgType string) string {
	if d.postgres {
		return "?::" + pgType
	}
	return "?"
}

// groupConcat joins the values of expr with commas.
func (d dialect) groupConcat(expr string) string {
	if d.postgres {
		return "string_agg(" + expr + ", ',')"
	}
	return "group_concat(" + expr + ", ',')"
}

// idsFrom is a FROM item listing the ids of a JSON array parameter (idList) as x.value,
// compared with idValue.
func (d dialect) idsFrom() string {
	if d.postgres {
		return "jsonb_array_elements(?::jsonb) AS x(value)"
	}
	return "json_each(?) x"
}

func (d dialect) idValue() string {
	if d.postgres {
		return "(x.value)::bigint"
	}
	return "x.value"
}

// like is the case-insensitive LIKE: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
func (d dialect) like() string {
	if d.postgres {
		return "ILIKE"
	}
	return "LIKE"
}

// nameOrder sorts display names ignoring case, as the integrations list index does.
func (d dialect) nameOrder(col string) string {
	if d.postgres {
		return "lower(" + col + ")"
	}
	return col + " COLLATE NOCASE"
}

// nullsLast: SQLite sorts NULLs last in DESC order already, PostgreSQL first.
func (d dialect) nullsLast() string {
	if d.postgres {
		return " NULLS LAST"
	}
	return ""
}

// sqlDB is a database handle whose queries go through the dialect's bind.
type sqlDB struct {
	*sql.DB
	d dialect
}

func (db *sqlDB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return db.DB.ExecContext(ctx, db.d.bind(q), args...)
}

func (db *sqlDB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return db.DB.QueryContext(ctx, db.d.bind(q), args...)
}

func (db *sqlDB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return db.DB.QueryRowContext(ctx, db.d.bind(q), args...)
}

func (db *sqlDB) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return db.DB.PrepareContext(ctx, db.d.bind(q))
}

func (db *sqlDB) BeginTx(ctx context.Context, opts *sql.TxOptions) (*sqlTx, error) {
	tx, err := db.DB.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &sqlTx{Tx: tx, d: db.d}, nil
}

// Query and Exec without a context are for tests.
func (db *sqlDB) Query(q string, args ...any) (*sql.Rows, error) {
	return db.QueryContext(context.Background(), q, args...)
}

func (db *sqlDB) Exec(q string, args ...any) (sql.Result, error) {
	return db.ExecContext(context.Background(), q, args...)
}

// sqlTx is a transaction whose queries go through the dialect's bind.
type sqlTx struct {
	*sql.Tx
	d dialect
}

func (tx *sqlTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return tx.Tx.ExecContext(ctx, tx.d.bind(q), args...)
}

func (tx *sqlTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return tx.Tx.QueryContext(ctx, tx.d.bind(q), args...)
}

func (tx *sqlTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return tx.Tx.QueryRowContext(ctx, tx.d.bind(q), args...)
}

// lock serializes the transactions that take the same lock across every node: on PostgreSQL
// an advisory lock held until the transaction ends. On SQLite every write transaction is
// immediate (one writer at a time), so they are serialized already.
func (tx *sqlTx) lock(ctx context.Context, name string) error {
	if !tx.d.postgres {
		return nil
	}
	_, err := tx.Tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", "hookhouse "+name)
	return err
}

// insertID runs an INSERT ... RETURNING id and returns the id (pgx has no LastInsertId).
func (tx *sqlTx) insertID(ctx context.Context, q string, args ...any) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, q+" RETURNING id", args...).Scan(&id)
	return id, err
}
