package asterisk

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard-cti/switchboard/pbx"
)

// otherInstanceScenario: a driver that did not handle the requests (a
// second Switchboard instance) sees a call connected at 1001, held by the
// other instance, and its announced consultation to 1002 (ringing).
// acts is what Config.Acts answers for every extension.
func otherInstanceScenario(t *testing.T, acts bool) (f *fakeAMI, d *Driver, w1, w2 <-chan pbx.Event) {
	t.Helper()
	f = newFakeAMI(t, "11.0.0")
	d = testDriver(t, f)
	d.cfg.Acts = func(string) bool { return acts }
	w1, w2 = mustSubscribe(t, d, "1001"), mustSubscribe(t, d, "1002")
	startDriver(t, d)
	trunk, a1 := "PJSIP/trunk-1", "PJSIP/1001-2"
	f.stream(wire(chanEv("Newchannel", trunk, "u.1", "u.1", "6"), chanEv("Newchannel", a1, "u.2", "u.1", "6"),
		chanEv("BridgeEnter", trunk, "u.1", "u.1", "6", "BridgeUniqueid", "b1"),
		chanEv("BridgeEnter", a1, "u.2", "u.1", "6", "BridgeUniqueid", "b1"),
		chanEv("BridgeLeave", trunk, "u.1", "u.1", "6", "BridgeUniqueid", "b1"),
		chanEv("BridgeLeave", a1, "u.2", "u.1", "6", "BridgeUniqueid", "b1"),
		chanEv("Newexten", a1, "u.2", "u.1", "6", "Context", "switchboard", "Exten", "sb-wait", "Application", "Wait"),
		chanEv("Newexten", trunk, "u.1", "u.1", "6", "Context", "switchboard", "Exten", "sb-hold", "Application", "Wait"),
		ev("UserEvent", "UserEvent", "SwitchboardConsult", "SBInstance", "sb-other", "Held", "u.1", "Consult", "sb-y", "Agent", "u.2", "Number", "1002"),
		chanEv("Newchannel", "Local/1002@internal-1;1", "sb-y", "sb-y", "0"),
		chanEv("Newchannel", "PJSIP/1002-3", "u.3", "sb-y", "0"), chanEv("Newstate", "PJSIP/1002-3", "u.3", "sb-y", "5")))
	collect(t, w2, func(ev pbx.Event) bool { return ev.Call.ID == "sb-y" && partyState(ev, "1002") == pbx.Alerting })
	return f, d, w1, w2
}

// TestDriverAnnouncedConsultation: the consultation another instance
// started is one here too: the same calls at 1001, and this instance can
// complete it (the agent's channel is bridged by the instance that
// started it, never twice).
func TestDriverAnnouncedConsultation(t *testing.T) {
	ctx := context.Background()
	f, d, _, w2 := otherInstanceScenario(t, true)
	got := callsAt(t, d, "1001")
	want := "[sb-y related=u.1 1001:connected 1002:alerting u.1 related=sb-y 5551234:connected 1001:consultation_held]"
	if fmt.Sprint(got) != want {
		t.Errorf("1001 here: %v, want %s", got, want)
	}
	// 1002 answers: the other instance bridges it with the agent.
	f.stream(wire(chanEv("Newstate", "PJSIP/1002-3", "u.3", "sb-y", "6"),
		chanEv("Newexten", "Local/1002@internal-1;1", "sb-y", "sb-y", "6", "Context", "switchboard", "Exten", "sb-wait", "Application", "Answer")))
	collectUntil(t, w2, func(ev pbx.Event) bool { return ev.Call.ID == "sb-y" && partyState(ev, "1002") == pbx.Connected })
	if err := d.waitFor(ctx, "the answer", func() bool { return d.calls["sb-y"].bridged }); err != nil {
		t.Fatal(err)
	}
	if err := d.Transfer(ctx, "1001", "sb-y"); err != nil {
		t.Fatalf("transfer here: %v", err)
	}
	if a := f.waitAction(t, "Bridge"); a.Get("Channel1") != "PJSIP/trunk-1" || a.Get("Channel2") != "PJSIP/1002-3" {
		t.Errorf("first Bridge = %v, want the transfer's (held caller with 1002), not the agent's", a.Fields)
	}
	if a := f.waitAction(t, "UserEvent"); a.Get("UserEvent") != "SwitchboardJoined" || a.Get("Consult") != "sb-y" || a.Get("Cause") != "transferred" {
		t.Errorf("announcement = %v", a.Fields)
	}
}

// TestDriverAnnouncedJoin: the other instance completed the transfer:
// 1002 has the caller here too, and the consultation is over.
func TestDriverAnnouncedJoin(t *testing.T) {
	f, d, _, w2 := otherInstanceScenario(t, false)
	f.stream(wire(chanEv("Newstate", "PJSIP/1002-3", "u.3", "sb-y", "6"),
		ev("UserEvent", "UserEvent", "SwitchboardJoined", "SBInstance", "sb-other", "Consult", "sb-y", "Held", "u.1", "Agent", "u.2", "Cause", "transferred")))
	got := collectUntil(t, w2, func(ev pbx.Event) bool { return ev.Call.ID == "u.1" })
	if got.Cause != pbx.CauseTransferred || partyState(got, "1002") != pbx.Connected || partyState(got, "5551234") != pbx.Connected {
		t.Errorf("1002 after the transfer: %s", line(got))
	}
	if _, err := d.Snapshot(context.Background(), "1002"); err != nil {
		t.Fatal(err)
	}
	// Its own announcement a driver skips.
	f.stream(wire(ev("UserEvent", "UserEvent", "SwitchboardConsult", "SBInstance", d.instance, "Held", "u.1", "Consult", "sb-z", "Agent", "u.2", "Number", "1004")))
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.calls["sb-z"] != nil {
		t.Error("a driver applied its own announcement")
	}
}

// TestDriverOnHookOnlyWhereLeased: the agent's phone hangs up during the
// ringing consultation; the instance holding 1001's lease transfers the
// caller (it knows the consultation from the announcement), another
// instance does nothing.
func TestDriverOnHookOnlyWhereLeased(t *testing.T) {
	for _, acts := range []bool{true, false} {
		t.Run(fmt.Sprintf("leased=%v", acts), func(t *testing.T) {
			f, d, _, _ := otherInstanceScenario(t, acts)
			f.stream(wire(chanEv("Hangup", "PJSIP/1001-2", "u.2", "u.1", "6", "Cause", "16")))
			if !acts {
				mustNotRecall(t, d)
			}
			if err := d.SetDND(context.Background(), "1001", true); err != nil { // a marker action
				t.Fatal(err)
			}
			f.waitAction(t, "DBPut")
			f.mu.Lock()
			var acts2 []string
			for _, a := range f.actions {
				switch strings.ToLower(a.Get("Action")) {
				case "hangup", "redirect":
					acts2 = append(acts2, a.Get("Action")+" "+a.Get("Channel")+" "+a.Get("Exten"))
				}
			}
			f.mu.Unlock()
			want := "[]"
			if acts {
				want = "[Hangup PJSIP/1002-3  Redirect PJSIP/trunk-1 1002]"
			}
			// The leased instance's actions run in a goroutine: wait for
			// the Redirect before reading them all.
			if acts && !strings.Contains(fmt.Sprint(acts2), "Redirect") {
				f.waitAction(t, "Redirect")
				f.mu.Lock()
				acts2 = nil
				for _, a := range f.actions {
					switch strings.ToLower(a.Get("Action")) {
					case "hangup", "redirect":
						acts2 = append(acts2, a.Get("Action")+" "+a.Get("Channel")+" "+a.Get("Exten"))
					}
				}
				f.mu.Unlock()
			}
			if fmt.Sprint(acts2) != want {
				t.Errorf("actions after the on-hook: %v, want %s", acts2, want)
			}
		})
	}
}

// TestDriverAnnouncedClassification: a classification made on another
// instance ends the pending classification here too.
func TestDriverAnnouncedClassification(t *testing.T) {
	f, _, ch := wrapUpScenario(t)
	got := collectUntil(t, ch, func(ev pbx.Event) bool { return ev.Type == pbx.DeviceUpdated && ev.State.WorkTimer })
	if !got.State.ClassificationPending {
		t.Fatalf("work timer %+v, want a classification pending", got.State)
	}
	f.stream(wire(ev("UserEvent", "UserEvent", "SwitchboardClassified", "SBInstance", "sb-other", "Extension", "1001", "CallID", "u.1", "Code", "sale")))
	got = collectUntil(t, ch, func(ev pbx.Event) bool { return ev.Type == pbx.DeviceUpdated })
	if !got.State.WorkTimer || got.State.ClassificationPending || got.Cause != pbx.CauseCodes {
		t.Errorf("after the other instance's classification: %+v %s", got.State, got.Cause)
	}
}
