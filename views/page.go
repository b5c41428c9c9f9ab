// Package views holds hookhouse's templ components. They render plain values and never query.
package views

import "strconv"

// Page is what every page needs besides its own content.
type Page struct {
	Title string
	User  string // the signed-in user's email; empty on pages for anonymous visitors
	CSRF  string // the token every form posts back as _csrf
	Flash string // a one-time message from the previous action
	Nav   string // which navigation entry is current: "integrations", "account" or "team"
	// WarehouseProblem says why the warehouse cannot be written, while it cannot.
	WarehouseProblem string
}

func current(p Page, nav string) string {
	if p.Nav == nav {
		return "page"
	}
	return "false"
}

func itoa(n int) string { return strconv.Itoa(n) }

// count shows a number of things with thousands grouped, as counts read best: 1,234,567.
func count[N int | int64](n N) string {
	s := strconv.FormatInt(int64(n), 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	var b []byte
	if neg {
		b = append(b, '-')
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	return string(b)
}

// countOf is n with the noun that agrees with it: "1 record", "2 records".
func countOf[N int | int64](n N, one, many string) string {
	if n == 1 {
		return count(n) + " " + one
	}
	return count(n) + " " + many
}
