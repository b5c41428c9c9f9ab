package warehouse

import (
	"fmt"
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
	// Once suffixed (x__st) a column name may have up to MaxIdentifierLen.
	MaxColumnNameLen = MaxIdentifierLen - 4
)

// validSchema reports whether name has the shape of a schema name,
// [a-z][a-z0-9_]{0,62}; it is also the file name, so this keeps path
// separators and dots out. store.ValidateSchemaName says the same rule in words.
func validSchema(name string) bool {
	if len(name) == 0 || len(name) > MaxIdentifierLen || name[0] < 'a' || name[0] > 'z' {
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

// columnName is the column name a source path asks for, by Stitch's rules for PostgreSQL
// (_data/dataloading/postgres/object-names.yml), the same whatever the destination: each key
// keeps its case and its ASCII letters, digits, underscores and spaces, and loses every other
// character ("customer!id" -> "customerid"); nested keys join with "__"; then leading
// characters other than letters and underscores go ("123id" -> "id", "_id" stays). The empty
// path is the element itself in an array of scalars: "value". "" means no name is left.
func columnName(path string) string {
	keys := splitPath(path)
	if len(keys) == 0 {
		return "value"
	}
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString("__")
		}
		for j := 0; j < len(k); j++ {
			if c := k[j]; isLetter(c) || c >= '0' && c <= '9' || c == '_' || c == ' ' {
				b.WriteByte(c)
			}
		}
	}
	name := b.String()
	for len(name) > 0 && !isLetter(name[0]) && name[0] != '_' {
		name = name[1:]
	}
	return strings.TrimRight(name, " ")
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// noNameReason rejects a field or array whose key keeps no character of a name.
const noNameReason = "its name has no letters or underscores to make a column name of (Stitch keeps letters, digits, underscores and spaces, and a name starts with a letter or an underscore)"

// Stitch's reserved prefixes and type suffixes (_data/stitch/reserved-keywords.yml, PostgreSQL's
// list): a field whose column would start or end with one is rejected.
var (
	reservedPrefixes = []string{"_sdc", "_rjm"}
	reservedSuffixes = []string{"__bi", "__bo", "__de", "__do", "__it", "__st", "__ti"}
)

// nameProblem says why a field may not have the column name it asks for, or "" when it may.
func nameProblem(name string) string {
	if name == "" {
		return noNameReason
	}
	lower := strings.ToLower(name)
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(lower, p) {
			return fmt.Sprintf("column name %s starts with %s, which Stitch reserves for its own columns", clip(name), p)
		}
	}
	for _, suffix := range reservedSuffixes {
		if strings.HasSuffix(lower, suffix) {
			return fmt.Sprintf("column name %s ends with %s, which Stitch reserves for the columns of a field's later types", clip(name), suffix)
		}
	}
	if len(name) > MaxColumnNameLen {
		return fmt.Sprintf("column name %s is longer than %d characters", clip(name), MaxColumnNameLen)
	}
	return ""
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

// PrimaryKeyProblem says why field cannot be a primary key by the naming rules (its column
// must have a name, and _sdc_source_key_<column> of the subtables must fit 63 characters), or
// "": checked when an integration is saved, so that its records are not all rejected later.
func PrimaryKeyProblem(field string) string {
	name := columnName(joinPath("", field))
	if reason := nameProblem(name); reason != "" {
		return reason
	}
	if source := "_sdc_source_key_" + name; len(source) > MaxIdentifierLen {
		return fmt.Sprintf("its column %s would make the subtables' column %s longer than %d characters", name, clip(source), MaxIdentifierLen)
	}
	return ""
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
