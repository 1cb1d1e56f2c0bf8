package sim

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/switchboard-cti/switchboard/pbx"
)

// queue is an ACD queue and the calls waiting in it, oldest first.
type queue struct {
	Queue
	waiting []*call
}

// enqueue puts c in line; front puts it first (a call no agent answered).
func (q *queue) enqueue(c *call, front bool) {
	c.q, c.waiting = q, true
	if front {
		q.waiting = slices.Insert(q.waiting, 0, c)
	} else {
		q.waiting = append(q.waiting, c)
	}
}

// remove takes c out of line.
func (q *queue) remove(c *call) {
	if q == nil {
		return
	}
	q.waiting = slices.DeleteFunc(q.waiting, func(x *call) bool { return x == c })
	c.waiting = false
}

// queue returns the queue with that name or number, or nil.
func (s *Sim) queue(key string) *queue {
	for _, q := range s.queues {
		if q.Name == key || q.Number == key {
			return q
		}
	}
	return nil
}

// dispatch offers waiting calls to available agents.
func (s *Sim) dispatch() {
	for _, q := range s.queues {
		for len(q.waiting) > 0 {
			d := s.pickAgent(q)
			if d == nil {
				break
			}
			c := q.waiting[0]
			q.remove(c)
			c.acdAgent = d
			s.offer(c, target{dev: d})
			s.publish(c, pbx.CauseNew)
		}
	}
}

// pickAgent returns q's available member that has been idle the longest.
func (s *Sim) pickAgent(q *queue) *device {
	var best *device
	for _, m := range q.Members {
		for _, d := range s.order {
			if d.ext.Number != m && d.state.AgentID != m || !d.available() {
				continue
			}
			if best == nil || d.idleSince.Before(best.idleSince) {
				best = d
			}
		}
	}
	return best
}

// available: logged in, not DND or Make Busy, not in work time, idle.
func (d *device) available() bool {
	st := d.state
	return st.LoggedIn && !st.DND && !st.MakeBusy && !st.WorkTimer && len(d.live) == 0
}

// startWorkTimer puts an ACD agent in work time after a call.
func (s *Sim) startWorkTimer(d *device) {
	if d.workTimer != nil {
		d.workTimer.Stop()
	}
	d.workGen++
	gen := d.workGen
	d.state.WorkTimer = true
	d.state.WorkTimerEnds = s.clock.Now().Add(s.cfg.WorkTimer)
	d.state.ClassificationPending = s.cfg.ClassificationRequired && d.lastACD != nil && d.lastACD.ClassificationCode == ""
	d.workTimer = s.clock.AfterFunc(s.cfg.WorkTimer, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if d.workGen != gen || !d.state.WorkTimer {
			return
		}
		s.stopWorkTimer(d)
		s.emitState(d, pbx.CauseWorkTimer)
		s.flush()
	})
	s.emitState(d, pbx.CauseWorkTimer)
}

// stopWorkTimer ends work time without reporting it.
func (s *Sim) stopWorkTimer(d *device) {
	if d.workTimer != nil {
		d.workTimer.Stop()
		d.workTimer = nil
	}
	d.workGen++
	d.state.WorkTimer = false
	d.state.WorkTimerEnds = time.Time{}
	d.state.ClassificationPending = false
	d.idleSince = s.clock.Now()
}

// CancelWorkTimer ends ext's work timer; it does nothing when none runs.
// ErrNotAllowed while a required classification code is missing,
// ErrUnknownDevice.
func (s *Sim) CancelWorkTimer(ctx context.Context, ext string) error {
	const op = "cancel work timer"
	if err := s.begin(ctx, op, ext, ""); err != nil {
		return err
	}
	defer s.end()
	d, err := s.device(op, ext)
	if err != nil {
		return err
	}
	if !d.state.WorkTimer {
		return nil
	}
	if d.state.ClassificationPending {
		return fmt.Errorf("sim: %s on %s: set a classification code on call %s first: %w", op, ext, d.lastACD.ID, pbx.ErrNotAllowed)
	}
	s.stopWorkTimer(d)
	s.emitState(d, pbx.CauseWorkTimer)
	return nil
}

// SetDND turns Do Not Disturb on or off. Calls to a device in DND are
// refused; ACD queues skip it. ErrUnknownDevice.
func (s *Sim) SetDND(ctx context.Context, ext string, on bool) error {
	const op = "set dnd"
	if err := s.begin(ctx, op, ext, ""); err != nil {
		return err
	}
	defer s.end()
	d, err := s.device(op, ext)
	if err != nil {
		return err
	}
	if d.state.DND != on {
		d.state.DND = on
		s.emitState(d, pbx.CauseNone)
	}
	return nil
}

// SetMakeBusy turns Make Busy on with a configured reason code (or "" when
// none are configured), or off. ErrInvalid for an unknown or missing
// reason, ErrUnknownDevice.
func (s *Sim) SetMakeBusy(ctx context.Context, ext string, on bool, reason string) error {
	const op = "set make busy"
	if err := s.begin(ctx, op, ext, ""); err != nil {
		return err
	}
	defer s.end()
	d, err := s.device(op, ext)
	if err != nil {
		return err
	}
	if !on {
		reason = ""
	} else if len(s.cfg.Reasons) == 0 && reason != "" {
		return fmt.Errorf("sim: %s on %s: reason %q: no reason codes are configured: %w", op, ext, reason, pbx.ErrInvalid)
	} else if len(s.cfg.Reasons) > 0 && !hasCode(s.cfg.Reasons, reason) {
		return fmt.Errorf("sim: %s on %s: reason %q: must be one of the configured reason codes: %w", op, ext, reason, pbx.ErrInvalid)
	}
	if d.state.MakeBusy != on || d.state.Reason != reason {
		d.state.MakeBusy, d.state.Reason = on, reason
		s.emitState(d, pbx.CauseNone)
	}
	return nil
}

func hasCode(codes []pbx.Code, code string) bool {
	return slices.ContainsFunc(codes, func(c pbx.Code) bool { return c.Code == code })
}

// beginOn starts a login command on ext, which must be a device of kind
// (ErrNotAllowed, naming what it does not take). On success the caller
// must call s.end().
func (s *Sim) beginOn(ctx context.Context, op, ext string, kind pbx.DeviceKind, what string) (*device, error) {
	if err := s.begin(ctx, op, ext, ""); err != nil {
		return nil, err
	}
	d, err := s.device(op, ext)
	if err == nil && d.ext.Kind != kind {
		err = fmt.Errorf("sim: %s on %s: a %s extension takes no %s: %w", op, ext, d.ext.Kind, what, pbx.ErrNotAllowed)
	}
	if err != nil {
		s.end()
		return nil, err
	}
	return d, nil
}

// ACDLogin logs agentID in on ext, a KindACD device. Logging the same agent
// in again does nothing. ErrAuth (unknown agent), ErrNotAllowed (not an
// ACD set, another agent there, agent logged in elsewhere),
// ErrUnknownDevice.
func (s *Sim) ACDLogin(ctx context.Context, ext, agentID string) error {
	const op = "acd login"
	d, err := s.beginOn(ctx, op, ext, pbx.KindACD, "agent login")
	if err != nil {
		return err
	}
	defer s.end()
	if _, ok := s.agents[agentID]; !ok {
		return fmt.Errorf("sim: %s on %s: agent %q: %w", op, ext, agentID, pbx.ErrAuth)
	}
	if d.state.AgentID == agentID {
		return nil
	}
	if d.state.LoggedIn {
		return fmt.Errorf("sim: %s on %s: agent %s is logged in here: %w", op, ext, d.state.AgentID, pbx.ErrNotAllowed)
	}
	for _, o := range s.order {
		if o.state.AgentID == agentID {
			return fmt.Errorf("sim: %s on %s: agent %s is logged in on %s: %w", op, ext, agentID, o.ext.Number, pbx.ErrNotAllowed)
		}
	}
	d.state.LoggedIn, d.state.AgentID = true, agentID
	d.idleSince = s.clock.Now()
	s.emitState(d, pbx.CauseLogin)
	return nil
}

// ACDLogout logs the agent out of ext, ending its work timer; its calls
// go on. ErrNotLoggedIn, ErrNotAllowed (not an ACD set), ErrUnknownDevice.
func (s *Sim) ACDLogout(ctx context.Context, ext string) error {
	const op = "acd logout"
	d, err := s.beginOn(ctx, op, ext, pbx.KindACD, "agent login")
	if err != nil {
		return err
	}
	defer s.end()
	if !d.state.LoggedIn {
		return fmt.Errorf("sim: %s on %s: %w", op, ext, pbx.ErrNotLoggedIn)
	}
	s.stopWorkTimer(d)
	d.state.LoggedIn, d.state.AgentID = false, ""
	s.emitState(d, pbx.CauseLogin)
	return nil
}

// HotDeskLogin logs a user in to hot-desk extension ext with pin; logging
// in again does nothing. ErrAuth (wrong PIN), ErrNotAllowed (not a
// hot-desk extension), ErrUnknownDevice.
func (s *Sim) HotDeskLogin(ctx context.Context, ext, pin string) error {
	const op = "hot-desk login"
	d, err := s.beginOn(ctx, op, ext, pbx.KindHotDesk, "hot-desk login")
	if err != nil {
		return err
	}
	defer s.end()
	if pin != d.ext.PIN {
		return fmt.Errorf("sim: %s on %s: wrong PIN: %w", op, ext, pbx.ErrAuth)
	}
	if !d.state.LoggedIn {
		d.state.LoggedIn = true
		d.idleSince = s.clock.Now()
		s.emitState(d, pbx.CauseLogin)
	}
	return nil
}

// HotDeskLogout logs the user out of ext; its calls go on.
// ErrNotLoggedIn, ErrNotAllowed (not a hot-desk extension),
// ErrUnknownDevice.
func (s *Sim) HotDeskLogout(ctx context.Context, ext string) error {
	const op = "hot-desk logout"
	d, err := s.beginOn(ctx, op, ext, pbx.KindHotDesk, "hot-desk login")
	if err != nil {
		return err
	}
	defer s.end()
	if !d.state.LoggedIn {
		return fmt.Errorf("sim: %s on %s: %w", op, ext, pbx.ErrNotLoggedIn)
	}
	d.state.LoggedIn = false
	s.emitState(d, pbx.CauseLogin)
	return nil
}
