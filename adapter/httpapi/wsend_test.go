package httpapi

import (
	"testing"
	"time"
)

func TestPopClaimsAreLimitedToABurstThenARatePerSocket(t *testing.T) {
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	l := newClaimLimiter(func() time.Time { return now })
	allowed := 0
	for i := 0; i < 3*claimBurst; i++ {
		if l.allow() {
			allowed++
		}
	}
	if allowed != claimBurst {
		t.Fatalf("%d claims allowed at once, want the burst of %d", allowed, claimBurst)
	}
	now = now.Add(time.Second)
	allowed = 0
	for i := 0; i < claimBurst; i++ {
		if l.allow() {
			allowed++
		}
	}
	if allowed != int(claimRate) {
		t.Fatalf("%d claims allowed a second later, want %v", allowed, claimRate)
	}
	now = now.Add(time.Hour)
	allowed = 0
	for i := 0; i < 3*claimBurst; i++ {
		if l.allow() {
			allowed++
		}
	}
	if allowed != claimBurst {
		t.Fatalf("%d claims allowed after an idle hour, want the burst of %d (no more)", allowed, claimBurst)
	}
}

func TestRequestIDsFromCallersAreKeptOnlyWhenPlain(t *testing.T) {
	for id, want := range map[string]bool{
		"abc-123_DEF.4":          true,
		"":                       false,
		"has space":              false,
		"line\nbreak":            false,
		`{"json":1}`:             false,
		string(make([]byte, 65)): false,
	} {
		if got := plainID(id); got != want {
			t.Errorf("plainID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestOnlyOAuthErrorCodesThatLookLikeOnesAreLogged(t *testing.T) {
	for in, want := range map[string]string{
		"login_required": "login_required",
		"access_denied":  "access_denied",
		"<script>":       "other",
		"Login Required": "other",
		"a_very_long_code_" + string(make([]byte, 40)): "other",
	} {
		if got := oauthErrorCode(in); got != want {
			t.Errorf("oauthErrorCode(%q) = %q, want %q", in, got, want)
		}
	}
}
