package asterisk

import (
	"context"
	"crypto/subtle"
	"fmt"
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

// startWork starts the work timer of dv after an answered ACD call
// (called with d.mu held): it pauses dv's queue membership with
// WorkReason; the QueueMemberPause event then reports WorkTimer.
func (d *Driver) startWork(dv *device) {
	if d.cfg.WorkTime <= 0 || len(dv.qs) == 0 || dv.state.MakeBusy {
		return
	}
	dv.workGen++
	gen := dv.workGen
	dv.workEnds = d.now().Add(d.cfg.WorkTime)
	if dv.workStop != nil {
		dv.workStop()
	}
	dv.workStop = d.cfg.AfterFunc(d.cfg.WorkTime, func() {
		d.mu.Lock()
		current := dv.workGen == gen
		d.mu.Unlock()
		if current {
			d.endWork(dv, "work timer ended")
		}
	})
	iface := "PJSIP/" + dv.ext.Endpoint
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), d.cfg.AMI.withDefaults().ActionTimeout)
		defer cancel()
		if err := d.action(ctx, "work timer", NewAction("QueuePause", "Interface", iface, "Paused", "true", "Reason", WorkReason)); err != nil {
			d.log.Warn().Err(err).Str("extension", dv.ext.Number).Msg("work timer: QueuePause failed")
		}
	}()
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
	iface := "PJSIP/" + dv.ext.Endpoint
	d.mu.Unlock()
	if !paused {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.AMI.withDefaults().ActionTimeout)
	defer cancel()
	if err := d.action(ctx, "work timer", NewAction("QueuePause", "Interface", iface, "Paused", "false")); err != nil {
		d.log.Warn().Err(err).Str("extension", dv.ext.Number).Str("why", why).Msg("work timer: unpause failed")
	}
}

// CancelWorkTimer ends ext's work timer (QueuePause Paused=false); it
// does nothing when none runs. ErrNotSupported without Config.WorkTime.
func (d *Driver) CancelWorkTimer(ctx context.Context, ext string) error {
	if d.cfg.WorkTime <= 0 {
		return notSupported("cancel work timer", "no work time configured (SWITCHBOARD_AMI_WORK_TIME, e.g. 30s; queues.conf wrapuptime, which AMI cannot cancel, must then be 0)")
	}
	d.mu.Lock()
	dv, err := d.device("cancel work timer", ext)
	running := err == nil && dv.state.WorkTimer
	var iface string
	if dv != nil {
		iface = "PJSIP/" + dv.ext.Endpoint
		dv.workGen++
		if dv.workStop != nil {
			dv.workStop()
			dv.workStop = nil
		}
	}
	d.mu.Unlock()
	if err != nil || !running {
		return err
	}
	return d.action(ctx, "cancel work timer", NewAction("QueuePause", "Interface", iface, "Paused", "false"))
}

// afterFunc is time.AfterFunc as a Config.AfterFunc.
func afterFunc(d time.Duration, f func()) (stop func() bool) { return time.AfterFunc(d, f).Stop }
