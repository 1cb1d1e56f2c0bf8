package main

import (
	"context"
	"net/http"
	"testing"
)

// TestACallThatEndedWhileNoInstanceRanIsEndedForTheAgentAtStart: end to
// end on a shared simulator. An instance stores a connected call of 1001
// and stops (every instance is down: the stored call is what a dead
// instance leaves too); the call ends on the switch meanwhile; the next
// instance to start ends it for the agent (no ghost call on the
// softphone) and it is logged once, at wrap-up.
func TestACallThatEndedWhileNoInstanceRanIsEndedForTheAgentAtStart(t *testing.T) {
	srv := startSimServer(t, 0)
	a := instanceOnSim(t, srv, nil, nil)
	token := a.signIn(t)
	sock := a.connect(t, token)
	id := a.place(t, "+14155550123", "1001")
	sock.waitFor("ringing", ringing(id))
	if st := a.do(t, "POST", "/api/v1/calls/"+id+"/answer", token, nil, nil); st != http.StatusNoContent {
		t.Fatalf("answer: %d", st)
	}
	sock.waitFor("answered", func(ev wsEvent) bool {
		return ev.Type == "call" && ev.Call != nil && ev.Call.ID == id && ev.Call.State == "connected"
	})
	sock.conn.CloseNow() // (Close would give the socket time to reconnect elsewhere)
	a.Close()
	ctx := context.Background()
	if err := srv.Sim.Clear(ctx, "1001", id); err != nil {
		t.Fatal(err)
	}

	b := instanceOnSim(t, srv, a, nil)
	if !b.Service.Owns("1001") {
		t.Fatal("b did not claim 1001 at start")
	}
	token = b.signIn(t)
	sock = b.connect(t, token)
	// The start resync runs a lease round after start: before or after
	// the socket connected. Still live in the store means not yet: its
	// end is pushed to this socket.
	rec, err := b.Store.Call(ctx, "1001", id)
	if err != nil {
		t.Fatalf("the call's record: %v", err)
	}
	if rec.Ended.IsZero() {
		sock.waitFor("the call's end", func(ev wsEvent) bool {
			return ev.Type == "call_ended" && ev.Call != nil && ev.Call.ID == id && ev.Call.PostCall
		})
		if rec, err = b.Store.Call(ctx, "1001", id); err != nil || rec.Ended.IsZero() {
			t.Fatalf("after its end was pushed: %+v, %v; want the call ended", rec, err)
		}
	}
	if !rec.PostCall {
		t.Fatalf("ended call %+v: want it in post-call (the agent wraps up)", rec)
	}
	if st := b.do(t, "POST", "/api/v1/calls/"+id+"/wrap-up", token, `{"action":"save"}`, nil); st != http.StatusOK {
		t.Fatalf("wrap-up: status %d", st)
	}
	sock.waitFor("task", func(ev wsEvent) bool { return ev.Type == "task" && ev.CallID == id })
	if n := len(a.Org.Records("Task")); n != 1 {
		t.Fatalf("%d Tasks for one call, want 1", n)
	}
}
