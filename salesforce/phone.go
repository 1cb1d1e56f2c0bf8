package salesforce

import (
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/switchboard-cti/switchboard/phone"
)

// minDigits is the fewest digits a number needs before it is looked up:
// shorter strings are internal extensions or noise and would match too
// much.
const minDigits = 7

// maxPhoneInput bounds what the parser is given.
const maxPhoneInput = 64

// NormalizePhone returns number in E.164 form (+14155550123), reading
// numbers without a country code as numbers of region (e.g. "US"). It
// accepts the forms a PBX or a person writes: "(415) 555-0123",
// "+1 415.555.0123", "tel:+14155550123", "sip:+14155550123@pbx". ok is false
// when number is not a possible phone number, or is a withheld caller id
// ("anonymous", "0000000000", ...: phone.Withheld).
func NormalizePhone(number, region string) (e164 string, ok bool) {
	pn, ok := parsePhone(number, region)
	if !ok {
		return "", false
	}
	return phonenumbers.Format(pn, phonenumbers.E164), true
}

// PhoneVariants returns the forms people store a number in, for searching:
// E.164, the national form with and without punctuation ("(415) 555-0123",
// "4155550123") and the international form. For numbers that do not parse
// but have at least 7 digits it returns just the digits; for a withheld
// caller id and anything else, nil.
func PhoneVariants(number, region string) []string {
	if phone.Withheld(number) {
		return nil
	}
	pn, ok := parsePhone(number, region)
	if !ok {
		d := digitsOf(stripURI(number))
		if len(d) >= minDigits && len(d) <= 20 {
			return []string{d}
		}
		return nil
	}
	national := phonenumbers.Format(pn, phonenumbers.NATIONAL)
	vs := []string{
		phonenumbers.Format(pn, phonenumbers.E164),
		phonenumbers.GetNationalSignificantNumber(pn),
		digitsOf(national),
		national,
		phonenumbers.Format(pn, phonenumbers.INTERNATIONAL),
	}
	out := vs[:0]
	seen := map[string]bool{}
	for _, v := range vs {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// SamePhone reports whether a and b are the same number once normalized
// (or, for numbers that do not parse, have the same digits). An extension
// is not part of the number: "(415) 555-0154 x22" is +14155550154. A
// withheld caller id is the same as nothing.
func SamePhone(a, b, region string) bool {
	if phone.Withheld(a) || phone.Withheld(b) {
		return false
	}
	ea, oka := NormalizePhone(a, region)
	eb, okb := NormalizePhone(b, region)
	if oka && okb {
		return ea == eb
	}
	da, db := digitsOf(a), digitsOf(b)
	return len(da) >= minDigits && da == db
}

func parsePhone(number, region string) (pn *phonenumbers.PhoneNumber, ok bool) {
	defer func() {
		if recover() != nil { // the parser must never take a call down
			pn, ok = nil, false
		}
	}()
	if phone.Withheld(number) {
		return nil, false
	}
	s := stripURI(number)
	if len(s) > maxPhoneInput || len(digitsOf(s)) < minDigits-1 {
		return nil, false
	}
	p, err := phonenumbers.Parse(s, strings.ToUpper(region))
	if err != nil || !phonenumbers.IsPossibleNumber(p) {
		return nil, false
	}
	p.Extension = nil // "x123" is dialled after connecting; it is not stored with the number
	e := phonenumbers.Format(p, phonenumbers.E164)
	if !validE164(e) {
		return nil, false
	}
	return p, true
}

// stripURI removes tel:/sip: schemes, SIP parameters and the host part.
func stripURI(s string) string {
	s = strings.TrimSpace(s)
	low := strings.ToLower(s)
	for _, p := range []string{"tel:", "sip:", "sips:"} {
		if strings.HasPrefix(low, p) {
			s = s[len(p):]
			break
		}
	}
	if i := strings.IndexAny(s, "@;"); i >= 0 {
		s = s[:i]
	}
	return s
}

// digitsPattern is a SOQL LIKE pattern matching any text that holds the
// national significant digits of number in order, whatever is between
// them ("%8%0%0%5%5%5%0%1%2%2%" finds "1-800-555-0122", "800.555.0122",
// "+1 (800) 555-0122 x5"). "" for a withheld caller id or a number too
// short to search.
func digitsPattern(number, region string) string {
	if phone.Withheld(number) {
		return ""
	}
	d := ""
	if pn, ok := parsePhone(number, region); ok {
		d = phonenumbers.GetNationalSignificantNumber(pn)
	} else {
		d = digitsOf(stripURI(number))
	}
	if len(d) < minDigits || len(d) > 20 {
		return ""
	}
	return "%" + strings.Join(strings.Split(d, ""), "%") + "%"
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

// validE164 reports whether s is +, a non-zero digit, then up to 14 digits.
func validE164(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
