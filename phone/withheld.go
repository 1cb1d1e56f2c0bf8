package phone

import "strings"

// withheldWords are the caller ids switches and carriers send instead of a
// number, after lower-casing and turning _ - . into spaces:
//   - "anonymous": RFC 3261 section 8.1.1.3 and RFC 3325
//     (sip:anonymous@anonymous.invalid), most SIP trunks;
//   - "<unknown>" / "unknown": Asterisk's CALLERID(num) when there is none;
//   - "private", "restricted", "unavailable", "withheld", "blocked" and
//     their longer forms: carriers' and phones' display texts;
//   - "p" (private) and "o" (out of area): the reason-for-absence codes of
//     analog Caller ID (Telcordia GR-30-CORE, MDMF parameter 04).
var withheldWords = map[string]bool{
	"anonymous": true, "anonymous caller": true, "anon": true,
	"private": true, "private number": true, "private caller": true,
	"restricted": true, "restricted number": true,
	"unavailable": true, "not available": true, "number unavailable": true,
	"unknown": true, "unknown caller": true, "unknown number": true,
	"withheld": true, "number withheld": true, "caller id withheld": true,
	"blocked": true, "caller id blocked": true, "no caller id": true, "no callerid": true,
	"out of area": true, "p": true, "o": true, "null": true, "none": true, "undefined": true,
}

// withheldNumbers are numbers some carriers present for a withheld caller:
// the words spelled on the keypad (Twilio's From for an ANONYMOUS,
// RESTRICTED, UNKNOWN, BLOCKED or UNAVAILABLE caller).
var withheldNumbers = map[string]bool{
	"266696687": true, "7378742833": true, "8656696": true, "2562533": true, "86282452253": true,
}

// Withheld reports whether callerID marks a caller who withheld the number
// (or whose number the network did not pass on): empty text, one of the
// words above in any case and punctuation ("Anonymous", "PRIVATE",
// "<unknown>", "sip:anonymous@anonymous.invalid", `"Restricted"`), a number
// of only zeros ("0000000000", "+000"), or a keypad-spelled word above. A
// withheld caller has no number to look up, pop, prefill or dial.
func Withheld(callerID string) bool {
	s := strings.TrimSpace(clean(callerID))
	if s == "" {
		return true
	}
	if len(s) > maxInput {
		return false
	}
	rest, _ := stripScheme(s)
	s = strings.ToLower(strings.TrimSpace(rest))
	s = strings.Trim(s, `<>"' `)
	// A display name with a URI: Anonymous <sip:anonymous@anonymous.invalid>.
	if i := strings.IndexByte(s, '<'); i > 0 {
		s = strings.TrimSpace(s[:i])
		s = strings.Trim(s, `"' `)
	}
	words := strings.Fields(strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', '.', '(', ')', '[', ']':
			return ' '
		}
		return r
	}, s))
	if len(words) == 0 {
		return true // only punctuation: nothing the network passed on
	}
	if withheldWords[strings.Join(words, " ")] {
		return true
	}
	joined := strings.Join(words, "")
	num := strings.TrimPrefix(joined, "+")
	if num == "" || strings.Trim(num, "0123456789") != "" {
		return false
	}
	if strings.Trim(num, "0") == "" && len(num) >= 3 {
		return true
	}
	return strings.HasPrefix(joined, "+") && withheldNumbers[num]
}
