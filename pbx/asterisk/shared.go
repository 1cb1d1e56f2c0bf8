package asterisk

import (
	"context"
	"strings"

	"github.com/switchboard-cti/switchboard/pbx"
)

// Several Switchboard instances share one Asterisk, each with its own AMI
// session and driver; a request reaches whichever instance the load
// balancer picks. What Asterisk does not keep (which call is a
// consultation of which, and a call's classification code) the driver
// that handled the request announces with the AMI UserEvent action, and
// every driver applies it from its event stream:
//
//	UserEvent: SwitchboardConsult     Held, Consult, Agent (Uniqueid), Number
//	UserEvent: SwitchboardJoined      Consult, Held, Agent, Cause (transferred|conferenced), Room
//	UserEvent: SwitchboardClassified  Extension, CallID, Code
//
// Each carries SBInstance, the sending driver's id: a driver skips its
// own. Asterisk sends a UserEvent to every session reading the "user"
// class, in order with the channel events around it (manager.conf: read
// needs user, write needs user).

// announce sends a UserEvent named "Switchboard"+kind with the fields kv
// (best effort: a failure is logged; this instance's own state is right
// already).
func (d *Driver) announce(ctx context.Context, kind string, kv ...string) {
	a := NewAction("UserEvent", append([]string{"UserEvent", "Switchboard" + kind, "SBInstance", d.instance}, kv...)...)
	if err := d.action(ctx, "announce", a); err != nil {
		d.log.Warn().Err(err).Str("event", "Switchboard"+kind).Msg("could not tell the other Switchboard instances (UserEvent; manager.conf write needs user)")
	}
}

// userEvent applies another instance's announcement (called with d.mu
// held).
func (d *Driver) userEvent(m Message) {
	if m.Get("SBInstance") == d.instance {
		return
	}
	switch strings.ToLower(m.Get("UserEvent")) {
	case "switchboardconsult":
		x, agent := d.calls[m.Get("Held")], d.chans[m.Get("Agent")]
		id := m.Get("Consult")
		if x == nil || agent == nil || agent.gone || agent.linked != x.id || x.consult != nil || id == "" {
			return
		}
		y := d.calls[id]
		if y == nil {
			y = &acall{id: id, created: d.now(), members: map[*device]bool{}, pending: true}
			d.calls[id] = y
		}
		y.dnis, y.dnisSet, y.held, y.by, y.talking = m.Get("Number"), true, x, agent, make(chan struct{})
		x.consult, agent.consult = y, y
		d.publish(x, pbx.CauseConsult)
		d.publish(y, pbx.CauseConsult)
	case "switchboardjoined":
		y := d.calls[m.Get("Consult")]
		if y == nil || y.held == nil || y.by == nil || y.held.id != m.Get("Held") {
			return
		}
		x, agent := y.held, y.by
		if pbx.Cause(m.Get("Cause")) == pbx.CauseConferenced {
			d.conferenced(x, y, agent, m.Get("Room"))
			return
		}
		d.transferred(x, y, agent)
	case "switchboardclassified":
		dv := d.devices[m.Get("Extension")]
		if dv == nil {
			return
		}
		d.classified(dv, m.Get("CallID"), m.Get("Code"))
	}
}

// classified records code on dv's call callID, live or the ACD call its
// work timer follows (called with d.mu held); it reports whether that
// ended a pending classification.
func (d *Driver) classified(dv *device, callID, code string) bool {
	if c := dv.calls[callID]; c != nil && c.classCode != code {
		c.classCode = code
		d.publish(c, pbx.CauseCodes)
	}
	if dv.lastACD != callID || !dv.classPending || !dv.state.WorkTimer {
		return false
	}
	dv.classPending = false
	d.deriveState(dv)
	d.emitState(dv, pbx.CauseCodes)
	return true
}
