package warehouse

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// colType is a column's Stitch type. The plain column of a field holds the
// first type seen; each later type gets its own suffixed column.
type colType uint8

const (
	typeInteger colType = iota + 1
	typeFloat
	typeBoolean
	typeString
	typeTimestamp
)

func (t colType) String() string {
	switch t {
	case typeInteger:
		return "integer"
	case typeFloat:
		return "float"
	case typeBoolean:
		return "boolean"
	case typeString:
		return "string"
	case typeTimestamp:
		return "timestamp"
	}
	return "unknown"
}

// suffix names the column a value of this type goes to when the field's
// plain column has another type, as Stitch does for PostgreSQL.
func (t colType) suffix() string {
	switch t {
	case typeInteger:
		return "__bi"
	case typeFloat:
		return "__do" // Stitch's PostgreSQL suffix of double precision (files before 2026-12 have __fl)
	case typeBoolean:
		return "__bo"
	case typeTimestamp:
		return "__ti"
	}
	return "__st"
}

func parseColType(s string) (colType, error) {
	for t := typeInteger; t <= typeTimestamp; t++ {
		if t.String() == s {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown column type %q", s)
}

// timestampLayout sorts as text and is understood by SQLite's date functions.
const timestampLayout = "2006-01-02T15:04:05.000000Z"

// formatTimestamp writes t in timestampLayout. It runs for every request (its _sdc_received_at),
// every batch and every timestamp value, so it is written by hand: time.Format was nearly 1% of
// the server's CPU at webhook rates.
func formatTimestamp(t time.Time) string {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 { // the layout's four digits do not fit
		return t.Format(timestampLayout)
	}
	hour, minute, second := t.Clock()
	var b [len(timestampLayout)]byte
	digits := func(at, width, v int) {
		for i := at + width - 1; i >= at; i-- {
			b[i] = byte('0' + v%10)
			v /= 10
		}
	}
	digits(0, 4, year)
	digits(5, 2, int(month))
	digits(8, 2, day)
	digits(11, 2, hour)
	digits(14, 2, minute)
	digits(17, 2, second)
	digits(20, 6, t.Nanosecond()/1000)
	b[4], b[7], b[10], b[13], b[16], b[19], b[26] = '-', '-', 'T', ':', ':', '.', 'Z'
	return string(b[:])
}

// scalar converts a decoded JSON scalar to its column type and SQL value.
// detectTime is false for the primary key, whose text must stay as sent.
// A non-nil error is the reason the record is rejected.
func scalar(v any, detectTime bool) (colType, any, error) {
	// Values that keep their type are returned as v itself: boxing them again would allocate.
	switch x := v.(type) {
	case string:
		if strings.IndexByte(x, 0) >= 0 {
			return 0, nil, errNUL
		}
		if detectTime {
			if ts, ok := parseTimestamp(x); ok {
				return typeTimestamp, ts, nil
			}
		}
		return typeString, v, nil
	case json.Number:
		return number(string(x))
	case bool:
		return typeBoolean, v, nil // SQLite stores it as 1 or 0
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, nil, fmt.Errorf("number %v cannot be stored", x)
		}
		return typeFloat, v, nil
	case float32:
		return scalar(float64(x), detectTime)
	case int:
		return typeInteger, int64(x), nil
	case int64:
		return typeInteger, v, nil
	case int32:
		return typeInteger, int64(x), nil
	case time.Time:
		if y := x.UTC().Year(); y < 1 || y > 9999 {
			return typeString, x.String(), nil
		}
		return typeTimestamp, formatTimestamp(x), nil
	}
	return 0, nil, fmt.Errorf("unsupported value of type %T", v)
}

// errNUL rejects text holding a NUL character, which PostgreSQL's text cannot store: the
// record is rejected on every destination, so both hold the same records.
var errNUL = errors.New("text with a NUL character (\\u0000) cannot be stored")

// number keeps integers exact: one beyond bigint (int64) rejects its record, as Stitch's
// PostgreSQL destination does. Other numbers become float64 (double precision), and numbers
// beyond its range reject the record rather than silently turn into infinity.
func number(s string) (colType, any, error) {
	shown := s
	if len(shown) > 40 {
		shown = shown[:40] + "..."
	}
	if !strings.ContainsAny(s, ".eE") {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, nil, fmt.Errorf("integer %s is outside the range of bigint", shown)
		}
		return typeInteger, n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, nil, fmt.Errorf("number %s is out of range", shown)
	}
	return typeFloat, f, nil
}

// parseTimestamp accepts RFC 3339 strings and normalizes them to UTC.
func parseTimestamp(s string) (string, bool) {
	// Cheap shape check first: most strings are not timestamps.
	if len(s) < 20 || len(s) > 40 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') {
		return "", false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return "", false
	}
	if y := t.UTC().Year(); y < 1 || y > 9999 { // PostgreSQL has no year 0; four digits
		return "", false
	}
	return formatTimestamp(t), true
}
