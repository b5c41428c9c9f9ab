package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"

	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/handlers"
)

// csrfCookie holds the CSRF token of a visitor who has no stored session yet (the sign-in and
// invite forms): storing a session for every visitor who never signs in would let anyone fill
// the metadata database by asking for the sign-in page. SameSite=Strict, so no other site's
// form sends it.
const csrfCookie = "hookhouse_csrf"

// csrf protects every state-changing dashboard request with a synchronizer token: the token
// lives in the server-side session (or, until the visitor has one, in csrfCookie) and each
// form posts it back as _csrf in its body, never in the URL (or scripts send the
// X-CSRF-Token header). Compared in constant time.
func csrf(sm *scs.SessionManager) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx := c.Request().Context()
			token := sm.GetString(ctx, handlers.SessionCSRF)
			stored := token != "" || sm.Token(ctx) != "" // a session the store holds already
			if !stored {
				if ck, err := c.Cookie(csrfCookie); err == nil && isCSRFToken(ck.Value) {
					token = ck.Value
				}
			}
			switch c.Request().Method {
			case http.MethodGet, http.MethodHead, http.MethodOptions:
			default:
				sent := c.Request().Header.Get("X-CSRF-Token")
				if sent == "" { // the body's field only (formBodies parsed it): a token in the URL would be logged
					sent = c.Request().PostFormValue("_csrf")
				}
				if token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(sent)) != 1 {
					return echo.NewHTTPError(http.StatusForbidden,
						"This form has expired or did not come from this dashboard. Go back, reload the page and try again.")
				}
			}
			if token == "" {
				b := make([]byte, 32)
				rand.Read(b)
				token = hex.EncodeToString(b)
				if stored {
					sm.Put(ctx, handlers.SessionCSRF, token)
				} else {
					c.SetCookie(&http.Cookie{Name: csrfCookie, Value: token, Path: "/", HttpOnly: true,
						Secure: sm.Cookie.Secure, SameSite: http.SameSiteStrictMode})
				}
			}
			c.Set(handlers.CSRFContextKey, token)
			return next(c)
		}
	}
}

// isCSRFToken reports whether s is a token csrf makes: 64 hex digits.
func isCSRFToken(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
