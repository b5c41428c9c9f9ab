package handlers

import (
	"context"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
)

type integrationPauser interface {
	SetPaused(ctx context.Context, userID, id int64, paused bool) error
}

// PauseIntegration makes the webhook endpoint refuse the integration's events (503), so
// providers retry them later.
func (h *Handler) PauseIntegration(c echo.Context) error {
	return h.setPaused(c, true)
}

// ResumeIntegration accepts the integration's events again.
func (h *Handler) ResumeIntegration(c echo.Context) error {
	return h.setPaused(c, false)
}

func (h *Handler) setPaused(c echo.Context, paused bool) error {
	in, err := h.integrationParam(c)
	if err != nil {
		return err
	}
	if err := h.Store.SetPaused(c.Request().Context(), in.UserID, in.ID, paused); err != nil {
		return err
	}
	h.Log.Info("integration status changed", "integration_id", in.ID, "paused", paused)
	if paused {
		h.flash(c, fmt.Sprintf("%s is paused: webhooks are refused with 503 until you resume it.", in.Name))
	} else {
		h.flash(c, fmt.Sprintf("%s is active again.", in.Name))
	}
	back := fmt.Sprintf("/integrations/%d", in.ID)
	if c.FormValue("from") == "settings" {
		back += "/settings"
	}
	return c.Redirect(http.StatusSeeOther, back)
}
