package web

import (
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/handlers"
	"github.com/hookhouse/hookhouse/store"
)

// sessions loads and saves the scs session around the request. echo.WrapMiddleware would
// write Set-Cookie twice and commit twice when a handler returns an error, so the error is
// handled inside, before scs writes the response.
func sessions(sm *scs.SessionManager) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c.SetRequest(r)
				c.SetResponse(echo.NewResponse(w, c.Echo()))
				if err := next(c); err != nil {
					c.Error(err)
				}
			})).ServeHTTP(c.Response(), c.Request())
			return nil
		}
	}
}

// maxFormBytes bounds a dashboard form's body: its largest field, a signing secret or a public
// key, is a few hundred bytes.
const maxFormBytes = 1 << 20

// formBodies reads dashboard form posts within maxFormBytes, before anything else runs,
// answers 404 to a post to no route, and refuses multipart bodies: no dashboard form uploads a
// file, and net/http would spool their parts to temporary files that are never removed (the
// session middleware parses a copy of the request, not the one net/http cleans up), so anyone
// could fill the disk through /login.
func formBodies(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
			if err := textOnly(r.URL.Query()); err != nil {
				return err
			}
			return next(c)
		}
		if c.Path() == "/*" || c.Path() == "" { // no route has it (Echo's catch-all): there is no form
			// A sender who mistyped a webhook URL (/V1/…) gets its 404, not the sign-in page's
			// redirect (a 200 once followed) nor "this form has expired".
			return echo.ErrNotFound
		}
		if mt, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType)); strings.HasPrefix(mt, "multipart/") {
			return echo.NewHTTPError(http.StatusUnsupportedMediaType,
				"Dashboard forms are sent as application/x-www-form-urlencoded, not "+mt+"; nothing was changed.")
		}
		r.Body = http.MaxBytesReader(c.Response(), r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "The form is larger than 1 MiB, so it was not read; nothing was changed.")
			}
			return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read ("+err.Error()+"); nothing was changed.")
		}
		if err := textOnly(r.Form); err != nil {
			return err
		}
		return next(c)
	}
}

// textOnly refuses a query or form holding a NUL or bytes that are not UTF-8: no browser sends
// them, no stored name or value holds them, PostgreSQL refuses them (a 500), and a page would
// echo them raw.
func textOnly(form url.Values) error {
	isText := func(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }
	for k, vs := range form {
		field := k
		if !isText(k) {
			field = "a field's name"
		} else if slices.IndexFunc(vs, func(v string) bool { return !isText(v) }) < 0 {
			continue
		}
		return echo.NewHTTPError(http.StatusBadRequest,
			"The address or form holds a NUL character or bytes that are not UTF-8 (in "+field+"); type it as text. Nothing was changed.")
	}
	return nil
}

// requireUser lets signed-in users through, their answers marked no-store. Others are sent to
// /login with the page they wanted remembered, or to /setup while no account exists yet. The
// user is loaded on every request, so a removed teammate's session, or one from before a
// password change (an older session generation), ends at its next request, and so does one
// whose id now names another account (handlers.SignedInAs).
func requireUser(sm *scs.SessionManager, st *store.Store) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx := c.Request().Context()
			if id := sm.GetInt64(ctx, handlers.SessionUserID); id != 0 {
				u, err := st.UserByID(ctx, id)
				if err == nil && handlers.SignedInAs(ctx, sm, u) {
					c.Set(handlers.UserContextKey, u)
					// What a signed-in page shows (webhook bodies, rows, teammates) is kept by no
					// cache: after Log out, the browser's Back must ask again, not show it.
					c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
					return next(c)
				}
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				if err := handlers.SessionEnded(ctx, sm, err != nil); err != nil {
					return err
				}
			}
			hasUsers, err := st.HasUsers(ctx)
			if err != nil {
				return err
			}
			if !hasUsers {
				return c.Redirect(http.StatusSeeOther, "/setup")
			}
			target := "/login"
			if c.Request().Method == http.MethodGet {
				target += "?next=" + url.QueryEscape(c.Request().URL.RequestURI())
			}
			return c.Redirect(http.StatusSeeOther, target)
		}
	}
}

// Security headers, set on every answer. Pages may use this origin's scripts, styles and
// images, and send no Referer (a copy-once page holds a secret). Webhook answers are JSON for
// machines and get what OWASP advises for APIs: nothing may load in or frame them, and nothing
// sniffs them. The values are shared and never modified, so setting them allocates nothing.
var (
	pageHeaders = http.Header{
		"Content-Security-Policy": {"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
			"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"},
		"X-Content-Type-Options": {"nosniff"},
		"Referrer-Policy":        {"no-referrer"},
		"X-Frame-Options":        {"DENY"},
	}
	webhookHeaders = http.Header{
		"Content-Security-Policy": {"default-src 'none'; frame-ancestors 'none'"},
		"X-Content-Type-Options":  {"nosniff"},
		"X-Frame-Options":         {"DENY"},
	}
)

func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		set := pageHeaders
		if isWebhookRoute(c) {
			set = webhookHeaders
		}
		h := c.Response().Header()
		for name, value := range set {
			h[name] = value
		}
		return next(c)
	}
}

// isWebhookRoute reports whether the request was routed to a webhook URL (or a 404 under them).
func isWebhookRoute(c echo.Context) bool {
	return strings.HasPrefix(c.Path(), webhookPrefix+"/")
}

// RedactPath replaces every secret a URL path may carry with "…", so no token reaches a log
// however the URL was mistyped. From a "v1" segment on (webhook URLs, also behind a wrong
// prefix) only the words of the route and the integration id are kept: a token sent under
// /Token/, without its marker or with a trailing segment is still a segment nobody knows.
// Elsewhere every segment after "token" or "invite" goes, and so does any holding a run of
// 16 hex digits (a token pasted anywhere). Words match in any case and percent-encoded, so
// the raw path and the decoded one (what the log writes) come out alike; a query (a
// decoded %3F, or a caller's RequestURI) goes whole.
func RedactPath(path string) string {
	path, _, hasQuery := strings.Cut(path, "?")
	segs := strings.Split(path, "/")
	webhook, secretsFollow, prev := false, false, ""
	for i, seg := range segs {
		if seg == "" {
			continue // a doubled or trailing slash
		}
		word := strings.ToLower(unescapeAll(seg))
		switch {
		case webhook:
			if !(word == "v1" || word == "clients" || word == "token" || prev == "clients" && isDecimalID(word)) {
				segs[i] = "…"
			}
		case secretsFollow || hexRun(word) >= 16:
			segs[i] = "…"
		case word == "v1":
			webhook = true
		case word == "token" || word == "invite":
			secretsFollow = true
		case strings.Contains(word, "/"): // a decoded %2F: the segment is two, maybe a marker and its token
			segs[i], secretsFollow = "…", true
		}
		prev = word
	}
	path = strings.Join(segs, "/")
	if hasQuery {
		path += "?…"
	}
	return path
}

// unescapeAll decodes s's percent escapes, again while some remain (a token encoded up to
// four times), and decodes the valid ones where url.PathUnescape would refuse the whole: a
// stray % must not hide an encoded token from RedactPath.
func unescapeAll(s string) string {
	for range 4 {
		if !strings.Contains(s, "%") {
			return s
		}
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
				b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
				i += 2
				continue
			}
			b.WriteByte(s[i])
		}
		if b.Len() == len(s) {
			return s // nothing left to decode
		}
		s = b.String()
	}
	return s
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// isDecimalID reports whether s can be an integration id in a webhook URL.
func isDecimalID(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// hexRun is the length of the longest run of hex digits in s (lower case).
func hexRun(s string) int {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' || c >= 'a' && c <= 'f' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

// accessLog writes one structured line per request. Accepted webhook requests are logged at
// Debug: at thousands a second they would flood the log (and cost the server 7 to 10% of its
// CPU), while /metrics and the Extraction Logs count them already. Refusals (4xx, 5xx) are at
// Info, but only the first of each status per interval: flood sums the others up. A live
// page's fetches of itself are at Debug too: one a second per open tab under a steady stream;
// so are answered probes (/healthz, /metrics): a load balancer checks every half second.
func accessLog(log *slog.Logger, flood *FloodLog) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err) // write the error response now, so its status is the one logged
			}
			res := c.Response()
			level, route := slog.LevelInfo, "dashboard"
			switch {
			case isWebhookRoute(c):
				route = "webhook"
			case c.Path() == "/healthz" || c.Path() == "/metrics":
				route = "probe" // a load balancer's or Prometheus's, every few seconds
			}
			switch {
			case res.Status == StatusClientClosedRequest:
				level = slog.LevelDebug // the client's leaving, not a refusal
			case res.Status >= http.StatusBadRequest:
				if !flood.refused(route, res.Status) {
					level = slog.LevelDebug // counted, and summed up at the end of the interval
				}
			case route != "dashboard":
				level = slog.LevelDebug
			case c.Request().Header.Get("X-Live-Refresh") != "":
				level = slog.LevelDebug // a live page fetching itself after an arrival (static/app.js), not a visit
			}
			if !log.Enabled(c.Request().Context(), level) {
				return nil
			}
			log.LogAttrs(c.Request().Context(), level, "request",
				slog.String("method", c.Request().Method),
				slog.String("path", RedactPath(c.Request().URL.Path)),
				slog.Int("status", res.Status),
				slog.Int64("bytes", res.Size),
				slog.Duration("duration", time.Since(start)),
				slog.String("ip", c.RealIP()),
			)
			return nil
		}
	}
}
