package handlers

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/store"
)

// Metrics observes webhooks and serves what it counted.
type Metrics interface {
	ObserveWebhook(integrationID int64, status, loaded, rejected int)
	ForgetIntegration(integrationID int64)
	IntegrationIDs() []int64 // the integrations it has series of
	Handler() http.Handler
}

type noMetrics struct{}

func (noMetrics) ObserveWebhook(int64, int, int, int) {}
func (noMetrics) ForgetIntegration(int64)             {}
func (noMetrics) IntegrationIDs() []int64             { return nil }
func (noMetrics) Handler() http.Handler               { return http.NotFoundHandler() }

// observeWebhook counts an authenticated webhook request, unless its integration has been
// deleted since it was authenticated: the delete removed the integration's series, and counting
// its answer (a refusal, or a load that committed just before) would put one back. Checking
// and counting under forgetting's read lock puts both before a delete's forgetMetrics, or
// after it, when the check sees the delete: a URL gone without a revoke went with its
// integration. Such a request is then like one to an unknown URL, which no series counts.
func (h *Handler) observeWebhook(c echo.Context, target store.WebhookTarget, r store.WebhookRequest) {
	h.forgetting.RLock()
	defer h.forgetting.RUnlock()
	if _, err := h.Store.WebhookTargetAgain(c.Request().Context(), target, c.Param("token")); errors.Is(err, store.ErrUnauthorized) {
		var revoked *store.RevokedURLError // declared here: it escapes, and would cost every request an allocation
		if !errors.As(err, &revoked) {
			return
		}
	}
	h.Metrics.ObserveWebhook(r.IntegrationID, r.Status, r.Records, r.Rejected)
}

// forgetDeletedMetrics removes the series of integrations that no longer exist: another node
// deleted them (see Store.OnIntegrationsDeleted). It asks the store rather than believing a
// notification, which any database user could send.
func (h *Handler) forgetDeletedMetrics() {
	ids := h.Metrics.IntegrationIDs()
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	exist, err := h.Store.IntegrationIDs(ctx)
	if err != nil {
		h.Log.Warn("could not check for integrations deleted by another node; their series stay on /metrics until the next delete or restart", "err", err)
		return
	}
	for _, id := range ids {
		if !exist[id] {
			h.forgetMetrics(id)
		}
	}
}

// forgetMetrics removes a deleted integration's series once no webhook is being counted.
func (h *Handler) forgetMetrics(integrationID int64) {
	h.forgetting.Lock()
	defer h.forgetting.Unlock()
	h.Metrics.ForgetIntegration(integrationID)
}

// ServeMetrics answers Prometheus scrapes that carry the configured bearer token. Without a
// token configured /metrics does not exist (404); a wrong or missing one is 401.
func (h *Handler) ServeMetrics(c echo.Context) error {
	if h.MetricsToken == "" {
		return echo.ErrNotFound
	}
	// The scheme's name is case-insensitive (RFC 9110, 11.1): "bearer" is Bearer too.
	scheme, token, ok := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(token), []byte(h.MetricsToken)) != 1 {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="hookhouse metrics"`)
		return echo.NewHTTPError(http.StatusUnauthorized, "Send the metrics token as Authorization: Bearer <token>.")
	}
	h.Metrics.Handler().ServeHTTP(c.Response(), c.Request())
	return nil
}
