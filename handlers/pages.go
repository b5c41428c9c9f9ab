package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/views"
)

// Home sends signed-in users to their integrations.
func (h *Handler) Home(c echo.Context) error {
	return c.Redirect(http.StatusSeeOther, "/integrations")
}

// Settings shows the account and how this server runs.
func (h *Handler) Settings(c echo.Context) error {
	u, _ := CurrentUser(c)
	return render(c, http.StatusOK, views.SettingsPage(views.SettingsProps{
		Page:      h.page(c, "Settings", "settings"),
		Email:     u.Email,
		DataDir:   h.DataDir,
		Warehouse: h.Warehouse.Describe(),
		PublicURL: h.PublicURL,
	}))
}
