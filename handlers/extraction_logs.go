package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/store"
	"github.com/hookhouse/hookhouse/views"
)

type activityReader interface {
	ExtractionLogs(ctx context.Context, userID, integrationID int64, f store.LogFilter, before int64, limit int) ([]store.WebhookRequest, error)
	ActivityOf(ctx context.Context, userID int64, ids []int64) (map[int64]*store.Activity, error)
	ExtractionLog(ctx context.Context, userID, integrationID, id int64) (store.WebhookRequest, error)
	LoadReports(ctx context.Context, userID, integrationID, before int64, limit int) ([]store.LoadReport, error)
	Retention() store.Retention
}

// logPageSize is how many requests or batches one page shows.
const logPageSize = 50

// maxPrettyBody caps the pretty-printed body: indentation can multiply the size of a deeply
// nested document.
const maxPrettyBody = 256 << 10

// ExtractionLogs lists an integration's recent webhook requests, newest first; ?result=
// keeps the accepted ones, the refused ones, or those answered with one status code.
func (h *Handler) ExtractionLogs(c echo.Context) error {
	in, err := h.integrationParam(c)
	if err != nil {
		return err
	}
	before, err := cursorParam(c)
	if err != nil {
		return err
	}
	result := c.QueryParam("result")
	filter, ok := logFilter(result)
	if !ok {
		return echo.NewHTTPError(http.StatusBadRequest, "result must be accepted, refused or a status code such as 401")
	}
	mark := h.liveMark(in.ID) // before the queries: later writes are announced to the page
	ctx := c.Request().Context()
	list, err := h.Store.ExtractionLogs(ctx, in.UserID, in.ID, filter, before, logPageSize+1)
	if err != nil {
		return err
	}
	activity, err := h.Store.ActivityOf(ctx, in.UserID, []int64{in.ID})
	if err != nil {
		return err
	}
	list, next := onePage(list, func(r store.WebhookRequest) int64 { return r.ID })
	return render(c, http.StatusOK, views.ExtractionLogsPage(views.ExtractionLogsProps{
		Page:        h.page(c, in.Name+" · Extraction Logs", "integrations"),
		Integration: in,
		Source:      sourceOf(in),
		Requests:    list,
		Result:      result,
		Activity:    activityOf(activity, in.ID),
		Paged:       before != 0,
		Next:        next,
		Retention:   h.Store.Retention(),
		Now:         now(),
		LiveMark:    mark,
	}))
}

// logFilter reads ?result=: "", "accepted", "refused" or a status code.
func logFilter(result string) (store.LogFilter, bool) {
	switch result {
	case "":
		return store.LogFilter{}, true
	case store.LogAccepted, store.LogRefused:
		return store.LogFilter{Result: result}, true
	}
	code, err := strconv.Atoi(result)
	if err != nil || code < 100 || code > 599 {
		return store.LogFilter{}, false
	}
	return store.LogFilter{Status: code}, true
}

// ExtractionLog shows one request with its body, pretty-printed when it is JSON.
func (h *Handler) ExtractionLog(c echo.Context) error {
	in, err := h.integrationParam(c)
	if err != nil {
		return err
	}
	id, err := idParam(c, "requestID")
	if err != nil {
		return err
	}
	r, err := h.Store.ExtractionLog(c.Request().Context(), in.UserID, in.ID, id)
	if err != nil {
		return err
	}
	body, note := loggedBody(r)
	return render(c, http.StatusOK, views.ExtractionLogPage(views.ExtractionLogProps{
		Page:        h.page(c, in.Name+" · Request", "integrations"),
		Integration: in,
		Source:      sourceOf(in),
		Request:     r,
		Body:        body,
		BodyNote:    note,
		Now:         now(),
	}))
}

// loggedBody is a logged request's body for the page, and a note on what of it was kept.
func loggedBody(r store.WebhookRequest) (string, string) {
	body, note := prettyBody(r.ContentType, r.Body)
	switch {
	case !r.BodyTruncated && len(r.Body) == 0 && r.Bytes > 0:
		note = fmt.Sprintf("The body (%d bytes) was not read: the request was refused before it, so nothing of it could be stored.", r.Bytes)
	case r.BodyTruncated && len(r.Body) == 0:
		note = fmt.Sprintf("The body (%d bytes) was not kept: it came in a flood of requests faster than the logs are written.", r.Bytes)
	case r.BodyTruncated:
		note = strings.TrimSpace(fmt.Sprintf("Only the first %d KiB of the %d bytes are kept. %s", store.MaxLoggedBody>>10, r.Bytes, note))
	}
	return body, note
}

// prettyBody renders a logged body as text for the page (templ escapes it): JSON indented,
// anything else as it came, with invalid UTF-8 replaced.
func prettyBody(contentType string, body []byte) (string, string) {
	if len(body) == 0 {
		return "", "The request had no body."
	}
	media, _, _ := mime.ParseMediaType(contentType)
	if (media == "" || strings.HasSuffix(media, "json")) && json.Valid(body) {
		var out bytes.Buffer
		if indentJSON(&out, body, maxPrettyBody) {
			return out.String(), ""
		}
		return strings.ToValidUTF8(string(body), "\uFFFD"), "Shown as received: indented it would be too large."
	}
	return strings.ToValidUTF8(string(body), "\uFFFD"), ""
}

// indentJSON writes valid JSON src indented by two spaces, and reports false if the result
// would pass limit bytes.
func indentJSON(out *bytes.Buffer, src []byte, limit int) bool {
	var compact bytes.Buffer
	if err := json.Compact(&compact, src); err != nil {
		return false
	}
	depth, inString, escaped := 0, false, false
	newline := func() {
		out.WriteByte('\n')
		for range depth {
			out.WriteString("  ")
		}
	}
	b := compact.Bytes()
	for i, ch := range b {
		if out.Len() > limit {
			return false
		}
		if inString {
			out.WriteByte(ch)
			switch {
			case escaped:
				escaped = false
			case ch == '\\':
				escaped = true
			case ch == '"':
				inString = false
			}
			continue
		}
		switch ch {
		case '"':
			inString = true
			out.WriteByte(ch)
		case '{', '[':
			out.WriteByte(ch)
			if i+1 < len(b) && (b[i+1] == '}' || b[i+1] == ']') {
				continue // {} and [] stay on one line
			}
			depth++
			newline()
		case '}', ']':
			if i > 0 && (b[i-1] == '{' || b[i-1] == '[') {
				out.WriteByte(ch)
				continue
			}
			depth--
			newline()
			out.WriteByte(ch)
		case ',':
			out.WriteByte(ch)
			newline()
		case ':':
			out.WriteString(": ")
		default:
			out.WriteByte(ch)
		}
	}
	return out.Len() <= limit
}

// onePage trims a list fetched with one row more than logPageSize to a page, and returns the
// cursor of the next page (0 when this is the last).
func onePage[T any](list []T, id func(T) int64) ([]T, int64) {
	if len(list) <= logPageSize {
		return list, 0
	}
	list = list[:logPageSize]
	return list, id(list[len(list)-1])
}

// cursorParam reads ?before=, the id a page of newest-first lines starts below (0: the first page).
func cursorParam(c echo.Context) (int64, error) {
	v := c.QueryParam("before")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, echo.NewHTTPError(http.StatusBadRequest, "before must be a positive number")
	}
	return n, nil
}
