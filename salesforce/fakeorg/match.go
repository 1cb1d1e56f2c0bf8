package fakeorg

import (
	"strings"
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
func phoneMatch(stored string, t sterm) bool {
	sd, td := digitsOf(stored), digitsOf(t.raw)
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

func digitsOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
