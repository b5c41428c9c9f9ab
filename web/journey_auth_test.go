package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
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

// A sign-in link whose next= points elsewhere must leave the browser on hookhouse, however the
// other host is disguised: browsers drop tabs and newlines from a URL and read "\" as "/".
func TestJourneySignInNeverLeavesForAnotherHost(t *testing.T) {
	app := newTestApp(t)
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<!doctype html><title>elsewhere</title><p>another host</p>")
	}))
	defer elsewhere.Close()
	ours, _ := url.Parse(app.URL)
	host := strings.TrimPrefix(elsewhere.URL, "http://")
	b := newBrowser(t, app)
	b.setupOwner()
	signOut := func() {
		b.do("clear cookies", func(ctx context.Context, _ *chromedp.Target) (chromedp.Void, error) {
			_, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{})
			return chromedp.Void{}, err
		})
	}
	// landsHere waits for the browser to leave the sign-in page and fails if it is not on ours.
	landsHere := func(what string) {
		t.Helper()
		deadline := time.Now().Add(actionTimeout)
		for {
			loc := b.location()
			u, err := url.Parse(loc)
			if err == nil && u.Host != "" && u.Host != ours.Host {
				t.Errorf("%s: the browser went to %s", what, loc)
				return
			}
			if err == nil && u.Host == ours.Host && u.Path != "/login" {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%s: the browser is still at %s", what, loc)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	signOut()
	// Each next= as an attacker would write it in a link's query string.
	for _, next := range []string{
		"/%09/" + host + "/",
		"/\t/" + host + "/",
		"/%5C" + host + "/",
		"/%5C%5C" + host + "/",
		"%5C%5C" + host + "/",
		"//" + host + "/",
		"%2F%2F" + host + "/",
		"///" + host + "/",
		"https://" + host + "/",
		"http://" + host + "/",
		"/%2F/" + host + "/",
		"/%20/" + host + "/",
		"/ /" + host + "/",
		"%0A//" + host + "/",
		"/%0A/" + host + "/",
		"/%0D%0A/" + host + "/",
		"/%E3%80%80/" + host + "/",
		"javascript:alert(1)",
	} {
		what := fmt.Sprintf("next=%q", next)
		b.do("open the sign-in link with "+what, chromedp.Navigate(app.URL+"/login?next="+next))
		b.fill("#email", ownerEmail)
		b.fill("#password", ownerPassword)
		b.click(`form[action="/login"] button[type="submit"]`) // no wait for the load: it may be elsewhere
		landsHere("signing in with " + what)
		// Already signed in, the sign-in page redirects to next straight away.
		b.do("open the sign-in link again with "+what, chromedp.Navigate(app.URL+"/login?next="+next))
		landsHere("opening it signed in, " + what)
		signOut()
	}
}
