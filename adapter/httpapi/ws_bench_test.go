package httpapi

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-cti/switchboard/internal/floor"
)

// Socket benchmarks. Run them one at a time, each once per run:
//
//	go test ./adapter/httpapi -run '^$' -bench 'IdleSocketMemory' -benchtime 1x -count 5
//	go test ./adapter/httpapi -run '^$' -bench 'PushLatency' -benchtime 2000x -count 5
//
// SOCKET_BENCH_N sets how many sockets the memory benchmark opens (default
// 1,000; 10,000 needs `ulimit -n` above 10,100).

// BenchmarkIdleSocketMemory opens N idle agent sockets to the server in
// this process; their client side runs in a child process (so only the
// server's side is counted). It reports, per socket: Go heap + stacks in
// use, bytes and objects allocated while connecting, the process RSS, and
// goroutines.
func BenchmarkIdleSocketMemory(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("SOCKET_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	env := newSocketEnv(b, 0)
	auths := make([]string, n)
	for i := range auths {
		_, a := env.agent(b, i, strconv.Itoa(100000+i))
		auths[i] = string(a)
	}
	file := filepath.Join(b.TempDir(), "auth")
	if err := os.WriteFile(file, []byte(strings.Join(auths, "\n")), 0o600); err != nil {
		b.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^TestIdleSocketBenchClient$")
	child.Env = append(os.Environ(), "SOCKET_BENCH_FILE="+file, "SOCKET_BENCH_URL="+env.url)
	out, err := child.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	hold, err := child.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	child.Stderr = os.Stderr

	before, rss0, g0 := settledMem()
	b.ResetTimer()
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { hold.Close(); child.Wait() }()
	lines := bufio.NewScanner(out)
	for lines.Scan() && lines.Text() != "READY" {
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for env.srv.Hub().Count() < n && ctx.Err() == nil {
		runtime.Gosched()
	}
	if c := env.srv.Hub().Count(); c != n {
		b.Fatalf("%d sockets in the hub, want %d", c, n)
	}
	after, rss1, g1 := settledMem()
	b.StopTimer()
	if f := os.Getenv("SOCKET_BENCH_HEAP_PROFILE"); f != "" { // what the idle sockets hold
		if w, err := os.Create(f); err == nil {
			pprof.WriteHeapProfile(w)
			w.Close()
		}
	}
	per := func(a, z uint64) float64 { return (float64(z) - float64(a)) / float64(n) }
	b.ReportMetric(per(before.HeapInuse+before.StackInuse, after.HeapInuse+after.StackInuse), "heap+stack-B/socket")
	b.ReportMetric(per(before.StackInuse, after.StackInuse), "stack-B/socket")
	b.ReportMetric(per(before.TotalAlloc, after.TotalAlloc), "alloc-B/socket")
	b.ReportMetric(per(before.Mallocs, after.Mallocs), "allocs/socket")
	b.ReportMetric(per(rss0, rss1), "rss-B/socket")
	b.ReportMetric(per(uint64(g0), uint64(g1)), "goroutines/socket")
	b.ReportMetric(0, "ns/op")
}

// settledMem collects garbage, returns free memory to the OS, and reads
// the Go heap, the process RSS and the goroutine count.
func settledMem() (runtime.MemStats, uint64, int) {
	var m runtime.MemStats
	runtime.GC()
	debug.FreeOSMemory()
	runtime.ReadMemStats(&m)
	return m, rssBytes(), runtime.NumGoroutine()
}

// rssBytes is this process's resident set size (VmRSS in /proc), or 0
// where there is no /proc.
func rssBytes() uint64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestIdleSocketBenchClient is the client side of BenchmarkIdleSocketMemory,
// run in a child process: it connects one socket per auth message, reads
// each snapshot, prints READY and holds the sockets until its standard
// input closes. Skipped otherwise.
func TestIdleSocketBenchClient(t *testing.T) {
	file, url := os.Getenv("SOCKET_BENCH_FILE"), os.Getenv("SOCKET_BENCH_URL")
	if file == "" {
		t.Skip("only run by BenchmarkIdleSocketMemory")
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	auths := strings.Split(string(raw), "\n")
	conns := make([]*websocket.Conn, len(auths))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i, a := range auths {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, _, err := websocket.Dial(ctx, url, nil)
			if err != nil {
				t.Error(err)
				return
			}
			c.SetReadLimit(1 << 20)
			if err := c.Write(ctx, websocket.MessageText, []byte(a)); err != nil {
				t.Error(err)
				return
			}
			if _, _, err := c.Read(ctx); err != nil {
				t.Error(err)
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	fmt.Println("READY")
	os.Stdin.Read(make([]byte, 1)) // until the parent closes it
	for _, c := range conns {
		if c != nil {
			c.CloseNow()
		}
	}
}

// BenchmarkPushLatency measures one push: Hub.Deliver of a device event
// to one socket among 1 and 1,000, until the client has read it (client
// and server in this process, over loopback TCP). The floor it is
// compared with is a Redis round trip (PING, on the Redis at
// SWITCHBOARD_TEST_REDIS_URL's host or 127.0.0.1:6379), measured in the
// same loop. Reports p50/p99 of both and the push's p50 as a multiple of
// the round trip's.
func BenchmarkPushLatency(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("sockets=%d", n), func(b *testing.B) { benchPushLatency(b, n) })
	}
}

func benchPushLatency(b *testing.B, n int) {
	env := newSocketEnv(b, 0)
	conns := make([]*websocket.Conn, n)
	exts := make([]string, n)
	for i := range conns {
		exts[i] = strconv.Itoa(100000 + i)
		_, auth := env.agent(b, i, exts[i])
		conns[i], _ = env.connect(b, auth)
		defer conns[i].CloseNow()
	}
	redis := dialRedisFloor(b)
	ctx := context.Background()
	ev := deviceEvent(0)
	push := make([]time.Duration, 0, b.N)
	rtt := make([]time.Duration, 0, b.N)
	seqs := make([]uint64, n)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		i := rand.IntN(n)
		seqs[i]++
		ev.Seq = seqs[i]
		t0 := time.Now()
		env.srv.Hub().Deliver(exts[i], ev)
		if _, _, err := conns[i].Read(ctx); err != nil {
			b.Fatal(err)
		}
		push = append(push, time.Since(t0))
		if redis != nil {
			b.StopTimer()
			d, err := redis.Ping()
			if err != nil {
				b.Fatal(err)
			}
			rtt = append(rtt, d)
			b.StartTimer()
		}
	}
	b.StopTimer()
	p50, p99 := percentiles(push)
	b.ReportMetric(float64(p50.Nanoseconds())/1e3, "push-p50-µs")
	b.ReportMetric(float64(p99.Nanoseconds())/1e3, "push-p99-µs")
	if len(rtt) > 0 {
		r50, r99 := percentiles(rtt)
		b.ReportMetric(float64(r50.Nanoseconds())/1e3, "redis-rtt-p50-µs")
		b.ReportMetric(float64(r99.Nanoseconds())/1e3, "redis-rtt-p99-µs")
		b.ReportMetric(float64(p50)/float64(r50), "push-p50-×rtt")
	}
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)*99/100]
}

// dialRedisFloor connects to the Redis the tests use for the round-trip
// floor (internal/floor), or returns nil, saying so, when none answers.
func dialRedisFloor(b *testing.B) *floor.Redis {
	f, err := floor.Dial(floor.Addr())
	if err != nil {
		b.Logf("%v: no round-trip floor", err)
		return nil
	}
	b.Cleanup(func() { f.Close() })
	return f
}
