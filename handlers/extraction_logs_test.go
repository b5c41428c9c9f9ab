package handlers

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hookhouse/hookhouse/store"
)

func TestPrettyBody(t *testing.T) {
	for _, tc := range []struct {
		name, contentType, body, want, note string
	}{
		{"object", "application/json", `{"a":1,"b":[1,{"c":"x"}],"e":{},"f":[]}`,
			"{\n  \"a\": 1,\n  \"b\": [\n    1,\n    {\n      \"c\": \"x\"\n    }\n  ],\n  \"e\": {},\n  \"f\": []\n}", ""},
		{"brackets and quotes inside strings", "application/json; charset=utf-8", `{"s":"{[\",:]}\\"}`, "{\n  \"s\": \"{[\\\",:]}\\\\\"\n}", ""},
		{"invalid JSON as received", "application/json", `{"a":1,}`, `{"a":1,}`, ""},
		{"form as received", "application/x-www-form-urlencoded", `a=1&b=%7B%7D`, `a=1&b=%7B%7D`, ""},
		{"invalid UTF-8 replaced", "text/plain", "a\xffb", "a\uFFFDb", ""},
		{"empty", "application/json", "", "", "The request had no body."},
	} {
		got, note := prettyBody(tc.contentType, []byte(tc.body))
		if got != tc.want || note != tc.note {
			t.Errorf("%s: got %q (%q), want %q (%q)", tc.name, got, note, tc.want, tc.note)
		}
		if tc.note == "" && json.Valid([]byte(tc.body)) {
			var a, b any
			json.Unmarshal([]byte(tc.body), &a)
			json.Unmarshal([]byte(got), &b)
			if !jsonEqual(a, b) {
				t.Errorf("%s: pretty-printing changed the document", tc.name)
			}
		}
	}

	// 5,000 nested arrays would indent to ~50 MB; the cap keeps the raw body instead.
	deep := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	got, note := prettyBody("application/json", []byte(deep))
	if got != deep || note == "" {
		t.Fatalf("deeply nested body: %d bytes shown, note %q", len(got), note)
	}
}

// What the page says of a body kept whole, cut to its head, or not kept in a flood.
func TestLoggedBodyNotes(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    store.WebhookRequest
		note string
	}{
		{"kept whole", store.WebhookRequest{ContentType: "application/json", Bytes: 2, Body: []byte("{}")}, ""},
		{"cut to its head", store.WebhookRequest{ContentType: "text/plain", Bytes: 70000, Body: []byte("x"), BodyTruncated: true},
			"Only the first 64 KiB of the 70000 bytes are kept."},
		{"not kept in a flood", store.WebhookRequest{ContentType: "application/json", Bytes: 70000, BodyTruncated: true},
			"The body (70000 bytes) was not kept: it came in a flood of requests faster than the logs are written."},
	} {
		if _, note := loggedBody(tc.r); note != tc.note {
			t.Errorf("%s: note %q, want %q", tc.name, note, tc.note)
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
