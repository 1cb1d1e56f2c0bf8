// Package simremote drives a PBX simulator that runs as its own process
// (`switchboard sim`, pbx/sim) behind the pbx.Switch contract, so several
// Switchboard instances share one simulated switch as they would share
// one real PBX.
//
// The wire protocol is the simulator's switch protocol, version 1 (see
// sim.ProtocolVersion): commands are JSON POSTs to
// /sim/v1/devices/{ext}/{command}; events arrive on one WebSocket,
// /sim/v1/events, which starts with a sync of every device. The driver
// keeps a mirror of every device's state and calls built from the sync and
// the events, numbers events per device itself (pbx.Event.Seq), and after
// every (re)connect compares the new sync with its mirror, as the Asterisk
// driver does after an AMI login: devices get CallEnded for calls that
// ended while the link was down, CallUpdated for calls that changed,
// DeviceUpdated when their state changed. While the link is down, Ping
// reports pbx.ErrUnavailable (so /readyz says the PBX is not usable) and
// commands fail with it.
package simremote

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/pbx/sim"
)

var _ pbx.Switch = (*Driver)(nil)

// Buffers of local subscribers, as in the simulator: a subscriber that
// falls this far behind loses events and sees a Seq gap.
const (
	SubscriberBuffer    = 256
	AllSubscriberBuffer = 16384
)

// Config is the driver's configuration.
type Config struct {
	// URL is the simulator's base URL, http://host:port (https too).
	URL string
	// Token is sent as "Authorization: Bearer <Token>" when set
	// (SWITCHBOARD_SIM_API_TOKEN of the simulator process).
	Token string
	// HTTPClient sends commands (default: a client with a 10 s timeout).
	HTTPClient *http.Client
	// MinBackoff and MaxBackoff bound the wait between reconnects
	// (default 100 ms and 5 s; doubled after each failed attempt).
	MinBackoff, MaxBackoff time.Duration
	Log                    zerolog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Driver is the remote simulator's pbx.Switch. Create it with New and keep
// its link up with Run.
type Driver struct {
	cfg  Config
	base *url.URL
	hc   *http.Client
	now  func() time.Time
	log  zerolog.Logger

	mu      sync.Mutex
	devices map[string]*device
	order   []*device
	codes   pbx.Codes
	allSubs pbx.Subscribers
	up      bool
	lastErr error
	synced  chan struct{} // closed after the first sync
	syncs   int           // syncs applied (tests)
	// syncedNow and downNow are signalled after every sync and every
	// link loss (tests wait on them).
	syncedNow, downNow chan struct{}
}

type device struct {
	state     pbx.DeviceState
	calls     map[string]pbx.Call // nil until the first
	seq       uint64              // local, what subscribers see
	remoteSeq uint64              // the simulator's, to spot duplicates and gaps
	subs      pbx.Subscribers
}

func (dv *device) setCall(c pbx.Call) {
	if dv.calls == nil {
		dv.calls = map[string]pbx.Call{}
	}
	dv.calls[c.ID] = c
}

// New checks cfg and returns a driver, not yet connected.
func New(cfg Config) (*Driver, error) {
	u, err := url.Parse(strings.TrimSuffix(cfg.URL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("simremote: URL %q: use http://host:port of the simulator process (switchboard sim): %w", cfg.URL, pbx.ErrInvalid)
	}
	u.Path = ""
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(5*time.Second, cfg.MinBackoff)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Driver{cfg: cfg, base: u, hc: cfg.HTTPClient, now: cfg.Now, log: cfg.Log,
		devices: map[string]*device{}, synced: make(chan struct{}), syncedNow: make(chan struct{}, 1), downNow: make(chan struct{}, 1),
		lastErr: errors.New("not connected yet")}, nil
}

// Synced is closed once the first sync has been applied (Devices answers
// from then on).
func (d *Driver) Synced() <-chan struct{} { return d.synced }

// Link reports whether the events link is up and synced, and why not.
func (d *Driver) Link() (up bool, reason error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.up, d.lastErr
}

// Devices lists the simulator's devices in its configuration order, as of
// the first sync; before it, it waits for it (ErrUnavailable when ctx ends
// first). Devices the simulator gains after a restart are not monitored
// until this instance restarts.
func (d *Driver) Devices(ctx context.Context) ([]pbx.Device, error) {
	select {
	case <-d.synced:
	case <-ctx.Done():
		_, why := d.Link()
		return nil, fmt.Errorf("simremote: devices: no link to %s yet (%v): %w", d.base, why, pbx.ErrUnavailable)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]pbx.Device, 0, len(d.order))
	for _, dv := range d.order {
		out = append(out, dv.state.Device)
	}
	return out, nil
}

// Snapshot returns ext's state and calls from the mirror. ErrUnknownDevice.
func (d *Driver) Snapshot(ctx context.Context, ext string) (pbx.Snapshot, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dv, err := d.device("snapshot", ext)
	if err != nil {
		return pbx.Snapshot{}, err
	}
	snap := pbx.Snapshot{Seq: dv.seq, State: dv.state, Calls: []pbx.Call{}}
	for _, id := range sortedIDs(dv.calls) {
		snap.Calls = append(snap.Calls, cloneCall(dv.calls[id]))
	}
	return snap, nil
}

// Subscribe returns ext's events from now on (see pbx.Switch).
// ErrUnknownDevice.
func (d *Driver) Subscribe(ctx context.Context, ext string) (<-chan pbx.Event, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("simremote: subscribe %s: %w", ext, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	dv, err := d.device("subscribe", ext)
	if err != nil {
		return nil, nil, err
	}
	ch, cancel := dv.subs.Add(ctx, &d.mu, SubscriberBuffer)
	return ch, cancel, nil
}

// SubscribeAll returns every device's events on one channel, as the
// simulator's SubscribeAll does (the adapter then needs no goroutine per
// device).
func (d *Driver) SubscribeAll(ctx context.Context) (<-chan pbx.Event, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("simremote: subscribe: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	ch, cancel := d.allSubs.Add(ctx, &d.mu, AllSubscriberBuffer)
	return ch, cancel, nil
}

// Codes returns the simulator's codes as of the last sync.
func (d *Driver) Codes(ctx context.Context) (pbx.Codes, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.codes
	c.Reasons, c.Accounts, c.Classifications = slices.Clone(c.Reasons), slices.Clone(c.Accounts), slices.Clone(c.Classifications)
	return c, nil
}

// Ping reports ErrUnavailable unless the events link is up and synced.
func (d *Driver) Ping(ctx context.Context) error {
	up, why := d.Link()
	if !up {
		return fmt.Errorf("simremote: link to the simulator at %s is down (%v): %w", d.base, why, pbx.ErrUnavailable)
	}
	return nil
}

func (d *Driver) device(op, ext string) (*device, error) {
	dv, ok := d.devices[ext]
	if !ok {
		return nil, fmt.Errorf("simremote: %s: extension %q: %w", op, ext, pbx.ErrUnknownDevice)
	}
	return dv, nil
}

// emit numbers ev for dv and hands it to the subscribers without ever
// blocking. d.mu is held.
func (d *Driver) emit(dv *device, ev pbx.Event) {
	dv.seq++
	ev.Seq = dv.seq
	ev.Device = dv.state.Extension
	dv.subs.Send(ev)
	d.allSubs.Send(ev)
}

// applySync makes the mirror the simulator's devices and snapshots
// (a device without one is at sim.InitialState), emitting what changed
// (see the package comment). The first sync builds the mirror.
func (d *Driver) applySync(codes pbx.Codes, devs []pbx.Device, snaps []pbx.Snapshot) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.codes = codes
	first := d.order == nil
	byExt := make(map[string]pbx.Snapshot, len(snaps))
	for _, sn := range snaps {
		byExt[sn.State.Extension] = sn
	}
	seen := make(map[string]bool, len(devs))
	var mem []device // the first sync's devices, in one allocation
	if first {
		mem = make([]device, 0, len(devs))
	}
	for _, dev := range devs {
		ext := dev.Extension
		sn, ok := byExt[ext]
		if !ok || sn.State.Extension != ext {
			sn = pbx.Snapshot{State: sim.InitialState(dev)}
		}
		seen[ext] = true
		dv := d.devices[ext]
		if dv == nil {
			if !first {
				d.log.Warn().Str("extension", ext).Msg("the simulator has a device it did not have at start; restart this instance to monitor it")
				continue
			}
			mem = append(mem, device{state: sn.State})
			dv = &mem[len(mem)-1]
			d.devices[ext] = dv
			d.order = append(d.order, dv)
		}
		dv.remoteSeq = sn.Seq
		d.resyncDevice(dv, sn)
	}
	for _, dv := range d.order {
		if !seen[dv.state.Extension] {
			d.log.Warn().Str("extension", dv.state.Extension).Msg("the simulator no longer has this device")
			dv.remoteSeq = 0
			d.resyncDevice(dv, pbx.Snapshot{State: dv.state})
		}
	}
	d.up, d.lastErr = true, nil
	d.syncs++
	if first {
		close(d.synced)
	}
	select {
	case d.syncedNow <- struct{}{}:
	default:
	}
}

// resyncDevice brings dv to sn. d.mu is held.
func (d *Driver) resyncDevice(dv *device, sn pbx.Snapshot) {
	if !reflect.DeepEqual(dv.state, sn.State) {
		dv.state = sn.State
		st := sn.State
		d.emit(dv, pbx.Event{Type: pbx.DeviceUpdated, State: &st, Time: d.now()})
	}
	if len(sn.Calls) == 0 && len(dv.calls) == 0 {
		return
	}
	now := make(map[string]pbx.Call, len(sn.Calls))
	for _, c := range sn.Calls {
		now[c.ID] = c
	}
	for _, id := range sortedIDs(dv.calls) {
		if _, ok := now[id]; ok {
			continue
		}
		// Ended while the link was down.
		c := cloneCall(dv.calls[id])
		at := d.now()
		for i := range c.Parties {
			if c.Parties[i].State != pbx.Disconnected {
				c.Parties[i].State, c.Parties[i].Since = pbx.Disconnected, at
			}
		}
		c.Ended = at
		delete(dv.calls, id)
		d.emit(dv, pbx.Event{Type: pbx.CallEnded, Cause: pbx.CauseCleared, Call: &c, Time: at})
	}
	for _, c := range sn.Calls {
		if old, ok := dv.calls[c.ID]; ok && reflect.DeepEqual(old, c) {
			continue
		}
		dv.setCall(c)
		cp := cloneCall(c)
		d.emit(dv, pbx.Event{Type: pbx.CallUpdated, Call: &cp, Time: d.now()})
	}
}

// errGap: the simulator's events skipped a Seq (it should have closed the
// link instead); the link is restarted for a fresh sync.
var errGap = errors.New("simulator events skipped a sequence number")

// applyEvents updates the mirror with the simulator's events and passes
// them on, renumbered.
func (d *Driver) applyEvents(evs []pbx.Event) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, ev := range evs {
		dv := d.devices[ev.Device]
		if dv == nil {
			continue
		}
		if ev.Seq <= dv.remoteSeq {
			continue // already in the sync
		}
		if ev.Seq != dv.remoteSeq+1 {
			return fmt.Errorf("%w: device %s expected %d, got %d", errGap, ev.Device, dv.remoteSeq+1, ev.Seq)
		}
		dv.remoteSeq = ev.Seq
		switch ev.Type {
		case pbx.CallUpdated:
			if ev.Call != nil {
				dv.setCall(cloneCall(*ev.Call))
			}
		case pbx.CallEnded:
			if ev.Call != nil {
				delete(dv.calls, ev.Call.ID)
			}
		case pbx.DeviceUpdated:
			if ev.State != nil {
				dv.state = *ev.State
			}
		}
		d.emit(dv, ev)
	}
	return nil
}

// linkDown records why the link is down.
func (d *Driver) linkDown(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.up, d.lastErr = false, err
	select {
	case d.downNow <- struct{}{}:
	default:
	}
}

func sortedIDs(m map[string]pbx.Call) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func cloneCall(c pbx.Call) pbx.Call {
	c.Parties = slices.Clone(c.Parties)
	return c
}
