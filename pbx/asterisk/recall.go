package asterisk

import (
	"context"
	"strconv"
	"time"
)

// Hold recall and transfer recall.
//
// When the agent's phone hangs up with a call on the driver's hold, the
// held party is sent back to the agent's phone (hold recall); an
// unsupervised transfer sends the held party to a number. Without
// Config.RecallTime both are plain Redirects into the originate context
// (Context/<ext>, Context/<number>): the extension's own routing applies
// (Do Not Disturb included), and a transfer nobody answers ends there.
// With it, the hold context's sb-recall and sb-xfer extensions do what a
// PBX does (testdata/etc/extensions.conf):
//
//	sb-recall  Dial(${SB_RECALL_DIAL},${SB_RECALL_TIME}): the agent's phone
//	           rings even in Do Not Disturb (the call is theirs);
//	           unanswered, Goto(${SB_CONTEXT},${SB_RECALL_EXT},1), the
//	           extension's own routing.
//	sb-xfer    Dial(Local/${SB_XFER_TO}@${SB_CONTEXT}/n,${SB_RECALL_TIME}):
//	           the transfer rings the number; unanswered or busy, the call
//	           goes to sb-recall: back to the transferring agent (MiVoice:
//	           "if an unsupervised transfer fails, the call is rerouted
//	           back to you as an incoming call").
//
// The driver sets those channel variables on the held party (Setvar)
// before the Redirect.

// recallVars are the channel variables sb-recall needs to ring ext.
func (d *Driver) recallVars(ext string) [][2]string {
	ep := ext
	if dv := d.devices[ext]; dv != nil {
		ep = dv.ext.Endpoint
	}
	return [][2]string{{"SB_RECALL_DIAL", "PJSIP/" + ep}, {"SB_RECALL_EXT", ext}, {"SB_CONTEXT", d.cfg.Context},
		{"SB_RECALL_TIME", strconv.Itoa(int(d.cfg.RecallTime.Round(time.Second) / time.Second))}}
}

// sendTo sets vars on channel name, then redirects it to HoldContext,exten
// (op names the command for errors; Redirect refusals are retried).
func (d *Driver) sendTo(ctx context.Context, op, name, exten string, vars [][2]string) error {
	for _, v := range vars {
		if err := d.action(ctx, op, NewAction("Setvar", "Channel", name, "Variable", v[0], "Value", v[1])); err != nil {
			return err
		}
	}
	return d.retryBusy(ctx, op, NewAction("Redirect", "Channel", name, "Context", d.cfg.HoldContext, "Exten", exten, "Priority", "1"))
}

// recall sends the held party (channel name) of call back to ext's
// phone: sb-recall with Config.RecallTime, else Redirect to Context/ext.
// ext's device is read under d.mu.
func (d *Driver) recall(ctx context.Context, call, name, ext string) {
	var err error
	if d.cfg.RecallTime > 0 {
		d.mu.Lock()
		vars := d.recallVars(ext)
		d.mu.Unlock()
		err = d.sendTo(ctx, "hold recall", name, "sb-recall", vars)
	} else {
		err = d.retryBusy(ctx, "hold recall", NewAction("Redirect", "Channel", name, "Context", d.cfg.Context, "Exten", ext, "Priority", "1"))
	}
	if err != nil {
		d.log.Warn().Err(err).Str("call", call).Msg("hold recall failed")
	}
}

// transferTo sends the held party (channel name) to number for an
// unsupervised transfer by ext: sb-xfer with Config.RecallTime (back to
// ext if nobody answers), else Redirect to Context/number.
func (d *Driver) transferTo(ctx context.Context, op, name, number, ext string) error {
	d.mu.Lock()
	if ch := d.chanByName(name); ch != nil && d.calls[ch.linked] != nil {
		d.calls[ch.linked].transferring = true
	}
	d.mu.Unlock()
	if d.cfg.RecallTime <= 0 {
		return d.retryBusy(ctx, op, NewAction("Redirect", "Channel", name, "Context", d.cfg.Context, "Exten", number, "Priority", "1"))
	}
	d.mu.Lock()
	vars := append(d.recallVars(ext), [2]string{"SB_XFER_TO", number})
	d.mu.Unlock()
	return d.sendTo(ctx, op, name, "sb-xfer", vars)
}

// chanByName finds a live channel by name (called with d.mu held).
func (d *Driver) chanByName(name string) *channel {
	for _, ch := range d.chans {
		if ch.name == name && !ch.gone {
			return ch
		}
	}
	return nil
}
