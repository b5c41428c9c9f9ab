package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/hookhouse/hookhouse/store/signature"
)

// Webhook URL errors.
var (
	// ErrUnauthorized is the one answer for an unknown integration, an unknown or revoked
	// token, or another integration's token: callers learn nothing about which part was wrong.
	ErrUnauthorized = errors.New("unknown or revoked webhook URL")
	ErrTooManyURLs  = errors.New("too many active webhook URLs")
)

// RevokedURLError is the ErrUnauthorized of a revoked URL: its token's hash is still kept, so
// a request with it is known to be its integration's (a sender still using an old URL),
// which the integration's logs and counts then show. The sender gets the same 401 as for an
// unknown URL.
type RevokedURLError struct {
	IntegrationID int64
	Prefix        string // the token's first characters, as Settings shows them
	RevokedAt     time.Time
}

func (e *RevokedURLError) Error() string { return ErrUnauthorized.Error() }

// Is makes a RevokedURLError an ErrUnauthorized.
func (e *RevokedURLError) Is(target error) bool { return target == ErrUnauthorized }

// MaxActiveURLs is how many unrevoked webhook URLs an integration may have: two, so a URL
// can be rotated (generate, switch the provider over, revoke the old one) without downtime.
const MaxActiveURLs = 2

// TokenPrefixLength is how many characters of a token are kept to recognise it by.
const TokenPrefixLength = 8

// WebhookURL is one webhook URL of an integration. Its token is never stored; only its hash
// and its first characters are.
type WebhookURL struct {
	ID            int64
	IntegrationID int64
	Prefix        string
	CreatedAt     time.Time
	LastUsedAt    time.Time // zero when never used; accurate to the minute
	RevokedAt     time.Time // zero while active
}

// Active reports whether the URL is accepted.
func (u WebhookURL) Active() bool { return u.RevokedAt.IsZero() }

// WebhookTarget is what the webhook endpoint needs to load an event.
type WebhookTarget struct {
	IntegrationID int64
	URLID         int64
	Schema        string
	Source        string // catalog slug
	PrimaryKey    string
	Paused        bool
	// Verifier checks signatures and finds delivery ids; nil when the integration has neither
	// (the default), so the unsigned path does no more than before.
	Verifier *signature.Verifier

	generation uint64 // the target cache's when this was read (see WebhookTargetAgain)
}

// newToken returns a random token (32 bytes, hex) and the hex SHA-256 that is stored.
func newToken() (token, hash string) {
	b := make([]byte, 32)
	rand.Read(b) // crypto/rand.Read never fails
	token = hex.EncodeToString(b)
	return token, hashToken(token)
}

// tokenDigest is a token's SHA-256; webhook URLs store it hex-encoded (storedHash).
func tokenDigest(token string) [sha256.Size]byte { return sha256.Sum256([]byte(token)) }

func storedHash(digest [sha256.Size]byte) string { return hex.EncodeToString(digest[:]) }

func hashToken(token string) string { return storedHash(tokenDigest(token)) }

func insertWebhookURL(ctx context.Context, tx *sqlTx, integrationID int64, at time.Time) (WebhookURL, string, error) {
	token, hash := newToken()
	u := WebhookURL{IntegrationID: integrationID, Prefix: token[:TokenPrefixLength], CreatedAt: at}
	id, err := tx.insertID(ctx, `INSERT INTO webhook_urls (integration_id, token_hash, token_prefix, created_at)
		VALUES (?, ?, ?, ?)`, integrationID, hash, u.Prefix, formatTime(at))
	if err != nil {
		return WebhookURL{}, "", err
	}
	u.ID = id
	return u, token, nil
}

// CreateWebhookURL adds a webhook URL to one of the user's integrations and returns its
// token, the only time it exists in plaintext. It fails with ErrTooManyURLs when the
// integration already has MaxActiveURLs active ones.
func (s *Store) CreateWebhookURL(ctx context.Context, userID, integrationID int64) (WebhookURL, string, error) {
	tx, err := s.db.BeginTx(ctx, nil) // immediate: the count and the insert cannot interleave with another
	if err != nil {
		return WebhookURL{}, "", err
	}
	defer tx.Rollback()
	if err := tx.lock(ctx, "webhook urls"); err != nil { // nor on another node
		return WebhookURL{}, "", err
	}
	var active int
	err = tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM webhook_urls w WHERE w.integration_id = i.id AND w.revoked_at IS NULL)
		FROM integrations i WHERE i.id = ? AND i.user_id = ?`, integrationID, userID).Scan(&active)
	if errors.Is(err, sql.ErrNoRows) {
		return WebhookURL{}, "", ErrNotFound
	}
	if err != nil {
		return WebhookURL{}, "", err
	}
	if active >= MaxActiveURLs {
		return WebhookURL{}, "", ErrTooManyURLs
	}
	u, token, err := insertWebhookURL(ctx, tx, integrationID, s.now())
	if err != nil {
		return WebhookURL{}, "", err
	}
	return u, token, tx.Commit()
}

// WebhookURLs lists an integration's URLs, active and revoked, oldest first.
func (s *Store) WebhookURLs(ctx context.Context, userID, integrationID int64) ([]WebhookURL, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT w.id, w.integration_id, w.token_prefix, w.created_at, w.last_used_at, w.revoked_at
		FROM webhook_urls w JOIN integrations i ON i.id = w.integration_id
		WHERE w.integration_id = ? AND i.user_id = ? ORDER BY w.id`, integrationID, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []WebhookURL
	for rows.Next() {
		var u WebhookURL
		var created string
		var used, revoked sql.NullString
		if err := rows.Scan(&u.ID, &u.IntegrationID, &u.Prefix, &created, &used, &revoked); err != nil {
			return nil, err
		}
		u.CreatedAt = parseTime(created)
		if used.Valid {
			u.LastUsedAt = parseTime(used.String)
		}
		if revoked.Valid {
			u.RevokedAt = parseTime(revoked.String)
		}
		list = append(list, u)
	}
	return list, rows.Err()
}

// RevokeWebhookURL invalidates a URL at once: WebhookTarget reads the database on every
// call, so the next request with it is refused. Revoking a revoked URL changes nothing.
func (s *Store) RevokeWebhookURL(ctx context.Context, userID, integrationID, urlID int64) (WebhookURL, error) {
	var u WebhookURL
	var created, revoked string
	var used sql.NullString
	err := s.db.QueryRowContext(ctx, `UPDATE webhook_urls SET revoked_at = COALESCE(revoked_at, ?)
		WHERE id = ? AND integration_id = ? AND integration_id IN (SELECT id FROM integrations WHERE user_id = ?)
		RETURNING id, integration_id, token_prefix, created_at, last_used_at, revoked_at`,
		formatTime(s.now()), urlID, integrationID, userID).Scan(&u.ID, &u.IntegrationID, &u.Prefix, &created, &used, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return WebhookURL{}, ErrNotFound
	}
	if err != nil {
		return WebhookURL{}, err
	}
	s.targets.forget()
	u.CreatedAt, u.RevokedAt = parseTime(created), parseTime(revoked)
	if used.Valid {
		u.LastUsedAt = parseTime(used.String)
	}
	return u, nil
}

// WebhookTarget authenticates a webhook request: it returns where events for the token go,
// or ErrUnauthorized. Lookups that succeed are remembered (see targetCache), so a busy URL
// costs no query; every change that could refuse a URL (revoke, pause, delete, signing
// settings) clears them before it returns, so the very next request sees it.
func (s *Store) WebhookTarget(ctx context.Context, integrationID int64, token string) (WebhookTarget, error) {
	if len(token) > 256 { // real tokens are 64 characters; don't hash arbitrary input
		return WebhookTarget{}, ErrUnauthorized
	}
	digest := tokenDigest(token) // hex-encoded only when the cache misses
	key := targetKey{integrationID, digest}
	if t, ok := s.targets.get(key); ok {
		return t, nil
	}
	want := storedHash(digest)
	generation := s.targets.generation()
	var t WebhookTarget
	var stored, prefix string
	var paused, revoked sql.NullString
	var signing string
	err := s.stmts.webhookTarget.QueryRowContext(ctx, want, integrationID).
		Scan(&t.URLID, &stored, &prefix, &revoked, &t.IntegrationID, &t.Schema, &t.Source, &t.PrimaryKey, &paused, &signing)
	if errors.Is(err, sql.ErrNoRows) {
		return WebhookTarget{}, ErrUnauthorized
	}
	if err != nil {
		return WebhookTarget{}, err
	}
	if subtle.ConstantTimeCompare([]byte(stored), []byte(want)) != 1 {
		return WebhookTarget{}, ErrUnauthorized
	}
	if revoked.Valid { // not cached: each request with it costs this one lookup, as an unknown token does
		return WebhookTarget{}, &RevokedURLError{IntegrationID: t.IntegrationID, Prefix: prefix, RevokedAt: parseTime(revoked.String)}
	}
	t.Paused = paused.Valid
	// The secrets are opened once per cached target: a signed request then costs its HMAC.
	if t.Verifier, err = s.verifier(ctx, t.IntegrationID, signing); err != nil {
		return WebhookTarget{}, err
	}
	t.generation = generation
	s.targets.put(key, t, generation)
	return t, nil
}

// WebhookTargetAgain authenticates t's URL once more, as WebhookTarget, for a request whose
// body took a while to arrive: if nothing that can refuse a URL has changed since t was read
// (the cache's generation moves with each such change, here or, through the listener, on
// another node), t stands without a lookup.
func (s *Store) WebhookTargetAgain(ctx context.Context, t WebhookTarget, token string) (WebhookTarget, error) {
	if s.targets.current(t.generation) {
		return t, nil
	}
	return s.WebhookTarget(ctx, t.IntegrationID, token)
}

// targetCache remembers authenticated webhook targets by integration id and token hash (never
// the token). It lives in this process: every write that can refuse a URL through this Store
// calls forget after committing, and a lookup that raced with such a write is not cached (the
// generation moved). On PostgreSQL, other nodes' changes arrive through the listener, which
// calls forget too, and the cache is off (off) while the listener is not connected.
type targetCache struct {
	mu      sync.RWMutex
	gen     uint64
	off     bool
	entries map[targetKey]WebhookTarget
}

type targetKey struct {
	integrationID int64
	tokenHash     [sha256.Size]byte
}

// maxCachedTargets bounds the cache; past it, it starts over.
const maxCachedTargets = 10000

func (c *targetCache) get(k targetKey) (WebhookTarget, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	t, ok := c.entries[k]
	return t, ok && !c.off
}

// current reports whether nothing has been forgotten since generation, with the cache live.
func (c *targetCache) current(generation uint64) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen == generation && !c.off
}

func (c *targetCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

func (c *targetCache) put(k targetKey, t WebhookTarget, generation uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != generation || c.off {
		return // a revoke, pause or delete committed while we looked: don't keep what we read
	}
	if c.entries == nil || len(c.entries) >= maxCachedTargets {
		c.entries = map[targetKey]WebhookTarget{}
	}
	c.entries[k] = t
}

// forget drops every remembered target. Called after a change that can refuse URLs.
func (c *targetCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.entries)
}

// setLive turns the cache on (empty) or off; only the PostgreSQL listener turns it off, while
// it cannot hear of other nodes' changes.
func (c *targetCache) setLive(live bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.off = !live
	clear(c.entries)
}

// TouchWebhookURL records that a URL delivered events at at: last_used_at on the URL and
// last_event_at on its integration. Both are kept to the minute, so a busy URL costs one
// read per request and at most one write per minute.
func (s *Store) TouchWebhookURL(ctx context.Context, urlID, integrationID int64, at time.Time) error {
	minute := at.UTC().Truncate(time.Minute)
	key := [2]int64{urlID, integrationID}
	if last, ok := s.touched.Load(key); ok && !last.(time.Time).Before(minute) {
		return nil // this process already recorded this minute: no query at all on the hot path
	}
	var last sql.NullString
	err := s.read.QueryRowContext(ctx, "SELECT last_used_at FROM webhook_urls WHERE id = ? AND integration_id = ?", urlID, integrationID).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if last.Valid && !parseTime(last.String).Before(minute) {
		s.touched.Store(key, minute)
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stamp, cutoff := formatTime(at), formatTime(minute)
	// The integration first, then the URL: the order in which deleting an integration locks
	// them on PostgreSQL, so the two cannot deadlock.
	if _, err := tx.ExecContext(ctx, `UPDATE integrations SET last_event_at = ?
		WHERE id = ? AND (last_event_at IS NULL OR last_event_at < ?)`, stamp, integrationID, cutoff); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE webhook_urls SET last_used_at = ?
		WHERE id = ? AND integration_id = ? AND (last_used_at IS NULL OR last_used_at < ?)`, stamp, urlID, integrationID, cutoff); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.touched.Store(key, minute)
	return nil
}
