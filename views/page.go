// Package views holds hookhouse's templ components. They render plain values and never query.
package views

import "strconv"

// Page is what every page needs besides its own content.
type Page struct {
	Title string
	User  string // the signed-in user's email; empty on pages for anonymous visitors
	CSRF  string // the token every form posts back as _csrf
	Flash string // a one-time message from the previous action
	Nav   string // which navigation entry is current: "integrations" or "settings"
}

func current(p Page, nav string) string {
	if p.Nav == nav {
		return "page"
	}
	return "false"
}

func itoa(n int) string { return strconv.Itoa(n) }
