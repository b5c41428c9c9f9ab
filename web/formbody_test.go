package web_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
)

// Dashboard forms are small and urlencoded. A multipart post, even from a stranger to /login,
// is refused with 415 and leaves no file behind: before, net/http spooled its file part to a
// temporary file that nothing removed (the session middleware parsed a copy of the request), so
// each post kept its bytes on disk for good. A form over 1 MiB gets 413, and changes nothing.
func TestDashboardRefusesMultipartAndHugeForms(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where net/http spools multipart file parts
	app := newTestApp(t)
	c := app.signedInClient(t)

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("_csrf", "x")
	f, _ := mw.CreateFormFile("file", "big.bin")
	f.Write(bytes.Repeat([]byte{'z'}, 40<<20)) // beyond the 32 MB multipart parsing keeps in memory
	mw.Close()
	for _, path := range []string{"/login", "/integrations/new/vero"} {
		resp, err := http.Post(app.URL+path, mw.FormDataContentType(), bytes.NewReader(body.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		var page bytes.Buffer
		page.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnsupportedMediaType || !strings.Contains(page.String(), "application/x-www-form-urlencoded") {
			t.Errorf("multipart POST %s: %d, want 415 naming the form encoding: %.300s", path, resp.StatusCode, page.String())
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("multipart posts left %d files in the temporary folder, e.g. %s", len(left), left[0].Name())
	}

	// A urlencoded form over the bound: 413, and the integration it names is not made.
	c.get("/integrations/new/vero")
	huge := url.Values{"_csrf": {c.csrf}, "name": {"Huge"}, "pad": {strings.Repeat("p", 2<<20)}}
	p := c.postRaw("/integrations/new/vero", huge)
	if p.Status != http.StatusRequestEntityTooLarge || !strings.Contains(p.Body, "larger than 1 MiB") {
		t.Fatalf("a 2 MiB form: %d, want 413 saying the bound: %.300s", p.Status, p.Body)
	}
	if list := c.get("/integrations"); testID(list, "integration-row").Length() != 0 {
		t.Fatal("the refused form made an integration")
	}
	// Forms of ordinary size work as before.
	mustAdd(t, c, "vero", "Stitch Vero")
}

// A form or query holding bytes that are not UTF-8, or a NUL, is refused with 400 and changes
// nothing, on both metadata stores: PostgreSQL refused such text (a 500 for a search or an
// integration's name), and SQLite stored the name as it came.
func TestFormsAndQueriesOfNonTextAre400(t *testing.T) {
	onBothStores(t, func(t *testing.T, newApp func(testing.TB) *testApp) {
		c := newApp(t).signedInClient(t)
		for _, path := range []string{"/integrations?q=%ff", "/integrations?q=a%00b", "/integrations?status=%ff"} {
			p := c.get(path)
			if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "a NUL character or bytes that are not UTF-8") {
				t.Errorf("%s: %d %.300s", path, p.Status, p.Body)
			}
		}
		for _, name := range []string{"Vero \xff", "Vero\x00"} {
			p := addIntegration(t, c, "vero", url.Values{"name": {name}, "primary_key": {""}})
			if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "(in name)") {
				t.Errorf("add %q: %d %.300s", name, p.Status, p.Body)
			}
		}
		if n := testID(c.get("/integrations"), "integration-row").Length(); n != 0 {
			t.Errorf("%d integrations after the refused forms", n)
		}
	})
}
