package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/switchboard-cti/switchboard/pbx/asterisk/lab"
)

// TestRealAsteriskEndToEnd runs Switchboard with the Asterisk driver
// against a real Asterisk (pbx/asterisk/lab: baresip phones, SIPp trunk),
// the demo org and real Redis: an inbound call from a known Contact rings
// 1001 and the agent's socket gets it with ANI, DNIS and the Contact;
// the agent answers on the phone, holds and retrieves from the softphone,
// clears, and the call ends with exactly one Task. It skips unless
// scripts/asterisk-lab.sh (run by `make test`) set SWITCHBOARD_ASTERISK_ROOT.
func TestRealAsteriskEndToEnd(t *testing.T) {
	l := lab.Start(t)
	p1 := l.StartPhone("1001")
	l.StartPhone("1002")
	a := startApp(t, map[string]string{
		"SWITCHBOARD_PBX": "asterisk", "SWITCHBOARD_AMI_ADDR": l.AMIAddr, "SWITCHBOARD_AMI_USER": "cti", "SWITCHBOARD_AMI_SECRET": "ctisecret",
		"SWITCHBOARD_AMI_EXTENSIONS": "1001,1002/acd", "SWITCHBOARD_AMI_HOLD_CONTEXT": "switchboard", "SWITCHBOARD_AMI_DIGITS_VAR": "SB_DIGITS",
		"SWITCHBOARD_AMI_QUEUES": "support", "SWITCHBOARD_AMI_REASONS": "lunch:Lunch",
		// The test clock does not run by itself: write each Task at once.
		"SWITCHBOARD_OUTBOX_LINGER": "0s",
	})
	select {
	case <-a.Asterisk.Resynced():
	case <-time.After(lab.Timeout):
		t.Fatal("the Asterisk driver did not log in and resync")
	}
	token := a.signIn(t)
	sock := a.connect(t, token)

	var me struct {
		Capabilities map[string]bool `json:"capabilities"`
	}
	if st := a.do(t, "GET", "/api/v1/me", token, nil, &me); st != http.StatusOK || !me.Capabilities["hold"] || !me.Capabilities["conference"] || me.Capabilities["hotDeskLogin"] {
		t.Errorf("/me: status %d capabilities %v, want hold and conference, no hot-desk", st, me.Capabilities)
	}

	caller := l.Call("+14155550123", "8005550100")
	ring := sock.waitFor("ringing", func(ev wsEvent) bool { return ev.Type == "call" && ev.Call != nil && ev.Call.State == "alerting" })
	id := ring.Call.ID
	// The lookup runs after the ringing push; its matches may follow in a
	// second push while the call still rings.
	pop := ring
	if len(pop.Call.Matches) == 0 {
		pop = sock.waitFor("matches", func(ev wsEvent) bool {
			return ev.Type == "call" && ev.Call != nil && ev.Call.ID == id && len(ev.Call.Matches) > 0
		})
	}
	if len(pop.Call.Matches) != 1 || pop.Call.Matches[0].Name != "Lucy Hall" || pop.Call.Matches[0].Type != "Contact" || pop.Call.State != "alerting" {
		t.Errorf("ringing: %s with matches %+v, want alerting with the Contact Lucy Hall", pop.Call.State, pop.Call.Matches)
	}
	var st struct {
		Calls []struct{ ID, ANI, DNIS string }
	}
	a.do(t, "GET", "/api/v1/state", token, nil, &st)
	if len(st.Calls) != 1 || st.Calls[0].ANI != "+14155550123" || st.Calls[0].DNIS != "8005550100" {
		t.Errorf("state calls %+v, want ANI +14155550123 DNIS 8005550100", st.Calls)
	}
	if code := a.do(t, "POST", "/api/v1/calls/"+id+"/answer", token, nil, nil); code != http.StatusNotImplemented {
		t.Errorf("answer with no remote-answer mechanism: status %d, want 501", code)
	}
	p1.Do("accept", "")
	state := func(want string) func(wsEvent) bool {
		return func(ev wsEvent) bool {
			return ev.Type == "call" && ev.Call != nil && ev.Call.ID == id && ev.Call.State == want
		}
	}
	sock.waitFor("answered", state("connected"))
	if code := a.do(t, "POST", "/api/v1/calls/"+id+"/hold", token, nil, nil); code != http.StatusNoContent {
		t.Fatalf("hold: status %d", code)
	}
	sock.waitFor("held", state("held"))
	if code := a.do(t, "POST", "/api/v1/calls/"+id+"/retrieve", token, nil, nil); code != http.StatusNoContent {
		t.Fatalf("retrieve: status %d", code)
	}
	sock.waitFor("retrieved", state("connected"))
	if code := a.do(t, "POST", "/api/v1/calls/"+id+"/clear", token, nil, nil); code != http.StatusNoContent {
		t.Fatalf("clear: status %d", code)
	}
	a.wrapUp(t, token, sock, id) // the Task is written once the agent saves the wrap-up
	task := sock.waitFor("task", func(ev wsEvent) bool { return ev.Type == "task" && ev.CallID == id })
	if err := caller.Wait(t); err != nil {
		t.Errorf("trunk call: %v", err)
	}
	tasks := a.Org.Records("Task")
	if len(tasks) != 1 || tasks[0]["Id"] != task.TaskID || tasks[0]["CallObject"] != id || tasks[0]["CallType"] != "Inbound" {
		t.Fatalf("org Tasks %v, want one Inbound Task for call %s", tasks, id)
	}
}
