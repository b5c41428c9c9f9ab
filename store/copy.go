package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrNotEmpty: CopyInto copies into a database without accounts only.
var ErrNotEmpty = errors.New("the destination already has accounts")

// CopyOptions says what CopyInto copies beside the accounts, integrations and URLs.
type CopyOptions struct {
	// Logs copies the Extraction Logs and Loading Reports too (up to -log-max-bytes of bodies
	// per integration); without it the destination starts with empty logs. The hourly
	// counters behind the overview's charts are always copied.
	Logs bool
}

// copiedTable is a table CopyInto copies, in an order that satisfies the foreign keys.
type copiedTable struct {
	name    string
	columns []string
	bools   map[string]bool // columns that are INTEGER on SQLite and BOOLEAN on PostgreSQL
	order   string
	logs    bool // copied only with CopyOptions.Logs
	ids     bool // has an id the destination must go on counting after
}

// copiedTables leave out the sessions (everyone signs in again) and the copy-once secrets
// waiting to be shown (they expire in minutes). logged_body_bytes is kept by the
// destination's trigger as the logs are inserted.
var copiedTables = []copiedTable{
	{name: "users", columns: []string{"id", "email", "password_hash", "created_at", "workspace_id", "session_generation"},
		order: "workspace_id IS NOT NULL, id", ids: true},
	{name: "integrations", columns: []string{"id", "user_id", "name", "source", "schema_name", "primary_key", "paused_at", "created_at", "last_event_at", "signature_config"},
		order: "id", ids: true},
	{name: "kept_schemas", columns: []string{"schema_name", "user_id", "deleted_at"}, order: "schema_name"},
	{name: "webhook_urls", columns: []string{"id", "integration_id", "token_hash", "token_prefix", "created_at", "last_used_at", "revoked_at"},
		order: "id", ids: true},
	{name: "invites", columns: []string{"id", "workspace_id", "email", "token_hash", "created_at", "expires_at", "accepted_at", "revoked_at"},
		order: "id", ids: true},
	{name: "signing_secrets", columns: []string{"id", "integration_id", "sealed", "created_at"}, order: "id", ids: true},
	{name: "hourly_activity", columns: []string{"integration_id", "hour", "rows", "requests", "errors", "refused", "revoked"}, order: "integration_id, hour"},
	{name: "webhook_requests", columns: []string{"id", "integration_id", "received_at", "status", "error", "records", "rejected", "bytes",
		"content_type", "ip", "user_agent", "body", "body_truncated"}, bools: map[string]bool{"body_truncated": true}, order: "id", logs: true, ids: true},
	{name: "load_reports", columns: []string{"id", "integration_id", "committed_at", "duration_us", "records", "rejected", "rows_by_table", "columns_added"},
		order: "id", logs: true, ids: true},
}

// CopyInto copies this store's metadata into dst, which must have no accounts (ErrNotEmpty):
// the accounts with their password hashes, the team and its invites, the integrations, the
// webhook URLs' token hashes (so the same URLs keep working), the sealed signing secrets as
// they are (dst needs the same secret key) and the hourly counters; with opts.Logs, the logs
// too. Ids are kept. It is one transaction on dst: a copy that fails leaves dst as it was,
// and can be run again. Writes to this store while it runs may be missed: stop hookhouse first.
func (s *Store) CopyInto(ctx context.Context, dst *Store, opts CopyOptions) error {
	if has, err := dst.HasUsers(ctx); err != nil || has {
		if err == nil {
			err = fmt.Errorf("%w: copy into an empty database (a new -database), or remove what is there", ErrNotEmpty)
		}
		return err
	}
	tx, err := dst.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := tx.lock(ctx, "setup"); err != nil { // no node creates an owner meanwhile
		return err
	}
	for _, table := range copiedTables {
		if !table.logs || opts.Logs {
			if err := s.copyTable(ctx, tx, table); err != nil {
				return fmt.Errorf("copying %s: %w", table.name, err)
			}
		}
		if table.ids && dst.d.postgres {
			// The identity goes on after every id the source gave, copied or not (logs left
			// behind, rows deleted), so a link of the old server opens nothing else.
			high, err := s.highestID(ctx, table.name)
			if err != nil {
				return fmt.Errorf("copying %s: %w", table.name, err)
			}
			if _, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('`+table.name+`', 'id'), GREATEST(COALESCE(MAX(id), 0), ?::bigint) + 1, false) FROM `+table.name, high); err != nil {
				return fmt.Errorf("copying %s: %w", table.name, err)
			}
		}
	}
	if err := dst.checkSealed(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	dst.targets.forget()
	return nil
}

// highestID is the largest id table has given: on SQLite the larger of its rows' and, for a
// table with AUTOINCREMENT (sqlite/0012), of sqlite_sequence's, which remembers deleted ones.
func (s *Store) highestID(ctx context.Context, table string) (int64, error) {
	q := "SELECT COALESCE(MAX(id), 0) FROM " + table
	if !s.d.postgres {
		q = "SELECT MAX((" + q + "), COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '" + table + "'), 0))"
	}
	var high int64
	err := s.read.QueryRowContext(ctx, q).Scan(&high)
	return high, err
}

func (s *Store) copyTable(ctx context.Context, tx *sqlTx, table copiedTable) error {
	cols := strings.Join(table.columns, ", ")
	rows, err := s.read.QueryContext(ctx, "SELECT "+cols+" FROM "+table.name+" ORDER BY "+table.order)
	if err != nil {
		return err
	}
	defer rows.Close()
	insert, err := tx.PrepareContext(ctx, tx.d.bind("INSERT INTO "+table.name+" ("+cols+") VALUES (?"+strings.Repeat(", ?", len(table.columns)-1)+")"))
	if err != nil {
		return err
	}
	defer insert.Close()
	values := make([]any, len(table.columns))
	dest := make([]any, len(table.columns))
	for i, c := range table.columns {
		if table.bools[c] {
			dest[i] = new(bool)
		} else {
			dest[i] = &values[i]
		}
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		for i, c := range table.columns {
			if table.bools[c] {
				values[i] = *dest[i].(*bool)
			}
		}
		if _, err := insert.ExecContext(ctx, values...); err != nil {
			return err
		}
	}
	return rows.Err()
}

// checkSealed fails when dst has a secret key that does not open the copied signing secrets.
func (s *Store) checkSealed(ctx context.Context, tx *sqlTx) error {
	box := s.box.Load()
	if box == nil {
		return nil // SetSecretKey checks them when the destination is started
	}
	return box.opensAll(ctx, tx)
}
