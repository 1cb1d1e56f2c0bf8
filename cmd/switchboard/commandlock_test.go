package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestOneCommandAtATimePerPhone: while a command on a phone runs (here:
// another instance holds the phone's command lock), the next one on that
// phone answers 409 saying so, and runs once the first is done. Two at
// once raced on the PBX: on Asterisk two retrieves of one call (from two
// instances) dropped the caller.
func TestOneCommandAtATimePerPhone(t *testing.T) {
	a := startApp(t, nil)
	token := a.signIn(t)
	sock := a.connect(t, token)
	var placed struct{ ID string }
	if st := a.do(t, "POST", "/sim/v1/calls", "", map[string]string{"from": "+14155550123", "to": "1001"}, &placed); st != http.StatusCreated {
		t.Fatalf("place call: status %d", st)
	}
	sock.waitFor("ringing", ringing(placed.ID))
	if st := a.do(t, "POST", "/api/v1/calls/"+placed.ID+"/answer", token, nil, nil); st != http.StatusNoContent {
		t.Fatalf("answer: status %d", st)
	}
	ctx := context.Background()
	if ok, err := a.Store.Claim(ctx, "command:1001", "another-instance", time.Minute); !ok || err != nil {
		t.Fatalf("claim the command lock: %v %v", ok, err)
	}
	for _, c := range []struct{ path, body string }{
		{"/hold", ""}, {"/retrieve", ""}, {"/clear", ""}, {"/transfer", ""}, {"/conference", ""},
		{"/consult", `{"number":"1002"}`}, {"/redirect", `{"number":"1002"}`},
	} {
		var body any
		if c.body != "" {
			body = json.RawMessage(c.body)
		}
		var out json.RawMessage
		if st := a.do(t, "POST", "/api/v1/calls/"+placed.ID+c.path, token, body, &out); st != http.StatusConflict || !strings.Contains(string(out), "still running") {
			t.Errorf("%s while another command runs: %d %s, want 409 saying another command is still running", c.path, st, out)
		}
	}
	if err := a.Store.Release(ctx, "command:1001", "another-instance"); err != nil {
		t.Fatal(err)
	}
	if st := a.do(t, "POST", "/api/v1/calls/"+placed.ID+"/hold", token, nil, nil); st != http.StatusNoContent {
		t.Errorf("hold once the other command is done: status %d", st)
	}
	if st := a.do(t, "POST", "/api/v1/calls/"+placed.ID+"/retrieve", token, nil, nil); st != http.StatusNoContent {
		t.Errorf("retrieve right after (the hold released the lock): status %d", st)
	}
}
