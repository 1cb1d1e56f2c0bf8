package adapter

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/switchboard-cti/switchboard/phone"
)

// Numbers is how this site reads and dials phone numbers: one rule for the
// agent API, click-to-dial, the Flow API and the softphone (which may send
// raw text and let the server decide).
type Numbers struct {
	// Region is the default region of national numbers (ISO 3166 alpha-2,
	// "US" when empty).
	Region string
	// Dialing holds the call center's dialing options (outside-line,
	// long-distance and international prefixes), applied to external
	// calls only, never to internal extensions.
	Dialing phone.Options
}

func (n Numbers) region() string {
	if r, ok := phone.Region(n.Region); ok {
		return r
	}
	return "US"
}

// Dial parses s (see phone.ParseDial: extensions, pauses, vanity letters,
// Unicode punctuation, "+44 (0)20 ...") and returns it with the string to
// send the switch (dialing options applied). Errors wrap ErrInvalid and
// say what to fix.
func (n Numbers) Dial(s string) (phone.Dial, string, error) {
	d, err := phone.ParseDial(s, n.region(), n.Dialing)
	if err != nil {
		if errors.Is(err, phone.ErrWithheld) {
			return phone.Dial{}, "", fmt.Errorf("number: the caller withheld the number, so there is none to call: %w", ErrInvalid)
		}
		return phone.Dial{}, "", fmt.Errorf("%s: %w", strings.TrimSuffix(err.Error(), ": "+phone.ErrInvalid.Error()), ErrInvalid)
	}
	return d, n.Dialing.DialString(d, n.region()), nil
}

// Canonical is a number the switch reported (a caller id, a number dialled
// with the outside-line prefix) as the agent sees it and Salesforce
// matches it: "" when the caller withheld it, E.164 for an external number,
// else as it is (an extension).
func (n Numbers) Canonical(s string) string {
	return phone.Canonical(s, n.region(), n.Dialing)
}

// NormalizeDial reads a number to dial with the default Numbers (region
// US, no dialing options) and returns the string for the switch. Kept for
// callers outside the Service; the Service uses its own Numbers.
func NormalizeDial(s string) (string, error) {
	_, ds, err := Numbers{}.Dial(s)
	return ds, err
}

// ValidateNumber reports whether s can be dialled with the default Numbers
// (region US, no dialing options).
func ValidateNumber(s string) error {
	_, _, err := Numbers{}.Dial(s)
	return err
}

// ValidateDigits checks DTMF digits: 0-9, * and #, 1 to 32 of them.
func ValidateDigits(s string) error {
	if s == "" || len(s) > 32 {
		return fmt.Errorf("digits: 1 to 32 of 0-9 * #: %w", ErrInvalid)
	}
	for _, r := range s {
		if (r < '0' || r > '9') && r != '*' && r != '#' {
			return fmt.Errorf("digits: %q is not a DTMF digit (use 0-9 * #): %w", r, ErrInvalid)
		}
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// maskNumber shortens a phone number for logs: only the last 4 digits.
func maskNumber(n string) string {
	if len(n) <= 4 {
		return "****"
	}
	return "***" + n[len(n)-4:]
}

// The extension of a dialled number ("x 22", ";ext=22", ",,22") is sent as
// DTMF once the far end answers. MakeCall keeps it in the store under the
// call, so whichever instance handles the answer sends it, exactly once
// (a claim), also when the answer came before MakeCall returned.

const extensionTTL = 30 * time.Minute

func extensionKey(ext, callID string) string { return "dialext:" + ext + "/" + callID }

var extensionSeq atomic.Uint64

// armExtension remembers digits to send on callID once it is answered.
func (s *Service) armExtension(ctx context.Context, ext, callID, digits string) {
	if err := s.Store.SetCache(ctx, extensionKey(ext, callID), []byte(digits), extensionTTL); err != nil {
		s.Log.Warn().Err(err).Str("call", callID).Msg("extension not stored; it will not be sent")
		return
	}
	if rec, err := s.Store.Call(ctx, ext, callID); err == nil && rec.wasAnswered() {
		s.sendExtension(ctx, ext, callID) // answered before we got here
	}
}

// sendExtension sends the extension armed for callID, if any, once.
func (s *Service) sendExtension(ctx context.Context, ext, callID string) {
	b, ok, err := s.Store.Cache(ctx, extensionKey(ext, callID))
	if err != nil || !ok || len(b) == 0 {
		return
	}
	owner := fmt.Sprintf("%s:%d", s.Instance, extensionSeq.Add(1))
	if got, err := s.Store.Claim(ctx, "dtmf:"+ext+"/"+callID, owner, extensionTTL); err != nil || !got {
		return
	}
	s.playExtension(ext, callID, string(b))
}

// playExtension sends digits, waiting DialPause for each ',' before them.
func (s *Service) playExtension(ext, callID, digits string) {
	pauses := len(digits) - len(strings.TrimLeft(digits, ","))
	digits = digits[pauses:]
	chunk, rest, _ := strings.Cut(digits, ",")
	if rest != "" {
		rest = "," + rest
	}
	send := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if chunk != "" {
			if err := s.Switch.SendDTMF(ctx, ext, callID, chunk); err != nil {
				s.Log.Warn().Err(err).Str("call", callID).Msg("extension not sent")
				return
			}
		}
		if rest != "" {
			s.playExtension(ext, callID, rest)
		}
	}
	if pauses == 0 {
		send() // switches take commands while their events are handled
		return
	}
	s.AfterFunc(time.Duration(pauses)*s.DialPause, send)
}
