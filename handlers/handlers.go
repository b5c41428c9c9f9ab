// Package handlers holds one small file per page or action: parse input, call the store,
// render a view.
package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/a-h/templ"
	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/store"
	"github.com/hookhouse/hookhouse/store/warehouse"
	"github.com/hookhouse/hookhouse/views"
)

// Keys under which the web middleware leaves request state on the Echo context.
const (
	UserContextKey = "hookhouse.user" // store.User of the signed-in user
	CSRFContextKey = "hookhouse.csrf" // the session's CSRF token
)

// Store is everything the handlers need from storage; each file declares its own part.
type Store interface {
	accounts
	team
	pinger
	integrationReader
	integrationLister
	integrationCreator
	integrationRenamer
	integrationPauser
	integrationDeleter
	webhookURLCreator
	urlRevoker
	webhookRecorder
	activityReader
	arrivalWatcher
	signingStore
	revealStore
}

// Warehouse is the per-schema data the handlers load into and drop; each file declares its part.
type Warehouse interface {
	schemaClaimer
	schemaDropper
	loader
	dataReader
	pinger
	LastFailure() *warehouse.Failure
	DedupWindow() time.Duration
}

// Deps are the handlers' explicit dependencies.
type Deps struct {
	Store        Store
	Sessions     *scs.SessionManager
	Log          *slog.Logger
	PublicURL    string // fixed base for webhook URLs; empty derives it from the request
	DataDir      string
	Warehouse    Warehouse
	MaxBodyBytes int64 // largest webhook body accepted
	// MaxInflightBodyBytes bounds the webhook body bytes held at once across requests; more
	// are refused with 503. 0 means DefaultMaxInflightBodyBytes.
	MaxInflightBodyBytes int64
	Metrics              Metrics
	MetricsToken         string  // bearer token /metrics requires; empty turns /metrics off (404)
	Proxies              Proxies // -trusted-proxies, whose forwarding headers are believed
	// DownloadStall cuts a download whose client took nothing of it for this long; 0 means
	// DefaultDownloadStall.
	DownloadStall time.Duration
	// Draining reports that the process is stopping: /healthz answers 503 so a load balancer
	// sends new requests to other nodes while this one still serves. nil: never.
	Draining func() bool
	// LeftInFiles maps the schemas whose SQLite files the data folder holds and the PostgreSQL
	// warehouse lacks (-warehouse set on a folder loaded before) to their files.
	LeftInFiles map[string]string
}

// Handler serves the dashboard pages and the webhook endpoint.
type Handler struct {
	Deps
	logins *loginThrottle
	bodies *bodyBudget // webhook body bytes in flight
	// forgetting orders a delete's forgetting of metrics series with webhooks' counting (see
	// observeWebhook).
	forgetting sync.RWMutex
	// What /healthz found failing last time, so that an outage is logged when it begins and
	// ends, not at every probe of a load balancer.
	storeFailing, warehouseFailing atomic.Bool
}

// New builds the handlers.
func New(d Deps) *Handler {
	if d.Metrics == nil {
		d.Metrics = noMetrics{}
	}
	if d.MaxInflightBodyBytes <= 0 {
		d.MaxInflightBodyBytes = DefaultMaxInflightBodyBytes
	}
	h := &Handler{Deps: d, logins: newLoginThrottle(), bodies: newBodyBudget(d.MaxInflightBodyBytes)}
	if d.Store != nil {
		// Another node's delete: this node's series of the integration go too.
		d.Store.OnIntegrationsDeleted(h.forgetDeletedMetrics)
	}
	return h
}

// now is the time pages show relative times against.
func now() time.Time { return time.Now().UTC() }

// render writes a templ component as the response.
func render(c echo.Context, status int, component templ.Component) error {
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(status)
	return component.Render(c.Request().Context(), c.Response())
}

// page fills the values every page needs.
func (h *Handler) page(c echo.Context, title, nav string) views.Page {
	p := views.Page{Title: title, Nav: nav, CSRF: csrfToken(c)}
	if u, ok := currentUser(c); ok {
		p.User = u.Email
	}
	p.Flash = h.Sessions.PopString(c.Request().Context(), sessionFlash)
	if f := h.Warehouse.LastFailure(); f != nil && p.User != "" {
		p.WarehouseProblem = h.warehouseProblem(c.Request().Context(), f)
	}
	return p
}

// warehouseProblem says what the last failed commits mean now. The failure stays recorded until
// a commit succeeds, and a quiet sender may not send for a while: when the server was out of
// reach, it is asked again (a full disk or a refused permission would not show in a ping).
func (h *Handler) warehouseProblem(ctx context.Context, f *warehouse.Failure) string {
	const clock = "15:04:05"
	if f.LostServer && h.warehouseAnswers(ctx) {
		return fmt.Sprintf("Since %s UTC the warehouse (%s) could not store webhooks (the last refused at %s UTC): senders got 503 and retry. It answers again now; the next webhook it stores clears this. The last error, for schema %s: %v",
			f.Since.Format(clock), h.Warehouse.Describe(), f.At.Format(clock), f.Schema, f.Err)
	}
	return fmt.Sprintf("Since %s UTC the warehouse (%s) cannot store webhooks: senders get 503 and retry. The last error, at %s for schema %s: %v",
		f.Since.Format(clock), h.Warehouse.Describe(), f.At.Format(clock), f.Schema, f.Err)
}

// warehouseAnswers pings the warehouse, waiting a second at most: a page must not hang on it.
func (h *Handler) warehouseAnswers(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return h.Warehouse.Ping(ctx) == nil
}

// unreadable is err, from reading the warehouse, as the user should see it: a 503 that says
// the warehouse cannot be read now (its server down, a disk or file failing), not a 500; the
// cause goes to the log.
func (h *Handler) unreadable(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	msg := fmt.Sprintf("The warehouse (%s) does not answer, so this page cannot show its data. Webhooks are refused with 503 meanwhile, and their senders retry. Reload this page once it is back; /healthz says when.", h.Warehouse.Describe())
	if h.warehouseAnswers(ctx) {
		msg = fmt.Sprintf("The warehouse (%s) could not be read, so this page cannot show its data; hookhouse's log has the cause. Webhooks may be refused with 503 too; their senders retry.", h.Warehouse.Describe())
	}
	return &echo.HTTPError{Code: http.StatusServiceUnavailable, Internal: err, Message: msg}
}

// flash leaves a message for the next page the user sees.
func (h *Handler) flash(c echo.Context, msg string) {
	h.Sessions.Put(c.Request().Context(), sessionFlash, msg)
}

// currentUser returns the signed-in user the auth middleware found.
func currentUser(c echo.Context) (store.User, bool) {
	u, ok := c.Get(UserContextKey).(store.User)
	return u, ok
}

func csrfToken(c echo.Context) string {
	t, _ := c.Get(CSRFContextKey).(string)
	return t
}

type pinger interface {
	Ping(ctx context.Context) error
}

// Healthz answers 200 while the store and the warehouse answer, and 503 naming which does
// not (the details go to the log: the endpoint is public), or 503 while the process drains.
func (h *Handler) Healthz(c echo.Context) error {
	if h.Draining != nil && h.Draining() {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "draining"})
	}
	ctx := c.Request().Context()
	for _, part := range []struct {
		name    string
		p       pinger
		failing *atomic.Bool
	}{{"store", h.Store, &h.storeFailing}, {"warehouse", h.Warehouse, &h.warehouseFailing}} {
		if err := part.p.Ping(ctx); err != nil {
			if !part.failing.Swap(true) {
				h.Log.Error("health check failed", "part", part.name, "err", err)
			}
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "failing": part.name})
		}
		if part.failing.Swap(false) {
			h.Log.Info("health check passes again", "part", part.name)
		}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}
