package sim

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-cti/switchboard/pbx"
)

const (
	lucy    = "+14155550123" // a customer
	sam     = "+14155550199" // another customer
	ext1    = "1001"
	ext2    = "1002"
	ext3    = "1003"
	desk1   = "2001"
	acd1    = "3001"
	acd2    = "3002"
	support = "+18005550100"
)

// scenario is one story told to the simulator: the commands it gets, the
// result of each, and the events each softphone sees.
type scenario struct {
	name string
	cfg  func(*Config)
	run  func(h *harness)
	// errs: "label: ok" or "label: <sentinel>" per command, in order.
	errs []string
	// events per device (devices without events omitted).
	events map[string][]string
	// live: calls still in progress at the end (0 unless set).
	live int
}

func runScenarios(t *testing.T, tests []scenario) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DemoConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			h := newHarness(t, cfg)
			tc.run(h)
			h.drain()
			got := map[string][]string{}
			for k, v := range h.got {
				if len(v) > 0 {
					got[k] = v
				}
			}
			if tc.events == nil {
				t.Fatalf("no expectations; got:\n%s", goLiteral(h.errs, got))
			}
			if diff := cmp.Diff(tc.errs, h.errs); diff != "" {
				t.Errorf("command results (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.events, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if n := len(h.s.Calls()); n != tc.live {
				t.Errorf("%d calls in progress at the end, want %d: %+v", n, tc.live, h.s.Calls())
			}
			checkSnapshots(t, h)
		})
	}
}

// checkSnapshots: every device's snapshot Seq matches the last event seen.
func checkSnapshots(t *testing.T, h *harness) {
	t.Helper()
	for ext, lines := range h.got {
		snap, err := h.s.Snapshot(h.ctx, ext)
		if err != nil {
			t.Fatalf("Snapshot(%s): %v", ext, err)
		}
		if want := uint64(len(lines)); snap.Seq != want {
			t.Errorf("Snapshot(%s).Seq = %d, want %d (events seen)", ext, snap.Seq, want)
		}
	}
}

func goLiteral(errs []string, got map[string][]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "errs: []string{\n")
	for _, e := range errs {
		fmt.Fprintf(&b, "\t%q,\n", e)
	}
	fmt.Fprintf(&b, "},\nevents: map[string][]string{\n")
	for _, k := range slices.Sorted(maps.Keys(got)) {
		fmt.Fprintf(&b, "\t%q: {\n", k)
		for _, l := range got[k] {
			fmt.Fprintf(&b, "\t\t%q,\n", l)
		}
		fmt.Fprintf(&b, "\t},\n")
	}
	fmt.Fprintf(&b, "},\n")
	return b.String()
}

// shortTimers makes the timers easy to tell apart in a story.
func shortTimers(c *Config) {
	c.NoAnswer = 40 * time.Second
	c.TransferRecall = 20 * time.Second
	c.MaxHold = 60 * time.Second
	c.WorkTimer = 30 * time.Second
}

var _ = pbx.MaxParties
