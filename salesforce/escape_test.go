package salesforce

import (
	"strings"
	"testing"
	"unicode"
)

var escapeSeeds = []string{
	"", "Lucy Hall", `o'hara`, `a"b`, `back\slash`, `}} RETURNING User(Username`, `' OR Name LIKE '%`,
	"tab\there", "new\nline", "\x00nul", "\xff\xfe bad utf8", "AND", "or", "NOT x", `?&|!{}[]()^~*:\"'+-`,
	"%_%", `\%\_`, "日本語", "\u2028", "-1", "+14155550123",
}

// readQuoted decodes a quoted SOSL phrase at the start of s, the way a SOSL
// parser would, failing on any reserved character that is not escaped. It
// returns the text and what follows the closing quote.
func readQuoted(t *testing.T, s string) (text, rest string) {
	t.Helper()
	if !strings.HasPrefix(s, `"`) {
		t.Fatalf("phrase %q does not start with a quote", s)
	}
	rs := []rune(s[1:])
	var b strings.Builder
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; {
		case r == '\\':
			if i+1 >= len(rs) || !strings.ContainsRune(soslReserved, rs[i+1]) {
				t.Fatalf("escape of a non-reserved character in %q", s)
			}
			i++
			b.WriteRune(rs[i])
		case r == '"':
			return b.String(), string(rs[i+1:])
		case strings.ContainsRune(soslReserved, r), unicode.IsControl(r):
			t.Fatalf("unescaped %q in %q", r, s)
		default:
			b.WriteRune(r)
		}
	}
	t.Fatalf("unterminated phrase %q", s)
	return "", ""
}

func FuzzQuoteSOSL(f *testing.F) {
	for _, s := range escapeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		const head, tail = "FIND {", "} IN NAME FIELDS RETURNING Contact(Id)"
		q := head + QuoteSOSL(s) + tail
		text, rest := readQuoted(t, q[len(head):])
		if rest != tail {
			t.Fatalf("input %q changed the query after the term: %q", s, rest)
		}
		if text != cleanText(s) {
			t.Fatalf("term decodes to %q, want %q", text, cleanText(s))
		}
	})
}

func FuzzSOSLWord(f *testing.F) {
	for _, s := range escapeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, w := range strings.Fields(cleanText(s)) {
			tok := soslWord(w)
			if strings.HasPrefix(tok, `"`) {
				text, rest := readQuoted(t, tok)
				if rest != "" || text != w {
					t.Fatalf("word %q quoted as %q", w, tok)
				}
				continue
			}
			body, ok := strings.CutSuffix(tok, "*")
			if !ok {
				t.Fatalf("word %q became %q without the prefix wildcard", w, tok)
			}
			text, rest := readQuoted(t, `"`+body+`"`)
			if rest != "" || text != w {
				t.Fatalf("word %q escaped as %q", w, tok)
			}
			if u := strings.ToUpper(w); u == "AND" || u == "OR" || u == "NOT" {
				t.Fatalf("operator word %q left bare", w)
			}
		}
	})
}

// readSOQLString decodes a SOQL string literal at the start of s, failing
// on raw control characters and unknown escapes; like allows \% and \_.
func readSOQLString(t *testing.T, s string, like bool) (text, rest string) {
	t.Helper()
	if !strings.HasPrefix(s, "'") {
		t.Fatalf("literal %q does not start with a quote", s)
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			if i+1 >= len(s) {
				t.Fatalf("dangling escape in %q", s)
			}
			i++
			switch s[i] {
			case '\'', '"', '\\':
				b.WriteByte(s[i])
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case '%', '_':
				if !like {
					t.Fatalf(`\%c outside LIKE in %q`, s[i], s)
				}
				b.WriteByte(s[i])
			default:
				t.Fatalf("unknown escape \\%c in %q", s[i], s)
			}
		case c == '\'':
			return b.String(), s[i+1:]
		case c < 0x20 || c == 0x7f:
			t.Fatalf("raw control character %q in %q", c, s)
		case like && (c == '%' || c == '_'):
			t.Fatalf("unescaped wildcard in %q", s)
		default:
			b.WriteByte(c)
		}
	}
	t.Fatalf("unterminated literal %q", s)
	return "", ""
}

// soqlClean is what a literal can carry: valid UTF-8, and only the
// control characters SOQL has escapes for.
func soqlClean(s string) string {
	s = strings.ToValidUTF8(s, " ")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && !strings.ContainsRune("\n\r\t\b\f", r) {
			return ' '
		}
		return r
	}, s)
}

func FuzzQuoteSOQL(f *testing.F) {
	for _, s := range escapeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		const head, tail = "SELECT Id FROM User WHERE Username = ", " AND IsActive = true LIMIT 2"
		q := head + QuoteSOQL(s) + tail
		text, rest := readSOQLString(t, q[len(head):], false)
		if rest != tail {
			t.Fatalf("input %q changed the query after the literal: %q", s, rest)
		}
		if text != soqlClean(s) {
			t.Fatalf("literal decodes to %q, want %q", text, soqlClean(s))
		}
	})
}

func FuzzEscapeSOQLLike(f *testing.F) {
	for _, s := range escapeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		const head, tail = "SELECT Id FROM Contact WHERE Name LIKE ", " LIMIT 5"
		q := head + "'" + EscapeSOQLLike(s) + "'" + tail
		text, rest := readSOQLString(t, q[len(head):], true)
		if rest != tail || text != soqlClean(s) {
			t.Fatalf("input %q: literal %q, rest %q", s, text, rest)
		}
	})
}

func TestEscapesForKnownInputs(t *testing.T) {
	tests := []struct{ name, got, want string }{
		{"SOSL escapes every reserved character", EscapeSOSL(`?&|!{}[]()^~*:\"'+-`), `\?\&\|\!\{\}\[\]\(\)\^\~\*\:\\\"\'\+\-`},
		{"SOSL turns control characters into spaces", EscapeSOSL("a\nb\x00c"), "a b c"},
		{"a SOSL phrase is quoted", QuoteSOSL("+1 415"), `"\+1 415"`},
		{"SOQL escapes quotes and backslashes", QuoteSOQL(`it's a \ "test"`), `'it\'s a \\ \"test\"'`},
		{"SOQL escapes control characters", QuoteSOQL("a\nb\rc\td\be\ff"), `'a\nb\rc\td\be\ff'`},
		{"SOQL leaves LIKE wildcards outside LIKE", QuoteSOQL("50%_off"), `'50%_off'`},
		{"SOQL LIKE escapes wildcards", EscapeSOQLLike("50%_off"), `50\%\_off`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %s, want %s", tc.got, tc.want)
			}
		})
	}
}
