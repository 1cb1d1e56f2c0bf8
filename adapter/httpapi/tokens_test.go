package httpapi

import (
	"errors"
	"testing"
	"time"

	"github.com/switchboard-cti/switchboard/adapter"
)

func TestSessionTokensSurviveKeyRotation(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	old := SigningKey{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")}
	fresh := SigningKey{ID: "k2", Secret: []byte("fedcba9876543210fedcba9876543210")}
	before := &TokenIssuer{Keys: []SigningKey{old}, TTL: 15 * time.Minute, Issuer: "switchboard", Audience: "softphone", Now: clock}
	tok, _, err := before.Issue("005000000000001AAA", "sid-1")
	if err != nil {
		t.Fatal(err)
	}
	rotated := &TokenIssuer{Keys: []SigningKey{fresh, old}, TTL: 15 * time.Minute, Issuer: "switchboard", Audience: "softphone", Now: clock}
	if uid, sid, err := rotated.Verify(tok); err != nil || uid != "005000000000001AAA" || sid != "sid-1" {
		t.Fatalf("a token of the previous key after rotation: %q %q %v", uid, sid, err)
	}
	newTok, _, _ := rotated.Issue("005000000000001AAA", "sid-1")
	retired := &TokenIssuer{Keys: []SigningKey{fresh}, TTL: 15 * time.Minute, Issuer: "switchboard", Audience: "softphone", Now: clock}
	if _, _, err := retired.Verify(newTok); err != nil {
		t.Fatalf("a token of the new key: %v", err)
	}
	if _, _, err := retired.Verify(tok); !errors.Is(err, adapter.ErrUnauthorized) {
		t.Fatalf("a token of a retired key: err = %v, want ErrUnauthorized", err)
	}
	now = now.Add(16 * time.Minute)
	if _, _, err := retired.Verify(newTok); !errors.Is(err, adapter.ErrUnauthorized) {
		t.Fatalf("an expired token: err = %v, want ErrUnauthorized", err)
	}
}
