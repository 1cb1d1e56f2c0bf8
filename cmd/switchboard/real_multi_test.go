package main

import (
	"encoding/json"
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/switchboard-cti/switchboard/pbx/asterisk/lab"
)

// TestRealAsteriskTwoInstances: two instances share the real Asterisk,
// Redis and the org, as replicas behind a load balancer. Ann's requests
// reach the instance that does not hold her phone's lease; her socket is
// fed by the one that does. A consultation started on one is completed
// there and shown by the other (UserEvent SwitchboardConsult/Joined);
// hanging up with the call on hold rings her phone again (the lease
// holder recalls it). Each agent logs each call once.
func TestRealAsteriskTwoInstances(t *testing.T) {
	l := lab.Start(t)
	p1 := l.StartPhone("1001")
	p2 := l.StartPhone("1002")
	env := labEnv(l.AMIAddr)
	a := startApp(t, env)
	env2 := maps.Clone(env)
	env2["SWITCHBOARD_REDIS_PREFIX"] = a.Config.RedisPrefix
	b := startAppWith(t, env2, func(m *Main) { m.Org, m.demoKey, m.Clock = a.Org, a.demoKey, a.clock })
	for _, x := range []*app{a, b} {
		select {
		case <-x.Asterisk.Resynced():
		case <-time.After(lab.Timeout):
			t.Fatal("an instance's Asterisk driver did not log in and resync")
		}
	}
	owner, other := a, b
	if !a.Service.Owns("1001") {
		owner, other = b, a
	}
	if !owner.Service.Owns("1001") || !owner.Service.Owns("1002") || other.Service.Owns("1001") {
		t.Fatalf("leases: a owns 1001=%v 1002=%v, b owns 1001=%v; want one instance with both", a.Service.Owns("1001"), a.Service.Owns("1002"), b.Service.Owns("1001"))
	}
	token := owner.signIn(t)
	sock := owner.connect(t, token)
	token2 := owner.signInAs(t, "blair.baker@demo.switchboard")
	sock2 := owner.connect(t, token2)
	on := callIn
	post := func(tok, path string, body any, want int) []byte {
		t.Helper()
		var out json.RawMessage
		if st := other.do(t, "POST", path, tok, body, &out); st != want {
			t.Fatalf("POST %s on the other instance: status %d (%s), want %d", path, st, out, want)
		}
		return out
	}
	answered := func() (string, *lab.Caller) {
		t.Helper()
		caller := l.Call("+14155550123", "8005550100")
		id := sock.waitFor("ringing", func(ev wsEvent) bool { return ev.Type == "call" && ev.Call != nil && ev.Call.State == "alerting" }).Call.ID
		p1.Do("accept", "")
		seen(t, sock, "answered", on(id, "connected"))
		return id, caller
	}
	saved := func(tok string, s *agentSocket, id string) {
		t.Helper()
		owner.wrapUp(t, tok, s, id)
		s.waitFor("task", func(ev wsEvent) bool { return ev.Type == "task" && ev.CallID == id })
	}

	// A supervised transfer, every request on the other instance.
	x, caller := answered()
	var r struct{ ID string }
	_ = json.Unmarshal(post(token, "/api/v1/calls/"+x+"/consult", map[string]string{"number": "1002"}, http.StatusCreated), &r)
	y := r.ID
	seen(t, sock2, "the consultation rings Blair", on(y, "alerting"))
	seen(t, sock, "Ann sees her consultation (announced to the lease holder)", on(y, "connected"))
	p2.Do("accept", "")
	seen(t, sock2, "Blair answers the consultation", on(y, "connected"))
	post(token, "/api/v1/calls/"+y+"/transfer", nil, http.StatusNoContent)
	saved(token, sock, x)
	seen(t, sock2, "Blair has the caller", on(x, "connected"))
	post(token2, "/api/v1/calls/"+x+"/clear", nil, http.StatusNoContent)
	saved(token2, sock2, x)
	if err := caller.Wait(t); err != nil {
		t.Errorf("transferred trunk call: %v", err)
	}

	// Hold on the other instance, hang up on the phone: the phone rings
	// again with the call.
	x2, caller := answered()
	post(token, "/api/v1/calls/"+x2+"/hold", nil, http.StatusNoContent)
	seen(t, sock, "held", on(x2, "held"))
	p1.Do("hangup", "")
	seen(t, sock, "hold recall: the call rings Ann again", on(x2, "alerting"))
	p1.Do("accept", "")
	seen(t, sock, "Ann talks to the caller again", on(x2, "connected"))
	post(token, "/api/v1/calls/"+x2+"/clear", nil, http.StatusNoContent)
	saved(token, sock, x2)
	_ = caller.Wait(t)

	per := map[string]int{}
	for _, task := range a.Org.Records("Task") {
		id, _ := task["CallObject"].(string)
		per[id]++
	}
	if per[x] != 2 || per[x2] != 1 || len(per) != 2 {
		t.Errorf("Tasks per call %v, want %s: 2 (Ann and Blair), %s: 1", per, x, x2)
	}
}
