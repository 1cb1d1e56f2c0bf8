package asterisk

import (
	"context"
	"crypto/subtle"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-cti/switchboard/pbx"
)

// Hot-desk log-in and the work timer.
//
// Asterisk has no hot-desking of its own; the driver keeps it in AstDB,
// where the dialplan can see it:
//
//	HOTDESK_PIN/<ext>  the extension's PIN, set by the admin
//	                   (CLI: database put HOTDESK_PIN 1003 4321)
//	HOTDESK/<ext>      present while a user is logged in (DBPut/DBDel)
//
// The dialplan refuses calls to a hot-desk extension nobody is logged in
// to (testdata/etc/extensions.conf, [internal]). The PIN never leaves
// the PBX's database except to the driver (DBGet over the AMI link).
//
// The work timer (post-call wrap-up) is a queue pause with the reason
// WorkReason: when an answered ACD call ends at a queue member, the
// driver pauses the member in every queue (QueuePause, Reason
// sb-wrapup) for Config.WorkTime and unpauses it after that time, or at
// once when the agent cancels. queues.conf's own wrapuptime must then be
// 0 (AMI cannot end it early). Make Busy (a pause with another reason)
// and the work timer exclude each other, as on the simulator.

// WorkReason is the queue PausedReason that marks the work timer.
const WorkReason = "sb-wrapup"

// HotDeskLogin checks pin against AstDB HOTDESK_PIN/<ext> and marks ext
// logged in (DBPut HOTDESK/<ext>). ErrAuth for a wrong PIN (or none
// set), ErrNotAllowed for a device that is not hot-desk.
func (d *Driver) HotDeskLogin(ctx context.Context, ext, pin string) error {
	dv, err := d.hotDesk("hot-desk login", ext)
	if err != nil {
		return err
	}
	if pin == "" || len(pin) > 16 || strings.ContainsAny(pin, "\r\n") {
		return fmt.Errorf("asterisk: hot-desk login: PIN: 1-16 characters: %w", pbx.ErrInvalid)
	}
	_, evs, err := d.client.List(ctx, NewAction("DBGet", "Family", "HOTDESK_PIN", "Key", ext))
	want := ""
	if err == nil && len(evs) > 0 {
		want = evs[0].Get("Val")
	}
	if err != nil && !isNotFound(err) {
		return amiErr("hot-desk login", err)
	}
	if want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(pin)) != 1 {
		return fmt.Errorf("asterisk: hot-desk login on %s: wrong PIN (or no HOTDESK_PIN/%s in AstDB): %w", ext, ext, pbx.ErrAuth)
	}
	if err := d.action(ctx, "hot-desk login", NewAction("DBPut", "Family", "HOTDESK", "Key", ext, "Val", "1")); err != nil {
		return err
	}
	d.setLoggedIn(dv, true)
	return nil
}

// HotDeskLogout marks ext logged out (DBDel HOTDESK/<ext>); its calls go
// on. ErrNotAllowed for a device that is not hot-desk.
func (d *Driver) HotDeskLogout(ctx context.Context, ext string) error {
	dv, err := d.hotDesk("hot-desk logout", ext)
	if err != nil {
		return err
	}
	if _, err := d.client.Action(ctx, NewAction("DBDel", "Family", "HOTDESK", "Key", ext)); err != nil && !isNotFound(err) {
		return amiErr("hot-desk logout", err)
	}
	d.setLoggedIn(dv, false)
	return nil
}

func (d *Driver) hotDesk(op, ext string) (*device, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dv, err := d.device(op, ext)
	if err != nil {
		return nil, err
	}
	if dv.ext.Kind != pbx.KindHotDesk {
		return nil, fmt.Errorf("asterisk: %s: extension %s is not a hot-desk extension (SWITCHBOARD_AMI_EXTENSIONS %s/hotdesk): %w", op, ext, ext, pbx.ErrNotAllowed)
	}
	return dv, nil
}

func (d *Driver) setLoggedIn(dv *device, on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if dv.state.LoggedIn != on {
		dv.state.LoggedIn = on
		d.emitState(dv, pbx.CauseLogin)
	}
}

// isNotFound: AstDB has no such key ("Database entry not found").
func isNotFound(err error) bool {
	return containsFold(err.Error(), "not found")
}

// WorkFamily is the AstDB family that keeps each extension's running
// work timer, SBWRAP/<ext> = "<end, Unix ms> <call id> <pending>"
// (pending: 1 while the call still needs a classification code). It
// outlives an AMI reconnect and a Switchboard restart: the resync gives
// the agent the time that is left and the pending classification, not a
// new full work time.
const WorkFamily = "SBWRAP"

// startWork starts the work timer of dv after the answered ACD call c
// ended (called with d.mu held): it records the end in AstDB, then
// pauses dv's queue membership with WorkReason (the QueueMemberPause
// event then reports WorkTimer; the record is there by then).
func (d *Driver) startWork(dv *device, c *acall) {
	if d.cfg.WorkTime <= 0 || len(dv.qs) == 0 || dv.state.MakeBusy {
		return
	}
	dv.lastACD = c.id
	dv.classPending = d.cfg.ClassificationRequired && c.classCode == ""
	d.armWork(dv, d.now().Add(d.cfg.WorkTime))
	iface, val := "PJSIP/"+dv.ext.Endpoint, workValue(dv)
	d.async(func(ctx context.Context) {
		d.putWork(ctx, dv.ext.Number, val)
		if err := d.action(ctx, "work timer", NewAction("QueuePause", "Interface", iface, "Paused", "true", "Reason", WorkReason)); err != nil {
			d.log.Warn().Err(err).Str("extension", dv.ext.Number).Msg("work timer: QueuePause failed")
		}
	})
}

// armWork (re)arms dv's work timer to end at ends (called with d.mu
// held); a timer already over ends the work time at once.
func (d *Driver) armWork(dv *device, ends time.Time) {
	dv.workGen++
	gen := dv.workGen
	dv.workEnds = ends
	if dv.workStop != nil {
		dv.workStop()
	}
	dv.workStop = d.cfg.AfterFunc(max(ends.Sub(d.now()), 0), func() {
		d.mu.Lock()
		current := dv.workGen == gen
		d.mu.Unlock()
		if current {
			d.endWork(dv, "work timer ended")
		}
	})
}

// workValue is dv's SBWRAP value (see WorkFamily).
func workValue(dv *device) string {
	pending := "0"
	if dv.classPending {
		pending = "1"
	}
	return fmt.Sprintf("%d %s %s", dv.workEnds.UnixMilli(), dv.lastACD, pending)
}

// parseWork reads an SBWRAP value; ok is false for a malformed one.
func parseWork(v string) (ends time.Time, callID string, pending, ok bool) {
	f := strings.Fields(v)
	if len(f) != 3 {
		return time.Time{}, "", false, false
	}
	ms, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}, "", false, false
	}
	return time.UnixMilli(ms), f[1], f[2] == "1", true
}

// putWork records ext's work timer in AstDB (best effort: without it a
// resync gives a full work time).
func (d *Driver) putWork(ctx context.Context, ext, val string) {
	if err := d.action(ctx, "work timer", NewAction("DBPut", "Family", WorkFamily, "Key", ext, "Val", val)); err != nil {
		d.log.Warn().Err(err).Str("extension", ext).Msg("work timer: DBPut " + WorkFamily + " failed")
	}
}

// delWork forgets ext's work timer in AstDB.
func (d *Driver) delWork(ctx context.Context, ext string) {
	if _, err := d.client.Action(ctx, NewAction("DBDel", "Family", WorkFamily, "Key", ext)); err != nil && !isNotFound(err) {
		d.log.Warn().Err(err).Str("extension", ext).Msg("work timer: DBDel " + WorkFamily + " failed")
	}
}

// resumeWork re-arms the work timer of dv, found paused for wrap-up by
// the resync (called with d.mu held): from its SBWRAP record when there
// is one (val; "" when none), else a full work time from now.
func (d *Driver) resumeWork(dv *device, val string) {
	if d.cfg.WorkTime <= 0 {
		return
	}
	ends, id, pending, ok := parseWork(val)
	if !ok || ends.After(d.now().Add(d.cfg.WorkTime)) {
		// Missing, malformed, or ending later than a work timer started
		// now could (not ours): a full work time.
		ends, id, pending = d.now().Add(d.cfg.WorkTime), "", false
	}
	dv.lastACD, dv.classPending = id, pending && d.cfg.ClassificationRequired
	d.armWork(dv, ends)
	d.deriveState(dv)
}

// endWork unpauses dv if (and only if) it is paused for the work timer.
func (d *Driver) endWork(dv *device, why string) {
	d.mu.Lock()
	paused := dv.state.WorkTimer
	dv.workGen++
	if dv.workStop != nil {
		dv.workStop()
		dv.workStop = nil
	}
	dv.classPending = false
	iface, ext := "PJSIP/"+dv.ext.Endpoint, dv.ext.Number
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.AMI.withDefaults().ActionTimeout)
	defer cancel()
	if paused {
		if err := d.action(ctx, "work timer", NewAction("QueuePause", "Interface", iface, "Paused", "false")); err != nil {
			d.log.Warn().Err(err).Str("extension", ext).Str("why", why).Msg("work timer: unpause failed")
		}
	}
	d.delWork(ctx, ext)
}

// CancelWorkTimer ends ext's work timer (QueuePause Paused=false); it
// does nothing when none runs. ErrNotSupported without Config.WorkTime;
// ErrNotAllowed while the call it follows still needs a classification
// code (Config.ClassificationRequired).
func (d *Driver) CancelWorkTimer(ctx context.Context, ext string) error {
	if d.cfg.WorkTime <= 0 {
		return notSupported("cancel work timer", "no work time configured (SWITCHBOARD_AMI_WORK_TIME, e.g. 30s; queues.conf wrapuptime, which AMI cannot cancel, must then be 0)")
	}
	d.mu.Lock()
	dv, err := d.device("cancel work timer", ext)
	running := err == nil && dv.state.WorkTimer
	if running && dv.state.ClassificationPending {
		// Another instance may have taken the classification a moment
		// ago (its UserEvent on the way): its AstDB record is there.
		id := dv.lastACD
		d.mu.Unlock()
		_, evs, gerr := d.client.List(ctx, NewAction("DBGet", "Family", WorkFamily, "Key", ext))
		d.mu.Lock()
		if gerr == nil && len(evs) > 0 {
			if _, rid, pending, ok := parseWork(evs[0].Get("Val")); ok && !pending && rid == id && dv.lastACD == id && dv.classPending {
				dv.classPending = false
				d.deriveState(dv)
				d.emitState(dv, pbx.CauseCodes)
			}
		}
		running = dv.state.WorkTimer
		if running && dv.state.ClassificationPending {
			err = fmt.Errorf("asterisk: cancel work timer on %s: set a classification code on call %s first: %w", ext, dv.lastACD, pbx.ErrNotAllowed)
		}
	}
	var iface string
	if err == nil && dv != nil {
		iface = "PJSIP/" + dv.ext.Endpoint
		dv.workGen++
		if dv.workStop != nil {
			dv.workStop()
			dv.workStop = nil
		}
		dv.classPending = false
	}
	d.mu.Unlock()
	if err != nil || !running {
		return err
	}
	if err := d.action(ctx, "cancel work timer", NewAction("QueuePause", "Interface", iface, "Paused", "false")); err != nil {
		return err
	}
	d.delWork(ctx, ext)
	return nil
}

// afterFunc is time.AfterFunc as a Config.AfterFunc.
func afterFunc(d time.Duration, f func()) (stop func() bool) { return time.AfterFunc(d, f).Stop }
