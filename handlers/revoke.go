package handlers

import (
	"context"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/store"
)

type urlRevoker interface {
	RevokeWebhookURL(ctx context.Context, userID, integrationID, urlID int64) (store.WebhookURL, error)
}

// RevokeWebhookURL invalidates one of the integration's URLs at once.
func (h *Handler) RevokeWebhookURL(c echo.Context) error {
	in, err := h.integrationParam(c)
	if err != nil {
		return err
	}
	urlID, err := idParam(c, "urlID")
	if err != nil {
		return err
	}
	u, err := h.Store.RevokeWebhookURL(c.Request().Context(), in.UserID, in.ID, urlID)
	if err != nil {
		return err
	}
	h.Log.Info("webhook URL revoked", "integration_id", in.ID, "url_id", u.ID)
	h.flash(c, fmt.Sprintf("The URL starting %s was revoked: webhooks sent to it are refused from now on.", u.Prefix))
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/integrations/%d/settings", in.ID))
}
