package handlers

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/store"
)

// A new webhook URL (or invite link, or generated signing secret) is shown exactly once: the
// action that creates it leaves it in the store, sealed with the secret key, under a nonce that
// only the user's session knows, and the page takes it out (deleting it). Any node can show it,
// and only the first request to ask gets it.
const sessionReveals = "reveal"

// reveal is what a copy-once page shows.
type reveal struct {
	URL        string       `json:"url,omitempty"`
	Secret     string       `json:"secret,omitempty"`     // a generated signing secret, instead of a URL
	BuiltFrom  string       `json:"built_from,omitempty"` // views.BuiltFrom*: what the URL's scheme and host came from
	ContinueTo string       `json:"continue_to,omitempty"`
	Notice     string       `json:"notice,omitempty"` // shown above it, e.g. that the integration was added
	Invite     store.Invite `json:"invite"`           // the invite of an invite link (integrationID 0)
}

type revealStore interface {
	PutReveal(ctx context.Context, userID, integrationID int64, payload []byte) (string, error)
	TakeReveal(ctx context.Context, nonce string, userID, integrationID int64) ([]byte, bool, error)
}

// putReveal keeps r for the signed-in user's next visit to the copy-once page of item id of
// kind (an integration's URL or secret, an invite's link), remembering its nonce in the
// session under both: two made before either page is opened (two tabs) keep both. The store
// checks integrationID (0 for an invite) when the page takes it.
func (h *Handler) putReveal(c echo.Context, kind string, id, integrationID int64, r reveal) error {
	u, _ := CurrentUser(c)
	payload, err := json.Marshal(r)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	nonce, err := h.Store.PutReveal(ctx, u.ID, integrationID, payload)
	if err != nil {
		return err
	}
	h.Sessions.Put(ctx, kind+":"+strconv.FormatInt(id, 10), nonce)
	return nil
}

// takeReveal returns what putReveal kept for this user and page, once.
func (h *Handler) takeReveal(c echo.Context, kind string, id, integrationID int64) (reveal, bool, error) {
	u, _ := CurrentUser(c)
	ctx := c.Request().Context()
	key := kind + ":" + strconv.FormatInt(id, 10)
	nonce := h.Sessions.GetString(ctx, key)
	if nonce == "" {
		return reveal{}, false, nil
	}
	payload, ok, err := h.Store.TakeReveal(ctx, nonce, u.ID, integrationID)
	if err != nil {
		return reveal{}, false, err
	}
	h.Sessions.Remove(ctx, key) // taken now, or expired, or taken by another tab
	if !ok {
		return reveal{}, false, nil
	}
	var r reveal
	err = json.Unmarshal(payload, &r)
	return r, err == nil, err
}
