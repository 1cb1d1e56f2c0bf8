package sim

import (
	"context"
	"fmt"

	"github.com/switchboard-cti/switchboard/pbx"
)

// begin checks ctx and locks the simulator; the caller must s.end().
func (s *Sim) begin(ctx context.Context, op, ext, callID string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sim: %s %s on %s: %w", op, callID, ext, err)
	}
	s.mu.Lock()
	return nil
}

// beginCall starts a command on ext's connection to callID (see lookup).
// On success the caller must call s.end().
func (s *Sim) beginCall(ctx context.Context, op, ext, callID string) (*device, *call, *party, error) {
	if err := s.begin(ctx, op, ext, callID); err != nil {
		return nil, nil, nil, err
	}
	d, c, p, err := s.lookup(op, ext, callID)
	if err != nil {
		s.end()
		return nil, nil, nil, err
	}
	return d, c, p, nil
}

// end finishes the command and unlocks.
func (s *Sim) end() {
	s.flush()
	s.mu.Unlock()
}

// callErr wraps a sentinel with the command, call, device and reason.
func callErr(op, ext, callID string, err error, why string) error {
	if why == "" {
		return fmt.Errorf("sim: %s %s on %s: %w", op, callID, ext, err)
	}
	return fmt.Errorf("sim: %s %s on %s: %s: %w", op, callID, ext, why, err)
}

// lookup finds ext's live party on callID.
func (s *Sim) lookup(op, ext, callID string) (*device, *call, *party, error) {
	d, ok := s.devices[ext]
	if !ok {
		return nil, nil, nil, callErr(op, ext, callID, pbx.ErrUnknownDevice, "")
	}
	c := s.calls[callID]
	if c == nil {
		return nil, nil, nil, callErr(op, ext, callID, pbx.ErrUnknownCall, "")
	}
	p := c.liveParty(d)
	if p == nil {
		return nil, nil, nil, callErr(op, ext, callID, pbx.ErrUnknownCall, "extension is not on the call")
	}
	return d, c, p, nil
}

// orphaned: ext consults on c after the held party hung up, so only Clear
// is allowed until the consulted party answers.
func orphaned(c *call, d *device) bool { return c.orphan && c.by == d }

const orphanWhy = "the held party hung up; only clear is allowed until the consulted party answers"

// MakeCall dials number from ext; other calls connected at ext go on hold.
// ErrInvalid (malformed number, own extension), ErrUnknownDevice,
// ErrNotLoggedIn (ext or the called device), ErrBusy, ErrDND, ErrLimit.
func (s *Sim) MakeCall(ctx context.Context, ext, number string) (string, error) {
	const op = "make call"
	if err := s.begin(ctx, op, ext, number); err != nil {
		return "", err
	}
	defer s.end()
	d, ok := s.devices[ext]
	if !ok {
		return "", fmt.Errorf("sim: %s from %s: %w", op, ext, pbx.ErrUnknownDevice)
	}
	if !d.state.LoggedIn {
		return "", fmt.Errorf("sim: %s from %s: nobody logged in: %w", op, ext, pbx.ErrNotLoggedIn)
	}
	if number == ext {
		return "", fmt.Errorf("sim: %s from %s to %s: cannot call your own extension: %w", op, ext, number, pbx.ErrInvalid)
	}
	if len(d.live) >= MaxCallsPerDevice {
		return "", fmt.Errorf("sim: %s from %s: already on %d calls: %w", op, ext, len(d.live), pbx.ErrLimit)
	}
	t, err := s.resolve(number)
	if err != nil {
		return "", fmt.Errorf("sim: %s from %s: %w", op, ext, err)
	}
	dir := pbx.Outbound
	if t.dev != nil || t.q != nil {
		dir = pbx.Internal
	}
	c, err := s.newCall(dir)
	if err != nil {
		return "", fmt.Errorf("sim: %s from %s: %w", op, ext, err)
	}
	s.holdOthers(d, nil)
	c.ANI, c.DNIS = ext, number
	s.addParty(c, ext, d, pbx.Connected)
	s.offer(c, t)
	s.publish(c, pbx.CauseNew)
	s.scriptDigits(c)
	return c.ID, nil
}

// Answer answers a call ringing at ext (also a hold or transfer recall);
// other calls connected at ext go on hold. ErrUnknownCall, ErrNotAllowed.
func (s *Sim) Answer(ctx context.Context, ext, callID string) error {
	const op = "answer"
	d, c, p, err := s.beginCall(ctx, op, ext, callID)
	if err != nil {
		return err
	}
	defer s.end()
	if p.State != pbx.Alerting {
		return callErr(op, ext, callID, pbx.ErrNotAllowed, "the call is "+string(p.State)+", not ringing")
	}
	s.holdOthers(d, c)
	s.answer(p)
	s.publish(c, pbx.CauseAnswered)
	s.scriptDigits(c)
	return nil
}

// Clear disconnects ext from the call. While ext consults (one call on
// consultation hold, the consultation call live), clearing either call
// completes the transfer: supervised if the consulted party answered,
// unsupervised otherwise. ErrUnknownCall.
func (s *Sim) Clear(ctx context.Context, ext, callID string) error {
	const op = "clear"
	d, c, p, err := s.beginCall(ctx, op, ext, callID)
	if err != nil {
		return err
	}
	defer s.end()
	if x, y, ok := consultPair(d, c); ok {
		if s.transfer(d, x, y) == nil {
			return nil
		}
	}
	s.disconnect(p)
	s.settle(c)
	s.publish(c, pbx.CauseCleared)
	return nil
}

// Hold puts ext's connected call on hard hold; it rings back to ext after
// Config.MaxHold. ErrUnknownCall, ErrNotAllowed.
func (s *Sim) Hold(ctx context.Context, ext, callID string) error {
	const op = "hold"
	d, c, p, err := s.beginCall(ctx, op, ext, callID)
	if err != nil {
		return err
	}
	defer s.end()
	if orphaned(c, d) {
		return callErr(op, ext, callID, pbx.ErrNotAllowed, orphanWhy)
	}
	if p.State != pbx.Connected {
		return callErr(op, ext, callID, pbx.ErrNotAllowed, "the call is "+string(p.State)+", not connected")
	}
	s.hold(p)
	s.publish(c, pbx.CauseHeld)
	return nil
}

// Retrieve reconnects ext to a held call (or a hold recall ringing back).
// Retrieving the call on consultation hold cancels the consultation: ext
// leaves the consultation call. Other calls connected at ext go on hold.
// ErrUnknownCall, ErrNotAllowed.
func (s *Sim) Retrieve(ctx context.Context, ext, callID string) error {
	const op = "retrieve"
	d, c, p, err := s.beginCall(ctx, op, ext, callID)
	if err != nil {
		return err
	}
	defer s.end()
	switch {
	case p.State == pbx.Held, p.State == pbx.ConsultHeld, p.State == pbx.Alerting && p.recall:
	default:
		return callErr(op, ext, callID, pbx.ErrNotAllowed, "the call is "+string(p.State)+", not held")
	}
	if y := c.consult; y != nil && p.State == pbx.ConsultHeld {
		c.consult, y.held = nil, nil
		c.RelatedID, y.RelatedID = "", ""
		if q := y.liveParty(d); q != nil {
			s.disconnect(q)
			s.settle(y)
			s.publish(y, pbx.CauseRetrieved)
		}
	}
	s.holdOthers(d, c)
	s.setState(p, pbx.Connected)
	p.recall = false
	s.publish(c, pbx.CauseRetrieved)
	return nil
}

// Redirect sends a call ringing at ext to number without answering it; the
// caller keeps hearing ringing and ext leaves the call. ErrUnknownCall,
// ErrNotAllowed (not ringing, number already on the call), ErrInvalid,
// ErrBusy, ErrDND, ErrNotLoggedIn.
func (s *Sim) Redirect(ctx context.Context, ext, callID, number string) error {
	const op = "redirect"
	d, c, p, err := s.beginCall(ctx, op, ext, callID)
	if err != nil {
		return err
	}
	defer s.end()
	if p.State != pbx.Alerting {
		return callErr(op, ext, callID, pbx.ErrNotAllowed, "only a ringing call can be redirected; the call is "+string(p.State))
	}
	if number == ext {
		return callErr(op, ext, callID, pbx.ErrInvalid, "cannot redirect to the ringing extension itself")
	}
	t, err := s.resolve(number)
	if err != nil {
		return callErr(op, ext, callID, err, "")
	}
	if t.q != nil {
		return callErr(op, ext, callID, pbx.ErrNotAllowed, "cannot redirect to a queue")
	}
	if t.dev != nil && c.liveParty(t.dev) != nil {
		return callErr(op, ext, callID, pbx.ErrNotAllowed, "extension "+number+" is already on the call")
	}
	from := p.transferFrom
	if c.acdAgent == d {
		c.acdAgent = nil
	}
	s.disconnect(p)
	np := s.offer(c, t)
	if from != nil && np != nil && np.State == pbx.Alerting {
		np.transferFrom = from
		s.after(np, s.cfg.TransferRecall, func() { s.noAnswer(np) })
	}
	s.publish(c, pbx.CauseRedirected)
	s.scriptDigits(c)
	return nil
}

// SendDTMF sends digits (1 to MaxDigits of 0-9 * #) on ext's connected
// call; the other connected devices get DigitsReceived. ErrInvalid,
// ErrUnknownCall, ErrNotAllowed.
func (s *Sim) SendDTMF(ctx context.Context, ext, callID, digits string) error {
	const op = "send dtmf"
	if !isDTMF(digits) {
		return callErr(op, ext, callID, pbx.ErrInvalid, fmt.Sprintf("digits %q: must be 1-%d of 0-9 * #", digits, MaxDigits))
	}
	if err := s.begin(ctx, op, ext, callID); err != nil {
		return err
	}
	defer s.end()
	d, c, p, err := s.lookup(op, ext, callID)
	if err != nil {
		return err
	}
	if orphaned(c, d) {
		return callErr(op, ext, callID, pbx.ErrNotAllowed, orphanWhy)
	}
	if p.State != pbx.Connected {
		return callErr(op, ext, callID, pbx.ErrNotAllowed, "the call is "+string(p.State)+", not connected")
	}
	s.sendDigits(c, p, digits)
	return nil
}
