package asterisk_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/pbx/asterisk"
	"github.com/switchboard-cti/switchboard/pbx/asterisk/lab"
)

// realDriver starts the driver on the lab's Asterisk.
func realDriver(t *testing.T, l *lab.Lab) *asterisk.Driver {
	t.Helper()
	d, err := asterisk.New(asterisk.Config{
		AMI: asterisk.ClientConfig{Addr: l.AMIAddr, Username: "cti", Secret: "ctisecret", MD5: true,
			MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, PingInterval: 5 * time.Second},
		Extensions: []asterisk.Extension{{Number: "1001", Name: "Ann Agent"}, {Number: "1002", Name: "Bob Agent", Kind: pbx.KindACD},
			{Number: "1003", Name: "Hot Desk", Kind: pbx.KindHotDesk}, {Number: "1004"}, {Number: "1005"}},
		Context: "internal", HoldContext: "switchboard", DigitsVar: "SB_DIGITS", Queues: []string{"support"}, WorkTime: time.Minute,
		RecallTime:      4 * time.Second,
		Reasons:         []pbx.Code{{Code: "lunch", Label: "Lunch"}},
		Classifications: []pbx.Code{{Code: "sale", Label: "Sale"}}, ClassificationRequired: true,
		Log: zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-d.Resynced():
	case <-time.After(lab.Timeout):
		t.Fatal("driver: no resync")
	}
	return d
}

// waitLink waits until the driver's AMI link is up (or down).
func waitLink(t *testing.T, d *asterisk.Driver, up bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), lab.Timeout)
	defer cancel()
	if err := d.WaitLink(ctx, up); err != nil {
		t.Fatalf("AMI link up=%v: not within %s", up, lab.Timeout)
	}
}

// watcher follows one device's events.
type watcher struct {
	t   *testing.T
	ext string
	ch  <-chan pbx.Event
}

func watch(t *testing.T, d *asterisk.Driver, ext string) *watcher {
	ch, cancel, err := d.Subscribe(context.Background(), ext)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cancel)
	return &watcher{t: t, ext: ext, ch: ch}
}

// until waits for an event that match accepts and returns it.
func (w *watcher) until(t *testing.T, what string, match func(pbx.Event) bool) pbx.Event {
	t.Helper()
	deadline := time.After(lab.Timeout)
	var seen []string
	for {
		select {
		case ev := <-w.ch:
			seen = append(seen, describe(ev))
			if match(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("%s: no %s within %s; saw:\n%s", w.ext, what, lab.Timeout, strings.Join(seen, "\n"))
		}
	}
}

func describe(ev pbx.Event) string {
	if ev.Call == nil {
		return fmt.Sprintf("%s %s %+v", ev.Type, ev.Cause, ev.State)
	}
	var ps []string
	for _, p := range ev.Call.Parties {
		ps = append(ps, p.Number+":"+string(p.State))
	}
	return fmt.Sprintf("%s %s %s ani=%s dnis=%s queue=%s [%s]", ev.Type, ev.Cause, ev.Call.ID, ev.Call.ANI, ev.Call.DNIS, ev.Call.Queue, strings.Join(ps, " "))
}

// partyState is ext's state on the event's call.
func partyState(ev pbx.Event, ext string) pbx.ConnState {
	if ev.Call == nil {
		return ""
	}
	p, _ := ev.Call.Party(ext)
	return p.State
}

func is(typ pbx.EventType, ext string, st pbx.ConnState) func(pbx.Event) bool {
	return func(ev pbx.Event) bool { return ev.Type == typ && (st == "" || partyState(ev, ext) == st) }
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestRealAsterisk walks the acceptance steps against a real Asterisk with
// two baresip phones and SIPp as the trunk.
func TestRealAsterisk(t *testing.T) {
	l := lab.Start(t)
	p1, p2 := l.StartPhone("1001"), l.StartPhone("1002")
	d := realDriver(t, l)
	w1, w2 := watch(t, d, "1001"), watch(t, d, "1002")
	ctx := context.Background()

	t.Run("an inbound trunk call rings 1001 with ANI and DNIS; answer, hold, retrieve, blind transfer to 1002, clear", func(t *testing.T) {
		caller := l.Call("5551234", "5553000")
		ring := w1.until(t, "ringing", is(pbx.CallUpdated, "1001", pbx.Alerting))
		c := ring.Call
		if c.ANI != "5551234" || c.DNIS != "5553000" || c.Direction != pbx.Inbound {
			t.Errorf("ringing: ANI %q DNIS %q direction %s, want 5551234, 5553000, inbound", c.ANI, c.DNIS, c.Direction)
		}
		p1.Do("accept", "")
		w1.until(t, "answered", is(pbx.CallUpdated, "1001", pbx.Connected))
		must(t, d.SendDTMF(ctx, "1001", c.ID, "12"))
		must(t, d.Hold(ctx, "1001", c.ID))
		w1.until(t, "held", is(pbx.CallUpdated, "1001", pbx.Held))
		must(t, d.Retrieve(ctx, "1001", c.ID))
		w1.until(t, "retrieved", is(pbx.CallUpdated, "1001", pbx.Connected))
		must(t, d.BlindTransfer(ctx, "1001", c.ID, "1002"))
		end := w1.until(t, "transferred away", is(pbx.CallEnded, "", ""))
		if end.Cause != pbx.CauseTransferred {
			t.Errorf("1001 left with cause %q, want transferred", end.Cause)
		}
		r2 := w2.until(t, "ringing at 1002", is(pbx.CallUpdated, "1002", pbx.Alerting))
		if r2.Call.ID != c.ID || r2.Call.ANI != "5551234" {
			t.Errorf("1002 rings call %s ANI %s, want %s 5551234", r2.Call.ID, r2.Call.ANI, c.ID)
		}
		p2.Do("accept", "")
		w2.until(t, "answered at 1002", is(pbx.CallUpdated, "1002", pbx.Connected))
		must(t, d.Clear(ctx, "1002", c.ID))
		w2.until(t, "cleared", is(pbx.CallEnded, "", ""))
		if err := caller.Wait(t); err != nil {
			t.Errorf("the trunk call did not end cleanly: %v", err)
		}
	})

	t.Run("IVR digits from the channel variable; redirect while ringing", func(t *testing.T) {
		l.Call("5551234", "5552000")
		ring := w1.until(t, "ringing", is(pbx.CallUpdated, "1001", pbx.Alerting))
		if ring.Call.Digits != "4711" {
			t.Errorf("digits %q, want 4711 (SB_DIGITS)", ring.Call.Digits)
		}
		must(t, d.Redirect(ctx, "1001", ring.Call.ID, "1002"))
		end := w1.until(t, "redirected away", is(pbx.CallEnded, "", ""))
		if end.Cause != pbx.CauseRedirected {
			t.Errorf("1001 left with cause %q, want redirected", end.Cause)
		}
		w2.until(t, "ringing at 1002", is(pbx.CallUpdated, "1002", pbx.Alerting))
		p2.Do("accept", "")
		w2.until(t, "answered", is(pbx.CallUpdated, "1002", pbx.Connected))
		p2.Do("hangup", "")
		w2.until(t, "cleared", is(pbx.CallEnded, "", ""))
	})

	t.Run("ACD log-in, a queue call, Make Busy with a reason, log-out", func(t *testing.T) {
		must(t, d.ACDLogin(ctx, "1002", "7002"))
		ev := w2.until(t, "logged in", func(ev pbx.Event) bool { return ev.Type == pbx.DeviceUpdated && ev.State.LoggedIn })
		if ev.State.AgentID != "7002" {
			t.Errorf("agent id %q, want 7002", ev.State.AgentID)
		}
		l.Call("5551234", "5551000") // queue support: 1001 (static) and 1002
		r1 := w1.until(t, "queue call rings 1001", is(pbx.CallUpdated, "1001", pbx.Alerting))
		if r1.Call.Queue != "support" || !r1.Call.ACD {
			t.Errorf("queue %q acd %v, want support", r1.Call.Queue, r1.Call.ACD)
		}
		w2.until(t, "queue call rings 1002", is(pbx.CallUpdated, "1002", pbx.Alerting))
		p2.Do("accept", "")
		qc := w2.until(t, "answered at 1002", is(pbx.CallUpdated, "1002", pbx.Connected)).Call.ID
		w1.until(t, "1001 stops ringing", is(pbx.CallEnded, "", ""))
		p2.Do("hangup", "")
		w2.until(t, "cleared", is(pbx.CallEnded, "", ""))
		ev = w2.until(t, "work timer", func(ev pbx.Event) bool { return ev.Type == pbx.DeviceUpdated && ev.State.WorkTimer })
		if ev.Cause != pbx.CauseWorkTimer || ev.State.MakeBusy || ev.State.WorkTimerEnds.IsZero() || !ev.State.ClassificationPending {
			t.Errorf("work timer: cause %s state %+v, want a classification pending", ev.Cause, ev.State)
		}
		ends := ev.State.WorkTimerEnds
		if err := d.CancelWorkTimer(ctx, "1002"); !errors.Is(err, pbx.ErrNotAllowed) {
			t.Errorf("cancel before the call is classified: %v, want not allowed", err)
		}
		// A second Switchboard (or this one restarted) finds the member
		// paused for wrap-up and resumes the time left from AstDB.
		if got := l.CLI("database get SBWRAP 1002"); !strings.Contains(got, qc+" 1") {
			t.Errorf("AstDB SBWRAP/1002: %q, want the end, %s and 1 (pending)", got, qc)
		}
		d2 := realDriver(t, l)
		snap, err := d2.Snapshot(ctx, "1002")
		must(t, err)
		if !snap.State.WorkTimer || !snap.State.WorkTimerEnds.Equal(ends.Truncate(time.Millisecond)) || !snap.State.ClassificationPending {
			t.Errorf("after a restart: %+v, want the work timer ending at %v with the classification pending", snap.State, ends)
		}
		// The agent classifies the call that ended, then may cancel.
		must(t, d.SetClassificationCode(ctx, "1002", qc, "sale"))
		w2.until(t, "classified", func(ev pbx.Event) bool {
			return ev.Type == pbx.DeviceUpdated && ev.State.WorkTimer && !ev.State.ClassificationPending
		})
		must(t, d.CancelWorkTimer(ctx, "1002"))
		w2.until(t, "work timer cancelled", func(ev pbx.Event) bool { return ev.Type == pbx.DeviceUpdated && !ev.State.WorkTimer })
		must(t, d.SetMakeBusy(ctx, "1002", true, "lunch"))
		ev = w2.until(t, "make busy", func(ev pbx.Event) bool { return ev.Type == pbx.DeviceUpdated && ev.State.MakeBusy })
		if ev.State.Reason != "lunch" {
			t.Errorf("reason %q, want lunch", ev.State.Reason)
		}
		must(t, d.SetMakeBusy(ctx, "1002", false, ""))
		w2.until(t, "available", func(ev pbx.Event) bool { return ev.Type == pbx.DeviceUpdated && !ev.State.MakeBusy })
		must(t, d.ACDLogout(ctx, "1002"))
		w2.until(t, "logged out", func(ev pbx.Event) bool { return ev.Type == pbx.DeviceUpdated && !ev.State.LoggedIn })
	})

	t.Run("supervised transfer 1001 -> 1002: consult, cancel and retrieve, consult again, complete", func(t *testing.T) {
		caller := l.Call("5551234", "5553000")
		x := w1.until(t, "ringing", is(pbx.CallUpdated, "1001", pbx.Alerting)).Call.ID
		p1.Do("accept", "")
		w1.until(t, "answered", is(pbx.CallUpdated, "1001", pbx.Connected))
		consult := func() string {
			y, err := d.Consult(ctx, "1001", x, "1002")
			must(t, err)
			w1.until(t, "consultation held", func(ev pbx.Event) bool {
				return ev.Call != nil && ev.Call.ID == x && partyState(ev, "1001") == pbx.ConsultHeld && ev.Call.RelatedID == y
			})
			r := w2.until(t, "the consultation rings 1002", is(pbx.CallUpdated, "1002", pbx.Alerting))
			if r.Call.ID != y || r.Call.ANI != "1001" || r.Call.Direction != pbx.Internal {
				t.Errorf("1002 rings %s ANI %s %s, want consultation %s from 1001, internal", r.Call.ID, r.Call.ANI, r.Call.Direction, y)
			}
			p2.Do("accept", "")
			w1.until(t, "1002 answers the consultation", func(ev pbx.Event) bool {
				return ev.Call != nil && ev.Call.ID == y && partyState(ev, "1002") == pbx.Connected && partyState(ev, "1001") == pbx.Connected
			})
			return y
		}
		y := consult()
		must(t, d.Clear(ctx, "1001", y)) // cancel
		w2.until(t, "consultation cleared at 1002", is(pbx.CallEnded, "", ""))
		w1.until(t, "consultation cleared at 1001", func(ev pbx.Event) bool { return ev.Type == pbx.CallEnded && ev.Call.ID == y })
		must(t, d.Retrieve(ctx, "1001", x))
		w1.until(t, "retrieved", func(ev pbx.Event) bool { return ev.Call.ID == x && partyState(ev, "1001") == pbx.Connected })

		y = consult()
		must(t, d.Transfer(ctx, "1001", y))
		var ends []string
		for len(ends) < 2 {
			ev := w1.until(t, "1001 leaves both calls", is(pbx.CallEnded, "", ""))
			if ev.Cause != pbx.CauseTransferred {
				t.Errorf("1001 left %s with cause %q, want transferred", ev.Call.ID, ev.Cause)
			}
			ends = append(ends, ev.Call.ID)
		}
		got := w2.until(t, "1002 talks to the caller", func(ev pbx.Event) bool {
			return ev.Type == pbx.CallUpdated && ev.Call.ID == x && partyState(ev, "5551234") == pbx.Connected && partyState(ev, "1002") == pbx.Connected
		})
		if got.Call.ANI != "5551234" {
			t.Errorf("transferred call ANI %q", got.Call.ANI)
		}
		must(t, d.Clear(ctx, "1002", x))
		w2.until(t, "cleared", func(ev pbx.Event) bool { return ev.Type == pbx.CallEnded && ev.Call.ID == x })
		if err := caller.Wait(t); err != nil {
			t.Errorf("the trunk call did not end cleanly: %v", err)
		}
		for _, ext := range []string{"1001", "1002"} {
			if snap, _ := d.Snapshot(ctx, ext); len(snap.Calls) != 0 {
				t.Errorf("%s still has calls %+v", ext, snap.Calls)
			}
		}
	})

	t.Run("the agent hangs up on the phone: a held call rings back; during a ringing consultation it is transferred", func(t *testing.T) {
		caller := l.Call("5551234", "5553000")
		x := w1.until(t, "ringing", is(pbx.CallUpdated, "1001", pbx.Alerting)).Call.ID
		p1.Do("accept", "")
		w1.until(t, "answered", is(pbx.CallUpdated, "1001", pbx.Connected))
		must(t, d.Hold(ctx, "1001", x))
		w1.until(t, "held", func(ev pbx.Event) bool {
			return ev.Call != nil && ev.Call.ID == x && partyState(ev, "1001") == pbx.Held
		})
		// In Do Not Disturb too: the held call is the agent's.
		must(t, d.SetDND(ctx, "1001", true))
		p1.Do("hangup", "")
		w1.until(t, "hold recall: the call rings 1001 again", func(ev pbx.Event) bool {
			return ev.Type == pbx.CallUpdated && ev.Call.ID == x && partyState(ev, "1001") == pbx.Alerting
		})
		must(t, d.SetDND(ctx, "1001", false))
		p1.Do("accept", "")
		w1.until(t, "talking again", func(ev pbx.Event) bool {
			return ev.Type == pbx.CallUpdated && ev.Call.ID == x && partyState(ev, "1001") == pbx.Connected && partyState(ev, "5551234") == pbx.Connected
		})
		_, err := d.Consult(ctx, "1001", x, "1002")
		must(t, err)
		w2.until(t, "the consultation rings 1002", is(pbx.CallUpdated, "1002", pbx.Alerting))
		p1.Do("hangup", "")
		w2.until(t, "transfer on hang-up: the caller rings 1002", func(ev pbx.Event) bool {
			return ev.Type == pbx.CallUpdated && ev.Call.ID == x && partyState(ev, "1002") == pbx.Alerting
		})
		p2.Do("accept", "")
		w2.until(t, "1002 talks to the caller", func(ev pbx.Event) bool {
			return ev.Type == pbx.CallUpdated && ev.Call.ID == x && partyState(ev, "1002") == pbx.Connected && partyState(ev, "5551234") == pbx.Connected
		})
		must(t, d.Clear(ctx, "1002", x))
		w2.until(t, "cleared", func(ev pbx.Event) bool { return ev.Type == pbx.CallEnded && ev.Call.ID == x })
		if err := caller.Wait(t); err != nil {
			t.Errorf("the trunk call did not end cleanly: %v", err)
		}

		// An unsupervised transfer nobody answers comes back to the
		// agent (after the recall time, 4 s here).
		caller = l.Call("5551234", "5553000")
		x = w1.until(t, "ringing", is(pbx.CallUpdated, "1001", pbx.Alerting)).Call.ID
		p1.Do("accept", "")
		w1.until(t, "answered", is(pbx.CallUpdated, "1001", pbx.Connected))
		yt, err := d.Consult(ctx, "1001", x, "1002")
		must(t, err)
		w2.until(t, "the consultation rings 1002", func(ev pbx.Event) bool { return ev.Call.ID == yt && partyState(ev, "1002") == pbx.Alerting })
		must(t, d.Transfer(ctx, "1001", yt))
		w2.until(t, "the transfer rings 1002", func(ev pbx.Event) bool {
			return ev.Type == pbx.CallUpdated && ev.Call.ID == x && partyState(ev, "1002") == pbx.Alerting
		})
		w1.until(t, "unanswered, the transfer rings 1001 again", func(ev pbx.Event) bool {
			return ev.Type == pbx.CallUpdated && ev.Call.ID == x && partyState(ev, "1001") == pbx.Alerting
		})
		p1.Do("accept", "")
		w1.until(t, "back with the caller", func(ev pbx.Event) bool {
			return ev.Type == pbx.CallUpdated && ev.Call.ID == x && partyState(ev, "1001") == pbx.Connected && partyState(ev, "5551234") == pbx.Connected
		})
		must(t, d.Clear(ctx, "1001", x))
		w1.until(t, "cleared", func(ev pbx.Event) bool { return ev.Type == pbx.CallEnded && ev.Call.ID == x })
		if err := caller.Wait(t); err != nil {
			t.Errorf("the call that came back did not end cleanly: %v", err)
		}

		// Hanging up while talking to the consulted party completes
		// the transfer.
		caller = l.Call("5551234", "5553000")
		x = w1.until(t, "ringing", is(pbx.CallUpdated, "1001", pbx.Alerting)).Call.ID
		p1.Do("accept", "")
		w1.until(t, "answered", is(pbx.CallUpdated, "1001", pbx.Connected))
		y, err := d.Consult(ctx, "1001", x, "1002")
		must(t, err)
		w2.until(t, "the consultation rings 1002", func(ev pbx.Event) bool { return ev.Call.ID == y && partyState(ev, "1002") == pbx.Alerting })
		p2.Do("accept", "")
		w1.until(t, "1002 answers", func(ev pbx.Event) bool { return ev.Call.ID == y && partyState(ev, "1002") == pbx.Connected })
		// The agent talks to 1002 once the consultation's Local channel
		// (Uniqueid y) joined the agent's bridge; a BYE in the middle of
		// that Bridge action leaves Asterisk 22.10 with the agent's
		// channel in the bridge and its session gone ("Session already
		// DISCONNECTED"), which no driver can see.
		l.WaitEvent("the agent bridged with the consultation", func(m asterisk.Message) bool {
			return strings.EqualFold(m.Event(), "BridgeEnter") && m.Get("Uniqueid") == y
		})
		p1.Do("hangup", "")
		w2.until(t, "transfer on hang-up: 1002 talks to the caller", func(ev pbx.Event) bool {
			return ev.Type == pbx.CallUpdated && ev.Call.ID == x && partyState(ev, "1002") == pbx.Connected && partyState(ev, "5551234") == pbx.Connected
		})
		// (1001's phone has let go of its call before the next one rings
		// it: baresip would answer the call it is still closing.)
		w1.until(t, "1001 left the call", func(ev pbx.Event) bool { return ev.Type == pbx.CallEnded && ev.Call.ID == x })
		must(t, d.Clear(ctx, "1002", x))
		w2.until(t, "cleared", func(ev pbx.Event) bool { return ev.Type == pbx.CallEnded && ev.Call.ID == x })
		if err := caller.Wait(t); err != nil {
			t.Errorf("the trunk call transferred on hang-up did not end cleanly: %v", err)
		}
	})

	t.Run("three-party conference: caller, 1001 and 1002 in a ConfBridge room", func(t *testing.T) {
		caller := l.Call("5551234", "5553000")
		x := w1.until(t, "ringing", is(pbx.CallUpdated, "1001", pbx.Alerting)).Call.ID
		p1.Do("accept", "")
		w1.until(t, "answered", is(pbx.CallUpdated, "1001", pbx.Connected))
		y, err := d.Consult(ctx, "1001", x, "1002")
		must(t, err)
		w2.until(t, "the consultation rings 1002", is(pbx.CallUpdated, "1002", pbx.Alerting))
		if err := d.Conference(ctx, "1001", y); !errors.Is(err, pbx.ErrNotAllowed) {
			t.Errorf("conference before the answer: %v, want not allowed", err)
		}
		p2.Do("accept", "")
		w1.until(t, "1002 answers", func(ev pbx.Event) bool { return ev.Call.ID == y && partyState(ev, "1002") == pbx.Connected })
		must(t, d.Conference(ctx, "1001", y))
		three := func(ev pbx.Event) bool {
			return ev.Type == pbx.CallUpdated && ev.Call.ID == x && partyState(ev, "5551234") == pbx.Connected &&
				partyState(ev, "1001") == pbx.Connected && partyState(ev, "1002") == pbx.Connected
		}
		ev := w1.until(t, "conference at 1001", three)
		if ev.Cause != pbx.CauseConferenced {
			t.Errorf("cause %q, want conferenced", ev.Cause)
		}
		w2.until(t, "conference at 1002", three)
		l.WaitEvent("three in the room", func(m asterisk.Message) bool {
			return strings.EqualFold(m.Event(), "ConfBridgeJoin") && strings.HasPrefix(m.Get("Channel"), "PJSIP/1001")
		})
		// 1001 holds (leaves the room; the others keep talking) and
		// retrieves (back into the room).
		must(t, d.Hold(ctx, "1001", x))
		w1.until(t, "held out of the conference", func(ev pbx.Event) bool { return ev.Call.ID == x && partyState(ev, "1001") == pbx.Held })
		must(t, d.Retrieve(ctx, "1001", x))
		w1.until(t, "back in the conference", three)
		must(t, d.Clear(ctx, "1001", x))
		w1.until(t, "1001 left", is(pbx.CallEnded, "", ""))
		w2.until(t, "1002 and the caller go on", func(ev pbx.Event) bool {
			return ev.Call.ID == x && partyState(ev, "1001") == pbx.Disconnected && partyState(ev, "5551234") == pbx.Connected
		})
		must(t, d.Clear(ctx, "1002", x))
		w2.until(t, "1002 left", is(pbx.CallEnded, "", ""))
		if err := caller.Wait(t); err != nil {
			t.Errorf("the caller was not released when left alone in the room: %v", err)
		}
	})

	t.Run("a five-party conference: 1001 adds 1002, 1004 and 1005 to a caller, one consultation at a time", func(t *testing.T) {
		p4, p5 := l.StartPhone("1004"), l.StartPhone("1005")
		w4, w5 := watch(t, d, "1004"), watch(t, d, "1005")
		caller := l.Call("5551234", "5553000")
		x := w1.until(t, "ringing", is(pbx.CallUpdated, "1001", pbx.Alerting)).Call.ID
		p1.Do("accept", "")
		w1.until(t, "answered", is(pbx.CallUpdated, "1001", pbx.Connected))
		parties := []string{"5551234", "1001"}
		for _, c := range []struct {
			ext   string
			phone *lab.Phone
			w     *watcher
		}{{"1002", p2, w2}, {"1004", p4, w4}, {"1005", p5, w5}} {
			y, err := d.Consult(ctx, "1001", x, c.ext)
			must(t, err)
			c.w.until(t, "the consultation rings "+c.ext, is(pbx.CallUpdated, c.ext, pbx.Alerting))
			c.phone.Do("accept", "")
			w1.until(t, c.ext+" answers", func(ev pbx.Event) bool { return ev.Call.ID == y && partyState(ev, c.ext) == pbx.Connected })
			must(t, d.Conference(ctx, "1001", y))
			parties = append(parties, c.ext)
			w1.until(t, fmt.Sprintf("%d in the conference", len(parties)), func(ev pbx.Event) bool {
				if ev.Type != pbx.CallUpdated || ev.Call.ID != x {
					return false
				}
				for _, p := range parties {
					if partyState(ev, p) != pbx.Connected {
						return false
					}
				}
				return true
			})
		}
		l.WaitEvent("five in the room", func(m asterisk.Message) bool {
			return strings.EqualFold(m.Event(), "ConfBridgeJoin") && strings.HasPrefix(m.Get("Channel"), "PJSIP/1005")
		})
		for _, ext := range []string{"1001", "1002", "1004", "1005"} {
			must(t, d.Clear(ctx, ext, x))
		}
		w5.until(t, "1005 left", is(pbx.CallEnded, "", ""))
		if err := caller.Wait(t); err != nil {
			t.Errorf("the caller was not released from the conference: %v", err)
		}
	})

	t.Run("hot-desk log-in with the PIN in AstDB, log-out", func(t *testing.T) {
		w3 := watch(t, d, "1003")
		if _, err := l.Action(asterisk.NewAction("DBPut", "Family", "HOTDESK_PIN", "Key", "1003", "Val", "4321")); err != nil {
			t.Fatal(err)
		}
		if err := d.HotDeskLogin(ctx, "1003", "1111"); !errors.Is(err, pbx.ErrAuth) {
			t.Errorf("wrong PIN: %v", err)
		}
		must(t, d.HotDeskLogin(ctx, "1003", "4321"))
		w3.until(t, "logged in", func(ev pbx.Event) bool { return ev.Type == pbx.DeviceUpdated && ev.State.LoggedIn })
		if r, err := l.Action(asterisk.NewAction("Command", "Command", "database show HOTDESK")); err != nil || !strings.Contains(r.String(), "1003") {
			t.Errorf("AstDB HOTDESK after log-in: %v %v", r, err)
		}
		must(t, d.HotDeskLogout(ctx, "1003"))
		w3.until(t, "logged out", func(ev pbx.Event) bool { return ev.Type == pbx.DeviceUpdated && !ev.State.LoggedIn })
	})

	t.Run("an outbound call from the API: 1001's phone rings first, then 1002", func(t *testing.T) {
		id, err := d.MakeCall(ctx, "1001", "1002")
		must(t, err)
		ev := w1.until(t, "1001 rings first", is(pbx.CallUpdated, "1001", pbx.Alerting))
		if ev.Call.ID != id {
			t.Errorf("call id %s, want %s", ev.Call.ID, id)
		}
		p1.Do("accept", "")
		w2.until(t, "1002 rings", is(pbx.CallUpdated, "1002", pbx.Alerting))
		p2.Do("accept", "")
		ev = w1.until(t, "connected", func(ev pbx.Event) bool {
			return ev.Type == pbx.CallUpdated && partyState(ev, "1002") == pbx.Connected && partyState(ev, "1001") == pbx.Connected
		})
		if ev.Call.Direction != pbx.Internal {
			t.Errorf("direction %s, want internal", ev.Call.Direction)
		}

		// The AMI link is cut mid-call: after the reconnect the resync
		// still shows the call connected.
		d.Client().Close()
		waitLink(t, d, false)
		waitLink(t, d, true)
		snap, err := d.Snapshot(ctx, "1001")
		must(t, err)
		if len(snap.Calls) != 1 || snap.Calls[0].ID != id {
			t.Fatalf("after resync 1001 has %+v, want call %s", snap.Calls, id)
		}
		if p, _ := snap.Calls[0].Party("1001"); p.State != pbx.Connected {
			t.Errorf("after resync 1001 is %s, want connected", p.State)
		}
		must(t, d.Clear(ctx, "1001", id))
		w1.until(t, "cleared", is(pbx.CallEnded, "", ""))
		w2.until(t, "cleared at 1002", is(pbx.CallEnded, "", ""))
	})

	t.Run("Asterisk restarts mid-call: the call ends and the driver comes back", func(t *testing.T) {
		_, err := d.MakeCall(ctx, "1001", "1002")
		must(t, err)
		w1.until(t, "1001 rings", is(pbx.CallUpdated, "1001", pbx.Alerting))
		l.Restart()
		w1.until(t, "the call ended with the PBX", is(pbx.CallEnded, "", ""))
		waitLink(t, d, true)
		snap, err := d.Snapshot(ctx, "1001")
		must(t, err)
		if len(snap.Calls) != 0 {
			t.Errorf("after the restart 1001 has calls %+v", snap.Calls)
		}
	})
}
