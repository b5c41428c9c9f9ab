package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// The Data page's list of tables has no empty cell: data_latest has data's columns (listed
// when it is the table shown), _sdc_rejected has its four, and what the catalog does not know
// (when _sdc_rejected was made) is a dash that says why (the Columns and Created cells were
// empty).
func TestDataPageTablesListHasNoEmptyCell(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	id, hook := mustAddKeyed(t, c, "incoming-webhooks", "Orders", "id")
	body := `[{"id": 1, "type": "sent"}, {"id": 2, "type": "sent", "big": 92233720368547758070}]`
	if a := postWebhook(t, http.DefaultClient, http.MethodPost, hook, "application/json", []byte(body)); a.Status != http.StatusOK {
		t.Fatalf("webhook: %d %s", a.Status, a.Body)
	}
	app.flush(t)
	row := func(p response, table string) *goquery.Selection {
		return p.Doc.Find(`[data-testid="table-row"][data-table="` + table + `"]`)
	}
	cell := func(p response, table, id string) string {
		return strings.Join(strings.Fields(row(p, table).Find(`[data-testid="`+id+`"]`).First().Text()), " ")
	}
	for _, path := range []string{"/data", "/data?table=data_latest"} {
		p := c.get(fmt.Sprintf("/integrations/%d%s", id, path))
		expectStatus(t, p, http.StatusOK)
		testID(p, "table-row").Each(func(_ int, r *goquery.Selection) {
			r.ChildrenFiltered("td").Each(func(i int, td *goquery.Selection) {
				if strings.TrimSpace(td.Text()) == "" {
					t.Errorf("%s: %s's cell %d is empty", path, r.AttrOr("data-table", "?"), i+1)
				}
			})
		})
		testID(p, "unknown").Each(func(_ int, s *goquery.Selection) {
			if s.AttrOr("title", "") == "" {
				t.Errorf("%s: a dash without a title saying why", path)
			}
		})
		if got := cell(p, "_sdc_rejected", "table-columns"); got != "4 columns" {
			t.Errorf("%s: _sdc_rejected's columns %q, want 4 columns", path, got)
		}
		if title := row(p, "_sdc_rejected").Find(`[data-testid="table-created"] [data-testid="unknown"]`).AttrOr("title", ""); !strings.Contains(title, "catalog") {
			t.Errorf("%s: _sdc_rejected's Created cell %q, title %q: want a dash saying the catalog has no time", path, cell(p, "_sdc_rejected", "table-created"), title)
		}
	}

	// On data's page data lists its columns and data_latest counts the same; on data_latest's
	// page it is the other way round.
	dataPage := c.get(fmt.Sprintf("/integrations/%d/data", id))
	n := row(dataPage, "data").Find(`[data-testid="column"]`).Length()
	if n == 0 {
		t.Fatal("data lists no columns on its page")
	}
	want := fmt.Sprintf("%d columns", n)
	if got := cell(dataPage, "data_latest", "table-columns"); got != want {
		t.Errorf("data_latest's columns on data's page: %q, want %q", got, want)
	}
	latest := c.get(fmt.Sprintf("/integrations/%d/data?table=data_latest", id))
	if got := row(latest, "data_latest").Find(`[data-testid="column"]`).Length(); got != n {
		t.Errorf("data_latest's page lists %d of its columns, want data's %d", got, n)
	}
	if got := cell(latest, "data", "table-columns"); got != want {
		t.Errorf("data's columns on data_latest's page: %q, want %q", got, want)
	}
}

// The HMAC fieldset (header, hash, encoding, prefix) is hidden unless the form's scheme is
// HMAC: for the saved scheme, and for the one chosen when the form comes back with an error
// (so that without JavaScript choosing HMAC and saving shows its fields).
func TestSigningFormShowsHMACFieldsOnlyForHMAC(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	id, _ := mustAdd(t, c, "incoming-webhooks", "Signed")
	settings := fmt.Sprintf("/integrations/%d/settings", id)
	hidden := func(what string, p response, want bool) {
		t.Helper()
		f := testID(p, "hmac-fields")
		if f.Length() != 1 || f.Find("#hmac-header").Length() != 1 {
			t.Fatalf("%s: the HMAC fieldset is not on the page", what)
		}
		if _, got := f.Attr("hidden"); got != want {
			t.Errorf("%s: the HMAC fields hidden=%v, want %v", what, got, want)
		}
	}
	hidden("no verification", c.get(settings), true)

	p := saveSigning(t, c, id, url.Values{"scheme": {"hmac"}, "hash": {"sha256"}, "encoding": {"hex"}, "secret": {"s"}})
	expectStatus(t, p, http.StatusUnprocessableEntity)
	hidden("HMAC chosen without its header", p, false)

	mustSaveSigning(t, c, id, url.Values{"scheme": {"hmac"}, "header": {"X-Signature"}, "hash": {"sha256"}, "encoding": {"hex"}, "secret": {"s3cret"}})
	p = c.get(settings)
	hidden("HMAC saved", p, false)
	if got := testID(p, "hmac-fields").Find("#hmac-header").AttrOr("value", ""); got != "X-Signature" {
		t.Errorf("the saved header: %q", got)
	}

	mustSaveSigning(t, c, id, url.Values{"scheme": {"stripe"}, "secret": {"whsec_test_secret"}})
	hidden("Stripe saved", c.get(settings), true)
}
