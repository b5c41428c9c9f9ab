package handlers

import (
	"context"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/store"
)

// Session keys.
const (
	SessionUserID = "userID" // int64 id of the signed-in user
	SessionCSRF   = "csrf"   // the CSRF token forms must post back as _csrf
	sessionFlash  = "flash"
	// sessionGeneration holds the user's store.User.SessionGeneration at sign-in; a session
	// whose value is older than the user's is signed out.
	sessionGeneration = "generation"
	// sessionAccount holds accountMark of the user signed in. An id alone is not enough: SQLite
	// gave a removed teammate's id to the next account before store migration 0012, which starts
	// at generation 0 too, so a session of the removed one that outlived its sweep would otherwise
	// sign in as the new one (such a pair may still exist in a database migrated since).
	sessionAccount = "account"
)

// signIn starts an authenticated session; the token changes so a session id planted before
// sign-in (session fixation) is worthless after it.
func (h *Handler) signIn(c echo.Context, u store.User) error {
	ctx := c.Request().Context()
	if err := h.Sessions.RenewToken(ctx); err != nil {
		return err
	}
	h.Sessions.Remove(ctx, SessionCSRF) // a fresh CSRF token for the signed-in session
	h.Sessions.Put(ctx, SessionUserID, u.ID)
	h.Sessions.Put(ctx, sessionGeneration, u.SessionGeneration)
	h.Sessions.Put(ctx, sessionAccount, accountMark(u))
	return nil
}

// SignedInAs reports whether the request's session, signed in with u's id, is still u's: of
// u's current session generation (no password change since) and of this very account.
func SignedInAs(ctx context.Context, sm *scs.SessionManager, u store.User) bool {
	return sm.GetInt64(ctx, sessionGeneration) == u.SessionGeneration && sm.GetString(ctx, sessionAccount) == accountMark(u)
}

// accountMark names one account for good: its email and when it was created.
func accountMark(u store.User) string {
	return u.Email + " " + u.CreatedAt.UTC().Format(time.RFC3339Nano)
}

// endSessions signs out, at once, the stored sessions of userID that were signed in under
// another generation than keep (-1: all of them): each becomes an anonymous session holding
// only a message for the sign-in page, so whoever holds it learns why. The auth middleware
// refuses such sessions anyway (user gone, or an older generation), which also covers a
// request in flight that saves its session after this. scs stores sessions encoded, so this
// decodes each live one: a few thousand at most (12 idle hours); a failure is only logged.
//
// The store keys sessions by their token's hash (HashTokenInStore), and Iterate hands each
// session with that key: the replacement is written to the store under it directly, since
// the manager's Commit would hash it again.
func (h *Handler) endSessions(ctx context.Context, userID, keep int64, gone bool) {
	ended := 0
	err := h.Sessions.Iterate(ctx, func(ctx context.Context) error {
		if h.Sessions.GetInt64(ctx, SessionUserID) != userID || h.Sessions.GetInt64(ctx, sessionGeneration) == keep {
			return nil
		}
		ended++
		return h.signOutStored(h.Sessions.Token(ctx), h.Sessions.Deadline(ctx), gone)
	})
	if err != nil {
		h.Log.Warn("ending sessions: some are left for the sign-in check to refuse", "user_id", userID, "err", err)
	}
	h.Log.Info("sessions ended", "user_id", userID, "count", ended)
}

// signOutStored replaces the stored session under key with a signed-out one that only says
// why, kept as long as the manager's Commit would keep it (its deadline, or the idle timeout's
// if sooner).
func (h *Handler) signOutStored(key string, deadline time.Time, gone bool) error {
	b, err := h.Sessions.Codec.Encode(deadline, map[string]any{sessionFlash: sessionEndedMessage(gone)})
	if err != nil {
		return err
	}
	expiry := deadline
	if idle := time.Now().Add(h.Sessions.IdleTimeout); h.Sessions.IdleTimeout > 0 && idle.Before(expiry) {
		expiry = idle
	}
	return h.Sessions.Store.Commit(key, b, expiry)
}

// SessionEnded ends the request's session, whose user was removed (gone) or whose sessions
// were ended by a password change, and tells the sign-in page why.
func SessionEnded(ctx context.Context, sm *scs.SessionManager, gone bool) error {
	if err := sm.Destroy(ctx); err != nil {
		return err
	}
	sm.Put(ctx, sessionFlash, sessionEndedMessage(gone))
	return nil
}

func sessionEndedMessage(gone bool) string {
	if gone {
		return "You were signed out: your account was removed from this workspace."
	}
	return "You were signed out because your password was changed. Sign in with the new password."
}
