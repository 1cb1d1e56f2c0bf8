package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
)

const testAdminToken = "admin-token-for-tests-0123456789abcdef"

// callAndWrapUp places a call to 1001, answers, writes notes, hangs up and
// wraps up; it returns the call id.
func (a *app) callAndWrapUp(t *testing.T, token string, sock *agentSocket, notes string, log map[string]any) string {
	t.Helper()
	id := a.place(t, "+14155550123", "1001")
	sock.waitFor("ringing", ringing(id))
	if st := a.do(t, "POST", "/api/v1/calls/"+id+"/answer", token, nil, nil); st != http.StatusNoContent {
		t.Fatalf("answer: %d", st)
	}
	body := map[string]any{"notes": notes}
	for k, v := range log {
		body[k] = v
	}
	if st := a.do(t, "PUT", "/api/v1/calls/"+id+"/log", token, body, nil); st != http.StatusOK {
		t.Fatalf("notes: %d", st)
	}
	a.clock.Advance(30 * time.Second)
	if st := a.do(t, "POST", "/api/v1/calls/"+id+"/clear", token, nil, nil); st != http.StatusNoContent {
		t.Fatalf("clear: %d", st)
	}
	a.wrapUp(t, token, sock, id)
	return id
}

func TestARefusedCallLogIsADeadLetterThatCanBeListedAndReplayed(t *testing.T) {
	a := startApp(t, map[string]string{"SWITCHBOARD_ADMIN_TOKEN": testAdminToken})
	token := a.signIn(t)
	sock := a.connect(t, token)
	attempts := make(chan error, 10)
	a.Service.ObserveOutbox(func(_ adapter.TaskJob, err error) { attempts <- err })
	// A validation rule of the org refuses every Task: not repairable.
	a.Org.Inject(fakeorg.Fault{Kind: fakeorg.RefuseRecords, Code: "FIELD_CUSTOM_VALIDATION_EXCEPTION", PathPrefix: "/services/data/v67.0/composite"})
	id := a.callAndWrapUp(t, token, sock, "Wants a refund.", nil)
	for range 1 {
		select {
		case err := <-attempts:
			if err == nil {
				t.Fatal("the Task was written despite the validation rule")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no write attempt")
		}
	}

	for _, tc := range []struct{ name, auth string }{{"no token", ""}, {"an agent's token", token}, {"a wrong token", "nope"}} {
		req, _ := http.NewRequest("GET", a.URL+"/admin/v1/dead-letters", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", "Bearer "+tc.auth)
		}
		resp, err := a.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("admin API with %s: %d, want 401", tc.name, resp.StatusCode)
		}
	}
	var list struct {
		Total       int
		DeadLetters []adapter.DeadLetter
	}
	if st := a.do(t, "GET", "/admin/v1/dead-letters", testAdminToken, nil, &list); st != http.StatusOK {
		t.Fatalf("list: %d", st)
	}
	if list.Total != 1 || len(list.DeadLetters) != 1 {
		t.Fatalf("dead letters %+v, want the one call log", list)
	}
	dl := list.DeadLetters[0]
	if dl.Code != "FIELD_CUSTOM_VALIDATION_EXCEPTION" || dl.Job.CallID != id || !strings.Contains(dl.Job.Task.Description, "Wants a refund.") || dl.Job.Task.CallDurationInSeconds != 30 {
		t.Errorf("dead letter %+v: want the whole Task (notes, duration) and the code", dl)
	}
	if st := a.do(t, "GET", "/admin/v1/dead-letters?limit=0", testAdminToken, nil, nil); st != http.StatusBadRequest {
		t.Errorf("limit=0: %d, want 400", st)
	}
	if st := a.do(t, "POST", "/admin/v1/dead-letters/nope/replay", testAdminToken, nil, nil); st != http.StatusNotFound {
		t.Errorf("replaying an unknown id: %d, want 404", st)
	}
	if n := a.Service.OutboxCounts().DeadLettered; n != 1 {
		t.Errorf("dead-lettered counter = %d, want 1", n)
	}

	// The admin fixes the org, then replays.
	a.Org.ClearFaults()
	if st := a.do(t, "POST", "/admin/v1/dead-letters/"+dl.ID+"/replay", testAdminToken, nil, nil); st != http.StatusOK {
		t.Fatalf("replay: %d", st)
	}
	a.Service.FlushOutbox(context.Background())
	sock.waitFor("task", func(ev wsEvent) bool { return ev.Type == "task" && ev.CallID == id })
	tasks := a.Org.Records("Task")
	if len(tasks) != 1 || !strings.Contains(tasks[0]["Description"].(string), "Wants a refund.") {
		t.Fatalf("Tasks after replay: %v, want the call's one Task with its notes", tasks)
	}
	if st := a.do(t, "GET", "/admin/v1/dead-letters", testAdminToken, nil, &list); st != http.StatusOK || list.Total != 0 {
		t.Errorf("after replay: %d %+v, want no dead letter", st, list)
	}
}

func TestABadReferenceIsRepairedAndRetriedOnce(t *testing.T) {
	a := startApp(t, nil)
	token := a.signIn(t)
	sock := a.connect(t, token)
	gone := "003000000000999AAA" // a Contact deleted meanwhile
	id := a.callAndWrapUp(t, token, sock, "Asked about the invoice.", map[string]any{"whoId": gone})
	sock.waitFor("task", func(ev wsEvent) bool { return ev.Type == "task" && ev.CallID == id })
	tasks := a.Org.Records("Task")
	if len(tasks) != 1 {
		t.Fatalf("%d Tasks, want 1", len(tasks))
	}
	desc, _ := tasks[0]["Description"].(string)
	if tasks[0]["WhoId"] != nil || !strings.Contains(desc, gone) || !strings.Contains(desc, "Asked about the invoice.") {
		t.Errorf("Task WhoId %v Description %q: want the reference unlinked, named, and the notes kept", tasks[0]["WhoId"], desc)
	}
	if n := a.Service.OutboxCounts().Repaired; n != 1 {
		t.Errorf("repaired = %d, want 1", n)
	}
}

func TestTheAdminAPIIsOffWithoutAToken(t *testing.T) {
	a := startApp(t, nil)
	var e struct{ Error struct{ Code string } }
	if st := a.do(t, "GET", "/admin/v1/dead-letters", "anything", nil, &e); st != http.StatusNotFound || e.Error.Code != "admin_disabled" {
		t.Errorf("admin API without a configured token: %d %+v, want 404 admin_disabled", st, e)
	}
}
