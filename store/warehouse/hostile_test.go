package warehouse

import (
	"errors"
	"strings"
	"testing"
)

func TestParserCountsArrayElements(t *testing.T) {
	for _, tc := range []struct {
		body     string
		elements int
	}{
		{`{}`, 0},
		{`[]`, 0},
		{`[{}]`, 1},
		{`[{}, {} ,{}]`, 3},
		{`{"a":[1,2,3],"b":{"c":[]}}`, 3},
		{`[{"a":[[1,2],[3]]}]`, 1 + 2 + 3},
		{`{"s":"[1,2,3]","t":"\"[,,]\""}`, 0},
		{`[ "a,b" , "c" ]`, 2},
		{`{"a":[true,false,null]}`, 3},
	} {
		p := jsonParser{data: tc.body}
		if _, err := p.value(); err != nil || p.rows != tc.elements {
			t.Errorf("parsing %s counted %d array elements (err %v); want %d", tc.body, p.rows, err, tc.elements)
		}
	}
}

// Every body with more than MaxRows array elements is refused.
func TestDecodeBodyBoundsRows(t *testing.T) {
	ok := "[" + strings.Repeat(`{},`, MaxRows-1) + "{}]"
	recs, err := DecodeBody("application/json", []byte(ok), "")
	if err != nil || len(recs) != MaxRows {
		t.Fatalf("%d records: %d, %v", MaxRows, len(recs), err)
	}
	for name, body := range map[string]string{
		"records":          "[" + strings.Repeat(`{},`, MaxRows) + "{}]",
		"array elements":   `{"a":[` + strings.Repeat(`1,`, MaxRows) + `1]}`,
		"nested arrays":    `[{"a":[` + strings.Repeat(`[],`, MaxRows/2) + `[]]}, {"b":[` + strings.Repeat(`0,`, MaxRows/2) + `0]}]`,
		"form-packed JSON": "mandrill_events=[" + strings.Repeat(`{},`, MaxRows) + "{}]",
	} {
		ct := "application/json"
		if strings.HasPrefix(body, "mandrill") {
			ct = "application/x-www-form-urlencoded"
		}
		_, err := DecodeBody(ct, []byte(body), "mandrill_events")
		var be *BodyError
		if !errors.As(err, &be) || !strings.Contains(be.Msg, "more than the 100000") {
			t.Errorf("%s beyond MaxRows: %v", name, err)
		}
	}
}
