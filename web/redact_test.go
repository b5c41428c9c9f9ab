package web

import (
	"fmt"
	"strings"
	"testing"
)

func TestRedactPath(t *testing.T) {
	const tok = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for in, want := range map[string]string{
		"/v1/clients/1/token/abc123":                   "/v1/clients/1/token/…",
		"/v1/clients/1/token/abc123/":                  "/v1/clients/1/token/…/",
		"/v1/clients/1/token/":                         "/v1/clients/1/token/",
		"/v1/clients/1/token/a/token/b":                "/v1/clients/1/token/…/token/…",
		"/integrations/3/settings":                     "/integrations/3/settings",
		"/v1/clients/1/token/abc?x=1":                  "/v1/clients/1/token/…?…",
		"/static/abc/icons/token/hookhouse.svg":        "/static/abc/icons/token/…",
		"/static/0123456789ab/app.css":                 "/static/0123456789ab/app.css",
		"/invite/0123abcd":                             "/invite/…",
		"/invite/0123abcd/x":                           "/invite/…/…",
		"/team/invites/3/revoke":                       "/team/invites/3/revoke",
		"/v1/clients/1/Token/" + tok:                   "/v1/clients/1/Token/…",
		"/v1/clients/1/TOKEN/" + tok:                   "/v1/clients/1/TOKEN/…",
		"/v1/clients/1/%74oken/" + tok:                 "/v1/clients/1/%74oken/…",
		"/v1/clients/1/token%2F" + tok:                 "/v1/clients/1/…",
		"/v1/clients/1//token/" + tok:                  "/v1/clients/1//token/…",
		"//v1/clients/1/token/" + tok:                  "//v1/clients/1/token/…",
		"/v1/clients/1/" + tok:                         "/v1/clients/1/…",
		"/v1/clients/" + tok:                           "/v1/clients/…",
		"/v1/clients/1/token/" + tok + "/extra":        "/v1/clients/1/token/…/…",
		"/V1/Clients/01/Token/" + tok:                  "/V1/Clients/01/Token/…",
		"/hooks/v1/clients/1/token/" + tok:             "/hooks/v1/clients/1/token/…",
		"/%76%31/clients/1/token/" + tok:               "/%76%31/clients/1/token/…",
		"/clients/1/token/" + tok:                      "/clients/1/token/…",
		"/clients/1/tokens/" + tok:                     "/clients/1/tokens/…",
		"/clients/1/token%2F" + tok:                    "/clients/1/…",
		"/Invite/" + tok:                               "/Invite/…",
		"/integrations/" + tok + "/settings":           "/integrations/…/settings",
		"/login?next=/invite/" + tok:                   "/login?…",
		"/v1/clients/1/token/" + tok + "?token=" + tok: "/v1/clients/1/token/…?…",
		"/integrations/" + encoded(tok) + "%":          "/integrations/…", // a stray %: the valid escapes still decode
		"/integrations/" + encoded(encoded(tok)):       "/integrations/…", // encoded twice
	} {
		if got := RedactPath(in); got != want {
			t.Errorf("RedactPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// encoded is s with every byte percent-encoded.
func encoded(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}
