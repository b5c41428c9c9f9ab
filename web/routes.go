package web

import (
	"net/http"

	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/handlers"
	"github.com/hookhouse/hookhouse/static"
	"github.com/hookhouse/hookhouse/store"
)

// webhookPrefix starts every webhook URL's path.
const webhookPrefix = "/v1"

// serveStatic serves an embedded file; a missing one gets the error page, as any other 404.
func serveStatic(c echo.Context) error {
	if !static.Serve(c.Response(), c.Request()) {
		return echo.ErrNotFound
	}
	return nil
}

// routes is the route table: every URL hookhouse answers, in one place.
func routes(e *echo.Echo, h *handlers.Handler, sm *scs.SessionManager, st *store.Store, limit echo.MiddlewareFunc) {
	e.GET("/healthz", h.Healthz)
	e.GET("/metrics", h.ServeMetrics) // Prometheus; bearer token, no session
	e.GET(static.Prefix+"*", serveStatic)

	// Webhooks: no session, no CSRF; authenticated by the token in the URL, then rate-limited
	// per URL (so made-up tokens and respellings of the id never reach a bucket).
	webhooks := e.Group(webhookPrefix)
	// The chain is built once here: Echo applies a route's middleware anew on every request
	// (a closure each), which at webhook rates is an allocation per middleware per request.
	auth := requireWebhookURL(st)
	hook := func(h echo.HandlerFunc) echo.HandlerFunc { return auth(limit(h)) }
	webhooks.POST("/clients/:id/token/:token", hook(h.ReceiveWebhook))
	webhooks.GET("/clients/:id/token/:token", hook(h.VerifyWebhook))
	webhooks.HEAD("/clients/:id/token/:token", hook(h.VerifyWebhook)) // Mandrill checks a URL with HEAD
	// Every other method Echo routes gets 405, not the catch-all's 404 (OPTIONS too: no CORS).
	webhooks.Match([]string{http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions, http.MethodTrace, http.MethodConnect, echo.PROPFIND, echo.REPORT},
		"/clients/:id/token/:token", methodNotAllowed("GET, HEAD, POST"))
	webhooks.RouteNotFound("/*", func(echo.Context) error { return echo.ErrNotFound })

	// The dashboard: sessions and CSRF on everything, sign-in on all but the account pages.
	dash := e.Group("", formBodies, sessions(sm), csrf(sm))
	dash.GET("/setup", h.SetupForm)
	dash.POST("/setup", h.Setup)
	dash.GET("/login", h.LoginForm)
	dash.POST("/login", h.Login)
	dash.GET("/invite/:token", h.AcceptInviteForm) // an invite link: the teammate sets a password
	dash.POST("/invite/:token", h.AcceptInvite)

	app := dash.Group("", requireUser(sm, st))
	app.POST("/logout", h.Logout)
	app.GET("/team", h.Team)
	app.POST("/team/invites", h.InviteTeammate)
	app.GET("/team/invite-link", h.InviteLink)
	app.POST("/team/invites/:inviteID/revoke", h.RevokeInvite)
	app.POST("/team/members/:memberID/remove", h.RemoveTeammate)
	app.GET("/account/password", h.PasswordForm)
	app.POST("/account/password", h.ChangePassword)
	app.GET("/", h.Home)
	app.GET("/integrations", h.Integrations)
	app.GET("/integrations/new", h.IntegrationCatalog)
	app.GET("/integrations/new/:source", h.AddIntegrationForm)
	app.POST("/integrations/new/:source", h.AddIntegration)
	app.GET("/integrations/:id", h.Integration)
	app.GET("/integrations/:id/webhook-url", h.WebhookURL)
	app.GET("/integrations/:id/settings", h.IntegrationSettings)
	app.POST("/integrations/:id/settings", h.RenameIntegration)
	app.POST("/integrations/:id/urls", h.GenerateWebhookURL)
	app.POST("/integrations/:id/urls/:urlID/revoke", h.RevokeWebhookURL)
	app.POST("/integrations/:id/signature", h.SaveSignature)
	app.POST("/integrations/:id/signature/secrets/:secretID/remove", h.RemoveSigningSecret)
	app.POST("/integrations/:id/pause", h.PauseIntegration)
	app.POST("/integrations/:id/resume", h.ResumeIntegration)
	app.POST("/integrations/:id/delete", h.DeleteIntegration)
	app.GET("/integrations/:id/live", h.LiveArrivals) // Server-Sent Events for the pages below
	app.GET("/integrations/:id/extraction-logs", h.ExtractionLogs)
	app.GET("/integrations/:id/extraction-logs/:requestID", h.ExtractionLog)
	app.GET("/integrations/:id/loading-reports", h.LoadingReports)
	app.GET("/integrations/:id/data", h.Data)
	app.GET("/integrations/:id/data/:table/:row", h.DataRow)
	app.GET("/integrations/:id/export", h.Export)
	app.GET("/account", h.Account)
	app.GET("/settings", permanentRedirect("/account")) // the old name, for bookmarks
}

func permanentRedirect(to string) echo.HandlerFunc {
	return func(c echo.Context) error { return c.Redirect(http.StatusPermanentRedirect, to) }
}

func methodNotAllowed(allow string) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Allow", allow)
		return echo.NewHTTPError(http.StatusMethodNotAllowed, "Webhook URLs accept POST (and GET to check that the URL works).")
	}
}
