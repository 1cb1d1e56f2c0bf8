package asterisk

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-cti/switchboard/pbx"
)

// The commands. Each says the AMI action it sends and the dialplan or
// configuration it needs (see testdata/etc for a working example).

var (
	numberPattern = regexp.MustCompile(`^\+?[0-9*#]{1,32}$`)
	digitsPattern = regexp.MustCompile(`^[0-9*#A-Da-d]{1,32}$`)
)

// notSupported is the error for a command this deployment cannot do.
func notSupported(what, missing string) error {
	return fmt.Errorf("asterisk: %s: %s: %w", what, missing, pbx.ErrNotSupported)
}

// liveChan is ext's live channel on callID.
func (d *Driver) liveChan(op, ext, callID string) (*channel, *acall, error) {
	dv, err := d.device(op, ext)
	if err != nil {
		return nil, nil, err
	}
	c := dv.calls[callID]
	if c == nil {
		return nil, nil, fmt.Errorf("asterisk: %s: call %q on %s: %w", op, callID, ext, pbx.ErrUnknownCall)
	}
	if c.by != nil && c.by.dev == dv && !c.by.gone {
		return c.by, c, nil // ext consults on c
	}
	for i := len(c.chans) - 1; i >= 0; i-- {
		if ch := c.chans[i]; ch.dev == dv && !ch.gone {
			return ch, c, nil
		}
	}
	return nil, nil, fmt.Errorf("asterisk: %s: call %q on %s: %w", op, callID, ext, pbx.ErrUnknownCall)
}

// peerOf is the channel ch talks to: the other live channel of its bridge,
// else the other live channel of its call.
func peerOf(c *acall, ch *channel) *channel {
	var other *channel
	for _, x := range c.chans {
		if x == ch || x.gone {
			continue
		}
		if ch.bridge != "" && x.bridge == ch.bridge {
			return x
		}
		if other == nil {
			other = x
		}
	}
	return other
}

func (d *Driver) action(ctx context.Context, op string, a Message) error {
	_, err := d.client.Action(ctx, a)
	return amiErr(op, err)
}

// MakeCall originates a call: Originate (Async) of PJSIP/<endpoint> to
// Context/number/1, so the agent's phone rings first and, once answered,
// the dialplan dials number. The call id is the ChannelId given to
// Originate, which becomes the new channel's Uniqueid and the call's
// Linkedid. Needs: Context dials extensions and outside numbers.
func (d *Driver) MakeCall(ctx context.Context, ext, number string) (string, error) {
	number = strings.TrimSpace(number)
	if !numberPattern.MatchString(number) {
		return "", fmt.Errorf("asterisk: make call: number %q: use 1-32 digits, * or # (optionally a leading +): %w", number, pbx.ErrInvalid)
	}
	d.mu.Lock()
	dv, err := d.device("make call", ext)
	if err == nil && !dv.state.LoggedIn && dv.ext.Kind == pbx.KindHotDesk {
		err = fmt.Errorf("asterisk: make call: nobody is logged in to hot-desk extension %s: %w", ext, pbx.ErrNotLoggedIn)
	}
	if err == nil && dv.state.DND {
		err = fmt.Errorf("asterisk: make call: extension %s is in Do Not Disturb: %w", ext, pbx.ErrNotAllowed)
	}
	var ep, name string
	if dv != nil {
		ep, name = dv.ext.Endpoint, dv.ext.Name
	}
	d.mu.Unlock()
	if err != nil {
		return "", err
	}
	id := newCallID()
	cid := ext
	if name != "" {
		cid = fmt.Sprintf("\"%s\" <%s>", stripQuotes(name), ext)
	}
	a := NewAction("Originate", "Channel", "PJSIP/"+ep, "Context", d.cfg.Context, "Exten", number, "Priority", "1",
		"CallerID", cid, "Timeout", "30000", "Async", "true", "ChannelId", id)
	if err := d.action(ctx, "make call", a); err != nil {
		return "", err
	}
	return id, nil
}

// Answer answers a call ringing at ext: PJSIPNotify to the endpoint with
// the configured Event header (e.g. "talk"), which phones that support
// remote answer honour. Needs: Config.AnswerNotify and such phones.
func (d *Driver) Answer(ctx context.Context, ext, callID string) error {
	if d.cfg.AnswerNotify == "" {
		return notSupported("answer", "the phones have no remote-answer mechanism configured (set SWITCHBOARD_AMI_ANSWER_NOTIFY, e.g. talk, for phones that answer on a NOTIFY); answer on the phone")
	}
	d.mu.Lock()
	ch, _, err := d.liveChan("answer", ext, callID)
	d.mu.Unlock()
	if err != nil {
		return err
	}
	if ch.state == 6 {
		return fmt.Errorf("asterisk: answer: call %s is not ringing at %s: %w", callID, ext, pbx.ErrNotAllowed)
	}
	return d.action(ctx, "answer", NewAction("PJSIPNotify", "Endpoint", ch.dev.ext.Endpoint, "Variable", "Event="+d.cfg.AnswerNotify))
}

// Clear hangs up ext's channel (Hangup). When ext holds the call with our
// hold, the far party waiting in the hold context is hung up too.
func (d *Driver) Clear(ctx context.Context, ext, callID string) error {
	d.mu.Lock()
	ch, c, err := d.liveChan("clear", ext, callID)
	if err == nil && (c.by == ch && c.joining || c.consult != nil && c.consult.joining) {
		err = fmt.Errorf("asterisk: clear: a transfer or conference of call %s is under way: %w", callID, pbx.ErrNotAllowed)
	}
	if err == nil && c.by == ch {
		// Cancel the consultation: the consulted party hangs up, the
		// agent stays on hold on the held call.
		d.mu.Unlock()
		return d.clearConsultation(ctx, c)
	}
	if err == nil && c.consult != nil {
		// Clearing the held call during a consultation hands it over
		// to the consulted party (an unsupervised transfer).
		d.mu.Unlock()
		return d.Transfer(ctx, ext, callID)
	}
	var extra []string
	if err == nil {
		ch.clearing = true
	}
	if err == nil && ch.parked && c.room == "" {
		for _, x := range c.chans {
			if !x.gone && x != ch && x.dev == nil {
				extra = append(extra, x.name)
			}
		}
	}
	d.mu.Unlock()
	if err != nil {
		return err
	}
	if err := d.action(ctx, "clear", NewAction("Hangup", "Channel", ch.name, "Cause", "16")); err != nil {
		d.mu.Lock()
		ch.clearing = false
		d.mu.Unlock()
		return err
	}
	for _, name := range extra {
		_ = d.action(ctx, "clear", NewAction("Hangup", "Channel", name, "Cause", "16"))
	}
	return nil
}

// Hold holds ext's connected call on the switch, independent of the phone:
// a dual Redirect sends the far party to HoldContext,sb-hold,1 (music on
// hold) and ext's channel to HoldContext,sb-wait,1 (silence). Retrieve
// bridges the two again. Needs: Config.HoldContext with both extensions.
func (d *Driver) Hold(ctx context.Context, ext, callID string) error {
	if d.cfg.HoldContext == "" {
		return notSupported("hold", "no hold context configured (SWITCHBOARD_AMI_HOLD_CONTEXT with extensions sb-hold and sb-wait); hold on the phone")
	}
	d.mu.Lock()
	ch, c, err := d.liveChan("hold", ext, callID)
	var peer *channel
	if err == nil && (c.by == ch || c.consult != nil) {
		err = fmt.Errorf("asterisk: hold: call %s is part of a consultation: transfer, conference or clear the consultation call: %w", callID, pbx.ErrNotAllowed)
	}
	if err == nil && c.room != "" && (ch.toRoom || ch.conf == "" && !ch.held && !ch.parked) {
		// Conference (or Retrieve) just redirected the agent into the
		// room: wait until it is in (Asterisk refuses to redirect it
		// meanwhile).
		d.mu.Unlock()
		if werr := d.waitFor(ctx, "hold", func() bool { return ch.gone || !ch.toRoom && ch.conf != "" }); werr != nil {
			return fmt.Errorf("asterisk: hold: the agent never joined conference %s: %w", c.room, pbx.ErrNotAllowed)
		}
		return d.Hold(ctx, ext, callID)
	}
	if err == nil && c.room != "" {
		// A conference: only the agent leaves the room; the others
		// keep talking.
		if ch.held || ch.state != 6 {
			err = fmt.Errorf("asterisk: hold: call %s at %s is not connected: %w", callID, ext, pbx.ErrNotAllowed)
		} else {
			ch.parked, ch.held, ch.since = true, true, d.now()
			ch.byUs, ch.inWait = false, false
			ch.arrived, ch.holdPeer = make(chan struct{}), nil
		}
		d.mu.Unlock()
		if err != nil {
			return err
		}
		if err := d.action(ctx, "hold", NewAction("Redirect", "Channel", ch.name, "Context", d.cfg.HoldContext, "Exten", "sb-wait", "Priority", "1")); err != nil {
			d.mu.Lock()
			ch.parked, ch.held = false, false
			d.mu.Unlock()
			return err
		}
		d.mu.Lock()
		d.publish(c, pbx.CauseHeld)
		d.mu.Unlock()
		return nil
	}
	if err == nil {
		peer = peerOf(c, ch)
		if ch.held || ch.state != 6 || peer == nil {
			err = fmt.Errorf("asterisk: hold: call %s at %s is not connected to a party: %w", callID, ext, pbx.ErrNotAllowed)
		} else if ch.bridge == "" || peer.bridge != ch.bridge {
			// Just answered: redirecting the caller before Dial has
			// bridged the two would make Dial hang the phone up. Wait
			// for the bridge.
			d.mu.Unlock()
			werr := d.waitFor(ctx, "hold", func() bool {
				return ch.gone || peer.gone || ch.bridge != "" && peer.bridge == ch.bridge
			})
			if werr != nil {
				return fmt.Errorf("asterisk: hold: call %s at %s is not bridged with a party (in an application?): %w", callID, ext, pbx.ErrNotAllowed)
			}
			return d.Hold(ctx, ext, callID)
		} else {
			ch.parked, ch.held, ch.since = true, true, d.now()
			ch.byUs, peer.byUs, ch.inWait, peer.inHold = false, false, false, false
			ch.arrived, ch.holdPeer = make(chan struct{}), peer
		}
	}
	d.mu.Unlock()
	if err != nil {
		return err
	}
	a := NewAction("Redirect", "Channel", peer.name, "Context", d.cfg.HoldContext, "Exten", "sb-hold", "Priority", "1",
		"ExtraChannel", ch.name, "ExtraContext", d.cfg.HoldContext, "ExtraExten", "sb-wait", "ExtraPriority", "1")
	if err := d.retryBusy(ctx, "hold", a); err != nil {
		d.mu.Lock()
		ch.parked, ch.held = false, false
		d.mu.Unlock()
		return err
	}
	d.mu.Lock()
	d.publish(c, pbx.CauseHeld)
	d.mu.Unlock()
	return nil
}

// Retrieve reconnects a call held with Hold: Bridge of ext's channel and
// the far party's. A call held on the phone is retrieved on the phone.
func (d *Driver) Retrieve(ctx context.Context, ext, callID string) error {
	if d.cfg.HoldContext == "" {
		return notSupported("retrieve", "no hold context configured (SWITCHBOARD_AMI_HOLD_CONTEXT); retrieve on the phone")
	}
	d.mu.Lock()
	ch, c, err := d.liveChan("retrieve", ext, callID)
	var peer *channel
	if err == nil {
		peer = peerOf(c, ch)
		switch {
		case c.by == ch || c.consult != nil:
			err = fmt.Errorf("asterisk: retrieve: call %s is part of a consultation: clear the consultation call first: %w", callID, pbx.ErrNotAllowed)
		case !ch.held:
			err = fmt.Errorf("asterisk: retrieve: call %s is not held at %s: %w", callID, ext, pbx.ErrNotAllowed)
		case !ch.parked:
			err = notSupported("retrieve", "the call was held on the phone; retrieve it on the phone")
		case peer == nil:
			err = fmt.Errorf("asterisk: retrieve: call %s has no party left: %w", callID, pbx.ErrNotAllowed)
		case ch.retrieving:
			err = fmt.Errorf("asterisk: retrieve: call %s at %s is being retrieved already: %w", callID, ext, pbx.ErrNotAllowed)
		}
	}
	if err == nil {
		ch.retrieving = true
	}
	room := ""
	if err == nil {
		room = c.room
	}
	var arrived, inflight chan struct{}
	if err == nil {
		arrived, inflight = ch.arrived, ch.inflight
	}
	d.mu.Unlock()
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			d.mu.Lock()
			ch.retrieving = false
			d.mu.Unlock()
		}
	}()
	if inflight != nil {
		// A consultation's Bridge of this channel may still be running.
		select {
		case <-inflight:
		case <-ctx.Done():
			return fmt.Errorf("asterisk: retrieve: %w", ctx.Err())
		}
	}
	if arrived != nil {
		// Hold's Redirect moves the channels asynchronously: Bridge them
		// only once the agent's channel waits in the hold context.
		wctx, cancel := context.WithTimeout(ctx, d.cfg.AMI.withDefaults().ActionTimeout)
		defer cancel()
		select {
		case <-arrived:
		case <-wctx.Done():
			return fmt.Errorf("asterisk: retrieve: the held channel never reached %s,sb-wait: %w", d.cfg.HoldContext, pbx.ErrUnavailable)
		}
	}
	if room != "" {
		err := d.redirectToRoom(ctx, "retrieve", ch, room)
		ok = err == nil
		return err
	}
	d.mu.Lock()
	ch.bridgeReq, peer.bridgeReq = true, true
	d.mu.Unlock()
	err = d.bridge(ctx, "retrieve", ch.name, peer.name)
	if err != nil {
		d.mu.Lock()
		ch.bridgeReq, peer.bridgeReq = false, false
		d.mu.Unlock()
	}
	ok = err == nil
	return err
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// sleepCtx waits attempt*50 ms, or until ctx ends (its error).
func sleepCtx(ctx context.Context, attempt int) error {
	t := time.NewTimer(time.Duration(attempt) * 50 * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// BlindTransfer sends the party ext talks to on callID to number and
// drops ext (AMI BlindTransfer of ext's channel into Context/number;
// Asterisk 12+). Needs: Context dials number.
func (d *Driver) BlindTransfer(ctx context.Context, ext, callID, number string) error {
	if !numberPattern.MatchString(number) {
		return fmt.Errorf("asterisk: blind transfer: number %q: use 1-32 digits, * or #: %w", number, pbx.ErrInvalid)
	}
	d.mu.Lock()
	ch, c, err := d.liveChan("blind transfer", ext, callID)
	var peer *channel
	if err == nil {
		peer = peerOf(c, ch)
		if ch.state != 6 || peer == nil {
			err = fmt.Errorf("asterisk: blind transfer: call %s at %s is not connected: %w", callID, ext, pbx.ErrNotAllowed)
		}
	}
	parked := err == nil && ch.parked
	if err == nil {
		ch.endCause = pbx.CauseTransferred
		c.transferring = true
	}
	d.mu.Unlock()
	if err != nil {
		return err
	}
	if parked {
		// Held with our hold: the far party waits in the hold context, not
		// in a bridge, so send it on with Redirect and drop ext.
		if err := d.transferTo(ctx, "blind transfer", peer.name, number, ext); err != nil {
			return err
		}
		return d.action(ctx, "blind transfer", NewAction("Hangup", "Channel", ch.name, "Cause", "16"))
	}
	if err := d.action(ctx, "blind transfer", NewAction("BlindTransfer", "Channel", ch.name, "Context", d.cfg.Context, "Exten", number)); err != nil {
		return err
	}
	// Asterisk hangs the transferer up after a blind transfer out of a
	// Dial's bridge, but returns it to the dialplan out of a bridge our
	// Retrieve made: drop it either way (an error means it has gone).
	_, _ = d.client.Action(ctx, NewAction("Hangup", "Channel", ch.name, "Cause", "16"))
	return nil
}

// Redirect sends a call ringing at ext to number without answering:
// Redirect of the channel that dials ext (the caller, or the queue's
// caller) to Context/number/1; Asterisk cancels ext's ringing leg.
func (d *Driver) Redirect(ctx context.Context, ext, callID, number string) error {
	if !numberPattern.MatchString(number) {
		return fmt.Errorf("asterisk: redirect: number %q: use 1-32 digits, * or #: %w", number, pbx.ErrInvalid)
	}
	d.mu.Lock()
	ch, c, err := d.liveChan("redirect", ext, callID)
	var caller *channel
	if err == nil {
		if ch.state == 6 {
			err = fmt.Errorf("asterisk: redirect: call %s is not ringing at %s: %w", callID, ext, pbx.ErrNotAllowed)
		} else if caller = c.chans[0]; caller == ch || caller.gone {
			err = fmt.Errorf("asterisk: redirect: call %s has no caller to send on: %w", callID, pbx.ErrNotAllowed)
		} else {
			ch.endCause = pbx.CauseRedirected
		}
	}
	d.mu.Unlock()
	if err != nil {
		return err
	}
	return d.action(ctx, "redirect", NewAction("Redirect", "Channel", caller.name, "Context", d.cfg.Context, "Exten", number, "Priority", "1"))
}

// SendDTMF plays digits to the party ext talks to (PlayDTMF on that
// party's channel, one action per digit).
func (d *Driver) SendDTMF(ctx context.Context, ext, callID, digits string) error {
	if !digitsPattern.MatchString(digits) {
		return fmt.Errorf("asterisk: dtmf: %q: use 1-32 of 0-9 * # A-D: %w", digits, pbx.ErrInvalid)
	}
	d.mu.Lock()
	ch, c, err := d.liveChan("dtmf", ext, callID)
	var peer *channel
	if err == nil {
		if peer = peerOf(c, ch); ch.state != 6 || peer == nil || ch.held {
			err = fmt.Errorf("asterisk: dtmf: call %s at %s is not connected: %w", callID, ext, pbx.ErrNotAllowed)
		}
	}
	d.mu.Unlock()
	if err != nil {
		return err
	}
	for _, r := range digits {
		if err := d.action(ctx, "dtmf", NewAction("PlayDTMF", "Channel", peer.name, "Digit", string(r), "Duration", "120")); err != nil {
			return err
		}
	}
	return nil
}

// SetDND sets Do Not Disturb: AstDB key DND/<extension> (DBPut/DBDel),
// which the dialplan checks before dialling the phone
// (GotoIf($[${DB_EXISTS(DND/${EXTEN})}]?busy)), and pauses the device in
// its queues so no ACD call rings either.
func (d *Driver) SetDND(ctx context.Context, ext string, on bool) error {
	d.mu.Lock()
	dv, err := d.device("dnd", ext)
	d.mu.Unlock()
	if err != nil {
		return err
	}
	a := NewAction("DBDel", "Family", "DND", "Key", ext)
	if on {
		a = NewAction("DBPut", "Family", "DND", "Key", ext, "Val", "1")
	}
	if _, err := d.client.Action(ctx, a); err != nil && on {
		return amiErr("dnd", err)
	}
	d.mu.Lock()
	if dv.state.DND != on {
		dv.state.DND = on
		d.emitState(dv, pbx.CauseNone)
	}
	d.mu.Unlock()
	return nil
}

// SetMakeBusy pauses (or unpauses) ext in every queue it belongs to,
// with the reason code as PausedReason (QueuePause). ErrInvalid for an
// unknown reason; ErrNotAllowed when ext is in no queue.
func (d *Driver) SetMakeBusy(ctx context.Context, ext string, on bool, reason string) error {
	d.mu.Lock()
	dv, err := d.device("make busy", ext)
	inQueue := err == nil && len(dv.qs) > 0
	var ep string
	if dv != nil {
		ep = dv.ext.Endpoint
	}
	d.mu.Unlock()
	if err != nil {
		return err
	}
	if on && reason != "" && !slices.ContainsFunc(d.cfg.Reasons, func(c pbx.Code) bool { return c.Code == reason }) {
		return fmt.Errorf("asterisk: make busy: reason %q is not a configured reason code: %w", reason, pbx.ErrInvalid)
	}
	if !inQueue {
		return fmt.Errorf("asterisk: make busy: extension %s is in no queue (Make Busy pauses queue membership; log in to the ACD or add it to queues.conf): %w", ext, pbx.ErrNotAllowed)
	}
	a := NewAction("QueuePause", "Interface", "PJSIP/"+ep, "Paused", fmt.Sprint(on))
	if on && reason != "" {
		a.Add("Reason", reason)
	}
	return d.action(ctx, "make busy", a)
}

// ACDLogin adds ext to every configured queue as a dynamic member named
// agentID (QueueAdd). ErrAuth for an unknown agent id.
func (d *Driver) ACDLogin(ctx context.Context, ext, agentID string) error {
	if len(d.cfg.Queues) == 0 {
		return notSupported("acd login", "no ACD queues configured (SWITCHBOARD_AMI_QUEUES)")
	}
	if !agentIDPattern.MatchString(agentID) || (len(d.cfg.Agents) > 0 && !slices.Contains(d.cfg.Agents, agentID)) {
		return fmt.Errorf("asterisk: acd login: agent id %q is not known: %w", agentID, pbx.ErrAuth)
	}
	d.mu.Lock()
	dv, err := d.device("acd login", ext)
	d.mu.Unlock()
	if err != nil {
		return err
	}
	iface := "PJSIP/" + dv.ext.Endpoint
	for _, q := range d.cfg.Queues {
		_, err := d.client.Action(ctx, NewAction("QueueAdd", "Queue", q, "Interface", iface, "MemberName", agentID, "StateInterface", iface))
		if err != nil && !strings.Contains(strings.ToLower(err.Error()), "already") {
			return amiErr("acd login", err)
		}
	}
	return nil
}

// ACDLogout removes ext from every configured queue (QueueRemove).
func (d *Driver) ACDLogout(ctx context.Context, ext string) error {
	if len(d.cfg.Queues) == 0 {
		return notSupported("acd logout", "no ACD queues configured (SWITCHBOARD_AMI_QUEUES)")
	}
	d.mu.Lock()
	dv, err := d.device("acd logout", ext)
	d.mu.Unlock()
	if err != nil {
		return err
	}
	for _, q := range d.cfg.Queues {
		_, err := d.client.Action(ctx, NewAction("QueueRemove", "Queue", q, "Interface", "PJSIP/"+dv.ext.Endpoint))
		if err != nil && !strings.Contains(strings.ToLower(err.Error()), "not") {
			return amiErr("acd logout", err)
		}
	}
	return nil
}

// SetAccountCode tags the call (kept by Switchboard, and set as the CDR
// account code of ext's channel with Setvar CHANNEL(accountcode)).
func (d *Driver) SetAccountCode(ctx context.Context, ext, callID, code string) error {
	if !slices.ContainsFunc(d.cfg.Accounts, func(c pbx.Code) bool { return c.Code == code }) {
		return fmt.Errorf("asterisk: account code %q is not configured: %w", code, pbx.ErrInvalid)
	}
	d.mu.Lock()
	ch, c, err := d.liveChan("account code", ext, callID)
	if err == nil {
		c.account = code
		d.publish(c, pbx.CauseCodes)
	}
	d.mu.Unlock()
	if err != nil {
		return err
	}
	return d.action(ctx, "account code", NewAction("Setvar", "Channel", ch.name, "Variable", "CHANNEL(accountcode)", "Value", code))
}

// SetClassificationCode tags a call with a classification code (kept by
// Switchboard; Asterisk has no such notion): a live call, or the ACD
// call whose work timer runs (agents classify during wrap-up; that ends
// a pending classification, see Config.ClassificationRequired).
// ErrInvalid for a code not configured, ErrUnknownCall.
func (d *Driver) SetClassificationCode(ctx context.Context, ext, callID, code string) error {
	if !slices.ContainsFunc(d.cfg.Classifications, func(c pbx.Code) bool { return c.Code == code }) {
		return fmt.Errorf("asterisk: classification code %q is not configured: %w", code, pbx.ErrInvalid)
	}
	d.mu.Lock()
	_, c, err := d.liveChan("classification code", ext, callID)
	dv := d.devices[ext]
	wrapUp := dv != nil && dv.state.WorkTimer && dv.lastACD == callID && callID != ""
	switch {
	case err != nil && !wrapUp:
	case c != nil && !c.acd:
		err = fmt.Errorf("asterisk: classification code: call %s is not an ACD (queue) call: only ACD calls take a classification code: %w", callID, pbx.ErrNotAllowed)
	default:
		err = nil
	}
	if err != nil {
		d.mu.Unlock()
		return err
	}
	cleared := d.classified(dv, callID, code)
	val := workValue(dv)
	d.mu.Unlock()
	if cleared {
		// Before the answer: a cancel on any instance then finds it.
		d.putWork(ctx, ext, val)
	}
	d.announce(ctx, "Classified", "Extension", ext, "CallID", callID, "Code", code)
	return nil
}
