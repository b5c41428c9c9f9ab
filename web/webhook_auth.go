package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/handlers"
	"github.com/hookhouse/hookhouse/store"
)

// errUnknownURL is the one 401 for any mismatch of a webhook URL's integration id and token,
// saying nothing about which part was wrong.
var errUnknownURL = echo.NewHTTPError(http.StatusUnauthorized, "This webhook URL is not valid: it is unknown or was revoked. Generate a new URL in the integration's Settings in hookhouse (URLs are shown only once).")

type webhookAuthenticator interface {
	WebhookTarget(ctx context.Context, integrationID int64, token string) (store.WebhookTarget, error)
	RecordRequest(r store.WebhookRequest)
}

// requireWebhookURL authenticates a webhook URL's integration id and token before anything
// else spends on the request (the rate limit's buckets, the body), and leaves the target for
// the handler, as requireUser leaves the user.
func requireWebhookURL(st webhookAuthenticator) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id, err := strconv.ParseInt(c.Param("id"), 10, 64)
			if err != nil {
				return errUnknownURL
			}
			target, err := st.WebhookTarget(c.Request().Context(), id, c.Param("token"))
			if err != nil {
				return refuseWebhookURL(c, st, err)
			}
			c.Set(handlers.WebhookTargetKey, target)
			return next(c)
		}
	}
}

// refuseWebhookURL answers a webhook URL that did not authenticate. (Apart from the accepted
// path: errors.As moves revoked to the heap, an allocation per request otherwise.)
func refuseWebhookURL(c echo.Context, st webhookAuthenticator, err error) error {
	var revoked *store.RevokedURLError
	if errors.As(err, &revoked) {
		st.RecordRequest(revokedURLRequest(c, revoked))
	}
	if errors.Is(err, store.ErrUnauthorized) {
		return errUnknownURL
	}
	// The metadata database cannot be reached (restarting, failing over): nothing was
	// stored, and the sender retries, as when the warehouse cannot be written.
	c.Response().Header().Set("Retry-After", "30")
	return echo.NewHTTPError(http.StatusServiceUnavailable, "hookhouse cannot check this webhook URL right now, so nothing of this request was stored. Retry later.").SetInternal(err)
}

// revokedURLRequest is the Extraction Logs' line of a request to a revoked URL: the sender
// still uses an old URL, the usual cause of missing data after a rotation. Its body is not
// read: nothing would be stored from it.
func revokedURLRequest(c echo.Context, revoked *store.RevokedURLError) store.WebhookRequest {
	req := c.Request()
	return store.WebhookRequest{
		IntegrationID: revoked.IntegrationID,
		ReceivedAt:    time.Now().UTC(),
		Status:        http.StatusUnauthorized,
		Error: "Nothing was stored: the URL " + revoked.Prefix + "… was revoked on " + revoked.RevokedAt.Format("2006-01-02 15:04 UTC") +
			": the sender still uses it. Give the sender a current URL (Settings > Generate Webhook URL).",
		Bytes:       max(req.ContentLength, 0),
		ContentType: req.Header.Get(echo.HeaderContentType),
		IP:          c.RealIP(),
		UserAgent:   req.UserAgent(),
		RevokedURL:  true,
	}
}
