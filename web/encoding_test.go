package web_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// A body labelled compressed (gzip, deflate, br...) is refused with 415, saying to send it
// uncompressed, and stores nothing: before, a gzipped body got 400 "invalid UTF-8 at byte 1",
// and a plain body labelled br was stored as if the label were not there. A label that is no
// compression (a charset, as some senders put there) loads as before.
func TestWebhookContentEncodingRefused(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	id, hookURL := mustAdd(t, c, "incoming-webhooks", "Encoded")
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, hookURL, "application/json", []byte(`{"n":0}`)); a.Status != http.StatusOK {
		t.Fatalf("first event: %d %s", a.Status, a.Body)
	}
	db := warehouseDB(t, app, "encoded")

	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte(`{"n":1}`))
	w.Close()
	cases := []struct {
		name, encoding string
		body           []byte
		status         int
		says           string
	}{
		{"gzip", "gzip", gz.Bytes(), http.StatusUnsupportedMediaType, `Content-Encoding gzip is not supported; send the body uncompressed`},
		{"br on a plain body", "br", []byte(`{"n":2}`), http.StatusUnsupportedMediaType, `Content-Encoding br`},
		{"identity then gzip", "identity, gzip", gz.Bytes(), http.StatusUnsupportedMediaType, `Content-Encoding gzip`},
		{"identity", "Identity", []byte(`{"n":3}`), http.StatusOK, ""},
		{"a charset where the coding goes", "UTF-8", []byte(`{"n":4}`), http.StatusOK, ""},
		{"deflate", "Deflate", []byte(`{"n":5}`), http.StatusUnsupportedMediaType, `Content-Encoding deflate`},
	}
	for _, tc := range cases {
		req, err := http.NewRequest(http.MethodPost, hookURL, bytes.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Content-Encoding", tc.encoding)
		before := queryInt(t, db, "SELECT COUNT(*) FROM data")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		stored := queryInt(t, db, "SELECT COUNT(*) FROM data") - before
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, resp.StatusCode, tc.status, b.String())
			continue
		}
		if tc.status == http.StatusOK {
			if stored != 1 {
				t.Errorf("%s: stored %d rows, want 1", tc.name, stored)
			}
			continue
		}
		if !strings.Contains(b.String(), tc.says) {
			t.Errorf("%s: answer %s does not say %s", tc.name, b.String(), tc.says)
		}
		if got := resp.Header.Get("Accept-Encoding"); got != "identity" {
			t.Errorf("%s: Accept-Encoding %q, want identity", tc.name, got)
		}
		if stored != 0 {
			t.Errorf("%s: refused, but stored %d rows", tc.name, stored)
		}
	}

	app.flush(t)
	logs := c.get(fmt.Sprintf("/integrations/%d/extraction-logs?result=415", id))
	expectStatus(t, logs, http.StatusOK)
	if n := strings.Count(logs.Body, "Content-Encoding"); n < 4 {
		t.Errorf("the Extraction Logs show %d refusals naming Content-Encoding, want 4", n)
	}
}

// Every method but GET, HEAD and POST on a webhook URL gets 405 with Allow, as the README says
// (OPTIONS, a browser's preflight, got the catch-all's 404 before).
func TestWebhookOtherMethodsGet405(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	_, hookURL := mustAdd(t, c, "incoming-webhooks", "Methods")
	for _, m := range []string{http.MethodOptions, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodTrace, "PROPFIND"} {
		a := postWebhook(t, http.DefaultClient, m, hookURL, "", nil)
		if a.Status != http.StatusMethodNotAllowed {
			t.Errorf("%s: status %d, want 405: %s", m, a.Status, a.Body)
			continue
		}
		if allow := a.Header.Get("Allow"); allow != "GET, HEAD, POST" {
			t.Errorf("%s: Allow %q, want GET, HEAD, POST", m, allow)
		}
		if msg, _ := a.JSON["error"].(string); !strings.Contains(msg, "POST") {
			t.Errorf("%s: error %q does not say to POST", m, msg)
		}
	}
}

// Mandrill's Test button posts mandrill_events=[] (a batch of no events): it gets 200 with 0
// records, or Mandrill reports the URL as failing; before, it got 400 "the array is empty".
// A JSON body [] stays a 400, and so does mandrill_events=[] to a source without the field.
func TestMandrillTestPostOfNoEventsIsAccepted(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	_, mandrillURL := mustAdd(t, c, "mandrill", "Mandrill")
	_, otherURL := mustAdd(t, c, "incoming-webhooks", "Other")
	form := "application/x-www-form-urlencoded"
	a := postWebhook(t, http.DefaultClient, http.MethodPost, mandrillURL, form, []byte("mandrill_events=%5B%5D"))
	if a.Status != http.StatusOK || a.JSON["records"] != 0.0 || a.JSON["rejected"] != 0.0 {
		t.Fatalf("Mandrill's test post: %d %s, want 200 with 0 records", a.Status, a.Body)
	}
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, mandrillURL, "application/json", []byte(`[]`)); a.Status != http.StatusBadRequest {
		t.Errorf("a JSON [] to Mandrill: %d %s, want 400", a.Status, a.Body)
	}
	a = postWebhook(t, http.DefaultClient, http.MethodPost, mandrillURL, form, fixture(t, "mandrill/events.form"))
	if a.Status != http.StatusOK || a.JSON["records"] != 2.0 {
		t.Fatalf("Mandrill's events after the test: %d %s", a.Status, a.Body)
	}
	if n := queryInt(t, warehouseDB(t, app, "mandrill"), "SELECT COUNT(*) FROM data"); n != 2 {
		t.Fatalf("mandrill.data has %d rows, want the 2 events only", n)
	}
	// Elsewhere the field is an ordinary form field, kept as text.
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, otherURL, form, []byte("mandrill_events=%5B%5D")); a.Status != http.StatusOK || a.JSON["records"] != 1.0 {
		t.Errorf("mandrill_events=[] to Incoming Webhooks: %d %s, want one record", a.Status, a.Body)
	}
}

// A POST to a path no route has (a webhook URL typed with /V1/, a stale link) is a 404, not the
// dashboard's "this form has expired" 403, which would send the sender looking for a form.
func TestPostToAnUnknownPathIs404(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	_, hookURL := mustAdd(t, c, "incoming-webhooks", "Paths")
	for _, u := range []string{strings.Replace(hookURL, "/v1/", "/V1/", 1), app.URL + "/no/such/page"} {
		a := postWebhook(t, http.DefaultClient, http.MethodPost, u, "application/json", []byte(`{"id":1}`))
		if a.Status != http.StatusNotFound {
			t.Errorf("POST %s: status %d, want 404: %.300s", redactToken(u), a.Status, a.Body)
		}
	}
}
