package warehouse

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzJSONParserMatchesEncodingJSON holds the hand-written parser to encoding/json: for any
// valid UTF-8 input within the limits, both accept it or both refuse it, and what they accept
// decodes to equal values.
func FuzzJSONParserMatchesEncodingJSON(f *testing.F) {
	for _, rel := range fixtureNames() {
		f.Add(fixture(f, rel))
	}
	for _, s := range []string{
		`{"a":1,"a":2}`, `[1,-0,0.5,1e3,-2E-7,12.5e+2]`, `{"s":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}`,
		`"\ud800"`, `"\ud800\u0041"`, `"\udc00\ud800"`, `"\u12"`, `"\x"`, "\"\x01\"", `01`, `-`, `1.`, `1e`, `1e+`,
		`tru`, `nulL`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{1:2}`, `[1 2]`, ` {"é":"ü"} `, `{"a":[[[]]]}`, `{} x`, "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if !utf8.Valid(body) {
			return // decodeJSON refuses these before parsing
		}
		p := jsonParser{data: string(body)}
		got, err := p.value()
		if err == nil {
			if p.skipSpace(); p.pos < len(p.data) {
				err = errors.New("trailing data")
			}
		}
		var be *BodyError
		if errors.As(err, &be) && be.Msg[:4] != "inva" && be.Msg[:4] != "unex" {
			return // a limit (depth, rows), not a syntax error: encoding/json has none
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var want any
		wantErr := dec.Decode(&want)
		if wantErr == nil {
			var extra any
			if dec.Decode(&extra) != io.EOF {
				wantErr = errors.New("trailing data")
			}
		}
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: parser error %v, encoding/json error %v", body, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: parser gives %#v, encoding/json %#v", body, got, want)
		}
	})
}

// BenchmarkDecodeBody decodes a Vero event, as each webhook request does.
//
//	go test ./store/warehouse -run '^$' -bench DecodeBody
func BenchmarkDecodeBody(b *testing.B) {
	body := fixture(b, "vero/sent.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeBody("application/json", body, ""); err != nil {
			b.Fatal(err)
		}
	}
}
