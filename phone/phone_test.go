package phone

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWithheldCallerIDs(t *testing.T) {
	withheld := []string{
		"", "   ", "anonymous", "Anonymous", "ANONYMOUS", "private", "PRIVATE", "Private Number", "restricted",
		"Restricted", "unavailable", "UNAVAILABLE", "unknown", "Unknown", "<unknown>", "withheld", "Withheld",
		"number_withheld", "sip:anonymous@anonymous.invalid", `"Anonymous" <sip:anonymous@anonymous.invalid>`,
		"0000000000", "000-000-0000", "+0000000000", "000", "P", "o", "+266696687", "+7378742833", "\u200bAnonymous\u200b",
		"not-available", "no caller id", "-",
	}
	for _, s := range withheld {
		if !Withheld(s) {
			t.Errorf("Withheld(%q) = false, want true", s)
		}
	}
	numbers := []string{"+14155550123", "(415) 555-0123", "1001", "0", "00", "911", "+442079460958", "266696687", "Anna", "sip:1001@pbx", "100000"}
	for _, s := range numbers {
		if Withheld(s) {
			t.Errorf("Withheld(%q) = true, want false", s)
		}
	}
}

func TestParseDial(t *testing.T) {
	tests := []struct {
		name, in, region string
		want             Dial
	}{
		{"the trunk 0 in brackets after a country code goes", "+44 (0)20 7946 0958", "US", Dial{Number: "+442079460958"}},
		{"a national number gets the default region's country code", "(415) 555-0150", "US", Dial{Number: "+14155550150"}},
		{"a national number in another default region", "020 7946 0958", "GB", Dial{Number: "+442079460958"}},
		{"x with a space", "(415) 555-0150 x 9", "US", Dial{Number: "+14155550150", Extension: "9"}},
		{"ext. 22", "415-555-0150 ext. 22", "US", Dial{Number: "+14155550150", Extension: "22"}},
		{"Ext without a dot", "415 555 0150 Ext 22", "US", Dial{Number: "+14155550150", Extension: "22"}},
		{"extension spelled out", "+1 415 555 0150 extension 301", "US", Dial{Number: "+14155550150", Extension: "301"}},
		{"an x right after the digits", "4155550150x7", "US", Dial{Number: "+14155550150", Extension: "7"}},
		{"RFC 3966 ext parameter", "tel:+1-415-555-0150;ext=9", "US", Dial{Number: "+14155550150", Extension: "9"}},
		{"pauses written as commas", "415-555-0150,,22", "US", Dial{Number: "+14155550150", Extension: ",,22"}},
		{"pause letter p", "4155550150p22#", "US", Dial{Number: "+14155550150", Extension: ",22#"}},
		{"Unicode dashes and no-break spaces", "+1\u00a0415\u2011555\u20130150", "US", Dial{Number: "+14155550150"}},
		{"a minus sign and an em dash", "415\u2212555\u20140150", "US", Dial{Number: "+14155550150"}},
		{"full-width digits", "\uff0b\uff11\uff14\uff11\uff15\uff15\uff15\uff15\uff10\uff11\uff15\uff10", "US", Dial{Number: "+14155550150"}},
		{"zero-width characters from a web page", "\u202a+1 415 555 0150\u202c", "US", Dial{Number: "+14155550150"}},
		{"vanity letters are dialled by their digits", "1-800-FLOWERS", "US", Dial{Number: "+18003569377"}},
		{"vanity without the 1", "800-FLOWERS", "US", Dial{Number: "+18003569377"}},
		{"an internal extension stays internal", "1001", "US", Dial{Number: "1001", Internal: true}},
		{"an extension with separators", "10-01", "US", Dial{Number: "1001", Internal: true}},
		{"a feature code", "*72", "US", Dial{Number: "*72", Internal: true}},
		{"a feature code with # and a number", "*21*4155550150#", "US", Dial{Number: "*21*4155550150#", Internal: true}},
		{"a local number without area code", "555-0150", "US", Dial{Number: "5550150", Local: true}},
		{"the US international access code", "011 44 20 7946 0958", "US", Dial{Number: "+442079460958"}},
		{"a sip URI", "sip:+14155550150@pbx.example;user=phone", "US", Dial{Number: "+14155550150"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDial(tc.in, tc.region, Options{})
			if err != nil {
				t.Fatalf("ParseDial(%q): %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseDial(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestParseDialRefusesWithAReason(t *testing.T) {
	tests := []struct{ name, in, wantIn string }{
		{"empty", "  ", "required"},
		{"a withheld caller id", "anonymous", "withheld"},
		{"all zeros", "0000000000", "withheld"},
		{"words", "call me", "letters"},
		{"an emoji", "415 555 0150 ☎", "cannot be dialled"},
		{"a bad extension", "415 555 0150 x 12a", "extension"},
		{"too many digits", "+1 415 555 0150 123456789012", "more than 20 digits"},
		{"not a number anywhere", "+999 123 4567", "not a phone number"},
		{"a one-digit extension", "7", "2 to 20"},
		{"too long", strings.Repeat("5", 200), "at most"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseDial(tc.in, "US", Options{})
			if err == nil {
				t.Fatalf("ParseDial(%q) = %+v, want an error", tc.in, d)
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantIn) {
				t.Errorf("ParseDial(%q) error %q: want ErrInvalid saying %q", tc.in, err, tc.wantIn)
			}
		})
	}
}

func TestDialingOptionsApplyToExternalCallsOnly(t *testing.T) {
	nanp := Options{Outside: "9", LongDistance: "1", International: "011"}
	tests := []struct {
		name, in, region string
		o                Options
		want             string
	}{
		{"no options: E.164", "(415) 555-0150", "US", Options{}, "+14155550150"},
		{"a national call: outside + long distance + national number", "(415) 555-0150", "US", nanp, "914155550150"},
		{"an international call: outside + international + country code", "+44 20 7946 0958", "US", nanp, "9011442079460958"},
		{"an internal extension gets no prefix", "1001", "US", nanp, "1001"},
		{"a feature code gets no prefix", "*72", "US", nanp, "*72"},
		{"a local number gets the outside prefix only", "555-0150", "US", nanp, "95550150"},
		{"a prefix the agent already typed is not doubled", "9 1 415 555 0150", "US", nanp, "914155550150"},
		{"an international prefix already typed", "9 011 44 20 7946 0958", "US", nanp, "9011442079460958"},
		{"only an outside prefix: the region's international prefix", "+44 20 7946 0958", "US", Options{Outside: "9"}, "9011442079460958"},
		{"UK site: 9, then 0 for national calls", "+44 20 7946 0958", "GB", Options{Outside: "9", LongDistance: "0", International: "00"}, "902079460958"},
		{"UK site calling the US", "+1 415 555 0150", "GB", Options{Outside: "9", LongDistance: "0", International: "00"}, "90014155550150"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseDial(tc.in, tc.region, tc.o)
			if err != nil {
				t.Fatalf("ParseDial(%q): %v", tc.in, err)
			}
			if got := tc.o.DialString(d, tc.region); got != tc.want {
				t.Errorf("DialString(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestCanonicalTakesDialingPrefixesOff(t *testing.T) {
	nanp := Options{Outside: "9", LongDistance: "1", International: "011"}
	tests := []struct {
		name, in string
		o        Options
		want     string
	}{
		{"E.164 stays", "+14155550150", nanp, "+14155550150"},
		{"outside + long distance", "914155550150", nanp, "+14155550150"},
		{"outside + international", "9011442079460958", nanp, "+442079460958"},
		{"a national number starting with 9 is not cut", "9195550100", nanp, "+19195550100"},
		{"an extension", "1001", nanp, "1001"},
		{"a withheld caller", "anonymous", nanp, ""},
		{"all zeros", "0000000000", Options{}, ""},
		{"national without options", "(415) 555-0150", Options{}, "+14155550150"},
		{"an extension suffix is not part of the number", "(415) 555-0154 x22", Options{}, "+14155550154"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Canonical(tc.in, "US", tc.o); got != tc.want {
				t.Errorf("Canonical(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	if err := (Options{Outside: "9", LongDistance: "1", International: "011"}).Validate(); err != nil {
		t.Errorf("valid options: %v", err)
	}
	if err := (Options{Outside: "nine"}).Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("letters in a prefix: %v, want ErrInvalid", err)
	}
}

// FuzzParseDial: any string gives a dialable number or ErrInvalid, never a
// panic; a withheld caller id is never dialable.
func FuzzParseDial(f *testing.F) {
	for _, s := range []string{"+44 (0)20 7946 0958", "(415) 555-0150 x 9", "tel:+1-415-555-0150;ext=9", "415,,22", "1-800-FLOWERS",
		"anonymous", "<unknown>", "0000000000", "", "1001", "*72", "\u2011\u00a0", "x", "ext.", "+", "++1", "9 011 44", "sip:@;ext=",
		"\xff\xfe", "1;ext=;ext=1", "p", "415w", "#1", "+1 415 555 0150 #22"} {
		f.Add(s, "US")
	}
	f.Add("020 7946 0958", "GB")
	f.Add("12345678", "ZZ")
	f.Fuzz(func(t *testing.T, s, region string) {
		for _, o := range []Options{{}, {Outside: "9", LongDistance: "1", International: "011"}} {
			d, err := ParseDial(s, region, o)
			if err != nil {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("ParseDial(%q): error %v does not wrap ErrInvalid", s, err)
				}
				continue
			}
			if Withheld(s) {
				t.Fatalf("ParseDial(%q) dialled a withheld caller id: %+v", s, d)
			}
			ds := o.DialString(d, region)
			if ds == "" || len(ds) > 40 || strings.Trim(strings.TrimPrefix(ds, "+"), "0123456789*#") != "" {
				t.Fatalf("ParseDial(%q) gave dial string %q", s, ds)
			}
			if strings.Trim(d.Extension, "0123456789*#,") != "" || len(d.Extension) > MaxExtension {
				t.Fatalf("ParseDial(%q) gave extension %q", s, d.Extension)
			}
			if !d.Internal && !d.Local && !validE164(d.Number) {
				t.Fatalf("ParseDial(%q) gave external number %q", s, d.Number)
			}
		}
		_ = Canonical(s, region, Options{Outside: "9"})
	})
}

func BenchmarkParseDial(b *testing.B) {
	o := Options{Outside: "9", LongDistance: "1", International: "011"}
	for _, in := range []string{"(415) 555-0150 x 9", "+44 (0)20 7946 0958", "1001"} {
		b.Run(in, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				d, err := ParseDial(in, "US", o)
				if err != nil {
					b.Fatal(err)
				}
				_ = o.DialString(d, "US")
			}
		})
	}
}

func BenchmarkWithheld(b *testing.B) {
	for i := 0; i < b.N; i++ {
		_ = Withheld("+14155550150")
	}
}
