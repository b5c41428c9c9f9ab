package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// MinPasswordLength is the shortest password an account may have.
const MinPasswordLength = 12

// maxPasswordBytes bounds a password: argon2id reads all of it.
const maxPasswordBytes = 1024

// ValidateEmail returns what is wrong with a new account's email, or nil: it must be one plain
// address, like you@example.com, and nothing else (no name, no angle brackets).
func ValidateEmail(email string) error {
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email {
		return errors.New("Enter a valid email address, like you@example.com.")
	}
	return nil
}

// ValidatePassword returns what is wrong with a new password, or nil: every new password (the
// owner's, from the setup form or HOOKHOUSE_ADMIN_PASSWORD, a teammate's, a changed one)
// passes this one check.
func ValidatePassword(password string) error {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLength:
		return fmt.Errorf("Choose a password of at least %d characters.", MinPasswordLength)
	case len(password) > maxPasswordBytes:
		return fmt.Errorf("Choose a password of at most %d bytes.", maxPasswordBytes)
	}
	return nil
}

// User is a person who signs in to the dashboard.
type User struct {
	ID        int64
	Email     string
	CreatedAt time.Time
	// WorkspaceID is whose integrations the user sees and manages: the owner's user id, for
	// the owner and every teammate alike. Handlers pass it, not ID, to the integration queries.
	WorkspaceID int64
	// SessionGeneration is bumped to end all of the user's sessions; a session signed in
	// under an older one is over.
	SessionGeneration int64
}

// IsOwner reports whether the user owns the workspace (invites and removes teammates).
func (u User) IsOwner() bool { return u.ID != 0 && u.WorkspaceID == u.ID }

// Role names the user's part in the workspace, as the Team page shows it.
func (u User) Role() string {
	if u.IsOwner() {
		return "Owner"
	}
	return "Member"
}

// userColumns are read by scanUser; an owner's workspace_id is NULL: the workspace is its own id.
const userColumns = "id, email, created_at, COALESCE(workspace_id, id), session_generation"

func scanUser(row interface{ Scan(...any) error }, extra ...any) (User, error) {
	var u User
	var created string
	err := row.Scan(append([]any{&u.ID, &u.Email, &created, &u.WorkspaceID, &u.SessionGeneration}, extra...)...)
	u.CreatedAt = parseTime(created)
	return u, err
}

// HasUsers reports whether any account exists; until one does, hookhouse is in setup.
func (s *Store) HasUsers(ctx context.Context) (bool, error) {
	var exists bool
	err := s.read.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM users)").Scan(&exists)
	return exists, err
}

// CreateOwner creates the first account. It fails with ErrSetupDone when any account
// exists, so two racing set-up forms cannot both create an owner.
func (s *Store) CreateOwner(ctx context.Context, email, password string) (User, error) {
	u := User{Email: normalizeEmail(email), CreatedAt: parseTime(formatTime(s.now()))} // as stored: a User read back is equal
	// Refuse before hashing: a forged setup form must not cost an argon2id hash.
	if done, err := s.HasUsers(ctx); err != nil || done {
		if err == nil {
			err = ErrSetupDone
		}
		return User{}, err
	}
	var hash string
	if err := s.hashes.do(ctx, func() { hash = hashPassword(password) }); err != nil {
		return User{}, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return User{}, err
	}
	defer tx.Rollback()
	if err := tx.lock(ctx, "setup"); err != nil { // nodes started together with HOOKHOUSE_ADMIN_EMAIL
		return User{}, err
	}
	u.ID, err = tx.insertID(ctx, `INSERT INTO users (email, password_hash, created_at)
		SELECT `+s.d.param("text")+`, `+s.d.param("text")+`, `+s.d.param("text")+` WHERE NOT EXISTS (SELECT 1 FROM users)`,
		u.Email, hash, formatTime(u.CreatedAt))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrSetupDone
	}
	if err != nil {
		return User{}, err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM setup_code"); err != nil { // used up
		return User{}, err
	}
	u.WorkspaceID = u.ID
	return u, tx.Commit()
}

// Authenticate returns the user whose email and password match, or ErrInvalidCredentials
// without saying which of the two was wrong. ErrBusy (or ctx's error) means the password
// was not checked: too many are being checked at once.
func (s *Store) Authenticate(ctx context.Context, email, password string) (User, error) {
	var hash string
	u, err := scanUser(s.read.QueryRowContext(ctx, "SELECT "+userColumns+", password_hash FROM users WHERE email = ?",
		normalizeEmail(email)), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		hash, err = dummyHash, nil
	}
	if err != nil {
		return User{}, err
	}
	var match bool
	if err := s.hashes.do(ctx, func() { match = checkPassword(hash, password) }); err != nil {
		return User{}, err
	}
	if !match || u.ID == 0 {
		return User{}, ErrInvalidCredentials
	}
	return u, nil
}

// UserByID returns the user with the given id, or ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id int64) (User, error) {
	u, err := scanUser(s.read.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	return u, err
}

func normalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }
