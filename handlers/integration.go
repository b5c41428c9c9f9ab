package handlers

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/store"
	"github.com/hookhouse/hookhouse/store/sources"
	"github.com/hookhouse/hookhouse/views"
)

type integrationReader interface {
	Integration(ctx context.Context, userID, id int64) (store.Integration, error)
	WebhookURLs(ctx context.Context, userID, integrationID int64) ([]store.WebhookURL, error)
}

type integrationLister interface {
	ListIntegrations(ctx context.Context, userID int64, q store.IntegrationQuery) (store.IntegrationList, error)
	ActivityOf(ctx context.Context, userID int64, ids []int64) (map[int64]*store.Activity, error)
}

// listPageSize is how many integrations one page of the list shows.
const listPageSize = 50

// Integrations lists the workspace's integrations, a page at a time: ?q= searches names and
// schemas, ?status= filters, ?page= pages. Stats are read for the page's rows only.
func (h *Handler) Integrations(c echo.Context) error {
	u, _ := currentUser(c)
	ctx := c.Request().Context()
	search := strings.TrimSpace(c.QueryParam("q"))
	status := store.IntegrationStatus(c.QueryParam("status"))
	if !slices.Contains(store.IntegrationStatuses(), status) {
		status = store.StatusAny
	}
	page, err := strconv.Atoi(c.QueryParam("page"))
	if err != nil || page < 1 {
		page = 1
	}
	page = min(page, 1_000_000) // keeps the offset far from overflowing
	list, err := h.Store.ListIntegrations(ctx, u.WorkspaceID, store.IntegrationQuery{
		Search: search, Status: status, Offset: (page - 1) * listPageSize, Limit: listPageSize,
	})
	if err != nil {
		return err
	}
	ids := make([]int64, len(list.Integrations))
	for i, in := range list.Integrations {
		ids[i] = in.ID
	}
	activity, err := h.Store.ActivityOf(ctx, u.WorkspaceID, ids)
	if err != nil {
		return err
	}
	rows := make([]views.IntegrationRow, len(list.Integrations))
	for i, in := range list.Integrations {
		rows[i] = views.IntegrationRow{Integration: in.Integration, Status: in.Status, Source: sourceOf(in.Integration), Activity: activityOf(activity, in.ID)}
	}
	return render(c, http.StatusOK, views.IntegrationsPage(views.IntegrationsProps{
		Page:         h.page(c, "Integrations", "integrations"),
		Integrations: rows,
		Now:          now(),
		Search:       search,
		Status:       status,
		Counts:       list.Counts,
		Total:        list.Total,
		PageNum:      page,
		PageSize:     listPageSize,
	}))
}

// Integration shows one integration's overview.
func (h *Handler) Integration(c echo.Context) error {
	in, err := h.integrationParam(c)
	if err != nil {
		return err
	}
	mark := h.liveMark(in.ID) // before the queries: later writes are announced to the page
	ctx := c.Request().Context()
	urls, err := h.Store.WebhookURLs(ctx, in.UserID, in.ID)
	if err != nil {
		return err
	}
	activity, err := h.Store.ActivityOf(ctx, in.UserID, []int64{in.ID})
	if err != nil {
		return err
	}
	contents, err := h.Warehouse.Contents(ctx, in.Schema, "")
	if err != nil {
		return h.unreadable(ctx, err)
	}
	var rowsTotal int64
	for _, t := range contents.Tables {
		if t.Name == "data" {
			rowsTotal = t.Rows
		}
	}
	return render(c, http.StatusOK, views.IntegrationPage(views.IntegrationProps{
		Page:        h.page(c, in.Name, "integrations"),
		Integration: in,
		Source:      sourceOf(in),
		ActiveURLs:  countActive(urls),
		Activity:    activityOf(activity, in.ID),
		RowsTotal:   rowsTotal,
		Rejected:    contents.Rejected,
		Now:         now(),
		LiveMark:    mark,
		LeftInFile:  h.LeftInFiles[in.Schema],
	}))
}

// integrationParam loads the workspace's integration named by :id. Another workspace's is
// ErrNotFound, exactly like one that does not exist.
func (h *Handler) integrationParam(c echo.Context) (store.Integration, error) {
	id, err := idParam(c, "id")
	if err != nil {
		return store.Integration{}, err
	}
	u, ok := currentUser(c)
	if !ok {
		return store.Integration{}, echo.ErrNotFound
	}
	return h.Store.Integration(c.Request().Context(), u.WorkspaceID, id)
}

// idParam reads the route's id parameter name: a positive integer, else ErrNotFound (no
// such page), the status of an id that names nothing.
func idParam(c echo.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, echo.ErrNotFound
	}
	return id, nil
}

// sourceOf returns an integration's catalog entry; a slug that left the catalog still shows.
func sourceOf(in store.Integration) sources.Source {
	if s, ok := sources.BySlug(in.Source); ok {
		return s
	}
	return sources.Source{Name: in.Source, Slug: in.Source}
}

func activityOf(m map[int64]*store.Activity, id int64) store.Activity {
	if a := m[id]; a != nil {
		return *a
	}
	return store.Activity{}
}

func countActive(urls []store.WebhookURL) int {
	n := 0
	for _, u := range urls {
		if u.Active() {
			n++
		}
	}
	return n
}
