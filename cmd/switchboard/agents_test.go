package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard-cti/switchboard/adapter"
)

const testSessionKeys = "k1:0123456789abcdef0123456789abcdef"

// signInAs signs in as a demo user (the demo org's picker cookie says who
// the browser is signed in as).
func (a *app) signInAs(t *testing.T, username string) string {
	t.Helper()
	u, _ := url.Parse(a.URL + "/demo-org/")
	a.http.Jar.SetCookies(u, []*http.Cookie{{Name: "fakeorg_sid", Value: username, Path: "/demo-org"}})
	return a.signIn(t)
}

// secondInstance starts another instance on the same Redis keys, switch and
// org, as a second replica behind a load balancer.
func secondInstance(t *testing.T, first *app, env map[string]string) *app {
	t.Helper()
	merged := map[string]string{"SWITCHBOARD_REDIS_PREFIX": first.Config.RedisPrefix, "SWITCHBOARD_SESSION_KEYS": testSessionKeys}
	for k, v := range env {
		merged[k] = v
	}
	return startAppWith(t, merged, func(m *Main) {
		m.Sim, m.Org, m.demoKey = first.Sim, first.Org, first.demoKey
		m.Clock = first.clock
	})
}

func (a *app) place(t *testing.T, from, to string) string {
	t.Helper()
	var placed struct{ ID string }
	if st := a.do(t, "POST", "/sim/v1/calls", "", map[string]string{"from": from, "to": to}, &placed); st != http.StatusCreated {
		t.Fatalf("place call: %d", st)
	}
	return placed.ID
}

// ringing matches the push of a ringing call once its Salesforce lookup
// is done (the first ringing push goes out before it, lookup "pending").
func ringing(id string) func(wsEvent) bool {
	return func(ev wsEvent) bool {
		return ev.Type == "call" && ev.Call != nil && ev.Call.ID == id && ev.Call.State == "alerting" && ev.Call.Lookup != "pending"
	}
}

func (s *agentSocket) send(v any) {
	s.t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.conn.Write(ctx, websocket.MessageText, b); err != nil {
		s.t.Fatalf("socket write: %v", err)
	}
}

func TestAnAgentOnInstanceBSeesCallsHandledOnInstanceA(t *testing.T) {
	a := startApp(t, map[string]string{"SWITCHBOARD_SESSION_KEYS": testSessionKeys})
	b := secondInstance(t, a, nil)
	token := b.signIn(t)
	sock := b.connect(t, token)

	id := a.place(t, "+14155550123", "1001")
	ring := sock.waitFor("ringing on B", ringing(id))
	if len(ring.Call.Matches) != 1 || ring.Call.Matches[0].Name != "Lucy Hall" {
		t.Fatalf("matches on B: %+v", ring.Call.Matches)
	}
	if st := b.do(t, "POST", "/api/v1/calls/"+id+"/answer", token, nil, nil); st != http.StatusNoContent {
		t.Fatalf("answer through B: %d", st)
	}
	a.clock.Advance(5 * time.Second)
	if st := a.do(t, "POST", "/api/v1/calls/"+id+"/clear", token, nil, nil); st != http.StatusNoContent {
		t.Fatalf("clear through A with the same token: %d", st)
	}
	b.wrapUp(t, token, sock, id)
	sock.waitFor("task", func(ev wsEvent) bool { return ev.Type == "task" && ev.CallID == id })
	if n := len(a.Org.Records("Task")); n != 1 {
		t.Fatalf("%d Tasks for one call handled by two instances, want 1", n)
	}
}

func TestWhenAnInstanceStopsAnotherTakesOverWithoutLosingTheCall(t *testing.T) {
	fast := map[string]string{"SWITCHBOARD_SESSION_KEYS": testSessionKeys, "SWITCHBOARD_LEASE_TTL": "1s"}
	a := startApp(t, fast)
	b := secondInstance(t, a, fast)
	token := a.signIn(t)
	onA := a.connect(t, token)
	id := a.place(t, "+14155550123", "1001")
	onA.waitFor("ringing on A", ringing(id))

	a.Close() // the instance stops; its socket closes, its leases are released
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := onA.conn.Read(ctx); err == nil {
		t.Fatal("socket on the stopped instance still open")
	}
	onB := b.connect(t, token) // the softphone reconnects through the load balancer
	// The snapshot already showed the ringing call; B now owns the device,
	// so what happens next reaches the agent.
	if st := b.do(t, "POST", "/api/v1/calls/"+id+"/answer", token, nil, nil); st != http.StatusNoContent {
		t.Fatalf("answer on B: %d", st)
	}
	onB.waitFor("answered, handled by B", func(ev wsEvent) bool {
		return ev.Type == "call" && ev.Call != nil && ev.Call.ID == id && ev.Call.State == "connected"
	})
	b.clock.Advance(3 * time.Second)
	if st := b.do(t, "POST", "/api/v1/calls/"+id+"/clear", token, nil, nil); st != http.StatusNoContent {
		t.Fatalf("clear on B: %d", st)
	}
	b.wrapUp(t, token, onB, id)
	onB.waitFor("task", func(ev wsEvent) bool { return ev.Type == "task" && ev.CallID == id })
	if n := len(b.Org.Records("Task")); n != 1 {
		t.Fatalf("%d Tasks, want 1", n)
	}
}

func TestSeveralTabsShowTheSameCallAndOnlyOnePops(t *testing.T) {
	a := startApp(t, nil)
	token := a.signIn(t)
	tabs := []*agentSocket{a.connect(t, token), a.connect(t, token), a.connect(t, token)}
	id := a.place(t, "+14155550123", "1001")
	for _, tab := range tabs {
		tab.waitFor("ringing", ringing(id))
		tab.send(map[string]string{"type": "claim_pop", "callId": id})
	}
	granted := 0
	for _, tab := range tabs {
		var got struct {
			Type    string
			CallID  string
			Granted bool
		}
		for got.Type != "pop_claim" {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, b, err := tab.conn.Read(ctx)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			_ = json.Unmarshal(b, &got)
		}
		if got.Granted {
			granted++
		}
	}
	if granted != 1 {
		t.Fatalf("%d tabs may pop the call, want exactly 1", granted)
	}
}

func TestACallThatRangBeforeTheSoftphoneLoadedIsShownAndLoggedAnyway(t *testing.T) {
	a := startApp(t, nil)
	token := a.signIn(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bus := make(chan adapter.AgentEvent, 64)
	ready := make(chan struct{})
	go a.Store.Listen(ctx, ready, func(ext string, ev adapter.AgentEvent) {
		if ext == "1001" {
			bus <- ev
		}
	})
	<-ready
	id := a.place(t, "+14155550123", "1001")
	waitBus := func(what string, ok func(adapter.AgentEvent) bool) {
		t.Helper()
		for {
			select {
			case ev := <-bus:
				if ok(ev) {
					return
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no %s event", what)
			}
		}
	}
	waitBus("ringing", func(ev adapter.AgentEvent) bool { return ev.Type == adapter.EventCall && ev.Call.ID == id })

	sock := a.connect(t, token) // the softphone finishes loading now
	_ = sock
	var st struct {
		Calls []struct{ ID, State string }
	}
	a.do(t, "GET", "/api/v1/state", token, nil, &st)
	if len(st.Calls) != 1 || st.Calls[0].ID != id || st.Calls[0].State != "alerting" {
		t.Fatalf("state after connecting: %+v, want the ringing call", st.Calls)
	}
	sock.conn.CloseNow() // and is closed again: the desk phone handles the call
	if err := a.Sim.Answer(ctx, "1001", id); err != nil {
		t.Fatal(err)
	}
	a.clock.Advance(7 * time.Second)
	if err := a.Sim.Clear(ctx, "1001", id); err != nil {
		t.Fatal(err)
	}
	// Nobody wraps up: the server writes the log after the grace period.
	waitBus("post-call", func(ev adapter.AgentEvent) bool {
		return ev.Type == adapter.EventCallEnded && ev.CallID == id || ev.Type == adapter.EventCallEnded && ev.Call != nil && ev.Call.ID == id
	})
	a.clock.Advance(11 * time.Minute)
	a.Service.Wake()
	waitBus("task", func(ev adapter.AgentEvent) bool { return ev.Type == adapter.EventTask && ev.CallID == id })
	if n := len(a.Org.Records("Task")); n != 1 {
		t.Fatalf("%d Tasks, want 1", n)
	}
}

func TestAnAgentCannotTouchAnotherAgentsCall(t *testing.T) {
	a := startApp(t, nil)
	alex := a.signIn(t)
	blair := a.signInAs(t, "blair.baker@demo.switchboard")
	sock := a.connect(t, alex) // before the call: its pushes may all go out before a later socket joins
	id := a.place(t, "+14155550123", "1001")
	sock.waitFor("ringing", ringing(id))
	for _, path := range []string{"answer", "clear", "hold", "retrieve", "transfer", "conference"} {
		var e struct{ Error struct{ Code string } }
		if st := a.do(t, "POST", "/api/v1/calls/"+id+"/"+path, blair, nil, &e); st != http.StatusNotFound && st != http.StatusForbidden {
			t.Errorf("%s on another agent's call: %d %s, want 404 or 403", path, st, e.Error.Code)
		}
	}
	for _, req := range []struct{ path, body string }{
		{"redirect", `{"number":"1003"}`}, {"consult", `{"number":"1003"}`}, {"dtmf", `{"digits":"1"}`},
		{"log", `{"notes":"mine now"}`}, {"wrap-up", `{"action":"save"}`},
	} {
		method := "POST"
		if req.path == "log" {
			method = "PUT"
		}
		if st := a.do(t, method, "/api/v1/calls/"+id+"/"+req.path, blair, req.body, nil); st != http.StatusNotFound && st != http.StatusForbidden {
			t.Errorf("%s on another agent's call: %d, want 404 or 403", req.path, st)
		}
	}
	var st struct {
		Calls []struct {
			ID, State string
			Log       struct{ Notes string }
		}
	}
	a.do(t, "GET", "/api/v1/state", alex, nil, &st)
	if len(st.Calls) != 1 || st.Calls[0].State != "alerting" || st.Calls[0].Log.Notes != "" {
		t.Fatalf("Alex's call changed: %+v", st.Calls)
	}
	a.do(t, "GET", "/api/v1/state", blair, nil, &st)
	if len(st.Calls) != 0 {
		t.Fatalf("Blair sees Alex's calls: %+v", st.Calls)
	}

	// Favorites, settings and history are each agent's own.
	if code := a.do(t, "POST", "/api/v1/favorites", alex, `{"id":"003Dm000000000EIAQ","name":"Lucy Hall","number":"+14155550123"}`, nil); code != http.StatusCreated {
		t.Fatalf("Alex adds a favorite: %d", code)
	}
	a.do(t, "PUT", "/api/v1/settings", alex, `{"popAt":"answered","callSubject":"Alex's"}`, nil)
	if code := a.do(t, "DELETE", "/api/v1/favorites/003Dm000000000EIAQ", blair, nil, nil); code != http.StatusNotFound {
		t.Errorf("Blair removes Alex's favorite: %d, want 404", code)
	}
	var favs struct{ Favorites []adapter.Favorite }
	a.do(t, "GET", "/api/v1/favorites", blair, nil, &favs)
	if len(favs.Favorites) != 0 {
		t.Errorf("Blair sees Alex's favorites: %+v", favs.Favorites)
	}
	a.do(t, "GET", "/api/v1/favorites", alex, nil, &favs)
	if len(favs.Favorites) != 1 {
		t.Errorf("Alex's favorite is gone: %+v", favs.Favorites)
	}
	var bs adapter.Settings
	a.do(t, "GET", "/api/v1/settings", blair, nil, &bs)
	if bs.PopAt != adapter.PopAtRinging || bs.CallSubject == "Alex's" {
		t.Errorf("Blair got Alex's settings: %+v", bs)
	}
}

func TestBadCredentialsAndLimitsAreRefusedAndChangeNothing(t *testing.T) {
	a := startApp(t, map[string]string{"SWITCHBOARD_SESSION_KEYS": testSessionKeys})
	token := a.signIn(t)
	uid, sid := tokenClaims(t, token)
	sign := func(method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(method, claims)
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	now := a.clock.Now()
	good := jwt.MapClaims{"sub": uid, "sid": sid, "iss": "switchboard", "aud": "switchboard-softphone", "exp": now.Add(time.Minute).Unix()}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for kk, vv := range good {
			c[kk] = vv
		}
		c[k] = v
		return c
	}
	secret := []byte(strings.SplitN(testSessionKeys, ":", 2)[1])
	for _, tc := range []struct{ name, token string }{
		{"an expired token", sign(jwt.SigningMethodHS256, secret, with("exp", now.Add(-time.Hour).Unix()))},
		{"a token for another audience", sign(jwt.SigningMethodHS256, secret, with("aud", "someone-else"))},
		{"a token signed with another key", sign(jwt.SigningMethodHS256, []byte("not-the-key-not-the-key-not-the-key"), good)},
		{"an alg none token", sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good)},
		{"an HS512 token", sign(jwt.SigningMethodHS512, secret, good)},
		{"a token of an ended session", sign(jwt.SigningMethodHS256, secret, with("sid", "ended"))},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			if st := a.do(t, "PUT", "/api/v1/settings", tc.token, `{"popAt":"answered"}`, nil); st != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", st)
			}
		})
	}
	var settings adapter.Settings
	a.do(t, "GET", "/api/v1/settings", token, nil, &settings)
	if settings.PopAt != adapter.PopAtRinging {
		t.Fatalf("settings changed by refused requests: %+v", settings)
	}

	t.Run("a 51st favorite is refused", func(t *testing.T) {
		for i := 0; i < adapter.MaxFavorites; i++ {
			if st := a.do(t, "POST", "/api/v1/favorites", token, map[string]string{"name": fmt.Sprintf("F%02d", i), "number": fmt.Sprintf("+1415555%04d", i)}, nil); st != http.StatusCreated {
				t.Fatalf("favorite %d: %d", i, st)
			}
		}
		var e struct {
			Error struct{ Code, Message string }
		}
		if st := a.do(t, "POST", "/api/v1/favorites", token, `{"name":"One too many","number":"+14155559999"}`, &e); st != http.StatusConflict || e.Error.Code != "limit_reached" {
			t.Fatalf("51st favorite: %d %+v", st, e)
		}
		var fs struct{ Favorites []adapter.Favorite }
		a.do(t, "GET", "/api/v1/favorites", token, nil, &fs)
		if len(fs.Favorites) != adapter.MaxFavorites {
			t.Fatalf("%d favorites after the refusal, want %d", len(fs.Favorites), adapter.MaxFavorites)
		}
	})
	t.Run("oversize settings are refused", func(t *testing.T) {
		body := fmt.Sprintf(`{"popAt":"ringing","callSubject":%q}`, strings.Repeat("x", 300))
		if st := a.do(t, "PUT", "/api/v1/settings", token, body, nil); st != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", st)
		}
	})
	t.Run("a hot-desk login with the wrong PIN is refused", func(t *testing.T) {
		dana := a.signInAs(t, "dana.diaz@demo.switchboard")
		var e struct{ Error struct{ Code string } }
		if st := a.do(t, "POST", "/api/v1/device/hotdesk-login", dana, `{"extension":"2001","pin":"0000"}`, &e); st != http.StatusForbidden || e.Error.Code != "login_refused" {
			t.Fatalf("wrong PIN: %d %+v", st, e)
		}
		var me struct{ Agent adapter.Agent }
		a.do(t, "GET", "/api/v1/me", dana, nil, &me)
		if me.Agent.Extension != "" {
			t.Fatalf("logged in to %s after a wrong PIN", me.Agent.Extension)
		}
		var ag adapter.Agent
		if st := a.do(t, "POST", "/api/v1/device/hotdesk-login", dana, `{"extension":"2001","pin":"1234"}`, &ag); st != http.StatusOK || ag.Extension != "2001" {
			t.Fatalf("right PIN: %d %+v", st, ag)
		}
	})
}

func tokenClaims(t *testing.T, token string) (uid, sid string) {
	t.Helper()
	var c jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil {
		t.Fatal(err)
	}
	uid, _ = c["sub"].(string)
	sid, _ = c["sid"].(string)
	return uid, sid
}

func TestTheSocketWantsATokenInItsFirstMessage(t *testing.T) {
	a := startApp(t, nil)
	ws := "ws" + strings.TrimPrefix(a.URL, "http") + "/api/v1/ws"
	for _, tc := range []struct {
		name, first string
		wantCode    websocket.StatusCode
	}{
		{"a first message that is not auth", `{"type":"ping"}`, websocket.StatusPolicyViolation},
		{"a first message that is not JSON", `hello`, websocket.StatusPolicyViolation},
		{"a forged token", `{"type":"auth","token":"eyJhbGciOiJIUzI1NiJ9.e30.x"}`, 4401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			conn, _, err := websocket.Dial(ctx, ws, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.CloseNow()
			conn.Write(ctx, websocket.MessageText, []byte(tc.first))
			for {
				_, _, err := conn.Read(ctx)
				if err != nil {
					if got := websocket.CloseStatus(err); got != tc.wantCode {
						t.Fatalf("closed with %d (%v), want %d", got, err, tc.wantCode)
					}
					return
				}
			}
		})
	}
}

func TestASupervisedTransferLogsTheCallOncePerAgentAndNotTheConsultation(t *testing.T) {
	a := startApp(t, nil)
	alex := a.signIn(t)
	blair := a.signInAs(t, "blair.baker@demo.switchboard")
	onAlex, onBlair := a.connect(t, alex), a.connect(t, blair)
	id := a.place(t, "+14155550123", "1001")
	onAlex.waitFor("ringing", ringing(id))
	a.do(t, "POST", "/api/v1/calls/"+id+"/answer", alex, nil, nil)
	var consult struct{ ID string }
	if st := a.do(t, "POST", "/api/v1/calls/"+id+"/consult", alex, `{"number":"1002"}`, &consult); st != http.StatusCreated {
		t.Fatalf("consult: %d", st)
	}
	onBlair.waitFor("consultation ringing", ringing(consult.ID))
	a.do(t, "POST", "/api/v1/calls/"+consult.ID+"/answer", blair, nil, nil)
	a.clock.Advance(10 * time.Second)
	if st := a.do(t, "POST", "/api/v1/calls/"+consult.ID+"/transfer", alex, nil, nil); st != http.StatusNoContent {
		t.Fatalf("transfer: %d", st)
	}
	ended := onAlex.waitFor("the customer call ended for Alex", func(ev wsEvent) bool {
		return ev.Type == "call_ended" && ev.Call != nil && ev.Call.ID == id
	})
	if !ended.Call.PostCall {
		t.Error("the transferred customer call offers no wrap-up to Alex")
	}
	onBlair.waitFor("the customer call on Blair", func(ev wsEvent) bool {
		return ev.Type == "call" && ev.Call != nil && ev.Call.ID == id && ev.Call.State == "connected"
	})
	a.clock.Advance(20 * time.Second)
	a.do(t, "POST", "/api/v1/calls/"+id+"/clear", blair, nil, nil)
	a.wrapUp(t, blair, onBlair, id)
	if st := a.do(t, "POST", "/api/v1/calls/"+id+"/wrap-up", alex, `{"action":"save"}`, nil); st != http.StatusOK {
		t.Fatalf("Alex's wrap-up: %d", st)
	}
	onBlair.waitFor("Blair's Task", func(ev wsEvent) bool { return ev.Type == "task" && ev.CallID == id })
	onAlex.waitFor("Alex's Task", func(ev wsEvent) bool { return ev.Type == "task" && ev.CallID == id })

	var alexState struct{ Calls []struct{ ID string } }
	a.do(t, "GET", "/api/v1/state", alex, nil, &alexState)
	for _, c := range alexState.Calls {
		if c.ID == consult.ID {
			t.Errorf("the consultation call waits for a wrap-up")
		}
	}
	tasks := a.Org.Records("Task")
	if len(tasks) != 2 {
		t.Fatalf("%d Tasks, want one for each agent's leg of the customer call: %v", len(tasks), tasks)
	}
	owners := map[any]bool{}
	for _, tk := range tasks {
		if tk["CallObject"] != id || tk["CallType"] != "Inbound" {
			t.Errorf("Task %v, want an Inbound Task of call %s", tk, id)
		}
		owners[tk["OwnerId"]] = true
	}
	if len(owners) != 2 {
		t.Errorf("both Tasks have the same owner")
	}
}

func TestAnUnansweredTransferRingsBackAndIsLoggedOnce(t *testing.T) {
	a := startApp(t, nil)
	alex := a.signIn(t)
	sock := a.connect(t, alex)
	id := a.place(t, "+14155550123", "1001")
	sock.waitFor("ringing", ringing(id))
	a.do(t, "POST", "/api/v1/calls/"+id+"/answer", alex, nil, nil)
	var consult struct{ ID string }
	if st := a.do(t, "POST", "/api/v1/calls/"+id+"/consult", alex, `{"number":"1003"}`, &consult); st != http.StatusCreated {
		t.Fatalf("consult: %d", st)
	}
	if st := a.do(t, "POST", "/api/v1/calls/"+id+"/transfer", alex, nil, nil); st != http.StatusNoContent {
		t.Fatalf("unsupervised transfer: %d", st)
	}
	sock.waitFor("the call left Alex", func(ev wsEvent) bool { return ev.Type == "call_ended" && ev.Call != nil && ev.Call.ID == id })
	a.clock.Advance(31 * time.Second) // nobody answers at 1003: the call comes back
	sock.waitFor("recall ringing", ringing(id))
	if st := a.do(t, "POST", "/api/v1/calls/"+id+"/answer", alex, nil, nil); st != http.StatusNoContent {
		t.Fatalf("answer the recall: %d", st)
	}
	a.do(t, "POST", "/api/v1/calls/"+id+"/clear", alex, nil, nil)
	ended := sock.waitFor("the call ended again", func(ev wsEvent) bool { return ev.Type == "call_ended" && ev.Call != nil && ev.Call.ID == id })
	if !ended.Call.PostCall {
		t.Error("no wrap-up after the recalled call")
	}
	if st := a.do(t, "POST", "/api/v1/calls/"+id+"/wrap-up", alex, `{"action":"save"}`, nil); st != http.StatusOK {
		t.Fatalf("wrap-up: %d", st)
	}
	sock.waitFor("task", func(ev wsEvent) bool { return ev.Type == "task" && ev.CallID == id })
	a.Service.FlushOutbox(context.Background())
	if n := len(a.Org.Records("Task")); n != 1 {
		for _, tk := range a.Org.Records("Task") {
			t.Logf("Task %v %v %v %v %v", tk["Id"], tk["CallObject"], tk["OwnerId"], tk["CallType"], tk["CallDurationInSeconds"])
		}
		t.Fatalf("%d Tasks, want 1 (updated, not duplicated)", n)
	}
}

func TestACallOfAnAgentWhoNeverOpenedTheSoftphoneIsLoggedForThatAgent(t *testing.T) {
	a := startApp(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	written := make(chan error, 10)
	a.Service.ObserveOutbox(func(_ adapter.TaskJob, err error) { written <- err })
	id := a.place(t, "+14155550123", "1002") // Blair's desk phone; Blair never signed in
	for _, step := range []func() error{
		func() error { return a.Sim.Answer(ctx, "1002", id) },
		func() error { a.clock.Advance(12 * time.Second); return a.Sim.Clear(ctx, "1002", id) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-written:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no call log written")
	}
	tasks := a.Org.Records("Task")
	if len(tasks) != 1 {
		t.Fatalf("%d Tasks, want 1", len(tasks))
	}
	users := a.Org.Records("User")
	var blair any
	for _, u := range users {
		if u["Extension"] == "1002" {
			blair = u["Id"]
		}
	}
	if tasks[0]["OwnerId"] != blair {
		t.Errorf("OwnerId = %v, want Blair (%v), the user whose Extension is 1002", tasks[0]["OwnerId"], blair)
	}
}

func TestSignInIsSilentUnlessAskedToShowTheLoginPage(t *testing.T) {
	a := startApp(t, nil)
	noRedirect := &http.Client{Jar: a.http.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct{ query, wantPrompt string }{
		{"", "none"}, {"&prompt=interactive", ""}, {"&prompt=login", "login"},
	} {
		resp, err := noRedirect.Get(a.URL + "/auth/login?return=/softphone/" + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc.Query().Get("prompt") != tc.wantPrompt || loc.Query().Get("code_challenge_method") != "S256" {
			t.Errorf("login%s: %d to %s, want prompt %q with PKCE", tc.query, resp.StatusCode, loc, tc.wantPrompt)
		}
	}
	var e struct{ Error struct{ Code string } }
	if st := a.do(t, "GET", "/auth/login?prompt=bogus", "", nil, &e); st != http.StatusBadRequest {
		t.Errorf("unknown prompt: %d", st)
	}
}

func TestAnOutgoingCallIsLoggedFromTheMomentTheFarEndAnswers(t *testing.T) {
	a := startApp(t, nil)
	alex := a.signIn(t)
	sock := a.connect(t, alex)
	var made struct{ ID string }
	if st := a.do(t, "POST", "/api/v1/calls", alex, `{"number":"(415) 555-0123"}`, &made); st != http.StatusCreated {
		t.Fatalf("make call: %d", st)
	}
	a.clock.Advance(3 * time.Second) // the demo's external numbers answer after 3 s
	sock.waitFor("answered", func(ev wsEvent) bool {
		return ev.Type == "call" && ev.Call != nil && ev.Call.ID == made.ID && len(ev.Call.Matches) == 1
	})
	a.clock.Advance(20 * time.Second)
	a.do(t, "POST", "/api/v1/calls/"+made.ID+"/clear", alex, nil, nil)
	a.wrapUp(t, alex, sock, made.ID)
	sock.waitFor("task", func(ev wsEvent) bool { return ev.Type == "task" && ev.CallID == made.ID })
	tasks := a.Org.Records("Task")
	if len(tasks) != 1 {
		t.Fatalf("%d Tasks", len(tasks))
	}
	if got := tasks[0]; got["CallType"] != "Outbound" || fmt.Sprint(got["CallDurationInSeconds"]) != "20" || got["WhoId"] == nil {
		t.Errorf("Task %v %v %v, want an Outbound 20 s call to Lucy Hall", got["CallType"], got["CallDurationInSeconds"], got["WhoId"])
	}
}

func TestClickToDialOnASharedNumberLogsTheClickedRecord(t *testing.T) {
	a := startApp(t, nil)
	alex := a.signIn(t)
	sock := a.connect(t, alex)
	var riley string
	for _, c := range a.Org.Records("Contact") {
		if c["FirstName"] == "Riley" {
			riley = c["Id"].(string)
		}
	}
	if riley == "" {
		t.Fatal("the demo org has no Riley Patel")
	}
	var made struct{ ID string }
	body := `{"number":"(415) 555-0142","record":{"recordId":"` + riley + `","objectType":"Contact","name":"Riley Patel"}}`
	if st := a.do(t, "POST", "/api/v1/calls", alex, body, &made); st != http.StatusCreated {
		t.Fatalf("make call: %d", st)
	}
	ev := sock.waitFor("the call with the clicked record", func(ev wsEvent) bool {
		return ev.Type == "call" && ev.Call != nil && ev.Call.ID == made.ID
	})
	if len(ev.Call.Matches) != 1 || ev.Call.Matches[0].ID != riley || ev.Call.Matches[0].Name != "Riley Patel" {
		t.Fatalf("matches %+v, want only the clicked Riley Patel", ev.Call.Matches)
	}
	a.clock.Advance(3 * time.Second)
	a.clock.Advance(10 * time.Second)
	a.do(t, "POST", "/api/v1/calls/"+made.ID+"/clear", alex, nil, nil)
	a.wrapUp(t, alex, sock, made.ID)
	sock.waitFor("task", func(ev wsEvent) bool { return ev.Type == "task" && ev.CallID == made.ID })
	tasks := a.Org.Records("Task")
	if len(tasks) != 1 || tasks[0]["WhoId"] != riley {
		t.Fatalf("Tasks %v, want one with WhoId %s", tasks, riley)
	}
}

func TestClickToDialFromAnAccountLogsItAsWhatId(t *testing.T) {
	a := startApp(t, nil)
	alex := a.signIn(t)
	sock := a.connect(t, alex)
	acct := a.Org.Records("Account")[0]["Id"].(string)
	var made struct{ ID string }
	body := `{"number":"+14155550199","record":{"recordId":"` + acct + `","name":"Acme"}}`
	if st := a.do(t, "POST", "/api/v1/calls", alex, body, &made); st != http.StatusCreated {
		t.Fatalf("make call: %d", st)
	}
	ev := sock.waitFor("the call", func(ev wsEvent) bool { return ev.Type == "call" && ev.Call != nil && ev.Call.ID == made.ID })
	if len(ev.Call.Matches) != 1 || ev.Call.Matches[0].Type != "Account" {
		t.Fatalf("matches %+v, want the Account (type from the 001 key prefix)", ev.Call.Matches)
	}
	a.do(t, "POST", "/api/v1/calls/"+made.ID+"/clear", alex, nil, nil)
	sock.waitFor("task", func(ev wsEvent) bool { return ev.Type == "task" && ev.CallID == made.ID })
	tasks := a.Org.Records("Task")
	if len(tasks) != 1 || tasks[0]["WhatId"] != acct || tasks[0]["WhoId"] != nil {
		t.Fatalf("Task WhoId %v WhatId %v, want WhatId %s only", tasks[0]["WhoId"], tasks[0]["WhatId"], acct)
	}
}

func TestClickToDialFromClassicWithoutANameTakesItFromSalesforce(t *testing.T) {
	a := startApp(t, nil)
	alex := a.signIn(t)
	sock := a.connect(t, alex)
	var sam string
	for _, c := range a.Org.Records("Contact") {
		if c["FirstName"] == "Sam" {
			sam = c["Id"].(string)
		}
	}
	var made struct{ ID string }
	// Classic's onClickToDial: objectId (often the 15-character id), no record name.
	body := `{"number":"4155550142","record":{"recordId":"` + sam[:15] + `"}}`
	if st := a.do(t, "POST", "/api/v1/calls", alex, body, &made); st != http.StatusCreated {
		t.Fatalf("make call: %d", st)
	}
	ev := sock.waitFor("the call", func(ev wsEvent) bool { return ev.Type == "call" && ev.Call != nil && ev.Call.ID == made.ID })
	if len(ev.Call.Matches) != 1 || ev.Call.Matches[0].ID != sam || ev.Call.Matches[0].Name != "Sam Patel" || ev.Call.Matches[0].Type != "Contact" {
		t.Fatalf("matches %+v, want only Sam Patel (%s)", ev.Call.Matches, sam)
	}
}
