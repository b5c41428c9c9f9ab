package handlers

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/store"
	"github.com/hookhouse/hookhouse/store/signature"
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
	view := settingsView{input: settingsInput{name: in.Name}}
	// Opened from another site (held), Settings shows no secret and leaves any waiting for the
	// next visit from hookhouse itself; it cannot tell one waits without taking it, so it says nothing.
	r, ok, _, err := h.takeReveal(c, revealSecret, in.ID, in.ID)
	if err != nil {
		return err
	}
	if ok && r.Secret != "" {
		c.Response().Header().Set("Cache-Control", "no-store")
		view.revealedSecret, view.notice = r.Secret, r.Notice
	}
	return h.renderSettingsWith(c, http.StatusOK, in, view)
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
	return h.renderSettingsWith(c, status, in, settingsView{input: input, urlError: urlError, errs: errs})
}

// settingsView is what a Settings page shows besides the stored state: typed values, errors
// and a generated secret to show once.
type settingsView struct {
	input          settingsInput
	urlError       string
	errs           map[string]string
	signingForm    *views.SigningForm // as typed; nil: from the stored settings
	signingErrors  map[string]string
	revealedSecret string
	notice         string // shown with the revealed secret
}

func (h *Handler) renderSettingsWith(c echo.Context, status int, in store.Integration, v settingsView) error {
	ctx := c.Request().Context()
	urls, err := h.Store.WebhookURLs(ctx, in.UserID, in.ID)
	if err != nil {
		return err
	}
	sg, err := h.Store.Signing(ctx, in.UserID, in.ID)
	if err != nil {
		return err
	}
	form := views.SigningFormOf(sg.Config)
	source := sourceOf(in)
	switch {
	case v.signingForm != nil:
		form = *v.signingForm
	case sg.Config.Empty() && source.Signing.Scheme != "":
		// Never set up: offer what the provider signs with (saved only when the user saves). A
		// saved None with a delivery id stays None, so that saving it again keeps it.
		form.Scheme = source.Signing.Scheme
	}
	page := h.page(c, "Settings · "+in.Name, "integrations")
	if v.notice != "" {
		page.Flash = v.notice
	}
	return render(c, status, views.IntegrationSettingsPage(views.IntegrationSettingsProps{
		Page:          page,
		Integration:   in,
		Source:        source,
		URLs:          urls,
		ActiveURLs:    countActive(urls),
		MaxURLs:       store.MaxActiveURLs,
		Name:          v.input.name,
		Errors:        v.errs,
		URLError:      v.urlError,
		ConfirmSchema: v.input.confirmSchema,
		Signing: views.SigningProps{
			Saved:          sg.Config,
			Secrets:        sg.Secrets,
			MaxSecrets:     signature.MaxSecrets,
			Form:           form,
			Errors:         v.signingErrors,
			RevealedSecret: v.revealedSecret,
			ReplayBound:    h.Warehouse.DedupWindow() / 2,
		},
	}))
}
