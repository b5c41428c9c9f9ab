package handlers

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/store"
	"github.com/hookhouse/hookhouse/store/signature"
	"github.com/hookhouse/hookhouse/views"
)

type signingStore interface {
	Signing(ctx context.Context, userID, integrationID int64) (store.Signing, error)
	SaveSigning(ctx context.Context, userID, integrationID int64, cfg signature.Config, replaceSecrets bool, newSecret string) error
	RemoveSigningSecret(ctx context.Context, userID, integrationID, secretID int64) error
}

// revealSecret names the copy-once reveal of a generated signing secret, shown on Settings.
const revealSecret = "secret"

// SaveSignature saves the Signature verification form: the scheme, its parameters, the
// delivery id, and a new secret (typed, or generated for Standard Webhooks). Changing the
// scheme drops the secrets of the one left; the secret field is never shown again.
func (h *Handler) SaveSignature(c echo.Context) error {
	in, err := h.integrationParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	cur, err := h.Store.Signing(ctx, in.UserID, in.ID)
	if err != nil {
		return err
	}
	form := views.SigningForm{
		Scheme:         c.FormValue("scheme"),
		Header:         strings.TrimSpace(c.FormValue("header")),
		Hash:           c.FormValue("hash"),
		Encoding:       c.FormValue("encoding"),
		Prefix:         strings.TrimSpace(c.FormValue("prefix")),
		Tolerance:      strings.TrimSpace(c.FormValue("tolerance")),
		DeliveryIDFrom: c.FormValue("delivery_id_from"),
		DeliveryIDName: strings.TrimSpace(c.FormValue("delivery_id_name")),
	}
	secret := strings.TrimSpace(c.FormValue("secret"))
	generate := c.FormValue("action") == "generate"
	if generate && form.Scheme == "" {
		form.Scheme = string(signature.StandardWebhooks) // the only scheme whose secret we make
	}
	cfg, errs := parseSigningForm(form)
	if generate {
		if cfg.Scheme != signature.StandardWebhooks {
			errs["secret"] = "Only a Standard Webhooks secret can be generated here; other providers show theirs."
		}
		secret = newStandardSecret()
	}
	if len(errs) == 0 && secret != "" && cfg.Scheme != signature.None {
		if err := signature.ParseSecret(cfg.Scheme, secret); err != nil {
			errs["secret"] = err.Error()
		}
	}
	if len(errs) > 0 {
		return h.renderSettingsWith(c, http.StatusUnprocessableEntity, in, settingsView{signingForm: &form, signingErrors: errs})
	}
	replace := cfg.Scheme != cur.Config.Scheme || cfg.Scheme == signature.None
	if cfg.Scheme == signature.None {
		secret = ""
	}
	err = h.Store.SaveSigning(ctx, in.UserID, in.ID, cfg, replace, secret)
	switch {
	case errors.Is(err, store.ErrTooManySecrets):
		errs["secret"] = "Two secrets are active already, the most for a rotation. Remove the old one, then add the new one."
	case errors.Is(err, store.ErrSecretRequired):
		errs["secret"] = "Enter the secret the provider shows (or generate one, for Standard Webhooks): without it every request would be refused."
	case err != nil:
		return err
	}
	if len(errs) > 0 {
		return h.renderSettingsWith(c, http.StatusUnprocessableEntity, in, settingsView{signingForm: &form, signingErrors: errs})
	}
	h.Log.Info("signature verification saved", "integration_id", in.ID, "scheme", string(cfg.Scheme), "secret_added", secret != "")
	msg := "Signature verification is off: the URL's token is the only credential."
	if cfg.Scheme != signature.None {
		msg = fmt.Sprintf("Signature verification saved: %s. Requests that do not verify are refused with 401.", cfg.Scheme.Label())
	}
	if generate { // the notice travels with the secret, not as a flash another tab could show
		notice := "A new Standard Webhooks secret was generated: copy it now, it is shown only once."
		if err := h.putReveal(c, revealSecret, in.ID, in.ID, reveal{Secret: secret, Notice: notice}); err != nil {
			return err
		}
	} else {
		h.flash(c, msg)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/integrations/%d/settings#signature", in.ID))
}

// RemoveSigningSecret removes one secret, the old one after a rotation.
func (h *Handler) RemoveSigningSecret(c echo.Context) error {
	in, err := h.integrationParam(c)
	if err != nil {
		return err
	}
	secretID, err := idParam(c, "secretID")
	if err != nil {
		return err
	}
	err = h.Store.RemoveSigningSecret(c.Request().Context(), in.UserID, in.ID, secretID)
	if errors.Is(err, store.ErrSecretRequired) {
		return h.renderSettingsWith(c, http.StatusConflict, in, settingsView{signingErrors: map[string]string{
			"secret": "This is the only secret: add the new one first, or switch verification to None.",
		}})
	}
	if err != nil {
		return err
	}
	h.Log.Info("signing secret removed", "integration_id", in.ID, "secret_id", secretID)
	h.flash(c, "The secret was removed: requests signed with it are refused from now on.")
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/integrations/%d/settings#signature", in.ID))
}

// newStandardSecret is a Standard Webhooks secret: whsec_ and 32 random bytes in base64.
func newStandardSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// parseSigningForm turns the form into settings, with errors by field.
func parseSigningForm(f views.SigningForm) (signature.Config, map[string]string) {
	errs := map[string]string{}
	var cfg signature.Config
	if name, ok := strings.CutPrefix(f.Scheme, "preset:"); ok {
		preset, ok := signature.PresetByName(name)
		if !ok {
			errs["scheme"] = "Choose a scheme from the list."
			return cfg, errs
		}
		cfg = preset
	} else {
		cfg.Scheme = signature.Scheme(f.Scheme)
		if cfg.Scheme == signature.HMAC {
			cfg.Header, cfg.Hash, cfg.Encoding, cfg.Prefix = f.Header, f.Hash, f.Encoding, f.Prefix
		}
		cfg.DeliveryID = signature.DefaultDeliveryID(cfg.Scheme)
	}
	if cfg.Scheme.Timestamped() && f.Tolerance != "" {
		minutes, err := strconv.Atoi(f.Tolerance)
		if err != nil || minutes < 1 || minutes > 7*24*60 {
			errs["tolerance"] = "The tolerance is a number of minutes, from 1 to 10080 (7 days)."
		} else if minutes != int(signature.DefaultTolerance.Minutes()) {
			cfg.ToleranceSeconds = minutes * 60
		}
	}
	switch f.DeliveryIDFrom {
	case "", "default":
	case "none":
		cfg.DeliveryID = ""
	case "header", "field":
		cfg.DeliveryID = f.DeliveryIDFrom + ":" + f.DeliveryIDName
	default:
		errs["delivery_id"] = "Choose where the delivery id is."
	}
	if err := cfg.Validate(); err != nil {
		field := signature.FieldScheme
		var invalid *signature.FieldError
		if errors.As(err, &invalid) {
			field = invalid.Field
		}
		errs[field] = err.Error()
	}
	return cfg, errs
}
