package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cti/switchboard/pbx/sim"
)

// testSimToken guards the shared simulator in tests.
var testSimToken = strings.Repeat("t", 40)

// startSimServer runs `switchboard sim` in this process on a loopback
// port, with the token testSimToken and a fake clock; instances reach it
// with simEnv(srv).
func startSimServer(t *testing.T, extensions int) *SimServer {
	t.Helper()
	env := map[string]string{"SWITCHBOARD_SIM_API_TOKEN": testSimToken, "SWITCHBOARD_LOG_LEVEL": "warn",
		"SWITCHBOARD_SIM_EXTENSIONS": fmt.Sprint(extensions)}
	logs := &syncBuffer{}
	srv, err := NewSimServer([]string{"-listen", "127.0.0.1:0"}, func(k string) string { return env[k] }, logs)
	if err != nil {
		t.Fatalf("NewSimServer: %v", err)
	}
	srv.Clock = sim.NewFakeClock(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	if err := srv.Start(context.Background()); err != nil {
		t.Fatalf("sim server: %v", err)
	}
	t.Cleanup(func() {
		srv.Close()
		if t.Failed() {
			t.Logf("simulator logs:\n%s", logs.String())
		}
	})
	return srv
}

// simEnv points an instance at the shared simulator srv.
func simEnv(srv *SimServer, env map[string]string) map[string]string {
	out := map[string]string{"SWITCHBOARD_SIM_URL": srv.URL, "SWITCHBOARD_SIM_API_TOKEN": testSimToken, "SWITCHBOARD_SESSION_KEYS": testSessionKeys}
	for k, v := range env {
		out[k] = v
	}
	return out
}

// instanceOnSim starts an instance on the shared simulator srv; with first
// set, on first's Redis keys and demo org (a second replica).
func instanceOnSim(t *testing.T, srv *SimServer, first *app, env map[string]string) *app {
	t.Helper()
	env = simEnv(srv, env)
	if first == nil {
		return startAppWith(t, env, func(m *Main) { m.Clock = srv.Clock })
	}
	env["SWITCHBOARD_REDIS_PREFIX"] = first.Config.RedisPrefix
	return startAppWith(t, env, func(m *Main) {
		m.Org, m.demoKey, m.Clock = first.Org, first.demoKey, srv.Clock
	})
}

func TestTwoInstancesShareOneSimulatorProcess(t *testing.T) {
	srv := startSimServer(t, 0)
	a := instanceOnSim(t, srv, nil, nil)
	b := instanceOnSim(t, srv, a, nil)
	if a.Sim != nil || b.Sim != nil || a.SimRemote == nil || b.SimRemote == nil {
		t.Fatal("instances built their own simulator instead of using the shared one")
	}
	// Each device is handled by exactly one instance.
	devs, _ := srv.Sim.Devices(context.Background())
	for _, d := range devs {
		if a.Service.Owns(d.Extension) == b.Service.Owns(d.Extension) {
			t.Errorf("device %s: owned by A %v, by B %v; want exactly one", d.Extension, a.Service.Owns(d.Extension), b.Service.Owns(d.Extension))
		}
	}
	for _, in := range []*app{a, b} {
		var ready map[string]any
		if st := in.do(t, "GET", "/readyz", "", nil, &ready); st != http.StatusOK {
			t.Fatalf("readyz: %d %v", st, ready)
		}
	}

	// The agent is on B; the call rings on the shared switch (placed
	// through A's /sim/v1, which forwards to it) and pops once.
	token := b.signIn(t)
	sock := b.connect(t, token)
	id := a.place(t, "+14155550123", "1001")
	if c, ok := srv.Sim.Call(id); !ok || c.Parties[1].Number != "1001" {
		t.Fatalf("call %s is not on the shared simulator: %+v", id, c)
	}
	ring := sock.waitFor("ringing on B", ringing(id))
	if len(ring.Call.Matches) != 1 || ring.Call.Matches[0].Name != "Lucy Hall" {
		t.Fatalf("matches on B: %+v", ring.Call.Matches)
	}
	if st := b.do(t, "POST", "/api/v1/calls/"+id+"/answer", token, nil, nil); st != http.StatusNoContent {
		t.Fatalf("answer through B: %d", st)
	}
	sock.waitFor("answered", func(ev wsEvent) bool {
		return ev.Type == "call" && ev.Call != nil && ev.Call.ID == id && ev.Call.State == "connected"
	})
	if st := a.do(t, "POST", "/api/v1/calls/"+id+"/clear", token, nil, nil); st != http.StatusNoContent {
		t.Fatalf("clear through A: %d", st)
	}
	b.wrapUp(t, token, sock, id)
	sock.waitFor("task", func(ev wsEvent) bool { return ev.Type == "task" && ev.CallID == id })
	if n := len(a.Org.Records("Task")); n != 1 {
		t.Fatalf("%d Tasks for one call, want 1", n)
	}

	// A stops: B takes its devices over, and the next call still rings.
	a.Close()
	next := b.place(t, "+14155550123", "1001")
	sock.waitFor("ringing after A stopped", ringing(next))
}

func TestASecondInstanceWithTheEmbeddedSimulatorRefusesToStart(t *testing.T) {
	first := startApp(t, nil)
	env := map[string]string{
		"SWITCHBOARD_ADDR": "127.0.0.1:0", "SWITCHBOARD_REDIS_URL": first.Config.RedisURL,
		"SWITCHBOARD_REDIS_PREFIX": first.Config.RedisPrefix, "SWITCHBOARD_LOG_LEVEL": "error",
	}
	m, err := NewMain(nil, func(k string) string { return env[k] }, &syncBuffer{})
	if err != nil {
		t.Fatal(err)
	}
	err = m.Start(context.Background())
	m.Close()
	if err == nil || !strings.Contains(err.Error(), "already runs the embedded PBX simulator") || !strings.Contains(err.Error(), "SWITCHBOARD_SIM_URL") {
		t.Fatalf("second embedded instance: Start = %v, want a refusal that says to set SWITCHBOARD_SIM_URL", err)
	}
	// The first one still runs its simulator and is ready.
	if st := first.do(t, "GET", "/readyz", "", nil, nil); st != http.StatusOK {
		t.Fatalf("first instance readyz: %d", st)
	}
}

func TestAnInstanceWhoseSimulatorIsUnreachableIsNotReady(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	a := startAppWith(t, map[string]string{"SWITCHBOARD_SIM_URL": "http://" + addr}, func(m *Main) { m.simWait = time.Millisecond })
	var got struct {
		Failing string `json:"failing"`
		Error   struct{ Code, Message string }
	}
	if st := a.do(t, "GET", "/readyz", "", nil, &got); st != http.StatusServiceUnavailable || got.Failing != "pbx" {
		t.Fatalf("readyz = %d %+v, want 503 failing pbx", st, got)
	}
	if !strings.Contains(a.logs.String(), "link to the simulator at http://"+addr+" is down") {
		t.Fatalf("the log does not say why the PBX is not usable:\n%s", a.logs.String())
	}
}

func TestSimServerSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string // part of the error; "" for none
	}{
		{"loopback needs no token", []string{"-listen", "127.0.0.1:0"}, nil, ""},
		{"localhost needs no token", []string{"-listen", "localhost:7070"}, nil, ""},
		{"all interfaces need a token", []string{"-listen", ":7070"}, nil, "SWITCHBOARD_SIM_API_TOKEN: required when listening on :7070"},
		{"another host needs a token", []string{"-listen", "10.0.0.5:7070"}, nil, "SWITCHBOARD_SIM_API_TOKEN: required"},
		{"a short token is refused", []string{"-listen", ":7070", "-token", "short"}, nil, "at least 32 characters"},
		{"a token from the environment", []string{"-listen", ":7070"}, map[string]string{"SWITCHBOARD_SIM_API_TOKEN": testSimToken}, ""},
		{"a bad listen address", []string{"-listen", "7070"}, nil, "is not host:port"},
		{"a bad device count", []string{"-extensions", "lots"}, nil, "is not a number from 0 to 100000"},
		{"too many devices", nil, map[string]string{"SWITCHBOARD_SIM_EXTENSIONS": "100001"}, "is not a number from 0 to 100000"},
		{"a bad log level", []string{"-log-level", "loud"}, nil, "SWITCHBOARD_LOG_LEVEL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSimServer(tc.args, func(k string) string { return tc.env[k] }, &syncBuffer{})
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("NewSimServer = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSimURLSettings(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"SWITCHBOARD_SIM_URL": "http://127.0.0.1:7070"}, ""},
		{map[string]string{"SWITCHBOARD_SIM_URL": "127.0.0.1:7070"}, "SWITCHBOARD_SIM_URL: \"127.0.0.1:7070\" is not the simulator's base URL"},
		{map[string]string{"SWITCHBOARD_SIM_URL": "http://h:7070/sim/v1"}, "is not the simulator's base URL"},
		{map[string]string{"SWITCHBOARD_SIM_URL": "http://h:7070", "SWITCHBOARD_PBX": "asterisk"}, "SWITCHBOARD_SIM_URL: only with SWITCHBOARD_PBX=sim"},
	} {
		_, err := loadConfig(nil, func(k string) string { return tc.env[k] }, &syncBuffer{})
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%v: %v, want %q", tc.env, err, tc.want)
		}
	}
}

// startSimProcess runs `switchboard sim -listen 127.0.0.1:0` as its own
// process (the test binary as the program) with the token testSimToken and
// extensions extra devices, and returns its URL for SWITCHBOARD_SIM_URL.
// The process is killed when the test ends.
func startSimProcess(t *testing.T, extensions int) (string, *child) {
	t.Helper()
	c := startChild(t, map[string]string{childEnv + "_ARGS": "sim -listen 127.0.0.1:0",
		"SWITCHBOARD_SIM_API_TOKEN": testSimToken, "SWITCHBOARD_SIM_EXTENSIONS": fmt.Sprint(extensions)})
	line := c.waitLine(t, "the simulator listening", "PBX simulator running")
	var l struct{ URL string }
	if err := json.Unmarshal([]byte(line), &l); err != nil || !strings.HasPrefix(l.URL, "http://127.0.0.1:") {
		t.Fatalf("simulator start line %q: no url", line)
	}
	return l.URL, c
}

func TestInstancesUseASimulatorRunningAsItsOwnProcess(t *testing.T) {
	url, _ := startSimProcess(t, 3)
	env := map[string]string{"SWITCHBOARD_SIM_URL": url, "SWITCHBOARD_SIM_API_TOKEN": testSimToken, "SWITCHBOARD_SESSION_KEYS": testSessionKeys}
	a := startApp(t, env)
	env["SWITCHBOARD_REDIS_PREFIX"] = a.Config.RedisPrefix
	b := startAppWith(t, env, func(m *Main) { m.Org, m.demoKey = a.Org, a.demoKey })
	devs, err := b.SimRemote.Devices(context.Background())
	if err != nil || len(devs) != 7+3 {
		t.Fatalf("devices of the shared simulator: %d, %v; want the demo switch's 7 and 3 more", len(devs), err)
	}
	token := b.signIn(t)
	sock := b.connect(t, token)
	id := a.place(t, "+14155550123", "1001") // through A, forwarded to the simulator process
	sock.waitFor("ringing on B", ringing(id))
	// Commands go from B to the simulator process.
	if st := b.do(t, "POST", "/api/v1/calls/"+id+"/answer", token, nil, nil); st != http.StatusNoContent {
		t.Fatalf("answer through B: %d", st)
	}
	sock.waitFor("answered", func(ev wsEvent) bool {
		return ev.Type == "call" && ev.Call != nil && ev.Call.ID == id && ev.Call.State == "connected"
	})
}

func TestDoctorChecksTheLinkToTheSharedSimulator(t *testing.T) {
	srv := startSimServer(t, 2)
	cfg, err := loadConfig(nil, func(k string) string { return simEnv(srv, nil)[k] }, &syncBuffer{})
	if err != nil {
		t.Fatal(err)
	}
	c := checkSharedSim(context.Background(), cfg)
	if !c.ok || !strings.Contains(c.detail, "shared PBX simulator at "+srv.URL+" (9 devices)") {
		t.Fatalf("check = %+v, want ok with the simulator's 9 devices", c)
	}
}

func TestSimAPIThroughAnInstanceSaysWhenTheSharedSimulatorIsDown(t *testing.T) {
	srv := startSimServer(t, 0)
	a := instanceOnSim(t, srv, nil, nil)
	srv.Close()
	var e apiError
	if st := a.do(t, "POST", "/sim/v1/calls", "", map[string]string{"from": "+14155550123", "to": "1001"}, &e); st != http.StatusServiceUnavailable || e.Error.Code != "unavailable" {
		t.Fatalf("placing a call with the simulator down: %d %+v, want 503 unavailable", st, e)
	}
}

// placeOn places a call from outside on the simulator at url (the control
// API, with testSimToken) and returns its id.
func placeOn(t *testing.T, url, from, to string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"from": from, "to": to})
	req := mustRequest(t, "POST", url+"/sim/v1/calls", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+testSimToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("place call on %s: %v", url, err)
	}
	defer resp.Body.Close()
	var out struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("place call on %s: %d %v", url, resp.StatusCode, err)
	}
	return out.ID
}

func TestAnInstanceFollowsTheSimulatorProcessThroughARestart(t *testing.T) {
	url, first := startSimProcess(t, 0)
	a := startApp(t, simEnv(&SimServer{URL: url}, nil))
	token := a.signIn(t)
	sock := a.connect(t, token)
	before := placeOn(t, url, "+14155550123", "1001")
	sock.waitFor("ringing before the restart", ringing(before))

	// The simulator process dies and comes back on the same address,
	// without the call; a new call rings there.
	_ = first.cmd.Process.Kill()
	<-first.done
	port := url[strings.LastIndex(url, ":")+1:]
	second := startChild(t, map[string]string{childEnv + "_ARGS": "sim -listen 127.0.0.1:" + port, "SWITCHBOARD_SIM_API_TOKEN": testSimToken})
	second.waitLine(t, "the simulator listening again", "PBX simulator running")
	after := placeOn(t, url, "+14155550123", "1001")
	if after == before { // both processes drew the same random call id prefix
		after = placeOn(t, url, "+14155550123", "1001")
	}

	// After its reconnect and resync the instance ends the lost call and
	// rings the new one.
	ended, rang := false, false
	for !(ended && rang) {
		ev := sock.next()
		if ev.Type == "call_ended" && ev.Call != nil && ev.Call.ID == before {
			ended = true
		}
		if ev.Type == "call" && ev.Call != nil && ev.Call.ID == after && ev.Call.State == "alerting" {
			rang = true
		}
	}
	if st := a.do(t, "GET", "/readyz", "", nil, nil); st != http.StatusOK {
		t.Fatalf("readyz after the resync: %d", st)
	}
}
