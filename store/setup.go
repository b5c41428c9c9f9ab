package store

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base32"
	"errors"
	"strings"
)

// SetupCodeFile is the file in the data folder that holds the setup code while no account exists.
const SetupCodeFile = "setup-code"

// ErrSetupCode means the code posted to /setup is not the newest one written (or none was).
var ErrSetupCode = errors.New("the setup code is wrong")

var setupCodeEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewSetupCode replaces the code that /setup asks for with a new one and returns it, or returns ""
// when an account exists (setup is over). Only its hash is kept; the caller shows the code to
// whoever started hookhouse.
func (s *Store) NewSetupCode(ctx context.Context) (string, error) {
	if done, err := s.HasUsers(ctx); err != nil || done {
		return "", err
	}
	b := make([]byte, 20)
	rand.Read(b) // crypto/rand.Read never fails
	raw := strings.ToLower(setupCodeEncoding.EncodeToString(b))
	var groups []string
	for i := 0; i < len(raw); i += 4 {
		groups = append(groups, raw[i:i+4])
	}
	code := strings.Join(groups, "-")
	_, err := s.db.ExecContext(ctx, `INSERT INTO setup_code (id, code_hash, created_at) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET code_hash = excluded.code_hash, created_at = excluded.created_at`,
		hashToken(normalizeSetupCode(code)), formatTime(s.now()))
	if err != nil {
		return "", err
	}
	return code, nil
}

// CheckSetupCode returns ErrSetupCode unless code is the newest one NewSetupCode made, and
// ErrSetupDone once an account exists (creating it deleted the code). Spaces, dashes and case
// do not matter, so that a code read aloud or retyped still works.
func (s *Store) CheckSetupCode(ctx context.Context, code string) error {
	var stored string
	err := s.read.QueryRowContext(ctx, "SELECT code_hash FROM setup_code WHERE id = 1").Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) {
		if done, err := s.HasUsers(ctx); err != nil || done {
			if err == nil {
				err = ErrSetupDone
			}
			return err
		}
		return ErrSetupCode
	}
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(stored), []byte(hashToken(normalizeSetupCode(code)))) != 1 {
		return ErrSetupCode
	}
	return nil
}

func normalizeSetupCode(code string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' || r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, strings.ToLower(code))
}
