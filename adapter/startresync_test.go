package adapter_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/adapter/redisstore"
	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/pbx/sim"
)

// unbatched hides the store's batch methods (CallsMany, ClaimMany): the
// Service then reads and claims one device at a time.
type unbatched struct{ adapter.Store }

// startRig is a takeoverRig with instance a alone running; b is started
// by the test (startAfter) once nobody runs.
type startRig struct {
	*takeoverRig
	conns int // the store's connections without a's (the test's own)
}

func newStartRig(t *testing.T) *startRig {
	t.Helper()
	r := newRig(t, false)
	conns := r.mr.CurrentConnectionCount()
	r.a = r.start("a")
	return &startRig{takeoverRig: r, conns: conns}
}

// crashAndWait kills a (as crash does) and waits until the store has
// seen its connections close, so no command of a's lands later; then
// a's leases lapse: nobody handles any device.
func (r *startRig) crashAndWait() {
	r.t.Helper()
	r.crash(r.a)
	conns := r.conns
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond) // miniredis closes them on its own goroutines
	defer tick.Stop()
	for r.mr.CurrentConnectionCount() > conns {
		select {
		case <-deadline:
			r.t.Fatalf("a's connections still open: %d, want %d", r.mr.CurrentConnectionCount(), conns)
		case <-tick.C:
		}
	}
	r.mr.FastForward(r.a.svc.LeaseTTL + time.Second)
	for _, k := range r.mr.Keys() {
		if strings.Contains(k, "monitor:") {
			r.t.Fatalf("lease %s still held after a died", k)
		}
	}
}

// startAfter starts instance b on the store as wrap makes it (nil: as
// it is), after a died: b claims every device at start.
func (r *startRig) startAfter(wrap func(adapter.Store) adapter.Store) {
	t := r.t
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: r.mr.Addr()})
	st := redisstore.New(rdb, rigPrefix, r.clock.Now)
	var store adapter.Store = st
	if wrap != nil {
		store = wrap(st)
	}
	svc := adapter.NewService(r.sw, r.crm, store, st, "b", zerolog.Nop())
	svc.Now = r.clock.Now
	svc.AfterFunc = func(d time.Duration, f func()) { r.clock.AfterFunc(d, f) }
	svc.Outbox = adapter.OutboxConfig{Linger: time.Hour, Interval: time.Hour}
	// The start resync runs a lease round's period after start:
	// LeaseTTL/3, 100 ms of real time here (the lease itself lapses only
	// in miniredis's time, which the test moves).
	svc.LeaseTTL = 300 * time.Millisecond
	in := &instance{svc: svc, rdb: rdb, done: make(chan struct{}), held: make(chan pbx.Event, 100)}
	ctx, cancel := context.WithCancel(context.Background())
	in.cancel = cancel
	if err := svc.ClaimDevices(ctx); err != nil {
		t.Fatal(err)
	}
	go func() { defer close(in.done); _ = svc.Run(ctx) }()
	t.Cleanup(func() { in.stop(); rdb.Close() })
	r.b = in
	if !svc.Owns("1001") {
		t.Fatal("b did not claim 1001 at start")
	}
}

func batchedOrNot(t *testing.T, f func(t *testing.T, wrap func(adapter.Store) adapter.Store)) {
	t.Run("stored calls read in one round trip", func(t *testing.T) { f(t, nil) })
	t.Run("stored calls read device by device", func(t *testing.T) {
		f(t, func(s adapter.Store) adapter.Store { return unbatched{s} })
	})
}

// TestACallThatEndedWhileNoInstanceRanIsEndedAtStart: the instance
// handling the agent's phone stores a connected call and dies; the call
// ends on the switch while no instance runs; the next instance to start
// ends it (the agent gets its end: no ghost call), and it is logged once.
func TestACallThatEndedWhileNoInstanceRanIsEndedAtStart(t *testing.T) {
	batchedOrNot(t, func(t *testing.T, wrap func(adapter.Store) adapter.Store) {
		r := newStartRig(t)
		ctx := context.Background()
		id := r.ring("+14155550100")
		mark := r.bus.mark()
		if err := r.sw.Answer(ctx, "1001", id); err != nil {
			t.Fatal(err)
		}
		r.bus.wait(t, mark, "answered", callIs(adapter.EventCall, id, inState(pbx.Connected)))

		r.crashAndWait()
		r.clock.Advance(4 * time.Second)
		if err := r.sw.Clear(ctx, "1001", id); err != nil {
			t.Fatal(err)
		}
		if rec, err := r.st.Call(ctx, "1001", id); err != nil || !rec.Ended.IsZero() {
			t.Fatalf("before the start: %+v, %v; want the call stored live", rec, err)
		}

		mark = r.bus.mark()
		r.startAfter(wrap)
		r.bus.wait(t, mark, "the call's end", callIs(adapter.EventCallEnded, id, func(c *adapter.CallRecord) bool { return c.PostCall }))
		for _, ev := range r.bus.since(mark) {
			if ev.Type == adapter.EventCall && ev.Call.ID == id {
				t.Errorf("the ended call was pushed as live (%s) at start", ev.Call.State)
			}
		}
		rec, err := r.st.Call(ctx, "1001", id)
		if err != nil || rec.Ended.IsZero() || !rec.PostCall {
			t.Fatalf("after the start: %+v, %v; want the call ended, in post-call", rec, err)
		}
		if _, err := r.b.svc.WrapUp(ctx, r.alex, id, "save"); err != nil {
			t.Fatal(err)
		}
		r.b.svc.FlushOutbox(ctx)
		r.clock.Advance(11 * time.Minute) // the grace-period job comes due: wrapped up, it writes nothing
		r.b.svc.FlushOutbox(ctx)
		if n, err := r.st.OutboxLen(ctx); err != nil || n != 0 {
			t.Fatalf("outbox: %d jobs left (%v)", n, err)
		}
		if ts := r.crm.Tasks(id); len(ts) != 1 {
			t.Errorf("%d Tasks for the call, want 1: %+v", len(ts), ts)
		}
		if h := r.history(); len(h[id]) != 1 {
			t.Errorf("the call in the history %d times, want once", len(h[id]))
		}
	})
}

// TestACallThatRangWhileNoInstanceRanPopsAtStart: a call rings on the
// agent's phone while no instance runs; the next instance to start
// pushes it ringing, then with the caller's record to pop, and handles
// its end (logged once, as missed).
func TestACallThatRangWhileNoInstanceRanPopsAtStart(t *testing.T) {
	batchedOrNot(t, func(t *testing.T, wrap func(adapter.Store) adapter.Store) {
		r := newStartRig(t)
		ctx := context.Background()
		r.crashAndWait()
		id, err := r.sw.PlaceCall(ctx, sim.ExternalCall{From: "+14155550144", To: "1001"})
		if err != nil {
			t.Fatal(err)
		}

		mark := r.bus.mark()
		r.startAfter(wrap)
		r.bus.wait(t, mark, "the call ringing, with the caller's record to pop", callIs(adapter.EventCall, id, func(c *adapter.CallRecord) bool {
			return c.State == pbx.Alerting && c.Lookup == "" && c.Pop != nil && len(c.Pop.Matches) == 1
		}))
		if rec, err := r.st.Call(ctx, "1001", id); err != nil || rec.State != pbx.Alerting || !rec.Ended.IsZero() {
			t.Fatalf("stored: %+v, %v; want the call ringing", rec, err)
		}
		mark = r.bus.mark()
		if err := r.sw.FarHangup(ctx, id); err != nil {
			t.Fatal(err)
		}
		r.bus.wait(t, mark, "the missed call in the history", historyOf(id))
		r.b.svc.FlushOutbox(ctx)
		if ts := r.crm.Tasks(id); len(ts) != 1 || ts[0].CallDisposition != "Missed" {
			t.Errorf("Tasks %+v, want one, Missed", ts)
		}
	})
}
