package adapter

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/switchboard-cti/switchboard/pbx"
)

// LeaseBatcher is what a Store may also do: claim, renew or release many
// leases for one owner in one round trip. The Service uses it when the
// Store has it, else Claim and Release one by one.
type LeaseBatcher interface {
	// ClaimMany claims or renews each named lease for owner (as Claim
	// does); the answer has one bool per name.
	ClaimMany(ctx context.Context, names []string, owner string, ttl time.Duration) ([]bool, error)
	// ReleaseMany releases the named leases owner holds.
	ReleaseMany(ctx context.Context, names []string, owner string) error
}

// allEvents is what a switch may also do: deliver every device's events
// on one channel (each event names its Device; Seq per device). The
// Service then needs no channel and no goroutine per device.
type allEvents interface {
	SubscribeAll(ctx context.Context) (events <-chan pbx.Event, cancel func(), err error)
}

// eventWorkers is how many goroutines handle switch events when the switch
// delivers them on one channel; a device always goes to the same one, so
// its events keep their order. Enough that a device waiting (a call that
// ends while its lookup runs waits for it, up to LookupTimeout) holds up
// few others.
const eventWorkers = 256

// leaseRenewEvery is the longest time between two lease rounds: a device
// released by an instance that stopped is taken over within it.
const leaseRenewEvery = time.Second

// Run monitors every device of the switch and runs the Task outbox until
// ctx ends. Monitoring is closed once every device is subscribed.
func (s *Service) Run(ctx context.Context) error {
	devices, err := s.Switch.Devices(ctx)
	if err != nil {
		return fmt.Errorf("adapter: list devices: %w", err)
	}
	var wg sync.WaitGroup
	if all, ok := s.Switch.(allEvents); ok {
		events, cancel, err := all.SubscribeAll(ctx)
		if err != nil {
			return fmt.Errorf("adapter: monitor the switch: %w", err)
		}
		ws := make([]*watcher, eventWorkers)
		for i := range ws {
			ws[i] = s.newWatcher()
		}
		s.setWatchers(func(ext string) *watcher { return ws[workerOf(ext)] })
		wg.Add(1)
		go func() { defer wg.Done(); defer cancel(); s.monitorAll(ctx, events, ws) }()
	} else {
		ws := make(map[string]*watcher, len(devices))
		for _, d := range devices {
			ws[d.Extension] = s.newWatcher()
		}
		s.setWatchers(func(ext string) *watcher { return ws[ext] })
		for _, d := range devices {
			events, cancel, err := s.Switch.Subscribe(ctx, d.Extension)
			if err != nil {
				return fmt.Errorf("adapter: monitor %s: %w", d.Extension, err)
			}
			wg.Add(1)
			go func(w *watcher) {
				defer wg.Done()
				defer cancel()
				w.run(ctx, events)
			}(ws[d.Extension])
		}
	}
	s.monitorOnce.Do(func() { close(s.monitoring) })
	if claimed := s.claimedAtStart(devices); len(claimed) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A lease round's period after start, so that it does not
			// compete with the start for CPU and Redis (8.5 ms of work
			// at 10,000 devices: BenchmarkStartResync).
			t := time.NewTimer(s.renewEvery())
			defer t.Stop()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			s.resyncAtStart(ctx, claimed)
		}()
	}
	wg.Add(2)
	go func() { defer wg.Done(); s.renewLeases(ctx, devices) }()
	go func() { defer wg.Done(); s.runOutbox(ctx) }()
	wg.Wait()
	return nil
}

// Monitoring is closed once Run has subscribed to every device: a call
// that rings after it is seen (main waits for it before serving).
func (s *Service) Monitoring() <-chan struct{} { return s.monitoring }

// workerOf is the watcher (of eventWorkers) that handles ext's events.
func workerOf(ext string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(ext))
	return h.Sum32() % eventWorkers
}

// monitorAll hands every device's events to the watchers ws, a device
// always to the same one.
func (s *Service) monitorAll(ctx context.Context, events <-chan pbx.Event, ws []*watcher) {
	var wg sync.WaitGroup
	queues := make([]chan pbx.Event, len(ws))
	for i := range queues {
		queues[i] = make(chan pbx.Event, 256)
		wg.Add(1)
		go func(w *watcher, q <-chan pbx.Event) {
			defer wg.Done()
			w.run(ctx, q)
		}(ws[i], queues[i])
	}
	for ev := range events {
		queues[workerOf(ev.Device)] <- ev
	}
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
}

func leaseName(ext string) string { return "monitor:" + ext }

// claim claims or renews the leases of devices: one round trip when the
// Store batches leases.
func (s *Service) claim(ctx context.Context, devices []pbx.Device) ([]bool, error) {
	if lb, ok := s.Store.(LeaseBatcher); ok {
		names := make([]string, len(devices))
		for i, d := range devices {
			names[i] = leaseName(d.Extension)
		}
		return lb.ClaimMany(ctx, names, s.Instance, s.LeaseTTL)
	}
	out := make([]bool, len(devices))
	for i, d := range devices {
		ok, err := s.Store.Claim(ctx, leaseName(d.Extension), s.Instance, s.LeaseTTL)
		if err != nil {
			return nil, fmt.Errorf("adapter: claim %s: %w", d.Extension, err)
		}
		out[i] = ok
	}
	return out, nil
}

func (s *Service) release(ctx context.Context, devices []pbx.Device) {
	if lb, ok := s.Store.(LeaseBatcher); ok {
		names := make([]string, 0, len(devices))
		for _, d := range devices {
			if s.Owns(d.Extension) {
				names = append(names, leaseName(d.Extension))
			}
		}
		_ = lb.ReleaseMany(ctx, names, s.Instance)
		return
	}
	for _, d := range devices {
		_ = s.Store.Release(ctx, leaseName(d.Extension), s.Instance)
	}
}

// renewLeases keeps this instance's claim on device monitors, every
// min(LeaseTTL/3, 1s) in one round trip, and takes over devices whose
// lease lapsed (an instance died: within LeaseTTL) or was released (an
// instance stopped: within a second): each one's watcher replays the
// events held meanwhile, then resyncs it (takeover.go).
func (s *Service) renewLeases(ctx context.Context, devices []pbx.Device) {
	tick := time.NewTicker(min(s.LeaseTTL/3, leaseRenewEvery))
	defer tick.Stop()
	s.mu.Lock()
	skip := s.startClaimed // a second round at once would only slow the start
	s.startClaimed = false
	s.mu.Unlock()
	for {
		if ctx.Err() == nil && !skip {
			owned, err := s.claim(ctx, devices)
			if err != nil {
				if ctx.Err() == nil {
					s.Log.Warn().Err(err).Int("devices", len(devices)).Msg("device leases not renewed")
				}
			} else {
				var gained []string
				s.mu.Lock()
				for i, d := range devices {
					if owned[i] && !s.owned[d.Extension] {
						gained = append(gained, d.Extension)
					}
					s.owned[d.Extension] = owned[i]
				}
				s.mu.Unlock()
				for _, ext := range gained {
					s.takeOver(ext)
				}
			}
		}
		skip = false
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			s.release(rctx, devices)
			cancel()
			return
		case <-tick.C:
		}
	}
}

// Owns reports whether this instance handles ext's events now.
func (s *Service) Owns(ext string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.owned[ext]
}

// ClaimDevices takes the monitor lease of every device at once, in one
// round trip (used at start so the first events are not missed while the
// renewal loop starts).
func (s *Service) ClaimDevices(ctx context.Context) error {
	devices, err := s.Switch.Devices(ctx)
	if err != nil {
		return fmt.Errorf("adapter: list devices: %w", err)
	}
	owned, err := s.claim(ctx, devices)
	if err != nil {
		return err
	}
	s.mu.Lock()
	for i, d := range devices {
		s.owned[d.Extension] = owned[i]
	}
	s.startClaimed = true
	s.mu.Unlock()
	return nil
}

// claimedAtStart is the devices ClaimDevices claimed for this instance
// (none when it was not called: the first lease round then takes every
// device over, each with its resync).
func (s *Service) claimedAtStart(devices []pbx.Device) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.startClaimed {
		return nil
	}
	var out []string
	for _, d := range devices {
		if s.owned[d.Extension] {
			out = append(out, d.Extension)
		}
	}
	return out
}

// resyncAtStart resyncs the devices claimed at start (Run: in the
// background, a lease round's period after start): a call that ended
// while no instance handled its device (the previous one died, or every
// instance was down) would otherwise stay live in the store, and a call
// that started then would never show. It reads every device's stored
// calls in one round trip (CallsBatcher; while the store cannot be
// reached it tries again, up to every 5 s) and takes the switch's
// Snapshot of each (the simulator and the drivers keep them in memory);
// a device with a stored live call or a call on the switch is handed to
// its watcher, which resyncs it as a takeover does (Resync, between the
// device's events): the ended call is logged once.
func (s *Service) resyncAtStart(ctx context.Context, exts []string) {
	var stored map[string][]CallRecord
	for attempt, wait := 0, 50*time.Millisecond; ; attempt, wait = attempt+1, min(wait*2, 5*time.Second) {
		var err error
		if stored, err = s.callsOf(ctx, exts); err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		if attempt == 0 {
			s.Log.Warn().Err(err).Int("devices", len(exts)).Msg("start resync: stored calls not read; retrying")
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
	n := 0
	for _, ext := range exts {
		snap, err := s.Switch.Snapshot(ctx, ext)
		if err != nil || len(snap.Calls) > 0 || hasLiveCall(stored[ext]) {
			s.takeOver(ext) // (a Snapshot error is reported by the resync)
			n++
		}
	}
	s.Log.Debug().Int("devices", len(exts)).Int("resynced", n).Msg("devices claimed at start checked against the switch")
}

// callsOf reads the stored calls of exts: in one round trip when the
// Store batches reads.
func (s *Service) callsOf(ctx context.Context, exts []string) (map[string][]CallRecord, error) {
	if b, ok := s.Store.(CallsBatcher); ok {
		return b.CallsMany(ctx, exts)
	}
	out := make(map[string][]CallRecord, len(exts))
	for _, ext := range exts {
		cs, err := s.Store.Calls(ctx, ext)
		if err != nil {
			return nil, fmt.Errorf("adapter: calls of %s: %w", ext, err)
		}
		out[ext] = cs
	}
	return out, nil
}

// hasLiveCall reports whether a device's stored calls have one not ended.
func hasLiveCall(cs []CallRecord) bool {
	for _, c := range cs {
		if c.Ended.IsZero() && !c.PostCall {
			return true
		}
	}
	return false
}
