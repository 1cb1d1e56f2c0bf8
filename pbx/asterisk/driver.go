// Package asterisk drives an Asterisk PBX through its Manager Interface
// (AMI) behind the pbx.Switch contract.
//
// The package has three layers: the AMI wire client (message.go framing,
// client.go login, ActionIDs, list actions, keep-alive and reconnect), the
// mapping of AMI events to pbx events (events.go: channels, dials, bridges,
// hold, transfers, queues, ConfBridge, DTMF) and the commands
// (commands.go, consult.go for supervised transfer and conferences,
// desk.go for hot-desk log-in and the work timer: each says which AMI
// action and which dialplan it relies on). Example manager.conf,
// pjsip.conf and extensions.conf are in testdata/etc; the README section
// "Running with Asterisk" walks through them.
//
// Protocol facts come from the Asterisk AMI documentation
// (docs.asterisk.org, "Asterisk Manager Interface (AMI)" and the per-version
// AMI Actions / Events references) and from recordings of a real Asterisk
// 22.10 and 16.28 (testdata/*.ami).
package asterisk

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/switchboard-cti/switchboard/pbx"
)

var _ pbx.Switch = (*Driver)(nil)
var _ pbx.Capable = (*Driver)(nil)

// SubscriberBuffer is how many events a subscriber may fall behind before
// its events are dropped (it then sees a Seq gap), as in the simulator.
const SubscriberBuffer = 256

// Extension maps one Switchboard extension to its PJSIP endpoint.
type Extension struct {
	Number   string         // the extension agents know (and Salesforce's User.Extension)
	Endpoint string         // the pjsip.conf endpoint name (default Number)
	Name     string         // display name
	Kind     pbx.DeviceKind // regular (default), acd (logs in to queues) or hotdesk (logs in with a PIN)
}

// Config is the driver's configuration.
type Config struct {
	AMI ClientConfig
	// Extensions are the devices Switchboard monitors.
	Extensions []Extension
	// Context is the dialplan context Originate, Redirect and BlindTransfer
	// dial numbers in (extensions.conf; e.g. "internal").
	Context string
	// HoldContext holds the two extensions the hold mechanism uses:
	// "sb-hold" (the far party waits there, e.g. MusicOnHold()) and
	// "sb-wait" (the agent's channel waits there, e.g. Wait(3600)).
	// Empty: hold and retrieve are not supported.
	HoldContext string
	// DigitsVar is the channel variable the IVR stores collected digits in
	// (e.g. SB_DIGITS); its value becomes Call.Digits.
	DigitsVar string
	// Queues are the ACD queues an ACD log-in adds the agent to
	// (QueueAdd); empty: ACD log-in is not supported.
	Queues []string
	// Agents, if set, are the agent ids ACD log-in accepts (others get
	// pbx.ErrAuth); empty accepts any id of 1-20 letters and digits.
	Agents []string
	// AnswerNotify is the NOTIFY Event header that makes the phones answer
	// (PJSIPNotify, e.g. "talk" for phones that honour it); empty: remote
	// answer is not supported and agents answer on the phone.
	AnswerNotify string
	// WorkTime is the work timer (post-call wrap-up) after an answered
	// ACD call: the member is paused with WorkReason for this long
	// (queues.conf wrapuptime must be 0). Zero: no work timer.
	WorkTime time.Duration
	// AfterFunc runs f after d (default time.AfterFunc); tests inject it.
	AfterFunc func(d time.Duration, f func()) (stop func() bool)
	// Reasons, Accounts and Classifications are the codes agents choose.
	Reasons, Accounts, Classifications []pbx.Code
	// ClassificationRequired: the work timer after an answered ACD call
	// cannot be cancelled before the agent gave that call a
	// classification code (it still ends when WorkTime is over). Needs
	// Classifications.
	ClassificationRequired bool
	// RecallTime, when set, makes a hold recall ring the agent's phone
	// (Do Not Disturb or not) and an unsupervised transfer ring its
	// number for this long, through the hold context's sb-recall and
	// sb-xfer (see recall.go); an unanswered transfer then comes back to
	// the agent. Zero: plain Redirects into Context. Needs HoldContext.
	RecallTime time.Duration
	// Acts, if set, reports whether this Switchboard instance acts for
	// ext on its own (not on a request): several instances share one
	// Asterisk, and only the one holding ext's lease recalls a held
	// call or completes a transfer when ext's phone hangs up. Nil: this
	// instance acts for every extension.
	Acts func(ext string) bool

	Log zerolog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Driver is the Asterisk implementation of pbx.Switch. Create it with New
// and start the AMI link with Run.
type Driver struct {
	cfg    Config
	client *Client
	now    func() time.Time
	log    zerolog.Logger

	mu       sync.Mutex
	devices  map[string]*device // by extension
	byEP     map[string]*device // by endpoint
	order    []*device
	chans    map[string]*channel // by Uniqueid
	calls    map[string]*acall   // by Linkedid
	up       bool
	chanSeq  int
	version  string
	resynced chan struct{} // closed after the first resync
	tick     chan struct{} // closed (and replaced) after every AMI event
	linkTick chan struct{} // closed (and replaced) when the link goes up or down
	syncOnce sync.Once
	// instance tags this driver's UserEvents (see announce).
	instance string
}

type device struct {
	ext   Extension
	state pbx.DeviceState
	seq   uint64
	subs  pbx.Subscribers
	calls map[string]*acall     // live calls
	last  map[string]string     // last published snapshot key per call
	qs    map[string]membership // queue memberships by queue
	// The work timer: its end, the stop of its timer, and a generation
	// that makes a stale timer do nothing.
	workEnds time.Time
	workStop func() bool
	workGen  int
	// lastACD is the answered ACD call the work timer follows (it may
	// have ended); classPending: it still needs a classification code
	// (Config.ClassificationRequired).
	lastACD      string
	classPending bool
}

var agentIDPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,20}$`)

// New validates cfg and returns a driver (not yet connected).
func New(cfg Config) (*Driver, error) {
	var problems []string
	if cfg.AMI.Addr == "" {
		problems = append(problems, "AMI address is empty (host:5038)")
	}
	if cfg.AMI.Username == "" {
		problems = append(problems, "AMI user is empty (a manager.conf section)")
	}
	if len(cfg.Extensions) == 0 {
		problems = append(problems, "no extensions mapped to PJSIP endpoints")
	}
	if cfg.Context == "" {
		problems = append(problems, "originate context is empty (an extensions.conf context that dials extensions and outside numbers)")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AfterFunc == nil {
		cfg.AfterFunc = afterFunc
	}
	if cfg.WorkTime < 0 {
		problems = append(problems, "work time is negative")
	}
	if cfg.RecallTime < 0 || cfg.RecallTime > 0 && cfg.HoldContext == "" {
		problems = append(problems, "a recall time needs the hold context (sb-recall, sb-xfer) and must not be negative")
	}
	if cfg.ClassificationRequired && len(cfg.Classifications) == 0 {
		problems = append(problems, "a classification code is required but none is configured")
	}
	d := &Driver{
		cfg: cfg, now: cfg.Now, log: cfg.Log, instance: newCallID(),
		devices: map[string]*device{}, byEP: map[string]*device{},
		chans: map[string]*channel{}, calls: map[string]*acall{},
		resynced: make(chan struct{}), tick: make(chan struct{}), linkTick: make(chan struct{}),
	}
	for _, e := range cfg.Extensions {
		if e.Endpoint == "" {
			e.Endpoint = e.Number
		}
		if e.Kind == "" {
			e.Kind = pbx.KindRegular
		}
		if e.Number == "" || d.devices[e.Number] != nil || d.byEP[e.Endpoint] != nil {
			problems = append(problems, fmt.Sprintf("extension %q / endpoint %q: empty or mapped twice", e.Number, e.Endpoint))
			continue
		}
		if e.Kind != pbx.KindRegular && e.Kind != pbx.KindACD && e.Kind != pbx.KindHotDesk {
			problems = append(problems, fmt.Sprintf("extension %q: kind %q is not regular, acd or hotdesk", e.Number, e.Kind))
			continue
		}
		dv := &device{ext: e, calls: map[string]*acall{}, last: map[string]string{}}
		dv.state = pbx.DeviceState{Device: pbx.Device{Extension: e.Number, Name: e.Name, Kind: e.Kind}, LoggedIn: e.Kind == pbx.KindRegular}
		d.devices[e.Number] = dv
		d.byEP[e.Endpoint] = dv
		d.order = append(d.order, dv)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("asterisk: %s", strings.Join(problems, "; "))
	}
	cfg.AMI.Log = cfg.Log
	d.client = NewClient(cfg.AMI, d)
	return d, nil
}

// Run keeps the AMI link up until ctx ends (reconnecting with back-off and
// resyncing every device after each login); it returns ctx's error.
func (d *Driver) Run(ctx context.Context) error { return d.client.Run(ctx) }

// Client is the AMI link (for tests and diagnostics).
func (d *Driver) Client() *Client { return d.client }

// Resynced is closed once the first resync after login has finished.
func (d *Driver) Resynced() <-chan struct{} { return d.resynced }

// Link reports the AMI link: up (logged in and resynced) and the AMI
// protocol version from the banner.
func (d *Driver) Link() (up bool, version string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.up, d.version
}

// linkChanged wakes WaitLink (called with d.mu held).
func (d *Driver) linkChanged() {
	close(d.linkTick)
	d.linkTick = make(chan struct{})
}

// WaitLink waits until the AMI link is up (logged in and resynced) or,
// with up false, down; it returns ctx's error if that comes first.
func (d *Driver) WaitLink(ctx context.Context, up bool) error {
	for {
		d.mu.Lock()
		now, tick := d.up, d.linkTick
		d.mu.Unlock()
		if now == up {
			return nil
		}
		select {
		case <-tick:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Devices lists the configured devices in configuration order.
func (d *Driver) Devices(ctx context.Context) ([]pbx.Device, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]pbx.Device, 0, len(d.order))
	for _, dv := range d.order {
		out = append(out, dv.state.Device)
	}
	return out, nil
}

// Snapshot returns ext's state and live calls. ErrUnknownDevice.
func (d *Driver) Snapshot(ctx context.Context, ext string) (pbx.Snapshot, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dv, err := d.device("snapshot", ext)
	if err != nil {
		return pbx.Snapshot{}, err
	}
	snap := pbx.Snapshot{Seq: dv.seq, State: dv.state, Calls: []pbx.Call{}}
	ids := make([]string, 0, len(dv.calls))
	for id := range dv.calls {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		snap.Calls = append(snap.Calls, d.snapshot(dv.calls[id]))
	}
	return snap, nil
}

// Subscribe returns ext's events from now on (see pbx.Switch).
func (d *Driver) Subscribe(ctx context.Context, ext string) (<-chan pbx.Event, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("asterisk: subscribe %s: %w", ext, err)
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

// SetActs sets Config.Acts (for a caller that builds the driver before
// what knows the leases); call it before the link comes up.
func (d *Driver) SetActs(acts func(ext string) bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cfg.Acts = acts
}

// Codes returns the configured codes.
func (d *Driver) Codes(ctx context.Context) (pbx.Codes, error) {
	return pbx.Codes{
		Reasons:                slices.Clone(d.cfg.Reasons),
		Accounts:               slices.Clone(d.cfg.Accounts),
		Classifications:        slices.Clone(d.cfg.Classifications),
		ClassificationRequired: d.cfg.ClassificationRequired,
	}, nil
}

// Ping reports ErrUnavailable unless the AMI link is logged in and resynced.
func (d *Driver) Ping(ctx context.Context) error {
	up, _ := d.Link()
	if !up {
		return fmt.Errorf("asterisk: AMI link to %s is down: %w", d.cfg.AMI.Addr, pbx.ErrUnavailable)
	}
	return nil
}

// Capabilities reports which commands this deployment can do.
func (d *Driver) Capabilities() map[pbx.Command]bool {
	return map[pbx.Command]bool{
		pbx.CmdMakeCall: true, pbx.CmdClear: true, pbx.CmdRedirect: true,
		pbx.CmdDTMF: true, pbx.CmdDND: true, pbx.CmdMakeBusy: true,
		pbx.CmdAnswer:   d.cfg.AnswerNotify != "",
		pbx.CmdHold:     d.cfg.HoldContext != "",
		pbx.CmdRetrieve: d.cfg.HoldContext != "",
		pbx.CmdACDLogin: len(d.cfg.Queues) > 0,
		pbx.CmdConsult:  d.cfg.HoldContext != "", pbx.CmdTransfer: d.cfg.HoldContext != "", pbx.CmdConference: d.cfg.HoldContext != "",
		pbx.CmdHotDeskLogin: slices.ContainsFunc(d.order, func(dv *device) bool { return dv.ext.Kind == pbx.KindHotDesk }),
		pbx.CmdWorkTimer:    d.cfg.WorkTime > 0,
		pbx.CmdAccountCode:  len(d.cfg.Accounts) > 0, pbx.CmdClassification: len(d.cfg.Classifications) > 0,
	}
}

func (d *Driver) device(op, ext string) (*device, error) {
	dv, ok := d.devices[ext]
	if !ok {
		return nil, fmt.Errorf("asterisk: %s: extension %q: %w", op, ext, pbx.ErrUnknownDevice)
	}
	return dv, nil
}

// emit sends ev to dv's subscribers without ever blocking.
func (d *Driver) emit(dv *device, ev pbx.Event) {
	dv.seq++
	ev.Seq = dv.seq
	ev.Device = dv.ext.Number
	ev.Time = d.now()
	dv.subs.Send(ev)
}

func (d *Driver) emitState(dv *device, cause pbx.Cause) {
	st := dv.state
	d.emit(dv, pbx.Event{Type: pbx.DeviceUpdated, Cause: cause, State: &st})
}

// amiErr maps an AMI failure to the contract's errors.
func amiErr(op string, err error) error {
	var re *ResponseError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrDown), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("asterisk: %s: %w (%v)", op, pbx.ErrUnavailable, err)
	case errors.As(err, &re):
		return fmt.Errorf("asterisk: %s: Asterisk refused: %s: %w", op, re.Message, pbx.ErrNotAllowed)
	}
	return fmt.Errorf("asterisk: %s: %w", op, err)
}
