package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/store"
	"github.com/hookhouse/hookhouse/views"
)

type accounts interface {
	HasUsers(ctx context.Context) (bool, error)
	CheckSetupCode(ctx context.Context, code string) error
	CreateOwner(ctx context.Context, email, password string) (store.User, error)
	Authenticate(ctx context.Context, email, password string) (store.User, error)
}

// SetupForm shows the first-run form that creates the owner account.
func (h *Handler) SetupForm(c echo.Context) error {
	if done, err := h.Store.HasUsers(c.Request().Context()); err != nil || done {
		if err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	return h.renderSetup(c, http.StatusOK, "", "", "")
}

// Setup creates the owner account and signs them in.
func (h *Handler) Setup(c echo.Context) error {
	email, password, code := formEmail(c), c.FormValue("password"), c.FormValue("code")
	// The code first: without it a visitor learns nothing and costs no password hash.
	err := h.Store.CheckSetupCode(c.Request().Context(), code)
	if errors.Is(err, store.ErrSetupCode) {
		return h.renderSetup(c, http.StatusForbidden, email, code,
			"That setup code is not the one hookhouse wrote to "+store.SetupCodeFile+" in its data folder. Each start writes a new one: copy the file's newest code.")
	}
	var u store.User
	if err == nil {
		if msg := validateAccount(email, password); msg != "" {
			return h.renderSetup(c, http.StatusUnprocessableEntity, email, code, msg)
		}
		u, err = h.Store.CreateOwner(c.Request().Context(), email, password)
	}
	if errors.Is(err, store.ErrSetupDone) {
		h.flash(c, "The owner account already exists. Sign in with it.")
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	if err != nil {
		return err
	}
	h.Log.Info("owner account created", "user_id", u.ID)
	if err := h.signIn(c, u); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/integrations")
}

func (h *Handler) renderSetup(c echo.Context, status int, email, code, msg string) error {
	return render(c, status, views.SetupPage(views.SetupProps{
		Page:              h.page(c, "Set up hookhouse", ""),
		Email:             email,
		Code:              code,
		CodeFile:          store.SetupCodeFile,
		Error:             msg,
		MinPasswordLength: store.MinPasswordLength,
	}))
}

// validateAccount returns what is wrong with a new account's email and password, or "".
func validateAccount(email, password string) string {
	if err := store.ValidateEmail(email); err != nil {
		return err.Error()
	}
	return passwordProblem(password)
}

// formEmail is the email address a form posted, without the spaces around it (the store
// folds its case).
func formEmail(c echo.Context) string { return strings.TrimSpace(c.FormValue("email")) }

// passwordProblem says what is wrong with a new password (store.ValidatePassword), or "".
func passwordProblem(password string) string {
	if err := store.ValidatePassword(password); err != nil {
		return err.Error()
	}
	return ""
}
