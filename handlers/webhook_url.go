package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/store"
	"github.com/hookhouse/hookhouse/views"
)

type webhookURLCreator interface {
	CreateWebhookURL(ctx context.Context, userID, integrationID int64) (store.WebhookURL, string, error)
}

// WebhookURL is the copy-once page: it shows a new URL the first time it is opened after
// the action that created it, and never again (not on reload, not from the browser cache).
func (h *Handler) WebhookURL(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	in, err := h.integrationParam(c)
	if err != nil {
		return err
	}
	props := views.WebhookURLProps{
		Page:        h.page(c, "Webhook URL · "+in.Name, "integrations"),
		Integration: in,
		Source:      sourceOf(in),
	}
	// The URL is revealed to whoever made it, not to the whole workspace.
	r, ok, held, err := h.takeReveal(c, revealURL, in.ID, in.ID)
	if err != nil {
		return err
	}
	if held {
		props.OpenHere = fmt.Sprintf("/integrations/%d/webhook-url", in.ID)
	}
	if ok {
		props.URL, props.BuiltFrom, props.ContinueTo = r.URL, r.BuiltFrom, r.ContinueTo
		if r.Notice != "" {
			props.Page.Flash = r.Notice
		}
	}
	return render(c, http.StatusOK, views.WebhookURLPage(props))
}

// GenerateWebhookURL adds a URL to the integration (at most store.MaxActiveURLs active)
// and shows it once.
func (h *Handler) GenerateWebhookURL(c echo.Context) error {
	in, err := h.integrationParam(c)
	if err != nil {
		return err
	}
	u, token, err := h.Store.CreateWebhookURL(c.Request().Context(), in.UserID, in.ID)
	if errors.Is(err, store.ErrTooManyURLs) {
		return h.renderSettings(c, http.StatusConflict, in, settingsInput{name: in.Name},
			fmt.Sprintf("No URL was generated: %s already has %d active webhook URLs, the most it can have. Revoke one first.", in.Name, store.MaxActiveURLs), nil)
	}
	if err != nil {
		return err
	}
	h.Log.Info("webhook URL generated", "integration_id", in.ID, "url_id", u.ID)
	return h.revealWebhookURL(c, in.ID, token, fmt.Sprintf("/integrations/%d/settings", in.ID), "")
}

// revealWebhookURL leaves the new URL for the copy-once page and redirects there; notice, if
// any, is shown with it (not as a session flash, which the next page of any tab would show).
func (h *Handler) revealWebhookURL(c echo.Context, integrationID int64, token, continueTo, notice string) error {
	base, builtFrom := h.publicURL(c)
	if err := h.putReveal(c, revealURL, integrationID, integrationID, reveal{
		URL:        fmt.Sprintf("%s/v1/clients/%d/token/%s", base, integrationID, token),
		BuiltFrom:  builtFrom,
		ContinueTo: continueTo,
		Notice:     notice,
	}); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/integrations/%d/webhook-url", integrationID))
}

// publicURL is the base webhook URLs are built on, and what it was built from: -public-url,
// or else the Host this page was requested with and the scheme of the connection. Only a
// trusted proxy's X-Forwarded-Proto can change that scheme (Echo's SchemeExtractor, set in
// web); forwarding headers from anyone else are ignored, and the page then warns that the
// address may not be the one providers can reach.
func (h *Handler) publicURL(c echo.Context) (base, builtFrom string) {
	if h.PublicURL != "" {
		return h.PublicURL, views.BuiltFromPublicURL
	}
	r := c.Request()
	builtFrom = views.BuiltFromRequest
	if forwarded(r) {
		builtFrom = views.BuiltFromUntrustedProxy
		if h.Proxies.TrustsPeer(r) {
			builtFrom = views.BuiltFromTrustedProxy
		}
	}
	return h.baseURL(c), builtFrom
}

// baseURL is -public-url, or else this request's scheme and Host.
func (h *Handler) baseURL(c echo.Context) string {
	if h.PublicURL != "" {
		return h.PublicURL
	}
	return c.Scheme() + "://" + c.Request().Host
}
