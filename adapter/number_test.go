package adapter_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/phone"
)

// FuzzNumbersDial: any dial string from the agent API, click-to-dial or a
// Flow gives a dial string the switch takes, or ErrInvalid (a 400 with a
// message starting "number"), never a panic.
func FuzzNumbersDial(f *testing.F) {
	for _, s := range []string{"+44 (0)20 7946 0958", "(415) 555-0150 x 9", "tel:+1-415-555-0150;ext=9", "415,,22", "1-800-FLOWERS",
		"anonymous", "<unknown>", "0000000000", "", "1001", "*72", "\u2011", "x", "+", "9 011 44 20 7946 0958", "\xff"} {
		f.Add(s)
	}
	sites := []adapter.Numbers{{}, {Region: "GB", Dialing: phone.Options{Outside: "9", LongDistance: "0", International: "00"}},
		{Region: "US", Dialing: phone.Options{Outside: "9", LongDistance: "1", International: "011"}}}
	f.Fuzz(func(t *testing.T, s string) {
		for _, n := range sites {
			d, dial, err := n.Dial(s)
			if err != nil {
				if !errors.Is(err, adapter.ErrInvalid) || !strings.HasPrefix(err.Error(), "number") {
					t.Fatalf("Dial(%q): %v: want ErrInvalid saying what is wrong with the number", s, err)
				}
				continue
			}
			if dial == "" || len(dial) > 40 || strings.Trim(strings.TrimPrefix(dial, "+"), "0123456789*#") != "" {
				t.Fatalf("Dial(%q) = %q: not a dial string", s, dial)
			}
			if d.Internal && dial != d.Number {
				t.Fatalf("Dial(%q): prefixes on the internal number %q: %q", s, d.Number, dial)
			}
			if phone.Withheld(s) {
				t.Fatalf("Dial(%q) dialled a withheld caller id", s)
			}
		}
	})
}
