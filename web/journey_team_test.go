package web_test

import (
	"os"
	"strings"
	"testing"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/hookhouse/hookhouse/store"
)

// acceptDialog answers the next confirm() of the page with OK and hands its message over.
func (b *browserSession) acceptDialog() <-chan string {
	dialogs := chromedp.Events(b.ctx, cdppage.JavascriptDialogOpening)
	confirmed := make(chan string, 1)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			confirmed <- ev.Message
			chromedp.Call(b.ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: true})
			return
		}
	}()
	return confirmed
}

// The owner invites a teammate, who joins from the copied link in another browser, sees the
// workspace's integrations, and is signed out at their next page once the owner removes them.
func TestJourneyInviteAndRemoveATeammate(t *testing.T) {
	app := newTestApp(t)
	owner := newBrowser(t, app)
	shots := os.Getenv("HOOKHOUSE_SCREENSHOTS")
	owner.setupOwner()
	if _, _, _, err := app.Store.CreateIntegration(t.Context(), store.NewIntegration{UserID: 1, Name: "Stitch Vero", Source: "vero", Schema: "stitch_vero"}); err != nil {
		t.Fatal(err)
	}

	owner.click(`nav a[href="/team"]`)
	owner.expectPath("/team")
	owner.fill("#email", mateEmail)
	owner.submit(`[data-testid="invite"]`)
	owner.expectPath("/team/invite-link?invite=1")
	shown := owner.text(`[data-testid="invite-link"]`)
	if !strings.HasPrefix(shown, app.URL+"/invite/") {
		t.Fatalf("the invite link is %q", shown)
	}
	owner.click(`[data-testid="copy-button"]`)
	owner.do("wait for Copied", chromedp.WaitVisible(chromedp.CSS(`[data-testid="copied"]`)))
	link := shown
	if clip, err := chromedp.Run(owner.ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise)); err != nil {
		t.Logf("clipboard not readable here (%v); the link's text is used instead", err)
	} else if link = strings.TrimSpace(clip); link != shown {
		t.Fatalf("clipboard holds %q, page shows %q", clip, shown)
	}
	if shots != "" {
		owner.screenshot(shots + "/invite-link.png")
	}
	owner.click(`[data-testid="continue"]`)
	owner.expectPath("/team")
	if got := owner.text(`[data-testid="invite-row"]`); !strings.Contains(got, mateEmail) {
		t.Fatalf("pending invites show %q", got)
	}

	// The teammate opens the link in a browser of their own and chooses a password.
	mate := owner.otherProfile()
	mate.do("open the invite link", chromedp.Navigate(link))
	if got := mate.text(`[data-testid="invite-email"]`); got != mateEmail {
		t.Fatalf("the invite page names %q", got)
	}
	mate.fill("#password", matePassword)
	mate.fill("#confirm_password", "not the same password")
	mate.submit(`[data-testid="accept-invite"]`)
	if got := mate.text(`[data-testid="error-confirm_password"]`); !strings.Contains(got, "do not match") {
		t.Fatalf("mismatched passwords show %q", got)
	}
	mate.fill("#password", matePassword)
	mate.fill("#confirm_password", matePassword)
	mate.submit(`[data-testid="accept-invite"]`)
	mate.expectPath("/integrations")
	if got := mate.text(`[data-testid="current-user"]`); got != mateEmail {
		t.Fatalf("the teammate's top bar shows %q", got)
	}
	if got := mate.text(`main`); !strings.Contains(got, "Stitch Vero") {
		t.Fatalf("the teammate does not see the workspace's integration: %q", got)
	}
	mate.click(`nav a[href="/team"]`)
	mate.expectPath("/team")
	if mate.exists(`[data-testid="remove-member"]`) || mate.exists(`form[action="/team/invites"]`) {
		t.Fatal("the teammate is offered the owner's actions")
	}

	// The owner removes them, confirming; the teammate's next page is the sign-in page.
	owner.navigate("/team")
	if shots != "" {
		owner.screenshot(shots + "/team.png")
	}
	confirmed := owner.acceptDialog()
	owner.submit(`tr[data-email="` + mateEmail + `"] [data-testid="remove-member"]`)
	owner.expectPath("/team")
	if msg := <-confirmed; !strings.Contains(msg, "Remove "+mateEmail) {
		t.Fatalf("confirmation asked %q", msg)
	}
	if got := owner.text(`[data-testid="flash"]`); !strings.Contains(got, mateEmail+" was removed") {
		t.Fatalf("after removing, the page says %q", got)
	}
	if owner.exists(`tr[data-email="` + mateEmail + `"]`) {
		t.Fatal("the removed teammate is still listed")
	}
	mate.click(`nav a[href="/integrations"]`)
	mate.expectPath("/login?next=%2Fintegrations")
	if got := mate.text(`[data-testid="flash"]`); !strings.Contains(got, "removed") {
		t.Fatalf("the removed teammate's sign-in page says %q", got)
	}

	// The link is spent.
	mate.do("open the invite link again", chromedp.Navigate(link))
	if got := mate.text(`[data-testid="invite-problem"]`); !strings.Contains(got, "already been used") {
		t.Fatalf("the used link says %q", got)
	}
}

// Changing the password keeps this browser signed in and signs out the other.
func TestJourneyChangePasswordEndsTheOtherSession(t *testing.T) {
	app := newTestApp(t)
	here := newBrowser(t, app)
	here.setupOwner()
	there := here.otherProfile()
	there.navigate("/integrations")
	there.expectPath("/login?next=%2Fintegrations")
	there.fill("#email", ownerEmail)
	there.fill("#password", ownerPassword)
	there.submit(`form[action="/login"] button[type="submit"]`)
	there.expectPath("/integrations")

	const newPassword = "a brand new password"
	here.click(`nav a[href="/team"]`)
	here.expectPath("/team")
	here.click(`[data-testid="change-password-link"]`)
	here.expectPath("/account/password")
	here.fill("#current_password", "not my password")
	here.fill("#new_password", newPassword)
	here.fill("#confirm_password", newPassword)
	here.submit(`[data-testid="change-password"]`)
	if got := here.text(`[data-testid="error-current_password"]`); !strings.Contains(got, "not your current password") {
		t.Fatalf("a wrong current password shows %q", got)
	}
	here.fill("#current_password", ownerPassword)
	here.fill("#new_password", newPassword)
	here.fill("#confirm_password", newPassword)
	here.submit(`[data-testid="change-password"]`)
	here.expectPath("/account/password")
	if got := here.text(`[data-testid="flash"]`); !strings.Contains(got, "other sessions were signed out") {
		t.Fatalf("after the change the page says %q", got)
	}
	here.click(`nav a[href="/integrations"]`)
	here.expectPath("/integrations")

	there.click(`nav a[href="/team"]`)
	there.expectPath("/login?next=%2Fteam")
	if got := there.text(`[data-testid="flash"]`); !strings.Contains(got, "password was changed") {
		t.Fatalf("the other session's sign-in page says %q", got)
	}
	there.fill("#email", ownerEmail)
	there.fill("#password", newPassword)
	there.submit(`form[action="/login"] button[type="submit"]`)
	there.expectPath("/team")
}
