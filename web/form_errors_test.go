package web_test

import (
	"net/http"
	"net/url"
	"testing"
)

// A field in error says so to assistive technology, points to its message and takes the
// focus; only the first field in error does, and a form without errors focuses its first field.
func TestFieldsInErrorPointToTheirMessage(t *testing.T) {
	app := newTestApp(t)
	c := app.signedInClient(t)
	id, _ := mustAdd(t, c, "vero", "Stitch Vero")

	for _, tc := range []struct {
		what     string
		p        response
		field    string   // the one with autofocus
		invalid  []string // fields marked aria-invalid
		detailed bool     // the custom schema's <details> is open
	}{
		{"new form", c.get("/integrations/new/incoming-webhooks"), "name", nil, false},
		{"empty name", addIntegration(t, c, "incoming-webhooks", url.Values{"name": {""}}), "name", []string{"name"}, false},
		{"taken schema from the name", addIntegration(t, c, "incoming-webhooks", url.Values{"name": {"Stitch Vero"}}), "schema", []string{"schema"}, true},
		{"bad schema and key", addIntegration(t, c, "incoming-webhooks", url.Values{"name": {"Orders"}, "schema": {"1orders"}, "primary_key": {"data.id"}}),
			"schema", []string{"schema", "primary_key"}, true},
		{"wrong delete confirmation", c.post("/integrations/"+itoa(id)+"/delete", url.Values{"confirm_schema": {"nope"}, "data": {"keep"}}),
			"confirm_schema", []string{"confirm_schema"}, false},
		{"empty rename", c.post("/integrations/"+itoa(id)+"/settings", url.Values{"name": {" "}}), "name", []string{"name"}, false},
	} {
		if tc.invalid != nil {
			expectStatus(t, tc.p, http.StatusUnprocessableEntity)
		}
		focused := tc.p.Doc.Find("[autofocus]")
		if focused.Length() != 1 || focused.AttrOr("id", "") != tc.field {
			t.Errorf("%s: %d fields autofocus, the first %q; want only %s", tc.what, focused.Length(), focused.AttrOr("id", ""), tc.field)
		}
		invalid := tc.p.Doc.Find(`[aria-invalid="true"]`)
		if invalid.Length() != len(tc.invalid) {
			t.Errorf("%s: %d fields marked invalid, want %v", tc.what, invalid.Length(), tc.invalid)
		}
		for _, f := range tc.invalid {
			field := tc.p.Doc.Find("#" + f)
			msg := tc.p.Doc.Find("#" + field.AttrOr("aria-describedby", "none"))
			if field.AttrOr("aria-invalid", "") != "true" || msg.Length() != 1 || msg.Text() == "" || msg.AttrOr("data-testid", "") != "error-"+f {
				t.Errorf("%s: #%s aria-invalid=%q describedby=%q (%q)", tc.what, f, field.AttrOr("aria-invalid", ""), field.AttrOr("aria-describedby", ""), msg.Text())
			}
		}
		if _, open := tc.p.Doc.Find("details.custom-schema").Attr("open"); tc.p.Doc.Find("details.custom-schema").Length() > 0 && open != tc.detailed {
			t.Errorf("%s: the custom schema is open: %v, want %v", tc.what, open, tc.detailed)
		}
	}
}
