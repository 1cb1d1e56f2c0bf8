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
		wg.Add(1)
		go func() { defer wg.Done(); defer cancel(); s.monitorAll(ctx, events) }()
	} else {
		for _, d := range devices {
			events, cancel, err := s.Switch.Subscribe(ctx, d.Extension)
			if err != nil {
				return fmt.Errorf("adapter: monitor %s: %w", d.Extension, err)
			}
			wg.Add(1)
			go func(ext string) {
				defer wg.Done()
				defer cancel()
				last := uint64(0)
				for ev := range events {
					s.onEvent(ctx, ext, ev, &last)
				}
			}(d.Extension)
		}
	}
	s.monitorOnce.Do(func() { close(s.monitoring) })
	wg.Add(2)
	go func() { defer wg.Done(); s.renewLeases(ctx, devices) }()
	go func() { defer wg.Done(); s.runOutbox(ctx) }()
	wg.Wait()
	return nil
}

// Monitoring is closed once Run has subscribed to every device: a call
// that rings after it is seen (main waits for it before serving).
func (s *Service) Monitoring() <-chan struct{} { return s.monitoring }

// monitorAll hands every device's events to eventWorkers goroutines, a
// device always to the same one.
func (s *Service) monitorAll(ctx context.Context, events <-chan pbx.Event) {
	var wg sync.WaitGroup
	queues := make([]chan pbx.Event, eventWorkers)
	for i := range queues {
		queues[i] = make(chan pbx.Event, 256)
		wg.Add(1)
		go func(q <-chan pbx.Event) {
			defer wg.Done()
			last := map[string]uint64{}
			for ev := range q {
				n := last[ev.Device]
				s.onEvent(ctx, ev.Device, ev, &n)
				last[ev.Device] = n
			}
		}(queues[i])
	}
	for ev := range events {
		h := fnv.New32a()
		h.Write([]byte(ev.Device))
		queues[h.Sum32()%eventWorkers] <- ev
	}
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
}

// onEvent handles one event of a device this instance owns; a Seq gap
// (events lost) resyncs the device from the switch first.
func (s *Service) onEvent(ctx context.Context, ext string, ev pbx.Event, last *uint64) {
	if !s.Owns(ext) {
		*last = ev.Seq
		return
	}
	if *last != 0 && ev.Seq != *last+1 {
		s.Log.Warn().Str("extension", ext).Uint64("expected", *last+1).Uint64("got", ev.Seq).Msg("switch events lost; resyncing")
		if err := s.Resync(ctx, ext); err != nil {
			s.Log.Warn().Err(err).Str("extension", ext).Msg("resync failed")
		}
	}
	*last = ev.Seq
	s.handleWithRetry(ctx, ext, ev)
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
// min(LeaseTTL/3, 1s) in one round trip, takes over devices whose lease
// lapsed (an instance died: within LeaseTTL) or was released (an instance
// stopped: within a second), and resyncs each device it takes over.
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
					if err := s.Resync(ctx, ext); err != nil && ctx.Err() == nil {
						s.Log.Warn().Err(err).Str("extension", ext).Msg("resync failed")
					}
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
