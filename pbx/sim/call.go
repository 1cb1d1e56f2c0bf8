package sim

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/switchboard-cti/switchboard/pbx"
)

// call is one call on the switch. The embedded pbx.Call holds everything
// but Parties, which snapshot builds from parties.
type call struct {
	pbx.Call
	n       uint64
	parties []*party
	members []*device // devices told about the call and not yet told it ended
	ended   bool

	q        *queue // the ACD queue that delivers the call
	waiting  bool   // in q.waiting
	acdAgent *device

	// Consultation: the held call points to its consultation call and back.
	consult *call   // on the held call
	held    *call   // on the consultation call
	by      *device // who consults (on both)
	// orphan: the held call's far party hung up; on the consultation call
	// the consulting device may only clear until somebody answers.
	orphan bool
	// farDigits: DTMF devices sent while an external party was connected.
	farDigits string
}

// party is one leg of a call.
type party struct {
	pbx.Party
	gen      uint64 // bumped on every state change; stale timers check it
	call     *call
	dev      *device // nil for an external party
	script   Script  // external parties only
	answered bool
	// recall: ringing back to the holder or transferrer.
	recall bool
	// transferFrom: ringing after an unsupervised transfer by this device.
	transferFrom *device
	digitsSent   bool
	timers       []Timer
}

func (p *party) live() bool { return p.State != pbx.Disconnected }

func (c *call) snapshot() pbx.Call {
	out := c.Call
	out.Parties = make([]pbx.Party, len(c.parties))
	for i, p := range c.parties {
		out.Parties[i] = p.Party
	}
	return out
}

func (c *call) liveCount() int {
	n := 0
	for _, p := range c.parties {
		if p.live() {
			n++
		}
	}
	return n
}

// liveParty returns d's live party on c, or nil.
func (c *call) liveParty(d *device) *party {
	for i := len(c.parties) - 1; i >= 0; i-- {
		if p := c.parties[i]; p.dev == d && p.live() {
			return p
		}
	}
	return nil
}

// firstExternal returns the first live external party in state st (any
// live state when st is "").
func (c *call) firstExternal(st pbx.ConnState) *party {
	for _, p := range c.parties {
		if p.dev == nil && p.live() && (st == "" || p.State == st) {
			return p
		}
	}
	return nil
}

// byAge orders calls oldest first.
func byAge(a, b *call) int { return cmp.Compare(a.n, b.n) }

func sortedCalls(m map[*call]bool) []*call {
	cs := slices.Collect(maps.Keys(m))
	slices.SortFunc(cs, byAge)
	return cs
}

// newCall registers a call.
func (s *Sim) newCall(dir pbx.Direction) (*call, error) {
	if len(s.calls) >= MaxCalls {
		return nil, fmt.Errorf("%d calls in progress: %w", len(s.calls), pbx.ErrLimit)
	}
	s.nextID++
	c := &call{n: s.nextID}
	c.ID = fmt.Sprintf("%s%d", s.prefix, s.nextID)
	c.Direction = dir
	c.Created = s.clock.Now()
	s.calls[c.ID] = c
	return c, nil
}

// addParty adds a party to c; d is nil for an external number.
func (s *Sim) addParty(c *call, number string, d *device, st pbx.ConnState) *party {
	p := &party{call: c, dev: d}
	p.Number = number
	p.Internal = d != nil
	if d != nil {
		p.Name = d.displayName(s)
	}
	p.State = st
	p.Since = s.clock.Now()
	c.parties = append(c.parties, p)
	return p
}

// displayName is the name shown for the device: the logged-in agent's,
// else the extension's.
func (d *device) displayName(s *Sim) string {
	if a, ok := s.agents[d.state.AgentID]; ok && a.Name != "" {
		return a.Name
	}
	return d.ext.Name
}

// setState moves p to st, cancelling its pending timers.
func (s *Sim) setState(p *party, st pbx.ConnState) {
	p.gen++
	for _, t := range p.timers {
		t.Stop()
	}
	p.timers = p.timers[:0]
	p.State = st
	p.Since = s.clock.Now()
}

// disconnect takes p off its call. An ACD agent that talked on the call
// goes into work time once the command is done.
func (s *Sim) disconnect(p *party) {
	if !p.live() {
		return
	}
	s.setState(p, pbx.Disconnected)
	p.recall, p.transferFrom = false, nil
	c := p.call
	if p.dev != nil && c.acdAgent == p.dev && p.answered && c.liveParty(p.dev) == nil {
		c.acdAgent = nil
		p.dev.lastACD = c
		s.workStart = append(s.workStart, p.dev)
	}
}

// settle ends c for everybody when fewer than two parties are left on it
// (a call waiting in a queue needs only its caller).
func (s *Sim) settle(c *call) {
	if c.waiting || c.liveCount() >= 2 {
		return
	}
	for _, p := range c.parties {
		s.disconnect(p)
	}
}

// unlink breaks the consultation link of a call that ended and returns
// the other call, now changed, or nil.
func (s *Sim) unlink(c *call) *call {
	if y := c.consult; y != nil { // the held call ended
		c.consult, y.held = nil, nil
		c.RelatedID, y.RelatedID = "", ""
		if p := y.liveParty(y.by); p != nil && !y.othersConnected(p) {
			y.orphan = true
		}
		return y
	}
	if x := c.held; x != nil { // the consultation call ended
		c.held, x.consult = nil, nil
		c.RelatedID, x.RelatedID = "", ""
		return x
	}
	return nil
}

// othersConnected: somebody other than p is connected on p's call.
func (c *call) othersConnected(p *party) bool {
	for _, q := range c.parties {
		if q != p && q.State == pbx.Connected {
			return true
		}
	}
	return false
}

// target is where a dialed number leads.
type target struct {
	dev    *device
	q      *queue
	number string // external number
}

// resolve finds where number leads and whether a call may go there now.
func (s *Sim) resolve(number string) (target, error) {
	if !isNumber(number) {
		return target{}, fmt.Errorf("number %q: must be an extension or a phone number like +14155550123: %w", number, pbx.ErrInvalid)
	}
	if d, ok := s.devices[number]; ok {
		return target{dev: d}, s.reachable(d)
	}
	if q := s.queue(number); q != nil {
		return target{q: q}, nil
	}
	if s.scriptFor(number).Busy {
		return target{}, fmt.Errorf("number %s: %w", number, pbx.ErrBusy)
	}
	return target{number: number}, nil
}

// offer rings t on c.
func (s *Sim) offer(c *call, t target) *party {
	switch {
	case t.dev != nil:
		p := s.addParty(c, t.dev.ext.Number, t.dev, pbx.Alerting)
		s.armAlerting(p)
		return p
	case t.q != nil:
		c.ACD = true
		c.Queue = t.q.Name
		c.q = t.q
		t.q.enqueue(c, false)
		return nil
	default:
		p := s.addParty(c, t.number, nil, pbx.Alerting)
		p.script = s.scriptFor(t.number)
		s.armAlerting(p)
		return p
	}
}

// armAlerting starts the timers of a ringing party; a far party scripted
// to answer at once answers here.
func (s *Sim) armAlerting(p *party) {
	if p.dev == nil && !p.script.NeverAnswer {
		if p.script.AnswerAfter == 0 {
			s.answer(p)
			return
		}
		s.after(p, p.script.AnswerAfter, func() {
			s.answer(p)
			s.publish(p.call, pbx.CauseAnswered)
			s.scriptDigits(p.call)
		})
	}
	if p.transferFrom != nil {
		s.after(p, s.cfg.TransferRecall, func() { s.noAnswer(p) })
	}
	s.after(p, s.cfg.NoAnswer, func() { s.noAnswer(p) })
}

// answer connects a ringing party (without publishing).
func (s *Sim) answer(p *party) {
	s.setState(p, pbx.Connected)
	p.answered = true
	p.recall, p.transferFrom = false, nil
	c := p.call
	c.orphan = false
	if p.dev == nil && p.script.HangupAfter > 0 {
		s.after(p, p.script.HangupAfter, func() { s.farHangup(p) })
	}
}

// noAnswer handles a party that rang too long.
func (s *Sim) noAnswer(p *party) {
	c := p.call
	switch {
	case p.transferFrom != nil && c.liveParty(p.transferFrom) == nil:
		from := p.transferFrom
		s.disconnect(p)
		r := s.addParty(c, from.ext.Number, from, pbx.Alerting)
		r.recall = true
		s.armAlerting(r)
		s.publish(c, pbx.CauseRecall)
	case p.dev != nil && c.acdAgent == p.dev && c.q != nil && !p.answered:
		s.disconnect(p)
		c.acdAgent = nil
		c.q.enqueue(c, true)
		s.publish(c, pbx.CauseNoAnswer)
	default:
		s.disconnect(p)
		s.settle(c)
		s.publish(c, pbx.CauseNoAnswer)
	}
}

// farHangup disconnects an external party.
func (s *Sim) farHangup(p *party) {
	c := p.call
	s.disconnect(p)
	s.settle(c)
	s.publish(c, pbx.CauseCleared)
}

// scriptDigits sends the scripted DTMF of external parties that now talk
// to a device.
func (s *Sim) scriptDigits(c *call) {
	if c.ended {
		return
	}
	for _, p := range c.parties {
		if p.dev == nil && p.State == pbx.Connected && p.script.Digits != "" && !p.digitsSent && c.deviceConnected() {
			p.digitsSent = true
			s.sendDigits(c, p, p.script.Digits)
		}
	}
}

func (c *call) deviceConnected() bool {
	for _, p := range c.parties {
		if p.dev != nil && p.State == pbx.Connected {
			return true
		}
	}
	return false
}

// sendDigits reports DTMF from one party to the other connected devices.
func (s *Sim) sendDigits(c *call, from *party, digits string) {
	if from.dev != nil && slices.ContainsFunc(c.parties, func(p *party) bool { return p.dev == nil && p.State == pbx.Connected }) && len(c.farDigits) < 256 {
		c.farDigits += digits
	}
	snap := c.snapshot()
	for i, p := range c.parties {
		if p == from || p.dev == nil || p.State != pbx.Connected || (from.dev != nil && p.dev == from.dev) ||
			slices.ContainsFunc(c.parties[:i], func(q *party) bool { return q.dev == p.dev && q.State == pbx.Connected }) {
			continue
		}
		cp := snap
		cp.Parties = slices.Clone(snap.Parties)
		s.emit(p.dev, pbx.Event{Type: pbx.DigitsReceived, Cause: pbx.CauseDigits, Call: &cp, Digits: digits})
	}
}

// holdOthers puts d's other connected calls on hold, as a desk phone does
// when it answers or dials another call.
func (s *Sim) holdOthers(d *device, except *call) {
	for _, c := range sortedCalls(d.live) {
		if c == except || c.orphan {
			continue
		}
		if p := c.liveParty(d); p != nil && p.State == pbx.Connected {
			s.hold(p)
			s.publish(c, pbx.CauseHeld)
		}
	}
}

// hold puts p on hard hold with a hold recall timer.
func (s *Sim) hold(p *party) {
	s.setState(p, pbx.Held)
	s.after(p, s.cfg.MaxHold, func() {
		s.setState(p, pbx.Alerting)
		p.recall = true
		s.armAlerting(p)
		s.publish(p.call, pbx.CauseRecall)
	})
}
