package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/store"
	"github.com/hookhouse/hookhouse/store/warehouse"
	"github.com/hookhouse/hookhouse/views"
)

type dataReader interface {
	Contents(ctx context.Context, schema, columnsOf string) (warehouse.Contents, error)
	Rows(ctx context.Context, schema string, q warehouse.RowsQuery) (warehouse.RowsPage, error)
	Row(ctx context.Context, schema, table, key string) ([]string, []any, error)
	Export(ctx context.Context, schema string, q warehouse.ExportQuery, format warehouse.ExportFormat, out io.Writer, flush func()) error
	Location(schema string) warehouse.Location
	Describe() string
}

// dataPageSize is how many rows the Data page shows at a time.
const dataPageSize = 50

// Data lists the schema's tables and a page of one table's rows, newest first.
func (h *Handler) Data(c echo.Context) error {
	in, err := h.integrationParam(c)
	if err != nil {
		return err
	}
	mark := h.liveMark(in.ID) // before the queries: later writes are announced to the page
	ctx := c.Request().Context()
	before := c.QueryParam("before")
	table := c.QueryParam("table")
	tables, key, err := h.dataTables(ctx, in, table)
	if err != nil {
		return h.unreadable(ctx, err)
	}
	props := views.DataProps{
		Page:        h.page(c, in.Name+" · Data", "integrations"),
		Integration: in,
		Source:      sourceOf(in),
		Tables:      tables,
		Table:       table,
		EventType:   c.QueryParam("type"),
		Paged:       before != "",
		Where:       h.Warehouse.Location(in.Schema),
		LiveMark:    mark,
	}
	if props.Table == "" {
		props.Table = "data"
		if len(tables) == 1 && tables[0].Kind == "rejects" { // every record so far was rejected: show why
			props.Table = tables[0].Name
		}
	}
	for _, t := range tables {
		props.HasLatest = props.HasLatest || t.Name == warehouse.LatestView
	}
	if len(tables) > 0 {
		props.Rows, err = h.Warehouse.Rows(ctx, in.Schema, warehouse.RowsQuery{
			Table: props.Table, EventType: props.EventType, Before: before, Limit: dataPageSize,
		})
		if errors.Is(err, warehouse.ErrNoTable) {
			return echo.ErrNotFound
		}
		if errors.Is(err, warehouse.ErrBadKey) {
			return echo.NewHTTPError(http.StatusBadRequest, "before must be the key of a row, as the Older link gives it")
		}
		if err != nil {
			return h.unreadable(ctx, err)
		}
		if props.Rows.EventTypeColumn == "" {
			props.EventType = "" // the table has no event type: its links and downloads carry no filter
		}
	}
	props.SQL = props.Where.SuggestedSQL(in.Schema, props.Table, key, props.Rows.EventTypeColumn, props.EventType)
	return render(c, http.StatusOK, views.DataPage(props))
}

// dataTables is what the Data page lists: data and its subtables from the catalog, the
// latest-version view when there is a primary key, and the rejects, once anything arrived.
// Only the table shown lists its columns (data's for its latest version, and by default).
func (h *Handler) dataTables(ctx context.Context, in store.Integration, shown string) (tables []views.DataTable, key string, err error) {
	latestShown := shown == warehouse.LatestView
	if shown == "" || latestShown {
		shown = "data"
	}
	contents, err := h.Warehouse.Contents(ctx, in.Schema, shown)
	if err != nil || len(contents.Tables) == 0 && contents.Rejected == 0 {
		return nil, "", err
	}
	var out []views.DataTable
	for _, t := range contents.Tables {
		kind := "table"
		if t.Parent != "" {
			kind = "subtable"
		}
		out = append(out, views.DataTable{Name: t.Name, Kind: kind, Rows: t.Rows, CreatedAt: t.CreatedAt, ColumnCount: t.ColumnCount, Columns: t.Columns})
		if t.Name == "data" && in.PrimaryKey != "" { // Latest: -1 (not shown) until counted
			// The view selects data's columns: it lists them when it is the table shown.
			latest := views.DataTable{Name: warehouse.LatestView, Kind: "view", Rows: contents.Latest, CreatedAt: t.CreatedAt, ColumnCount: t.ColumnCount}
			if latestShown {
				latest.Columns, out[len(out)-1].Columns = t.Columns, nil
			}
			out = append(out, latest)
		}
	}
	return append(out, views.DataTable{Name: warehouse.RejectedTable, Kind: "rejects", Rows: contents.Rejected, ColumnCount: warehouse.RejectedColumnCount()}), contents.Key, nil
}

// DataRow shows one row's columns as JSON (NULL columns left out).
func (h *Handler) DataRow(c echo.Context) error {
	in, err := h.integrationParam(c)
	if err != nil {
		return err
	}
	table := c.Param("table")
	names, vals, err := h.Warehouse.Row(c.Request().Context(), in.Schema, table, c.Param("row"))
	if errors.Is(err, warehouse.ErrNoTable) || errors.Is(err, warehouse.ErrBadKey) {
		return echo.ErrNotFound
	}
	if err != nil {
		return h.unreadable(c.Request().Context(), err)
	}
	return render(c, http.StatusOK, views.DataRowPage(views.DataRowProps{
		Page:        h.page(c, in.Name+" · Row", "integrations"),
		Integration: in,
		Source:      sourceOf(in),
		Table:       table,
		JSON:        rowJSON(names, vals),
	}))
}

// rowJSON writes the columns in their table order, which a map would lose.
func rowJSON(names []string, vals []any) string {
	var b bytes.Buffer
	b.WriteString("{")
	first := true
	for i, v := range vals {
		if v == nil {
			continue
		}
		if bs, ok := v.([]byte); ok {
			v = string(bs)
		}
		k, _ := json.Marshal(names[i])
		val, err := json.Marshal(v)
		if err != nil {
			val, _ = json.Marshal(fmt.Sprint(v))
		}
		if !first {
			b.WriteString(",")
		}
		first = false
		b.Write(k)
		b.WriteString(":")
		b.Write(val)
	}
	b.WriteString("}")
	var out bytes.Buffer
	if err := json.Indent(&out, b.Bytes(), "", "  "); err != nil {
		return b.String()
	}
	return out.String()
}
