package salesforce

import (
	"strings"
	"unicode"
)

// Queries are only ever built from constant text, API names checked by
// isAPIName, and user input passed through the functions below. The fuzz
// tests in escape_test.go check that no input changes a query's structure.

// soslReserved are the characters SOSL reserves in search terms; each is
// escaped with a backslash.
const soslReserved = `?&|!{}[]()^~*:\"'+-`

// EscapeSOSL escapes s for use inside a SOSL FIND {...} clause: every
// reserved character gets a backslash, control characters and invalid
// UTF-8 become spaces. Words such as AND/OR stay operators unless quoted:
// use QuoteSOSL for a literal phrase.
func EscapeSOSL(s string) string {
	s = cleanText(s)
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		if strings.ContainsRune(soslReserved, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// QuoteSOSL returns s as a quoted SOSL phrase ("..."), escaped, so that it
// is searched literally: operators and wildcards inside it are plain text.
func QuoteSOSL(s string) string { return `"` + EscapeSOSL(s) + `"` }

// EscapeSOQL escapes s for use between single quotes in a SOQL string
// literal: ' \ " and the control characters \n \r \t \b \f get backslash
// escapes; other control characters and invalid UTF-8 become spaces.
func EscapeSOQL(s string) string {
	return escapeSOQL(s, false)
}

// QuoteSOQL returns s as a SOQL string literal: 'escaped'.
func QuoteSOQL(s string) string { return "'" + escapeSOQL(s, false) + "'" }

// EscapeSOQLLike is EscapeSOQL for the pattern of a LIKE, where % and _ are
// wildcards: they are escaped too, so add your own wildcards around it.
func EscapeSOQLLike(s string) string { return escapeSOQL(s, true) }

func escapeSOQL(s string, like bool) string {
	s = strings.ToValidUTF8(s, " ")
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		switch r {
		case '\'', '\\', '"':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '%', '_':
			if like {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		default:
			if unicode.IsControl(r) {
				r = ' '
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// cleanText replaces invalid UTF-8 and control characters with spaces.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, " ")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
