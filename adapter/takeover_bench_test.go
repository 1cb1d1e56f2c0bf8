package adapter

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/switchboard-cti/switchboard/internal/floor"
	"github.com/switchboard-cti/switchboard/pbx"
)

// BenchmarkHoldEvents: what holding other instances' devices' events for a
// takeover costs, at the size the issue names: 10,000 devices, 200
// calls/s, 4 events per call (ringing, answered, a change, ended), over
// the default LeaseTTL (5 s: events held 8 s). Each op is one event
// through a watcher of a device another instance handles, the event made
// as the switch makes it (its allocations are in B/op). Reported: the
// events held at the end (steady state), and the heap they keep alive
// (held-KB; B/held per event), measured by dropping them and collecting.
// The floor is BenchmarkRedisRoundTripFloor in the same run.
func BenchmarkHoldEvents(b *testing.B) {
	const (
		devices       = 10000
		callsPerSec   = 200
		eventsPerCall = 4
	)
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	s := NewService(nil, nil, nil, nil, "bench", zerolog.Nop())
	s.Now = func() time.Time { return now }
	ws := make([]*watcher, eventWorkers)
	for i := range ws {
		ws[i] = s.newWatcher()
	}
	exts := make([]string, devices)
	for i := range exts {
		exts[i] = fmt.Sprintf("%05d", 10000+i)
	}
	step := time.Second / (callsPerSec * eventsPerCall)
	ctx := context.Background()
	seq := make([]uint64, devices)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		call := i / eventsPerCall
		d := (call * 7919) % devices // calls spread over the devices
		ext := exts[d]
		seq[d]++
		typ := pbx.CallUpdated
		if i%eventsPerCall == eventsPerCall-1 {
			typ = pbx.CallEnded
		}
		c := &pbx.Call{
			ID: fmt.Sprintf("c%d", call), Direction: pbx.Inbound, ANI: "+14155550123", DNIS: "+18005550100",
			Parties: []pbx.Party{
				{Number: "+14155550123", State: pbx.Connected, Since: now},
				{Number: ext, Name: "Alex Agent", Internal: true, State: pbx.Alerting, Since: now},
			},
			Created: now,
		}
		ws[workerOf(ext)].event(ctx, pbx.Event{Seq: seq[d], Device: ext, Type: typ, Cause: pbx.CauseNew, Call: c, Time: now})
		now = now.Add(step)
		i++
	}
	b.StopTimer()
	held := s.held.Load()
	var m1, m2 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m1)
	for _, w := range ws {
		for _, d := range w.devs {
			d.held = nil
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&m2)
	b.ReportMetric(float64(held), "held")
	if held > 0 && m1.HeapAlloc > m2.HeapAlloc {
		kept := float64(m1.HeapAlloc - m2.HeapAlloc)
		b.ReportMetric(kept/1024, "held-KB")
		b.ReportMetric(kept/float64(held), "B/held")
	}
	runtime.KeepAlive(ws)
}

// BenchmarkRedisRoundTripFloor is the house floor for speed figures,
// measured in the same run (internal/floor). Skipped without a Redis.
func BenchmarkRedisRoundTripFloor(b *testing.B) { floor.Benchmark(b) }
