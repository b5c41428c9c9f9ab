package handlers

import (
	"strings"
	"testing"
)

// Only a local path survives as the post-login target; anything a browser could read as
// another host (after dropping tabs and newlines and turning backslashes into slashes) falls
// back to the Integrations page.
func TestSafeNext(t *testing.T) {
	const fallback = "/integrations"
	for next, want := range map[string]string{
		"/settings":                            "/settings",
		"/":                                    "/",
		"/integrations/3/data?table=data&pk=2": "/integrations/3/data?table=data&pk=2",
		"/login?next=%2Fsettings":              "/login?next=%2Fsettings",
		"/integrations/3/data/data/7~x_y-z.@!": "/integrations/3/data/data/7~x_y-z.@!",
		"/%2F/evil.example/":                   "/%2F/evil.example/", // a path segment: browsers do not decode it into a host
		"":                                     fallback,
		"settings":                             fallback,
		"//evil.example/":                      fallback,
		"///evil.example/":                     fallback,
		"/\\evil.example/":                     fallback,
		"/\\\\evil.example/":                   fallback,
		"\\\\evil.example/":                    fallback,
		"/\t/evil.example/":                    fallback,
		"/\n/evil.example/":                    fallback,
		"\n//evil.example/":                    fallback,
		"/\r\n/evil.example/":                  fallback,
		"/ /evil.example/":                     fallback,
		"/\u3000/evil.example/":                fallback, // ideographic space
		"/\x00/evil.example/":                  fallback,
		"/a\x7f":                               fallback,
		"https://evil.example/":                fallback,
		"http:evil.example":                    fallback,
		"javascript:alert(1)":                  fallback,
		"/%zz":                                 fallback, // not a valid escape
		"/settings#top":                        fallback,
		"/" + strings.Repeat("a", 3000):        fallback,
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%.60q) = %.60q, want %q", next, got, want)
		}
	}
}
