package web_test

import (
	"os"
	"strings"
	"testing"
)

// A new user's first minutes: create the owner, sign out, sign in, find the empty
// Integrations page that says what to do next.
func TestJourneyFirstRunSignOutSignIn(t *testing.T) {
	app := newTestApp(t)
	b := newBrowser(t, app)

	b.setupOwner()
	if got := b.text(`[data-testid="current-user"]`); got != ownerEmail {
		t.Fatalf("top bar shows %q, want %q", got, ownerEmail)
	}
	if got := b.text(`[data-testid="integrations-empty"]`); !strings.Contains(got, "No integrations yet") {
		t.Fatalf("empty Integrations page says %q", got)
	}
	if dir := os.Getenv("HOOKHOUSE_SCREENSHOTS"); dir != "" {
		b.screenshot(dir + "/integrations.png")
	}

	b.submit(`[data-testid="logout"]`)
	b.expectPath("/login")
	if got := b.text(`[data-testid="flash"]`); !strings.Contains(got, "signed out") {
		t.Fatalf("after logout the page says %q", got)
	}
	b.navigate("/account")
	b.expectPath("/login?next=%2Faccount")

	b.fill("#email", ownerEmail)
	b.fill("#password", "not the password")
	b.submit(`form[action="/login"] button[type="submit"]`)
	if got := b.text(`[data-testid="form-error"]`); !strings.Contains(got, "do not match") {
		t.Fatalf("wrong password shows %q", got)
	}

	b.fill("#password", ownerPassword)
	b.submit(`form[action="/login"] button[type="submit"]`)
	b.expectPath("/account")
	if got := b.text(`[data-testid="account-email"]`); got != ownerEmail {
		t.Fatalf("account shows %q", got)
	}
	b.click(`nav a[href="/integrations"]`)
	b.expectPath("/integrations")
}
