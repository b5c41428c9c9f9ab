package warehouse

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonParser decodes one JSON document into the values encoding/json gives with UseNumber
// (map[string]any, []any, string, json.Number, bool, nil), in one pass. It is the webhook hot
// path: strings without escapes are slices of one copy of the body instead of one allocation
// each, and the depth and row limits are checked while parsing. Its input is valid UTF-8
// (decodeJSON checks first). FuzzJSONParserMatchesEncodingJSON holds it to encoding/json.
type jsonParser struct {
	data  string
	pos   int
	depth int
	rows  int // array elements so far, all levels
}

// syntaxErr is a BodyError for the byte at p.pos (or for the end of the input), in the words
// of encoding/json.
func (p *jsonParser) syntaxErr(context string) *BodyError {
	if p.pos >= len(p.data) {
		return bodyErrorf(int64(len(p.data)), "invalid JSON at byte %d: unexpected end of input", len(p.data))
	}
	return bodyErrorf(int64(p.pos), "invalid JSON at byte %d: invalid character %s %s", p.pos, quoteChar(p.data[p.pos]), context)
}

// quoteChar formats a byte as encoding/json's messages do: 'x', '\n'.
func quoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\r', '\n':
			p.pos++
		default:
			return
		}
	}
}

// value parses the value starting at p.pos (after any space).
func (p *jsonParser) value() (any, error) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return nil, p.syntaxErr("")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.string()
	case c == '-' || ('0' <= c && c <= '9'):
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	return nil, p.syntaxErr("looking for beginning of value")
}

// open enters the object or array whose '{' or '[' is at p.pos, counting its depth; empty
// reports that closing follows at once (and is consumed).
func (p *jsonParser) open(closing byte) (empty bool, err error) {
	if p.depth++; p.depth > MaxDepth {
		return false, bodyErrorf(int64(p.pos), "JSON nested deeper than %d levels at byte %d", MaxDepth, p.pos)
	}
	p.pos++
	p.skipSpace()
	return p.closes(closing), nil
}

// closes consumes closing if it is next, leaving the object or array.
func (p *jsonParser) closes(closing byte) bool {
	if p.pos < len(p.data) && p.data[p.pos] == closing {
		p.pos++
		p.depth--
		return true
	}
	return false
}

// next consumes what follows a member of an object or array: a ',' (more follow) or closing.
func (p *jsonParser) next(closing byte, context string) (more bool, err error) {
	p.skipSpace()
	if p.closes(closing) {
		return false, nil
	}
	if p.pos < len(p.data) && p.data[p.pos] == ',' {
		p.pos++
		return true, nil
	}
	return false, p.syntaxErr(context)
}

func (p *jsonParser) object() (any, error) {
	obj := map[string]any{}
	empty, err := p.open('}')
	for more := !empty; more && err == nil; {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.syntaxErr("looking for beginning of object key string")
		}
		var key string
		if key, err = p.string(); err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.syntaxErr("after object key")
		}
		p.pos++
		if obj[key], err = p.value(); err != nil {
			return nil, err
		}
		more, err = p.next('}', "after object key:value pair")
	}
	if err != nil {
		return nil, err
	}
	return obj, nil
}

func (p *jsonParser) array() (any, error) {
	arr := []any{}
	empty, err := p.open(']')
	for more := !empty; more && err == nil; {
		if p.rows++; p.rows > MaxRows {
			return nil, bodyErrorf(-1, "the body holds more than the %d records and array elements one request may have; send fewer events per request", MaxRows)
		}
		var v any
		if v, err = p.value(); err != nil {
			return nil, err
		}
		arr = append(arr, v)
		more, err = p.next(']', "after array element")
	}
	if err != nil {
		return nil, err
	}
	return arr, nil
}

// string parses the string literal at p.pos; without escapes it is a slice of p.data.
func (p *jsonParser) string() (string, error) {
	start := p.pos + 1
	for i := start; i < len(p.data); i++ {
		switch c := p.data[i]; {
		case c == '"':
			p.pos = i + 1
			return p.data[start:i], nil
		case c == '\\':
			return p.unescape(start, i)
		case c < 0x20:
			p.pos = i
			return "", p.syntaxErr("in string literal")
		}
	}
	p.pos = len(p.data)
	return "", p.syntaxErr("")
}

// unescape finishes a string literal that has an escape at esc.
func (p *jsonParser) unescape(start, esc int) (string, error) {
	var b strings.Builder
	b.Grow(esc - start + 16)
	b.WriteString(p.data[start:esc])
	i := esc
	for i < len(p.data) {
		c := p.data[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return b.String(), nil
		case c < 0x20:
			p.pos = i
			return "", p.syntaxErr("in string literal")
		case c != '\\':
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 >= len(p.data) {
			p.pos = len(p.data)
			return "", p.syntaxErr("")
		}
		switch e := p.data[i+1]; e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, bad := hex4(p.data[i+2:])
			if bad >= 0 {
				p.pos = i + 2 + bad
				return "", p.syntaxErr(`in \u hexadecimal character escape`)
			}
			i += 6
			if utf16.IsSurrogate(r) {
				// A pair decodes to one rune; a lone half becomes U+FFFD, as encoding/json does.
				if strings.HasPrefix(p.data[i:], `\u`) {
					if r2, bad := hex4(p.data[i+2:]); bad < 0 {
						if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
							b.WriteRune(pair)
							i += 6
							continue
						}
					}
				}
				r = utf8.RuneError
			}
			b.WriteRune(r)
			continue
		default:
			p.pos = i + 1
			return "", p.syntaxErr("in string escape code")
		}
		i += 2
	}
	p.pos = len(p.data)
	return "", p.syntaxErr("")
}

// hex4 decodes the four hex digits that start s; bad is the index of the first byte that is
// not one (len(s) if s ends first), or -1 when all four are.
func hex4(s string) (r rune, bad int) {
	for i := range 4 {
		if i >= len(s) {
			return 0, i
		}
		d := hexDigit(s[i])
		if d < 0 {
			return 0, i
		}
		r = r<<4 | d
	}
	return r, -1
}

func hexDigit(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// number parses -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? and keeps its text.
func (p *jsonParser) number() (any, error) {
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	switch {
	case p.pos < len(p.data) && p.data[p.pos] == '0':
		p.pos++
	case p.digits() == 0:
		return nil, p.syntaxErr("in numeric literal")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if p.digits() == 0 {
			return nil, p.syntaxErr("after decimal point in numeric literal")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if p.digits() == 0 {
			return nil, p.syntaxErr("in exponent of numeric literal")
		}
	}
	return json.Number(p.data[start:p.pos]), nil
}

func (p *jsonParser) digits() int {
	start := p.pos
	for p.pos < len(p.data) && '0' <= p.data[p.pos] && p.data[p.pos] <= '9' {
		p.pos++
	}
	return p.pos - start
}

// literal consumes word (true, false or null) at p.pos.
func (p *jsonParser) literal(word string) error {
	for i := 0; i < len(word); i++ {
		if p.pos >= len(p.data) || p.data[p.pos] != word[i] {
			return p.syntaxErr("in literal " + word + " (expecting " + quoteChar(word[i]) + ")")
		}
		p.pos++
	}
	return nil
}
