package web

import "testing"

func TestRedactPath(t *testing.T) {
	for in, want := range map[string]string{
		"/v1/clients/1/token/abc123":            "/v1/clients/1/token/…",
		"/v1/clients/1/token/abc123/":           "/v1/clients/1/token/…/",
		"/v1/clients/1/token/":                  "/v1/clients/1/token/…",
		"/v1/clients/1/token/a/token/b":         "/v1/clients/1/token/…/token/…",
		"/integrations/3/settings":              "/integrations/3/settings",
		"/v1/clients/1/token/abc?x=1":           "/v1/clients/1/token/…",
		"/static/abc/icons/token/hookhouse.svg": "/static/abc/icons/token/…",
		"/invite/0123abcd":                      "/invite/…",
		"/invite/0123abcd/x":                    "/invite/…/x",
		"/team/invites/3/revoke":                "/team/invites/3/revoke",
	} {
		if got := RedactPath(in); got != want {
			t.Errorf("RedactPath(%q) = %q, want %q", in, got, want)
		}
	}
}
