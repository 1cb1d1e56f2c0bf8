package adapter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/phone"
	"github.com/switchboard-cti/switchboard/salesforce"
)

// CRM is what the Service needs from Salesforce. *salesforce.Client
// satisfies it. Errors wrap the salesforce sentinels.
type CRM interface {
	// ScreenPop finds the records to pop for a call, by the rule order.
	ScreenPop(ctx context.Context, r salesforce.PopRequest) (salesforce.PopResult, error)
	// FindByPhone finds the Contacts, Accounts and Leads with a number.
	FindByPhone(ctx context.Context, number string) ([]salesforce.Match, error)
	// CreateTasks writes call logs and UpdateTasks changes them, through
	// sObject Collections: one result per Task, in order (one refused
	// record never fails the others); the error is for a request that
	// failed as a whole.
	CreateTasks(ctx context.Context, ts []salesforce.Task) ([]salesforce.SaveResult, error)
	UpdateTasks(ctx context.Context, ids []string, ts []salesforce.Task) ([]salesforce.SaveResult, error)
	// FindCallTasks finds the Tasks already written for calls, by
	// CallObject and OwnerId (15-character form).
	FindCallTasks(ctx context.Context, callObjects []string) (map[salesforce.CallTaskKey]string, error)
	// UserByExtension finds the Salesforce user whose Extension field names
	// a phone (ErrNotFound when none).
	UserByExtension(ctx context.Context, ext string) (salesforce.User, error)
	// SearchContacts serves the softphone's search bar.
	SearchContacts(ctx context.Context, term string, limit int) ([]salesforce.Match, error)
	// Ping reports whether Salesforce is usable.
	Ping(ctx context.Context) error
}

// Service turns switch events into screen pops, pushes and Tasks, and carries
// agents' commands to the switch.
type Service struct {
	Switch pbx.Switch
	CRM    CRM
	Store  Store
	Bus    Bus
	// Instance names this process (leases, outbox consumer).
	Instance string
	Now      func() time.Time
	Log      zerolog.Logger
	// LookupTimeout bounds a call's Salesforce lookup (the call keeps
	// ringing without matches after it). A new call is pushed at once;
	// its matches follow in a second push.
	LookupTimeout time.Duration
	// LookupConcurrency is how many Salesforce lookups run at once;
	// LookupQueue how many more may wait (beyond it a call rings without
	// matches).
	LookupConcurrency int
	LookupQueue       int
	// LeaseTTL is how long a device monitor lease lasts without renewal.
	LeaseTTL time.Duration
	// DefaultPopOrder is the admin's Pop-Up Order, for agents who did not
	// choose their own.
	DefaultPopOrder []salesforce.PopRule
	// Outbox tunes call log delivery (OutboxConfig's defaults when zero).
	Outbox OutboxConfig
	// Numbers reads and dials phone numbers (default region, dialing
	// options).
	Numbers Numbers
	// DialPause is how long a ',' in a dialled extension waits (phones'
	// "2-sec pause").
	DialPause time.Duration
	// AfterFunc runs f after d (time.AfterFunc; tests inject their clock).
	AfterFunc func(d time.Duration, f func())

	mu             sync.Mutex
	owned          map[string]bool // devices whose events this instance handles
	startClaimed   bool            // ClaimDevices just claimed them: the first lease round waits a tick
	wake           chan struct{}   // outbox worker wake-up
	full           chan struct{}   // a full outbox round is queued: stop lingering
	monitoring     chan struct{}   // closed once Run subscribed to the switch
	monitorOnce    sync.Once       // closes monitoring once
	queued         atomic.Int64    // call logs queued since the outbox last read
	pending        []TaskJob       // Task writes the store could not take (Redis down)
	crmAt          time.Time       // last Salesforce readiness check
	outboxObserver func(TaskJob, error)
	crmErr         error
	outboxStats    outboxStats

	lk      lookups
	devices deviceLocks
	canon   canonCache

	watcherOf func(ext string) *watcher // the watcher of each device (Run)
	held      atomic.Int64              // switch events held for takeovers (takeover.go)
	onHeld    func(pbx.Event)           // tests: an event was held
}

// canonCache remembers Numbers.Canonical's answers for the ringing path:
// reading a number costs about 40 µs (libphonenumber), more than the
// Redis round trip of the whole push, and callers ring again. At most
// canonCacheSize entries; it starts afresh when full.
type canonCache struct {
	mu sync.Mutex
	m  map[string]string
}

const canonCacheSize = 10000

func (c *canonCache) canonical(n Numbers, number string) string {
	key := n.Region + "|" + n.Dialing.Outside + "|" + n.Dialing.LongDistance + "|" + n.Dialing.International + "|" + number
	c.mu.Lock()
	v, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return v
	}
	v = n.Canonical(number)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= canonCacheSize {
		c.m = make(map[string]string)
	}
	c.m[key] = v
	c.mu.Unlock()
	return v
}

// NewService returns a Service with defaults filled in.
func NewService(sw pbx.Switch, crm CRM, st Store, bus Bus, instance string, log zerolog.Logger) *Service {
	return &Service{
		Switch: sw, CRM: crm, Store: st, Bus: bus, Instance: instance, Log: log,
		Now:               time.Now,
		LookupTimeout:     3 * time.Second,
		LookupConcurrency: 64,
		LookupQueue:       10000,
		LeaseTTL:          5 * time.Second,
		Numbers:           Numbers{Region: "US"},
		DialPause:         2 * time.Second,
		AfterFunc:         func(d time.Duration, f func()) { time.AfterFunc(d, f) },
		owned:             map[string]bool{},
		wake:              make(chan struct{}, 1),
		full:              make(chan struct{}, 1),
		monitoring:        make(chan struct{}),
	}
}

// handleWithRetry handles an event, waiting out a store or bus outage
// (Redis briefly down) so that no call, and no call log, is lost. Events
// that arrive meanwhile wait in the subscription; if it overflows, the seq
// gap triggers a resync.
func (s *Service) handleWithRetry(ctx context.Context, ext string, ev pbx.Event, h how) {
	wait := 50 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := s.handle(ctx, ev, h)
		if err == nil || ctx.Err() != nil {
			return
		}
		if !errors.Is(err, ErrUnavailable) {
			s.Log.Error().Err(err).Str("extension", ext).Str("event", string(ev.Type)).Msg("switch event not handled")
			return
		}
		if attempt == 0 {
			s.Log.Warn().Err(err).Str("extension", ext).Msg("store unavailable; holding switch events until it is back")
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Second)
	}
}

// HandleEvent applies one switch event to the device's state, looks the
// caller up, pushes to the agent and queues the call log.
func (s *Service) HandleEvent(ctx context.Context, ev pbx.Event) error {
	return s.handle(ctx, ev, how{seq: ev.Seq})
}

// how says how a switch event is applied.
type how struct {
	// seq is the event's Seq, kept on the call record (SwitchSeq); 0 for
	// a state read from a snapshot (Resync).
	seq uint64
	// replay: the event comes from the backlog of a device this instance
	// took over (takeover.go); the instance that handled the device
	// before may have applied it already, and then it is skipped.
	replay bool
	// over: replayed, and the call's end comes later in the backlog: the
	// call is stored, looked up and logged, but not pushed as ringing (it
	// is over; the agent gets its end and its history entry).
	over bool
}

// applied reports whether rec already reflects a replayed event: the
// previous handler stored a later (or the same) event of the device.
func (h how) applied(rec *CallRecord) bool {
	return h.replay && h.seq != 0 && h.seq <= rec.SwitchSeq
}

func (s *Service) handle(ctx context.Context, ev pbx.Event, h how) error {
	switch ev.Type {
	case pbx.CallUpdated:
		if ev.Call == nil {
			return nil
		}
		return s.callUpdated(ctx, ev.Device, *ev.Call, ev.Cause, s.eventTime(ev), h)
	case pbx.CallEnded:
		if ev.Call == nil {
			return nil
		}
		return s.callEnded(ctx, ev.Device, *ev.Call, ev.Cause, s.eventTime(ev), h)
	case pbx.DeviceUpdated:
		if ev.State == nil {
			return nil
		}
		st := *ev.State
		return s.Bus.Publish(ctx, ev.Device, AgentEvent{Type: EventDevice, Device: &st})
	}
	return nil
}

// eventTime is when the switch says the event happened (so a call handled
// late, after an outage, keeps its real times).
func (s *Service) eventTime(ev pbx.Event) time.Time {
	if ev.Time.IsZero() {
		return s.Now()
	}
	return ev.Time
}

// Resync makes the stored calls of ext agree with the switch's snapshot: a
// call the switch no longer has is ended, every other is updated.
func (s *Service) Resync(ctx context.Context, ext string) error {
	snap, err := s.Switch.Snapshot(ctx, ext)
	if err != nil {
		return fmt.Errorf("adapter: snapshot %s: %w", ext, err)
	}
	stored, err := s.Store.Calls(ctx, ext)
	if err != nil {
		return err
	}
	live := map[string]bool{}
	for _, c := range snap.Calls {
		live[c.ID] = true
		if err := s.callUpdated(ctx, ext, c, pbx.CauseNone, s.Now(), how{}); err != nil {
			return err
		}
	}
	for _, r := range stored {
		if !live[r.ID] && !r.PostCall && r.Ended.IsZero() {
			last := pbx.Call{ID: r.ID, Direction: r.Direction, ANI: r.ANI, DNIS: r.DNIS, Parties: r.Parties}
			if err := s.callEnded(ctx, ext, last, pbx.CauseNone, s.Now(), how{}); err != nil {
				return err
			}
		}
	}
	return nil
}

// talking reports whether another party than ext is connected on the call.
func talking(c pbx.Call, ext string) bool {
	for _, p := range c.Parties {
		if p.Number != ext && p.State == pbx.Connected {
			return true
		}
	}
	return false
}

func ownState(c pbx.Call, ext string) pbx.ConnState {
	if p, ok := c.Party(ext); ok {
		return p.State
	}
	return pbx.Disconnected
}

// otherNumber is the number the agent sees for a call: the caller for an
// incoming call, the first other party otherwise.
func otherNumber(c pbx.Call, ext string) string {
	if len(c.Parties) > 0 && c.Parties[0].Number != ext {
		if c.ANI != "" {
			return c.ANI
		}
		return c.Parties[0].Number
	}
	for _, p := range c.Parties {
		if p.Number != ext {
			return p.Number
		}
	}
	return c.ANI
}

// callUpdated stores and pushes a call's new state: one Redis round trip
// for a new (ringing) call, two for a change (CallPublisher). A new call's
// Salesforce lookup runs after the push, off this path. A replayed event
// the record already reflects changes nothing; a call that is over (h.over)
// is stored without a push, and looked up when it ends.
func (s *Service) callUpdated(ctx context.Context, ext string, c pbx.Call, cause pbx.Cause, now time.Time, h how) error {
	unlock := s.devices.lock(ext)
	defer unlock()
	other := otherNumber(c, ext)
	number, withheld := s.canon.canonical(s.Numbers, other), phone.Withheld(other) // once: f may run several times
	fresh := func() CallRecord {
		return CallRecord{
			ID: c.ID, Extension: ext, Direction: c.Direction,
			ANI: c.ANI, DNIS: c.DNIS, Digits: c.Digits, Queue: c.Queue, ACD: c.ACD,
			Number:   number,
			Withheld: withheld,
			Consult:  c.RelatedID != "",
			Via:      cause,
			Started:  now, Matches: []salesforce.Match{},
			Log: CallLog{QuickNotes: []string{}},
		}
	}
	// A call the agent dialled by clicking a record: that record is the
	// callee, no lookup (read before the transaction; only an outgoing
	// call pays for it).
	var dialed *CallRecord
	outgoing := (&CallRecord{Direction: c.Direction, Parties: c.Parties, Extension: ext}).isOutgoingLeg()
	if r := fresh(); outgoing {
		r.Parties = c.Parties
		if s.takeDialed(ctx, &r) {
			dialed = &r
		}
	}
	justAnswered, skip := false, false
	update := s.updateAndPush
	if outgoing || h.over {
		// The extension dialled is keyed (sendExtension) before the
		// agent hears the far end answered. A call that is over is not
		// pushed.
		update = s.Store.UpdateCall
	}
	rec, err := update(ctx, ext, c.ID, func(rec *CallRecord, exists bool) (CallChange, error) {
		justAnswered, skip = false, false
		if exists && h.applied(rec) {
			skip = true
			return CallKeep, nil
		}
		if !exists {
			if dialed != nil {
				*rec = *dialed
			} else {
				*rec = fresh()
			}
		}
		rec.State = ownState(c, ext)
		rec.Parties = c.Parties
		rec.RelatedID = c.RelatedID
		rec.Digits = c.Digits
		rec.AccountCode, rec.ClassificationCode = c.AccountCode, c.ClassificationCode
		if h.seq != 0 {
			rec.SwitchSeq = h.seq
		}
		if !exists && dialed == nil && needsLookup(*rec) {
			// Pushed at once; the matches follow when the lookup returns.
			rec.Lookup = LookupPending
		}
		if rec.State == pbx.Connected && rec.Answered.IsZero() && talking(c, ext) {
			rec.Answered = now // for a call the agent made: when the far end answered
			justAnswered = true
		}
		if exists && !rec.Ended.IsZero() && rec.State != pbx.Disconnected {
			// The call came back to a device that had left it (a transfer
			// or hold recall): it is live again, and its log is updated
			// when it ends for good.
			rec.Ended, rec.PostCall = time.Time{}, false
		}
		return CallPut, nil
	})
	if err != nil || skip || h.over {
		// (A call that is over is looked up when its end is handled.)
		return err
	}
	if outgoing {
		if justAnswered && !rec.isIncoming() {
			s.sendExtension(ctx, ext, rec.ID) // the far end answered: key the extension dialled
		}
		if err := s.Bus.Publish(ctx, ext, AgentEvent{Type: EventCall, Call: &rec}); err != nil {
			return err
		}
	}
	if rec.Lookup == LookupPending && s.lookupJob(lookupKey(ext, rec.ID)) == nil {
		s.startLookup(ctx, rec) // new, or started by an instance that went away
	}
	return nil
}

func nonNil(ms []salesforce.Match) []salesforce.Match {
	if ms == nil {
		return []salesforce.Match{}
	}
	return ms
}

// singleWho is the Contact or Lead to log against when exactly one matched.
func singleWho(ms []salesforce.Match) string {
	var id string
	for _, m := range ms {
		if m.Type == "Contact" || m.Type == "Lead" {
			if id != "" {
				return ""
			}
			id = m.ID
		}
	}
	return id
}

// singleWhat is the record to relate the Task to: the Campaign or Case that
// popped, or a single matched Account.
func singleWhat(ms []salesforce.Match) string {
	var id string
	for _, m := range ms {
		if m.Type == "Account" || m.Type == "Campaign" || m.Type == "Case" {
			if id != "" {
				return ""
			}
			id = m.ID
		}
	}
	return id
}

// callEnded ends a call on a device: the record leaves the softphone (or
// waits for wrap-up), the call log is queued and the agent's history
// gets the call. Only the change from live to ended does so: an end
// handled already (or replayed after the previous handler applied it)
// changes nothing.
func (s *Service) callEnded(ctx context.Context, ext string, c pbx.Call, cause pbx.Cause, now time.Time, h how) error {
	unlock := s.devices.lock(ext)
	defer unlock()
	before, err := s.Store.Call(ctx, ext, c.ID)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil // never seen (e.g. ended before this instance took over)
		}
		return err
	}
	if !before.Ended.IsZero() || h.applied(&before) {
		return nil // handled already
	}
	var looked *lookupResult
	if before.Lookup == LookupPending && before.Ended.IsZero() {
		// The call log needs the caller's records.
		res := s.awaitLookup(ctx, before)
		looked = &res
	}
	uid := s.deviceUser(ctx, ext)
	settings := DefaultSettings()
	var agent Agent
	signedIn := false // the agent has used the softphone: post-call work is theirs
	if uid != "" {
		if st, err := s.Store.Settings(ctx, uid); err == nil {
			settings = st
		}
		if ag, err := s.Store.Agent(ctx, uid); err == nil {
			agent, signedIn = ag, true
		}
	}
	var logIt, ended bool
	rec, err := s.Store.UpdateCall(ctx, ext, c.ID, func(rec *CallRecord, exists bool) (CallChange, error) {
		ended = false
		if !exists || !rec.Ended.IsZero() || h.applied(rec) {
			return CallKeep, nil // gone, or already handled
		}
		ended = true
		if h.seq != 0 {
			rec.SwitchSeq = h.seq
		}
		if looked != nil && rec.Lookup == LookupPending {
			looked.applyTo(rec)
		}
		rec.Ended = now
		rec.State = pbx.Disconnected
		rec.Parties = c.Parties
		if cause == pbx.CauseRedirected {
			rec.Redirected = true
		}
		// Logged: every call the agent talked on or made, and every
		// direct call that rang unanswered (the customer tried to reach
		// this agent). Not logged: redirected calls (the guide), an ACD
		// call offered to this agent and answered elsewhere, and call
		// types whose Call Notes the agent turned off (the guide: all
		// off, no call logs).
		// Offered but answered elsewhere: an ACD call another agent
		// takes, or a transfer not picked up here (it rings back to the
		// transferring agent, whose call it is).
		offeredOnly := !rec.wasAnswered() && (rec.ACD || rec.Via == pbx.CauseTransferred)
		// A consultation leg (the agent's call to the colleague consulted
		// about a transfer or conference, or the colleague's side of it)
		// is part of the original call, which is logged.
		// A device no agent ever signed in to has no one to log for.
		logIt = uid != "" && !rec.Redirected && !offeredOnly && !rec.Consult && notesOn(settings, rec.CallType())
		if !rec.wasAnswered() && rec.Log.Disposition == "" {
			if rec.isIncoming() {
				rec.Log.Disposition = "Missed"
			} else {
				rec.Log.Disposition = "No answer"
			}
		}
		// Post-call (notes, wrap-up) for an agent who uses the softphone;
		// the call of one who never signed in is logged at once.
		rec.PostCall = logIt && !settings.AutoSaveNotes && rec.wasAnswered() && signedIn
		if logIt && rec.Log.Subject == "" {
			rec.Log.Subject = settings.CallSubject
		}
		if rec.PostCall {
			return CallPut, nil
		}
		return CallDelete, nil
	})
	if err != nil || !ended {
		return err
	}
	if logIt {
		job := TaskJob{
			Key: rec.ID + "/" + ext, UserID: uid, Extension: ext, CallID: rec.ID,
			Task: s.buildTask(rec, uid), TaskID: rec.TaskID, Created: now,
		}
		if rec.PostCall {
			// Written at wrap-up; the server writes it after the grace
			// period if nobody wraps up (README, "Call logs").
			job.Grace = true
			job.NotBefore = now.Add(s.Outbox.withDefaults().WrapUpGrace) // from the end of the call, not from when this ran
		}
		job.AsUsername = agent.Username
		s.enqueue(ctx, job)
	}
	if uid != "" && !rec.Redirected && !rec.Consult {
		if err := s.Store.AddHistory(ctx, uid, historyEntry(rec)); err != nil {
			s.Log.Warn().Err(err).Str("call", rec.ID).Msg("history not updated")
		} else {
			_ = s.Bus.Publish(ctx, ext, AgentEvent{Type: EventHistory, CallID: rec.ID})
		}
	}
	return s.Bus.Publish(ctx, ext, AgentEvent{Type: EventCallEnded, Call: &rec})
}

// deviceUser is the agent of a device: the last one signed in to it, else
// the Salesforce user whose Extension field names it (remembered), so a
// call is logged even for an agent who never opened the softphone.
func (s *Service) deviceUser(ctx context.Context, ext string) string {
	if uid, err := s.Store.DeviceUser(ctx, ext); err == nil {
		return uid
	}
	if _, miss, _ := s.Store.Cache(ctx, "nouser:"+ext); miss {
		return ""
	}
	u, err := s.CRM.UserByExtension(ctx, ext)
	if err != nil || u.ID == "" {
		if IsNotFound(err) {
			_ = s.Store.SetCache(ctx, "nouser:"+ext, []byte("1"), 10*time.Minute)
		}
		return ""
	}
	_ = s.Store.SetDeviceUser(ctx, ext, u.ID)
	return u.ID
}

func notesOn(s Settings, callType string) bool {
	switch callType {
	case "Outbound":
		return s.OutboundCallNotes
	case "Internal":
		return s.InternalCallNotes
	default:
		return s.InboundCallNotes
	}
}

// CallType is the Task CallType of the call as the device saw it.
func (c *CallRecord) CallType() string {
	switch {
	case c.Direction == pbx.Internal:
		return "Internal"
	case c.isIncoming():
		return "Inbound"
	default:
		return "Outbound"
	}
}

func historyEntry(rec CallRecord) HistoryEntry {
	e := HistoryEntry{
		CallID: rec.ID, Number: rec.Number, Withheld: rec.Withheld, Time: rec.Started,
		Duration: int(rec.Duration() / time.Second), Missed: rec.Missed(),
		Direction: "incoming",
	}
	if !rec.isIncoming() {
		e.Direction = "outgoing"
	}
	if len(rec.Matches) > 0 {
		m := rec.Matches[0]
		if rec.Log.WhoID != "" {
			for _, x := range rec.Matches {
				if x.ID == rec.Log.WhoID {
					m = x
				}
			}
		}
		e.Name, e.RecordID, e.Type = m.Name, m.ID, m.Type
	} else {
		for _, p := range rec.Parties {
			if p.Number == rec.Number && p.Name != "" {
				e.Name = p.Name
			}
		}
	}
	return e
}
