package handlers

import (
	"maps"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/views"
)

// Home sends signed-in users to their integrations.
func (h *Handler) Home(c echo.Context) error {
	return c.Redirect(http.StatusSeeOther, "/integrations")
}

// Account shows the account and how this server runs. It was /settings, a name each
// integration's Settings tab also has.
func (h *Handler) Account(c echo.Context) error {
	u, _ := currentUser(c)
	return render(c, http.StatusOK, views.SettingsPage(views.SettingsProps{
		Page:        h.page(c, "Account", "account"),
		Email:       u.Email,
		DataDir:     h.DataDir,
		Warehouse:   h.Warehouse.Describe(),
		PublicURL:   h.PublicURL,
		LeftInFiles: slices.Sorted(maps.Keys(h.LeftInFiles)),
	}))
}
