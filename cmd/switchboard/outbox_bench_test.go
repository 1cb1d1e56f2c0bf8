package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/pbx/sim"
	"github.com/switchboard-cti/switchboard/salesforce"
	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
)

// startBench starts the whole program (demo org, simulator) on the real
// Redis for a benchmark; extra settings in env.
func startBench(b *testing.B, env map[string]string) *Main {
	b.Helper()
	base := map[string]string{
		"SWITCHBOARD_ADDR": "127.0.0.1:0", "SWITCHBOARD_REDIS_URL": benchRedisURL(b),
		"SWITCHBOARD_REDIS_PREFIX": fmt.Sprintf("%sbench:%d:", testPrefix, time.Now().UnixNano()), "SWITCHBOARD_LOG_LEVEL": "error",
	}
	for k, v := range env {
		base[k] = v
	}
	m, err := NewMain(nil, func(k string) string { return base[k] }, os.Stderr)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Start(ctx); err != nil {
		cancel()
		b.Fatal(err)
	}
	b.Cleanup(func() {
		m.Close()
		cancel()
		deleteKeys(b, m.Config.RedisURL, m.Config.RedisPrefix)
	})
	return m
}

// redisRTT is the median PING round trip to the benchmark's Redis: the
// floor the outbox's numbers are quoted against.
func redisRTT(b *testing.B) time.Duration {
	opt, err := redis.ParseURL(benchRedisURL(b))
	if err != nil {
		b.Fatal(err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	ctx := context.Background()
	ds := make([]time.Duration, 200)
	for i := range ds {
		t0 := time.Now()
		if err := c.Ping(ctx).Err(); err != nil {
			b.Skipf("no Redis: %v", err)
		}
		ds[i] = time.Since(t0)
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// BenchmarkTaskDelivery measures call logs delivered per second by one
// instance's outbox, from the moment they are queued (by 8 writers at once,
// as calls end) until Salesforce has them all, with the fake org answering
// at once and after 50 ms per request. Reports tasks/s, the REST requests
// it took, and the Redis round trip measured in the same run. The linger
// is off: under a backlog it never applies (a full round goes at once),
// and the last round's linger (2 s by default) would be most of a run.
func BenchmarkTaskDelivery(b *testing.B) {
	for _, lat := range []time.Duration{0, 50 * time.Millisecond} {
		b.Run(fmt.Sprintf("org_latency=%s", lat), func(b *testing.B) { benchDelivery(b, lat) })
	}
}

func benchDelivery(b *testing.B, lat time.Duration) {
	rtt := redisRTT(b)
	m := startBench(b, map[string]string{"SWITCHBOARD_OUTBOX_LINGER": "0s"})
	owner := ""
	for _, u := range m.Org.Records("User") {
		if u["Username"] == fakeorg.AgentUsername {
			owner = u["Id"].(string)
		}
	}
	if lat > 0 {
		m.Org.Inject(fakeorg.Fault{Kind: fakeorg.Latency, Latency: lat})
	}
	const n = 5000
	var written atomic.Int64
	done := make(chan struct{}, 1)
	target := atomic.Int64{}
	m.Service.ObserveOutbox(func(_ adapter.TaskJob, err error) {
		if err == nil && written.Add(1) == target.Load() {
			done <- struct{}{}
		}
	})
	ctx := context.Background()
	var total time.Duration
	var tasks int
	reqBefore := m.Org.Requests()
	for i := 0; i < b.N; i++ {
		target.Store(written.Load() + n)
		start := time.Now()
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := w; j < n; j += 8 {
					id := fmt.Sprintf("bench-%d-%d", i, j)
					job := adapter.TaskJob{Key: id + "/1001", UserID: owner, Extension: "1001", CallID: id, Created: time.Now(),
						Task: salesforce.Task{Subject: "Call: Inbound", Description: "Notes", OwnerID: owner, CallType: "Inbound", CallObject: id, CallDurationInSeconds: 42}}
					if err := m.Store.EnqueueTask(ctx, job); err != nil {
						b.Error(err)
						return
					}
					m.Service.Wake()
				}
			}()
		}
		wg.Wait()
		select {
		case <-done:
		case <-time.After(5 * time.Minute):
			b.Fatalf("only %d of %d Tasks written", written.Load(), target.Load())
		}
		total += time.Since(start)
		tasks += n
	}
	b.ReportMetric(float64(tasks)/total.Seconds(), "tasks/s")
	b.ReportMetric(float64(m.Org.Requests()-reqBefore)/float64(tasks)*1000, "requests/1000tasks")
	b.ReportMetric(float64(rtt.Nanoseconds())/1000, "redis_rtt_µs")
	// The time per Task delivered, in Redis round trips: the figure to
	// compare across machines and loads.
	b.ReportMetric(total.Seconds()/float64(tasks)/rtt.Seconds(), "rtt/task")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkRequestsPer1000Calls counts the Salesforce REST requests (and
// token mints) the service sends over 1,000 inbound calls to one agent,
// 30% of them from repeat callers, over three lines (one a Campaign's):
// everything during the calls' lives, counted at the fake org by kind. Each
// call rings, is answered, ends and is wrapped up.
func BenchmarkRequestsPer1000Calls(b *testing.B) {
	for _, writeAs := range []string{"integration", "agent"} {
		b.Run("write_as="+writeAs, func(b *testing.B) { benchRequests(b, writeAs) })
	}
}

func benchRequests(b *testing.B, writeAs string) {
	rtt := redisRTT(b)
	for i := 0; i < b.N; i++ {
		m := startBench(b, map[string]string{"SWITCHBOARD_SF_WRITE_AS": writeAs})
		ctx := context.Background()
		var alex adapter.Agent
		for _, u := range m.Org.Records("User") {
			if u["Username"] == fakeorg.AgentUsername {
				alex = adapter.Agent{UserID: u["Id"].(string), Username: fakeorg.AgentUsername, Name: "Alex Agent", Extension: "1001", HomeExtension: "1001"}
			}
		}
		if err := m.Store.PutAgent(ctx, alex); err != nil {
			b.Fatal(err)
		}
		if err := m.Store.SetDeviceUser(ctx, "1001", alex.UserID); err != nil {
			b.Fatal(err)
		}
		written := make(chan struct{}, 2000)
		m.Service.ObserveOutbox(func(_ adapter.TaskJob, err error) {
			if err == nil {
				written <- struct{}{}
			}
		})
		before := m.Org.RequestsByKind()
		lines := []string{fakeorg.CampaignDNIS, "+18005550122", "+18005550133"}
		const calls = 1000
		start := time.Now()
		for c := 0; c < calls; c++ {
			// 700 distinct callers; calls 700..999 come from earlier ones.
			caller := c
			if c >= 700 {
				caller = (c * 7) % 700
			}
			from := fmt.Sprintf("+1415%07d", 5550000+caller)
			if caller%10 == 0 {
				from = "+14155550123" // a known Contact now and then
			}
			id, err := m.Sim.PlaceCall(ctx, sim.ExternalCall{From: from, To: "1001", DNIS: lines[c%len(lines)]})
			if err != nil {
				b.Fatal(err)
			}
			waitCall(b, m, id, func(r adapter.CallRecord) bool { return r.State == "alerting" })
			if err := m.Sim.Answer(ctx, "1001", id); err != nil {
				b.Fatal(err)
			}
			waitCall(b, m, id, func(r adapter.CallRecord) bool { return r.State == "connected" })
			if err := m.Sim.Clear(ctx, "1001", id); err != nil {
				b.Fatal(err)
			}
			waitCall(b, m, id, func(r adapter.CallRecord) bool { return r.PostCall })
			if _, err := m.Service.WrapUp(ctx, alex, id, "save"); err != nil {
				b.Fatal(err)
			}
		}
		for got := 0; got < calls; got++ {
			select {
			case <-written:
			case <-time.After(2 * time.Minute):
				b.Fatalf("%d of %d call logs written", got, calls)
			}
		}
		after := m.Org.RequestsByKind()
		total := 0
		var kinds []string
		for k, v := range after {
			d := v - before[k]
			if d == 0 {
				continue
			}
			total += d
			kinds = append(kinds, fmt.Sprintf("%s=%d", k, d))
			b.ReportMetric(float64(d), strings.ReplaceAll(k, " ", "_")+"/1000calls")
		}
		sort.Strings(kinds)
		rate := float64(calls) / time.Since(start).Seconds()
		b.Logf("write_as=%s: %d requests per %d calls (%.0f calls/s; Redis round trip %s): %s", writeAs, total, calls, rate, rtt, strings.Join(kinds, ", "))
		b.ReportMetric(rate, "calls/s")
		b.ReportMetric(float64(rtt.Nanoseconds())/1000, "redis_rtt_µs")
		b.ReportMetric(1/rate/rtt.Seconds(), "rtt/call")
		b.ReportMetric(float64(total), "requests/1000calls")
		b.ReportMetric(0, "ns/op")
	}
}

// waitCall waits until the stored call satisfies ok (the service handles
// switch events on its own goroutines).
func waitCall(b *testing.B, m *Main, id string, ok func(adapter.CallRecord) bool) {
	b.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := m.Store.Call(context.Background(), "1001", id)
		if err == nil && ok(r) {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("call %s: state not reached (%+v, %v)", id, r, err)
		}
		runtime.Gosched()
	}
}
