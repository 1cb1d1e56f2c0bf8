package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/adapter/httpapi"
	"github.com/switchboard-cti/switchboard/adapter/redisstore"
	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
)

// knownCallers is how many of the first callers are Contacts in the fake
// org (every other one, so half of them match).
const knownCallers = 2000

// loadRun is one run: the child switchboard, the org, the agents.
type loadRun struct {
	o      options
	getenv func(string) string
	errw   io.Writer

	tmp     string
	rdb     redis.UniversalClient
	prefix  string
	store   *redisstore.Store
	org     *org
	child   *exec.Cmd
	exited  chan struct{}
	logPath string
	base    string
	issuer  *httpapi.TokenIssuer
	secret  string
	hc      *http.Client

	agents []*agent
	idle   chan int
	calls  sync.Map // call id -> *callState
	stop   atomic.Bool

	callerMu sync.Mutex
	callers  []string
	nextNew  int

	placed, rung, answered, ended atomic.Int64
	rtt, ringing, matches         samples
	answer, clear                 samples
	errs                          struct{ place, noIdle, answer, clear, socket atomic.Int64 }
}

type agent struct {
	i          int
	ext, uid   string
	token      string
	conn       *websocket.Conn
	disconnect atomic.Bool
}

type callState struct {
	mu                            sync.Mutex
	rung, matched, answered, done bool
}

func newRun(o options, getenv func(string) string, errw io.Writer) (*loadRun, error) {
	r := &loadRun{o: o, getenv: getenv, errw: errw, exited: make(chan struct{})}
	bin, err := findBinary(o.Bin)
	if err != nil {
		return nil, err
	}
	r.tmp, err = os.MkdirTemp("", "switchboard-load-")
	if err != nil {
		return nil, err
	}
	// Any URL the service takes: one server, redis+cluster://, redis+sentinel://.
	e, err := redisstore.ParseURL(o.RedisURL, "")
	if err != nil {
		return nil, fmt.Errorf("-redis-url: %w", err)
	}
	switch e.Topology {
	case redisstore.Cluster:
		e.Cluster.PoolSize = 64
	case redisstore.Sentinel:
		e.Sentinel.PoolSize = 64
	default:
		e.Server.PoolSize = 64
	}
	r.rdb = e.Client()
	pctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := r.rdb.Ping(pctx).Err(); err != nil {
		return nil, fmt.Errorf("redis at %s: %w (set -redis-url)", o.RedisURL, err)
	}
	r.prefix = fmt.Sprintf("sbload:%d:", time.Now().UnixNano())
	r.store = redisstore.New(r.rdb, r.prefix, time.Now)
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	r.secret = hex.EncodeToString(b)
	r.issuer = &httpapi.TokenIssuer{Keys: []httpapi.SigningKey{{ID: "load", Secret: []byte(r.secret)}},
		TTL: 12 * time.Hour, Issuer: "switchboard", Audience: "switchboard-softphone", Now: time.Now}
	r.hc = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxIdleConns: 512}}
	if o.OrgURL == "" {
		if r.org, err = startOrg(o.OrgLatency); err != nil {
			return nil, err
		}
		for n := 0; n < knownCallers; n += 2 {
			r.org.Insert("Contact", map[string]any{"FirstName": "Caller", "LastName": strconv.Itoa(n), "Phone": callerNumber(n)})
		}
	}
	if err := r.startChild(bin); err != nil {
		return nil, err
	}
	return r, nil
}

func findBinary(flagBin string) (string, error) {
	if flagBin != "" {
		return flagBin, nil
	}
	if _, err := os.Stat("bin/switchboard"); err == nil {
		return "bin/switchboard", nil
	}
	if p, err := exec.LookPath("switchboard"); err == nil {
		return p, nil
	}
	return "", errors.New("no switchboard binary: run make build, or pass -bin")
}

// simToken guards the child's simulator API (/sim/v1) for this run; with
// -sim-url it is the shared simulator's token (the child forwards /sim/v1
// to it).
func (r *loadRun) simToken() string {
	if r.o.SimURL != "" {
		return r.o.SimToken
	}
	return "sim-" + r.secret
}

func callerNumber(n int) string { return fmt.Sprintf("+1415%07d", n) }

// lineNumber is the n-th inbound number (DNIS) of the call center.
func lineNumber(n int) string { return fmt.Sprintf("+1800%07d", 5550100+n) }

// startChild starts the switchboard process, logging to a file.
func (r *loadRun) startChild(bin string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	r.base = "http://" + addr
	env := []string{
		"SWITCHBOARD_ADDR=" + addr, "SWITCHBOARD_PUBLIC_URL=" + r.base,
		"SWITCHBOARD_REDIS_URL=" + r.o.RedisURL, "SWITCHBOARD_REDIS_PREFIX=" + r.prefix,
		"SWITCHBOARD_LOG_LEVEL=warn", "SWITCHBOARD_SESSION_KEYS=load:" + r.secret,
		"SWITCHBOARD_SIM_EXTENSIONS=" + strconv.Itoa(r.o.Agents),
		"SWITCHBOARD_SIM_API_TOKEN=" + r.simToken(),
	}
	if r.o.SimURL != "" {
		env = append(env, "SWITCHBOARD_SIM_URL="+r.o.SimURL)
	}
	if r.org != nil {
		keyPath := filepath.Join(r.tmp, "org-key.pem")
		if err := os.WriteFile(keyPath, r.org.KeyPEM, 0o600); err != nil {
			return err
		}
		certPath := filepath.Join(r.tmp, "org-cert.pem")
		if err := os.WriteFile(certPath, r.org.CertPEM, 0o600); err != nil {
			return err
		}
		env = append(env, "SSL_CERT_FILE="+certPath, "SWITCHBOARD_SF_LOGIN_URL="+r.org.URL, "SWITCHBOARD_SF_CLIENT_ID="+loadClientID,
			"SWITCHBOARD_SF_USERNAME="+fakeorg.IntegrationUsername, "SWITCHBOARD_SF_PRIVATE_KEY_FILE="+keyPath,
			"SWITCHBOARD_SF_PRIVATE_KEY=")
	} else {
		env = append(env, "SWITCHBOARD_SF_LOGIN_URL="+r.o.OrgURL)
	}
	r.logPath = filepath.Join(r.tmp, "switchboard.log")
	logf, err := os.Create(r.logPath)
	if err != nil {
		return err
	}
	r.child = exec.Command(bin)
	r.child.Env = append(os.Environ(), env...)
	r.child.Stdout, r.child.Stderr = logf, logf
	if err := r.child.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { _ = r.child.Wait(); logf.Close(); close(r.exited) }()
	return nil
}

func (r *loadRun) close() {
	for _, a := range r.agents {
		if a != nil && a.conn != nil {
			a.disconnect.Store(true)
			a.conn.CloseNow()
		}
	}
	if r.child != nil && r.child.Process != nil {
		_ = r.child.Process.Signal(os.Interrupt)
		select {
		case <-r.exited:
		case <-time.After(15 * time.Second):
			_ = r.child.Process.Kill()
			<-r.exited
		}
	}
	if r.org != nil {
		r.org.close()
	}
	if r.rdb != nil {
		// Every key of the run, on every master of a Cluster.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, _ = redisstore.DeleteKeys(ctx, r.rdb, r.prefix)
		cancel()
		r.rdb.Close()
	}
	if r.tmp != "" {
		if r.o.KeepLog {
			fmt.Fprintf(r.errw, "switchboard log kept at %s\n", r.logPath)
		} else {
			os.RemoveAll(r.tmp)
		}
	}
}

// waitReady polls /readyz until it answers 200.
func (r *loadRun) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := r.hc.Get(r.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-r.exited:
			return fmt.Errorf("switchboard exited at start:\n%s", r.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("switchboard not ready after 60s:\n%s", r.logTail())
		}
	}
}

func (r *loadRun) logTail() string {
	b, _ := os.ReadFile(r.logPath)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}

func (r *loadRun) errorLogLines() int64 {
	f, err := os.Open(r.logPath)
	if err != nil {
		return 0
	}
	defer f.Close()
	var n int64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if bytes.Contains(sc.Bytes(), []byte(`"level":"error"`)) {
			n++
		}
	}
	return n
}

// rssMB is the child's resident set size.
func (r *loadRun) rssMB() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", r.child.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// metrics reads gauges from the child's /metrics.
func (r *loadRun) metrics(names ...string) map[string]float64 {
	out := map[string]float64{}
	req, _ := http.NewRequest(http.MethodGet, r.base+"/metrics", nil)
	// Not gzip: /metrics is compressed twice when asked for gzip (the
	// server's gzip middleware over promhttp's own).
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := r.hc.Do(req)
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		for _, n := range names {
			if name == n {
				out[n], _ = strconv.ParseFloat(val, 64)
			}
		}
	}
	return out
}

// setupAgents signs every agent in straight through the store (the
// Salesforce sign-in is not what is measured).
func (r *loadRun) setupAgents(ctx context.Context) error {
	r.agents = make([]*agent, r.o.Agents)
	r.idle = make(chan int, r.o.Agents)
	settings := adapter.DefaultSettings()
	settings.AutoSaveNotes = true // no post-call wrap-up: the agent is free at once
	if r.org == nil {
		settings.InboundCallNotes, settings.OutboundCallNotes, settings.InternalCallNotes = false, false, false
	}
	return parallel(ctx, r.o.Agents, 32, func(i int) error {
		ext := strconv.Itoa(100000 + i)
		uid := fmt.Sprintf("005LOAD%011d", i)
		username := uid + "@load"
		if r.org != nil {
			// The org's username: Tasks written as the agent
			// (SWITCHBOARD_SF_WRITE_AS=agent) mint the agent's token with it.
			username = fmt.Sprintf("agent%d@load.switchboard", i)
			uid = r.org.AddUser(fakeorg.User{Username: username, FirstName: "Load", LastName: ext, Extension: ext})
		}
		ag := adapter.Agent{UserID: uid, Username: username, Name: "Load " + ext, Extension: ext, HomeExtension: ext, Kind: pbx.KindRegular}
		sid := adapter.NewSessionID()
		for _, err := range []error{
			r.store.PutAgent(ctx, ag), r.store.PutSession(ctx, sid, uid, 12*time.Hour),
			r.store.SetDeviceUser(ctx, ext, uid), r.store.PutSettings(ctx, uid, settings),
		} {
			if err != nil {
				return err
			}
		}
		tok, _, err := r.issuer.Issue(uid, sid)
		if err != nil {
			return err
		}
		r.agents[i] = &agent{i: i, ext: ext, uid: uid, token: tok}
		return nil
	})
}

// parallel runs f(0..n-1) on width goroutines; the first error wins.
func parallel(ctx context.Context, n, width int, f func(i int) error) error {
	var wg sync.WaitGroup
	var next atomic.Int64
	var first atomic.Value
	for range width {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil || first.Load() != nil {
					return
				}
				if err := f(i); err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := first.Load().(error); ok {
		return err
	}
	return ctx.Err()
}

// connect opens every agent's socket and starts its reader.
func (r *loadRun) connect(ctx context.Context) error {
	wsURL := "ws" + strings.TrimPrefix(r.base, "http") + "/api/v1/ws"
	return parallel(ctx, len(r.agents), 64, func(i int) error {
		a := r.agents[i]
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		conn, _, err := websocket.Dial(dctx, wsURL, &websocket.DialOptions{HTTPClient: r.hc})
		if err != nil {
			return fmt.Errorf("agent %s socket: %w", a.ext, err)
		}
		conn.SetReadLimit(1 << 20)
		hello, _ := json.Marshal(map[string]string{"type": "auth", "token": a.token})
		if err := conn.Write(dctx, websocket.MessageText, hello); err != nil {
			return fmt.Errorf("agent %s socket: %w", a.ext, err)
		}
		if _, _, err := conn.Read(dctx); err != nil { // the snapshot
			return fmt.Errorf("agent %s snapshot: %w", a.ext, err)
		}
		a.conn = conn
		r.idle <- i
		go r.read(a)
		return nil
	})
}

// pushed is what the load generator reads of a pushed event.
type pushed struct {
	Type string `json:"type"`
	Call *struct {
		ID       string    `json:"id"`
		State    string    `json:"state"`
		Started  time.Time `json:"started"`
		Answered time.Time `json:"answered"`
		Ended    time.Time `json:"ended"`
		// Lookup is "pending" while the Salesforce lookup runs (the
		// matches follow in a later push).
		Lookup string `json:"lookup"`
	} `json:"call"`
}

func (r *loadRun) read(a *agent) {
	ctx := context.Background()
	for {
		_, b, err := a.conn.Read(ctx)
		at := time.Now()
		if err != nil {
			if !a.disconnect.Load() {
				r.errs.socket.Add(1)
			}
			return
		}
		var ev pushed
		if json.Unmarshal(b, &ev) != nil || ev.Call == nil {
			continue
		}
		v, _ := r.calls.LoadOrStore(ev.Call.ID, &callState{})
		cs := v.(*callState)
		cs.mu.Lock()
		switch {
		case ev.Type == "call" && ev.Call.State == string(pbx.Alerting):
			if !cs.rung {
				cs.rung = true
				r.rung.Add(1)
				r.ringing.add(at.Sub(ev.Call.Started))
				go r.op(a, ev.Call.ID, "answer", &r.errs.answer)
			}
			if !cs.matched && ev.Call.Lookup != "pending" {
				cs.matched = true
				r.matches.add(at.Sub(ev.Call.Started))
			}
		case ev.Type == "call" && ev.Call.State == string(pbx.Connected):
			if !cs.matched && ev.Call.Lookup != "pending" {
				cs.matched = true
				r.matches.add(at.Sub(ev.Call.Started))
			}
			if !cs.answered && !ev.Call.Answered.IsZero() {
				cs.answered = true
				r.answered.Add(1)
				r.answer.add(at.Sub(ev.Call.Answered))
				id := ev.Call.ID
				time.AfterFunc(r.o.Talk, func() { r.op(a, id, "clear", &r.errs.clear) })
			}
		case ev.Type == "call_ended":
			if !cs.done {
				cs.done = true
				r.ended.Add(1)
				if !ev.Call.Ended.IsZero() {
					r.clear.add(at.Sub(ev.Call.Ended))
				}
				r.calls.Delete(ev.Call.ID)
				r.idle <- a.i
			}
		}
		cs.mu.Unlock()
	}
}

// op sends an agent's call command (answer, clear) through the agent API.
func (r *loadRun) op(a *agent, callID, op string, fails *atomic.Int64) {
	req, _ := http.NewRequest(http.MethodPost, r.base+"/api/v1/calls/"+callID+"/"+op, nil)
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := r.hc.Do(req)
	if err != nil {
		fails.Add(1)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		fails.Add(1)
	}
}

// caller picks the next caller: a repeat caller with probability Repeat,
// else a new one.
func (r *loadRun) caller() string {
	r.callerMu.Lock()
	defer r.callerMu.Unlock()
	if len(r.callers) > 0 && mrand.Float64() < r.o.Repeat {
		return r.callers[mrand.IntN(len(r.callers))]
	}
	n := callerNumber(r.nextNew)
	r.nextNew++
	r.callers = append(r.callers, n)
	return n
}

// place rings an idle agent from a caller through the simulator.
func (r *loadRun) place() {
	var i int
	select {
	case i = <-r.idle:
	default:
		r.errs.noIdle.Add(1)
		return
	}
	call := map[string]string{"from": r.caller(), "to": r.agents[i].ext}
	if r.o.Lines > 0 {
		call["dnis"] = lineNumber(int(r.placed.Load()) % r.o.Lines)
	}
	body, _ := json.Marshal(call)
	req, _ := http.NewRequest(http.MethodPost, r.base+"/sim/v1/calls", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+r.simToken())
	resp, err := r.hc.Do(req)
	r.placed.Add(1)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 300 {
			return
		}
	}
	r.errs.place.Add(1)
	r.idle <- i
}

// sampleRTT measures Redis round trips (PING) until ctx ends.
func (r *loadRun) sampleRTT(ctx context.Context) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		for range 5 {
			start := time.Now()
			if r.rdb.Ping(ctx).Err() == nil {
				r.rtt.add(time.Since(start))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *loadRun) execute(ctx context.Context) (*Summary, error) {
	o := r.o
	sum := &Summary{Agents: o.Agents, RateTarget: o.Rate, DurationS: o.Duration.Seconds(),
		OrgLatencyMs: ms(o.OrgLatency), Org: "fake", Repeat: o.Repeat, Lines: o.Lines}
	if o.OrgURL != "" {
		sum.Org = o.OrgURL
	}
	start := time.Now()
	if err := r.waitReady(ctx); err != nil {
		return nil, err
	}
	sum.StartToReadyS = round3(time.Since(start).Seconds())
	fmt.Fprintf(r.errw, "switchboard ready in %.3fs; signing in %d agents\n", sum.StartToReadyS, o.Agents)
	if err := r.setupAgents(ctx); err != nil {
		return nil, fmt.Errorf("sign agents in: %w", err)
	}
	sum.RSSStartMB = round1(r.rssMB())
	heapOf := func() float64 {
		m := r.metrics("go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes")
		return m["go_memstats_heap_inuse_bytes"] + m["go_memstats_stack_inuse_bytes"]
	}
	heap0 := heapOf()
	if err := r.connect(ctx); err != nil {
		return nil, err
	}
	settle(ctx, 2*time.Second) // let the child's GC return what connecting used
	sum.RSSIdleMB = round1(r.rssMB())
	sum.BytesPerAgent = math.Round((sum.RSSIdleMB - sum.RSSStartMB) * 1024 * 1024 / float64(o.Agents))
	heap1 := heapOf()
	sum.HeapIdleMB = round1(heap1 / 1024 / 1024)
	sum.HeapPerAgent = math.Round((heap1 - heap0) / float64(o.Agents))
	fmt.Fprintf(r.errw, "%d sockets connected; RSS %.1f MB (%.0f bytes/agent); placing %.0f calls/s for %s\n",
		o.Agents, sum.RSSIdleMB, sum.BytesPerAgent, o.Rate, o.Duration)

	rctx, stopRTT := context.WithCancel(ctx)
	defer stopRTT()
	go r.sampleRTT(rctx)
	sf0 := map[string]int64{}
	tasks0 := 0
	if r.org != nil {
		sf0 = r.org.Counts()
		tasks0 = len(r.org.Records("Task"))
	}
	var outboxMax atomic.Int64
	var peak atomic.Uint64
	peak.Store(math.Float64bits(sum.RSSIdleMB))
	sample := func() (float64, int64) {
		rss := r.rssMB()
		if rss > math.Float64frombits(peak.Load()) {
			peak.Store(math.Float64bits(rss))
		}
		ob := int64(r.metrics("switchboard_outbox_jobs")["switchboard_outbox_jobs"])
		if ob > outboxMax.Load() {
			outboxMax.Store(ob)
		}
		return rss, ob
	}
	progress := func(elapsed time.Duration) {
		rss, ob := sample()
		p50, _, _ := r.ringing.quantiles()
		fmt.Fprintf(r.errw, "t=%3.0fs placed %d rung %d answered %d ended %d | ringing p50 %.2f ms | RSS %.0f MB | outbox %d | errors %d\n",
			elapsed.Seconds(), r.placed.Load(), r.rung.Load(), r.answered.Load(), r.ended.Load(), ms(p50), rss, ob, r.errorCount())
	}

	callStart := time.Now()
	interval := time.Duration(float64(time.Second) / o.Rate)
	every := o.Progress
	if every <= 0 {
		every = time.Second
	}
	nextReport := callStart.Add(every)
	var placing sync.WaitGroup
	for k := 0; ; k++ {
		at := callStart.Add(time.Duration(k) * interval)
		if at.Sub(callStart) >= o.Duration || ctx.Err() != nil {
			break
		}
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		placing.Add(1)
		go func() { defer placing.Done(); r.place() }()
		if now := time.Now(); now.After(nextReport) {
			nextReport = nextReport.Add(every)
			if o.Progress > 0 {
				go progress(now.Sub(callStart))
			} else {
				go sample()
			}
		}
	}
	placing.Wait()
	callTime := time.Since(callStart)
	// Let the calls in progress end (talk time plus slack).
	deadline := time.Now().Add(o.Talk + 10*time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil && r.ended.Load()+r.errs.place.Load() < r.placed.Load() {
		time.Sleep(50 * time.Millisecond)
		sample()
	}
	stopRTT()
	// Let the outbox drain (up to 30 s) for the Task figures.
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end) && ctx.Err() == nil; time.Sleep(200 * time.Millisecond) {
		if _, ob := sample(); ob == 0 {
			break
		}
	}
	total := time.Since(callStart)

	rtt50, _, _ := r.rtt.quantiles()
	sum.RedisRTT = latencyOf(&r.rtt, rtt50)
	sum.Ringing = latencyOf(&r.ringing, rtt50)
	sum.Matches = latencyOf(&r.matches, rtt50)
	sum.Answer = latencyOf(&r.answer, rtt50)
	sum.Clear = latencyOf(&r.clear, rtt50)
	sum.CallsPlaced, sum.CallsEnded = r.placed.Load(), r.ended.Load()
	sum.CallsPerS = round1(float64(sum.CallsPlaced) / callTime.Seconds())
	sum.SFRequests, sum.SFPer1000Calls = map[string]int64{}, map[string]float64{}
	if r.org != nil {
		for k, v := range r.org.Counts() {
			n := v - sf0[k]
			if n == 0 {
				continue
			}
			sum.SFRequests[k] = n
			if sum.CallsPlaced > 0 {
				sum.SFPer1000Calls[k] = round1(float64(n) * 1000 / float64(sum.CallsPlaced))
			}
		}
		// Tasks the org holds now, however they were sent (one by one or
		// in sObject Collections requests).
		sum.TasksPerS = round1(float64(len(r.org.Records("Task"))-tasks0) / total.Seconds())
	}
	_, sum.OutboxEnd = sample()
	sum.OutboxMax = outboxMax.Load()
	sum.RSSPeakMB = round1(math.Float64frombits(peak.Load()))
	sum.SocketsEnd = int64(r.metrics("switchboard_sockets")["switchboard_sockets"])
	e := &sum.Errors
	e.Place, e.NoIdleAgent, e.Answer, e.Clear, e.SocketClosed = r.errs.place.Load(), r.errs.noIdle.Load(), r.errs.answer.Load(), r.errs.clear.Load(), r.errs.socket.Load()
	e.NoRinging = max(0, sum.CallsPlaced-e.Place-r.rung.Load())
	e.NoEnd = max(0, r.rung.Load()-r.ended.Load())
	e.Total = e.Place + e.NoIdleAgent + e.Answer + e.Clear + e.NoRinging + e.NoEnd + e.SocketClosed
	sum.ServerLogLines = r.errorLogLines()
	return sum, nil
}

func (r *loadRun) errorCount() int64 {
	return r.errs.place.Load() + r.errs.noIdle.Load() + r.errs.answer.Load() + r.errs.clear.Load() + r.errs.socket.Load()
}

func settle(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
