package asterisk

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-cti/switchboard/pbx"
)

// The mapping from AMI events to the contract.
//
// A call is everything that shares one Linkedid (Asterisk gives every
// channel created on behalf of a call the Linkedid of the channel that
// started it), so Call.ID is that Linkedid. Each channel is one party: a
// channel of a mapped PJSIP endpoint is the internal party of that
// extension; any other channel (a trunk) is an external party, numbered by
// its caller id when it started the call (ANI) or by the number it was
// dialled with. Local channels are plumbing and are not parties.
//
// Names handled (Asterisk 12+ AMI, checked against 16.28 and 22.10):
// Newchannel, Newstate, NewCallerid, NewConnectedLine, DialBegin,
// DialEnd, Hangup, Hold, Unhold, MusicOnHoldStart/Stop (a fallback for
// phones whose hold shows only as music on hold), BridgeEnter,
// BridgeLeave, BlindTransfer, AttendedTransfer, ConfBridgeJoin,
// ConfBridgeLeave, VarSet (the digits variable), QueueCallerJoin, AgentCalled, AgentRingNoAnswer,
// QueueMemberAdded, QueueMemberRemoved, QueueMemberPause (and 13's
// QueueMemberPaused), QueueMemberStatus, DTMFEnd (and the older DTMF). Every
// other event is ignored.

// channel is one Asterisk channel.
type channel struct {
	id, linked, name string
	dev              *device // nil for an external (trunk) channel
	local            bool
	state            int // ChannelState
	cidNum, cidName  string
	exten            string
	dialed           string // number from the DialString that created it
	bridge           string
	held             bool          // on hold (phone hold or ours)
	parked           bool          // held by our Hold (waiting in the hold context)
	inWait           bool          // seen arriving in HoldContext,sb-wait
	inHold           bool          // seen arriving in HoldContext,sb-hold
	byUs             bool          // in a bridge made by Retrieve (Bridge action)
	arrived          chan struct{} // closed once ch and holdPeer reached the hold context
	holdPeer         *channel
	gone             bool
	everUp           bool
	endCause         pbx.Cause
	since            time.Time
	seq              int           // creation order
	consult          *acall        // the consultation call this agent channel talks on
	bridgeReq        bool          // our Bridge action is moving it into a new bridge
	inflight         chan struct{} // closed once Consult's Bridge of this agent channel returned
	conf             string        // the ConfBridge room the channel is in
	// toRoom: Conference, Transfer or Retrieve is redirecting the
	// channel into a ConfBridge room; cleared by its ConfbridgeJoin. On
	// its way a channel that a Bridge action had connected passes
	// through where that action found it (sb-wait or sb-hold): that is
	// no arrival on hold.
	toRoom bool
	// retrieving: a Retrieve of this (held) channel is under way, until
	// the channel is connected again or the Retrieve failed. A second
	// one meanwhile would pull both parties out of the bridge the first
	// made (and the driver would hang them up as left over).
	retrieving bool
	// clearing: Clear (or Transfer) hangs this agent channel up on
	// purpose; any other hang-up while the call waits on our hold is
	// the phone going on-hook (see agentLeftHold).
	clearing bool
}

// acall is the calls of one Linkedid.
type acall struct {
	id                 string
	created            time.Time
	chans              []*channel
	members            map[*device]bool
	ani, dnis, digits  string
	queue              string
	acd                bool
	dnisSet            bool
	account, classCode string
	// A consultation (supervised transfer or conference in progress):
	// on the held call x, consult is the consultation call y; on y, held
	// is x and by is the consulting agent's channel, which belongs to x
	// but is a party of y too. pending: y's target has no channel yet.
	consult, held *acall
	by            *channel
	pending       bool
	local         string        // y: the Local channel Consult originated
	bridged       bool          // y: the agent is being bridged with the consulted party
	talking       chan struct{} // y: closed once that Bridge action returned
	joining       bool          // y: a Transfer or Conference of it is under way
	mine          bool          // y: this driver's Consult made it (it bridges the answer)
	// room is the ConfBridge room the call's parties were moved to by
	// Conference ("" for a two-party call).
	room string
	// transferring: an unsupervised transfer sent the call on; a phone
	// it reaches before one answers gets it as transferred (not as a
	// new call: unanswered, it is not that phone's missed call).
	transferring bool
}

func (d *Driver) endpointOf(name string) (*device, bool) {
	tech, rest, ok := strings.Cut(name, "/")
	if !ok {
		return nil, false
	}
	if plumbing[strings.ToLower(tech)] {
		return nil, true
	}
	if i := strings.LastIndexByte(rest, '-'); i > 0 {
		rest = rest[:i]
	}
	return d.byEP[rest], false
}

// plumbing are channel technologies that are not parties of a call:
// Local pairs, the Surrogate a bridge action makes, ConfBridge's
// announcer and recorder, media snoops.
var plumbing = map[string]bool{"local": true, "surrogate": true, "announcer": true, "recorder": true, "cbann": true, "cbrec": true,
	"snoop": true, "unicastrtp": true, "multicastrtp": true, "message": true, "audiosocket": true}

func clean(v string) string {
	if v == "<unknown>" {
		return ""
	}
	return v
}

// Connected resyncs every device from the PBX's current state (AMI
// Handler). Events read meanwhile wait and are applied after it.
func (d *Driver) Connected(ctx context.Context, banner string) {
	if err := d.resync(ctx); err != nil {
		d.log.Warn().Err(err).Msg("AMI resync failed; dropping the link to retry")
		d.client.Close()
		return
	}
	d.mu.Lock()
	d.version = banner
	d.mu.Unlock()
	d.syncOnce.Do(func() { close(d.resynced) })
}

// Disconnected marks the link down (AMI Handler). Calls stay as they were
// until the resync after the next login corrects them.
func (d *Driver) Disconnected(err error) {
	d.mu.Lock()
	d.up = false
	d.linkChanged()
	d.mu.Unlock()
}

// Event applies one AMI event (AMI Handler).
func (d *Driver) Event(m Message) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.apply(m)
	close(d.tick) // wake commands waiting for a state (waitFor)
	d.tick = make(chan struct{})
}

// waitFor waits until cond (called with d.mu held) is true, re-checking
// after every AMI event, for at most the action timeout.
func (d *Driver) waitFor(ctx context.Context, what string, cond func() bool) error {
	wctx, cancel := context.WithTimeout(ctx, d.cfg.AMI.withDefaults().ActionTimeout)
	defer cancel()
	for {
		d.mu.Lock()
		ok, tick := cond(), d.tick
		d.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-tick:
		case <-wctx.Done():
			return fmt.Errorf("asterisk: %s: %w", what, pbx.ErrUnavailable)
		}
	}
}

func (d *Driver) apply(m Message) {
	switch strings.ToLower(m.Event()) {
	case "userevent":
		d.userEvent(m)
	case "newchannel":
		if y := d.calls[m.Get("Uniqueid")]; y != nil && y.pending {
			y.local = m.Get("Channel") // Consult's Local channel
		}
		ch := d.newChannel(m)
		if ch != nil {
			d.publish(d.calls[ch.linked], pbx.CauseNew)
		}
	case "newstate":
		ch := d.chanOf(m, "Uniqueid")
		if ch == nil {
			return
		}
		st, _ := strconv.Atoi(m.Get("ChannelState"))
		if st == ch.state {
			return
		}
		ch.state, ch.since = st, d.now()
		cause := pbx.CauseNone
		if st == 5 && ch.dev != nil {
			cause = pbx.CauseNew // the phone now rings
		}
		if st == 6 {
			ch.everUp = true
			cause = pbx.CauseAnswered
		}
		c := d.calls[ch.linked]
		if st == 6 && ch.dev != nil && c != nil {
			c.transferring = false
		}
		d.publish(c, cause)
	case "newcallerid":
		if ch := d.chanOf(m, "Uniqueid"); ch != nil {
			ch.cidNum, ch.cidName = clean(m.Get("CallerIDNum")), clean(m.Get("CallerIDName"))
			d.publish(d.calls[ch.linked], pbx.CauseNone)
		}
	case "dialbegin":
		if ch := d.chanOf(m, "DestUniqueid"); ch != nil {
			ds := m.Get("DialString")
			if _, rest, ok := strings.Cut(ds, "/"); ok && !strings.Contains(ds[:strings.IndexByte(ds, '/')], "@") {
				ds = rest
			}
			num, _, _ := strings.Cut(ds, "@")
			ch.dialed = num
			if c := d.calls[ch.linked]; c != nil && ch.dev == nil && !c.dnisSet && c.inboundOrigin() == nil {
				c.dnis, c.dnisSet = num, true
			}
			d.publish(d.calls[ch.linked], pbx.CauseNone)
		}
	case "queuecallerjoin":
		if c := d.callOf(m, "Uniqueid"); c != nil {
			c.queue, c.acd = m.Get("Queue"), true
			d.publish(c, pbx.CauseNone)
		}
	case "agentcalled":
		if c := d.callOf(m, "DestUniqueid"); c != nil {
			c.queue, c.acd = m.Get("Queue"), true
			d.publish(c, pbx.CauseNone)
		}
	case "agentringnoanswer":
		if ch := d.chanOf(m, "DestUniqueid"); ch != nil {
			ch.endCause = pbx.CauseNoAnswer
		}
	case "varset":
		if d.cfg.DigitsVar != "" && strings.EqualFold(m.Get("Variable"), d.cfg.DigitsVar) {
			if c := d.callOf(m, "Uniqueid"); c != nil {
				c.digits = m.Get("Value")
				d.publish(c, pbx.CauseNone)
			}
		}
	case "hold", "musiconholdstart":
		if ch := d.chanOf(m, "Uniqueid"); ch != nil && ch.dev != nil && !ch.held {
			ch.held, ch.since = true, d.now()
			d.publish(d.calls[ch.linked], pbx.CauseHeld)
		}
	case "unhold", "musiconholdstop":
		if ch := d.chanOf(m, "Uniqueid"); ch != nil && ch.held && !ch.parked {
			ch.held, ch.since = false, d.now()
			d.publish(d.calls[ch.linked], pbx.CauseRetrieved)
		}
	case "newexten":
		if d.cfg.HoldContext == "" || m.Get("Context") != d.cfg.HoldContext {
			return
		}
		ch := d.chanOf(m, "Uniqueid")
		exten := m.Get("Exten")
		if y := d.calls[m.Get("Uniqueid")]; ch == nil && y != nil && y.by != nil && exten == "sb-wait" && arrivalApp(m.Get("Application")) {
			d.consultAnswered(y, m.Get("Channel")) // Consult's Local channel: answered
			return
		}
		if ch == nil || (exten != "sb-wait" && exten != "sb-hold") {
			return
		}
		if ch.toRoom {
			return
		}
		if !arrivalApp(m.Get("Application")) {
			// A Redirect's first Newexten still names the application
			// the channel was running (Dial, Queue, ...): it has not
			// arrived yet.
			return
		}
		if ch.byUs {
			// Back from Retrieve's bridge (the other party left, or was
			// transferred away): Asterisk resumes the channel where the
			// Bridge action found it, in the hold context. Its call is over.
			ch.byUs = false
			d.hangupLater(ch.name)
			return
		}
		if exten == "sb-hold" {
			ch.inHold = true
		} else {
			ch.inWait = true
		}
		// Both held channels are in place: Retrieve may bridge them.
		for _, x := range d.calls[ch.linked].chans {
			if x.arrived != nil && x.inWait && (x.holdPeer == nil || x.holdPeer.inHold || x.holdPeer.gone) {
				close(x.arrived)
				x.arrived = nil
			}
		}
		if exten == "sb-hold" {
			return
		}
		if !ch.parked {
			ch.parked, ch.held, ch.since = true, true, d.now()
			d.publish(d.calls[ch.linked], pbx.CauseHeld)
		}
	case "bridgeenter":
		ch := d.chanOf(m, "Uniqueid")
		if ch == nil {
			return
		}
		ch.bridge = m.Get("BridgeUniqueid")
		if ch.bridgeReq {
			// The bridge our Bridge action asked for (not the Dial's
			// bridge a Redirect raced with).
			ch.bridgeReq, ch.inHold, ch.byUs = false, false, true
		}
		// Retrieve's Bridge is done once the agent and a party share it.
		c := d.calls[ch.linked]
		for _, x := range c.chans {
			if x.gone || !x.parked || !x.inWait || x.bridge == "" {
				continue
			}
			if slices.ContainsFunc(c.chans, func(y *channel) bool { return y != x && !y.gone && y.bridge == x.bridge }) {
				x.parked, x.inWait, x.held, x.retrieving, x.since = false, false, false, false, d.now()
				d.publish(c, pbx.CauseRetrieved)
			}
		}
	case "bridgeleave":
		if ch := d.chanOf(m, "Uniqueid"); ch != nil {
			ch.bridge = ""
		}
	case "blindtransfer":
		if ch := d.chanOf(m, "TransfererUniqueid"); ch != nil && strings.EqualFold(m.Get("Result"), "Success") {
			ch.endCause = pbx.CauseTransferred
		}
	case "attendedtransfer":
		if strings.EqualFold(m.Get("Result"), "Success") {
			for _, k := range []string{"OrigTransfererUniqueid", "SecondTransfererUniqueid"} {
				if ch := d.chanOf(m, k); ch != nil {
					ch.endCause = pbx.CauseTransferred
				}
			}
		}
	case "hangup":
		ch := d.chanOf(m, "Uniqueid")
		if ch == nil {
			// The Local channel Consult originated (its Uniqueid is the
			// consultation call's id) hung up before the consulted
			// phone ever had a channel: busy, DND, no such number.
			if y := d.calls[m.Get("Uniqueid")]; y != nil && y.pending {
				y.pending = false
				d.publish(y, hangupCause(m.Get("Cause")))
			}
			return
		}
		ch.gone, ch.since = true, d.now()
		if ch.dev != nil && ch.parked && !ch.clearing && ch.endCause == pbx.CauseNone {
			d.agentLeftHold(d.calls[ch.linked], ch)
		}
		if ch.endCause == pbx.CauseNone {
			ch.endCause = hangupCause(m.Get("Cause"))
		}
		c := d.calls[ch.linked]
		if y := ch.consult; y != nil {
			d.publish(y, ch.endCause)
		}
		d.publish(c, ch.endCause)
		d.cleanupHold(c)
		d.cleanupConference(c)
	case "confbridgejoin":
		if ch := d.chanOf(m, "Uniqueid"); ch != nil {
			ch.conf, ch.toRoom = m.Get("Conference"), false
			if ch.parked && ch.consult == nil {
				// Retrieve sent the agent back into the room.
				ch.parked, ch.held, ch.inWait, ch.retrieving, ch.since = false, false, false, false, d.now()
			}
			ch.byUs = false
			if c := d.calls[ch.linked]; c != nil {
				c.room = ch.conf
				d.publish(c, pbx.CauseConferenced)
			}
		}
	case "confbridgeleave":
		if ch := d.chanOf(m, "Uniqueid"); ch != nil {
			ch.conf = ""
			c := d.calls[ch.linked]
			d.publish(c, pbx.CauseNone)
			d.cleanupConference(c)
		}
	case "dtmfend", "dtmf":
		if strings.EqualFold(m.Event(), "DTMF") && !strings.EqualFold(m.Get("End"), "Yes") {
			return
		}
		if !strings.EqualFold(m.Get("Direction"), "Received") {
			return
		}
		ch := d.chanOf(m, "Uniqueid")
		if ch == nil || ch.dev != nil {
			return // digits a phone sends are not "received from a far party"
		}
		if c := d.calls[ch.linked]; c != nil {
			for dv := range c.members {
				cp := d.snapshot(c)
				d.emit(dv, pbx.Event{Type: pbx.DigitsReceived, Cause: pbx.CauseDigits, Call: &cp, Digits: m.Get("Digit")})
			}
		}
	case "queuememberadded", "queuememberremoved", "queuememberpause", "queuememberpaused", "queuememberstatus":
		d.member(m, strings.EqualFold(m.Event(), "QueueMemberRemoved"))
	}
}

// arrivalApp: a Newexten naming app shows the channel running the hold
// context's own dialplan, not one it is being redirected away from.
func arrivalApp(app string) bool {
	switch strings.ToLower(app) {
	case "dial", "appdial", "appdial2", "queue", "appqueue", "bridge", "confbridge", "bridgewait", "followme", "":
		return false
	}
	return true
}

// hangupCause maps a Q.850 cause (Hangup's Cause) to the contract.
func hangupCause(code string) pbx.Cause {
	switch code {
	case "17":
		return pbx.CauseBusy
	case "18", "19":
		return pbx.CauseNoAnswer
	case "21":
		return pbx.CauseRejected
	}
	return pbx.CauseCleared
}

func (d *Driver) chanOf(m Message, key string) *channel { return d.chans[m.Get(key)] }

func (d *Driver) callOf(m Message, key string) *acall {
	if ch := d.chanOf(m, key); ch != nil {
		return d.calls[ch.linked]
	}
	return nil
}

// newChannel records a channel from a Newchannel or CoreShowChannel event.
func (d *Driver) newChannel(m Message) *channel {
	id := m.Get("Uniqueid")
	if id == "" || d.chans[id] != nil {
		return nil
	}
	dev, local := d.endpointOf(m.Get("Channel"))
	if local {
		return nil
	}
	linked := m.Get("Linkedid")
	if linked == "" {
		linked = id
	}
	st, _ := strconv.Atoi(m.Get("ChannelState"))
	d.chanSeq++
	ch := &channel{
		id: id, linked: linked, name: m.Get("Channel"), dev: dev, state: st,
		cidNum: clean(m.Get("CallerIDNum")), cidName: clean(m.Get("CallerIDName")),
		exten: m.Get("Exten"), since: d.now(), everUp: st == 6, seq: d.chanSeq,
	}
	d.chans[id] = ch
	c := d.calls[linked]
	if c == nil {
		c = &acall{id: linked, created: d.now(), members: map[*device]bool{}}
		d.calls[linked] = c
		if dev == nil {
			c.ani, c.dnis = ch.cidNum, clean(ch.exten)
			if c.dnis == "s" {
				c.dnis = ""
			}
		}
	}
	c.chans = append(c.chans, ch)
	c.pending = false
	return ch
}

// visible: a phone's channel becomes a party once the phone rings (or
// answers); before that Asterisk has only created it (Down), and a test
// or agent that answers then would answer nothing.
func (ch *channel) visible() bool {
	return ch.dev == nil || ch.state != 0 || ch.everUp
}

// inboundOrigin is the call's first channel when it is external.
func (c *acall) inboundOrigin() *channel {
	if c.by == nil && len(c.chans) > 0 && c.chans[0].dev == nil {
		return c.chans[0]
	}
	return nil
}

// member applies a queue membership event to its device.
func (d *Driver) member(m Message, removed bool) {
	iface := m.Get("StateInterface")
	if iface == "" {
		iface = m.Get("Interface")
	}
	if iface == "" {
		iface = m.Get("Location") // QueueStatus' QueueMember
	}
	dv, _ := d.endpointOf(iface + "-x")
	if dv == nil {
		return
	}
	q := m.Get("Queue")
	before := dv.state
	if dv.qs == nil {
		dv.qs = map[string]membership{}
	}
	if removed {
		delete(dv.qs, q)
	} else {
		ms := dv.qs[q]
		ms.name = m.Get("MemberName")
		if ms.name == "" {
			ms.name = m.Get("Name")
		}
		if v, ok := m.Lookup("Membership"); ok {
			ms.dynamic = strings.EqualFold(v, "dynamic")
		} else if strings.EqualFold(m.Event(), "QueueMemberAdded") {
			ms.dynamic = true
		}
		if v, ok := m.Lookup("Paused"); ok {
			ms.paused = v == "1" || strings.EqualFold(v, "true") || strings.EqualFold(v, "yes")
			ms.reason = m.Get("PausedReason")
			if !ms.paused {
				ms.reason = ""
			}
		}
		dv.qs[q] = ms
	}
	d.deriveState(dv)
	if dv.state != before {
		cause := pbx.CauseNone
		switch {
		case dv.state.LoggedIn != before.LoggedIn:
			cause = pbx.CauseLogin
		case dv.state.WorkTimer != before.WorkTimer:
			cause = pbx.CauseWorkTimer
		}
		d.emitState(dv, cause)
	}
}

type membership struct {
	name    string
	dynamic bool
	paused  bool
	reason  string
}

// deriveState recomputes Make Busy and ACD login from memberships.
func (d *Driver) deriveState(dv *device) {
	st := &dv.state
	st.MakeBusy, st.Reason, st.WorkTimer = false, "", false
	loggedIn, agent := false, ""
	for _, q := range sortedKeys(dv.qs) {
		ms := dv.qs[q]
		if ms.paused && ms.reason == WorkReason {
			st.WorkTimer = true
		} else if ms.paused {
			st.MakeBusy = true
			if st.Reason == "" {
				st.Reason = ms.reason
			}
		}
		if ms.dynamic {
			loggedIn = true
			if agent == "" && !strings.Contains(ms.name, "/") {
				agent = ms.name
			}
		}
	}
	if dv.ext.Kind == pbx.KindACD {
		st.LoggedIn, st.AgentID = loggedIn, agent
	}
	if st.MakeBusy {
		st.WorkTimer = false // a Make Busy pause replaced the wrap-up
	}
	st.WorkTimerEnds = time.Time{}
	if st.WorkTimer {
		st.WorkTimerEnds = dv.workEnds
	}
	st.ClassificationPending = st.WorkTimer && dv.classPending
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// partyOf is a channel as a party of its call.
func (d *Driver) partyOf(c *acall, ch *channel) pbx.Party {
	p := pbx.Party{Since: ch.since}
	if ch.dev != nil {
		p.Number, p.Name, p.Internal = ch.dev.ext.Number, ch.dev.ext.Name, true
	} else {
		p.Number, p.Name = ch.dialed, ch.cidName
		if ch.dialed != "" {
			// A leg the PBX dialled out: its caller id is ours (the
			// agent's name), not the called party's.
			p.Name = ""
		}
		if ch == c.chans[0] && c.by == nil || p.Number == "" {
			p.Number, p.Name = ch.cidNum, ch.cidName
		}
	}
	origin := len(c.chans) > 0 && ch == c.chans[0] || ch == c.by
	switch {
	case ch.gone:
		p.State = pbx.Disconnected
	case ch == c.by:
		p.State = pbx.Connected // the consulting agent, on the consultation call
	case ch.held && c.consult != nil && c.consult.by == ch:
		p.State = pbx.ConsultHeld
	case ch.held:
		p.State = pbx.Held
	case ch.conf != "":
		p.State = pbx.Connected
	case ch.state == 6, origin && ch.state != 0 && ch.state != 5:
		p.State = pbx.Connected
	default:
		p.State = pbx.Alerting
	}
	return p
}

// snapshot is c in the contract's shape.
func (d *Driver) snapshot(c *acall) pbx.Call {
	out := pbx.Call{ID: c.id, ANI: c.ani, DNIS: c.dnis, Digits: c.digits, Queue: c.queue, ACD: c.acd,
		AccountCode: c.account, ClassificationCode: c.classCode, Created: c.created, Parties: make([]pbx.Party, 0, len(c.chans)+1)}
	external := false
	if c.by != nil {
		// A consultation call: the consulting agent first, then the
		// consulted party (dialled, not yet a channel, while pending).
		out.Parties = append(out.Parties, d.partyOf(c, c.by))
		if c.pending {
			_, internal := d.devices[c.dnis]
			out.Parties = append(out.Parties, pbx.Party{Number: c.dnis, Internal: internal, State: pbx.Alerting, Since: c.created})
			external = !internal
		}
	}
	if c.held != nil {
		out.RelatedID = c.held.id
	} else if c.consult != nil {
		out.RelatedID = c.consult.id
	}
	for i, ch := range c.chans {
		if !ch.visible() {
			continue
		}
		if ch.gone && ch.dev != nil && slices.ContainsFunc(c.chans[i+1:], func(x *channel) bool { return x.dev == ch.dev && !x.gone }) {
			continue // the phone is back on the call (a recall): one party for it
		}
		out.Parties = append(out.Parties, d.partyOf(c, ch))
		if ch.dev == nil {
			external = true
		}
	}
	switch {
	case c.inboundOrigin() != nil:
		out.Direction = pbx.Inbound
	case external:
		out.Direction = pbx.Outbound
	default:
		out.Direction = pbx.Internal
	}
	switch {
	case c.by != nil:
		out.ANI = c.by.dev.ext.Number
	case out.Direction != pbx.Inbound && len(c.chans) > 0 && c.chans[0].dev != nil:
		out.ANI = c.chans[0].dev.ext.Number
	}
	if !c.pending && slices.IndexFunc(c.chans, func(ch *channel) bool { return !ch.gone }) < 0 {
		out.Ended = d.now()
	}
	return out
}

// key summarises what a device sees of a call, to skip repeats.
func key(c pbx.Call) string {
	var b strings.Builder
	b.WriteString(c.ANI + "|" + c.DNIS + "|" + c.Digits + "|" + c.Queue + "|" + c.AccountCode + "|" + c.ClassificationCode + "|" + c.RelatedID)
	for _, p := range c.Parties {
		b.WriteString("|" + p.Number + ":" + string(p.State))
	}
	return b.String()
}

// publish reports c to every device on it: CallUpdated to devices with a
// live channel (when what they see changed), CallEnded to devices whose
// last channel has gone. A call without live channels is forgotten.
func (d *Driver) publish(c *acall, cause pbx.Cause) {
	if c == nil {
		return
	}
	snap := d.snapshot(c)
	k := key(snap)
	live := map[*device]*channel{}
	anyLive := c.pending
	for _, ch := range c.chans {
		if !ch.gone {
			anyLive = true
			if ch.dev != nil && ch.visible() {
				live[ch.dev] = ch
			}
		}
	}
	if by := c.by; by != nil && anyLive && !by.gone && by.dev != nil {
		live[by.dev] = by
	}
	send := func(dv *device, typ pbx.EventType, cause pbx.Cause) {
		cp := snap
		cp.Parties = slices.Clone(snap.Parties)
		d.emit(dv, pbx.Event{Type: typ, Cause: cause, Call: &cp})
	}
	for _, dv := range d.order {
		if _, ok := live[dv]; ok {
			devCause := cause
			if !c.members[dv] {
				c.members[dv] = true
				dv.calls[c.id] = c
				if c.transferring {
					devCause = pbx.CauseTransferred // how the call reached dv
				}
			}
			if dv.last[c.id] != k {
				dv.last[c.id] = k
				send(dv, pbx.CallUpdated, devCause)
			}
			continue
		}
		if c.members[dv] {
			delete(c.members, dv)
			delete(dv.calls, c.id)
			delete(dv.last, c.id)
			end := cause
			if c.by != nil && c.by.dev == dv && c.by.endCause != pbx.CauseNone {
				end = c.by.endCause
			}
			for i := len(c.chans) - 1; i >= 0; i-- {
				if ch := c.chans[i]; ch.dev == dv && ch.endCause != pbx.CauseNone {
					end = ch.endCause
					break
				}
			}
			send(dv, pbx.CallEnded, end)
			if c.acd && slices.ContainsFunc(c.chans, func(ch *channel) bool { return ch.dev == dv && ch.everUp }) {
				d.startWork(dv, c)
			}
		}
	}
	if !anyLive {
		for _, ch := range c.chans {
			delete(d.chans, ch.id)
		}
		delete(d.calls, c.id)
		d.endConsult(c)
		return
	}
	if len(c.chans) == 0 {
		return
	}
	// A leg that rang and stopped (a queue's other members, a re-ring)
	// is reported once as gone and then dropped from the party list.
	kept := c.chans[:1]
	for _, ch := range c.chans[1:] {
		if ch.gone && !ch.everUp {
			delete(d.chans, ch.id)
			continue
		}
		kept = append(kept, ch)
	}
	c.chans = kept
}

// cleanupHold ends a call whose only live channels are agents parked by
// our Hold (the far party hung up while held): Asterisk would leave them
// waiting in the hold context.
func (d *Driver) cleanupHold(c *acall) {
	if c == nil || d.calls[c.id] == nil {
		return
	}
	var parked []string
	for _, ch := range c.chans {
		if ch.gone {
			continue
		}
		if !ch.parked || ch.consult != nil {
			return // (an agent consulting goes on; endConsult checks again)
		}
		parked = append(parked, ch.name)
	}
	for _, name := range parked {
		d.hangupLater(name)
	}
}

// agentLeftHold handles an agent's phone going on-hook while its call
// waits on our hold (called with d.mu held from the agent channel's
// Hangup): Asterisk would leave the held party in sb-hold for good.
//   - During a consultation whose phone still rings: an unsupervised
//     transfer, as on MiVoice ("hang up to complete the transfer"): the
//     consultation is dropped and the held party sent to the number
//     (transferTo).
//   - During an answered consultation: the transfer completes (Bridge
//     of the held party with the consulted party); if Asterisk has hung
//     the consulted party up meanwhile, hold recall.
//   - Otherwise: hold recall, as on a PBX: the held party goes back to
//     the agent's phone, which rings again with the same call (recall).
//
// A conference goes on without the agent. Clear, Transfer and blind
// transfer mark the channels they hang up (clearing, endCause): those
// are not on-hook events. Only the instance that Acts for the extension
// acts.
func (d *Driver) agentLeftHold(x *acall, agent *channel) {
	if x == nil || x.room != "" {
		return
	}
	if d.cfg.Acts != nil && !d.cfg.Acts(agent.dev.ext.Number) {
		return // the instance holding the extension's lease acts
	}
	if y := agent.consult; y != nil && y.joining {
		return // Transfer or Conference is moving the parties (and ends the agent)
	}
	// The held parties: those waiting in sb-hold, and the one Hold just
	// sent there (the phone may hang up before it arrived).
	var held []*channel
	for _, p := range x.chans {
		if p != agent && !p.gone && (p.inHold || p == agent.holdPeer && !p.byUs) {
			held = append(held, p)
		}
	}
	if len(held) == 0 {
		return
	}
	for _, p := range held {
		p.inHold = false
	}
	agent.holdPeer = nil
	ext := agent.dev.ext.Number
	if y := agent.consult; y != nil && !y.bridged && y.dnis != "" && len(held) == 1 {
		agent.endCause = pbx.CauseTransferred
		drop := consulted(y)
		party, number := held[0].name, y.dnis
		d.log.Info().Str("call", x.id).Str("number", number).Msg("the agent hung up during a ringing consultation: unsupervised transfer")
		d.async(func(ctx context.Context) {
			for _, name := range drop {
				_, _ = d.client.Action(ctx, NewAction("Hangup", "Channel", name, "Cause", "16"))
			}
			if err := d.transferTo(ctx, "transfer on hang-up", party, number, ext); err != nil {
				d.log.Warn().Err(err).Str("call", x.id).Msg("transfer on hang-up failed")
			}
		})
		return
	}
	if y := agent.consult; y != nil && y.bridged && len(held) == 1 {
		var target *channel
		for _, ch := range y.chans {
			if !ch.gone && ch.state == 6 {
				target = ch
				break
			}
		}
		if target != nil {
			// The consulted party answered and is still there (the
			// agent's hang-up left it with the consultation's Local
			// pair): complete the transfer, as the Transfer command
			// would; if Asterisk has hung it up meanwhile, recall.
			agent.endCause = pbx.CauseTransferred
			party := held[0]
			party.bridgeReq, target.bridgeReq = true, true
			d.log.Info().Str("call", x.id).Str("number", y.dnis).Msg("the agent hung up during an answered consultation: supervised transfer")
			d.async(func(ctx context.Context) {
				if err := d.bridge(ctx, "transfer on hang-up", party.name, target.name); err != nil {
					d.log.Warn().Err(err).Str("call", x.id).Msg("transfer on hang-up failed: recalling the extension")
					d.mu.Lock()
					party.bridgeReq, target.bridgeReq = false, false
					d.mu.Unlock()
					d.recall(ctx, x.id, party.name, ext)
					return
				}
				d.mu.Lock()
				if y.held == x {
					d.transferred(x, y, agent)
				}
				d.mu.Unlock()
				d.announce(ctx, "Joined", "Consult", y.id, "Held", x.id, "Agent", agent.id, "Cause", string(pbx.CauseTransferred))
			})
			return
		}
	}
	d.log.Info().Str("call", x.id).Str("extension", ext).Msg("the agent hung up with the call on hold: recalling the extension")
	for _, p := range held {
		name := p.name
		d.async(func(ctx context.Context) {
			d.recall(ctx, x.id, name, ext)
		})
	}
}

// hangupLater hangs a channel up without holding up the event stream.
func (d *Driver) hangupLater(name string) {
	d.async(func(ctx context.Context) { _, _ = d.client.Action(ctx, NewAction("Hangup", "Channel", name)) })
}

// async runs f off the event stream, with the action timeout: for the
// actions the driver takes on its own when an event calls for them.
func (d *Driver) async(f func(ctx context.Context)) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), d.cfg.AMI.withDefaults().ActionTimeout)
		defer cancel()
		f(ctx)
	}()
}
