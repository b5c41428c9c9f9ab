package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/store"
	"github.com/hookhouse/hookhouse/views"
)

// LoginForm shows the sign-in form; next is where to go afterwards.
func (h *Handler) LoginForm(c echo.Context) error {
	ctx := c.Request().Context()
	if done, err := h.Store.HasUsers(ctx); err != nil || !done {
		if err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/setup")
	}
	next := safeNext(c.QueryParam("next"))
	if h.Sessions.GetInt64(ctx, SessionUserID) != 0 {
		return c.Redirect(http.StatusSeeOther, next)
	}
	return h.renderLogin(c, http.StatusOK, "", next, "")
}

// Login checks the credentials, slowing down repeated failures per IP and per email. The
// attempt is counted before the password is checked, so parallel guesses get no more tries.
func (h *Handler) Login(c echo.Context) error {
	email, password := formEmail(c), c.FormValue("password")
	next := safeNext(c.FormValue("next"))
	var u store.User
	wait, err := h.throttledPasswordCheck(c, email, func() (err error) {
		u, err = h.Store.Authenticate(c.Request().Context(), email, password)
		return err
	})
	switch {
	case wait > 0:
		return h.renderLogin(c, http.StatusTooManyRequests, email, next,
			fmt.Sprintf("Too many failed sign-ins. Wait %d seconds, then try again.", wait))
	case errors.Is(err, store.ErrInvalidCredentials):
		h.Log.Warn("sign-in failed", "ip", c.RealIP())
		return h.renderLogin(c, http.StatusUnauthorized, email, next, "That email and password do not match an account. Check both and try again.")
	case err != nil:
		return err
	}
	if err := h.signIn(c, u); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, next)
}

// Logout ends the session and starts a fresh anonymous one.
func (h *Handler) Logout(c echo.Context) error {
	ctx := c.Request().Context()
	if err := h.Sessions.RenewToken(ctx); err != nil {
		return err
	}
	h.Sessions.Remove(ctx, SessionUserID)
	h.Sessions.Remove(ctx, SessionCSRF)
	h.flash(c, "You have been signed out.")
	return c.Redirect(http.StatusSeeOther, "/login")
}

func (h *Handler) renderLogin(c echo.Context, status int, email, next, msg string) error {
	return render(c, status, views.LoginPage(views.LoginProps{
		Page:  h.page(c, "Sign in", ""),
		Email: email,
		Next:  next,
		Error: msg,
	}))
}

// safeNext keeps post-login redirects on this site. Browsers drop tabs and newlines from a
// URL and read a backslash as a slash, so "/\t/evil.example" is "//evil.example" to them:
// only a local path of plain URL characters (RFC 3986's, no fragment) starting with one "/"
// passes.
func safeNext(next string) string {
	const fallback = "/integrations"
	if len(next) == 0 || len(next) > 2048 || next[0] != '/' || strings.HasPrefix(next, "//") {
		return fallback
	}
	for i := 0; i < len(next); i++ {
		if !isPathByte(next[i]) {
			return fallback
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return fallback
	}
	return next
}

// isPathByte reports whether b may appear, as is, in a local path and query: letters, digits,
// "%" escapes and RFC 3986's other unreserved, sub-delimiter and path characters.
func isPathByte(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/?%", b) >= 0
}
