package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/store"
)

// A new webhook URL (or invite link, or generated signing secret) is shown exactly once: the
// action that creates it leaves it in the store, sealed with the secret key, under a key made
// of the session's token and the page, and the page takes it out (deleting it). Any node can
// show it, and only the first request to ask gets it. Nothing is written to the session: scs
// saves a whole session per request, so two tabs' requests at once would undo each other's.
//
// revealURL names the copy-once reveal of a new webhook URL.
const revealURL = "url"

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
	PutReveal(ctx context.Context, key string, userID, integrationID int64, payload []byte) error
	TakeReveal(ctx context.Context, key string, userID, integrationID int64) ([]byte, bool, error)
}

// revealKey names the copy-once page of item id of kind for this session: two made before
// either page is opened (two tabs) keep both, and a second one for the same page replaces the
// first. It holds the session's token, so it is as secret as the session; the store keeps only
// its hash.
func (h *Handler) revealKey(ctx context.Context, kind string, id int64) string {
	token := h.Sessions.Token(ctx)
	if token == "" {
		return ""
	}
	return token + " " + kind + ":" + strconv.FormatInt(id, 10)
}

// putReveal keeps r for the signed-in user's next visit to the copy-once page of item id of
// kind (an integration's URL or secret, an invite's link). The store checks integrationID (0
// for an invite) when the page takes it.
func (h *Handler) putReveal(c echo.Context, kind string, id, integrationID int64, r reveal) error {
	u, _ := currentUser(c)
	payload, err := json.Marshal(r)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	return h.Store.PutReveal(ctx, h.revealKey(ctx, kind, id), u.ID, integrationID, payload)
}

// takeReveal returns what putReveal kept for this user and page, once. A request another site
// started takes nothing and returns held: a top-level navigation carries the session cookie
// (SameSite=Lax), so any site could send the browser to a copy-once page, which it cannot read,
// and use up its one showing. The page then says so and links to itself: a click there is
// same-origin.
func (h *Handler) takeReveal(c echo.Context, kind string, id, integrationID int64) (r reveal, ok, held bool, err error) {
	if fromAnotherSite(c.Request()) {
		return reveal{}, false, true, nil
	}
	u, _ := currentUser(c)
	ctx := c.Request().Context()
	payload, ok, err := h.Store.TakeReveal(ctx, h.revealKey(ctx, kind, id), u.ID, integrationID)
	if err != nil || !ok {
		return reveal{}, false, false, err
	}
	err = json.Unmarshal(payload, &r)
	return r, err == nil, false, err
}

// fromAnotherSite reports a request that Fetch Metadata says another origin started (another
// site, or another host of this one). Browsers send same-origin for hookhouse's own links,
// forms and their redirects, and none for an address typed or bookmarked; one too old to send
// the header passes, as before.
func fromAnotherSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return false
	}
	return true
}
