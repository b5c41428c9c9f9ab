package handlers

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// Metrics observes webhooks and serves what it counted.
type Metrics interface {
	ObserveWebhook(integrationID int64, status, loaded, rejected int)
	ForgetIntegration(integrationID int64)
	Handler() http.Handler
}

type noMetrics struct{}

func (noMetrics) ObserveWebhook(int64, int, int, int) {}
func (noMetrics) ForgetIntegration(int64)             {}
func (noMetrics) Handler() http.Handler               { return http.NotFoundHandler() }

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
