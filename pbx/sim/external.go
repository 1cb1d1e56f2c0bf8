package sim

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/phone"
)

// ExternalCall is a call from the outside world into the switch.
type ExternalCall struct {
	// From is the caller's number (ANI), not an extension.
	From string
	// To is an extension, or a queue's number or name.
	To string
	// DNIS is the number the caller dialed; it defaults to the queue's
	// number or To.
	DNIS string
	// Digits the caller keyed in before reaching the switch (IVR).
	Digits string
	// Queue names the queue to deliver the call through (To may be empty).
	Queue string
	// Script is what the caller does (HangupAfter, Digits); nil does
	// nothing on its own.
	Script *Script
}

// PlaceCall rings an extension or a queue from outside. A device in DND or
// Make Busy, logged out or on too many calls gives the caller busy: the
// error wraps ErrBusy (and ErrDND or ErrNotLoggedIn). ErrInvalid,
// ErrUnknownDevice (unknown extension or queue), ErrLimit.
func (s *Sim) PlaceCall(ctx context.Context, ec ExternalCall) (string, error) {
	const op = "sim: place call"
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	if err := ec.validate(); err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	s.mu.Lock()
	defer s.end()
	if _, ok := s.devices[ec.From]; ok {
		return "", fmt.Errorf("%s: from %s: is an extension; use MakeCall for internal calls: %w", op, ec.From, pbx.ErrInvalid)
	}
	var t target
	switch {
	case ec.Queue != "":
		if t.q = s.queue(ec.Queue); t.q == nil {
			return "", fmt.Errorf("%s: queue %q: %w", op, ec.Queue, pbx.ErrUnknownDevice)
		}
	case s.queue(ec.To) != nil:
		t.q = s.queue(ec.To)
	case s.devices[ec.To] != nil:
		t.dev = s.devices[ec.To]
		if err := s.reachable(t.dev); err != nil {
			if errors.Is(err, pbx.ErrBusy) {
				return "", fmt.Errorf("%s: to %w", op, err)
			}
			return "", fmt.Errorf("%s: to %w: caller hears %w", op, err, pbx.ErrBusy)
		}
	default:
		return "", fmt.Errorf("%s: to %q: no such extension or queue: %w", op, ec.To, pbx.ErrUnknownDevice)
	}
	c, err := s.newCall(pbx.Inbound)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	c.ANI, c.DNIS, c.Digits = ec.From, ec.DNIS, ec.Digits
	if c.DNIS == "" {
		c.DNIS = ec.To
		if t.q != nil {
			c.DNIS = t.q.Number
		}
	}
	p := s.addParty(c, ec.From, nil, pbx.Connected)
	if ec.Script != nil {
		p.script = *ec.Script
		if p.script.HangupAfter > 0 {
			s.after(p, p.script.HangupAfter, func() { s.farHangup(p) })
		}
	}
	s.offer(c, t)
	s.publish(c, pbx.CauseNew)
	return c.ID, nil
}

func (ec ExternalCall) validate() error {
	switch {
	case ec.From == "":
		return fmt.Errorf("from: required: %w", pbx.ErrInvalid)
	case !isNumber(ec.From) && !phone.Withheld(ec.From):
		return fmt.Errorf("from %q: must be a phone number like +14155550123 or a withheld caller id like anonymous: %w", ec.From, pbx.ErrInvalid)
	case ec.To == "" && ec.Queue == "":
		return fmt.Errorf("to: required (an extension or a queue): %w", pbx.ErrInvalid)
	case ec.To != "" && !isNumber(ec.To) && len(ec.To) > 100:
		return fmt.Errorf("to: too long: %w", pbx.ErrInvalid)
	case ec.DNIS != "" && !isNumber(ec.DNIS):
		return fmt.Errorf("dnis %q: must be a phone number like +18005550100: %w", ec.DNIS, pbx.ErrInvalid)
	case ec.Digits != "" && !isDTMF(ec.Digits):
		return fmt.Errorf("digits %q: must be up to %d of 0-9 * #: %w", ec.Digits, MaxDigits, pbx.ErrInvalid)
	case len(ec.Queue) > 100:
		return fmt.Errorf("queue: too long: %w", pbx.ErrInvalid)
	}
	if ec.Script != nil {
		if err := ec.Script.validate(); err != nil {
			return fmt.Errorf("script: %w", err)
		}
	}
	return nil
}

// farCall finds a live call for a far-party command.
func (s *Sim) farCall(op, callID string) (*call, error) {
	c := s.calls[callID]
	if c == nil {
		return nil, fmt.Errorf("sim: %s %s: %w", op, callID, pbx.ErrUnknownCall)
	}
	return c, nil
}

// FarAnswer answers the call for its first ringing external party.
// ErrUnknownCall, ErrNotAllowed (no external party ringing).
func (s *Sim) FarAnswer(ctx context.Context, callID string) error {
	const op = "far answer"
	if err := s.begin(ctx, op, "far end", callID); err != nil {
		return err
	}
	defer s.end()
	c, err := s.farCall(op, callID)
	if err != nil {
		return err
	}
	p := c.firstExternal(pbx.Alerting)
	if p == nil {
		return fmt.Errorf("sim: %s %s: no external party is ringing: %w", op, callID, pbx.ErrNotAllowed)
	}
	s.answer(p)
	s.publish(c, pbx.CauseAnswered)
	s.scriptDigits(c)
	return nil
}

// FarHangup hangs up the call's first live external party (a caller
// waiting in a queue abandons). ErrUnknownCall, ErrNotAllowed (no external
// party).
func (s *Sim) FarHangup(ctx context.Context, callID string) error {
	const op = "far hangup"
	if err := s.begin(ctx, op, "far end", callID); err != nil {
		return err
	}
	defer s.end()
	c, err := s.farCall(op, callID)
	if err != nil {
		return err
	}
	p := c.firstExternal("")
	if p == nil {
		return fmt.Errorf("sim: %s %s: no external party on the call: %w", op, callID, pbx.ErrNotAllowed)
	}
	s.farHangup(p)
	return nil
}

// FarDigits sends DTMF from the call's first connected external party to
// the connected devices; before any device answered, the digits are
// collected on the call (Call.Digits, as an IVR would). ErrInvalid,
// ErrUnknownCall, ErrNotAllowed (no connected external party).
func (s *Sim) FarDigits(ctx context.Context, callID, digits string) error {
	const op = "far digits"
	if !isDTMF(digits) {
		return fmt.Errorf("sim: %s %s: digits %q: must be 1-%d of 0-9 * #: %w", op, callID, digits, MaxDigits, pbx.ErrInvalid)
	}
	if err := s.begin(ctx, op, "far end", callID); err != nil {
		return err
	}
	defer s.end()
	c, err := s.farCall(op, callID)
	if err != nil {
		return err
	}
	p := c.firstExternal(pbx.Connected)
	if p == nil {
		return fmt.Errorf("sim: %s %s: no connected external party: %w", op, callID, pbx.ErrNotAllowed)
	}
	if c.deviceConnected() {
		s.sendDigits(c, p, digits)
		return nil
	}
	if len(c.Digits)+len(digits) > MaxDigits {
		return fmt.Errorf("sim: %s %s: more than %d collected digits: %w", op, callID, MaxDigits, pbx.ErrLimit)
	}
	c.Digits += digits
	s.publish(c, pbx.CauseDigits)
	return nil
}

// SetNumberScript sets what external number does when dialed (and when it
// is a caller placed without its own script). An invalid script (negative
// durations, bad digits) or number is ignored.
func (s *Sim) SetNumberScript(number string, sc Script) {
	if !isNumber(number) || sc.validate() != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[number] = sc
}

// scriptFor returns what number does when dialed.
func (s *Sim) scriptFor(number string) Script {
	if sc, ok := s.scripts[number]; ok {
		return sc
	}
	return s.cfg.DefaultFarParty
}

// Calls returns every call in progress, oldest first (including calls
// waiting in a queue).
func (s *Sim) Calls() []pbx.Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := make([]*call, 0, len(s.calls))
	for _, c := range s.calls {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, byAge)
	out := make([]pbx.Call, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.snapshot())
	}
	return out
}

// Call returns the call in progress with that id.
// DigitsHeard returns the DTMF digits devices sent to the external parties
// of a call in progress (what an IVR on the far end heard), in order.
func (s *Sim) DigitsHeard(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.calls[id]
	if !ok {
		return "", false
	}
	return c.farDigits, true
}

func (s *Sim) Call(id string) (pbx.Call, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.calls[id]
	if !ok {
		return pbx.Call{}, false
	}
	return c.snapshot(), true
}
