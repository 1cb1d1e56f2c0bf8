// Package sim is a deterministic, embedded simulator of a business PBX. It
// implements pbx.Switch with the call features of the MiVoice Integration
// for Salesforce guide: make, answer, clear, hold (with hold recall),
// consultation, supervised and unsupervised transfer (with transfer
// recall), conference of up to pbx.MaxParties parties, redirect, DTMF, Do
// Not Disturb, Make Busy with reason codes, hot-desk and ACD login, ACD
// queues that offer calls to the longest-idle agent, the post-call work
// timer, account and classification codes.
//
// Time comes from an injected Clock, so a test drives every timer with a
// FakeClock and sees the same events every run. Calls from the outside
// world (customers ringing in, far parties answering or hanging up) are
// driven with PlaceCall, FarAnswer, FarHangup and FarDigits, by scripts
// (Script), or over HTTP through Handler.
package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-cti/switchboard/pbx"
)

// SubscriberBuffer is how many events a subscriber may fall behind before
// the simulator drops its events (the subscriber then sees a Seq gap).
const SubscriberBuffer = 256

var _ pbx.Switch = (*Sim)(nil)

// Sim is a simulated PBX. Every method is safe for concurrent use. Create
// it with New.
type Sim struct {
	mu      sync.Mutex
	cfg     Config
	clock   Clock
	prefix  string
	nextID  uint64
	devices map[string]*device
	order   []*device // config order
	agents  map[string]Agent
	queues  []*queue
	calls   map[string]*call
	scripts map[string]Script

	// allSubs get every device's events (SubscribeAll).
	allSubs pbx.Subscribers

	// work collected by a command, finished by flush.
	touched   []*device // devices that left a call
	workStart []*device // ACD agents whose call just ended
}

type device struct {
	ext       Extension
	state     pbx.DeviceState
	seq       uint64
	subs      pbx.Subscribers
	live      map[*call]bool // calls with a live party of this device (nil until the first)
	idleSince time.Time
	workGen   uint64
	workTimer Timer
	lastACD   *call // the last ACD call the agent handled
}

// New returns a simulator for cfg (zero durations take the defaults) on
// clock. It reports every problem with cfg at once.
func New(cfg Config, clock Clock) (*Sim, error) {
	if clock == nil {
		return nil, errors.New("sim: New: clock is nil (use RealClock() or NewFakeClock)")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Sim{
		cfg:     cfg,
		clock:   clock,
		prefix:  cfg.CallIDPrefix,
		devices: make(map[string]*device, len(cfg.Extensions)),
		agents:  map[string]Agent{},
		calls:   map[string]*call{},
		scripts: map[string]Script{},
	}
	if s.prefix == "" {
		s.prefix = fmt.Sprintf("c%04x-", rand.IntN(1<<16))
	}
	now := clock.Now()
	// One allocation for every device: 10,000 devices start in a few ms.
	devs := make([]device, len(cfg.Extensions))
	s.order = make([]*device, len(cfg.Extensions))
	for i, e := range cfg.Extensions {
		d := &devs[i]
		*d = device{
			ext: e,
			state: pbx.DeviceState{
				Device:   pbx.Device{Extension: e.Number, Name: e.Name, Kind: e.Kind},
				LoggedIn: e.Kind == pbx.KindRegular,
			},
			idleSince: now,
		}
		s.devices[e.Number] = d
		s.order[i] = d
	}
	for _, a := range cfg.Agents {
		s.agents[a.ID] = a
	}
	for _, q := range cfg.Queues {
		s.queues = append(s.queues, &queue{Queue: q})
	}
	return s, nil
}

// Devices lists every device in configuration order.
func (s *Sim) Devices(ctx context.Context) ([]pbx.Device, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sim: devices: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]pbx.Device, 0, len(s.order))
	for _, d := range s.order {
		out = append(out, d.state.Device)
	}
	return out, nil
}

// DeviceStates returns the state of every device in configuration order.
func (s *Sim) DeviceStates() []pbx.DeviceState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]pbx.DeviceState, 0, len(s.order))
	for _, d := range s.order {
		out = append(out, d.state)
	}
	return out
}

// Snapshot returns ext's state, its calls and the Seq of its last event.
// ErrUnknownDevice.
func (s *Sim) Snapshot(ctx context.Context, ext string) (pbx.Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return pbx.Snapshot{}, fmt.Errorf("sim: snapshot %s: %w", ext, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.device("snapshot", ext)
	if err != nil {
		return pbx.Snapshot{}, err
	}
	snap := pbx.Snapshot{Seq: d.seq, State: d.state, Calls: []pbx.Call{}}
	for _, c := range sortedCalls(d.live) {
		snap.Calls = append(snap.Calls, c.snapshot())
	}
	return snap, nil
}

// Subscribe returns ext's events from now on, in Seq order, in a channel
// buffered for SubscriberBuffer events. The simulator never waits for a
// subscriber: when the buffer is full the event is dropped. The channel is
// closed by cancel or when ctx ends. ErrUnknownDevice.
func (s *Sim) Subscribe(ctx context.Context, ext string) (<-chan pbx.Event, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("sim: subscribe %s: %w", ext, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.device("subscribe", ext)
	if err != nil {
		return nil, nil, err
	}
	ch, cancel := d.subs.Add(ctx, &s.mu, SubscriberBuffer)
	return ch, cancel, nil
}

// AllSubscriberBuffer is how many events a SubscribeAll subscriber may
// fall behind, over every device, before events are dropped.
const AllSubscriberBuffer = 16384

// SubscribeAll returns every device's events on one channel (each names
// its Device; Seq counts per device), so a monitor of thousands of devices
// needs neither a channel nor a goroutine per device. A subscriber that
// falls AllSubscriberBuffer events behind loses events and sees Seq gaps.
// The channel is closed by cancel or when ctx ends.
func (s *Sim) SubscribeAll(ctx context.Context) (<-chan pbx.Event, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("sim: subscribe: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, cancel := s.allSubs.Add(ctx, &s.mu, AllSubscriberBuffer)
	return ch, cancel, nil
}

// Codes returns the configured reason, account and classification codes.
func (s *Sim) Codes(ctx context.Context) (pbx.Codes, error) {
	if err := ctx.Err(); err != nil {
		return pbx.Codes{}, fmt.Errorf("sim: codes: %w", err)
	}
	return pbx.Codes{
		Reasons:                slices.Clone(s.cfg.Reasons),
		Accounts:               slices.Clone(s.cfg.Accounts),
		Classifications:        slices.Clone(s.cfg.Classifications),
		ClassificationRequired: s.cfg.ClassificationRequired,
	}, nil
}

// Ping reports whether the switch is usable; the simulator always is.
func (s *Sim) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sim: ping: %w", err)
	}
	return nil
}

// device returns the device for ext or an ErrUnknownDevice error.
func (s *Sim) device(op, ext string) (*device, error) {
	d, ok := s.devices[ext]
	if !ok {
		return nil, fmt.Errorf("sim: %s: extension %q: %w", op, ext, pbx.ErrUnknownDevice)
	}
	return d, nil
}

// emit sends ev to d's subscribers without ever blocking.
func (s *Sim) emit(d *device, ev pbx.Event) {
	d.seq++
	ev.Seq = d.seq
	ev.Device = d.ext.Number
	ev.Time = s.clock.Now()
	d.subs.Send(ev) // a slow subscriber misses it; the Seq gap tells it
	s.allSubs.Send(ev)
}

// emitState reports d's state.
func (s *Sim) emitState(d *device, cause pbx.Cause) {
	st := d.state
	s.emit(d, pbx.Event{Type: pbx.DeviceUpdated, Cause: cause, State: &st})
}

// publish reports c to every device on it: CallUpdated to devices with a
// live party, CallEnded to devices that have left since the last publish.
// A call without live parties ends here and is forgotten.
func (s *Sim) publish(c *call, cause pbx.Cause) {
	var related *call // the other call of a consultation that just ended
	if !c.ended && c.liveCount() == 0 {
		c.ended = true
		c.Ended = s.clock.Now()
		delete(s.calls, c.ID)
		if c.q != nil {
			c.q.remove(c)
		}
		related = s.unlink(c)
	}
	if related != nil && !related.ended {
		defer s.publish(related, cause)
	}
	snap := c.snapshot()
	send := func(d *device, typ pbx.EventType) {
		cp := snap
		cp.Parties = slices.Clone(snap.Parties)
		s.emit(d, pbx.Event{Type: typ, Cause: cause, Call: &cp})
	}
	kept := c.members[:0]
	for _, d := range c.members {
		if c.liveParty(d) != nil {
			kept = append(kept, d)
			continue
		}
		delete(d.live, c)
		s.touched = append(s.touched, d)
		send(d, pbx.CallEnded)
	}
	c.members = kept
	for i, p := range c.parties {
		if p.dev == nil || !p.live() || slices.ContainsFunc(c.parties[:i], func(q *party) bool { return q.dev == p.dev && q.live() }) {
			continue
		}
		if !d2member(c, p.dev) {
			c.members = append(c.members, p.dev)
			if p.dev.live == nil {
				p.dev.live = map[*call]bool{}
			}
			p.dev.live[c] = true
		}
		send(p.dev, pbx.CallUpdated)
	}
}

func d2member(c *call, d *device) bool { return slices.Contains(c.members, d) }

// flush finishes a command: starts work timers, marks devices idle and
// lets the queues offer waiting calls.
func (s *Sim) flush() {
	now := s.clock.Now()
	for _, d := range s.workStart {
		s.startWorkTimer(d)
	}
	s.workStart = s.workStart[:0]
	for _, d := range s.touched {
		if len(d.live) == 0 {
			d.idleSince = now
		}
	}
	s.touched = s.touched[:0]
	s.dispatch()
}

// after runs f (under the lock, followed by flush) once d has passed,
// unless p has changed state or left the simulator by then.
func (s *Sim) after(p *party, d time.Duration, f func()) {
	gen := p.gen
	t := s.clock.AfterFunc(d, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if p.gen != gen || p.call == nil || p.call.ended || !p.live() {
			return
		}
		f()
		s.flush()
	})
	p.timers = append(p.timers, t)
}

// reachable says whether a new call may ring at d.
func (s *Sim) reachable(d *device) error {
	switch {
	case !d.state.LoggedIn:
		return fmt.Errorf("extension %s: nobody logged in: %w", d.ext.Number, pbx.ErrNotLoggedIn)
	case d.state.DND:
		return fmt.Errorf("extension %s: %w", d.ext.Number, pbx.ErrDND)
	case d.state.MakeBusy:
		return fmt.Errorf("extension %s: make busy: %w", d.ext.Number, pbx.ErrBusy)
	case len(d.live) >= MaxCallsPerDevice:
		return fmt.Errorf("extension %s: on %d calls: %w", d.ext.Number, len(d.live), pbx.ErrBusy)
	}
	return nil
}
