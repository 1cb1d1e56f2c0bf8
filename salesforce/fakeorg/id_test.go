package fakeorg

import "testing"

func TestIDSuffixMatchesSalesforce(t *testing.T) {
	for _, tc := range []struct{ id15, want string }{
		{"0015000000Gv7qJ", "AAR"},
	} {
		if got := idSuffix(tc.id15); got != tc.want {
			t.Errorf("idSuffix(%q) = %q, want %q", tc.id15, got, tc.want)
		}
	}
}
