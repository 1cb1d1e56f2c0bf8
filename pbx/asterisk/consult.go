package asterisk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/switchboard-cti/switchboard/pbx"
)

// Supervised transfer and conference over AMI.
//
// Consult holds the agent's call with the driver's hold (HoldContext:
// the far party waits in sb-hold, the agent's channel in sb-wait) and
// then originates the consultation call: Originate of
// Local/<number>@<Context>/n to HoldContext,sb-wait,1 with ChannelId the
// consultation call's id. The dialplan rings the consulted number; once
// it answers, the Local channel arrives in sb-wait and the driver
// bridges it with the agent's waiting channel (Bridge action; the Local
// pair stays, /n): the agent talks to the consulted party on the
// phone's one line, without pressing anything. The
// consulted phone's channel inherits the ChannelId as its Linkedid, so it
// is the consultation call.
//
// Transfer then bridges the held party with the consulted party (Bridge
// action) and hangs the agent's channel up. Conference moves everyone to
// a ConfBridge room (Redirect to HoldContext,sbcf<room>,1, which runs
// ConfBridge(<room>)); a later consultation from the conference holds only
// the agent (the others keep talking) and Conference or Transfer sends
// the consulted party into the room. Clearing the consultation call hangs
// the consulted party up; the agent's channel returns to sb-wait and
// Retrieve reconnects it (Bridge, or Redirect back into the room).
//
// The consultation's structure lives in the driver: after an AMI
// reconnect in mid-consultation Asterisk shows the consulted party on
// the held call (it links bridged channels under the older Linkedid);
// the resync moves it back to the consultation call (restoreConsults).
// A restarted driver has no such memory and keeps Asterisk's picture.

// ConfExtenPrefix prefixes the room in the HoldContext extension that
// runs ConfBridge (exten => _sbcf.,1,ConfBridge(${EXTEN:4})).
const ConfExtenPrefix = "sbcf"

// newCallID is an id for a call the driver originates (the Originate's
// ChannelId, which becomes the Uniqueid and Linkedid).
func newCallID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "sb-" + hex.EncodeToString(b)
}

// consultOf finds the consultation pair for callID at dv: x is the held
// call, y the consultation call (nil when none is in progress).
func (d *Driver) consultOf(op string, dv *device, callID string) (x, y *acall, err error) {
	c := dv.calls[callID]
	if c == nil {
		return nil, nil, fmt.Errorf("asterisk: %s: call %q on %s: %w", op, callID, dv.ext.Number, pbx.ErrUnknownCall)
	}
	if c.by != nil {
		return c.held, c, nil
	}
	return c, c.consult, nil
}

// Consult holds callID at ext and calls number from ext's phone (see the
// comment above). ErrNotAllowed (not connected, held on the phone, a
// consultation already in progress), ErrInvalid, ErrNotSupported without
// a HoldContext.
func (d *Driver) Consult(ctx context.Context, ext, callID, number string) (string, error) {
	if d.cfg.HoldContext == "" {
		return "", notSupported("consult", "no hold context configured (SWITCHBOARD_AMI_HOLD_CONTEXT with sb-hold and sb-wait): a consultation holds the call there; use the phone's transfer key")
	}
	if !numberPattern.MatchString(number) {
		return "", fmt.Errorf("asterisk: consult: number %q: use 1-32 digits, * or # (optionally a leading +): %w", number, pbx.ErrInvalid)
	}
	if number == ext {
		return "", fmt.Errorf("asterisk: consult: cannot consult your own extension: %w", pbx.ErrInvalid)
	}
	d.mu.Lock()
	ch, x, err := d.liveChan("consult", ext, callID)
	if err == nil {
		switch {
		case x.by != nil:
			err = fmt.Errorf("asterisk: consult: call %s is itself a consultation call: %w", callID, pbx.ErrNotAllowed)
		case x.consult != nil:
			err = fmt.Errorf("asterisk: consult: a consultation is already in progress on call %s: %w", callID, pbx.ErrNotAllowed)
		case ch.held && !ch.parked:
			err = fmt.Errorf("asterisk: consult: call %s is held on the phone; retrieve it there first: %w", callID, pbx.ErrNotAllowed)
		case ch.state != 6:
			err = fmt.Errorf("asterisk: consult: call %s at %s is not connected: %w", callID, ext, pbx.ErrNotAllowed)
		}
	}
	needHold := err == nil && !ch.parked
	d.mu.Unlock()
	if err != nil {
		return "", err
	}
	if needHold {
		if err := d.Hold(ctx, ext, callID); err != nil {
			return "", err
		}
	}
	if err := d.waitParked(ctx, "consult", ch); err != nil {
		return "", err
	}

	id := newCallID()
	d.mu.Lock()
	if ch.gone || x.consult != nil {
		d.mu.Unlock()
		return "", fmt.Errorf("asterisk: consult: call %s changed meanwhile: %w", callID, pbx.ErrNotAllowed)
	}
	y := &acall{id: id, created: d.now(), members: map[*device]bool{}, pending: true,
		dnis: number, dnisSet: true, held: x, by: ch, talking: make(chan struct{}), mine: true}
	x.consult, ch.consult = y, y
	d.calls[id] = y
	d.publish(x, pbx.CauseConsult)
	d.publish(y, pbx.CauseConsult)
	cid := d.callerID(ch.dev)
	agentID := ch.id
	d.mu.Unlock()
	d.announce(ctx, "Consult", "Held", x.id, "Consult", id, "Agent", agentID, "Number", number)

	// /n: no Local channel optimization. Optimized, the consulted
	// phone would be bridged with the agent directly, and Asterisk hangs
	// it up when the agent's phone hangs up; kept apart by the Local
	// pair, it is still there to take the held call (transfer on
	// hang-up), and the consultation's structure stays what Asterisk
	// shows (the consulted phone keeps the consultation's Linkedid).
	a := NewAction("Originate", "Channel", "Local/"+number+"@"+d.cfg.Context+"/n", "Context", d.cfg.HoldContext, "Exten", "sb-wait", "Priority", "1",
		"CallerID", cid, "Timeout", "30000", "Async", "true", "ChannelId", id)
	if err := d.action(ctx, "consult", a); err != nil {
		d.mu.Lock()
		if y.pending {
			y.pending = false
			d.publish(y, pbx.CauseNone)
		}
		d.mu.Unlock()
		return "", err
	}
	return id, nil
}

// consultAnswered bridges the agent with the consulted party once the
// consultation's Local channel (answered: the consulted phone picked up)
// waits in sb-wait. Called with d.mu held; the action runs outside.
func (d *Driver) consultAnswered(y *acall, local string) {
	if y.bridged || y.by == nil || y.by.gone {
		return
	}
	y.bridged = true
	if !y.mine {
		// Another instance's consultation (announced): that instance
		// bridges the answer; this one may transfer or conference it.
		close(y.talking)
		return
	}
	y.by.inflight = y.talking
	agent, done := y.by.name, y.talking
	d.async(func(ctx context.Context) {
		defer close(done)
		if err := d.bridge(ctx, "consult", agent, local); err != nil {
			d.log.Warn().Err(err).Str("call", y.id).Msg("consultation: could not bridge the agent with the consulted party")
		}
	})
}

// waitTalking waits until the agent was bridged with the consulted party
// (Transfer or Conference must not race that Bridge action).
func (d *Driver) waitTalking(ctx context.Context, op string, y *acall) error {
	wctx, cancel := context.WithTimeout(ctx, d.cfg.AMI.withDefaults().ActionTimeout)
	defer cancel()
	select {
	case <-y.talking:
		return nil
	case <-wctx.Done():
		return fmt.Errorf("asterisk: %s: the agent was never connected to the consulted party: %w", op, pbx.ErrUnavailable)
	}
}

// waitParked waits until ch (just held with Hold) waits in sb-wait, so
// that a Bridge or Redirect finds it there.
func (d *Driver) waitParked(ctx context.Context, op string, ch *channel) error {
	d.mu.Lock()
	arrived := ch.arrived
	d.mu.Unlock()
	if arrived == nil {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, d.cfg.AMI.withDefaults().ActionTimeout)
	defer cancel()
	select {
	case <-arrived:
		return nil
	case <-wctx.Done():
		return fmt.Errorf("asterisk: %s: the held channel never reached %s,sb-wait: %w", op, d.cfg.HoldContext, pbx.ErrUnavailable)
	}
}

func (d *Driver) callerID(dv *device) string {
	if dv.ext.Name == "" {
		return dv.ext.Number
	}
	return fmt.Sprintf("\"%s\" <%s>", stripQuotes(dv.ext.Name), dv.ext.Number)
}

func stripQuotes(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r != '"' && r != '<' && r != '>' {
			out = append(out, r)
		}
	}
	return string(out)
}

// joinable checks that ext may hand the consultation y over (transfer or
// conference) and returns the agent's channel and the consulted party's.
func (d *Driver) joinable(op, ext, callID string) (x, y *acall, agent, target *channel, err error) {
	dv, err := d.device(op, ext)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	x, y, err = d.consultOf(op, dv, callID)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if y == nil || x == nil || y.by == nil || y.by.dev != dv {
		return nil, nil, nil, nil, fmt.Errorf("asterisk: %s: no consultation in progress on call %s: %w", op, callID, pbx.ErrNotAllowed)
	}
	agent = y.by
	for _, ch := range y.chans {
		if !ch.gone && ch.state == 6 {
			target = ch
			break
		}
	}
	return x, y, agent, target, nil
}

var errNotAnswered = fmt.Errorf("the consulted party has not answered yet: wait for the answer, or clear the consultation call: %w", pbx.ErrNotAllowed)

// moveParties puts y's channels on x (the consulted party joins the held
// call) and ends the consultation link.
func (d *Driver) moveParties(x, y *acall) {
	for _, ch := range y.chans {
		ch.linked = x.id
		x.chans = append(x.chans, ch)
	}
	y.chans = nil
	y.pending = false
	x.consult, y.held = nil, nil
	if y.by != nil {
		y.by.consult = nil
	}
}

// endConsult unlinks a consultation call that ended and reports the held
// call again (its agent is now on plain hold).
func (d *Driver) endConsult(y *acall) {
	x := y.held
	if y.by != nil && y.by.consult == y {
		y.by.consult = nil
	}
	y.held = nil
	if x != nil && x.consult == y {
		x.consult = nil
		d.publish(x, pbx.CauseNone)
		d.cleanupHold(x) // the held party may have hung up meanwhile
	}
}

// Transfer completes a supervised transfer: the held party (or, for a
// conference, the room) gets the consulted party and the agent drops.
// callID is either call of the consultation. While the consulted phone
// still rings, the consultation is dropped and the held party is sent to
// the number instead (Redirect to Context): an unsupervised transfer.
// ErrNotAllowed without a consultation (or, into a conference, before
// the consulted party answered).
func (d *Driver) Transfer(ctx context.Context, ext, callID string) error {
	d.mu.Lock()
	x, y, agent, target, err := d.joinable("transfer", ext, callID)
	var held *channel
	room := ""
	if err == nil {
		room = x.room
		if room == "" {
			if held = peerOf(x, agent); held == nil {
				err = fmt.Errorf("asterisk: transfer: nobody is left on the held call %s: %w", x.id, pbx.ErrNotAllowed)
			}
		}
	}
	if err == nil && target == nil && room != "" {
		err = fmt.Errorf("asterisk: transfer into a conference: %w", errNotAnswered)
	}
	if err == nil {
		err = d.startJoin("transfer", y)
	}
	d.mu.Unlock()
	if err != nil {
		return err
	}
	defer d.endJoin(y)
	if target == nil {
		// Unsupervised: the consulted phone still rings. Drop the
		// consultation and send the held party to the number instead
		// (the consulted phone rings again, now for the held party).
		if err := d.clearConsultation(ctx, y); err != nil {
			return err
		}
		if err := d.transferTo(ctx, "transfer", held.name, y.dnis, ext); err != nil {
			return err
		}
		d.mu.Lock()
		agent.endCause = pbx.CauseTransferred
		d.mu.Unlock()
		return d.action(ctx, "transfer", NewAction("Hangup", "Channel", agent.name, "Cause", "16"))
	}
	if err := d.waitTalking(ctx, "transfer", y); err != nil {
		return err
	}
	if room != "" {
		err = d.redirectToRoom(ctx, "transfer", target, room)
	} else {
		d.mu.Lock()
		held.bridgeReq, target.bridgeReq = true, true
		d.mu.Unlock()
		err = d.bridge(ctx, "transfer", held.name, target.name)
	}
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.transferred(x, y, agent)
	d.mu.Unlock()
	d.announce(ctx, "Joined", "Consult", y.id, "Held", x.id, "Agent", agent.id, "Cause", string(pbx.CauseTransferred))
	return d.action(ctx, "transfer", NewAction("Hangup", "Channel", agent.name, "Cause", "16"))
}

// bridge sends the Bridge action (see retryBusy).
func (d *Driver) bridge(ctx context.Context, op, ch1, ch2 string) error {
	return d.retryBusy(ctx, op, NewAction("Bridge", "Channel1", ch1, "Channel2", ch2, "Tone", "no"))
}

// retryBusy sends a, trying again shortly (up to 5 times, 50-200 ms
// apart) while Asterisk refuses it because a channel is still moving
// between bridges, or between a bridge and the dialplan: a Bridge or a
// Redirect right after an answer, or a Redirect while the bridge the
// channel was in dissolves (22.10 answers "Redirect failed" or "Unable
// to bridge channels" then). A refusal naming a channel that is gone
// fails at once.
func (d *Driver) retryBusy(ctx context.Context, op string, a Message) error {
	for attempt := 1; ; attempt++ {
		_, err := d.client.Action(ctx, a)
		var re *ResponseError
		if err == nil || attempt == 5 || !errors.As(err, &re) || channelGone(re.Message) {
			return amiErr(op, err)
		}
		if werr := sleepCtx(ctx, attempt); werr != nil {
			return amiErr(op, err)
		}
	}
}

// channelGone reports whether an AMI error message says a channel does
// not exist (or is hanging up): retrying cannot help.
func channelGone(msg string) bool {
	for _, s := range []string{"not exist", "no such channel", "not up", "permission"} {
		if containsFold(msg, s) {
			return true
		}
	}
	return false
}

// redirectToRoom sends ch into ConfBridge room (Redirect to
// HoldContext,sbcf<room>,1) and marks it on its way there (toRoom) until
// its ConfbridgeJoin. Asterisk refuses the Redirect while the channel is
// between a bridge and the dialplan ("Redirect failed"; seen on 22.10
// when the consulted party's Local channel hangs up and the agent's
// bridge dissolves under it), so it goes through retryBusy.
//
// With extra, one dual Redirect (ExtraChannel) sends extra there too.
func (d *Driver) redirectToRoom(ctx context.Context, op string, ch *channel, room string, extra ...*channel) error {
	chans := append([]*channel{ch}, extra...)
	set := func(on bool) {
		d.mu.Lock()
		for _, c := range chans {
			c.toRoom = on
		}
		d.mu.Unlock()
	}
	set(true)
	exten := ConfExtenPrefix + room
	a := NewAction("Redirect", "Channel", ch.name, "Context", d.cfg.HoldContext, "Exten", exten, "Priority", "1")
	for _, x := range extra {
		a.Add("ExtraChannel", x.name)
		a.Add("ExtraContext", d.cfg.HoldContext)
		a.Add("ExtraExten", exten)
		a.Add("ExtraPriority", "1")
	}
	err := d.retryBusy(ctx, op, a)
	if err != nil {
		set(false)
	}
	return err
}

// startJoin marks y as being transferred or conferenced (called with
// d.mu held): a second Transfer or Conference meanwhile (a double click)
// gets ErrNotAllowed instead of moving the parties twice.
func (d *Driver) startJoin(op string, y *acall) error {
	if y.joining {
		return fmt.Errorf("asterisk: %s: a transfer or conference of consultation %s is under way: %w", op, y.id, pbx.ErrNotAllowed)
	}
	y.joining = true
	return nil
}

// endJoin clears startJoin's mark.
func (d *Driver) endJoin(y *acall) {
	d.mu.Lock()
	y.joining = false
	d.mu.Unlock()
}

// Conference joins the consulted party to the held call: every party
// goes to the call's ConfBridge room. ErrLimit beyond pbx.MaxParties,
// ErrNotAllowed without an answered consultation.
func (d *Driver) Conference(ctx context.Context, ext, callID string) error {
	d.mu.Lock()
	x, y, agent, target, err := d.joinable("conference", ext, callID)
	var held []*channel
	room := ""
	if err == nil {
		n := 0
		for _, ch := range x.chans {
			if !ch.gone && ch.visible() {
				n++
				if ch != agent && x.room == "" {
					held = append(held, ch)
				}
			}
		}
		for _, ch := range y.chans {
			if !ch.gone {
				n++
			}
		}
		if n > pbx.MaxParties {
			err = fmt.Errorf("asterisk: conference: %d parties: a conference has at most %d parties: %w", n, pbx.MaxParties, pbx.ErrLimit)
		}
		room = x.room
		if room == "" {
			room = x.id
		}
		if target == nil {
			err = fmt.Errorf("asterisk: conference: %w", errNotAnswered)
		}
	}
	if err == nil {
		err = d.startJoin("conference", y)
	}
	d.mu.Unlock()
	if err != nil {
		return err
	}
	defer d.endJoin(y)
	if err := d.waitTalking(ctx, "conference", y); err != nil {
		return err
	}
	for _, ch := range held {
		if err := d.redirectToRoom(ctx, "conference", ch, room); err != nil {
			return err
		}
	}
	// The agent and the consulted party in one dual Redirect, while
	// their bridge (or bridges, before Asterisk optimized the Local
	// channel away) still holds them: Asterisk sets both destinations
	// before either leaves, so neither is caught leaving a bridge that
	// dissolves (one by one, 22.10 lost the agent's channel to that:
	// "Unable to gain control of channel").
	if err := d.redirectToRoom(ctx, "conference", agent, room, target); err != nil {
		// The held parties went ahead into the room alone: send them
		// back to hold, where the agent's call still is.
		for _, ch := range held {
			if herr := d.retryBusy(ctx, "conference", NewAction("Redirect", "Channel", ch.name, "Context", d.cfg.HoldContext, "Exten", "sb-hold", "Priority", "1")); herr != nil {
				d.log.Warn().Err(herr).Str("call", x.id).Msg("conference failed; could not put the held party back on hold")
			}
			d.mu.Lock()
			ch.toRoom = false
			d.mu.Unlock()
		}
		return err
	}
	d.mu.Lock()
	d.conferenced(x, y, agent, room)
	d.mu.Unlock()
	d.announce(ctx, "Joined", "Consult", y.id, "Held", x.id, "Agent", agent.id, "Cause", string(pbx.CauseConferenced), "Room", room)
	return nil
}

// transferred records that y's parties joined x and the agent leaves:
// the transfer completed (called with d.mu held).
func (d *Driver) transferred(x, y *acall, agent *channel) {
	agent.endCause = pbx.CauseTransferred
	d.moveParties(x, y)
	d.publish(y, pbx.CauseTransferred)
	d.publish(x, pbx.CauseTransferred)
}

// conferenced records that y's parties joined x's room (called with
// d.mu held).
func (d *Driver) conferenced(x, y *acall, agent *channel, room string) {
	x.room = room
	agent.parked, agent.held, agent.inWait, agent.byUs, agent.since = false, false, false, false, d.now()
	d.moveParties(x, y)
	d.publish(y, pbx.CauseConferenced)
	d.publish(x, pbx.CauseConferenced)
}

// cleanupConference hangs up the last party left alone in a conference
// room (everybody else hung up): ConfBridge would keep it there.
func (d *Driver) cleanupConference(c *acall) {
	if c == nil || c.room == "" || d.calls[c.id] == nil {
		return
	}
	var live []*channel
	for _, ch := range c.chans {
		if !ch.gone {
			live = append(live, ch)
		}
	}
	if len(live) == 1 && live[0].conf != "" && live[0].consult == nil {
		d.hangupLater(live[0].name)
	}
}

// clearConsultation hangs up the consulted party of y (the agent's
// channel returns to sb-wait, on hold on the held call).
func (d *Driver) clearConsultation(ctx context.Context, y *acall) error {
	d.mu.Lock()
	bridged := y.bridged
	d.mu.Unlock()
	if bridged {
		// Let the Bridge action that connects the agent finish first:
		// a late one would pull the agent out of the hold context again.
		if err := d.waitTalking(ctx, "clear", y); err != nil {
			return err
		}
	}
	d.mu.Lock()
	names := consulted(y)
	d.mu.Unlock()
	for _, name := range names {
		if err := d.action(ctx, "clear", NewAction("Hangup", "Channel", name, "Cause", "16")); err != nil {
			return err
		}
	}
	return nil
}

// consulted names the channels to hang up to drop consultation y (called
// with d.mu held): the consulted party's, or Consult's Local channel
// while the consulted phone has none yet.
func consulted(y *acall) []string {
	var names []string
	for _, ch := range y.chans {
		if !ch.gone {
			names = append(names, ch.name)
		}
	}
	if len(names) == 0 && y.local != "" {
		names = append(names, y.local)
	}
	return names
}
