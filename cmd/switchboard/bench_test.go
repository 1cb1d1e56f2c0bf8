package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
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

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/pbx/sim"
)

// BenchmarkPushLatency measures the time from a switch event (a DND change
// on one agent's phone) to the moment that agent's softphone socket has the
// pushed event, with 1,000 and 10,000 agents connected, through the whole
// path: switch -> Service -> Redis pub/sub -> hub -> WebSocket. The sockets'
// client side runs in a child process (one process may not hold 20,000
// descriptors here). Reports p50/p99 latency and the server's memory (heap and
// goroutine stacks) per connected agent.
func BenchmarkPushLatency(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("agents=%d", n), func(b *testing.B) { benchPush(b, n) })
	}
}

func benchPush(b *testing.B, n int) {
	exts := make([]sim.Extension, n)
	for i := range exts {
		exts[i] = sim.Extension{Number: strconv.Itoa(100000 + i), Name: fmt.Sprintf("Agent %d", i), Kind: pbx.KindRegular}
	}
	sw, err := sim.New(sim.Config{Extensions: exts, CallIDPrefix: "b"}, sim.RealClock())
	if err != nil {
		b.Fatal(err)
	}
	env := map[string]string{
		"SWITCHBOARD_ADDR": "127.0.0.1:0", "SWITCHBOARD_REDIS_URL": benchRedisURL(b),
		"SWITCHBOARD_REDIS_PREFIX": fmt.Sprintf("%sbench:%d:", testPrefix, time.Now().UnixNano()), "SWITCHBOARD_LOG_LEVEL": "error",
	}
	m, err := NewMain(nil, func(k string) string { return env[k] }, os.Stderr)
	if err != nil {
		b.Fatal(err)
	}
	m.Sim = sw
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := m.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer deleteKeys(b, m.Config.RedisURL, m.Config.RedisPrefix)
	defer m.Close()

	// Sessions for every agent, straight into the store.
	tokens := make([]string, n)
	issuer := m.Server.Tokens()
	for i, e := range exts {
		uid := fmt.Sprintf("005BENCH%010d", i)
		ag := adapter.Agent{UserID: uid, Username: uid + "@bench", Name: e.Name, Extension: e.Number, HomeExtension: e.Number, Kind: pbx.KindRegular}
		sid := adapter.NewSessionID()
		if err := m.Store.PutAgent(ctx, ag); err != nil {
			b.Fatal(err)
		}
		if err := m.Store.PutSession(ctx, sid, uid, time.Hour); err != nil {
			b.Fatal(err)
		}
		tok, _, err := issuer.Issue(uid, sid)
		if err != nil {
			b.Fatal(err)
		}
		tokens[i] = e.Number + " " + tok
	}
	file := filepath.Join(b.TempDir(), "tokens")
	if err := os.WriteFile(file, []byte(strings.Join(tokens, "\n")), 0o600); err != nil {
		b.Fatal(err)
	}

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	child := exec.Command(os.Args[0], "-test.run=^TestPushBenchClient$", "-test.v")
	child.Env = append(os.Environ(), "PUSH_BENCH_FILE="+file, "PUSH_BENCH_URL="+m.URL)
	out, err := child.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	defer child.Process.Kill()
	lines := bufio.NewScanner(out)
	for lines.Scan() && lines.Text() != "READY" {
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	inuse := func(m runtime.MemStats) int64 { return int64(m.HeapInuse + m.StackInuse) }
	perAgent := float64(inuse(after)-inuse(before)) / float64(n)

	got := make(chan [2]int64, 16) // ext, receive time
	go func() {
		for lines.Scan() {
			f := strings.Fields(lines.Text())
			if len(f) == 2 {
				ext, _ := strconv.ParseInt(f[0], 10, 64)
				at, _ := strconv.ParseInt(f[1], 10, 64)
				got <- [2]int64{ext, at}
			}
		}
	}()
	dnd := map[string]bool{}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := exts[rand.IntN(n)].Number
		dnd[e] = !dnd[e]
		start := time.Now().UnixNano()
		if err := sw.SetDND(ctx, e, dnd[e]); err != nil {
			b.Fatal(err)
		}
		want, _ := strconv.ParseInt(e, 10, 64)
		for r := range got {
			if r[0] == want {
				lat = append(lat, time.Duration(r[1]-start))
				break
			}
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(perAgent, "mem-B/agent")
	b.ReportMetric(0, "ns/op")
}

func benchRedisURL(b *testing.B) string {
	if u := os.Getenv("SWITCHBOARD_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// TestPushBenchClient is the client side of BenchmarkPushLatency, run in a
// child process: it connects one socket per agent and prints "ext
// unix-nanos" for each device event received. Skipped otherwise.
func TestPushBenchClient(t *testing.T) {
	file, base := os.Getenv("PUSH_BENCH_FILE"), os.Getenv("PUSH_BENCH_URL")
	if file == "" {
		t.Skip("only run by BenchmarkPushLatency")
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	print := func(s string) {
		mu.Lock()
		out.WriteString(s + "\n")
		out.Flush()
		mu.Unlock()
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, line := range strings.Split(string(raw), "\n") {
		ext, tok, _ := strings.Cut(line, " ")
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/api/v1/ws", nil)
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := json.Marshal(map[string]string{"type": "auth", "token": tok})
			conn.Write(ctx, websocket.MessageText, b)
			if _, _, err := conn.Read(ctx); err != nil { // snapshot
				t.Error(err)
				return
			}
			go func() {
				for {
					_, msg, err := conn.Read(ctx)
					if err != nil {
						return
					}
					at := time.Now().UnixNano()
					if strings.Contains(string(msg[:min(len(msg), 40)]), `"device"`) {
						print(ext + " " + strconv.FormatInt(at, 10))
					}
				}
			}()
		}()
	}
	wg.Wait()
	print("READY")
	select {} // until killed
}
