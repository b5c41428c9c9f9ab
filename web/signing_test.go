package web_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookhouse/hookhouse/store/signature"
	"github.com/hookhouse/hookhouse/store/warehouse"
	"github.com/hookhouse/hookhouse/web"
)

// The Standard Webhooks specification's example secret.
const specSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// saveSigning submits the Signature verification form of an integration's Settings.
func saveSigning(t *testing.T, c *client, id int64, form url.Values) response {
	t.Helper()
	c.get(fmt.Sprintf("/integrations/%d/settings", id))
	return c.post(fmt.Sprintf("/integrations/%d/signature", id), form)
}

func mustSaveSigning(t *testing.T, c *client, id int64, form url.Values) {
	t.Helper()
	expectRedirect(t, saveSigning(t, c, id, form), fmt.Sprintf("/integrations/%d/settings#signature", id))
}

// standardHeaders signs body as a Standard Webhooks sender does.
func standardHeaders(secret, msgID string, at time.Time, body []byte) http.Header {
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	ts := strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msgID + "." + ts + "."))
	m.Write(body)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("webhook-id", msgID)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	return h
}

// postWithHeaders posts body with the given headers (a signature's, or any a test needs).
func postWithHeaders(t testing.TB, target string, h http.Header, body []byte) webhookAnswer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := webhookAnswer{Status: resp.StatusCode, Header: resp.Header, Body: string(raw)}
	json.Unmarshal(raw, &a.JSON)
	return a
}

func expectRefusal(t *testing.T, what string, a webhookAnswer, reason string) {
	t.Helper()
	if msg, _ := a.JSON["error"].(string); a.Status != http.StatusUnauthorized || !strings.Contains(msg, reason) {
		t.Errorf("%s: %d %s, want 401 saying %q", what, a.Status, a.Body, reason)
	}
}

// A Standard Webhooks integration through the real server: signed requests load, each
// delivery once; every forgery is refused with its reason, stores nothing and is in the
// Extraction Logs; secrets rotate; the secret is never shown or logged after saving.
func TestStandardWebhooksVerifiedAndDeduplicated(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	id, hookURL := mustAdd(t, c, "incoming-webhooks", "Signed")
	mustSaveSigning(t, c, id, url.Values{"scheme": {"standard-webhooks"}, "secret": {specSecret}})

	settings := c.get(fmt.Sprintf("/integrations/%d/settings", id))
	if got := text(settings, "signature-scheme"); got != "Standard Webhooks (Svix)" {
		t.Fatalf("Settings shows verification %q", got)
	}
	if got := text(settings, "signature-delivery-id"); got != "header webhook-id" {
		t.Fatalf("Settings shows delivery ids from %q", got)
	}
	if v, _ := testID(settings, "secret").Attr("value"); v != "" || testID(settings, "secret-row").Length() != 1 {
		t.Fatalf("secret field pre-filled (%q) or %d secrets listed", v, testID(settings, "secret-row").Length())
	}

	body := []byte(`{"id": 1, "type": "invoice.paid"}`)
	now := time.Now()
	a := postWithHeaders(t, hookURL, standardHeaders(specSecret, "msg_1", now, body), body)
	if a.Status != http.StatusOK || a.JSON["records"] != 1.0 {
		t.Fatalf("signed request: %d %s", a.Status, a.Body)
	}
	// The provider retries: a new signature, the same id.
	a = postWithHeaders(t, hookURL, standardHeaders(specSecret, "msg_1", now.Add(time.Second), body), body)
	if a.Status != http.StatusOK || strings.TrimSpace(a.Body) != `{"status":"ok","records":0,"duplicate":true}` {
		t.Fatalf("the retry: %d %s", a.Status, a.Body)
	}

	other := "whsec_" + base64.StdEncoding.EncodeToString([]byte("another sender's secret key!"))
	changed := []byte(`{"id": 1, "type": "invoice.paie"}`)
	signedForBody := standardHeaders(specSecret, "msg_2", now, body)
	unsigned := http.Header{"Content-Type": {"application/json"}}
	oversized := standardHeaders(specSecret, "msg_3", now, body)
	oversized.Set("webhook-signature", strings.Repeat("v1,AAAA ", 1000))
	for _, tc := range []struct {
		what   string
		h      http.Header
		body   []byte
		reason string
	}{
		{"unsigned", unsigned, body, "header webhook-id is missing"},
		{"wrong secret", standardHeaders(other, "msg_2", now, body), body, "signature does not match"},
		{"body changed by a byte", signedForBody, changed, "signature does not match"},
		{"replayed 6 minutes later", standardHeaders(specSecret, "msg_2", now.Add(-6*time.Minute), body), body, "timestamp outside the 5-minute tolerance"},
		{"oversized signature header", oversized, body, "longer than 4096 bytes"},
	} {
		expectRefusal(t, tc.what, postWithHeaders(t, hookURL, tc.h, tc.body), tc.reason)
	}
	if n := queryInt(t, warehouseDB(t, app, "signed"), "SELECT COUNT(*) FROM data"); n != 1 {
		t.Fatalf("data has %d rows, want the one delivery", n)
	}

	// The refusals are in the integration's Extraction Logs, with their reasons.
	app.flush(t)
	logs := c.get(fmt.Sprintf("/integrations/%d/extraction-logs", id))
	reasons := testID(logs, "log-reason").Text()
	for _, want := range []string{"header webhook-id is missing", "signature does not match", "timestamp outside the 5-minute tolerance", "longer than 4096 bytes"} {
		if !strings.Contains(reasons, want) {
			t.Errorf("Extraction Logs lack %q: %s", want, reasons)
		}
	}
	if got := text(logs, "log-note"); !strings.Contains(got, "Duplicate") {
		t.Errorf("the retry's row in the Extraction Logs says %q, want that it was a duplicate", got)
	}
	if n := strings.Count(logs.Body, `badge-error">Refused · 401`); n != 5 {
		t.Errorf("%d refusals with 401 in the Extraction Logs, want 5", n)
	}

	// Rotation: the second secret joins, both verify; the first goes, then only the second does.
	second := "whsec_" + base64.StdEncoding.EncodeToString([]byte("the second secret, for rotation"))
	mustSaveSigning(t, c, id, url.Values{"scheme": {"standard-webhooks"}, "secret": {second}})
	if p := saveSigning(t, c, id, url.Values{"scheme": {"standard-webhooks"}, "secret": {second}}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(text(p, "error-secret"), "Two secrets") {
		t.Fatalf("a third secret: %d %s", p.Status, text(p, "error-secret"))
	}
	for i, sec := range []string{specSecret, second} {
		b := []byte(fmt.Sprintf(`{"id": %d}`, 10+i))
		if a := postWithHeaders(t, hookURL, standardHeaders(sec, fmt.Sprintf("msg_r%d", i), time.Now(), b), b); a.Status != http.StatusOK {
			t.Fatalf("signed with secret %d during the rotation: %d %s", i+1, a.Status, a.Body)
		}
	}
	settings = c.get(fmt.Sprintf("/integrations/%d/settings", id))
	first, _ := testID(settings, "secret-row").First().Find("form").Attr("action")
	last, _ := testID(settings, "secret-row").Last().Find("form").Attr("action")
	expectRedirect(t, c.post(first, nil), fmt.Sprintf("/integrations/%d/settings#signature", id))
	b := []byte(`{"id": 20}`)
	expectRefusal(t, "the removed secret", postWithHeaders(t, hookURL, standardHeaders(specSecret, "msg_r3", time.Now(), b), b), "signature does not match")
	if a := postWithHeaders(t, hookURL, standardHeaders(second, "msg_r4", time.Now(), b), b); a.Status != http.StatusOK {
		t.Fatalf("the remaining secret: %d %s", a.Status, a.Body)
	}
	// The only secret offers no Remove (the scheme would have nothing to check with), and the
	// server refuses its removal all the same.
	if only := c.get(fmt.Sprintf("/integrations/%d/settings", id)); testID(only, "remove-secret").Length() != 0 || testID(only, "only-secret").Length() != 1 {
		t.Fatalf("the only secret: %d Remove buttons, %d hints; want none and one", testID(only, "remove-secret").Length(), testID(only, "only-secret").Length())
	}
	if p := c.post(last, nil); p.Status != http.StatusConflict {
		t.Fatalf("removing the only secret: %d", p.Status)
	}

	// Neither secret on any page, in any log line or in any file.
	for _, path := range []string{fmt.Sprintf("/integrations/%d/settings", id), fmt.Sprintf("/integrations/%d/extraction-logs", id), fmt.Sprintf("/integrations/%d", id)} {
		p := c.get(path)
		for _, sec := range []string{specSecret, second, strings.TrimPrefix(specSecret, "whsec_")} {
			if strings.Contains(p.Body, sec) {
				t.Errorf("%s shows a secret", path)
			}
		}
	}
	for _, sec := range []string{specSecret, second, strings.TrimPrefix(specSecret, "whsec_"), strings.TrimPrefix(second, "whsec_")} {
		if strings.Contains(app.Logs.String(), sec) {
			t.Error("a secret reached the log")
		}
		assertNotInDataDir(t, app, sec)
	}

	// Verification off again: the unsigned request loads.
	mustSaveSigning(t, c, id, url.Values{"scheme": {""}, "delivery_id_from": {"none"}})
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(`{"id": 30}`)); a.Status != http.StatusOK {
		t.Fatalf("unsigned after switching verification off: %d %s", a.Status, a.Body)
	}
}

// Svix sends the Standard Webhooks headers as svix-id, svix-timestamp and svix-signature: the
// request verifies, and its retry is stored once, as with webhook-id. Before, the delivery id
// was read from webhook-id alone, so every retry of a Svix delivery was stored again.
func TestSvixHeadersAreDeduplicated(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	id, hookURL := mustAdd(t, c, "incoming-webhooks", "Svix")
	mustSaveSigning(t, c, id, url.Values{"scheme": {"standard-webhooks"}, "secret": {specSecret}, "delivery_id_from": {"default"}})
	svix := func(msgID string, at time.Time, body []byte) http.Header {
		h := http.Header{"Content-Type": {"application/json"}}
		for name, vs := range standardHeaders(specSecret, msgID, at, body) {
			if rest, ok := strings.CutPrefix(name, "Webhook-"); ok {
				name = "Svix-" + rest
			}
			h[name] = vs
		}
		return h
	}
	body := []byte(`{"type": "invoice.paid"}`)
	now := time.Now()
	if a := postWithHeaders(t, hookURL, svix("msg_s1", now, body), body); a.Status != http.StatusOK || a.JSON["records"] != 1.0 {
		t.Fatalf("a Svix delivery: %d %s", a.Status, a.Body)
	}
	a := postWithHeaders(t, hookURL, svix("msg_s1", now.Add(time.Second), body), body)
	if a.Status != http.StatusOK || a.JSON["duplicate"] != true {
		t.Fatalf("the Svix retry: %d %s, want 200 with duplicate", a.Status, a.Body)
	}
	// The same id under webhook-id is the same delivery; another id is a new one.
	if a := postWithHeaders(t, hookURL, standardHeaders(specSecret, "msg_s1", now, body), body); a.JSON["duplicate"] != true {
		t.Fatalf("the same id under webhook-id: %d %s, want duplicate", a.Status, a.Body)
	}
	if a := postWithHeaders(t, hookURL, svix("msg_s2", now, body), body); a.JSON["records"] != 1.0 {
		t.Fatalf("a second Svix delivery: %d %s", a.Status, a.Body)
	}
	if n := queryInt(t, warehouseDB(t, app, "svix"), "SELECT COUNT(*) FROM data"); n != 2 {
		t.Fatalf("data has %d rows, want 2 (msg_s1 once, msg_s2)", n)
	}
}

// Twenty copies of one delivery at the same moment: one is stored, nineteen are duplicates.
func TestDuplicateCopiesArrivingAtOnceAreStoredOnce(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	id, hookURL := mustAdd(t, c, "incoming-webhooks", "Copies")
	mustSaveSigning(t, c, id, url.Values{"scheme": {"standard-webhooks"}, "secret": {specSecret}})
	body := []byte(`{"type": "order.created", "n": 1}`)
	h := standardHeaders(specSecret, "msg_same", time.Now(), body)
	var mu sync.Mutex
	stored, dups := 0, 0
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			a := postWithHeaders(t, hookURL, h.Clone(), body)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case a.Status == http.StatusOK && a.JSON["duplicate"] == true && a.JSON["records"] == 0.0:
				dups++
			case a.Status == http.StatusOK && a.JSON["records"] == 1.0:
				stored++
			default:
				t.Errorf("copy: %d %s", a.Status, a.Body)
			}
		})
	}
	wg.Wait()
	if stored != 1 || dups != 19 {
		t.Fatalf("%d stored, %d duplicates; want 1 and 19", stored, dups)
	}
	if n := queryInt(t, warehouseDB(t, app, "copies"), "SELECT COUNT(*) FROM data"); n != 1 {
		t.Fatalf("data has %d rows", n)
	}
}

// The catalog's schemes through the real server, each signed as its provider does, with
// the delivery id its provider sends.
func TestProviderSchemesThroughTheServer(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)

	// Mandrill signs the URL it posts to and the sorted form fields.
	mid, mandrillURL := mustAdd(t, c, "mandrill", "Mandrill")
	mustSaveSigning(t, c, mid, url.Values{"scheme": {"mandrill"}, "secret": {"mandrill-webhook-key"}})
	form := fixture(t, "mandrill/events.form")
	fields, err := url.ParseQuery(string(form))
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha1.New, []byte("mandrill-webhook-key"))
	m.Write([]byte(mandrillURL + "mandrill_events" + fields.Get("mandrill_events")))
	mh := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "X-Mandrill-Signature": {base64.StdEncoding.EncodeToString(m.Sum(nil))}}
	if a := postWithHeaders(t, mandrillURL, mh, form); a.Status != http.StatusOK || a.JSON["records"] != 2.0 {
		t.Fatalf("Mandrill: %d %s", a.Status, a.Body)
	}
	mh.Set("X-Mandrill-Signature", base64.StdEncoding.EncodeToString(make([]byte, 20)))
	expectRefusal(t, "Mandrill, forged", postWithHeaders(t, mandrillURL, mh, form), "signature does not match")

	// GitHub: the preset, X-GitHub-Delivery as the delivery id.
	gid, githubURL := mustAdd(t, c, "incoming-webhooks", "GitHub")
	mustSaveSigning(t, c, gid, url.Values{"scheme": {"preset:github"}, "secret": {"It's a Secret to Everybody"}})
	push := []byte(`{"ref": "refs/heads/main", "zen": "Keep it logically awesome."}`)
	gm := hmac.New(sha256.New, []byte("It's a Secret to Everybody"))
	gm.Write(push)
	gh := http.Header{"Content-Type": {"application/json"}, "X-Hub-Signature-256": {"sha256=" + hex.EncodeToString(gm.Sum(nil))}, "X-Github-Delivery": {"72d3162e-cc78-11e3-81ab-4c9367dc0958"}}
	if a := postWithHeaders(t, githubURL, gh, push); a.Status != http.StatusOK || a.JSON["records"] != 1.0 {
		t.Fatalf("GitHub: %d %s", a.Status, a.Body)
	}
	if a := postWithHeaders(t, githubURL, gh, push); a.JSON["duplicate"] != true {
		t.Fatalf("GitHub redelivery: %d %s", a.Status, a.Body)
	}
	gh.Del("X-Hub-Signature-256")
	expectRefusal(t, "GitHub, unsigned", postWithHeaders(t, githubURL, gh, push), "header X-Hub-Signature-256 is missing")

	// Stripe: the event's id is the delivery id.
	sid, stripeURL := mustAdd(t, c, "incoming-webhooks", "Stripe")
	mustSaveSigning(t, c, sid, url.Values{"scheme": {"stripe"}, "secret": {"whsec_test_secret"}})
	event := []byte(`{"id": "evt_1", "object": "event", "type": "invoice.paid"}`)
	stripeHeader := func(at time.Time) http.Header {
		ts := strconv.FormatInt(at.Unix(), 10)
		sm := hmac.New(sha256.New, []byte("whsec_test_secret"))
		sm.Write([]byte(ts + "."))
		sm.Write(event)
		return http.Header{"Content-Type": {"application/json"}, "Stripe-Signature": {"t=" + ts + ",v1=" + hex.EncodeToString(sm.Sum(nil))}}
	}
	if a := postWithHeaders(t, stripeURL, stripeHeader(time.Now()), event); a.Status != http.StatusOK || a.JSON["records"] != 1.0 {
		t.Fatalf("Stripe: %d %s", a.Status, a.Body)
	}
	if a := postWithHeaders(t, stripeURL, stripeHeader(time.Now()), event); a.JSON["duplicate"] != true {
		t.Fatalf("Stripe retry: %d %s", a.Status, a.Body)
	}
	expectRefusal(t, "Stripe, stale", postWithHeaders(t, stripeURL, stripeHeader(time.Now().Add(-10*time.Minute)), event), "timestamp outside the 5-minute tolerance")

	// Postmark: Basic credentials.
	pid, postmarkURL := mustAdd(t, c, "postmark", "Postmark")
	if p := saveSigning(t, c, pid, url.Values{"scheme": {"basic"}, "secret": {"no colon"}}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(text(p, "error-secret"), "username:password") {
		t.Fatalf("Basic credentials without a colon: %d %q", p.Status, text(p, "error-secret"))
	}
	mustSaveSigning(t, c, pid, url.Values{"scheme": {"basic"}, "secret": {"postmark:s3cret-pa55"}})
	delivery := []byte(`{"RecordType": "Delivery", "MessageID": "m-1"}`)
	ph := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("postmark:s3cret-pa55"))}}
	if a := postWithHeaders(t, postmarkURL, ph, delivery); a.Status != http.StatusOK {
		t.Fatalf("Postmark: %d %s", a.Status, a.Body)
	}
	ph.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("postmark:guess")))
	expectRefusal(t, "Postmark, wrong password", postWithHeaders(t, postmarkURL, ph, delivery), "credentials do not match")

	// A scheme that signs needs its secret; the form says so and saves nothing.
	if p := saveSigning(t, c, sid, url.Values{"scheme": {"standard-webhooks"}}); p.Status != http.StatusUnprocessableEntity || text(p, "error-secret") == "" {
		t.Fatalf("switching scheme without a secret: %d", p.Status)
	}
	if a := postWithHeaders(t, stripeURL, stripeHeader(time.Now()), []byte(`{}`)); a.Status != http.StatusUnauthorized {
		t.Fatalf("Stripe still verifies after the refused change: %d %s", a.Status, a.Body)
	}
}

// Each source's pages say where its provider shows the secret.
func TestSourcePagesSayWhereTheSecretIs(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	for slug, want := range map[string]string{
		"mandrill": "Key column", "sendgrid": "Verification Key", "mailgun": "signing key", "customerio": "Webhook Signing Key",
		"segment": "Shared Secret", "postmark": "username:password", "sparkpost": "Basic Auth", "incoming-webhooks": "Standard Webhooks",
	} {
		p := c.get("/integrations/new/" + slug)
		expectStatus(t, p, http.StatusOK)
		if got := text(p, "signing-where"); !strings.Contains(got, want) {
			t.Errorf("Add %s says %q, want it to mention %q", slug, got, want)
		}
	}
	id, _ := mustAdd(t, c, "sendgrid", "SendGrid")
	if got := text(c.get(fmt.Sprintf("/integrations/%d/settings", id)), "signing-where"); !strings.Contains(got, "Verification Key") {
		t.Errorf("SendGrid's Settings say %q", got)
	}
}

// A new integration's Settings offer the scheme its provider signs with (Mandrill's own,
// SendGrid's), saved only when the user saves it; a source that does not sign, or any sender's
// (Incoming Webhooks), offers none.
func TestSettingsOfferTheProvidersScheme(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	for slug, want := range map[string]string{"mandrill": "mandrill", "sendgrid": "sendgrid", "vero": "", "incoming-webhooks": ""} {
		id, _ := mustAdd(t, c, slug, "Source "+slug)
		p := c.get(fmt.Sprintf("/integrations/%d/settings", id))
		if got, _ := testID(p, "scheme").Find("option[selected]").Attr("value"); got != want {
			t.Errorf("%s's Settings offer the scheme %q, want %q", slug, got, want)
		}
		if saved := text(p, "signature-scheme"); saved != signature.None.Label() {
			t.Errorf("%s's Settings say %q is saved, want %q until the user saves", slug, saved, signature.None.Label())
		}
	}
	// Saved as None with a delivery id: the form shows what is saved, so saving it again keeps it.
	id, _ := mustAdd(t, c, "mandrill", "Mandrill, no signature")
	settings := fmt.Sprintf("/integrations/%d/settings", id)
	c.get(settings)
	expectStatus(t, c.post(fmt.Sprintf("/integrations/%d/signature", id), url.Values{"scheme": {""}, "delivery_id_from": {"header"}, "delivery_id_name": {"X-Id"}}), http.StatusSeeOther)
	if got, _ := testID(c.get(settings), "scheme").Find("option[selected]").Attr("value"); got != "" {
		t.Errorf("after None was saved, Settings offer the scheme %q", got)
	}
}

// The form says what is wrong, field by field, and saves nothing; a generated secret is shown
// once; a delivery id can be named without any signature.
func TestSignatureFormValidatesAndShowsAGeneratedSecretOnce(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	id, hookURL := mustAdd(t, c, "incoming-webhooks", "Form")
	for _, tc := range []struct {
		form  url.Values
		field string
	}{
		{url.Values{"scheme": {"hmac"}, "hash": {"sha256"}, "encoding": {"hex"}, "secret": {"s"}}, "scheme"},
		{url.Values{"scheme": {"rot13"}, "secret": {"s"}}, "scheme"},
		{url.Values{"scheme": {"stripe"}, "tolerance": {"soon"}, "secret": {"whsec_x"}}, "tolerance"},
		{url.Values{"scheme": {"stripe"}, "delivery_id_from": {"header"}, "delivery_id_name": {"Bad Header"}, "secret": {"whsec_x"}}, "delivery_id"},
		{url.Values{"scheme": {"standard-webhooks"}, "secret": {"not base64!"}}, "secret"},
		{url.Values{"scheme": {"sendgrid"}, "secret": {"not a key"}}, "secret"},
		{url.Values{"scheme": {"stripe"}, "action": {"generate"}}, "secret"},
	} {
		p := saveSigning(t, c, id, tc.form)
		if p.Status != http.StatusUnprocessableEntity || text(p, "error-"+tc.field) == "" {
			t.Errorf("%v: status %d, no error on %s (%q)", tc.form, p.Status, tc.field, text(p, "error-"+tc.field))
		}
	}
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(`{"id": 1}`)); a.Status != http.StatusOK {
		t.Fatalf("after the refused forms the integration verifies: %d %s", a.Status, a.Body)
	}

	// A delivery id without a signature: a body field of single-event bodies.
	mustSaveSigning(t, c, id, url.Values{"scheme": {""}, "delivery_id_from": {"field"}, "delivery_id_name": {"event.id"}})
	if got := text(c.get(fmt.Sprintf("/integrations/%d/settings", id)), "signature-delivery-id"); !strings.Contains(got, "event.id") {
		t.Fatalf("Settings show delivery ids from %q", got)
	}
	event := []byte(`{"event": {"id": "e-1"}, "n": 1}`)
	for i, want := range []string{`"records":1`, `"duplicate":true`} {
		if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", event); a.Status != http.StatusOK || !strings.Contains(a.Body, want) {
			t.Fatalf("delivery %d: %d %s, want %s", i+1, a.Status, a.Body, want)
		}
	}
	batch := []byte(`[{"event": {"id": "e-1"}}, {"event": {"id": "e-2"}}]`)
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", batch); a.JSON["records"] != 2.0 {
		t.Fatalf("a batch (no delivery id): %d %s", a.Status, a.Body)
	}

	// Generate: the secret is on the next page, once, and verifies.
	p := saveSigning(t, c, id, url.Values{"scheme": {"standard-webhooks"}, "action": {"generate"}})
	expectRedirect(t, p, fmt.Sprintf("/integrations/%d/settings#signature", id))
	shown := c.get(fmt.Sprintf("/integrations/%d/settings", id))
	secret := text(shown, "generated-secret")
	if !strings.HasPrefix(secret, "whsec_") || shown.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("generated secret %q, Cache-Control %q", secret, shown.Header.Get("Cache-Control"))
	}
	if notice := text(shown, "flash"); !strings.Contains(notice, "copy it now") {
		t.Errorf("the page with the secret says %q", notice)
	}
	again := c.get(fmt.Sprintf("/integrations/%d/settings", id))
	if strings.Contains(again.Body, secret) {
		t.Fatal("the generated secret is shown twice")
	}
	if notice := text(again, "flash"); notice != "" {
		t.Errorf("the page without the secret still says %q", notice)
	}
	if a := postWithHeaders(t, hookURL, standardHeaders(secret, "msg_gen", time.Now(), event), event); a.Status != http.StatusOK {
		t.Fatalf("signed with the generated secret: %d %s", a.Status, a.Body)
	}
	if strings.Contains(app.Logs.String(), secret) {
		t.Fatal("the generated secret is in the log")
	}
}

// Refusals by verification are counted apart in /metrics.
func TestUnverifiedRequestsAreCountedAsUnauthorized(t *testing.T) {
	const token = "metrics-token-for-signing"
	app := newTestAppWith(t, warehouse.Options{}, web.Config{MetricsToken: token})
	c := app.signedInClient(t)
	id, hookURL := mustAdd(t, c, "incoming-webhooks", "Counted")
	mustSaveSigning(t, c, id, url.Values{"scheme": {"standard-webhooks"}, "secret": {specSecret}})
	expectRefusal(t, "unsigned", postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(`{}`)), "missing")
	if want := fmt.Sprintf(`hookhouse_webhook_requests_total{integration_id="%d",result="unauthorized"} 1`, id); !strings.Contains(app.metrics(t, token), want) {
		t.Fatalf("metrics lack %s", want)
	}
}

// A captured signed request replayed after its delivery id was forgotten (-dedup-window) but
// within the timestamp tolerance was stored again: with -dedup-window 1m (its least) and the
// default 5-minute tolerance, the binary stored a replay sent 65 s later ("records":1, 2 rows),
// and with the default 24 h window so would a tolerance of 2 days, which Settings allows. Now,
// with a delivery id, a timestamp may be at most half the window away (every replay it
// accepts then comes while the id is remembered), and further is refused saying why.
func TestReplayAfterTheDedupWindowIsRefused(t *testing.T) {
	const window = 4 * time.Second
	app := newTestAppWith(t, warehouse.Options{DedupWindow: window}, web.Config{})
	c := app.signedInClient(t)
	id, hookURL := mustAdd(t, c, "incoming-webhooks", "Signed")
	mustSaveSigning(t, c, id, url.Values{"scheme": {"standard-webhooks"}, "secret": {specSecret}})

	body := []byte(`{"id": 1, "type": "invoice.paid"}`)
	captured := standardHeaders(specSecret, "msg_1", time.Now(), body)
	if a := postWithHeaders(t, hookURL, captured, body); a.Status != http.StatusOK || a.JSON["records"] != 1.0 {
		t.Fatalf("signed request: %d %s", a.Status, a.Body)
	}
	if a := postWithHeaders(t, hookURL, captured, body); a.JSON["duplicate"] != true {
		t.Fatalf("replayed at once: %d %s, want a duplicate", a.Status, a.Body)
	}
	time.Sleep(window + time.Second)
	expectRefusal(t, "replayed after the window", postWithHeaders(t, hookURL, captured, body), "delivery ids are remembered for 4s")
	future := []byte(`{"id": 2}`)
	expectRefusal(t, "dated 3 s ahead", postWithHeaders(t, hookURL, standardHeaders(specSecret, "msg_2", time.Now().Add(3*time.Second), future), future),
		"timestamp more than 2s away")
	if n := queryInt(t, warehouseDB(t, app, "signed"), "SELECT count(*) FROM data"); n != 1 {
		t.Fatalf("data holds %d rows, want the delivery once", n)
	}
}

// Settings say which tolerance is enforced: with delivery ids remembered for 24 hours, a saved
// tolerance of two days is 12 hours (see TestReplayAfterTheDedupWindowIsRefused), and the form
// says so before the user saves.
func TestSettingsShowTheToleranceEnforced(t *testing.T) {
	app := newTestAppWith(t, warehouse.Options{DedupWindow: 24 * time.Hour}, web.Config{})
	c := app.signedInClient(t)
	id, _ := mustAdd(t, c, "incoming-webhooks", "Signed")
	settings := fmt.Sprintf("/integrations/%d/settings", id)
	if hint := text(c.get(settings), "tolerance-hint"); !strings.Contains(hint, "with a delivery id, at most 720") {
		t.Errorf("the tolerance's hint says %q, want the 720 minutes enforced with a delivery id", hint)
	}
	for _, tc := range []struct {
		form url.Values
		want string // the start of what Settings say
	}{
		{url.Values{"scheme": {"standard-webhooks"}, "secret": {specSecret}, "tolerance": {"2880"}}, "720 minutes (of the 2880 saved"},
		{url.Values{"scheme": {"standard-webhooks"}, "tolerance": {"2880"}, "delivery_id_from": {"none"}}, "2880 minutes"},
		{url.Values{"scheme": {"standard-webhooks"}, "tolerance": {"5"}, "delivery_id_from": {"default"}}, "5 minutes"},
	} {
		mustSaveSigning(t, c, id, tc.form)
		got := text(c.get(settings), "signature-tolerance")
		if !strings.HasPrefix(got, tc.want) || !strings.Contains(tc.want, "(") && got != tc.want {
			t.Errorf("saved %v: Settings say the tolerance is %q, want %q", tc.form, got, tc.want)
		}
	}
}
