package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

// One numbered list of migrations, written once per dialect: migrations/sqlite/NNNN_name.sql
// and migrations/postgres/NNNN_name.sql carry the same numbers and names.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the embedded NNNN_name.sql files of a dialect in version order.
func migrations(d dialect) ([]migration, error) {
	dir := "migrations/" + d.name()
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".sql")
		num, _, ok := strings.Cut(name, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %q: name must be NNNN_name.sql", e.Name())
		}
		body, err := migrationFiles.ReadFile(dir + "/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: version, name: name, sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// migrate applies each migration not yet recorded, each in its own transaction together
// with its record, so a crash leaves the database at a whole version.
func migrate(ctx context.Context, db *sql.DB) error {
	return migrateTo(ctx, db, 0)
}

// migrateTo is migrate up to version last only (0: all): tests make older databases with it.
func migrateTo(ctx context.Context, db *sql.DB, last int) error {
	return migrateWith(ctx, &sqlDB{DB: db}, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL)`, last)
}

// migratePostgres creates the hookhouse schema and migrates it. Nodes starting together
// take turns: each migration's transaction holds an advisory lock, so one applies it and
// the others find it done.
func migratePostgres(ctx context.Context, db *sql.DB) error {
	return migrateWith(ctx, &sqlDB{DB: db, d: dialect{postgres: true}}, `CREATE SCHEMA IF NOT EXISTS `+Schema+`;
		CREATE TABLE IF NOT EXISTS `+Schema+`.schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at TEXT NOT NULL)`, 0)
}

func migrateWith(ctx context.Context, db *sqlDB, create string, last int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if err := tx.lock(ctx, "migrations"); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := tx.Tx.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	ms, err := migrations(db.d)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if last > 0 && m.version > last {
			break
		}
		if err := apply(ctx, db, m); err != nil {
			return fmt.Errorf("migration %s/%s: %w", db.d.name(), m.name, err)
		}
	}
	return nil
}

// foreignKeysOff starts an SQLite migration that rebuilds tables others reference (SQLite's
// 12-step ALTER TABLE): dropping a parent with foreign keys on would cascade to its children.
const foreignKeysOff = "-- foreign_keys=OFF"

func apply(ctx context.Context, db *sqlDB, m migration) error {
	// One connection for the pragma and the transaction: foreign_keys cannot change inside one.
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	rebuild := !db.d.postgres && strings.HasPrefix(m.sql, foreignKeysOff)
	if !db.d.postgres && !rebuild && strings.Contains(strings.ToUpper(m.sql), "DROP TABLE") {
		return fmt.Errorf("it drops a table with foreign keys on, which empties the tables referencing it: start it with %q", foreignKeysOff)
	}
	if rebuild {
		if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
			return err
		}
		defer func() {
			// Context-free: whatever happened, the connection goes back to the pool with its
			// foreign keys on, or not at all.
			if _, err := conn.ExecContext(context.Background(), "PRAGMA foreign_keys = ON"); err != nil {
				conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}()
	}
	t, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	tx := &sqlTx{Tx: t, d: db.d}
	defer tx.Rollback()
	if err := tx.lock(ctx, "migrations"); err != nil {
		return err
	}
	var done int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", m.version).Scan(&done); err != nil {
		return err
	}
	if done > 0 {
		return nil
	}
	var orphans map[string]int // rows that referenced missing rows before: not the rebuild's doing
	if rebuild {
		if orphans, err = foreignKeyCheck(ctx, tx); err != nil {
			return err
		}
	}
	// Not through bind: a migration is SQL as written (a PostgreSQL function body may hold a ?).
	if _, err := tx.Tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if rebuild {
		after, err := foreignKeyCheck(ctx, tx)
		if err != nil {
			return err
		}
		for ref, n := range after {
			if n > orphans[ref] {
				return fmt.Errorf("foreign key check: %d rows of %s reference missing rows (%d before the migration)", n, ref, orphans[ref])
			}
		}
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.version, m.name, formatTime(time.Now())); err != nil {
		return err
	}
	return tx.Commit()
}

// foreignKeyCheck counts the rows that reference a missing row, by "table -> parent": what
// foreign keys, off during a rebuild, would have refused. A database can hold some already
// (rows deleted by a client with foreign keys off, as sqlite3's default is).
func foreignKeyCheck(ctx context.Context, tx *sqlTx) (map[string]int, error) {
	rows, err := tx.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counts := map[string]int{}
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fk int
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			return nil, err
		}
		counts[table+" -> "+parent]++
	}
	return counts, rows.Err()
}
