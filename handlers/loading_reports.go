package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/store"
	"github.com/hookhouse/hookhouse/views"
)

// LoadingReports lists an integration's committed batches, newest first.
func (h *Handler) LoadingReports(c echo.Context) error {
	in, err := h.integrationParam(c)
	if err != nil {
		return err
	}
	before, err := cursorParam(c)
	if err != nil {
		return err
	}
	list, err := h.Store.LoadReports(c.Request().Context(), in.UserID, in.ID, before, logPageSize+1)
	if err != nil {
		return err
	}
	list, next := onePage(list, func(r store.LoadReport) int64 { return r.ID })
	return render(c, http.StatusOK, views.LoadingReportsPage(views.LoadingReportsProps{
		Page:        h.page(c, in.Name+" · Loading Reports", "integrations"),
		Integration: in,
		Source:      sourceOf(in),
		Reports:     list,
		Paged:       before != 0,
		Next:        next,
		Now:         now(),
	}))
}
