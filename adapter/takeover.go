package adapter

import (
	"context"
	"sync"
	"time"

	"github.com/switchboard-cti/switchboard/pbx"
)

// Taking a device over.
//
// Every instance receives every device's switch events; only the holder
// of the device's lease handles them. When the holder stops (its leases
// are released: taken over within a second) or dies (they lapse: within
// LeaseTTL), the events of the meantime would be lost, and with them a
// call that rang and ended in that window (no pop, no Task, no history).
// So every instance holds the recent events of the devices it does not
// handle (bounded by age and count: heldFor, heldPerDevice, heldTotal),
// and when it gains a device it first replays that device's held events,
// in order, through the usual handlers, then resyncs the device from the
// switch's snapshot.
//
// The replay is idempotent against what the previous holder applied
// before it went away:
//   - a call record that still exists carries the Seq of the last event
//     applied to it (CallRecord.SwitchSeq); a replayed event at or below
//     it changes nothing (no push, no second end, no second call log);
//   - a call whose record is gone and whose end is held was ended by the
//     previous holder if the agent's history has it: its events are
//     skipped. (A call ended without a history entry, such as a redirected
//     one, is not logged; should one be logged twice after all, the
//     outbox writes one Task per call log, by key.)
//
// A call whose end is held is over: it is stored, looked up and logged
// (as missed when it was not answered) without a ringing push; a call
// still on the switch is pushed as its events are replayed (it pops).

// heldPerDevice bounds the events held for one device: far more than a
// few calls make in heldFor.
const heldPerDevice = 64

// heldTotal bounds the events held by one instance over every device.
// BenchmarkHoldEvents (10,000 devices, 200 calls/s, 4 events per call,
// LeaseTTL 5 s) holds 8,500-8,700 at a time, 4.5 MB with the calls'
// snapshots they keep alive (544 B each): the bound is about 4 times
// that, 18 MB at most.
const heldTotal = 32768

// heldFor is how long an event of a device another instance handles is
// held: a bit more than the longest a takeover can take (LeaseTTL, plus a
// renewal round on each side), so a call's events are still there when a
// dead holder's lease lapses.
func (s *Service) heldFor() time.Duration {
	return s.LeaseTTL + 2*s.renewEvery() + time.Second
}

// renewEvery is the period of the lease rounds.
func (s *Service) renewEvery() time.Duration {
	return min(s.LeaseTTL/3, leaseRenewEvery)
}

// heldEvent is one event held for a takeover, with when it arrived.
type heldEvent struct {
	at time.Time
	ev pbx.Event
}

// watchedDevice is what a watcher knows of one device.
type watchedDevice struct {
	last uint64      // Seq of the last event seen
	held []heldEvent // events seen while another instance handled the device, oldest first
	lost bool        // some were not held (bounds): the resync after the replay repairs
}

// watcher handles the switch events of some devices on one goroutine, so
// a device's events keep their order: it hands the events of devices this
// instance handles to the handlers, holds the others', and replays a
// device's held events when the device is taken over.
type watcher struct {
	s     *Service
	devs  map[string]*watchedDevice
	swept time.Time

	wake   chan struct{} // a takeover is waiting
	mu     sync.Mutex
	gained []string // devices taken over, not yet replayed and resynced
}

func (s *Service) newWatcher() *watcher {
	return &watcher{s: s, devs: map[string]*watchedDevice{}, wake: make(chan struct{}, 1)}
}

// setWatchers says which watcher handles each device (Run, before the
// lease rounds start).
func (s *Service) setWatchers(of func(ext string) *watcher) {
	s.mu.Lock()
	s.watcherOf = of
	s.mu.Unlock()
}

// takeOver asks ext's watcher to replay the events held for ext and
// resync it: this instance handles ext from now on.
func (s *Service) takeOver(ext string) {
	s.mu.Lock()
	of := s.watcherOf
	s.mu.Unlock()
	var w *watcher
	if of != nil {
		w = of(ext)
	}
	if w == nil {
		return
	}
	w.mu.Lock()
	w.gained = append(w.gained, ext)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default: // already woken; it takes every gained device
	}
}

// run handles events until the channel closes.
func (w *watcher) run(ctx context.Context, events <-chan pbx.Event) {
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return
			}
			w.event(ctx, ev)
		case <-w.wake:
			w.takeOvers(ctx)
		}
	}
}

func (w *watcher) device(ext string) *watchedDevice {
	d := w.devs[ext]
	if d == nil {
		d = &watchedDevice{}
		w.devs[ext] = d
	}
	return d
}

// event handles one event of a device this instance handles, after the
// device's held events if it was just taken over; a Seq gap (events lost)
// resyncs the device from the switch first. Another instance's device's
// event is held.
func (w *watcher) event(ctx context.Context, ev pbx.Event) {
	s, ext := w.s, ev.Device
	d := w.device(ext)
	if !s.Owns(ext) {
		d.last = ev.Seq
		w.hold(ext, d, ev)
		return
	}
	if len(d.held) > 0 || d.lost {
		// Taken over since the last event: the takeover's resync follows.
		w.replay(ctx, ext, d)
	}
	if d.last != 0 && ev.Seq != d.last+1 {
		s.Log.Warn().Str("extension", ext).Uint64("expected", d.last+1).Uint64("got", ev.Seq).Msg("switch events lost; resyncing")
		if err := s.Resync(ctx, ext); err != nil {
			s.Log.Warn().Err(err).Str("extension", ext).Msg("resync failed")
		}
	}
	d.last = ev.Seq
	s.handleWithRetry(ctx, ext, ev, how{seq: ev.Seq})
}

// hold keeps an event of a device another instance handles, within the
// bounds: events older than heldFor go first; past heldPerDevice the
// device's oldest goes; past heldTotal the event is not held (the device
// is marked: a takeover resyncs it, as without a backlog).
func (w *watcher) hold(ext string, d *watchedDevice, ev pbx.Event) {
	s := w.s
	switch ev.Type {
	case pbx.CallUpdated, pbx.CallEnded, pbx.DeviceUpdated:
	default:
		return // nothing to replay
	}
	now := s.Now()
	cut := now.Add(-s.heldFor())
	if now.Sub(w.swept) >= s.heldFor()/2 {
		for _, x := range w.devs {
			w.trim(x, cut)
		}
		w.swept = now
	} else {
		w.trim(d, cut)
	}
	if len(d.held) >= heldPerDevice {
		d.held[0] = heldEvent{}
		d.held = d.held[1:]
		s.held.Add(-1)
		d.lost = true
	}
	if s.held.Add(1) > heldTotal {
		s.held.Add(-1)
		d.lost = true
		return
	}
	d.held = append(d.held, heldEvent{at: now, ev: ev})
	if s.onHeld != nil {
		s.onHeld(ev)
	}
}

// trim drops d's held events that arrived before cut.
func (w *watcher) trim(d *watchedDevice, cut time.Time) {
	n := 0
	for n < len(d.held) && d.held[n].at.Before(cut) {
		n++
	}
	if n == 0 {
		return
	}
	if n == len(d.held) {
		d.held = nil
	} else {
		rest := copy(d.held, d.held[n:])
		clear(d.held[rest:])
		d.held = d.held[:rest]
	}
	w.s.held.Add(-int64(n))
}

// takeOvers replays and resyncs the devices taken over.
func (w *watcher) takeOvers(ctx context.Context) {
	w.mu.Lock()
	gained := w.gained
	w.gained = nil
	w.mu.Unlock()
	for _, ext := range gained {
		if ctx.Err() != nil || !w.s.Owns(ext) {
			continue // stopped, or lost again meanwhile
		}
		w.replay(ctx, ext, w.device(ext))
		if err := w.s.Resync(ctx, ext); err != nil && ctx.Err() == nil {
			w.s.Log.Warn().Err(err).Str("extension", ext).Msg("resync failed")
		}
	}
}

// replay applies ext's held events, oldest first, and forgets them.
func (w *watcher) replay(ctx context.Context, ext string, d *watchedDevice) {
	s := w.s
	w.trim(d, s.Now().Add(-s.heldFor()))
	evs, lost := d.held, d.lost
	d.held, d.lost = nil, false
	s.held.Add(-int64(len(evs)))
	if lost {
		s.Log.Warn().Str("extension", ext).Msg("device taken over: some of its events of the meantime were not held; resyncing")
	}
	if len(evs) == 0 {
		return
	}
	// A call is over when its last held event ends it. Only the last
	// device state matters.
	over := map[string]bool{}
	lastState := -1
	for i, h := range evs {
		switch {
		case h.ev.Call != nil:
			over[h.ev.Call.ID] = h.ev.Type == pbx.CallEnded
		case h.ev.Type == pbx.DeviceUpdated:
			lastState = i
		}
	}
	// A call that is over, with no record: if the agent's history has
	// it, the previous holder ended it.
	done := map[string]bool{}
	for id, o := range over {
		if o {
			f, err := s.finishedBefore(ctx, ext, id)
			if err != nil {
				s.Log.Warn().Err(err).Str("extension", ext).Str("call", id).Msg("takeover: could not tell whether a call was logged; replaying it")
			}
			done[id] = f
		}
	}
	n := 0
	for i, x := range evs {
		ev, h := x.ev, how{seq: x.ev.Seq, replay: true}
		if ev.Call != nil {
			if done[ev.Call.ID] {
				continue
			}
			h.over = over[ev.Call.ID]
		} else if i != lastState {
			continue
		}
		s.handleWithRetry(ctx, ext, ev, h)
		n++
	}
	s.Log.Debug().Str("extension", ext).Int("held", len(evs)).Int("replayed", n).Msg("device taken over: held events replayed")
}

// finishedBefore reports whether a call another instance handled is
// finished: its record is gone and the agent's history has it.
func (s *Service) finishedBefore(ctx context.Context, ext, id string) (bool, error) {
	if _, err := s.Store.Call(ctx, ext, id); err == nil {
		return false, nil
	} else if !IsNotFound(err) {
		return false, err
	}
	uid := s.deviceUser(ctx, ext)
	if uid == "" {
		return false, nil
	}
	hist, err := s.Store.History(ctx, uid, HistoryAll)
	if err != nil {
		return false, err
	}
	for _, e := range hist {
		if e.CallID == id {
			return true, nil
		}
	}
	return false, nil
}
