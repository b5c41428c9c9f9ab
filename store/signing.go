package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hookhouse/hookhouse/store/signature"
)

// Signing errors.
var (
	ErrTooManySecrets = errors.New("too many signing secrets")
	// ErrSecretRequired: a signing scheme without any secret would refuse every request.
	ErrSecretRequired = errors.New("a signing scheme needs a secret")
)

// SigningSecret is one stored secret of an integration; its value is never read back out of
// the store but by the webhook path.
type SigningSecret struct {
	ID        int64
	CreatedAt time.Time
}

// Signing is an integration's verification settings and its secrets (without their values).
type Signing struct {
	Config  signature.Config
	Secrets []SigningSecret // oldest first
}

// Signing returns one of the user's integrations' verification settings.
func (s *Store) Signing(ctx context.Context, userID, integrationID int64) (Signing, error) {
	var raw string
	err := s.read.QueryRowContext(ctx, "SELECT signature_config FROM integrations WHERE id = ? AND user_id = ?", integrationID, userID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return Signing{}, ErrNotFound
	}
	if err != nil {
		return Signing{}, err
	}
	cfg, err := signature.Decode(raw)
	if err != nil {
		return Signing{}, err
	}
	rows, err := s.read.QueryContext(ctx, "SELECT id, created_at FROM signing_secrets WHERE integration_id = ? ORDER BY id", integrationID)
	if err != nil {
		return Signing{}, err
	}
	defer rows.Close()
	sg := Signing{Config: cfg}
	for rows.Next() {
		var sec SigningSecret
		var created string
		if err := rows.Scan(&sec.ID, &created); err != nil {
			return Signing{}, err
		}
		sec.CreatedAt = parseTime(created)
		sg.Secrets = append(sg.Secrets, sec)
	}
	return sg, rows.Err()
}

// SaveSigning stores an integration's verification settings, in one transaction: with
// replaceSecrets the secrets saved before go (they belong to the scheme being left), and
// newSecret, when not "", is added, sealed with the store's key. At most
// signature.MaxSecrets may be active (ErrTooManySecrets), and a scheme that signs needs one
// (ErrSecretRequired). The webhook path sees the change from the next request on.
func (s *Store) SaveSigning(ctx context.Context, userID, integrationID int64, cfg signature.Config, replaceSecrets bool, newSecret string) error {
	box := s.box.Load()
	if newSecret != "" && box == nil {
		return ErrNoSecretKey
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := tx.lock(ctx, "signing"); err != nil { // the count of secrets below
		return err
	}
	res, err := tx.ExecContext(ctx, "UPDATE integrations SET signature_config = ? WHERE id = ? AND user_id = ?", cfg.Encode(), integrationID, userID)
	if err := affectedOne(res, err); err != nil {
		return err
	}
	if replaceSecrets {
		if _, err := tx.ExecContext(ctx, "DELETE FROM signing_secrets WHERE integration_id = ?", integrationID); err != nil {
			return err
		}
	}
	if newSecret != "" {
		if _, err := tx.ExecContext(ctx, "INSERT INTO signing_secrets (integration_id, sealed, created_at) VALUES (?, ?, ?)",
			integrationID, box.seal(integrationID, newSecret), formatTime(s.now())); err != nil {
			return err
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM signing_secrets WHERE integration_id = ?", integrationID).Scan(&n); err != nil {
		return err
	}
	switch {
	case n > signature.MaxSecrets:
		return ErrTooManySecrets
	case n == 0 && cfg.Scheme != signature.None:
		return ErrSecretRequired
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.targets.forget()
	return nil
}

// RemoveSigningSecret deletes one secret (the old one, after a rotation). The last secret of
// a scheme that signs cannot go (ErrSecretRequired): switch verification off first.
func (s *Store) RemoveSigningSecret(ctx context.Context, userID, integrationID, secretID int64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := tx.lock(ctx, "signing"); err != nil {
		return err
	}
	var raw string
	err = tx.QueryRowContext(ctx, "SELECT signature_config FROM integrations WHERE id = ? AND user_id = ?", integrationID, userID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	cfg, err := signature.Decode(raw)
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, "DELETE FROM signing_secrets WHERE id = ? AND integration_id = ?", secretID, integrationID)
	if err := affectedOne(res, err); err != nil {
		return err
	}
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM signing_secrets WHERE integration_id = ?", integrationID).Scan(&n); err != nil {
		return err
	}
	if n == 0 && cfg.Scheme != signature.None {
		return ErrSecretRequired
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.targets.forget()
	return nil
}

// verifier builds the verifier of a webhook target from its stored settings, opening its
// secrets; nil when the settings do nothing (the unsigned path then costs nothing more).
func (s *Store) verifier(ctx context.Context, integrationID int64, raw string) (*signature.Verifier, error) {
	if raw == "" {
		return nil, nil
	}
	cfg, err := signature.Decode(raw)
	if err != nil || cfg.Empty() {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, "SELECT sealed FROM signing_secrets WHERE integration_id = ? ORDER BY id", integrationID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var secrets []string
	box := s.box.Load()
	for rows.Next() {
		var sealed []byte
		if err := rows.Scan(&sealed); err != nil {
			return nil, err
		}
		if box == nil {
			return nil, fmt.Errorf("integration %d: %w", integrationID, ErrNoSecretKey)
		}
		secret, err := box.open(integrationID, sealed)
		if err != nil {
			return nil, fmt.Errorf("integration %d: a signing secret does not decrypt with the secret key", integrationID)
		}
		secrets = append(secrets, secret)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return signature.New(cfg, secrets)
}
