package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// RevealTTL is how long a new secret (a webhook URL, an invite link, a generated signing
// secret) waits for the page that shows it once.
const RevealTTL = 10 * time.Minute

// PutReveal keeps payload for the copy-once page: sealed with the secret key (never in
// plaintext at rest), in the database so that whichever node serves the page can show it,
// under the hash of key, a secret the caller derives again to take it (the handlers use the
// session's token and the page, so nothing is written to the session). A second payload under
// the same key replaces the first. integrationID is the page's integration, 0 for none.
func (s *Store) PutReveal(ctx context.Context, key string, userID, integrationID int64, payload []byte) error {
	box := s.box.Load()
	if box == nil {
		return ErrNoSecretKey
	}
	if key == "" {
		return errors.New("a copy-once secret needs a key")
	}
	hash := hashToken(key)
	_, err := s.db.ExecContext(ctx, `INSERT INTO reveals (nonce_hash, user_id, integration_id, sealed, expires_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (nonce_hash) DO UPDATE SET user_id = excluded.user_id, integration_id = excluded.integration_id,
			sealed = excluded.sealed, expires_at = excluded.expires_at`,
		hash, userID, integrationID, box.sealBytes(revealAAD(hash), payload), formatTime(s.now().Add(RevealTTL)))
	return err
}

// TakeReveal returns what PutReveal kept under key for this user and integration, and
// deletes it in the same statement, so that only the first request to ask, on any node, gets
// it. ok is false when there is none (another user's, another integration's, taken, expired).
func (s *Store) TakeReveal(ctx context.Context, key string, userID, integrationID int64) (payload []byte, ok bool, err error) {
	if key == "" {
		return nil, false, nil
	}
	hash := hashToken(key)
	var sealed []byte
	var expires string
	err = s.db.QueryRowContext(ctx, `DELETE FROM reveals WHERE nonce_hash = ? AND user_id = ? AND integration_id = ?
		RETURNING sealed, expires_at`, hash, userID, integrationID).Scan(&sealed, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if !s.now().Before(parseTime(expires)) {
		return nil, false, nil
	}
	box := s.box.Load()
	if box == nil {
		return nil, false, ErrNoSecretKey
	}
	payload, err = box.openBytes(revealAAD(hash), sealed)
	if err != nil {
		return nil, false, errors.New("a copy-once secret does not decrypt with the secret key: do all nodes have the same HOOKHOUSE_SECRET_KEY?")
	}
	return payload, true, nil
}

func revealAAD(nonceHash string) []byte { return []byte("hookhouse reveal " + nonceHash) }
