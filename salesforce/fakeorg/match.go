package fakeorg

import (
	"strings"
	"unicode"
)

// How SOSL terms match field values: tokens for text, digits for phones.

// termMatches reports whether t matches one of rec's fields in group.
func termMatches(d *objectDef, group string, rec map[string]any, t sterm) bool {
	for _, f := range d.fields {
		v, _ := rec[f.name].(string)
		if v == "" {
			continue
		}
		isName := f.name == "Name" || containsFold(d.nameFld, f.name)
		switch group {
		case "PHONE":
			if f.typ == tPhone && phoneMatch(v, t) {
				return true
			}
			continue
		case "NAME":
			if !isName {
				continue
			}
		case "EMAIL":
			if f.typ != tEmail {
				continue
			}
		case "SIDEBAR":
			if !isName && f.typ != tPhone && f.typ != tEmail {
				continue
			}
		default: // ALL
			if f.typ != tString && f.typ != tTextArea && f.typ != tPhone && f.typ != tEmail && f.typ != tPicklist {
				continue
			}
		}
		if f.typ == tPhone && phoneMatch(v, t) {
			return true
		}
		if tokensMatch(tokenize(v), t.tokens) {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// tokensMatch reports whether want appears as consecutive tokens of have.
func tokensMatch(have, want []string) bool {
	if len(want) == 0 {
		return false
	}
	for i := 0; i+len(want) <= len(have); i++ {
		ok := true
		for j, w := range want {
			if !wildMatch([]rune(have[i+j]), []rune(w)) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func wildMatch(s, p []rune) bool {
	if len(p) == 0 {
		return len(s) == 0
	}
	switch p[0] {
	case wildStar:
		for i := 0; i <= len(s); i++ {
			if wildMatch(s[i:], p[1:]) {
				return true
			}
		}
		return false
	case wildOne:
		return len(s) > 0 && wildMatch(s[1:], p[1:])
	}
	return len(s) > 0 && s[0] == p[0] && wildMatch(s[1:], p[1:])
}

// phoneMatch compares a stored number with a term on digits.
//
// Salesforce documents the pieces this follows: IN PHONE FIELDS searches
// only Phone fields (SOQL and SOSL Reference, "IN SearchGroup"); the search
// engine splits text into tokens at spaces, punctuation and changes from
// letters to digits (SOQL and SOSL Reference, "FIND {SearchQuery}", Search
// Terms), so formatting is noise and in "(415) 555-0154 x22" the extension
// "x22" is a token of its own, apart from the number; and its own example
// searches phone fields for "4155551212" (SOAP API Developer Guide, "Sample
// search Call"), which finds numbers stored with punctuation. So the stored
// number's digits are those before its extension (a letter, ',' or ';'),
// and a term matches when the digits are equal, or one ends with the
// other with at least 7 digits (a country code or trunk 0 in one form
// only: "4155550123" finds "+1 (415) 555-0123"). Unverified against a live
// org: the client searches several forms of each number and compares the
// results by number, so it does not depend on this detail. Sources:
// https://developer.salesforce.com/docs/platform/salesforce-soql-sosl/guide/sforce-api-calls-sosl-in.html
// https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_sosl_find.htm
// https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sample_search_call.htm
func phoneMatch(stored string, t sterm) bool {
	sd, td := digitsOf(beforeExtension(stored)), digitsOf(beforeExtension(t.raw))
	if sd == "" || td == "" {
		return false
	}
	if t.star {
		return len(td) >= 3 && strings.Contains(sd, td)
	}
	if sd == td {
		return true
	}
	short, long := sd, td
	if len(short) > len(long) {
		short, long = long, short
	}
	if len(short) >= 7 && strings.HasSuffix(long, short) {
		return true
	}
	if trimmed := strings.TrimPrefix(short, "0"); trimmed != short && len(trimmed) >= 7 && strings.HasSuffix(long, trimmed) {
		return true
	}
	return false
}

// beforeExtension cuts a stored phone value at its extension: the first
// letter ("x22", "ext. 22"), comma or semicolon.
func beforeExtension(s string) string {
	for i, r := range s {
		if unicode.IsLetter(r) || r == ',' || r == ';' {
			return s[:i]
		}
	}
	return s
}

func digitsOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
