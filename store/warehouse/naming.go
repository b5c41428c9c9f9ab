package warehouse

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Name lengths, as Stitch bounds them for PostgreSQL, whose identifiers are at most 63 bytes
// and silently truncated beyond: a field whose column would be named longer, or an array whose
// subtable would, rejects its record (Stitch rejects such names rather than truncate them). The
// bounds also keep SQLite's schema small, which it reparses whole after every ALTER TABLE. Names
// are ASCII, so bytes are characters.
const (
	MaxIdentifierLen = 63
	MaxTableNameLen  = MaxIdentifierLen
	// MaxColumnNameLen bounds the name a field asks for, leaving room for a type suffix (__st).
	// Once suffixed (a_b__2, x__st) a column name may have up to MaxIdentifierLen.
	MaxColumnNameLen = MaxIdentifierLen - 4
)

// ValidSchema reports whether name has the shape of a schema name,
// [a-z][a-z0-9_]{0,62}; it is also the file name, so this keeps path
// separators and dots out.
func ValidSchema(name string) bool {
	if len(name) == 0 || len(name) > 63 || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	for i := 1; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// A source path identifies a field inside one row of a table: the raw keys
// from the row's object down to the value, each Go-quoted and joined by '.',
// e.g. `"dataFields"."campaignId"`. Quoting makes it unambiguous whatever
// the keys contain. The empty path is the element itself in an array of
// scalars (its column is "value").
func joinPath(prefix, key string) string {
	if prefix == "" {
		return strconv.Quote(key)
	}
	return prefix + "." + strconv.Quote(key)
}

// splitPath returns the raw keys of a source path.
func splitPath(path string) []string {
	var keys []string
	for path != "" {
		q, err := strconv.QuotedPrefix(path)
		if err != nil {
			return append(keys, path) // not produced by joinPath; keep it whole
		}
		k, _ := strconv.Unquote(q)
		keys = append(keys, k)
		path = strings.TrimPrefix(path[len(q):], ".")
	}
	return keys
}

// displayPath renders a source path for people: dataFields.campaignId.
func displayPath(path string) string {
	if path == "" {
		return "[]"
	}
	return strings.Join(splitPath(path), ".")
}

// columnName is the name a source path asks for before collisions are
// resolved: each key normalized, nested keys joined by "__".
func columnName(path string) string {
	keys := splitPath(path)
	if len(keys) == 0 {
		return "value"
	}
	for i, k := range keys {
		keys[i] = normalizeName(k)
	}
	return strings.Join(keys, "__")
}

// normalizeName lowercases a key and turns every character outside
// [a-z0-9_] into '_', as Stitch does: "trigger-event" -> "trigger_event".
func normalizeName(key string) string {
	if key == "" {
		return "_"
	}
	var b strings.Builder
	b.Grow(len(key))
	for _, r := range strings.ToLower(key) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// quoteIdent quotes an SQL identifier; names come from user data, so every
// identifier in generated SQL goes through here.
func quoteIdent(name string) string {
	return string(appendIdent(nil, name))
}

// appendIdent appends name to b as a quoted SQL identifier.
func appendIdent(b []byte, name string) []byte {
	b = append(b, '"')
	for i := 0; i < len(name); i++ {
		if name[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, name[i])
	}
	return append(b, '"')
}

// reservedColumn reports whether SQLite keeps name for a table's own row key: ALTER TABLE
// refuses to add such a column ("cannot add rowid alias"), and one made with CREATE TABLE
// would hide the key that browsing and export page and order by. The catalog treats these
// names as taken, so a field called rowid lands in rowid__2 like any other collision.
func reservedColumn(name string) bool {
	switch name {
	case "rowid", "oid", "_rowid_":
		return true
	}
	return false
}

// clip shortens s for a reject reason: a key may be megabytes long.
func clip(s string) string {
	const keep = 60
	if len(s) <= keep {
		return s
	}
	n := keep
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// uniqueName returns name, or name__2, name__3 ... whichever is not taken.
func uniqueName(name string, taken func(string) bool) string {
	if !taken(name) {
		return name
	}
	for i := 2; ; i++ {
		candidate := name + "__" + strconv.Itoa(i)
		if !taken(candidate) {
			return candidate
		}
	}
}
