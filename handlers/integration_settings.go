package handlers

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/store"
	"github.com/hookhouse/hookhouse/views"
)

type integrationRenamer interface {
	RenameIntegration(ctx context.Context, userID, id int64, name string) error
}

// IntegrationSettings shows the Settings tab: name, key, webhook URLs, pause, delete.
func (h *Handler) IntegrationSettings(c echo.Context) error {
	in, err := h.integrationParam(c)
	if err != nil {
		return err
	}
	return h.renderSettings(c, http.StatusOK, in, settingsInput{name: in.Name}, "", nil)
}

// RenameIntegration changes the display name; the schema stays.
func (h *Handler) RenameIntegration(c echo.Context) error {
	in, err := h.integrationParam(c)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(c.FormValue("name"))
	if err := store.ValidateIntegrationName(name); err != nil {
		return h.renderSettings(c, http.StatusUnprocessableEntity, in, settingsInput{name: name}, "", map[string]string{"name": err.Error()})
	}
	if err := h.Store.RenameIntegration(c.Request().Context(), in.UserID, in.ID, name); err != nil {
		return err
	}
	h.flash(c, fmt.Sprintf("Renamed to %s. The schema is still %s.", name, in.Schema))
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/integrations/%d/settings", in.ID))
}

// settingsInput is what the user typed into the Settings forms, kept on errors.
type settingsInput struct {
	name, confirmSchema string
}

func (h *Handler) renderSettings(c echo.Context, status int, in store.Integration, input settingsInput, urlError string, errs map[string]string) error {
	urls, err := h.Store.WebhookURLs(c.Request().Context(), in.UserID, in.ID)
	if err != nil {
		return err
	}
	return render(c, status, views.IntegrationSettingsPage(views.IntegrationSettingsProps{
		Page:          h.page(c, "Settings · "+in.Name, "integrations"),
		Integration:   in,
		Source:        sourceOf(in),
		URLs:          urls,
		ActiveURLs:    countActive(urls),
		MaxURLs:       store.MaxActiveURLs,
		Name:          input.name,
		Errors:        errs,
		URLError:      urlError,
		ConfirmSchema: input.confirmSchema,
	}))
}
