package sim

import (
	"context"
	"fmt"

	"github.com/switchboard-cti/switchboard/pbx"
)

// consultPair returns the held call x and the consultation call y when c is
// one of them and d is the consulting device, on consultation hold on x.
func consultPair(d *device, c *call) (x, y *call, ok bool) {
	x, y = c, c.consult
	if c.held != nil {
		x, y = c.held, c
	}
	if y == nil || x.by != d {
		return nil, nil, false
	}
	if p := x.liveParty(d); p == nil || p.State != pbx.ConsultHeld {
		return nil, nil, false
	}
	if y.liveParty(d) == nil {
		return nil, nil, false
	}
	return x, y, true
}

// consulted returns y's live parties other than d's.
func consulted(d *device, y *call) []*party {
	var out []*party
	for _, p := range y.parties {
		if p.live() && p.dev != d {
			out = append(out, p)
		}
	}
	return out
}

// move takes parties off y and puts them on x, keeping their state and
// timers.
func move(ps []*party, y, x *call) error {
	for _, p := range ps {
		if p.dev != nil && x.liveParty(p.dev) != nil {
			return fmt.Errorf("extension %s is already on call %s: %w", p.dev.ext.Number, x.ID, pbx.ErrNotAllowed)
		}
	}
	for _, p := range ps {
		for i, q := range y.parties {
			if q == p {
				y.parties = append(y.parties[:i], y.parties[i+1:]...)
				break
			}
		}
		p.call = x
		x.parties = append(x.parties, p)
	}
	return nil
}

// Consult puts ext's connected call on consultation hold and dials number
// from ext; it returns the consultation call. ErrNotAllowed (hard hold,
// not connected, already consulting, number already on the call, queue),
// ErrInvalid, ErrBusy, ErrDND, ErrNotLoggedIn, ErrUnknownCall.
func (s *Sim) Consult(ctx context.Context, ext, callID, number string) (string, error) {
	const op = "consult"
	d, x, p, err := s.beginCall(ctx, op, ext, callID)
	if err != nil {
		return "", err
	}
	defer s.end()
	switch {
	case orphaned(x, d):
		return "", callErr(op, ext, callID, pbx.ErrNotAllowed, orphanWhy)
	case p.State == pbx.Held:
		return "", callErr(op, ext, callID, pbx.ErrNotAllowed, "the call is on hard hold; retrieve it first")
	case x.held != nil:
		return "", callErr(op, ext, callID, pbx.ErrNotAllowed, "the call is itself a consultation call")
	case x.consult != nil:
		return "", callErr(op, ext, callID, pbx.ErrNotAllowed, "a consultation is already in progress")
	case p.State != pbx.Connected && p.State != pbx.ConsultHeld:
		return "", callErr(op, ext, callID, pbx.ErrNotAllowed, "the call is "+string(p.State)+", not connected")
	case number == ext:
		return "", callErr(op, ext, callID, pbx.ErrInvalid, "cannot consult your own extension")
	case len(d.live) >= MaxCallsPerDevice:
		return "", callErr(op, ext, callID, pbx.ErrLimit, "too many calls at this extension")
	}
	t, err := s.resolve(number)
	if err != nil {
		return "", callErr(op, ext, callID, err, "")
	}
	if t.q != nil {
		return "", callErr(op, ext, callID, pbx.ErrNotAllowed, "cannot consult a queue")
	}
	if t.dev != nil && x.liveParty(t.dev) != nil {
		return "", callErr(op, ext, callID, pbx.ErrNotAllowed, "extension "+number+" is already on the call")
	}
	dir := pbx.Outbound
	if t.dev != nil {
		dir = pbx.Internal
	}
	y, err := s.newCall(dir)
	if err != nil {
		return "", callErr(op, ext, callID, err, "")
	}
	s.holdOthers(d, x)
	if p.State != pbx.ConsultHeld {
		s.setState(p, pbx.ConsultHeld)
	}
	x.consult, y.held = y, x
	x.by, y.by = d, d
	x.RelatedID, y.RelatedID = y.ID, x.ID
	y.ANI, y.DNIS = ext, number
	s.publish(x, pbx.CauseConsult)
	s.addParty(y, ext, d, pbx.Connected)
	s.offer(y, t)
	s.publish(y, pbx.CauseConsult)
	s.scriptDigits(y)
	return y.ID, nil
}

// Transfer completes the transfer of the held call to the consulted party
// (callID may be either call): supervised if it answered, unsupervised if
// it is still ringing, in which case it rings back to ext as a recall
// after Config.TransferRecall. ext leaves both calls; the held call lives
// on. ErrNotAllowed (hard hold, no consultation), ErrLimit, ErrUnknownCall.
func (s *Sim) Transfer(ctx context.Context, ext, callID string) error {
	const op = "transfer"
	d, c, p, err := s.beginCall(ctx, op, ext, callID)
	if err != nil {
		return err
	}
	defer s.end()
	if why := s.joinBlocked(d, c, p); why != "" {
		return callErr(op, ext, callID, pbx.ErrNotAllowed, why)
	}
	x, y, _ := consultPair(d, c)
	if err := s.transfer(d, x, y); err != nil {
		return callErr(op, ext, callID, err, "")
	}
	return nil
}

// joinBlocked says why ext may not transfer or conference c, or "".
func (s *Sim) joinBlocked(d *device, c *call, p *party) string {
	switch {
	case orphaned(c, d):
		return orphanWhy
	case p.State == pbx.Held && c.consult == nil:
		return "the call is on hard hold"
	}
	x, y, ok := consultPair(d, c)
	if !ok {
		return "no consultation in progress"
	}
	if q := y.liveParty(d); q.State != pbx.Connected {
		return "the consultation call is " + string(q.State)
	}
	if len(consulted(d, y)) == 0 || x.liveCount() < 2 {
		return "nobody to transfer to"
	}
	return ""
}

// transfer hands x's parties over to y's consulted parties: they move to x
// and d leaves both calls.
func (s *Sim) transfer(d *device, x, y *call) error {
	ps := consulted(d, y)
	if len(ps) == 0 {
		return fmt.Errorf("nobody to transfer to: %w", pbx.ErrNotAllowed)
	}
	if n := x.liveCount() - 1 + len(ps); n > pbx.MaxParties {
		return fmt.Errorf("%d parties: %w", n, pbx.ErrLimit)
	}
	if err := move(ps, y, x); err != nil {
		return err
	}
	x.consult, y.held = nil, nil
	x.RelatedID, y.RelatedID = "", ""
	for _, p := range ps {
		if p.State == pbx.Alerting {
			p.transferFrom = d
			s.after(p, s.cfg.TransferRecall, func() { s.noAnswer(p) })
		}
	}
	s.disconnect(y.liveParty(d))
	s.disconnect(x.liveParty(d))
	s.publish(y, pbx.CauseTransferred)
	s.settle(x)
	s.publish(x, pbx.CauseTransferred)
	s.scriptDigits(x)
	return nil
}

// Conference joins the consulted party to the held call (callID may be
// either call), even before it answers; the parties on consultation hold
// are taken off hold. ErrLimit beyond pbx.MaxParties, ErrNotAllowed (hard
// hold, no consultation), ErrUnknownCall.
func (s *Sim) Conference(ctx context.Context, ext, callID string) error {
	const op = "conference"
	d, c, p, err := s.beginCall(ctx, op, ext, callID)
	if err != nil {
		return err
	}
	defer s.end()
	if why := s.joinBlocked(d, c, p); why != "" {
		return callErr(op, ext, callID, pbx.ErrNotAllowed, why)
	}
	x, y, _ := consultPair(d, c)
	ps := consulted(d, y)
	if n := x.liveCount() + len(ps); n > pbx.MaxParties {
		return callErr(op, ext, callID, pbx.ErrLimit, fmt.Sprintf("a conference has at most %d parties", pbx.MaxParties))
	}
	if err := move(ps, y, x); err != nil {
		return callErr(op, ext, callID, err, "")
	}
	x.consult, y.held = nil, nil
	x.RelatedID, y.RelatedID = "", ""
	s.disconnect(y.liveParty(d))
	for _, q := range x.parties {
		if q.State == pbx.ConsultHeld {
			s.setState(q, pbx.Connected)
		}
	}
	s.publish(y, pbx.CauseConferenced)
	s.publish(x, pbx.CauseConferenced)
	s.scriptDigits(x)
	return nil
}
