package asterisk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cti/switchboard/pbx"
)

// heldScenario: an inbound call connected at 1001, then held with the
// driver's hold (both parties arrived in the hold context).
func heldScenario(t *testing.T, opts ...func(*Driver)) (f *fakeAMI, d *Driver, w1 <-chan pbx.Event) {
	t.Helper()
	f = newFakeAMI(t, "11.0.0")
	d = testDriver(t, f)
	for _, o := range opts {
		o(d) // before it runs
	}
	w1 = mustSubscribe(t, d, "1001")
	startDriver(t, d)
	trunk, a1 := "PJSIP/trunk-1", "PJSIP/1001-2"
	f.stream(wire(chanEv("Newchannel", trunk, "u.1", "u.1", "6"), chanEv("Newchannel", a1, "u.2", "u.1", "6"),
		chanEv("BridgeEnter", trunk, "u.1", "u.1", "6", "BridgeUniqueid", "b1"),
		chanEv("BridgeEnter", a1, "u.2", "u.1", "6", "BridgeUniqueid", "b1")))
	collect(t, w1, func(ev pbx.Event) bool { return partyState(ev, "1001") == pbx.Connected })
	if err := d.Hold(context.Background(), "1001", "u.1"); err != nil {
		t.Fatal(err)
	}
	f.waitAction(t, "Redirect")
	f.stream(wire(chanEv("BridgeLeave", trunk, "u.1", "u.1", "6", "BridgeUniqueid", "b1"),
		chanEv("BridgeLeave", a1, "u.2", "u.1", "6", "BridgeUniqueid", "b1"),
		chanEv("Newexten", a1, "u.2", "u.1", "6", "Context", "switchboard", "Exten", "sb-wait", "Application", "Wait"),
		chanEv("Newexten", trunk, "u.1", "u.1", "6", "Context", "switchboard", "Exten", "sb-hold", "Application", "Wait")))
	collect(t, w1, func(ev pbx.Event) bool { return partyState(ev, "1001") == pbx.Held })
	return f, d, w1
}

// holdBridges makes f answer every Bridge action only once release is
// closed.
func holdBridges(f *fakeAMI) (release chan struct{}) {
	release = make(chan struct{})
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers["bridge"] = func(a Message) []Message {
		<-release
		return []Message{{Fields: []Field{{"Response", "Success"}, {"ActionID", a.ActionID()}, {"Message", "Channels have been bridged"}}}}
	}
	return release
}

// TestDriverRetrieveTwiceAtOnce: a second Retrieve while the first one's
// Bridge runs is refused; Asterisk never sees a second Bridge (which
// pulled both parties out of the first one's bridge, and the caller was
// hung up, in a newcomer's try with four retrieves at once).
func TestDriverRetrieveTwiceAtOnce(t *testing.T) {
	f, d, _ := heldScenario(t)
	release := holdBridges(f)
	ctx := context.Background()
	first := make(chan error, 1)
	go func() { first <- d.Retrieve(ctx, "1001", "u.1") }()
	f.waitAction(t, "Bridge")
	err := d.Retrieve(ctx, "1001", "u.1")
	if !errors.Is(err, pbx.ErrNotAllowed) || !strings.Contains(err.Error(), "being retrieved already") {
		t.Errorf("second retrieve: %v, want not allowed (being retrieved already)", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first retrieve: %v", err)
	}
	// Until the bridge shows, a retrieve is still refused; then the call
	// is connected and a retrieve answers "not held".
	if err := d.Retrieve(ctx, "1001", "u.1"); !errors.Is(err, pbx.ErrNotAllowed) {
		t.Errorf("retrieve before the bridge shows: %v, want not allowed", err)
	}
	f.stream(wire(chanEv("BridgeEnter", "PJSIP/1001-2", "u.2", "u.1", "6", "BridgeUniqueid", "b2"),
		chanEv("BridgeEnter", "PJSIP/trunk-1", "u.1", "u.1", "6", "BridgeUniqueid", "b2")))
	if err := d.waitFor(ctx, "retrieved", func() bool { return !d.chans["u.2"].held }); err != nil {
		t.Fatal(err)
	}
	if err := d.Retrieve(ctx, "1001", "u.1"); !errors.Is(err, pbx.ErrNotAllowed) || !strings.Contains(err.Error(), "not held") {
		t.Errorf("retrieve of a connected call: %v, want not allowed (not held)", err)
	}
}

// TestDriverTransferTwiceAtOnce: a second Transfer (or Conference) of a
// consultation while the first runs is refused.
func TestDriverTransferTwiceAtOnce(t *testing.T) {
	f, d, _, y, _, _ := consultScenario(t, true)
	release := holdBridges(f)
	ctx := context.Background()
	first := make(chan error, 1)
	go func() { first <- d.Transfer(ctx, "1001", y) }()
	f.waitAction(t, "Bridge")
	for _, op := range []func() error{func() error { return d.Transfer(ctx, "1001", y) }, func() error { return d.Conference(ctx, "1001", y) }} {
		if err := op(); !errors.Is(err, pbx.ErrNotAllowed) || !strings.Contains(err.Error(), "under way") {
			t.Errorf("during a transfer: %v, want not allowed (under way)", err)
		}
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}

// TestDriverOnHookWhileHeld: the agent's phone hangs up while the call
// waits on the driver's hold. Asterisk would keep the caller in sb-hold
// for good; the driver recalls the agent's extension instead (the
// caller is sent to Context/1001, and the phone rings again).
func TestDriverOnHookWhileHeld(t *testing.T) {
	f, d, w1 := heldScenario(t)
	f.stream(wire(chanEv("Hangup", "PJSIP/1001-2", "u.2", "u.1", "6", "Cause", "16")))
	if a := f.waitAction(t, "Redirect"); a.Get("Channel") != "PJSIP/trunk-1" || a.Get("Context") != "internal" || a.Get("Exten") != "1001" {
		t.Errorf("on-hook while held: Redirect = %v, want the caller back to internal,1001", a.Fields)
	}
	// The phone rings again with the same call: one party for it.
	f.stream(wire(chanEv("Newchannel", "PJSIP/1001-5", "u.5", "u.1", "0"), chanEv("Newstate", "PJSIP/1001-5", "u.5", "u.1", "5")))
	collectUntil(t, w1, func(ev pbx.Event) bool { return ev.Call.ID == "u.1" && partyState(ev, "1001") == pbx.Alerting })
	if got, want := fmt.Sprint(callsAt(t, d, "1001")), "[u.1 related= 5551234:connected 1001:alerting]"; got != want {
		t.Errorf("the recalled call at 1001: %s, want %s", got, want)
	}
}

// TestDriverClearWhileHeldIsNoRecall: Clear of a held call hangs up both
// parties; the agent's hang-up is not taken for an on-hook recall.
func TestDriverClearWhileHeldIsNoRecall(t *testing.T) {
	f, d, _ := heldScenario(t)
	if err := d.Clear(context.Background(), "1001", "u.1"); err != nil {
		t.Fatal(err)
	}
	f.stream(wire(chanEv("Hangup", "PJSIP/1001-2", "u.2", "u.1", "6", "Cause", "16")))
	mustNotRecall(t, d)
	if err := d.SetDND(context.Background(), "1001", true); err != nil { // a marker action
		t.Fatal(err)
	}
	f.waitAction(t, "DBPut")
	f.mu.Lock()
	defer f.mu.Unlock()
	var after []string
	seen := false
	for _, a := range f.actions {
		if strings.EqualFold(a.Get("Action"), "Hangup") && a.Get("Channel") == "PJSIP/1001-2" {
			seen = true
		}
		if seen {
			after = append(after, a.Get("Action")+" "+a.Get("Channel"))
		}
	}
	want := "Hangup PJSIP/1001-2,Hangup PJSIP/trunk-1,DBPut "
	if strings.Join(after, ",") != want {
		t.Errorf("actions from the clear on: %q, want %q (no recall)", after, want)
	}
}

// TestDriverOnHookDuringRingingConsultation: the agent hangs up while
// the consulted phone still rings: an unsupervised transfer, as on
// MiVoice ("hang up to complete the transfer"): the consultation is
// dropped and the held caller is sent to the number.
func TestDriverOnHookDuringRingingConsultation(t *testing.T) {
	f, _, _, _, _, _ := consultScenario(t, false)
	f.stream(wire(chanEv("Hangup", "PJSIP/1001-2", "u.2", "u.1", "6", "Cause", "16")))
	if a := f.waitAction(t, "Hangup"); a.Get("Channel") != "PJSIP/1002-3" {
		t.Errorf("Hangup = %v, want the ringing consultation", a.Fields)
	}
	if a := f.waitAction(t, "Redirect"); a.Get("Channel") != "PJSIP/trunk-1" || a.Get("Exten") != "1002" || a.Get("Context") != "internal" {
		t.Errorf("Redirect = %v, want the caller to internal,1002", a.Fields)
	}
}

// TestDriverOnHookDuringAnsweredConsultation: the agent hangs up while
// talking to the consulted party: the transfer completes (the held caller
// is bridged with the consulted party); if Asterisk has hung the
// consulted party up meanwhile, the caller is recalled to the agent.
func TestDriverOnHookDuringAnsweredConsultation(t *testing.T) {
	t.Run("transfer", func(t *testing.T) {
		f, _, x, _, _, w2 := consultScenario(t, true)
		f.stream(wire(chanEv("Hangup", "PJSIP/1001-2", "u.2", "u.1", "6", "Cause", "16")))
		if a := f.waitAction(t, "Bridge"); a.Get("Channel1") != "PJSIP/trunk-1" || a.Get("Channel2") != "PJSIP/1002-3" {
			t.Errorf("Bridge = %v, want the held caller with the consulted party", a.Fields)
		}
		got := collectUntil(t, w2, func(ev pbx.Event) bool { return ev.Call.ID == x })
		if got.Cause != pbx.CauseTransferred || partyState(got, "1002") != pbx.Connected {
			t.Errorf("1002 after the agent hung up: %s", line(got))
		}
	})
	t.Run("the consulted party is gone: recall", func(t *testing.T) {
		f, _, _, _, _, _ := consultScenario(t, true)
		f.mu.Lock()
		f.answers["bridge"] = func(a Message) []Message {
			return []Message{{Fields: []Field{{"Response", "Error"}, {"ActionID", a.ActionID()}, {"Message", "Channel2 does not exist: PJSIP/1002-3"}}}}
		}
		f.mu.Unlock()
		f.stream(wire(chanEv("Hangup", "PJSIP/1001-2", "u.2", "u.1", "6", "Cause", "16")))
		if a := f.waitAction(t, "Redirect"); a.Get("Channel") != "PJSIP/trunk-1" || a.Get("Exten") != "1001" {
			t.Errorf("Redirect = %v, want the caller back to 1001", a.Fields)
		}
	})
}

// TestDriverConferenceThatFailsPutsTheCallerBack: the consulted party is
// gone when Conference moves it (its dual Redirect with the agent is
// refused): the caller, moved into the room first, goes back on hold
// instead of waiting there alone.
func TestDriverConferenceThatFailsPutsTheCallerBack(t *testing.T) {
	f, d, _, y, _, _ := consultScenario(t, true)
	f.mu.Lock()
	f.answers["redirect"] = func(a Message) []Message {
		if a.Get("ExtraChannel") != "" {
			return []Message{{Fields: []Field{{"Response", "Error"}, {"ActionID", a.ActionID()}, {"Message", "Channel not existent: PJSIP/1002-3"}}}}
		}
		return []Message{{Fields: []Field{{"Response", "Success"}, {"ActionID", a.ActionID()}, {"Message", "Redirect successful"}}}}
	}
	f.mu.Unlock()
	if err := d.Conference(context.Background(), "1001", y); !errors.Is(err, pbx.ErrNotAllowed) {
		t.Fatalf("conference with the consulted party gone: %v, want not allowed", err)
	}
	var got []string
	for range 3 {
		a := f.waitAction(t, "Redirect")
		got = append(got, a.Get("Channel")+" "+a.Get("Exten"))
	}
	if want := "[PJSIP/trunk-1 sbcfu.1 PJSIP/1001-2 sbcfu.1 PJSIP/trunk-1 sb-hold]"; fmt.Sprint(got) != want {
		t.Errorf("Redirects %v, want %s (the caller back on hold)", got, want)
	}
}

// withRecall sets Config.RecallTime (the dialplan's sb-recall, sb-xfer).
func withRecall(d *Driver) { d.cfg.RecallTime = 20 * time.Second }

// actionsFrom summarises f's actions of the given kinds from the first
// one on.
func actionsFrom(f *fakeAMI, kinds ...string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, a := range f.actions {
		for _, k := range kinds {
			if strings.EqualFold(a.Get("Action"), k) {
				l := a.Get("Action") + " " + a.Get("Channel")
				if v := a.Get("Variable"); v != "" {
					l += " " + v + "=" + a.Get("Value")
				}
				if e := a.Get("Exten"); e != "" {
					l += " " + a.Get("Context") + "," + e
				}
				out = append(out, l)
			}
		}
	}
	return out
}

// TestDriverRecallThroughTheDialplan: with a recall time, a hold recall
// goes through the hold context's sb-recall (the phone rings even in
// Do Not Disturb) and an unsupervised transfer through sb-xfer (back to
// the agent if nobody answers), with the variables they need.
func TestDriverRecallThroughTheDialplan(t *testing.T) {
	vars := []string{"Setvar PJSIP/trunk-1 SB_RECALL_DIAL=PJSIP/1001", "Setvar PJSIP/trunk-1 SB_RECALL_EXT=1001",
		"Setvar PJSIP/trunk-1 SB_CONTEXT=internal", "Setvar PJSIP/trunk-1 SB_RECALL_TIME=20"}
	t.Run("hold recall", func(t *testing.T) {
		f, _, _ := heldScenario(t, withRecall)
		f.stream(wire(chanEv("Hangup", "PJSIP/1001-2", "u.2", "u.1", "6", "Cause", "16")))
		f.waitAction(t, "Redirect") // the recall's (the scenario took the hold's)
		want := append(slices.Clone(vars), "Redirect PJSIP/trunk-1 switchboard,sb-recall")
		if got := actionsFrom(f, "Setvar", "Redirect")[1:]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("actions %q, want %q", got, want)
		}
	})
	t.Run("unsupervised transfer", func(t *testing.T) {
		f, d, _, y, _, _ := consultScenario(t, false, withRecall)
		if err := d.Transfer(context.Background(), "1001", y); err != nil {
			t.Fatal(err)
		}
		want := append(slices.Clone(vars), "Setvar PJSIP/trunk-1 SB_XFER_TO=1002", "Redirect PJSIP/trunk-1 switchboard,sb-xfer")
		if got := actionsFrom(f, "Setvar", "Redirect")[1:]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("actions %q, want %q", got, want)
		}
	})
}

// TestDriverUnsupervisedTransferReachesAsTransferred: the phone an
// unsupervised transfer rings gets the call as transferred (not new: if
// it does not answer, the call comes back to the agent and is not that
// phone's missed call), until a phone answers.
func TestDriverUnsupervisedTransferReachesAsTransferred(t *testing.T) {
	f, d, x, y, _, w2 := consultScenario(t, false)
	if err := d.Transfer(context.Background(), "1001", y); err != nil {
		t.Fatal(err)
	}
	f.waitAction(t, "Redirect")
	f.stream(wire(chanEv("Hangup", "PJSIP/1002-3", "u.3", y, "5", "Cause", "16"),
		chanEv("Newchannel", "PJSIP/1002-7", "u.7", x, "0"), chanEv("Newstate", "PJSIP/1002-7", "u.7", x, "5")))
	got := collectUntil(t, w2, func(ev pbx.Event) bool { return ev.Call.ID == x })
	if got.Cause != pbx.CauseTransferred || partyState(got, "1002") != pbx.Alerting {
		t.Errorf("1002's first event of the transferred call: %s, want alerting, transferred", line(got))
	}
}

// TestDriverDialledPartyHasNoName: a party the PBX dialled out (a
// consultation to an outside number) carries the agent's caller id on
// its channel; that is not the called party's name.
func TestDriverDialledPartyHasNoName(t *testing.T) {
	f, d, _, _, _, _ := consultScenario(t, true)
	f.stream(wire(chanEv("Newchannel", "PJSIP/trunk-9", "u.9", "u.1", "5", "CallerIDNum", "1001", "CallerIDName", "Ann"),
		ev("DialBegin", "DestChannel", "PJSIP/trunk-9", "DestUniqueid", "u.9", "DestLinkedid", "u.1", "DialString", "5559999@trunk")))
	if err := d.waitFor(context.Background(), "the dial", func() bool { return d.chans["u.9"] != nil && d.chans["u.9"].dialed != "" }); err != nil {
		t.Fatal(err)
	}
	snap, err := d.Snapshot(context.Background(), "1001")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range snap.Calls {
		if p, ok := c.Party("5559999"); ok {
			found = true
			if p.Name != "" {
				t.Errorf("the dialled party 5559999 is named %q, want no name", p.Name)
			}
		}
	}
	if !found {
		t.Errorf("no party 5559999 at 1001: %v", callsAt(t, d, "1001"))
	}
}

// mustNotRecall waits until d applied the agent channel u.2's Hangup and
// checks that it took no on-hook action: the caller u.1 is still marked
// as waiting in sb-hold (agentLeftHold clears that when it acts, before
// its actions go out, so no action-order race hides one).
func mustNotRecall(t *testing.T, d *Driver) {
	t.Helper()
	if err := d.waitFor(context.Background(), "the agent's hang-up", func() bool { return d.chans["u.2"] == nil || d.chans["u.2"].gone }); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if ch := d.chans["u.1"]; ch == nil || !ch.inHold {
		t.Error("the driver acted on the agent's hang-up (the caller is no longer marked as held)")
	}
}
