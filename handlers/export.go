package handlers

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/store/warehouse"
)

// Export downloads a table as CSV or JSON Lines. Rows are streamed and flushed as they are
// read, so memory stays flat however large the table is.
func (h *Handler) Export(c echo.Context) error {
	in, err := h.integrationParam(c)
	if err != nil {
		return err
	}
	table := c.QueryParam("table")
	if table == "" {
		table = "data"
	}
	format := warehouse.ExportFormat(c.QueryParam("format"))
	contentType := map[warehouse.ExportFormat]string{
		warehouse.CSV:       "text/csv; charset=utf-8",
		warehouse.JSONLines: "application/x-ndjson",
	}[format]
	if contentType == "" {
		return echo.NewHTTPError(http.StatusBadRequest, "format must be csv or jsonl")
	}
	// Check the table before the 200 goes out: after that an error can only cut the download.
	ctx := c.Request().Context()
	if _, err := h.Warehouse.Rows(ctx, in.Schema, warehouse.RowsQuery{Table: table, Limit: 1}); err != nil {
		if errors.Is(err, warehouse.ErrNoTable) {
			return echo.ErrNotFound
		}
		return h.unreadable(ctx, err)
	}
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, contentType)
	res.Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s.%s.%s"`, in.Schema, table, format))
	res.Header().Set("Cache-Control", "no-store")
	res.WriteHeader(http.StatusOK)
	q := warehouse.ExportQuery{Table: table, EventType: c.QueryParam("type")}
	if err := h.Warehouse.Export(ctx, in.Schema, q, format, res, res.Flush); err != nil {
		// The status is sent; all that is left is to stop and say why in the log.
		h.Log.Error("export cut short", "integration_id", in.ID, "table", table, "err", err)
	}
	return nil
}
