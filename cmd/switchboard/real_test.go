package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-cti/switchboard/pbx/asterisk/lab"
)

// callIn matches a socket's call push for call id in state.
func callIn(id, state string) func(wsEvent) bool {
	return func(ev wsEvent) bool {
		return ev.Type == "call" && ev.Call != nil && ev.Call.ID == id && ev.Call.State == state
	}
}

// labEnv is the settings of an instance on the lab's Asterisk, whose AMI
// is at amiAddr (the lab's own, or a proxy in front of it).
func labEnv(amiAddr string) map[string]string {
	return map[string]string{
		"SWITCHBOARD_PBX": "asterisk", "SWITCHBOARD_AMI_ADDR": amiAddr, "SWITCHBOARD_AMI_USER": "cti", "SWITCHBOARD_AMI_SECRET": "ctisecret",
		"SWITCHBOARD_AMI_EXTENSIONS": "1001,1002", "SWITCHBOARD_AMI_HOLD_CONTEXT": "switchboard", "SWITCHBOARD_AMI_DIGITS_VAR": "SB_DIGITS",
		"SWITCHBOARD_AMI_QUEUES": "support", "SWITCHBOARD_AMI_REASONS": "lunch:Lunch",
		"SWITCHBOARD_AMI_ACCOUNTS": "p-100:Project 100", "SWITCHBOARD_AMI_CLASSIFICATIONS": "sale:Sale",
		"SWITCHBOARD_AMI_RECALL_TIME": "4s",
		// The test clock does not run by itself: write each Task at once.
		"SWITCHBOARD_OUTBOX_LINGER": "0s",
		// Instances sharing a Redis prefix accept each other's sessions.
		"SWITCHBOARD_SESSION_KEYS": testSessionKeys,
	}
}

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
	p2 := l.StartPhone("1002")
	// Switchboard reaches the AMI through a proxy the test can cut.
	proxy := newCutProxy(t, l.AMIAddr)
	a := startApp(t, labEnv(proxy.addr()))
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
	// An account code goes on the channel (CDR) and the Task; a code not
	// configured is refused; a classification is for ACD calls only.
	for _, c := range []struct {
		path, code string
		want       int
	}{
		{"account-code", "p-100", http.StatusNoContent}, {"account-code", "p-999", http.StatusBadRequest},
		{"classification-code", "sale", http.StatusConflict},
	} {
		if st := a.do(t, "POST", "/api/v1/calls/"+id+"/"+c.path, token, map[string]string{"code": c.code}, nil); st != c.want {
			t.Errorf("%s %s: status %d, want %d", c.path, c.code, st, c.want)
		}
	}
	// core show channels concise: Channel!Context!Exten!Priority!State!
	// Application!Data!CallerID!Accountcode!...
	if got := l.CLI("core show channels concise"); !slices.ContainsFunc(strings.Split(got, "\n"), func(line string) bool {
		f := strings.Split(line, "!")
		return len(f) > 8 && strings.HasPrefix(f[0], "PJSIP/1001-") && f[8] == "p-100"
	}) {
		t.Errorf("the agent's channel has no account code p-100:\n%s", got)
	}
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
	if desc, _ := tasks[0]["Description"].(string); !strings.Contains(desc, "p-100") {
		t.Errorf("Task Description %q, want the account code p-100", desc)
	}

	// A second agent, Blair, on 1002.
	token2 := a.signInAs(t, "blair.baker@demo.switchboard")
	sock2 := a.connect(t, token2)
	on := callIn
	ringing := func(ev wsEvent) bool { return ev.Type == "call" && ev.Call != nil && ev.Call.State == "alerting" }
	post := func(tok, path string, body any, want int) []byte {
		t.Helper()
		var out json.RawMessage
		if st := a.do(t, "POST", path, tok, body, &out); st != want {
			t.Fatalf("POST %s: status %d (%s), want %d", path, st, out, want)
		}
		return out
	}
	// answered: an inbound trunk call rings Ann, who answers on the phone.
	answered := func() (string, *lab.Caller) {
		t.Helper()
		caller := l.Call("+14155550123", "8005550100")
		id := sock.waitFor("ringing", ringing).Call.ID
		p1.Do("accept", "")
		sock.waitFor("answered", on(id, "connected"))
		return id, caller
	}
	// consult: Ann consults Blair, who answers the consultation call.
	consult := func(x string) string {
		t.Helper()
		var r struct{ ID string }
		_ = json.Unmarshal(post(token, "/api/v1/calls/"+x+"/consult", map[string]string{"number": "1002"}, http.StatusCreated), &r)
		sock2.waitFor("the consultation rings Blair", on(r.ID, "alerting"))
		p2.Do("accept", "")
		// (Ann's own side of the consultation is connected from the
		// start; Blair's shows the answer.)
		seen(t, sock2, "Blair answers the consultation", on(r.ID, "connected"))
		return r.ID
	}
	logged := map[string]int{} // Tasks expected per call
	saved := func(tok string, s *agentSocket, id string) {
		t.Helper()
		a.wrapUp(t, tok, s, id)
		s.waitFor("task", func(ev wsEvent) bool { return ev.Type == "task" && ev.CallID == id })
		logged[id]++
	}

	// Supervised transfer 1001 -> 1002: consult, complete; Ann and Blair
	// each log the call once; the consultation leg is not logged.
	x, caller := answered()
	y := consult(x)
	post(token, "/api/v1/calls/"+y+"/transfer", nil, http.StatusNoContent)
	saved(token, sock, x)
	seen(t, sock2, "Blair has the caller", on(x, "connected"))
	post(token2, "/api/v1/calls/"+x+"/clear", nil, http.StatusNoContent)
	saved(token2, sock2, x)
	if err := caller.Wait(t); err != nil {
		t.Errorf("transferred trunk call: %v", err)
	}

	// A three-party conference: caller, Ann, Blair.
	x, caller = answered()
	y = consult(x)
	post(token, "/api/v1/calls/"+y+"/conference", nil, http.StatusNoContent)
	seen(t, sock2, "Blair in the conference", on(x, "connected"))
	seenRaw(t, sock, "Ann back in the call, now a conference", func(ev partiesMsg) bool {
		return ev.Type == "call" && ev.Call != nil && ev.Call.ID == x && ev.Call.State == "connected" && len(ev.Call.Parties) == 3
	})
	var st3 struct {
		Calls []struct {
			ID      string
			Parties []struct{ Number, State string }
		}
	}
	a.do(t, "GET", "/api/v1/state", token, nil, &st3)
	if len(st3.Calls) != 1 || st3.Calls[0].ID != x || len(st3.Calls[0].Parties) != 3 {
		t.Errorf("Ann's state in the conference: %+v, want call %s with three parties", st3.Calls, x)
	}
	post(token, "/api/v1/calls/"+x+"/clear", nil, http.StatusNoContent)
	saved(token, sock, x)
	post(token2, "/api/v1/calls/"+x+"/clear", nil, http.StatusNoContent)
	saved(token2, sock2, x)
	if err := caller.Wait(t); err != nil {
		t.Errorf("the caller was not released from the conference: %v", err)
	}

	// A queue call Ann lets ring: after the queue's ring timeout (2 s)
	// Asterisk rings her again; she answers the second ring. The missed
	// first ring adds no Task and leaves no ghost call.
	caller = l.Call("+14155550123", "5551001")
	x = sock.waitFor("queue call rings", ringing).Call.ID
	seenRaw(t, sock, "the first ring ends unanswered", func(ev partiesMsg) bool {
		return ev.Call != nil && ev.Call.ID == x && (ev.Type == "call_ended" || ev.Call.State == "disconnected")
	})
	seen(t, sock, "Asterisk rings again", on(x, "alerting"))
	p1.Do("accept", "")
	seen(t, sock, "answered the second ring", on(x, "connected"))
	post(token, "/api/v1/calls/"+x+"/clear", nil, http.StatusNoContent)
	saved(token, sock, x)
	_ = caller.Wait(t)
	st3.Calls = nil
	a.do(t, "GET", "/api/v1/state", token, nil, &st3)
	if len(st3.Calls) != 0 {
		t.Errorf("after the re-rung queue call Ann has calls %+v, want none", st3.Calls)
	}

	// An unsupervised transfer Blair does not answer comes back to Ann
	// (recall time 4 s): Ann logs the call once, Blair not at all (it was
	// offered to her, not hers to miss).
	x, caller = answered()
	var rt struct{ ID string }
	_ = json.Unmarshal(post(token, "/api/v1/calls/"+x+"/consult", map[string]string{"number": "1002"}, http.StatusCreated), &rt)
	seen(t, sock2, "the consultation rings Blair", on(rt.ID, "alerting"))
	post(token, "/api/v1/calls/"+rt.ID+"/transfer", nil, http.StatusNoContent)
	seen(t, sock2, "the transfer rings Blair", on(x, "alerting"))
	seen(t, sock, "unanswered, it rings Ann again", on(x, "alerting"))
	p1.Do("accept", "")
	seen(t, sock, "Ann has the caller back", on(x, "connected"))
	post(token, "/api/v1/calls/"+x+"/clear", nil, http.StatusNoContent)
	saved(token, sock, x)
	_ = caller.Wait(t)

	// Ann hangs up on the phone with the call on hold: it rings her
	// again (hold recall); she answers, clears, and the call is logged
	// once.
	x, caller = answered()
	post(token, "/api/v1/calls/"+x+"/hold", nil, http.StatusNoContent)
	seen(t, sock, "held", on(x, "held"))
	p1.Do("hangup", "")
	seen(t, sock, "hold recall: the call rings Ann again", on(x, "alerting"))
	p1.Do("accept", "")
	seen(t, sock, "Ann talks to the caller again", on(x, "connected"))
	post(token, "/api/v1/calls/"+x+"/clear", nil, http.StatusNoContent)
	saved(token, sock, x)
	_ = caller.Wait(t)

	// The AMI link is cut mid-call: the driver reconnects and resyncs,
	// and Ann's call is still connected.
	x, caller = answered()
	proxy.cut()
	waitLink(t, a, false)
	waitLink(t, a, true)
	var st2 struct {
		Calls []struct{ ID, State string }
	}
	a.do(t, "GET", "/api/v1/state", token, nil, &st2)
	if len(st2.Calls) != 1 || st2.Calls[0].ID != x || st2.Calls[0].State != "connected" {
		t.Errorf("after the link came back: calls %+v, want %s connected", st2.Calls, x)
	}
	post(token, "/api/v1/calls/"+x+"/clear", nil, http.StatusNoContent)
	saved(token, sock, x)
	_ = caller.Wait(t)

	// The AMI link is cut mid-consultation: after the resync Ann still
	// has the held call and the consultation, and completes the transfer.
	x, caller = answered()
	y = consult(x)
	proxy.cut()
	waitLink(t, a, false)
	waitLink(t, a, true)
	st2.Calls = nil
	a.do(t, "GET", "/api/v1/state", token, nil, &st2)
	ids := map[string]string{}
	for _, c := range st2.Calls {
		ids[c.ID] = c.State
	}
	if len(ids) != 2 || ids[x] == "" || ids[y] != "connected" {
		t.Errorf("after the link came back mid-consultation: calls %+v, want %s and the consultation %s connected", st2.Calls, x, y)
	}
	post(token, "/api/v1/calls/"+y+"/transfer", nil, http.StatusNoContent)
	saved(token, sock, x)
	seen(t, sock2, "Blair has the caller after the reconnect", on(x, "connected"))
	post(token2, "/api/v1/calls/"+x+"/clear", nil, http.StatusNoContent)
	saved(token2, sock2, x)
	if err := caller.Wait(t); err != nil {
		t.Errorf("trunk call transferred after the reconnect: %v", err)
	}

	// Asterisk restarts mid-call: the call drops; after the reconnect Ann
	// has no ghost call and the call is logged once.
	x, _ = answered()
	l.Restart()
	saved(token, sock, x)
	waitLink(t, a, true)
	st2.Calls = nil
	a.do(t, "GET", "/api/v1/state", token, nil, &st2)
	if len(st2.Calls) != 0 {
		t.Errorf("after the restart Ann has calls %+v, want none", st2.Calls)
	}

	// Every handled call: exactly one Task per agent who handled it.
	per := map[string][]string{}
	for _, task := range a.Org.Records("Task") {
		id, _ := task["CallObject"].(string)
		owner, _ := task["OwnerId"].(string)
		per[id] = append(per[id], owner)
	}
	for id, n := range logged {
		owners := per[id]
		distinct := map[string]bool{}
		for _, o := range owners {
			distinct[o] = true
		}
		if len(owners) != n || len(distinct) != n {
			t.Errorf("call %s: Tasks owned by %v, want %d (one per agent)", id, owners, n)
		}
	}
	if len(per) != len(logged)+1 { // +1: the first call, checked above
		t.Errorf("Tasks for calls %v, want only the handled calls %v", per, logged)
	}
}

// partiesMsg is a socket message with the call's parties.
type partiesMsg struct {
	Type string
	Call *struct {
		ID, State string
		Parties   []struct{ Number, State string }
	}
}

// seenRaw is seen for a condition on the parties.
func seenRaw(t *testing.T, s *agentSocket, what string, ok func(partiesMsg) bool) {
	t.Helper()
	seen(t, s, what, nil, ok)
}

// seen is waitFor that lists what came instead on failure (ok or, when
// ok is nil, okRaw decides).
func seen(t *testing.T, s *agentSocket, what string, ok func(wsEvent) bool, okRaw ...func(partiesMsg) bool) wsEvent {
	t.Helper()
	var got []string
	for i := 0; i < 100; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, b, err := s.conn.Read(ctx)
		cancel()
		if err != nil {
			t.Fatalf("%s: socket read: %v; saw:\n%s", what, err, strings.Join(got, "\n"))
		}
		var ev wsEvent
		_ = json.Unmarshal(b, &ev)
		if ok != nil && ok(ev) {
			return ev
		}
		var rc partiesMsg
		_ = json.Unmarshal(b, &rc)
		if ok == nil && okRaw[0](rc) {
			return ev
		}
		got = append(got, string(b[:min(len(b), 400)]))
	}
	t.Fatalf("no %s in 100 messages", what)
	return wsEvent{}
}

// waitLink waits until the driver's AMI link is up (or down).
func waitLink(t *testing.T, a *app, up bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), lab.Timeout)
	defer cancel()
	if err := a.Asterisk.WaitLink(ctx, up); err != nil {
		t.Fatalf("AMI link up=%v: not within %s", up, lab.Timeout)
	}
}

// cutProxy forwards TCP connections to an address; cut drops every
// connection open now (the link breaks; new connections still work).
type cutProxy struct {
	ln    net.Listener
	to    string
	mu    sync.Mutex
	conns []net.Conn
}

func newCutProxy(t *testing.T, to string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, to: to}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.to)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
	}
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
