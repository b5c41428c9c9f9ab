package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/store"
	"github.com/hookhouse/hookhouse/views"
)

// StatusClientClosedRequest is logged for a request its client left before the answer (nginx's 499).
const StatusClientClosedRequest = 499

// errorHandler is the one place errors become responses: a status, a message a person can act
// on, JSON for the webhook API and an HTML page for the dashboard. Internals are logged once
// and never shown.
func errorHandler(log *slog.Logger, flood *FloodLog) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		if errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil {
			// The client left before its answer (a tab closed, a link clicked): nothing failed on
			// our side and nobody reads an answer, so none is written and no failure is logged.
			c.Response().Status = StatusClientClosedRequest
			return
		}
		status, msg := http.StatusInternalServerError, "Something went wrong on our side. It has been logged; try again in a moment."
		failed := true // false for a refusal by design (paused, busy): the refusals' log says those
		var he *echo.HTTPError
		switch {
		case errors.As(err, &he):
			status = he.Code
			msg = fmt.Sprint(he.Message)
			failed = he.Internal != nil
			if he.Internal != nil {
				err = he.Internal
			}
		case errors.Is(err, store.ErrNotFound):
			status, msg = http.StatusNotFound, "There is nothing at this address."
		case errors.Is(err, store.ErrBusy): // too many passwords being checked at once
			status, msg = http.StatusServiceUnavailable, "Too many sign-ins at once. Wait a second, then try again."
			c.Response().Header().Set("Retry-After", "1")
		}
		if status == http.StatusNotFound && msg == http.StatusText(http.StatusNotFound) {
			msg = "There is nothing at this address."
		}
		if status >= 500 && failed && !errors.Is(err, store.ErrBusy) {
			flood.failed(c.Request().Method, c.Request().URL.Path, status, err)
		}

		var werr error
		switch {
		case c.Request().Method == http.MethodHead:
			werr = c.NoContent(status)
		case strings.HasPrefix(c.Request().URL.Path, webhookPrefix+"/") || strings.Contains(c.Request().Header.Get("Accept"), "application/json"):
			werr = c.JSON(status, map[string]string{"error": msg})
		default:
			c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
			c.Response().WriteHeader(status)
			werr = views.ErrorPage(views.ErrorProps{
				Page:    views.Page{Title: http.StatusText(status)},
				Status:  status,
				Message: msg,
			}).Render(c.Request().Context(), c.Response())
		}
		if werr != nil {
			log.Error("writing error response", "err", werr)
		}
	}
}
