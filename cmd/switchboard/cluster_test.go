package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/adapter/httpapi"
	"github.com/switchboard-cti/switchboard/adapter/redisstore"
	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
)

// The acceptance test of issue 15's "many instances": three processes of
// the program on a real Redis Cluster (scripts/redis-cluster.sh), sharing
// one PBX (the simulator as its own process, `switchboard sim`) and one
// Salesforce org (the fake org over TLS, in this process); agents' sockets
// spread over the three; one instance killed (SIGKILL) while calls ring.
// Every call must still ring on its agent's softphone, be popped exactly
// once (one granted pop claim, whatever sockets and reconnections) and be
// logged exactly once (one Task per call in the org).
func TestThreeInstancesOnRedisClusterPopAndLogEveryCallOnceWhenOneIsKilled(t *testing.T) {
	redisURL := testClusterURL(t)
	const agents, instances = 6, 3
	prefix := fmt.Sprintf("%scluster:%d:", testPrefix, time.Now().UnixNano())
	t.Cleanup(func() { deleteKeys(t, redisURL, prefix) }) // last: after every process is gone

	simURL, _ := startSimProcess(t, agents) // extensions 100000..100005
	org, orgEnv := startSharedOrg(t)

	// Agents, as a sign-in leaves them (the load generator's way): a
	// profile, a session, the device, settings that log a call as it
	// ends (no wrap-up).
	rdb, err := redisstore.NewClient(redisURL, "")
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	store := redisstore.New(rdb, prefix, time.Now)
	keys, err := sessionKeys(Config{SessionKeys: testSessionKeys})
	if err != nil {
		t.Fatal(err)
	}
	issuer := &httpapi.TokenIssuer{Keys: keys, TTL: time.Hour, Issuer: "switchboard", Audience: "switchboard-softphone", Now: time.Now}
	settings := adapter.DefaultSettings()
	settings.AutoSaveNotes = true
	ctx := context.Background()
	type agentInfo struct{ ext, uid, token string }
	ags := make([]agentInfo, agents)
	for i := range ags {
		ext := strconv.Itoa(100000 + i)
		uid := org.AddUser(fakeorg.User{Username: fmt.Sprintf("agent%d@cluster.test", i), FirstName: "Agent", LastName: ext, Extension: ext})
		sid := adapter.NewSessionID()
		for _, err := range []error{
			store.PutAgent(ctx, adapter.Agent{UserID: uid, Username: fmt.Sprintf("agent%d@cluster.test", i), Name: "Agent " + ext, Extension: ext, HomeExtension: ext, Kind: pbx.KindRegular}),
			store.PutSession(ctx, sid, uid, time.Hour), store.SetDeviceUser(ctx, ext, uid), store.PutSettings(ctx, uid, settings),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		tok, _, err := issuer.Issue(uid, sid)
		if err != nil {
			t.Fatal(err)
		}
		ags[i] = agentInfo{ext, uid, tok}
	}

	// Three instances, each its own process of the program.
	urls := make([]string, instances)
	procs := make([]*child, instances)
	for i := range procs {
		urls[i] = "http://" + freeLoopbackAddr(t)
		env := map[string]string{
			"SWITCHBOARD_ADDR": strings.TrimPrefix(urls[i], "http://"), "SWITCHBOARD_PUBLIC_URL": urls[i],
			"SWITCHBOARD_REDIS_URL": redisURL, "SWITCHBOARD_REDIS_PREFIX": prefix,
			"SWITCHBOARD_SIM_URL": simURL, "SWITCHBOARD_SIM_API_TOKEN": testSimToken,
			"SWITCHBOARD_SESSION_KEYS": testSessionKeys, "SWITCHBOARD_OUTBOX_LINGER": "0s",
			"SWITCHBOARD_LEASE_TTL": "2s", "SWITCHBOARD_LOG_LEVEL": "info",
		}
		for k, v := range orgEnv {
			env[k] = v
		}
		procs[i] = startChild(t, env)
	}
	names := map[string]int{} // instance name (its leases' owner) -> index
	for i, p := range procs {
		line := p.waitLine(t, fmt.Sprintf("instance %d running", i), "Switchboard running")
		var l struct{ Instance string }
		if err := json.Unmarshal([]byte(line), &l); err != nil || l.Instance == "" {
			t.Fatalf("instance %d start line %q: no instance name", i, line)
		}
		names[l.Instance] = i
	}
	// The instance that handles the most agents' devices (each device's
	// events are handled by the one holding its lease) is the one to kill.
	owned := make([]int, instances)
	for _, a := range ags {
		owner, err := rdb.Get(ctx, prefix+redisstore.SchemaVersion+":{lease}:monitor:"+a.ext).Result()
		if err != nil {
			t.Fatalf("lease of %s: %v", a.ext, err)
		}
		owned[names[owner]]++
	}
	victim := 0
	for i, n := range owned {
		if n > owned[victim] {
			victim = i
		}
	}
	t.Logf("agents' devices handled per instance: %v; instance %d is killed in round 2", owned, victim)
	survivor := (victim + 1) % instances
	defer func() {
		if t.Failed() {
			for i, p := range procs {
				t.Logf("instance %d logs:\n%s", i, strings.Join(p.all(), "\n"))
			}
		}
	}()

	// Agent i's softphone is on instance i%3.
	socks := make([]*clusterSocket, agents)
	for i, a := range ags {
		socks[i] = dialClusterSocket(t, urls[i%instances], a.token)
	}
	pops := map[string]int{} // call id -> pop claims granted
	var calls []string
	callAgent := map[string]int{}
	// ring places a call to every agent and waits until each softphone
	// shows it ringing with its lookup done, then claims its pop.
	ring := func(round string) []string {
		ids := make([]string, agents)
		for i, a := range ags {
			ids[i] = simCall(t, simURL, "POST", "/sim/v1/calls", map[string]string{"from": "+14155550123", "to": a.ext})
			calls = append(calls, ids[i])
			callAgent[ids[i]] = i
		}
		for i, id := range ids {
			socks[i].waitFor(t, round+" ringing "+id, func(m socketMessage) bool { return m.ringing(id) })
			if socks[i].claim(t, id) {
				pops[id]++
			}
		}
		return ids
	}
	// finish answers each call (through the agent's instance), ends it
	// from the far end and waits for its Task.
	finish := func(round string, ids []string) {
		for i, id := range ids {
			if st := agentRequest(t, socks[i].base, ags[i].token, "POST", "/api/v1/calls/"+id+"/answer"); st != http.StatusNoContent {
				t.Fatalf("%s: answer %s through %s: %d", round, id, socks[i].base, st)
			}
			socks[i].waitFor(t, round+" answered "+id, func(m socketMessage) bool { return m.callState(id, "connected") })
			simCall(t, simURL, "POST", "/sim/v1/calls/"+id+"/hangup", nil)
			socks[i].waitFor(t, round+" Task of "+id, func(m socketMessage) bool { return m.Type == "task" && m.CallID == id })
		}
	}

	// Round 1: all three up.
	finish("round 1", ring("round 1"))

	// Round 2: calls ring, then the instance handling the devices dies.
	// Its agents' softphones reconnect to another instance (as through a
	// load balancer), find the call in their snapshot and claim the pop
	// again: refused, it popped already. Answers, hang-ups and call logs
	// wait for a live instance to take the devices over.
	ids := ring("round 2")
	procs[victim].kill(t)
	for i := range socks {
		if i%instances == victim {
			socks[i] = dialClusterSocket(t, urls[survivor], ags[i].token)
			if !socks[i].snapshotHas(ids[i]) {
				t.Fatalf("round 2: the snapshot on instance %d does not show %s ringing on %s", survivor, ids[i], ags[i].ext)
			}
			if socks[i].claim(t, ids[i]) {
				pops[ids[i]]++
			}
		}
	}
	finish("round 2", ids)

	// Round 3: new calls on the dead instance's devices ring too (their
	// leases lapse and a live instance takes them over).
	finish("round 3", ring("round 3"))

	for _, id := range calls {
		if pops[id] != 1 {
			t.Errorf("call %s to %s: %d pops granted, want exactly 1", id, ags[callAgent[id]].ext, pops[id])
		}
	}
	tasks := map[string]int{}
	for _, r := range org.Records("Task") {
		if c, _ := r["CallObject"].(string); c != "" {
			tasks[c]++
		}
	}
	for _, id := range calls {
		if tasks[id] != 1 {
			t.Errorf("call %s to %s: %d Tasks, want exactly 1", id, ags[callAgent[id]].ext, tasks[id])
		}
	}
	if len(tasks) != len(calls) {
		t.Errorf("%d calls logged, want %d: %v", len(tasks), len(calls), tasks)
	}
}

// startSharedOrg serves the demo org over TLS (as Salesforce is) for
// child processes: the settings that point an instance at it, with the
// certificate trusted through SSL_CERT_FILE.
func startSharedOrg(t *testing.T) (*fakeorg.Org, map[string]string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	org := fakeorg.Demo(fakeorg.Options{ClientID: "cluster-test", PublicKey: &key.PublicKey, DailyLimit: 1 << 30})
	srv := httptest.NewTLSServer(org.Handler())
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	keyFile, certFile := filepath.Join(dir, "key.pem"), filepath.Join(dir, "org.pem")
	if err := os.WriteFile(keyFile, []byte(pemKey(key)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return org, map[string]string{
		"SSL_CERT_FILE": certFile, "SWITCHBOARD_SF_LOGIN_URL": srv.URL, "SWITCHBOARD_SF_CLIENT_ID": "cluster-test",
		"SWITCHBOARD_SF_USERNAME": fakeorg.IntegrationUsername, "SWITCHBOARD_SF_PRIVATE_KEY_FILE": keyFile,
	}
}

// freeLoopbackAddr is a loopback address nothing listens on now.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// kill ends the process at once (SIGKILL: no graceful shutdown, its
// leases are left to lapse).
func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-c.done
}

// simCall sends a request to the shared simulator's control API and
// returns the id it answers with, if any.
func simCall(t *testing.T, simURL, method, path string, body any) string {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, simURL+path, rd)
	req.Header.Set("Authorization", "Bearer "+testSimToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out struct{ ID string }
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d", method, path, resp.StatusCode)
	}
	return out.ID
}

// agentRequest sends an agent API request and returns the status.
func agentRequest(t *testing.T, base, token, method, path string) int {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s%s: %v", method, base, path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// socketMessage is what a softphone socket receives (events, snapshots,
// pop claim answers).
type socketMessage struct {
	Type    string `json:"type"`
	CallID  string `json:"callId"`
	Granted bool   `json:"granted"`
	Call    *struct {
		ID     string `json:"id"`
		State  string `json:"state"`
		Lookup string `json:"lookup"`
	} `json:"call"`
	Calls []struct {
		ID    string `json:"id"`
		State string `json:"state"`
	} `json:"calls"`
}

func (m socketMessage) callState(id, state string) bool {
	return m.Type == "call" && m.Call != nil && m.Call.ID == id && m.Call.State == state
}

// ringing: the call rings with its Salesforce lookup done.
func (m socketMessage) ringing(id string) bool {
	return m.callState(id, "alerting") && m.Call.Lookup != adapter.LookupPending
}

// clusterSocket is a softphone's socket to one instance; a goroutine reads
// every message into msgs.
type clusterSocket struct {
	base     string
	conn     *websocket.Conn
	snapshot socketMessage
	msgs     chan socketMessage
}

func dialClusterSocket(t *testing.T, base, token string) *clusterSocket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/api/v1/ws", nil)
	if err != nil {
		t.Fatalf("dial socket on %s: %v", base, err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	b, _ := json.Marshal(map[string]string{"type": "auth", "token": token})
	if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatalf("auth: %v", err)
	}
	s := &clusterSocket{base: base, conn: conn, msgs: make(chan socketMessage, 1000)}
	_, b, err = conn.Read(ctx)
	if err != nil || json.Unmarshal(b, &s.snapshot) != nil || s.snapshot.Type != "snapshot" {
		t.Fatalf("first message on %s: %s, %v; want a snapshot", base, b, err)
	}
	go func() {
		defer close(s.msgs)
		for {
			_, b, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			var m socketMessage
			if json.Unmarshal(b, &m) == nil {
				s.msgs <- m
			}
		}
	}()
	return s
}

// snapshotHas reports whether the socket's first snapshot shows call id.
func (s *clusterSocket) snapshotHas(id string) bool {
	for _, c := range s.snapshot.Calls {
		if c.ID == id {
			return true
		}
	}
	return false
}

// waitFor reads messages until one satisfies ok (30 s at most: a call on a
// device whose instance died rings once its lease lapses).
func (s *clusterSocket) waitFor(t *testing.T, what string, ok func(socketMessage) bool) socketMessage {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case m, open := <-s.msgs:
			if !open {
				t.Fatalf("%s: the socket on %s closed", what, s.base)
			}
			if ok(m) {
				return m
			}
		case <-deadline.C:
			t.Fatalf("%s: nothing on the socket on %s", what, s.base)
		}
	}
}

// claim asks to pop call id and reports whether it was granted.
func (s *clusterSocket) claim(t *testing.T, id string) bool {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"type": "claim_pop", "callId": id})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.conn.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatalf("claim %s: %v", id, err)
	}
	return s.waitFor(t, "pop claim answer for "+id, func(m socketMessage) bool { return m.Type == "pop_claim" && m.CallID == id }).Granted
}

func TestDoctorReachesAndChecksEveryMasterOnRedisCluster(t *testing.T) {
	u := testClusterURL(t) // the test cluster keeps nothing on disk
	out, _ := runDoctor(t, map[string]string{"SWITCHBOARD_REDIS_URL": u})
	if !strings.Contains(out, "ok    Redis reachable            redis+cluster://") {
		t.Errorf("the cluster is not reported reachable:\n%s", out)
	}
	if !strings.Contains(out, "FAIL  Redis persistent           127.0.0.1:") || !strings.Contains(out, "appendonly yes") {
		t.Errorf("the report does not name a master that keeps nothing on disk:\n%s", out)
	}
}
