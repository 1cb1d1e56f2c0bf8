package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

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

// TestCallLogsSurviveSalesforceFaultsAndARedisRestart runs calls through the
// simulator while Salesforce fails in the ways the issue lists (503 bursts,
// an expired session, REQUEST_LIMIT_EXCEEDED, UNABLE_TO_LOCK_ROW, answers
// lost after the write was applied) and Redis (with AOF) is killed and
// restarted; after recovery every call has exactly one Task with its notes
// and duration.
func TestCallLogsSurviveSalesforceFaultsAndARedisRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("fault suite: not in -short")
	}
	rd := startAOFRedis(t)
	a := startApp(t, map[string]string{"SWITCHBOARD_REDIS_URL": rd.url()})
	ctx := context.Background()
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
	// 200 calls in make test (with the race detector); set
	// SWITCHBOARD_FAULT_CALLS=1000 for the full run.
	calls := 200
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
	ids := make([]string, 0, calls)
	for c := 0; c < calls; c++ {
		if f, ok := faults[c]; ok {
			a.Org.Inject(f)
		}
		if c == calls/2 {
			rd.restart() // outbox, calls and sessions come back from the AOF
		}
		id, err := a.Sim.PlaceCall(ctx, sim.ExternalCall{From: fmt.Sprintf("+1415%07d", 5550000+c%140), To: "1001", DNIS: fakeorg.CampaignDNIS})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		waitStored(t, a, id, func(r adapter.CallRecord) bool { return r.State == "alerting" })
		if err := a.Sim.Answer(ctx, "1001", id); err != nil {
			t.Fatal(err)
		}
		waitStored(t, a, id, func(r adapter.CallRecord) bool { return r.State == "connected" })
		notes := "notes of " + id
		if _, err := a.Service.UpdateLog(ctx, alex, id, adapter.LogInput{Notes: &notes}); err != nil {
			t.Fatal(err)
		}
		a.clock.Advance(time.Duration(5+c%7) * time.Second)
		if err := a.Sim.Clear(ctx, "1001", id); err != nil {
			t.Fatal(err)
		}
		waitStored(t, a, id, func(r adapter.CallRecord) bool { return r.PostCall })
		if _, err := a.Service.WrapUp(ctx, alex, id, "save"); err != nil {
			t.Fatal(err)
		}
	}
	// Recovery: Salesforce is back; time passes beyond every back-off.
	a.Org.ClearFaults()
	for round := 0; round < 30; round++ {
		n, err := a.Store.OutboxLen(ctx)
		if err == nil && n == 0 && len(a.Org.Records("Task")) >= calls {
			break
		}
		a.clock.Advance(20 * time.Minute)
		a.Service.FlushOutbox(ctx)
	}
	tasks := a.Org.Records("Task")
	byCall := map[string][]map[string]any{}
	for _, tk := range tasks {
		co, _ := tk["CallObject"].(string)
		byCall[co] = append(byCall[co], tk)
	}
	var missing, dup int
	for c, id := range ids {
		got := byCall[id]
		switch {
		case len(got) == 0:
			missing++
		case len(got) > 1:
			dup++
		default:
			desc, _ := got[0]["Description"].(string)
			if !strings.Contains(desc, "notes of "+id) {
				t.Errorf("call %s: Description %q lacks the notes", id, desc)
			}
			if d := fmt.Sprint(got[0]["CallDurationInSeconds"]); d != fmt.Sprint(5+c%7) {
				t.Errorf("call %s: duration %s, want %d", id, d, 5+c%7)
			}
		}
	}
	dead, _, _ := a.Store.DeadLetters(ctx, 10)
	t.Logf("%d calls: %d Tasks, %d missing, %d duplicated, %d dead letters; counters %+v", calls, len(tasks), missing, dup, len(dead), a.Service.OutboxCounts())
	for _, d := range dead {
		t.Logf("dead letter %s: %s %s", d.ID, d.Code, d.Reason)
	}
	if missing != 0 || dup != 0 || len(tasks) != calls || len(dead) != 0 {
		t.Fatalf("want exactly one Task per call and no dead letter")
	}
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
