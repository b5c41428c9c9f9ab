package handlers

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/store/warehouse"
)

// DefaultDownloadStall is how long a download may wait for its client to take more of it
// before it is cut (Deps.DownloadStall).
const DefaultDownloadStall = time.Minute

// Export downloads a table as CSV or JSON Lines, as it was when the download began. The
// warehouse reads it in pages, each read whole before it is sent, so memory stays flat however
// large the table is and no query is open while the client reads (see warehouse.Export). A
// client that stops reading is cut after DownloadStall, not kept for ever.
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
	out := stallWriter{rc: http.NewResponseController(res), w: res, stall: h.DownloadStall}
	if out.stall <= 0 {
		out.stall = DefaultDownloadStall
	}
	defer out.rc.SetWriteDeadline(time.Time{}) // the connection may serve further requests
	if err := h.Warehouse.Export(ctx, in.Schema, q, format, out, res.Flush); err != nil {
		// The status is sent; all that is left is to stop and say why in the log.
		h.Log.Error("export cut short", "integration_id", in.ID, "table", table, "err", err)
	}
	return nil
}

// stallWriter gives each write to the client stall to complete: the deadline moves with every
// write, so a download is cut only when its client takes nothing for that long.
type stallWriter struct {
	rc    *http.ResponseController
	w     io.Writer
	stall time.Duration
}

func (s stallWriter) Write(p []byte) (int, error) {
	if err := s.rc.SetWriteDeadline(time.Now().Add(s.stall)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return 0, err
	}
	return s.w.Write(p)
}
