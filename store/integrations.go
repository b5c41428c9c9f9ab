package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hookhouse/hookhouse/store/warehouse"
)

// Integration errors.
var (
	ErrSchemaTaken = errors.New("schema name already in use")
)

// Limits on what people type.
const (
	MaxSchemaLength     = warehouse.MaxIdentifierLen
	MaxPrimaryKeyLength = 50
	MaxNameLength       = 100
)

// Integration is one webhook source loading into its own schema.
type Integration struct {
	ID          int64
	UserID      int64
	Name        string // display name; can be renamed
	Source      string // catalog slug, e.g. "vero"
	Schema      string // fixed at creation
	PrimaryKey  string // top-level field identifying a record; "" for none
	Paused      bool
	CreatedAt   time.Time
	LastEventAt time.Time // zero until the first event; accurate to the minute
}

// NewIntegration is what creating an integration takes.
type NewIntegration struct {
	UserID     int64
	Name       string
	Source     string
	Schema     string
	PrimaryKey string
}

// SchemaName derives a schema name from an integration's display name, as Stitch does:
// "Stitch Vero" -> "stitch_vero". Accents are folded (NFKD, combining marks dropped:
// "Café" -> "cafe"), '.', '(' and ')' are removed, spaces and '-' become '_', the result is
// lowercased, and anything else outside [a-z0-9_] is dropped. The result may still be
// invalid (empty, a leading digit, too long): check it with ValidateSchemaName.
// static/app.js mirrors this for the live preview; this function is the authority.
func SchemaName(display string) string {
	folded, _, err := transform.String(transform.Chain(norm.NFKD, runes.Remove(runes.In(unicode.Mn))), strings.TrimSpace(display))
	if err != nil {
		folded = display
	}
	var b strings.Builder
	for _, r := range strings.ToLower(folded) {
		switch {
		case r == '.' || r == '(' || r == ')':
		case unicode.IsSpace(r) || r == '-':
			b.WriteByte('_')
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// reservedSchemas are names that clash with SQLite's own databases, common warehouses'
// system schemas or hookhouse's files.
var reservedSchemas = map[string]bool{
	"main": true, "temp": true, "information_schema": true, "public": true, "hookhouse": true,
}

var reservedSchemaPrefixes = []string{"sqlite_", "pg_", "_sdc"}

// ValidateSchemaName returns what is wrong with a schema name, in words for the person who
// chose it, or nil. Uniqueness is checked by CreateIntegration.
func ValidateSchemaName(name string) error {
	switch {
	case name == "":
		return errors.New("Enter a schema name: letters, digits and _ (the integration name gives none).")
	case len(name) > MaxSchemaLength:
		return fmt.Errorf("Schema names can be at most %d characters; %s has %d.", MaxSchemaLength, name, len(name))
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return fmt.Errorf("Schema names may contain only lowercase letters, digits and _; %s has %q.", name, r)
		}
	}
	if name[0] < 'a' || name[0] > 'z' {
		return fmt.Errorf("Schema names must start with a letter (a-z); %s does not.", name)
	}
	if reservedSchemas[name] {
		return fmt.Errorf("%s is a reserved name. Choose another schema name.", name)
	}
	for _, p := range reservedSchemaPrefixes {
		if strings.HasPrefix(name, p) {
			return fmt.Errorf("Schema names starting with %s are reserved. Choose another schema name.", p)
		}
	}
	return nil
}

// ValidatePrimaryKey returns what is wrong with a primary key field name, or nil. Empty is
// allowed: then every event is its own record.
func ValidatePrimaryKey(key string) error {
	if key == "" {
		return nil
	}
	if n := utf8.RuneCountInString(key); n > MaxPrimaryKeyLength {
		return fmt.Errorf("The Primary Key can be at most %d characters; this one has %d.", MaxPrimaryKeyLength, n)
	}
	if strings.Contains(key, ".") {
		return errors.New("The Primary Key must be a top-level field, like id; nested paths such as data.id are not supported.")
	}
	for _, r := range key {
		if unicode.IsControl(r) {
			return errors.New("The Primary Key cannot contain control characters.")
		}
	}
	if problem := warehouse.PrimaryKeyProblem(key); problem != "" {
		return fmt.Errorf("The Primary Key %s cannot name a column: %s.", key, problem)
	}
	return nil
}

// ValidateIntegrationName returns what is wrong with a display name, or nil.
func ValidateIntegrationName(name string) error {
	if strings.TrimSpace(name) == "" {
		return errors.New("Enter an integration name.")
	}
	if n := utf8.RuneCountInString(name); n > MaxNameLength {
		return fmt.Errorf("Integration names can be at most %d characters; this one has %d.", MaxNameLength, n)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return errors.New("Integration names cannot contain control characters.")
		}
	}
	return nil
}

// CreateIntegration creates an integration together with its first webhook URL, in one
// transaction, and returns the URL's token: the only time it exists in plaintext.
// It fails with ErrSchemaTaken when another integration uses the schema name (in any
// letter case) or another user's deleted integration left data under it.
func (s *Store) CreateIntegration(ctx context.Context, n NewIntegration) (Integration, WebhookURL, string, error) {
	if err := ValidateSchemaName(n.Schema); err != nil {
		return Integration{}, WebhookURL{}, "", err
	}
	in := Integration{UserID: n.UserID, Name: n.Name, Source: n.Source, Schema: n.Schema, PrimaryKey: n.PrimaryKey, CreatedAt: s.now()}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Integration{}, WebhookURL{}, "", err
	}
	defer tx.Rollback()
	if err := tx.lock(ctx, "schemas"); err != nil { // kept_schemas is read, then changed
		return Integration{}, WebhookURL{}, "", err
	}

	var keptBy int64
	err = tx.QueryRowContext(ctx, "SELECT user_id FROM kept_schemas WHERE schema_name = ?", in.Schema).Scan(&keptBy)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return Integration{}, WebhookURL{}, "", err
	case keptBy != in.UserID:
		return Integration{}, WebhookURL{}, "", ErrSchemaTaken
	default: // the owner takes their kept data back: new events join it
		if _, err := tx.ExecContext(ctx, "DELETE FROM kept_schemas WHERE schema_name = ?", in.Schema); err != nil {
			return Integration{}, WebhookURL{}, "", err
		}
	}

	in.ID, err = tx.insertID(ctx, `INSERT INTO integrations (user_id, name, source, schema_name, primary_key, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, in.UserID, in.Name, in.Source, in.Schema, in.PrimaryKey, formatTime(in.CreatedAt))
	if isUniqueViolation(err) {
		return Integration{}, WebhookURL{}, "", ErrSchemaTaken
	}
	if err != nil {
		return Integration{}, WebhookURL{}, "", err
	}
	u, token, err := insertWebhookURL(ctx, tx, in.ID, in.CreatedAt)
	if err != nil {
		return Integration{}, WebhookURL{}, "", err
	}
	return in, u, token, tx.Commit()
}

const integrationColumns = "id, user_id, name, source, schema_name, primary_key, paused_at, created_at, last_event_at"

func scanIntegration(row interface{ Scan(...any) error }) (Integration, error) {
	var in Integration
	var paused, lastEvent sql.NullString
	var created string
	err := row.Scan(&in.ID, &in.UserID, &in.Name, &in.Source, &in.Schema, &in.PrimaryKey, &paused, &created, &lastEvent)
	in.Paused = paused.Valid
	in.CreatedAt = parseTime(created)
	if lastEvent.Valid {
		in.LastEventAt = parseTime(lastEvent.String)
	}
	return in, err
}

// Integration returns one of the user's integrations, or ErrNotFound (also when it belongs
// to someone else).
func (s *Store) Integration(ctx context.Context, userID, id int64) (Integration, error) {
	in, err := scanIntegration(s.read.QueryRowContext(ctx,
		"SELECT "+integrationColumns+" FROM integrations WHERE id = ? AND user_id = ?", id, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return Integration{}, ErrNotFound
	}
	return in, err
}

// RenameIntegration changes the display name; the schema stays.
func (s *Store) RenameIntegration(ctx context.Context, userID, id int64, name string) error {
	res, err := s.db.ExecContext(ctx, "UPDATE integrations SET name = ? WHERE id = ? AND user_id = ?", name, id, userID)
	return affectedOne(res, err)
}

// SetPaused pauses (webhooks are refused) or resumes an integration.
func (s *Store) SetPaused(ctx context.Context, userID, id int64, paused bool) error {
	var at any // NULL resumes
	if paused {
		at = formatTime(s.now())
	}
	res, err := s.db.ExecContext(ctx, "UPDATE integrations SET paused_at = ? WHERE id = ? AND user_id = ?", at, id, userID)
	s.targets.forget()
	return affectedOne(res, err)
}

// DeleteIntegration deletes an integration and its webhook URLs. With keepData its schema
// stays reserved for the user, since its warehouse file remains; otherwise the caller has
// already dropped the data.
func (s *Store) DeleteIntegration(ctx context.Context, userID, id int64, keepData bool) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := tx.lock(ctx, "schemas"); err != nil {
		return err
	}
	var schema string
	err = tx.QueryRowContext(ctx, "DELETE FROM integrations WHERE id = ? AND user_id = ? RETURNING schema_name", id, userID).Scan(&schema)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if keepData {
		if _, err := tx.ExecContext(ctx, `INSERT INTO kept_schemas (schema_name, user_id, deleted_at) VALUES (?, ?, ?)
			ON CONFLICT (schema_name) DO UPDATE SET user_id = excluded.user_id, deleted_at = excluded.deleted_at`,
			schema, userID, formatTime(s.now())); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.targets.forget()
	return nil
}

// affectedOne turns "no row matched" into ErrNotFound.
func affectedOne(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// isUniqueViolation recognises SQLite's and PostgreSQL's (SQLSTATE 23505) unique violations.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pgErr.Code == "23505"
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}
