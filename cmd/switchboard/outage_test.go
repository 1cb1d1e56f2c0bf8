package main

import (
	"context"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
)

// answerAndClear answers a ringing call, talks for d and hangs up.
func (a *app) answerAndClear(t *testing.T, token string, sock *agentSocket, id string, d time.Duration) {
	t.Helper()
	if st := a.do(t, "POST", "/api/v1/calls/"+id+"/answer", token, nil, nil); st != http.StatusNoContent {
		t.Fatalf("answer: %d", st)
	}
	a.clock.Advance(d)
	if st := a.do(t, "POST", "/api/v1/calls/"+id+"/clear", token, nil, nil); st != http.StatusNoContent {
		t.Fatalf("clear: %d", st)
	}
	sock.waitFor("ended", func(ev wsEvent) bool { return ev.Type == "call_ended" && ev.Call != nil && ev.Call.ID == id })
}

func TestACallLogWaitsOutASalesforceOutage(t *testing.T) {
	a := startApp(t, nil)
	token := a.signIn(t)
	sock := a.connect(t, token)
	id := a.place(t, "+14155550123", "1001")
	sock.waitFor("ringing", ringing(id)) // looked up before the outage
	attempts := make(chan error, 10)
	a.Service.ObserveOutbox(func(_ adapter.TaskJob, err error) { attempts <- err })
	a.Org.Inject(fakeorg.Fault{Kind: fakeorg.Unavailable503, PathPrefix: "/services/data/v67.0/composite"})
	a.answerAndClear(t, token, sock, id, 30*time.Second)
	if st := a.do(t, "POST", "/api/v1/calls/"+id+"/wrap-up", token, `{"action":"save"}`, nil); st != http.StatusOK {
		t.Fatalf("wrap-up: %d", st)
	}

	select {
	case err := <-attempts:
		if err == nil {
			t.Fatal("the Task was written while Salesforce was down")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no attempt to write the Task")
	}
	if n := len(a.Org.Records("Task")); n != 0 {
		t.Fatalf("%d Tasks written during the outage", n)
	}
	a.Org.ClearFaults()
	a.clock.Advance(10 * time.Minute) // past the retry back-off
	a.Service.FlushOutbox(context.Background())
	sock.waitFor("task", func(ev wsEvent) bool { return ev.Type == "task" && ev.CallID == id })
	tasks := a.Org.Records("Task")
	if len(tasks) != 1 || tasks[0]["CallObject"] != id {
		t.Fatalf("after the outage: %v, want one Task for the call", tasks)
	}
}

func TestACallLogSurvivesARedisOutage(t *testing.T) {
	a := startApp(t, map[string]string{"SWITCHBOARD_REDIS_URL": ""}) // embedded Redis we can stop
	token := a.signIn(t)
	sock := a.connect(t, token)
	id := a.place(t, "+14155550123", "1001")
	sock.waitFor("ringing", ringing(id))
	if st := a.do(t, "POST", "/api/v1/calls/"+id+"/answer", token, nil, nil); st != http.StatusNoContent {
		t.Fatalf("answer: %d", st)
	}
	sock.waitFor("answered", func(ev wsEvent) bool { return ev.Type == "call" && ev.Call != nil && ev.Call.State == "connected" })

	written := make(chan error, 10)
	a.Service.ObserveOutbox(func(_ adapter.TaskJob, err error) { written <- err })
	a.mini.Close() // Redis goes away; the desk phone hangs up meanwhile
	a.clock.Advance(20 * time.Second)
	if err := a.Sim.Clear(context.Background(), "1001", id); err != nil {
		t.Fatal(err)
	}
	if err := a.mini.Restart(); err != nil {
		t.Fatal(err)
	}
	// Nobody wraps up: the server writes the log after the grace period.
	// (The socket is closed by the outage: watch the store.)
	deadline := time.Now().Add(15 * time.Second)
	for {
		rec, err := a.Store.Call(context.Background(), "1001", id)
		if err == nil && rec.PostCall {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the call did not reach post-call after Redis came back: %+v %v", rec, err)
		}
		runtime.Gosched()
	}
	a.clock.Advance(11 * time.Minute)
	a.Service.Wake()
	select {
	case err := <-written:
		if err != nil {
			t.Fatalf("writing the Task: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the call log was not written after Redis came back")
	}
	var st struct{ Calls []struct{ ID string } }
	if code := a.do(t, "GET", "/api/v1/state", token, nil, &st); code != http.StatusOK {
		t.Fatalf("the session did not survive the outage: %d", code)
	}
	tasks := a.Org.Records("Task")
	if len(tasks) != 1 {
		t.Fatalf("%d Tasks, want 1", len(tasks))
	}
	if d := tasks[0]["CallDurationInSeconds"]; d == nil {
		t.Fatalf("no duration on %v", tasks[0])
	}
}

func TestTheServiceStartsWithoutRedisAndSaysSo(t *testing.T) {
	base := map[string]string{
		"SWITCHBOARD_ADDR":      "127.0.0.1:0",
		"SWITCHBOARD_REDIS_URL": "redis://127.0.0.1:1/0", // nothing listens there
		"SWITCHBOARD_LOG_LEVEL": "error",
	}
	var logs strings.Builder
	m, err := NewMain(nil, func(k string) string { return base[k] }, &logs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := m.Start(ctx); err != nil {
		t.Fatalf("Start without Redis: %v", err)
	}
	defer m.Close()
	a := &app{Main: m, http: &http.Client{Timeout: 10 * time.Second}}
	var health map[string]any
	if st := a.do(t, "GET", "/healthz", "", nil, &health); st != http.StatusOK {
		t.Errorf("healthz without Redis: %d", st)
	}
	var ready struct {
		Failing          string
		RedisPersistence string `json:"redis_persistence"`
	}
	if st := a.do(t, "GET", "/readyz", "", nil, &ready); st != http.StatusServiceUnavailable || ready.Failing != "redis" || ready.RedisPersistence != "unknown" {
		t.Errorf("readyz without Redis: %d %+v, want 503 naming redis, redis_persistence unknown", st, ready)
	}
}
