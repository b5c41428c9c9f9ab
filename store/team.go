package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// InviteTTL is how long an invite link works.
const InviteTTL = 7 * 24 * time.Hour

// Why an invite link no longer works; InviteByToken and AcceptInvite return the invite with
// them, so the page can say when it expired.
var (
	ErrInviteUsed    = errors.New("invite already used")
	ErrInviteExpired = errors.New("invite expired")
	ErrInviteRevoked = errors.New("invite revoked")
)

// keepSpentInvites is how long used, revoked and expired invites stay, so a late click on
// their link is told what happened instead of "not valid".
const keepSpentInvites = 30 * 24 * time.Hour

// Invite is a pending or spent invitation of a teammate into a workspace. Its token is never
// stored; only its SHA-256 is.
type Invite struct {
	ID          int64
	WorkspaceID int64
	Email       string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	AcceptedAt  time.Time // zero until used
	RevokedAt   time.Time // zero unless withdrawn
}

// problem is why the invite cannot be accepted at now, or nil.
func (in Invite) problem(now time.Time) error {
	switch {
	case !in.AcceptedAt.IsZero():
		return ErrInviteUsed
	case !in.RevokedAt.IsZero():
		return ErrInviteRevoked
	case !now.Before(in.ExpiresAt):
		return ErrInviteExpired
	}
	return nil
}

const inviteColumns = "id, workspace_id, email, created_at, expires_at, accepted_at, revoked_at"

func scanInvite(row interface{ Scan(...any) error }) (Invite, error) {
	var in Invite
	var created, expires string
	var accepted, revoked sql.NullString
	err := row.Scan(&in.ID, &in.WorkspaceID, &in.Email, &created, &expires, &accepted, &revoked)
	in.CreatedAt, in.ExpiresAt = parseTime(created), parseTime(expires)
	if accepted.Valid {
		in.AcceptedAt = parseTime(accepted.String)
	}
	if revoked.Valid {
		in.RevokedAt = parseTime(revoked.String)
	}
	return in, err
}

// Members lists a workspace's users, the owner first, then teammates in the order they joined.
func (s *Store) Members(ctx context.Context, workspaceID int64) ([]User, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT "+userColumns+` FROM users
		WHERE id = ?1 OR workspace_id = ?1 ORDER BY workspace_id IS NOT NULL, id`, workspaceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, u)
	}
	return list, rows.Err()
}

// RemoveMember deletes a teammate's account and returns it. The owner cannot be removed, and
// a user of another workspace is ErrNotFound. Their integrations are the workspace's and stay;
// their sessions fail at the next request, as UserByID no longer finds them.
func (s *Store) RemoveMember(ctx context.Context, workspaceID, userID int64) (User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, "DELETE FROM users WHERE id = ? AND workspace_id = ? RETURNING "+userColumns,
		userID, workspaceID))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	return u, err
}

// CreateInvite invites email into the workspace and returns the invite's token: the only time
// it exists in plaintext. A pending invite for the same email is revoked, so inviting again
// replaces a lost link. ErrConflict: the email has an account already.
func (s *Store) CreateInvite(ctx context.Context, workspaceID int64, email string) (Invite, string, error) {
	now := s.now()
	in := Invite{WorkspaceID: workspaceID, Email: normalizeEmail(email), CreatedAt: now, ExpiresAt: now.Add(InviteTTL)}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Invite{}, "", err
	}
	defer tx.Rollback()
	if err := tx.lock(ctx, "invites"); err != nil {
		return Invite{}, "", err
	}
	var taken bool
	if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM users WHERE email = ?)", in.Email).Scan(&taken); err != nil {
		return Invite{}, "", err
	}
	if taken {
		return Invite{}, "", ErrConflict
	}
	if _, err := tx.ExecContext(ctx, `UPDATE invites SET revoked_at = ?1
		WHERE workspace_id = ?2 AND email = ?3 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?1`,
		formatTime(now), workspaceID, in.Email); err != nil {
		return Invite{}, "", err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM invites WHERE workspace_id = ? AND expires_at < ?",
		workspaceID, formatTime(now.Add(-keepSpentInvites))); err != nil {
		return Invite{}, "", err
	}
	token, hash := newToken()
	in.ID, err = tx.insertID(ctx, `INSERT INTO invites (workspace_id, email, token_hash, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, workspaceID, in.Email, hash, formatTime(in.CreatedAt), formatTime(in.ExpiresAt))
	if err != nil {
		return Invite{}, "", err
	}
	return in, token, tx.Commit()
}

// PendingInvites lists a workspace's invites that can still be accepted, newest first.
func (s *Store) PendingInvites(ctx context.Context, workspaceID int64) ([]Invite, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT "+inviteColumns+` FROM invites
		WHERE workspace_id = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ? ORDER BY id DESC`,
		workspaceID, formatTime(s.now()))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []Invite
	for rows.Next() {
		in, err := scanInvite(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, in)
	}
	return list, rows.Err()
}

// RevokeInvite withdraws a pending invite of the workspace; its link stops working.
func (s *Store) RevokeInvite(ctx context.Context, workspaceID, id int64) (Invite, error) {
	in, err := scanInvite(s.db.QueryRowContext(ctx, `UPDATE invites SET revoked_at = ?
		WHERE id = ? AND workspace_id = ? AND accepted_at IS NULL AND revoked_at IS NULL RETURNING `+inviteColumns,
		formatTime(s.now()), id, workspaceID))
	if errors.Is(err, sql.ErrNoRows) {
		return Invite{}, ErrNotFound
	}
	return in, err
}

// InviteByToken returns the invite a link's token opens. ErrNotFound: no such token; or the
// invite with ErrInviteUsed, ErrInviteRevoked or ErrInviteExpired.
func (s *Store) InviteByToken(ctx context.Context, token string) (Invite, error) {
	in, err := scanInvite(s.read.QueryRowContext(ctx, "SELECT "+inviteColumns+" FROM invites WHERE token_hash = ?", hashToken(token)))
	if errors.Is(err, sql.ErrNoRows) {
		return Invite{}, ErrNotFound
	}
	if err != nil {
		return Invite{}, err
	}
	return in, in.problem(s.now())
}

// AcceptInvite spends the invite and creates the teammate's account with password, in one
// transaction: of two acceptances at once, one gets ErrInviteUsed. It fails like
// InviteByToken, with ErrConflict when the email got an account meanwhile, and with ErrBusy
// when too many passwords are being hashed.
func (s *Store) AcceptInvite(ctx context.Context, token, password string) (User, error) {
	// Checked before hashing, so a dead link costs no argon2id hash.
	in, err := s.InviteByToken(ctx, token)
	if err != nil {
		return User{}, err
	}
	var hash string
	if err := s.hashes.do(ctx, func() { hash = hashPassword(password) }); err != nil {
		return User{}, err
	}
	now := s.now()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return User{}, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE invites SET accepted_at = ?1
		WHERE id = ?2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?1`, formatTime(now), in.ID)
	if err != nil {
		return User{}, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err != nil {
			return User{}, err
		}
		// Spent between the check and now: say how, from the row as it is now.
		tx.Rollback()
		if _, err := s.InviteByToken(ctx, token); err != nil {
			return User{}, err
		}
		return User{}, ErrInviteUsed
	}
	u := User{Email: in.Email, CreatedAt: parseTime(formatTime(now)), WorkspaceID: in.WorkspaceID}
	u.ID, err = tx.insertID(ctx, `INSERT INTO users (email, password_hash, created_at, workspace_id) VALUES (?, ?, ?, ?)`,
		u.Email, hash, formatTime(now), in.WorkspaceID)
	if isUniqueViolation(err) {
		return User{}, ErrConflict
	}
	if err != nil {
		return User{}, err
	}
	return u, tx.Commit()
}

// ChangePassword sets a new password for the user after checking the current one
// (ErrInvalidCredentials when it is wrong) and ends all their sessions by bumping
// SessionGeneration; it returns the user with the new generation, for the session that
// stays signed in. Both hashes are computed in one turn of the bounded hasher (ErrBusy).
func (s *Store) ChangePassword(ctx context.Context, userID int64, current, next string) (User, error) {
	var stored string
	if err := s.read.QueryRowContext(ctx, "SELECT password_hash FROM users WHERE id = ?", userID).Scan(&stored); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return User{}, ErrNotFound
		}
		return User{}, err
	}
	var match bool
	var hash string
	if err := s.hashes.do(ctx, func() {
		if match = checkPassword(stored, current); match {
			hash = hashPassword(next)
		}
	}); err != nil {
		return User{}, err
	}
	if !match {
		return User{}, ErrInvalidCredentials
	}
	// Only if the hash is still the one checked: two changes at once cannot both pass.
	u, err := scanUser(s.db.QueryRowContext(ctx, `UPDATE users SET password_hash = ?, session_generation = session_generation + 1
		WHERE id = ? AND password_hash = ? RETURNING `+userColumns, hash, userID, stored))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrInvalidCredentials
	}
	return u, err
}
