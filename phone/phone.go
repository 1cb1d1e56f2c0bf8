// Package phone reads phone numbers the way carriers, desk phones and
// Salesforce orgs write them: withheld caller ids, dial strings with
// extensions, pauses, vanity letters and Unicode punctuation, and the call
// center's dialing options (outside-line, long-distance and international
// prefixes). It is a leaf: it imports only the standard library and
// nyaruka/phonenumbers, so adapter and salesforce can share one rule.
package phone

import (
	"errors"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// ErrInvalid is wrapped by every error of ParseDial: the text is not
// something that can be dialled. The message says what to fix.
var ErrInvalid = errors.New("not a dialable number")

// ErrWithheld is wrapped (with ErrInvalid) when the text is a withheld
// caller id ("anonymous", "0000000000", ...): there is no number to dial.
var ErrWithheld = errors.New("the caller withheld the number")

// MinExternalDigits is the fewest digits of an external number. Shorter
// digit strings (and anything with * or #) are internal extensions or
// feature codes of the switch, dialled as they are.
const MinExternalDigits = 7

// maxInput bounds what is parsed (a Salesforce Phone field holds 40
// characters; room for an extension and pauses).
const maxInput = 100

// MaxExtension is the longest extension (DTMF digits and pauses).
const MaxExtension = 32

// Region returns region upper-cased when phonenumbers knows it (ISO 3166
// alpha-2, e.g. "US", "GB"); ok is false otherwise.
func Region(region string) (string, bool) {
	r := strings.ToUpper(strings.TrimSpace(region))
	return r, len(r) == 2 && phonenumbers.GetCountryCodeForRegion(r) != 0
}

// clean maps what people paste into the ASCII a dialler reads: Unicode
// digits (full-width, Arabic-Indic, ...) to 0-9, every dash (Unicode
// category Pd, U+2212 minus) to '-', every space (Zs, tabs, no-break
// spaces) to ' ', full-width + ( ) to ASCII, and drops invisible format
// characters (zero-width spaces, direction marks, soft hyphens: category
// Cf) that copying from web pages adds.
func clean(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case unicode.Is(unicode.Cf, r):
		case unicode.Is(unicode.Pd, r) || r == '\u2212':
			b.WriteByte('-')
		case unicode.IsSpace(r):
			b.WriteByte(' ')
		case r == '\uFF0B':
			b.WriteByte('+')
		case r == '\uFF08':
			b.WriteByte('(')
		case r == '\uFF09':
			b.WriteByte(')')
		case r == '\uFF0C' || r == '\u3001':
			b.WriteByte(',')
		case unicode.IsDigit(r):
			if d, ok := digitValue(r); ok {
				b.WriteByte('0' + d)
			} else {
				b.WriteRune(r)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// digitZeros are the zeros of the decimal digit blocks people type phone
// numbers in (each block is ten consecutive code points).
var digitZeros = []rune{'\uFF10', '\u0660', '\u06F0', '\u0966', '\u09E6', '\u0E50', '\u1040', '\u0CE6', '\u0BE6'}

func digitValue(r rune) (byte, bool) {
	for _, z := range digitZeros {
		if r >= z && r <= z+9 {
			return byte(r - z), true
		}
	}
	return 0, false
}

// keypad maps letters to digits as printed on phone keypads (ITU-T E.161).
func keypad(r rune) (byte, bool) {
	switch unicode.ToUpper(r) {
	case 'A', 'B', 'C':
		return '2', true
	case 'D', 'E', 'F':
		return '3', true
	case 'G', 'H', 'I':
		return '4', true
	case 'J', 'K', 'L':
		return '5', true
	case 'M', 'N', 'O':
		return '6', true
	case 'P', 'Q', 'R', 'S':
		return '7', true
	case 'T', 'U', 'V':
		return '8', true
	case 'W', 'X', 'Y', 'Z':
		return '9', true
	}
	return 0, false
}

func digitsOf(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// stripScheme removes a tel:, sip: or sips: scheme and a SIP host, and
// returns the RFC 3966 ";ext=" parameter if there was one. Other URI
// parameters (";phone-context=", ";user=phone") are dropped.
func stripScheme(s string) (rest, ext string) {
	low := strings.ToLower(s)
	uri := false
	for _, p := range []string{"tel:", "sip:", "sips:"} {
		if strings.HasPrefix(low, p) {
			s, uri = s[len(p):], true
			break
		}
	}
	if !uri {
		return s, ""
	}
	if i := strings.IndexByte(s, '@'); i >= 0 {
		host := s[i:]
		s = s[:i]
		if j := strings.IndexByte(host, ';'); j >= 0 {
			s += host[j:] // parameters after the host still count
		}
	}
	parts := strings.Split(s, ";")
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), "ext") {
			ext = strings.TrimSpace(v)
		}
	}
	return parts[0], ext
}
