package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hookhouse/hookhouse/store"
	"github.com/hookhouse/hookhouse/store/signature"
	"github.com/hookhouse/hookhouse/store/sources"
	"github.com/hookhouse/hookhouse/store/warehouse"
)

// webhookRecorder is what a webhook request records once it is authenticated (by web's
// requireWebhookURL).
type webhookRecorder interface {
	TouchWebhookURL(ctx context.Context, urlID, integrationID int64, at time.Time) error
	RecordRequest(r store.WebhookRequest)
	WebhookTargetAgain(ctx context.Context, t store.WebhookTarget, token string) (store.WebhookTarget, error)
}

type loader interface {
	Load(ctx context.Context, schema string, target warehouse.Target, records []warehouse.Record, receivedAt time.Time) (warehouse.Result, error)
}

// DefaultMaxBodyBytes is the largest webhook body accepted unless configured otherwise.
const DefaultMaxBodyBytes = 20 << 20

// WebhookTargetKey is where the web middleware leaves the store.WebhookTarget of an
// authenticated webhook URL.
const WebhookTargetKey = "hookhouse.webhookTarget"

// WebhookTargetOf returns the webhook URL's target the middleware authenticated.
func WebhookTargetOf(c echo.Context) (store.WebhookTarget, bool) {
	t, ok := c.Get(WebhookTargetKey).(store.WebhookTarget)
	return t, ok
}

// webhookTarget is the authenticated target; a webhook route without the authenticating
// middleware is a wiring bug, and refuses every request.
func webhookTarget(c echo.Context) (store.WebhookTarget, error) {
	t, ok := WebhookTargetOf(c)
	if !ok {
		return store.WebhookTarget{}, errors.New("webhook route without authentication")
	}
	return t, nil
}

func (h *Handler) errTooLarge() error {
	return echo.NewHTTPError(http.StatusRequestEntityTooLarge,
		fmt.Sprintf("The body is larger than the limit of %d bytes; nothing was stored. Send fewer events per request.", h.MaxBodyBytes))
}

func errPaused(c echo.Context) error {
	c.Response().Header().Set("Retry-After", "60")
	return echo.NewHTTPError(http.StatusServiceUnavailable, "This integration is paused in hookhouse, so it accepts no events. Resume it in the integration's Settings.")
}

// VerifyWebhook answers a GET on a valid webhook URL with 200, for providers that check an
// endpoint before sending to it.
func (h *Handler) VerifyWebhook(c echo.Context) error {
	target, err := webhookTarget(c)
	if err != nil {
		return err
	}
	if target.Paused {
		return errPaused(c)
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// ReceiveWebhook decodes a webhook body into records and appends them to the integration's
// warehouse schema. It answers 200 only once they are committed to disk. Every authenticated
// request, accepted or refused, goes to the integration's Extraction Logs.
func (h *Handler) ReceiveWebhook(c echo.Context) error {
	receivedAt := time.Now().UTC()
	target, err := webhookTarget(c)
	if err != nil {
		return err
	}
	held := h.bodies.reservation()
	defer held.release()
	body, res, err := h.ingest(c, target, receivedAt, &held)
	logged := h.extractionLog(c, target, receivedAt, body, res, err)
	h.Store.RecordRequest(logged)
	h.observeWebhook(c, target, logged)
	if err != nil {
		return err
	}
	if err := h.Store.TouchWebhookURL(c.Request().Context(), target.URLID, target.IntegrationID, receivedAt); err != nil {
		h.Log.Warn("recording webhook use", "integration_id", target.IntegrationID, "err", err)
	}
	return answerIngested(c, res)
}

// jsonContentType is every 200's Content-Type, shared so that setting it allocates nothing.
var jsonContentType = []string{echo.MIMEApplicationJSON}

// duplicateAnswer is the 200 for a delivery whose id was stored before: nothing stored again.
var duplicateAnswer = []byte(`{"status":"ok","records":0,"duplicate":true}` + "\n")

// answerIngested writes the 200: records loaded, and how many went to _sdc_rejected. It is
// written by hand because it is fixed but for two numbers: at webhook rates encoding/json cost a
// few percent of the server's CPU, and Echo's content-type lookup (c.JSONBlob) most of another.
func answerIngested(c echo.Context, res warehouse.Result) error {
	resp := c.Response()
	resp.Header()[echo.HeaderContentType] = jsonContentType
	if res.Duplicate {
		resp.WriteHeader(http.StatusOK)
		_, err := resp.Write(duplicateAnswer)
		return err
	}
	b := make([]byte, 0, 64)
	b = append(b, `{"status":"ok","records":`...)
	b = strconv.AppendInt(b, int64(res.Loaded), 10)
	b = append(b, `,"rejected":`...)
	b = strconv.AppendInt(b, int64(res.Rejected), 10)
	b = append(b, "}\n"...)
	resp.WriteHeader(http.StatusOK)
	_, err := resp.Write(b)
	return err
}

// signedURL is the webhook URL as the provider signed it (Mandrill signs the URL it posts
// to): the path on -public-url when set, else the URL as this request arrived (the scheme
// of the connection, or a trusted proxy's X-Forwarded-Proto, and the Host header), as the
// copy-once page built it. Only computed for the schemes that sign a URL.
func (h *Handler) signedURL(c echo.Context, v *signature.Verifier) string {
	if !v.NeedsURL() {
		return ""
	}
	return h.baseURL(c) + c.Request().URL.RequestURI()
}

// ingest reads, decodes and loads the body, returning what it read for the log.
func (h *Handler) ingest(c echo.Context, target store.WebhookTarget, receivedAt time.Time, held *reservation) ([]byte, warehouse.Result, error) {
	if target.Paused {
		return nil, warehouse.Result{}, errPaused(c)
	}
	req := c.Request()
	if coding := contentCoding(req.Header); coding != "" {
		// Decoding compressed bodies would need a bound of its own (a small gzip inflates
		// to gigabytes); refused unread, as RFC 9110 asks, naming the coding accepted.
		c.Response().Header().Set("Accept-Encoding", "identity")
		return nil, warehouse.Result{}, echo.NewHTTPError(http.StatusUnsupportedMediaType,
			"Nothing was stored: Content-Encoding "+coding+" is not supported; send the body uncompressed, without Content-Encoding")
	}
	if n := len(req.Header.Values(echo.HeaderContentType)); n > 1 {
		// Which one the sender meant cannot be known; taking the first would decode by a guess.
		return nil, warehouse.Result{}, echo.NewHTTPError(http.StatusBadRequest,
			fmt.Sprintf("Nothing was stored: the request has %d Content-Type headers; send one", n))
	}
	body, err := h.readBody(c, held)
	if err != nil {
		return body, warehouse.Result{}, h.readError(err)
	}

	if v := target.Verifier; v.Signs() {
		if err := v.Verify(signature.Request{Header: req.Header, Body: body, URL: h.signedURL(c, v), Remembered: h.Warehouse.DedupWindow()}, receivedAt); err != nil {
			return body, warehouse.Result{}, echo.NewHTTPError(http.StatusUnauthorized, "Nothing was stored: "+err.Error())
		}
	}

	records, err := warehouse.DecodeBody(req.Header.Get(echo.HeaderContentType), body, sources.FormEventsField(target.Source))
	if err != nil {
		return body, warehouse.Result{}, decodeError(err)
	}

	if err := h.stillAccepted(c, target); err != nil {
		return body, warehouse.Result{}, err
	}
	wt := warehouse.Target{PrimaryKey: target.PrimaryKey, DeliveryID: target.Verifier.DeliveryID(req.Header, records)}
	res, err := h.Warehouse.Load(req.Context(), target.Schema, wt, records, receivedAt)
	if errors.Is(err, warehouse.ErrBusy) {
		c.Response().Header().Set("Retry-After", "1")
		return body, res, echo.NewHTTPError(http.StatusServiceUnavailable, "hookhouse is busy writing earlier events; nothing of this request was stored. Retry in a second.")
	}
	if err != nil {
		c.Response().Header().Set("Retry-After", "30")
		return body, res, echo.NewHTTPError(http.StatusServiceUnavailable, "The warehouse could not store this request, so nothing of it was kept. Retry later.").SetInternal(err)
	}
	return body, res, nil
}

// readError is the answer to a body that could not be read. (The error variables are declared
// only here: errors.As moves them to the heap, an allocation per request otherwise.)
func (h *Handler) readError(err error) error {
	var tooLarge *http.MaxBytesError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &tooLarge):
		return h.errTooLarge()
	case errors.As(err, &he):
		return err
	}
	return echo.NewHTTPError(http.StatusBadRequest, "The body could not be read: "+err.Error())
}

// decodeError is the answer to a body that could not be decoded.
func decodeError(err error) error {
	var bad *warehouse.BodyError
	switch {
	case errors.Is(err, warehouse.ErrUnsupportedMediaType):
		return echo.NewHTTPError(http.StatusUnsupportedMediaType,
			"Nothing was stored: "+err.Error()+"; send application/json or application/x-www-form-urlencoded")
	case errors.As(err, &bad):
		return echo.NewHTTPError(http.StatusBadRequest, "Nothing was stored: "+bad.Error())
	}
	return err
}

// stillAccepted authenticates the URL again once its body is read, just before it is loaded:
// the body may take up to -read-timeout to arrive, and a revoke, pause or delete meanwhile
// must stop the request. Without it, a request begun before "Delete integration and data"
// loaded after the drop, answered 200 and made the schema again, data and all, under no
// integration. (Unless such a change came meanwhile, one read of the cache's generation.)
func (h *Handler) stillAccepted(c echo.Context, authenticated store.WebhookTarget) error {
	t, err := h.Store.WebhookTargetAgain(c.Request().Context(), authenticated, c.Param("token"))
	if err != nil {
		return checkAgainError(c, err)
	}
	if t.Paused {
		return errPaused(c)
	}
	return nil
}

// checkAgainError is stillAccepted's answer when the URL is no longer accepted or cannot be
// checked.
func checkAgainError(c echo.Context, err error) error {
	var revoked *store.RevokedURLError
	if errors.Is(err, store.ErrUnauthorized) || errors.As(err, &revoked) {
		return echo.NewHTTPError(http.StatusUnauthorized,
			"Nothing was stored: this webhook URL was revoked, or its integration deleted, while the request was being sent.")
	}
	c.Response().Header().Set("Retry-After", "30")
	return echo.NewHTTPError(http.StatusServiceUnavailable, "hookhouse cannot check this webhook URL right now, so nothing of this request was stored. Retry later.").SetInternal(err)
}

// compressions are the content codings that compress (RFC 9110's registry, and zstd):
// a body labelled so would otherwise be decoded as if it were plain.
var compressions = []string{"gzip", "x-gzip", "deflate", "br", "compress", "x-compress", "zstd"}

// contentCoding returns the request's first Content-Encoding that compresses, or "". Other
// labels pass as before: some senders put their charset there (Content-Encoding: utf-8), and
// their plain bodies load.
func contentCoding(h http.Header) string {
	for _, v := range h.Values("Content-Encoding") {
		for coding := range strings.SplitSeq(v, ",") {
			coding = strings.TrimSpace(coding)
			if slices.ContainsFunc(compressions, func(c string) bool { return strings.EqualFold(c, coding) }) {
				return strings.ToLower(coding)
			}
		}
	}
	return ""
}

// extractionLog describes a request for the Extraction Logs (the token is not part of it).
func (h *Handler) extractionLog(c echo.Context, target store.WebhookTarget, receivedAt time.Time, body []byte, res warehouse.Result, err error) store.WebhookRequest {
	req := c.Request()
	r := store.WebhookRequest{
		IntegrationID: target.IntegrationID,
		Paused:        target.Paused,
		ReceivedAt:    receivedAt,
		Status:        http.StatusOK,
		Records:       res.Loaded,
		Rejected:      res.Rejected,
		Bytes:         int64(len(body)),
		ContentType:   req.Header.Get(echo.HeaderContentType),
		IP:            c.RealIP(),
		UserAgent:     req.UserAgent(),
		Body:          body,
	}
	if req.ContentLength > r.Bytes {
		r.Bytes = req.ContentLength
	}
	if err == nil && res.Duplicate {
		r.Error = "Duplicate: a delivery with this id was stored before, so nothing was stored again."
	}
	if err != nil {
		r.Status, r.Error = http.StatusInternalServerError, "internal error"
		var he *echo.HTTPError
		if errors.As(err, &he) {
			r.Status, r.Error = he.Code, fmt.Sprint(he.Message)
		}
	}
	return r
}
