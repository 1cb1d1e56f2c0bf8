package adapter

import (
	"fmt"
	"testing"

	"github.com/switchboard-cti/switchboard/phone"
)

func TestTheRingingPathsNumberCacheAnswersAsCanonicalAndStaysBounded(t *testing.T) {
	var c canonCache
	us, gb := Numbers{Region: "US"}, Numbers{Region: "GB", Dialing: phone.Options{Outside: "9"}}
	for _, n := range []string{"+14155550123", "(415) 555-0123", "020 7946 0018", "anonymous", "1001"} {
		for _, nums := range []Numbers{us, gb} {
			for range 2 { // computed, then remembered
				if got, want := c.canonical(nums, n), nums.Canonical(n); got != want {
					t.Errorf("%s in %s: %q, want %q", n, nums.Region, got, want)
				}
			}
		}
	}
	for i := range canonCacheSize + 10 {
		c.canonical(us, fmt.Sprintf("+1415555%04d", i))
	}
	if len(c.m) > canonCacheSize {
		t.Errorf("%d entries, want at most %d", len(c.m), canonCacheSize)
	}
}
