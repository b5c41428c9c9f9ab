package web_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/hookhouse/hookhouse/store/warehouse"
	"github.com/hookhouse/hookhouse/web"
)

// A newcomer mistypes a webhook URL (POST /v1/clients/1/Token/<token> got a 404 whose log
// line carried the token): however the path is spelled, encoded or extended, and whatever the
// query holds, the log shows no token, at the level that logs every request.
func TestNoSpellingOfAWebhookURLPutsItsTokenInTheLog(t *testing.T) {
	app := newTestAppLogging(t, slog.LevelDebug, warehouse.Options{}, web.Config{})
	owner := app.signedInClient(t)
	id, hookURL := mustAdd(t, owner, "vero", "Stitch Vero")
	token := tokenOf(t, hookURL)
	var encoded strings.Builder // every character of the token percent-encoded
	for i := range len(token) {
		fmt.Fprintf(&encoded, "%%%02X", token[i])
	}
	hook := fmt.Sprintf("/v1/clients/%d", id)
	paths := []string{
		hook + "/token/" + token, // the right URL
		hook + "/Token/" + token,
		hook + "/TOKEN/" + token,
		hook + "/Token/" + strings.ToUpper(token),
		hook + "/%74oken/" + token,
		hook + "/%54OKEN/" + token,
		hook + "/token%2F" + token,
		hook + "/token%2f" + token,
		hook + "//token/" + token,
		"/" + hook + "/token/" + token,
		hook + "/token//" + token,
		hook + "/token/" + token + "/",
		hook + "/token/" + token + "/events",
		hook + "/token/" + token + "%3Fx=1",
		hook + "/token/" + encoded.String(),
		hook + "/" + token,
		"/v1/clients/" + token,
		"/v1/" + token,
		"/V1/clients/1/token/" + token,
		"/%76%31/clients/1/token/" + token,
		"/hooks" + hook + "/token/" + token,
		"/clients/1/token/" + token,
		hook + "/tokens/" + token,
		hook + "/token?token=" + token,
		hook + "/token/" + token + "?token=" + token,
		"/Invite/" + token,
		"/INVITE/" + token + "/accept",
		"/integrations/" + token,
		"/" + token,
	}
	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	before := strings.Count(app.Logs.String(), "msg=request ")
	for _, method := range []string{http.MethodPost, http.MethodGet} {
		for _, path := range paths {
			postWebhook(t, noRedirects, method, app.URL+path, "application/json", []byte(`{"type":"sent"}`))
		}
	}
	logs := app.Logs.String()
	if got, want := strings.Count(logs, "msg=request ")-before, 2*len(paths); got < want {
		t.Fatalf("%d access-log lines for %d requests:\n%s", got, want, logs)
	}
	for _, leak := range []string{token[:16], token[24:40], token[48:], strings.ToUpper(token[:16]), encoded.String()[:48]} {
		if strings.Contains(logs, leak) {
			for _, line := range strings.Split(logs, "\n") {
				if strings.Contains(line, leak) {
					t.Errorf("the token is in the log: %s", line)
				}
			}
		}
	}
	for _, want := range []string{
		"method=POST path=" + hook + "/token/… status=200",
		"method=POST path=" + hook + "/Token/… status=404",
		"method=POST path=/Invite/… status=",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log has no %q:\n%s", want, logs)
		}
	}
}
