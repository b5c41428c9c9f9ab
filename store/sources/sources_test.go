package sources

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hookhouse/hookhouse/store/signature"
)

func TestCatalogEntriesAreComplete(t *testing.T) {
	all := All()
	if len(all) < 4 {
		t.Fatalf("catalog has %d sources", len(all))
	}
	slug := regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	seen := map[string]bool{}
	for _, s := range all {
		if s.Name == "" || s.Description == "" || len(s.Steps) == 0 || !slug.MatchString(s.Slug) {
			t.Errorf("incomplete entry: %+v", s)
		}
		if seen[s.Slug] {
			t.Errorf("slug %s used twice", s.Slug)
		}
		seen[s.Slug] = true
		if !s.KeyEditable && s.PrimaryKey == "" {
			t.Errorf("%s: a fixed primary key must be named", s.Slug)
		}
		// Icons live in static/, which embeds itself; check the file is there.
		if _, err := os.Stat(filepath.Join("..", "..", "static", s.Icon)); err != nil {
			t.Errorf("%s: icon %s: %v", s.Slug, s.Icon, err)
		}
	}
	for _, want := range []string{"vero", "iterable", "mandrill", "incoming-webhooks"} {
		if !seen[want] {
			t.Errorf("catalog lacks %s", want)
		}
	}
}

func TestBySlug(t *testing.T) {
	m, ok := BySlug("mandrill")
	if !ok || m.FormEventsField != "mandrill_events" || !m.KeyEditable {
		t.Fatalf("mandrill: %+v %v", m, ok)
	}
	c, ok := BySlug("customerio")
	if !ok || c.PrimaryKey != "event_id" || c.KeyEditable {
		t.Fatalf("customerio: %+v %v", c, ok)
	}
	if _, ok := BySlug("nope"); ok {
		t.Fatal("unknown slug found")
	}
	// Callers cannot change the catalog through what they get back.
	m.Steps[0] = "changed"
	if again, _ := BySlug("mandrill"); again.Steps[0] == "changed" {
		t.Fatal("BySlug shares the catalog's slices")
	}
}

// A source's signing scheme is offered on its Settings: it must be one the form lists.
func TestSigningSchemesAreOffered(t *testing.T) {
	offered := map[string]bool{}
	for _, s := range signature.Schemes() {
		offered[string(s)] = true
	}
	for _, p := range signature.Presets() {
		offered["preset:"+p.Name] = true
	}
	for _, s := range All() {
		if s.Signing.Scheme != "" && !offered[s.Signing.Scheme] {
			t.Errorf("%s signs with %q, which the Settings form does not offer", s.Slug, s.Signing.Scheme)
		}
	}
}
