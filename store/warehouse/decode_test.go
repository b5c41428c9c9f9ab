package warehouse

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestDecodeBody(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		formField   string
		want        []Record
	}{
		{"object", "application/json", `{"a":1}`, "", []Record{{"a": json.Number("1")}}},
		{"array", "application/json; charset=utf-8", `[{"a":"x"},{"b":true}]`, "", []Record{{"a": "x"}, {"b": true}}},
		{"vendor json", "application/vnd.api+json", `{"a":null}`, "", []Record{{"a": nil}}},
		{"no content type", "", " \n{\"a\":[1,2]}", "", []Record{{"a": []any{json.Number("1"), json.Number("2")}}}},
		{"int64 precision", "application/json", `{"n":9223372036854775807,"m":-9223372036854775808}`, "",
			[]Record{{"n": json.Number("9223372036854775807"), "m": json.Number("-9223372036854775808")}}},
		{"trailing whitespace", "application/json", "{\"a\":1}\r\n\t ", "", []Record{{"a": json.Number("1")}}},
		{"form", "application/x-www-form-urlencoded", "a=1&b=x+y&b=z&c=", "",
			[]Record{{"a": "1", "b": []any{"x y", "z"}, "c": ""}}},
		{"form field absent falls back to fields", "application/x-www-form-urlencoded", "a=1", "mandrill_events",
			[]Record{{"a": "1"}}},
		{"form field holding one object", "application/x-www-form-urlencoded", "events=%7B%22a%22%3A1%7D", "events",
			[]Record{{"a": json.Number("1")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeBody(tt.contentType, []byte(tt.body), tt.formField)
			if err != nil {
				t.Fatalf("DecodeBody: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestDecodeBodyMandrill(t *testing.T) {
	recs, err := DecodeBody("application/x-www-form-urlencoded", fixture(t, "mandrill/events.form"), "mandrill_events")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2", len(recs))
	}
	if recs[0]["event"] != "send" || recs[1]["event"] != "open" || recs[1]["ip"] != "127.0.0.1" {
		t.Errorf("unexpected records: %v", recs)
	}
	msg, ok := recs[0]["msg"].(map[string]any)
	if !ok || msg["subject"] != "This an example webhook message" || msg["ts"] != json.Number("1365109999") {
		t.Errorf("msg not decoded as an object: %#v", recs[0]["msg"])
	}
}

func TestDecodeBodyErrors(t *testing.T) {
	deep := strings.Repeat("[", 65) + strings.Repeat("]", 65)
	tests := []struct {
		name        string
		contentType string
		body        string
		formField   string
		want        string // the exact message of the *BodyError
		offset      int64
	}{
		{"empty", "application/json", "", "", "empty body", -1},
		{"blank", "application/json", "  \n", "", "empty body", -1},
		{"bad token", "application/json", `{"a":1,"b":}`, "", "invalid JSON at byte 11: invalid character '}' looking for beginning of value", 11},
		{"truncated", "application/json", `{"a":[1,2`, "", "invalid JSON at byte 9: unexpected end of input", 9},
		{"trailing data", "application/json", `{"a":1} {"b":2}`, "", "unexpected data after the JSON value at byte 8", 8},
		{"empty array", "application/json", `[]`, "", "the array is empty: no records", -1},
		{"array with a string", "application/json", `[{},{},{},"x"]`, "", "element 3 of the array is a string, not an object", -1},
		{"array with null", "application/json", `[null]`, "", "element 0 of the array is null, not an object", -1},
		{"array of arrays", "application/json", `[[{}]]`, "", "element 0 of the array is an array, not an object", -1},
		{"scalar", "application/json", `42`, "", "the JSON value is a number, not an object or an array of objects", -1},
		{"string", "", `"x"`, "", "", 0}, // no content type and not JSON-looking: 415, checked below
		{"too deep", "application/json", `{"a":` + deep + `}`, "", "JSON nested deeper than 64 levels at byte 68", 68},
		{"invalid utf-8", "application/json", "{\"a\":\"\xff\"}", "", "invalid UTF-8 at byte 6", 6},
		{"invalid utf-8 without content type", "", "[{\"\xc3\":1}]", "", "invalid UTF-8 at byte 3", 3},
		{"bad form escape", "application/x-www-form-urlencoded", "a=%zz", "", `invalid form body: invalid URL escape "%zz"`, -1},
		{"form invalid utf-8", "application/x-www-form-urlencoded", "a=%ff", "", `form field "a" is not valid UTF-8`, -1},
		{"form field not JSON", "application/x-www-form-urlencoded", "mandrill_events=nope", "mandrill_events",
			"form field mandrill_events: invalid JSON at byte 1: invalid character 'o' in literal null (expecting 'u')", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeBody(tt.contentType, []byte(tt.body), tt.formField)
			if tt.want == "" {
				if !errors.Is(err, ErrUnsupportedMediaType) {
					t.Fatalf("got %v, want ErrUnsupportedMediaType", err)
				}
				return
			}
			var be *BodyError
			if !errors.As(err, &be) {
				t.Fatalf("got %T %v, want *BodyError", err, err)
			}
			if be.Error() != tt.want {
				t.Errorf("message\n got %q\nwant %q", be.Error(), tt.want)
			}
			if be.Offset != tt.offset {
				t.Errorf("offset = %d, want %d", be.Offset, tt.offset)
			}
		})
	}
}

func TestDecodeBodyUnsupportedMediaType(t *testing.T) {
	for _, ct := range []string{"text/plain", "application/xml", "multipart/form-data; boundary=x", "not a type;;"} {
		_, err := DecodeBody(ct, []byte(`{"a":1}`), "")
		if !errors.Is(err, ErrUnsupportedMediaType) {
			t.Errorf("%q: got %v, want ErrUnsupportedMediaType", ct, err)
		}
	}
}

func FuzzDecodeBody(f *testing.F) {
	for _, rel := range fixtureNames() {
		ct := "application/json"
		if strings.HasSuffix(rel, ".form") {
			ct = "application/x-www-form-urlencoded"
		}
		f.Add(ct, fixture(f, rel))
	}
	f.Add("", []byte(`[{"a":[[1]]},{"b":{"c":null}}]`))
	f.Add("application/json", []byte(`{"a":1} x`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		recs, err := DecodeBody(contentType, body, "mandrill_events")
		if err != nil {
			var be *BodyError
			if !errors.As(err, &be) && !errors.Is(err, ErrUnsupportedMediaType) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			if recs != nil {
				t.Fatal("records returned with an error")
			}
			return
		}
		if len(recs) == 0 {
			t.Fatal("no records and no error")
		}
		for i, r := range recs {
			if r == nil {
				t.Fatalf("record %d is nil", i)
			}
		}
	})
}

// fixtureNames lists every shared fixture (fuzz seeds and load tests).
func fixtureNames() []string {
	return []string{
		"vero/sent.json", "vero/delivered.json", "vero/opened.json", "vero/clicked.json",
		"vero/bounced.json", "vero/unsubscribed.json", "vero/user_created.json", "vero/user_updated.json",
		"iterable/emailSend.json", "iterable/emailOpen.json", "iterable/emailClick.json", "iterable/emailBounce.json",
		"sendgrid/batch.json", "mandrill/events.form",
	}
}

// TestJSONSentAsAFormIsRefused: curl -d '{"id":1}' sends a form; loading it would make a
// column named after the whole body. The sender is told what to change instead.
func TestJSONSentAsAFormIsRefused(t *testing.T) {
	for _, body := range []string{`{"id":1}`, ` [{"id":1}]`} {
		_, err := DecodeBody("application/x-www-form-urlencoded", []byte(body), "")
		var be *BodyError
		if !errors.As(err, &be) || !strings.Contains(be.Msg, "Content-Type: application/json") {
			t.Errorf("%s as a form: %v, want a body error naming application/json", body, err)
		}
	}
	if recs, err := DecodeBody("application/x-www-form-urlencoded", []byte(`a=1&b=%7B`), ""); err != nil || recs[0]["b"] != "{" {
		t.Errorf("an ordinary form: %v %v", recs, err)
	}
}

// TestPerEventChecksAllocateNothing keeps two per-request checks free of allocations (SPEED.md,
// 2026-12-02): the usual Content-Type's kind, and a PostgreSQL load's refusal check of no error.
func TestPerEventChecksAllocateNothing(t *testing.T) {
	body := []byte(`{"a":1}`)
	if n := testing.AllocsPerRun(100, func() {
		if k, err := bodyKind("application/json", body); k != kindJSON || err != nil {
			t.Fatal(k, err)
		}
	}); n != 0 {
		t.Errorf("bodyKind(application/json): %v allocations, want 0", n)
	}
	d := &postgresDest{}
	if n := testing.AllocsPerRun(100, func() {
		if _, refused := d.refusal(nil); refused {
			t.Fatal("no error refused")
		}
	}); n != 0 {
		t.Errorf("refusal(nil): %v allocations, want 0", n)
	}
}

func TestRandomUUIDIsVersion4(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s := randomUUID()
		u, err := uuid.Parse(s)
		if err != nil || u.Version() != 4 || u.Variant() != uuid.RFC4122 || u.String() != s || seen[s] {
			t.Fatalf("randomUUID() = %q: version %v, variant %v, err %v, repeated %v", s, u.Version(), u.Variant(), err, seen[s])
		}
		seen[s] = true
	}
	if n := testing.AllocsPerRun(100, func() { randomUUID() }); n != 1 {
		t.Errorf("randomUUID: %v allocations, want 1 (its string)", n)
	}
}
