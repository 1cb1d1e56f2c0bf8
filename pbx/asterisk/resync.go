package asterisk

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboard-cti/switchboard/pbx"
)

// resync rebuilds every device's calls and state from the PBX's current
// state after a (re)connect: CoreShowChannels (channels, their call and
// bridge, the hold context's Wait, ConfBridge rooms), QueueStatus (queue callers and members: ACD login, Make Busy),
// DBGet DND/<ext> (Do Not Disturb) and Getvar of the digits variable.
// Devices then get CallEnded for calls that ended while the link was down,
// CallUpdated for the calls they are on, DeviceUpdated when their state
// changed.
func (d *Driver) resync(ctx context.Context) error {
	_, chans, err := d.client.List(ctx, NewAction("CoreShowChannels"))
	if err != nil {
		return fmt.Errorf("asterisk: resync: CoreShowChannels: %w", err)
	}
	_, qs, err := d.client.List(ctx, NewAction("QueueStatus"))
	if err != nil {
		qs = nil // app_queue not loaded: no queues
	}
	dnd := map[string]bool{}
	d.mu.Lock()
	exts := make([]string, 0, len(d.order))
	hotDesks := map[string]bool{}
	byIface := map[string]string{}
	for _, dv := range d.order {
		exts = append(exts, dv.ext.Number)
		hotDesks[dv.ext.Number] = dv.ext.Kind == pbx.KindHotDesk
		byIface[strings.ToLower("PJSIP/"+dv.ext.Endpoint)] = dv.ext.Number
	}
	d.mu.Unlock()
	// Members paused for wrap-up: their work timer's end is in AstDB.
	work := map[string]string{}
	for _, m := range qs {
		if !strings.EqualFold(m.Event(), "QueueMember") || m.Get("PausedReason") != WorkReason {
			continue
		}
		iface := cmp.Or(m.Get("StateInterface"), m.Get("Interface"), m.Get("Location"))
		ext, ok := byIface[strings.ToLower(iface)]
		if _, done := work[ext]; !ok || done {
			continue
		}
		work[ext] = ""
		if _, evs, err := d.client.List(ctx, NewAction("DBGet", "Family", WorkFamily, "Key", ext)); err == nil && len(evs) > 0 {
			work[ext] = evs[0].Get("Val")
		}
	}
	hot := map[string]bool{}
	for _, ext := range exts {
		_, evs, err := d.client.List(ctx, NewAction("DBGet", "Family", "DND", "Key", ext))
		if err == nil && len(evs) > 0 && evs[0].Get("Val") != "" {
			dnd[ext] = true
		}
		if hotDesks[ext] {
			_, evs, err := d.client.List(ctx, NewAction("DBGet", "Family", "HOTDESK", "Key", ext))
			hot[ext] = err == nil && len(evs) > 0 && evs[0].Get("Val") != ""
		}
	}
	slices.SortStableFunc(chans, func(a, b Message) int { return compareUniqueid(a.Get("Uniqueid"), b.Get("Uniqueid")) })
	// Per call, from its first channel: the digits variable and the
	// number the caller dialled (CALLERID(dnid): the dialplan may have
	// moved the channel to another extension since).
	digits, dnid := map[string]string{}, map[string]string{}
	seen := map[string]bool{}
	for _, m := range chans {
		l := m.Get("Linkedid")
		if seen[l] {
			continue
		}
		seen[l] = true
		if d.cfg.DigitsVar != "" {
			r, err := d.client.Action(ctx, NewAction("Getvar", "Channel", m.Get("Channel"), "Variable", d.cfg.DigitsVar))
			if err == nil && r.Get("Value") != "" {
				digits[l] = r.Get("Value")
			}
		}
		r, err := d.client.Action(ctx, NewAction("Getvar", "Channel", m.Get("Channel"), "Variable", "CALLERID(dnid)"))
		if err == nil && r.Get("Value") != "" {
			dnid[l] = r.Get("Value")
		}
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	d.up = true
	d.linkChanged()
	// The new model.
	oldCalls := map[*device]map[string]*acall{}
	for _, dv := range d.order {
		oldCalls[dv] = dv.calls
		dv.calls = map[string]*acall{}
		dv.qs = nil
	}
	prev := d.calls
	d.chans, d.calls = map[string]*channel{}, map[string]*acall{}
	for _, m := range chans {
		ch := d.newChannel(m)
		if ch == nil {
			continue
		}
		ch.bridge = m.Get("BridgeId")
		if strings.EqualFold(m.Get("Application"), "Wait") && m.Get("Exten") == "sb-wait" {
			ch.parked, ch.held, ch.inWait = true, true, true
		}
		if m.Get("Context") == d.cfg.HoldContext && m.Get("Exten") == "sb-hold" {
			ch.inHold = true // a party waiting on our hold
		}
		if strings.EqualFold(m.Get("Application"), "ConfBridge") {
			// In a conference room: ApplicationData is room[,profiles].
			room, _, _ := strings.Cut(m.Get("ApplicationData"), ",")
			ch.conf = room
			d.calls[ch.linked].room = room
		}
	}
	d.restoreConsults(prev, chans)
	for _, m := range qs {
		switch strings.ToLower(m.Event()) {
		case "queuemember":
			d.member(m, false)
		case "queueentry":
			if c := d.callOf(m, "Uniqueid"); c != nil {
				c.queue, c.acd = m.Get("Queue"), true
			} else {
				for _, ch := range d.chans {
					if ch.name == m.Get("Channel") {
						c := d.calls[ch.linked]
						c.queue, c.acd = m.Get("Queue"), true
					}
				}
			}
		}
	}
	for id, c := range d.calls {
		if v, ok := dnid[id]; ok && c.inboundOrigin() != nil {
			c.dnis = v
		}
		if v, ok := digits[id]; ok {
			c.digits = v
		}
		if p := prev[id]; p != nil {
			// What the events told us before the link dropped stays.
			c.created, c.ani, c.dnis, c.account, c.classCode = p.created, p.ani, p.dnis, p.account, p.classCode
			if c.queue == "" {
				c.queue, c.acd = p.queue, p.acd
			}
			if c.digits == "" {
				c.digits = p.digits
			}
		}
	}
	for _, dv := range d.order {
		before := dv.state
		dv.state.DND = dnd[dv.ext.Number]
		if dv.ext.Kind == pbx.KindHotDesk {
			dv.state.LoggedIn = hot[dv.ext.Number]
		}
		d.deriveState(dv)
		if dv.state.WorkTimer && dv.workStop == nil {
			// Paused for wrap-up while the link (or Switchboard) was
			// down: the time left, from AstDB (a full work time from
			// now when no record is there).
			d.resumeWork(dv, work[dv.ext.Number])
		}
		if dv.state != before {
			d.emitState(dv, pbx.CauseNone)
		}
		// Calls that ended while the link was down.
		for id, c := range oldCalls[dv] {
			if d.calls[id] != nil {
				continue
			}
			delete(dv.last, id)
			snap := d.snapshot(c)
			for i := range snap.Parties {
				snap.Parties[i].State = pbx.Disconnected
			}
			snap.Ended = d.now()
			d.emit(dv, pbx.Event{Type: pbx.CallEnded, Cause: pbx.CauseCleared, Call: &snap})
		}
	}
	ids := make([]string, 0, len(d.calls))
	for id := range d.calls {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		c := d.calls[id]
		for _, dv := range d.order {
			if oldCalls[dv][id] != nil {
				c.members[dv] = true
				dv.calls[id] = c
			}
		}
		d.publish(c, pbx.CauseNone)
	}
	return nil
}

// restoreConsults rebuilds the consultations that were in progress when
// the link dropped (prev: the calls before the resync; called with d.mu
// held). Asterisk shows a consultation as one call: once the consulted
// party is bridged with the agent it takes the held call's older
// Linkedid. The driver knows which channels were the consulted party
// (by Uniqueid) and moves them back to the consultation call, so the
// agent can still complete or cancel it. A consultation whose agent
// channel is gone is not rebuilt (Asterisk's picture stands). One whose
// consulted party answered while the link was down (its Local channel,
// Uniqueid = the consultation call's id, waits in sb-wait; chans is
// CoreShowChannels) gets the Bridge with the agent it missed.
func (d *Driver) restoreConsults(prev map[string]*acall, chans []Message) {
	ids := make([]string, 0, len(prev))
	for id, py := range prev {
		if py.by != nil && py.held != nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		py := prev[id]
		x, agent := d.calls[py.held.id], d.chans[py.by.id]
		if x == nil || agent == nil || agent.linked != x.id {
			continue
		}
		y := d.calls[py.id] // the consulted phone still rings: its own call
		if y == nil {
			y = &acall{id: py.id, members: map[*device]bool{}}
			d.calls[y.id] = y
		}
		y.created, y.dnis, y.dnisSet, y.local, y.mine = py.created, py.dnis, py.dnisSet, py.local, py.mine
		for _, pch := range py.chans {
			ch := d.chans[pch.id]
			if ch == nil || ch.linked != x.id {
				continue
			}
			x.chans = slices.DeleteFunc(x.chans, func(c *channel) bool { return c == ch })
			ch.linked = y.id
			y.chans = append(y.chans, ch)
		}
		y.pending = len(y.chans) == 0 && py.pending
		y.held, y.by, x.consult, agent.consult = x, agent, y, y
		y.bridged = py.bridged
		y.talking = make(chan struct{})
		if py.bridged {
			close(y.talking) // its Bridge action returned before the drop
		}
		// The agent is on hold on x while it consults (as Consult left it).
		agent.parked, agent.held, agent.since = true, true, py.by.since
		if y.bridged {
			continue
		}
		for _, m := range chans {
			if m.Get("Uniqueid") == y.id && m.Get("Context") == d.cfg.HoldContext && m.Get("Exten") == "sb-wait" {
				y.local = m.Get("Channel")
				d.consultAnswered(y, y.local)
				break
			}
		}
	}
}

// compareUniqueid orders Uniqueids ([system-]epoch.sequence) by creation.
func compareUniqueid(a, b string) int {
	pa, pb := uidParts(a), uidParts(b)
	for i := range pa {
		if pa[i] != pb[i] {
			if pa[i] < pb[i] {
				return -1
			}
			return 1
		}
	}
	return strings.Compare(a, b)
}

func uidParts(u string) [2]int64 {
	if i := strings.LastIndexByte(u, '-'); i >= 0 {
		u = u[i+1:]
	}
	s, q, _ := strings.Cut(u, ".")
	a, _ := strconv.ParseInt(s, 10, 64)
	b, _ := strconv.ParseInt(q, 10, 64)
	return [2]int64{a, b}
}
