package warehouse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strings"
	"unicode/utf8"
)

// MaxDepth bounds how deeply a webhook body may nest objects and arrays.
// Real payloads stay under 10 levels; the limit keeps hostile input from
// costing deep recursion when parsing and flattening.
const MaxDepth = 64

// MaxRows bounds the array elements of one body (records of a top-level array
// and subtable rows): a 20 MiB body of a million tiny objects would otherwise
// cost a gigabyte of memory and seconds of its schema's writer.
const MaxRows = 100_000

// ErrUnsupportedMediaType is wrapped by DecodeBody for content types it does
// not decode (the caller answers 415).
var ErrUnsupportedMediaType = errors.New("unsupported media type")

// BodyError says what is wrong with a request body and where (the caller
// answers 400 with Error()).
type BodyError struct {
	Msg    string
	Offset int64 // byte offset of the problem in the body (or in the form field), -1 if none
}

func (e *BodyError) Error() string { return e.Msg }

func bodyErrorf(offset int64, format string, args ...any) *BodyError {
	return &BodyError{Msg: fmt.Sprintf(format, args...), Offset: offset}
}

// DecodeBody turns a webhook request body into records.
//
// JSON (application/json, */*+json, or no content type and a body starting
// with '{' or '['): an object is one record, an array of objects one record
// each. Forms (application/x-www-form-urlencoded): the fields are one record,
// unless formField names a field that is present: its value is then JSON
// (Mandrill's mandrill_events) decoded as above. Numbers stay json.Number.
func DecodeBody(contentType string, body []byte, formField string) ([]Record, error) {
	kind, err := bodyKind(contentType, body)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, bodyErrorf(-1, "empty body")
	}
	if kind == kindForm {
		return decodeForm(body, formField)
	}
	return decodeJSON(body, new(int))
}

type bodyFormat int

const (
	kindJSON bodyFormat = iota
	kindForm
)

func bodyKind(contentType string, body []byte) (bodyFormat, error) {
	if strings.TrimSpace(contentType) == "" {
		trimmed := bytes.TrimLeft(body, " \t\r\n")
		if len(trimmed) == 0 || trimmed[0] == '{' || trimmed[0] == '[' {
			return kindJSON, nil
		}
		return 0, fmt.Errorf("%w: no content type and the body is not JSON", ErrUnsupportedMediaType)
	}
	if contentType == "application/json" {
		return kindJSON, nil // most senders' exact header; ParseMediaType allocates its parameters' map
	}
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return 0, fmt.Errorf("%w: %q", ErrUnsupportedMediaType, contentType)
	}
	switch {
	case mediaType == "application/json", strings.HasSuffix(mediaType, "+json"):
		return kindJSON, nil
	case mediaType == "application/x-www-form-urlencoded":
		return kindForm, nil
	}
	return 0, fmt.Errorf("%w: %s", ErrUnsupportedMediaType, mediaType)
}

// decodeJSON decodes one JSON body; rows counts the array elements of the request so far, so
// that a form's several packed values share one MaxRows.
func decodeJSON(body []byte, rows *int) ([]Record, error) {
	if !utf8.Valid(body) {
		return nil, bodyErrorf(invalidUTF8Offset(body), "invalid UTF-8 at byte %d", invalidUTF8Offset(body))
	}
	p := jsonParser{data: string(body), rows: *rows}
	v, err := p.value()
	*rows = p.rows
	if err != nil {
		return nil, err
	}
	if p.skipSpace(); p.pos < len(p.data) {
		return nil, bodyErrorf(int64(p.pos), "unexpected data after the JSON value at byte %d", p.pos)
	}
	switch v := v.(type) {
	case map[string]any:
		return []Record{v}, nil
	case []any:
		if len(v) == 0 {
			return nil, bodyErrorf(-1, "the array is empty: no records")
		}
		records := make([]Record, len(v))
		for i, e := range v {
			obj, ok := e.(map[string]any)
			if !ok {
				return nil, bodyErrorf(-1, "element %d of the array is %s, not an object", i, jsonKind(e))
			}
			records[i] = obj
		}
		return records, nil
	default:
		return nil, bodyErrorf(-1, "the JSON value is %s, not an object or an array of objects", jsonKind(v))
	}
}

func invalidUTF8Offset(b []byte) int64 {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return int64(i)
		}
		i += size
	}
	return -1
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}

func decodeForm(body []byte, formField string) ([]Record, error) {
	// curl -d sends JSON as a form unless told otherwise; as a form it would load as one field
	// named after the whole body.
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		return nil, bodyErrorf(-1, "the body is JSON but was sent as a form (Content-Type: application/x-www-form-urlencoded); send it with Content-Type: application/json")
	}
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, bodyErrorf(-1, "invalid form body: %s", err.Error())
	}
	if formField != "" {
		if packed, ok := values[formField]; ok {
			var records []Record
			rows := 0
			for _, v := range packed {
				if strings.TrimSpace(v) == "[]" {
					// Mandrill's Test button posts mandrill_events=[]: a batch of no events,
					// answered 200 with 0 records, or the provider's own check fails.
					continue
				}
				recs, err := decodeJSON([]byte(v), &rows)
				if err != nil {
					var be *BodyError
					if errors.As(err, &be) {
						return nil, &BodyError{Msg: "form field " + formField + ": " + be.Msg, Offset: be.Offset}
					}
					return nil, err
				}
				records = append(records, recs...)
			}
			return records, nil
		}
	}
	record := make(Record, len(values))
	for k, vs := range values {
		if !utf8.ValidString(k) {
			return nil, bodyErrorf(-1, "form field name %q is not valid UTF-8", k)
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return nil, bodyErrorf(-1, "form field %q is not valid UTF-8", k)
			}
		}
		if len(vs) == 1 {
			record[k] = vs[0]
			continue
		}
		list := make([]any, len(vs))
		for i, v := range vs {
			list[i] = v
		}
		record[k] = list
	}
	if len(record) == 0 {
		return nil, bodyErrorf(-1, "the form has no fields")
	}
	return []Record{record}, nil
}
