package handlers

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// arrivalWatcher tells the live stream when an integration's logs or counts change.
type arrivalWatcher interface {
	ArrivalEpoch() string
	ArrivalMark(integrationID int64) uint64
	WatchArrivals(integrationID int64, since uint64) (<-chan struct{}, func())
}

// Live stream timing. A stream ends after liveStreamLife, and the browser opens the next
// through the session again, so a stream outlives neither a session nor a removed teammate by
// more than that. Between arrivals a comment every liveHeartbeat keeps proxies from closing
// an idle stream and finds closed tabs whose connection did not say so. liveCoalesce is the
// least time between two events of a stream: each makes the page fetch itself once.
const (
	liveStreamLife = 5 * time.Minute
	liveHeartbeat  = 25 * time.Second
	liveCoalesce   = time.Second
)

// LiveArrivals is a Server-Sent Events stream telling an integration's pages (Overview,
// Extraction Logs, Data) that something arrived: an "arrival" event whose data is the mark
// (liveMark) when it was sent, after which a page that shows less fetches itself and swaps
// what changed (static/app.js). The stream is the request's own goroutine, waiting on one
// channel; it ends when the tab closes (the request's context), at shutdown (the store ends
// every watch) or after liveStreamLife.
func (h *Handler) LiveArrivals(c echo.Context) error {
	in, err := h.integrationParam(c)
	if err != nil {
		return err
	}
	if !strings.Contains(c.Request().Header.Get(echo.HeaderAccept), "text/event-stream") {
		return echo.NewHTTPError(http.StatusNotAcceptable, "This is the event stream the integration's pages listen to (Accept: text/event-stream); open the Overview instead.")
	}
	// ?since= is the mark of what the page shows: what was written after it is announced at once.
	since, own := h.ownMark(c.QueryParam("since"))
	arrivals, stop := h.Store.WatchArrivals(in.ID, since)
	defer stop()
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set(echo.HeaderCacheControl, "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: pass events on at once
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{}) // -read-timeout bounds reading a request, not this answer
	send := func(s string) bool {
		if _, err := w.Write([]byte(s)); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// The browser waits 2 s before opening the next stream when this one ends.
	if !send("retry: 2000\n\n") {
		return nil
	}
	ctx := c.Request().Context()
	announce := func() bool {
		return send("event: arrival\ndata: "+h.liveMark(in.ID)+"\n\n") && pause(ctx, liveCoalesce)
	}
	if !own {
		// A mark of another node's or from before a restart: what it covers cannot be told
		// here, so the page fetches itself once (this announcement covers any wake-up pending).
		select {
		case <-arrivals:
		default:
		}
		if !announce() {
			return nil
		}
	}
	life := time.NewTimer(liveStreamLife)
	defer life.Stop()
	beat := time.NewTicker(liveHeartbeat)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-life.C:
			return nil
		case <-beat.C:
			if !send(": still here\n\n") {
				return nil
			}
		case _, ok := <-arrivals:
			if !ok || !announce() {
				return nil
			}
		}
	}
}

// liveMark says how far a page made now shows the integration's activity: the store's epoch
// and its ArrivalMark, "epoch.seq". Pages carry it (read before their queries, so later
// writes are announced to them), and each arrival event carries the mark when it was sent, so
// a page that already shows as much fetches nothing (static/app.js).
func (h *Handler) liveMark(integrationID int64) string {
	return h.Store.ArrivalEpoch() + "." + strconv.FormatUint(h.Store.ArrivalMark(integrationID), 10)
}

// ownMark returns the sequence of a mark this store made; own is false for another's or none.
func (h *Handler) ownMark(mark string) (seq uint64, own bool) {
	epoch, n, ok := strings.Cut(mark, ".")
	if !ok || epoch != h.Store.ArrivalEpoch() {
		return 0, false
	}
	seq, err := strconv.ParseUint(n, 10, 64)
	return seq, err == nil
}

// pause waits d, or less if ctx ends first, and reports whether it waited all of d.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
