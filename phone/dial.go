package phone

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Dial is a parsed dial string.
type Dial struct {
	// Number is what to call: E.164 (+442079460958) for an external
	// number, the digits as typed for a local number without area code
	// (Local), or the extension or feature code (Internal).
	Number string `json:"number"`
	// Internal: an extension or feature code of the switch (fewer than
	// MinExternalDigits digits, or * or #). Dialled as typed, no prefixes.
	Internal bool `json:"internal,omitempty"`
	// Local: a subscriber number without area code (7 digits in the US),
	// dialled with the outside-line prefix only.
	Local bool `json:"local,omitempty"`
	// Extension is sent as DTMF once the far end answers: digits, * and #,
	// with ',' for a pause ("x 22" gives "22", ",,22" two pauses then 22).
	Extension string `json:"extension,omitempty"`
}

// Options are the call center's dialing options (Salesforce call center
// section reqDialingOptions: reqOutsidePrefix, reqLongDistPrefix,
// reqInternationalPrefix). All empty: numbers are dialled in E.164.
type Options struct {
	// Outside is dialled first to get an outside line (e.g. "9").
	Outside string
	// LongDistance is dialled before a national number with area code
	// (e.g. "1" in North America, "0" in the UK).
	LongDistance string
	// International is dialled before the country code of a number abroad
	// (e.g. "011" in North America, "00" in most of the world); empty
	// uses the default region's own.
	International string
}

// Empty reports whether no option is set.
func (o Options) Empty() bool {
	return o.Outside == "" && o.LongDistance == "" && o.International == ""
}

// Validate checks each prefix is 0-9, * or #, at most 8 characters.
func (o Options) Validate() error {
	for _, p := range []struct{ name, v string }{{"outside", o.Outside}, {"long-distance", o.LongDistance}, {"international", o.International}} {
		if len(p.v) > 8 || strings.Trim(p.v, "0123456789*#") != "" {
			return fmt.Errorf("%s prefix %q: use up to 8 of 0-9 * #: %w", p.name, p.v, ErrInvalid)
		}
	}
	return nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("number: "+format+": %w", append(args, ErrInvalid)...)
}

// extMarkers start an extension when a digit follows them (longest first).
// "#" is not one: feature codes such as *21*number# use it.
var extMarkers = []string{"extension", "ext.", "ext", "ex.", "x.", "x"}

// splitExtension cuts s at the start of its extension: a pause (',', or
// ';' and the phone-dialer letters p and w, which also mean pause/wait) or
// an extension marker (x, ext., extension) followed by a digit. It
// returns the main part and the extension part (with its marker).
func splitExtension(s string) (main, ext string) {
	low := strings.ToLower(s)
	for i := 0; i < len(low); i++ {
		c := low[i]
		if c == ',' || c == ';' {
			return s[:i], s[i:]
		}
		if (c == 'p' || c == 'w') && i > 0 && followsDigit(low, i) && nextIsDigitOrPause(low, i+1) {
			return s[:i], s[i:]
		}
		for _, m := range extMarkers {
			// a letter inside a vanity word is not a marker: "1-800-XEROX"
			if strings.HasPrefix(low[i:], m) && i > 0 && nextIsDigit(low, i+len(m)) && !isLetter(low[i-1]) {
				return s[:i], s[i:]
			}
		}
	}
	return s, ""
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' }

func followsDigit(s string, i int) bool {
	for j := i - 1; j >= 0; j-- {
		switch {
		case s[j] >= '0' && s[j] <= '9':
			return true
		case s[j] == ' ' || s[j] == '-' || s[j] == '.' || s[j] == ')':
		default:
			return false
		}
	}
	return false
}

func nextIsDigit(s string, i int) bool {
	for ; i < len(s); i++ {
		switch {
		case s[i] >= '0' && s[i] <= '9':
			return true
		case s[i] == ' ' || s[i] == '.' || s[i] == ':' || s[i] == '-':
		default:
			return false
		}
	}
	return false
}

func nextIsDigitOrPause(s string, i int) bool {
	return i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == ',' || s[i] == 'p' || s[i] == 'w' || s[i] == '*' || s[i] == '#')
}

// parseExtension reads the extension part: pauses become ',', markers and
// separators are skipped, DTMF digits are kept.
func parseExtension(ext string) (string, error) {
	low := strings.ToLower(ext)
	var b strings.Builder
	for i := 0; i < len(low); {
		c := low[i]
		switch {
		case c >= '0' && c <= '9' || c == '*' || c == '#':
			b.WriteByte(c)
			i++
		case c == ',' || c == ';' || c == 'p' || c == 'w':
			b.WriteByte(',')
			i++
		case c == ' ' || c == '-' || c == '.' || c == ':' || c == '(' || c == ')':
			i++
		default:
			skipped := false
			for _, m := range extMarkers {
				if strings.HasPrefix(low[i:], m) {
					i += len(m)
					skipped = true
					break
				}
			}
			if !skipped {
				return "", invalid("the extension has a character that cannot be sent as a tone (%q): use digits, * #, and commas for pauses", rune(ext[i]))
			}
		}
	}
	out := b.String()
	if strings.Trim(out, ",") == "" {
		return "", nil
	}
	if len(out) > MaxExtension {
		return "", invalid("the extension is longer than %d digits and pauses", MaxExtension)
	}
	return strings.TrimRight(out, ","), nil
}

// ParseDial reads a number an agent, a Salesforce record or a Flow asks
// to call, for region (ISO 3166 alpha-2, e.g. "US") and the dialing
// options (prefixes already typed, as "9 1 415 555 0150", are recognised
// and not doubled). It accepts the forms Salesforce Phone fields hold:
// "(415) 555-0150 x 9", "ext. 22", "tel:+14155550150;ext=9", pauses as
// commas, "+44 (0)20 7946 0958" (the trunk 0 goes), Unicode dashes and
// spaces, and vanity letters ("1-800-FLOWERS"). Errors wrap ErrInvalid
// (and ErrWithheld for a withheld caller id) with a message saying what
// to fix.
func ParseDial(s, region string, o Options) (Dial, error) {
	if len(s) > maxInput*4 {
		return Dial{}, invalid("at most %d characters", maxInput)
	}
	s = strings.TrimSpace(clean(s))
	if s == "" {
		return Dial{}, invalid("required")
	}
	if len(s) > maxInput {
		return Dial{}, invalid("at most %d characters", maxInput)
	}
	if Withheld(s) {
		return Dial{}, fmt.Errorf("number: %q is a withheld caller id, not a number (%w): %w", clip(s), ErrWithheld, ErrInvalid)
	}
	main, uriExt := stripScheme(s)
	main, extPart := splitExtension(main)
	if uriExt != "" {
		extPart = uriExt
	}
	ext, err := parseExtension(extPart)
	if err != nil {
		return Dial{}, err
	}
	// The main number: digits, a leading +, separators, vanity letters.
	var digits strings.Builder
	plus, letters, feature := false, 0, false
	for i := 0; i < len(main); i++ {
		c := main[i]
		switch {
		case c >= '0' && c <= '9':
			digits.WriteByte(c)
		case c == '+' && digits.Len() == 0 && !plus:
			plus = true
		case c == '*' || c == '#':
			digits.WriteByte(c)
			feature = true
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/':
		case c < 0x80 && isLetter(c|0x20):
			if digits.Len() < 3 {
				return Dial{}, invalid("%q is not a number: letters are read as keypad digits only after an area code, as in 1-800-FLOWERS", clip(s))
			}
			d, _ := keypad(rune(c))
			digits.WriteByte(d)
			letters++
		default:
			return Dial{}, invalid("%q has a character that cannot be dialled (%q): use digits, spaces, - ( ) . and a leading +", clip(s), firstRune(main[i:]))
		}
	}
	d := digits.String()
	if feature || (!plus && letters == 0 && len(d) < MinExternalDigits) {
		if plus {
			return Dial{}, invalid("%q: * and # belong to feature codes, not to numbers with +", clip(s))
		}
		if len(d) < 2 || len(d) > 20 {
			return Dial{}, invalid("an extension or feature code has 2 to 20 digits, * or #")
		}
		if strings.Trim(d, "0") == "" {
			return Dial{}, invalid("%q is not a number", clip(s))
		}
		return Dial{Number: d, Internal: true, Extension: ext}, nil
	}
	if len(d) > 20 {
		return Dial{}, invalid("%q has more than 20 digits", clip(s))
	}
	if strings.Trim(d, "0") == "" {
		return Dial{}, invalid("%q is not a number", clip(s))
	}
	text := d
	if plus {
		text = "+" + d
	}
	e164, local, ok := external(text, region, o)
	if !ok {
		return Dial{}, invalid("%q is not a phone number in region %s: check the digits, or start with + and the country code", clip(s), region)
	}
	if local {
		return Dial{Number: d, Local: true, Extension: ext}, nil
	}
	return Dial{Number: e164, Extension: ext}, nil
}

// external reads digits (optionally with a leading +) as an external
// number: E.164, or local (a subscriber number without area code). When
// dialing options are set, prefixes already in the digits are tried off.
func external(text, region string, o Options) (e164 string, local, ok bool) {
	var possible string
	for _, c := range candidates(text, region, o) {
		pn, err := parse(c, region)
		if err != nil {
			continue
		}
		switch phonenumbers.IsPossibleNumberWithReason(pn) {
		case phonenumbers.IS_POSSIBLE:
			e := phonenumbers.Format(pn, phonenumbers.E164)
			if phonenumbers.IsValidNumber(pn) {
				return e, false, true
			}
			if possible == "" {
				possible = e
			}
		case phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
			if c == text && possible == "" && !strings.HasPrefix(text, "+") {
				return "", true, true
			}
		}
	}
	if possible != "" && validE164(possible) {
		return possible, false, true
	}
	return "", false, false
}

// candidates lists the readings of text: as it is, then with the outside,
// long-distance and international prefixes taken off (when set).
func candidates(text, region string, o Options) []string {
	out := []string{text}
	if o.Empty() || strings.HasPrefix(text, "+") {
		return out
	}
	bases := []string{text}
	if o.Outside != "" && strings.HasPrefix(text, o.Outside) {
		bases = append(bases, text[len(o.Outside):])
		out = append(out, text[len(o.Outside):])
	}
	intl := o.International
	if intl == "" {
		intl = idd(region)
	}
	for _, b := range bases {
		if intl != "" && strings.HasPrefix(b, intl) && len(b) > len(intl) {
			out = append(out, "+"+b[len(intl):])
		}
		if o.LongDistance != "" && strings.HasPrefix(b, o.LongDistance) && len(b) > len(o.LongDistance) {
			out = append(out, b[len(o.LongDistance):])
		}
	}
	return out
}

func parse(text, region string) (pn *phonenumbers.PhoneNumber, err error) {
	defer func() {
		if recover() != nil { // the parser must never take a call down
			pn, err = nil, ErrInvalid
		}
	}()
	return phonenumbers.Parse(text, region)
}

// idd is region's international dialing prefix ("011" in the US, "00" in
// most of the world), or "" when it has none or several.
func idd(region string) string {
	probe := "+442079460958" // any number abroad (or +1 for the UK itself)
	if region == "GB" {
		probe = "+14155550150"
	}
	pn, err := parse(probe, "")
	if err != nil {
		return ""
	}
	d := digitsOf(phonenumbers.FormatOutOfCountryCallingNumber(pn, region))
	p, ok := strings.CutSuffix(d, probe[1:])
	if !ok || p == "" {
		return ""
	}
	return p
}

// DialString is what to send the switch for d: an internal number as it
// is; with no dialing options, E.164 (or the local digits); else the
// outside prefix, then the long-distance prefix and the national number
// for a number in region's country, or the international prefix, country
// code and national number for one abroad.
func (o Options) DialString(d Dial, region string) string {
	if d.Internal {
		return d.Number
	}
	if d.Local {
		return o.Outside + d.Number
	}
	if o.Empty() {
		return d.Number
	}
	pn, err := parse(d.Number, region)
	if err != nil {
		return d.Number
	}
	nsn := phonenumbers.GetNationalSignificantNumber(pn)
	if int(pn.GetCountryCode()) == phonenumbers.GetCountryCodeForRegion(region) {
		return o.Outside + o.LongDistance + nsn
	}
	intl := o.International
	if intl == "" {
		intl = idd(region)
	}
	if intl == "" {
		return o.Outside + d.Number
	}
	return o.Outside + intl + strconv.Itoa(int(pn.GetCountryCode())) + nsn
}

// Canonical is the number a switch reports (a caller id, or the digits a
// desk phone dialled, outside-line and other prefixes included) as the
// agent should see it and Salesforce should match it: "" for a withheld
// caller; E.164 for an external number (prefixes off); else the text
// trimmed (an extension, or something that is not a number).
func Canonical(number, region string, o Options) string {
	if Withheld(number) {
		return ""
	}
	s := strings.TrimSpace(clean(number))
	if len(s) > maxInput {
		return clip(s)
	}
	main, _ := stripScheme(s)
	main, _ = splitExtension(main)
	d := digitsOf(main)
	plus := strings.HasPrefix(strings.TrimSpace(main), "+")
	if len(d) < MinExternalDigits || strings.ContainsAny(main, "*#") || strings.Trim(main, "0123456789+-.() ") != "" {
		return s
	}
	text := d
	if plus {
		text = "+" + d
	}
	if e, local, ok := external(text, region, o); ok && !local {
		return e
	}
	return s
}

// validE164 reports whether s is +, a non-zero digit, then up to 14 digits.
func validE164(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	return strings.Trim(s[1:], "0123456789") == ""
}

func clip(s string) string {
	r := []rune(s)
	if len(r) <= 40 {
		return s
	}
	return string(r[:40]) + "…"
}

func firstRune(s string) rune {
	for _, r := range s {
		return r
	}
	return 0
}
