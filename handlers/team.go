package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/store"
	"github.com/hookhouse/hookhouse/views"
)

type team interface {
	Members(ctx context.Context, workspaceID int64) ([]store.User, error)
	RemoveMember(ctx context.Context, workspaceID, userID int64) (store.User, error)
	CreateInvite(ctx context.Context, workspaceID int64, email string) (store.Invite, string, error)
	PendingInvites(ctx context.Context, workspaceID int64) ([]store.Invite, error)
	RevokeInvite(ctx context.Context, workspaceID, id int64) (store.Invite, error)
	InviteByToken(ctx context.Context, token string) (store.Invite, error)
	AcceptInvite(ctx context.Context, token, password string) (store.User, error)
	ChangePassword(ctx context.Context, userID int64, current, next string) (store.User, error)
}

// revealInvite names the copy-once reveal of a new invite link.
const revealInvite = "invite"

var errOwnerOnly = echo.NewHTTPError(http.StatusForbidden, "Only the workspace owner can invite and remove teammates.")

// Team lists the workspace's members and, for the owner, pending invites and the invite form.
func (h *Handler) Team(c echo.Context) error {
	return h.renderTeam(c, http.StatusOK, "", "")
}

func (h *Handler) renderTeam(c echo.Context, status int, email, emailError string) error {
	u, _ := currentUser(c)
	ctx := c.Request().Context()
	members, err := h.Store.Members(ctx, u.WorkspaceID)
	if err != nil {
		return err
	}
	var invites []store.Invite
	if u.IsOwner() {
		if invites, err = h.Store.PendingInvites(ctx, u.WorkspaceID); err != nil {
			return err
		}
	}
	return render(c, status, views.TeamPage(views.TeamProps{
		Page:       h.page(c, "Team", "team"),
		Me:         u,
		Members:    members,
		Invites:    invites,
		Email:      email,
		EmailError: emailError,
	}))
}

// InviteTeammate creates an invite and shows its link once.
func (h *Handler) InviteTeammate(c echo.Context) error {
	u, _ := currentUser(c)
	if !u.IsOwner() {
		return errOwnerOnly
	}
	email := formEmail(c)
	if store.ValidateEmail(email) != nil {
		return h.renderTeam(c, http.StatusUnprocessableEntity, email, "Enter your teammate's email address, like them@example.com.")
	}
	ctx := c.Request().Context()
	in, token, err := h.Store.CreateInvite(ctx, u.WorkspaceID, email)
	if errors.Is(err, store.ErrConflict) {
		return h.renderTeam(c, http.StatusUnprocessableEntity, email, email+" already has an account on this hookhouse.")
	}
	if err != nil {
		return err
	}
	h.Log.Info("teammate invited", "invite_id", in.ID, "by_user_id", u.ID)
	base, builtFrom := h.publicURL(c)
	// integrationID 0: no integration page ever takes it, only the invite link page.
	if err := h.putReveal(c, revealInvite, in.ID, 0, reveal{URL: base + "/invite/" + token, BuiltFrom: builtFrom, ContinueTo: "/team", Invite: in}); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/team/invite-link?invite=%d", in.ID))
}

// InviteLink is the copy-once page of a new invite link: shown the first time it is opened
// after the invite was made, never again.
func (h *Handler) InviteLink(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	props := views.InviteLinkProps{Page: h.page(c, "Invite link", "team")}
	inviteID, _ := strconv.ParseInt(c.QueryParam("invite"), 10, 64) // 0: none was made here
	r, ok, held, err := h.takeReveal(c, revealInvite, inviteID, 0)
	if err != nil {
		return err
	}
	if held {
		props.OpenHere = fmt.Sprintf("/team/invite-link?invite=%d", inviteID)
	}
	if ok {
		props.URL, props.BuiltFrom, props.Invite = r.URL, r.BuiltFrom, r.Invite
	}
	return render(c, http.StatusOK, views.InviteLinkPage(props))
}

// RevokeInvite withdraws a pending invite: its link stops working.
func (h *Handler) RevokeInvite(c echo.Context) error {
	u, _ := currentUser(c)
	if !u.IsOwner() {
		return errOwnerOnly
	}
	id, err := idParam(c, "inviteID")
	if err != nil {
		return err
	}
	in, err := h.Store.RevokeInvite(c.Request().Context(), u.WorkspaceID, id)
	if err != nil {
		return err
	}
	h.Log.Info("invite revoked", "invite_id", in.ID)
	h.flash(c, fmt.Sprintf("The invite for %s was revoked: its link no longer works.", in.Email))
	return c.Redirect(http.StatusSeeOther, "/team")
}

// RemoveTeammate deletes a teammate's account and ends their sessions at once. What they
// created belongs to the workspace and stays.
func (h *Handler) RemoveTeammate(c echo.Context) error {
	u, _ := currentUser(c)
	if !u.IsOwner() {
		return errOwnerOnly
	}
	id, err := idParam(c, "memberID")
	if err != nil {
		return err
	}
	if id == u.ID {
		return echo.NewHTTPError(http.StatusForbidden, "The owner cannot be removed.")
	}
	ctx := c.Request().Context()
	removed, err := h.Store.RemoveMember(ctx, u.WorkspaceID, id)
	if err != nil {
		return err
	}
	h.endSessions(ctx, removed.ID, -1, true)
	h.Log.Info("teammate removed", "user_id", removed.ID, "by_user_id", u.ID)
	h.flash(c, fmt.Sprintf("%s was removed from the workspace and signed out everywhere.", removed.Email))
	return c.Redirect(http.StatusSeeOther, "/team")
}

// AcceptInviteForm asks the invited teammate for a password.
func (h *Handler) AcceptInviteForm(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	in, err := h.Store.InviteByToken(c.Request().Context(), c.Param("token"))
	if err != nil {
		return h.renderInviteProblem(c, in, err)
	}
	return h.renderAcceptInvite(c, http.StatusOK, in, nil)
}

// AcceptInvite creates the teammate's account with the password chosen and signs them in.
func (h *Handler) AcceptInvite(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	ctx := c.Request().Context()
	token := c.Param("token")
	in, err := h.Store.InviteByToken(ctx, token)
	if err != nil {
		return h.renderInviteProblem(c, in, err)
	}
	password, confirm := c.FormValue("password"), c.FormValue("confirm_password")
	if errs := newPasswordErrors(password, confirm, "password"); len(errs) > 0 {
		return h.renderAcceptInvite(c, http.StatusUnprocessableEntity, in, errs)
	}
	u, err := h.Store.AcceptInvite(ctx, token, password)
	if err != nil { // spent meanwhile, or the email got an account: say so; other errors pass through
		return h.renderInviteProblem(c, in, err)
	}
	h.Log.Info("invite accepted", "invite_id", in.ID, "user_id", u.ID)
	if err := h.signIn(c, u); err != nil {
		return err
	}
	h.flash(c, "Welcome to hookhouse. You see and manage the same integrations as the rest of your team.")
	return c.Redirect(http.StatusSeeOther, "/integrations")
}

func (h *Handler) renderAcceptInvite(c echo.Context, status int, in store.Invite, errs map[string]string) error {
	return render(c, status, views.AcceptInvitePage(views.AcceptInviteProps{
		Page:              h.page(c, "Join hookhouse", ""),
		Invite:            in,
		Action:            "/invite/" + c.Param("token"),
		Errors:            errs,
		MinPasswordLength: store.MinPasswordLength,
	}))
}

// renderInviteProblem says why an invite link does not work, and what to do instead. Errors
// that are not about the link (ErrBusy, the database) are returned for the error handler.
func (h *Handler) renderInviteProblem(c echo.Context, in store.Invite, err error) error {
	status, msg := http.StatusGone, ""
	switch {
	case errors.Is(err, store.ErrNotFound):
		status, msg = http.StatusNotFound, "This invite link is not valid. Check that you copied all of it, or ask the workspace owner for a new one."
	case errors.Is(err, store.ErrInviteUsed):
		msg = "This invite link has already been used: each link works once. If you set your password with it, sign in; otherwise ask the workspace owner for a new invite."
	case errors.Is(err, store.ErrInviteExpired):
		msg = fmt.Sprintf("This invite link expired on %s UTC: links work for %d days. Ask the workspace owner for a new one.",
			in.ExpiresAt.Format("2 Jan 2006 15:04"), store.InviteTTL/(24*time.Hour))
	case errors.Is(err, store.ErrInviteRevoked):
		msg = "This invite link was withdrawn by the workspace owner. Ask them for a new one if you still need access."
	case errors.Is(err, store.ErrConflict):
		status, msg = http.StatusConflict, in.Email+" already has an account on this hookhouse: sign in with it."
	default:
		return err
	}
	return render(c, status, views.InviteProblemPage(views.InviteProblemProps{Page: h.page(c, "Invite link", ""), Message: msg}))
}

// PasswordForm shows the change-password form.
func (h *Handler) PasswordForm(c echo.Context) error {
	return h.renderPassword(c, http.StatusOK, nil)
}

// ChangePassword sets a new password after checking the current one. The user's other
// sessions end; this one stays signed in, under a new token. Wrong current passwords count
// as failed sign-ins of the account, so a stolen session cannot guess it faster.
func (h *Handler) ChangePassword(c echo.Context) error {
	u, _ := currentUser(c)
	current, next, confirm := c.FormValue("current_password"), c.FormValue("new_password"), c.FormValue("confirm_password")
	errs := newPasswordErrors(next, confirm, "new_password")
	if current == "" {
		errs["current_password"] = "Enter your current password."
	}
	if len(errs) > 0 {
		return h.renderPassword(c, http.StatusUnprocessableEntity, errs)
	}
	ctx := c.Request().Context()
	var updated store.User
	wait, err := h.throttledPasswordCheck(c, u.Email, func() (err error) {
		updated, err = h.Store.ChangePassword(ctx, u.ID, current, next)
		return err
	})
	switch {
	case wait > 0:
		return h.renderPassword(c, http.StatusTooManyRequests, map[string]string{
			"current_password": fmt.Sprintf("Too many wrong passwords. Wait %d seconds, then try again.", wait)})
	case errors.Is(err, store.ErrInvalidCredentials):
		h.Log.Warn("password change: wrong current password", "user_id", u.ID, "ip", c.RealIP())
		return h.renderPassword(c, http.StatusUnauthorized, map[string]string{"current_password": "That is not your current password."})
	case err != nil:
		return err
	}
	if err := h.signIn(c, updated); err != nil {
		return err
	}
	h.endSessions(ctx, u.ID, updated.SessionGeneration, false)
	h.Log.Info("password changed", "user_id", u.ID)
	h.flash(c, "Your password was changed. Your other sessions were signed out.")
	return c.Redirect(http.StatusSeeOther, "/account/password")
}

func (h *Handler) renderPassword(c echo.Context, status int, errs map[string]string) error {
	return render(c, status, views.PasswordPage(views.PasswordProps{
		Page:              h.page(c, "Change password", "team"),
		Errors:            errs,
		MinPasswordLength: store.MinPasswordLength,
	}))
}

// newPasswordErrors checks a new password and its confirmation, by field: the password under
// field, the confirmation under confirm_password.
func newPasswordErrors(password, confirm, field string) map[string]string {
	errs := map[string]string{}
	if msg := passwordProblem(password); msg != "" {
		errs[field] = msg
	} else if confirm != password {
		errs["confirm_password"] = "The two passwords do not match. Type the same password twice."
	}
	return errs
}
