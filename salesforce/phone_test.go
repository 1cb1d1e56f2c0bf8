package salesforce

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		name, in, region, want string
		ok                     bool
	}{
		{"a US national number gets +1", "(415) 555-0123", "US", "+14155550123", true},
		{"E.164 stays as it is", "+14155550123", "US", "+14155550123", true},
		{"dots and spaces are ignored", "415.555.0123", "US", "+14155550123", true},
		{"a leading 1 is the country code", "1 415 555 0123", "US", "+14155550123", true},
		{"the US international prefix is understood", "011 44 20 7946 0958", "US", "+442079460958", true},
		{"a UK national number in region GB", "020 7946 0958", "GB", "+442079460958", true},
		{"a tel: URI", "tel:+1-415-555-0123", "US", "+14155550123", true},
		{"a SIP URI with parameters", "sip:+14155550123@pbx;user=phone", "US", "+14155550123", true},
		{"an extension suffix is dropped", "415-555-0123 x 42", "US", "+14155550123", true},
		{"an internal extension is not a number", "1001", "US", "", false},
		{"words are not a number", "anonymous", "US", "", false},
		{"empty is not a number", "", "US", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := NormalizePhone(tc.in, tc.region)
			if got != tc.want || ok != tc.ok {
				t.Errorf("NormalizePhone(%q, %s) = %q, %v; want %q, %v", tc.in, tc.region, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestPhoneVariantsCoverTheFormsPeopleStore(t *testing.T) {
	tests := []struct {
		name, in, region string
		want             []string
	}{
		{"a US number", "+14155550123", "US", []string{"+14155550123", "4155550123", "(415) 555-0123", "+1 415-555-0123"}},
		{"a UK number keeps its trunk 0 in national forms", "+442079460958", "US", []string{"+442079460958", "2079460958", "02079460958", "020 7946 0958", "+44 20 7946 0958"}},
		{"a long digit string that does not parse is searched as digits", "99999999999999999", "US", []string{"99999999999999999"}},
		{"an extension is not searched", "2001", "US", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, PhoneVariants(tc.in, tc.region)); diff != "" {
				t.Errorf("PhoneVariants(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"+14155550123", "(415) 555-0123", "tel:+44 20 7946 0958", "sip:1001@pbx", "", "+", "00000000000",
		"+999999999999999999", "011", "\xff", "+1 (415) 555-0123 ext. 99", "＋１４１５５５５０１２３", "+8613800138000"} {
		f.Add(s, "US")
		f.Add(s, "GB")
	}
	f.Add("0", "")
	f.Add("12345678", "ZZ")
	f.Fuzz(func(t *testing.T, s, region string) {
		e, ok := NormalizePhone(s, region)
		if ok != (e != "") || ok && !validE164(e) {
			t.Fatalf("NormalizePhone(%q, %q) = %q, %v: not E.164", s, region, e, ok)
		}
		for _, v := range PhoneVariants(s, region) {
			if v == "" || len(v) > 40 || strings.Trim(v, "0123456789 +-().") != "" {
				t.Fatalf("PhoneVariants(%q, %q) gave %q", s, region, v)
			}
		}
		_ = SamePhone(s, e, region)
	})
}
