// Package sources is the catalog of webhook sources an integration can be added for. The
// catalog is data (sources.json); this package only loads and looks it up.
package sources

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

// Source is one catalog entry.
type Source struct {
	Name        string   `json:"name"`
	Slug        string   `json:"slug"`
	Description string   `json:"description"` // one line for the catalog tile
	Icon        string   `json:"icon"`        // path under static/, e.g. icons/vero.svg
	Steps       []string `json:"steps"`       // what to do on the provider's side, in order
	// PrimaryKey is the top-level field that identifies an event when the provider has a
	// stable one (Customer.io: event_id); empty otherwise.
	PrimaryKey string `json:"primary_key"`
	// KeyEditable lets the user choose the primary key (Incoming Webhooks and sources
	// without a fixed key); otherwise PrimaryKey is shown read-only.
	KeyEditable bool `json:"key_editable"`
	// EventField is the top-level field the provider's events name their type with (Iterable:
	// eventName), which the copy-once page's test event fills: a test event with another one
	// would add a column its events never fill, and as type it would take the Data page's
	// filter from theirs. Empty: type, as for Incoming Webhooks.
	EventField string `json:"event_field,omitempty"`
	// FormEventsField names the form field holding a JSON array of events, for providers
	// that post form-encoded bodies (Mandrill: mandrill_events); empty for JSON bodies.
	FormEventsField string `json:"form_events_field,omitempty"`
	// Signing is how the provider proves a delivery is its own, and where it shows the secret.
	Signing Signing `json:"signing"`
}

// Signing is a source's way of signing deliveries.
type Signing struct {
	// Scheme is the signature.Scheme (or "preset:<name>") the provider signs with; "" when it
	// does not sign.
	Scheme string `json:"scheme,omitempty"`
	Where  string `json:"where"` // where the provider shows its secret, and what to do there
}

//go:embed sources.json
var catalogJSON []byte

// catalog is parsed once; it is read-only data, so sharing it is safe.
var catalog = mustParse(catalogJSON)

func mustParse(b []byte) []Source {
	var list []Source
	if err := json.Unmarshal(b, &list); err != nil {
		panic(fmt.Sprintf("sources.json: %v", err))
	}
	return list
}

// All returns the catalog in display order.
func All() []Source {
	out := make([]Source, len(catalog))
	for i, s := range catalog {
		s.Steps = append([]string(nil), s.Steps...)
		out[i] = s
	}
	return out
}

// BySlug returns the source with the given slug.
func BySlug(slug string) (Source, bool) {
	for _, s := range catalog {
		if s.Slug == slug {
			s.Steps = append([]string(nil), s.Steps...)
			return s, true
		}
	}
	return Source{}, false
}

// FormEventsField is the FormEventsField of the source with the given slug, or "": what the
// webhook path needs of it per request, without BySlug's copy of the steps.
func FormEventsField(slug string) string {
	for _, s := range catalog {
		if s.Slug == slug {
			return s.FormEventsField
		}
	}
	return ""
}
