package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/pbx/sim"
	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
)

// aofRedis is a redis-server with AOF on a free loopback port, started and
// stopped by the test.
type aofRedis struct {
	t    *testing.T
	dir  string
	port int
	cmd  *exec.Cmd
}

func startAOFRedis(t *testing.T) *aofRedis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("no redis-server on PATH (scripts/test-deps.sh installs it)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r := &aofRedis{t: t, dir: t.TempDir(), port: port}
	_ = bin
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *aofRedis) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *aofRedis) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--port", fmt.Sprint(r.port), "--bind", "127.0.0.1", "--dir", r.dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "")
	r.cmd.Stdout, r.cmd.Stderr = nil, nil
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port)})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			r.t.Fatal("redis-server with AOF did not start")
		}
		runtime.Gosched()
	}
}

// restart stops the server abruptly (SIGKILL: no save on exit) and starts
// it again on the same files: only the AOF keeps the data.
func (r *aofRedis) restart() {
	r.t.Helper()
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.start()
}

func (r *aofRedis) stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	}
	_ = os.RemoveAll(filepath.Join(r.dir, "appendonlydir"))
}

// faultStale is how long a dead instance's outbox jobs stay idle before a
// live one takes them over in the fault suite (1 min in production).
const faultStale = 2 * time.Second

// TestCallLogsSurviveSalesforceFaultsAndARedisRestart runs calls through
// one simulator watched by two instances on one Redis (with AOF) while
// Salesforce fails in the ways the issue lists (503 bursts, an expired
// session, REQUEST_LIMIT_EXCEEDED, UNABLE_TO_LOCK_ROW, answers lost after
// the write was applied), an instance is killed between a Task write and
// its acknowledgement, the instance that owns the agent's device is killed
// mid-call (the other takes the device over), and Redis is killed and
// restarted; after recovery every call has exactly one Task with its
// notes, disposition and duration.
func TestCallLogsSurviveSalesforceFaultsAndARedisRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("fault suite: not in -short")
	}
	rd := startAOFRedis(t)
	cl := startCluster(t, map[string]string{
		"SWITCHBOARD_REDIS_URL":    rd.url(),
		"SWITCHBOARD_LEASE_TTL":    "2s",
		"SWITCHBOARD_SESSION_KEYS": testSessionKeys,
	})
	a := cl.any()
	ctx := context.Background()
	alex := cl.agentOn1001()
	// 1,000 calls unless SWITCHBOARD_FAULT_CALLS says otherwise (make
	// test runs the full size once without the race detector and a
	// smaller one with it: Makefile).
	calls := 1000
	if n, err := strconv.Atoi(os.Getenv("SWITCHBOARD_FAULT_CALLS")); err == nil && n > 0 {
		calls = n
	}
	composite := "/services/data/v67.0/composite"
	faults := map[int]fakeorg.Fault{
		10:  {Kind: fakeorg.Unavailable503, Count: 3, PathPrefix: composite},
		30:  {Kind: fakeorg.LostAnswer, Count: 2, PathPrefix: composite, Method: "POST"},
		50:  {Kind: fakeorg.ExpiredSession, Count: 1},
		70:  {Kind: fakeorg.LockRow, Count: 2, PathPrefix: composite},
		90:  {Kind: fakeorg.LimitExceeded, Count: 1, PathPrefix: composite},
		130: {Kind: fakeorg.LostAnswer, Count: 2, PathPrefix: composite},
		150: {Kind: fakeorg.Unavailable503, Count: 5},
		170: {Kind: fakeorg.LostAnswer, Count: 3, PathPrefix: composite, Method: "POST"},
	}
	killAfterSend, killOwner := calls*3/10, calls*7/10
	var want []wantLog
	for c := 0; c < calls; c++ {
		if f, ok := faults[c]; ok {
			a.Org.Inject(f)
		}
		if c == calls/2 {
			rd.restart() // outbox, calls and sessions come back from the AOF
		}
		switch c {
		case killAfterSend:
			// The worker that sends the next Task create dies right
			// after Salesforce applied it: no acknowledgement, no Task
			// id stored, its lock and leases left behind.
			kill := fakeorg.Fault{Kind: fakeorg.LostAnswer, Count: 1, PathPrefix: composite, Method: "POST", Applied: cl.crashSender}
			want = append(want, cl.call(alex, c, callSteps{beforeWrapUp: func() { a.Org.Inject(kill) }}))
			dead := cl.waitCrash()
			t.Logf("call %d: instance %s killed after its Task create was applied, before the acknowledgement", c, dead.Service.Instance)
			cl.waitOwner("1001")
			cl.start() // the orchestrator starts a replacement
		case killOwner:
			want = append(want, cl.killOwnerMidCall(alex, c)...)
		default:
			want = append(want, cl.call(alex, c, callSteps{}))
		}
	}
	// Recovery: Salesforce is back; time passes beyond every back-off and
	// grace period, and (in real time) beyond faultStale for the jobs the
	// killed instances had taken.
	a = cl.any()
	a.Org.ClearFaults()
	deadline := time.Now().Add(2 * time.Minute)
	for round := 0; ; round++ {
		n, err := a.Store.OutboxLen(ctx)
		if err == nil && n == 0 && len(a.Org.Records("Task")) >= len(want) || time.Now().After(deadline) {
			break
		}
		if round < 30 {
			a.clock.Advance(20 * time.Minute)
		} else {
			a.clock.Advance(time.Second) // jobs put back for a second (a lock held by another round)
		}
		a.Service.FlushOutbox(ctx)
		runtime.Gosched()
	}
	tasks := a.Org.Records("Task")
	byCall := map[string][]map[string]any{}
	for _, tk := range tasks {
		co, _ := tk["CallObject"].(string)
		byCall[co] = append(byCall[co], tk)
	}
	var missing, dup int
	for _, w := range want {
		got := byCall[w.id]
		switch {
		case len(got) == 0:
			missing++
			t.Logf("call %d %s: no Task", w.n, w.id)
		case len(got) > 1:
			dup++
			for _, tk := range got {
				t.Logf("call %d %s duplicated: Task %v created %v owner %v duration %v", w.n, w.id, tk["Id"], tk["CreatedDate"], tk["OwnerId"], tk["CallDurationInSeconds"])
			}
		default:
			desc, _ := got[0]["Description"].(string)
			if !strings.Contains(desc, "notes of "+w.id) {
				t.Errorf("call %s: Description %q lacks the notes", w.id, desc)
			}
			if d := fmt.Sprint(got[0]["CallDurationInSeconds"]); d != fmt.Sprint(w.seconds) {
				t.Errorf("call %s: duration %s, want %d", w.id, d, w.seconds)
			}
			if got[0]["CallDisposition"] != w.disposition {
				t.Errorf("call %s: CallDisposition %v, want %s", w.id, got[0]["CallDisposition"], w.disposition)
			}
		}
	}
	dead, _, _ := a.Store.DeadLetters(ctx, 10)
	counts := cl.counts()
	t.Logf("%d calls on %d instances (%d killed): %d Tasks, %d missing, %d duplicated, %d dead letters; counters %+v",
		len(want), len(cl.all), len(cl.all)-len(cl.live), len(tasks), missing, dup, len(dead), counts)
	for _, d := range dead {
		t.Logf("dead letter %s: %s %s", d.ID, d.Code, d.Reason)
	}
	if missing != 0 || dup != 0 || len(tasks) != len(want) || len(dead) != 0 {
		t.Fatalf("want exactly one Task per call and no dead letter")
	}
}

// wantLog is what a call's Task must say.
type wantLog struct {
	n           int
	id          string
	seconds     int
	disposition string
}

// cluster is several instances of the program on one Redis prefix, one
// simulator, one fake org and one clock, as replicas behind a load
// balancer; any of them can be killed.
type cluster struct {
	t   *testing.T
	env map[string]string
	// stale is the outbox stale time of the instances started next.
	stale   time.Duration
	mu      sync.Mutex
	all     []*app
	live    []*app
	crashed chan *app
}

// startCluster starts two instances.
func startCluster(t *testing.T, env map[string]string) *cluster {
	t.Helper()
	cl := &cluster{t: t, env: env, stale: faultStale, crashed: make(chan *app, 4)}
	first := startAppWith(t, env, func(m *Main) { m.outboxStale = cl.stale })
	cl.env["SWITCHBOARD_REDIS_PREFIX"] = first.Config.RedisPrefix
	cl.all, cl.live = []*app{first}, []*app{first}
	cl.start()
	return cl
}

// start starts one more instance.
func (cl *cluster) start() *app {
	cl.t.Helper()
	first := cl.all[0]
	a := startAppWith(cl.t, cl.env, func(m *Main) {
		m.Sim, m.Org, m.demoKey, m.Clock = first.Sim, first.Org, first.demoKey, first.clock
		m.outboxStale = cl.stale
	})
	cl.mu.Lock()
	cl.all, cl.live = append(cl.all, a), append(cl.live, a)
	cl.mu.Unlock()
	return a
}

// any returns a live instance (the agent's requests may reach any).
func (cl *cluster) any() *app {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.live[0]
}

// crash kills a as kill -9 would, as far as anything outside it can tell:
// its Redis connections drop (no lease released, no outbox entry
// acknowledged, no Task id stored), its listener and every connection
// through it close at once (answers in flight are lost; its Salesforce
// requests go through its own /demo-org mount, so they stop too), and its
// work stops without any shutdown step (Close is not called).
func (cl *cluster) crash(a *app) {
	cl.mu.Lock()
	cl.live = slices.DeleteFunc(cl.live, func(x *app) bool { return x == a })
	cl.mu.Unlock()
	_ = a.rdb.Close()
	a.cancel()
	_ = a.Main.http.Close()
	cl.crashed <- a
}

// crashSender is a fakeorg Fault's Applied hook: it kills the instance
// that sent the request (its Host is the instance's own address).
func (cl *cluster) crashSender(r *http.Request) {
	cl.mu.Lock()
	var sender *app
	for _, a := range cl.live {
		if strings.TrimPrefix(a.URL, "http://") == r.Host {
			sender = a
		}
	}
	cl.mu.Unlock()
	if sender != nil {
		cl.crash(sender)
	}
}

func (cl *cluster) waitCrash() *app {
	cl.t.Helper()
	select {
	case a := <-cl.crashed:
		return a
	case <-time.After(30 * time.Second):
		cl.t.Fatal("no instance was killed")
		return nil
	}
}

// owner returns the live instance that handles ext's events, or nil.
func (cl *cluster) owner(ext string) *app {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for _, a := range cl.live {
		if a.Service.Owns(ext) {
			return a
		}
	}
	return nil
}

// waitOwner waits until a live instance handles ext (a dead owner's lease
// lapses after SWITCHBOARD_LEASE_TTL) and reports how long it took.
func (cl *cluster) waitOwner(ext string) *app {
	cl.t.Helper()
	start := time.Now()
	deadline := time.After(30 * time.Second)
	poll := time.NewTicker(10 * time.Millisecond) // the lease lapses in Redis time
	defer poll.Stop()
	for {
		if a := cl.owner(ext); a != nil {
			cl.t.Logf("device %s handled by instance %s after %v", ext, a.Service.Instance, time.Since(start).Round(time.Millisecond))
			return a
		}
		select {
		case <-deadline:
			cl.t.Fatalf("no live instance took device %s over", ext)
		case <-poll.C:
		}
	}
}

func (cl *cluster) counts() adapter.OutboxCounts {
	var sum adapter.OutboxCounts
	for _, a := range cl.all {
		c := a.Service.OutboxCounts()
		sum.Written += c.Written
		sum.Retried += c.Retried
		sum.Repaired += c.Repaired
		sum.DeadLettered += c.DeadLettered
	}
	return sum
}

// agentOn1001 stores the demo agent as the user of phone 1001.
func (cl *cluster) agentOn1001() adapter.Agent {
	t := cl.t
	t.Helper()
	ctx := context.Background()
	a := cl.any()
	var alex adapter.Agent
	for _, u := range a.Org.Records("User") {
		if u["Username"] == fakeorg.AgentUsername {
			alex = adapter.Agent{UserID: u["Id"].(string), Username: fakeorg.AgentUsername, Name: "Alex Agent", Extension: "1001", HomeExtension: "1001"}
		}
	}
	if err := a.Store.PutAgent(ctx, alex); err != nil {
		t.Fatal(err)
	}
	if err := a.Store.SetDeviceUser(ctx, "1001", alex.UserID); err != nil {
		t.Fatal(err)
	}
	return alex
}

// callSteps are what a test does at points of a call.
type callSteps struct {
	// during runs while the call is connected (it may kill instances).
	during func(id string)
	// beforeWrapUp runs after the call ended, before the agent wraps up.
	beforeWrapUp func()
}

// call runs call n on the agent's phone 1001: it rings, is answered, gets
// notes and a disposition, lasts 5-11 s, ends and is wrapped up.
func (cl *cluster) call(alex adapter.Agent, n int, steps callSteps) wantLog {
	t := cl.t
	t.Helper()
	ctx := context.Background()
	a := cl.any()
	id, err := a.Sim.PlaceCall(ctx, sim.ExternalCall{From: fmt.Sprintf("+1415%07d", 5550000+n%140), To: "1001", DNIS: fakeorg.CampaignDNIS})
	if err != nil {
		t.Fatal(err)
	}
	w := wantLog{n: n, id: id, seconds: 5 + n%7, disposition: []string{"Resolved", "Callback", "Escalated"}[n%3]}
	waitStored(t, a, id, func(r adapter.CallRecord) bool { return r.State == "alerting" })
	if err := a.Sim.Answer(ctx, "1001", id); err != nil {
		t.Fatal(err)
	}
	waitStored(t, a, id, func(r adapter.CallRecord) bool { return r.State == "connected" })
	notes := "notes of " + id
	if _, err := a.Service.UpdateLog(ctx, alex, id, adapter.LogInput{Notes: &notes, Disposition: &w.disposition}); err != nil {
		t.Fatal(err)
	}
	if steps.during != nil {
		steps.during(id)
		a = cl.any()
	}
	a.clock.Advance(time.Duration(w.seconds) * time.Second)
	if err := a.Sim.Clear(ctx, "1001", id); err != nil {
		t.Fatal(err)
	}
	waitStored(t, a, id, func(r adapter.CallRecord) bool { return r.PostCall })
	if steps.beforeWrapUp != nil {
		steps.beforeWrapUp()
	}
	if _, err := a.Service.WrapUp(ctx, alex, id, "save"); err != nil && cl.isLive(a) {
		// (An instance killed by its own outbox after the wrap-up was
		// stored and queued fails the rest of the request: the agent's
		// request did its work.)
		t.Fatal(err)
	}
	return w
}

func (cl *cluster) isLive(a *app) bool {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return slices.Contains(cl.live, a)
}

// killOwnerMidCall kills the instance that handles the agent's phone while
// call n is connected; a call rings while no instance handles the phone.
// The other instance takes the phone over, pushes the ringing call to the
// agent's softphone (connected to it) and handles both calls' ends.
func (cl *cluster) killOwnerMidCall(alex adapter.Agent, n int) []wantLog {
	t := cl.t
	t.Helper()
	ctx := context.Background()
	owner := cl.owner("1001")
	if owner == nil {
		t.Fatal("no instance handles 1001")
	}
	var survivor *app
	cl.mu.Lock()
	for _, a := range cl.live {
		if a != owner {
			survivor = a
		}
	}
	cl.mu.Unlock()
	pushes := survivor.ringingPushes(t, survivor.signIn(t))
	var gapCall wantLog
	w := cl.call(alex, n, callSteps{during: func(id string) {
		cl.crash(owner)
		<-cl.crashed
		t.Logf("call %d: instance %s, which handled 1001, killed mid-call", n, owner.Service.Instance)
		// A call that starts ringing while nobody handles the phone.
		gid, err := survivor.Sim.PlaceCall(ctx, sim.ExternalCall{From: "+14155550123", To: "1001", DNIS: fakeorg.CampaignDNIS})
		if err != nil {
			t.Fatal(err)
		}
		gapCall = wantLog{n: -1, id: gid, seconds: 13, disposition: "Callback"}
		cl.waitOwner("1001")
		select {
		case <-pushes(gid):
		case <-time.After(30 * time.Second):
			t.Fatalf("call %s rang during the takeover: no ringing push reached the agent", gid)
		}
	}})
	// The call that rang during the takeover is answered on the survivor.
	a := survivor
	if err := a.Sim.Answer(ctx, "1001", gapCall.id); err != nil {
		t.Fatal(err)
	}
	waitStored(t, a, gapCall.id, func(r adapter.CallRecord) bool { return r.State == "connected" })
	notes := "notes of " + gapCall.id
	if _, err := a.Service.UpdateLog(ctx, alex, gapCall.id, adapter.LogInput{Notes: &notes, Disposition: &gapCall.disposition}); err != nil {
		t.Fatal(err)
	}
	a.clock.Advance(13 * time.Second)
	if err := a.Sim.Clear(ctx, "1001", gapCall.id); err != nil {
		t.Fatal(err)
	}
	waitStored(t, a, gapCall.id, func(r adapter.CallRecord) bool { return r.PostCall })
	if _, err := a.Service.WrapUp(ctx, alex, gapCall.id, "save"); err != nil {
		t.Fatal(err)
	}
	cl.start()
	return []wantLog{w, gapCall}
}

// ringingPushes reads the agent's socket on a in the background; the
// function it returns gives a channel closed once a ringing push of the
// call has arrived.
func (a *app) ringingPushes(t *testing.T, token string) func(id string) <-chan struct{} {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(a.URL, "http")+"/api/v1/ws", nil)
	if err != nil {
		t.Fatalf("dial socket: %v", err)
	}
	conn.SetReadLimit(1 << 22)
	t.Cleanup(func() { cancel(); conn.CloseNow() })
	b, _ := json.Marshal(map[string]string{"type": "auth", "token": token})
	if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatalf("auth: %v", err)
	}
	var mu sync.Mutex
	rang := map[string]chan struct{}{}
	ch := func(id string) chan struct{} {
		mu.Lock()
		defer mu.Unlock()
		if rang[id] == nil {
			rang[id] = make(chan struct{})
		}
		return rang[id]
	}
	go func() {
		seen := map[string]bool{}
		for {
			_, msg, err := conn.Read(ctx)
			if err != nil {
				return
			}
			var ev wsEvent
			if json.Unmarshal(msg, &ev) == nil && ev.Type == "call" && ev.Call != nil && ev.Call.State == "alerting" && !seen[ev.Call.ID] {
				seen[ev.Call.ID] = true
				close(ch(ev.Call.ID))
			}
		}
	}()
	return func(id string) <-chan struct{} { return ch(id) }
}

// waitStored waits until the stored call satisfies ok.
func waitStored(t *testing.T, a *app, id string, ok func(adapter.CallRecord) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := a.Store.Call(context.Background(), "1001", id)
		if err == nil && ok(r) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("call %s: state not reached (%+v, %v)", id, r, err)
		}
		runtime.Gosched()
	}
}

// TestAGraceWriteAfterAWrapUpWriteWhoseInstanceDiedFindsTheTask: the
// instance writing a call's log at wrap-up is killed after Salesforce
// created the Task, before the outbox entry is acknowledged; the server's
// grace-period write of the same call comes due before anyone takes the
// dead instance's entry over. It must find the Task by CallObject and
// update it, and so must the taken-over entry later: one Task.
func TestAGraceWriteAfterAWrapUpWriteWhoseInstanceDiedFindsTheTask(t *testing.T) {
	rd := startAOFRedis(t)
	cl := startCluster(t, map[string]string{"SWITCHBOARD_REDIS_URL": rd.url(), "SWITCHBOARD_SESSION_KEYS": testSessionKeys})
	cl.stale = time.Hour // nobody takes the dead instance's entry over yet
	alex := cl.agentOn1001()
	ctx := context.Background()
	kill := fakeorg.Fault{Kind: fakeorg.LostAnswer, Count: 1, PathPrefix: "/services/data/v67.0/composite", Method: "POST", Applied: cl.crashSender}
	w := cl.call(alex, 0, callSteps{beforeWrapUp: func() { cl.any().Org.Inject(kill) }})
	cl.waitCrash()

	survivor := cl.any()
	graced := make(chan error, 10)
	survivor.Service.ObserveOutbox(func(j adapter.TaskJob, err error) {
		if j.Grace && j.CallID == w.id {
			graced <- err
		}
	})
	survivor.clock.Advance(11 * time.Minute) // the grace period, and the dead round's locks, are over
	survivor.Service.FlushOutbox(ctx)
	select {
	case err := <-graced:
		if err != nil {
			t.Fatalf("grace-period write: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the grace-period write was not attempted")
	}
	if n := len(byCallObject(survivor.Org.Records("Task"))[w.id]); n != 1 {
		t.Fatalf("after the grace-period write: %d Tasks for the call, want 1", n)
	}

	// An instance that takes stale entries over at once finds the Task too.
	cl.stale = 100 * time.Millisecond
	taker := cl.start()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := taker.Store.OutboxLen(ctx)
		if err == nil && n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox not empty: %d jobs (%v)", n, err)
		}
		// A job another round of the taker held is put back for a second
		// later (fake time), to be dropped then.
		taker.clock.Advance(2 * time.Second)
		taker.Service.FlushOutbox(ctx)
		runtime.Gosched()
	}
	got := byCallObject(taker.Org.Records("Task"))[w.id]
	if len(got) != 1 {
		t.Fatalf("%d Tasks for the call, want 1", len(got))
	}
	if desc, _ := got[0]["Description"].(string); !strings.Contains(desc, "notes of "+w.id) || got[0]["CallDisposition"] != w.disposition {
		t.Errorf("Task %v: want the notes and disposition %s", got[0], w.disposition)
	}
}

// byCallObject groups Tasks by CallObject.
func byCallObject(tasks []map[string]any) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	for _, tk := range tasks {
		co, _ := tk["CallObject"].(string)
		out[co] = append(out[co], tk)
	}
	return out
}
