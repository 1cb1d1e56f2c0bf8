package adapter_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/adapter/redisstore"
	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/pbx/sim"
	"github.com/switchboard-cti/switchboard/salesforce"
)

// taskCRM is a CRM that finds one Contact for every number and keeps the
// Tasks written, by CallObject.
type taskCRM struct {
	adapter.CRM // nil: only the methods below are called

	mu    sync.Mutex
	n     int
	tasks map[string][]salesforce.Task // by CallObject
	ids   map[string]string            // Task id -> CallObject
}

func newTaskCRM() *taskCRM {
	return &taskCRM{tasks: map[string][]salesforce.Task{}, ids: map[string]string{}}
}

var caller = salesforce.Match{ID: "003000000000001AAA", Name: "Lucy Hall", Type: "Contact"}

func (c *taskCRM) ScreenPop(_ context.Context, r salesforce.PopRequest) (salesforce.PopResult, error) {
	m := caller
	m.Phone = r.ANI
	return salesforce.PopResult{Rule: "ani", Matches: []salesforce.Match{m}}, nil
}

func (c *taskCRM) FindByPhone(_ context.Context, number string) ([]salesforce.Match, error) {
	m := caller
	m.Phone = number
	return []salesforce.Match{m}, nil
}

func (c *taskCRM) UserByExtension(context.Context, string) (salesforce.User, error) {
	return salesforce.User{}, adapter.ErrNotFound
}

func (c *taskCRM) CreateTasks(_ context.Context, ts []salesforce.Task) ([]salesforce.SaveResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	res := make([]salesforce.SaveResult, len(ts))
	for i, t := range ts {
		c.n++
		id := fmt.Sprintf("00T00000000%04dAAA", c.n)
		c.tasks[t.CallObject] = append(c.tasks[t.CallObject], t)
		c.ids[id] = t.CallObject
		res[i] = salesforce.SaveResult{ID: id, Success: true}
	}
	return res, nil
}

func (c *taskCRM) UpdateTasks(_ context.Context, ids []string, ts []salesforce.Task) ([]salesforce.SaveResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	res := make([]salesforce.SaveResult, len(ts))
	for i, t := range ts {
		co := c.ids[ids[i]]
		c.tasks[co] = []salesforce.Task{t}
		res[i] = salesforce.SaveResult{ID: ids[i], Success: true}
	}
	return res, nil
}

func (c *taskCRM) FindCallTasks(_ context.Context, cos []string) (map[salesforce.CallTaskKey]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[salesforce.CallTaskKey]string{}
	for id, co := range c.ids {
		for _, want := range cos {
			if co == want {
				out[salesforce.CallTaskKey{CallObject: co, OwnerID: salesforce.ID15(c.tasks[co][0].OwnerID)}] = id
			}
		}
	}
	return out, nil
}

// Tasks returns the Tasks written for a call.
func (c *taskCRM) Tasks(callID string) []salesforce.Task {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]salesforce.Task(nil), c.tasks[callID]...)
}

// takeoverRig is two instances on one store (miniredis: a lease lapses
// only when the test fast-forwards it), one simulator and one clock.
// Instance a handles every device at first.
type takeoverRig struct {
	t     *testing.T
	mr    *miniredis.Miniredis
	clock *sim.FakeClock
	sw    *sim.Sim
	crm   *taskCRM
	a, b  *instance
	st    *redisstore.Store // the test's own connection
	alex  adapter.Agent
	bus   *busLog
	// perDevice: the instances see the switch through a channel per
	// device (as with pbx/asterisk), not one for all.
	perDevice bool
}

// deviceChannels hides the simulator's SubscribeAll: the Service then
// subscribes to each device on its own.
type deviceChannels struct{ pbx.Switch }

// instance is one Service with its own connection to the store.
type instance struct {
	svc    *adapter.Service
	rdb    *redis.Client
	cancel context.CancelFunc
	done   chan struct{}
	held   chan pbx.Event
}

const rigPrefix = "takeovertest:"

func newTakeoverRig(t *testing.T, perDevice bool) *takeoverRig {
	t.Helper()
	r := newRig(t, perDevice)
	r.a = r.start("a")
	r.b = r.start("b")
	if !r.a.svc.Owns("1001") || r.b.svc.Owns("1001") {
		t.Fatal("instance a should handle 1001, b not")
	}
	return r
}

// newRig is a rig with its Redis, switch, org and agent (Alex on 1001)
// and no instance started yet.
func newRig(t *testing.T, perDevice bool) *takeoverRig {
	t.Helper()
	r := &takeoverRig{t: t, mr: miniredis.RunT(t), clock: sim.NewFakeClock(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)), crm: newTaskCRM(), perDevice: perDevice}
	sw, err := sim.New(sim.DemoConfig(), r.clock)
	if err != nil {
		t.Fatal(err)
	}
	r.sw = sw
	rdb := redis.NewClient(&redis.Options{Addr: r.mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	r.st = redisstore.New(rdb, rigPrefix, r.clock.Now)
	ctx := context.Background()
	r.alex = adapter.Agent{UserID: "005000000000001AAA", Username: "alex@example.com", Name: "Alex Agent", Extension: "1001", HomeExtension: "1001"}
	if err := r.st.PutAgent(ctx, r.alex); err != nil {
		t.Fatal(err)
	}
	if err := r.st.SetDeviceUser(ctx, "1001", r.alex.UserID); err != nil {
		t.Fatal(err)
	}
	r.bus = listenBus(t, r.st)
	return r
}

// start starts an instance: it claims the devices nobody holds, then runs.
func (r *takeoverRig) start(name string) *instance {
	t := r.t
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: r.mr.Addr()})
	st := redisstore.New(rdb, rigPrefix, r.clock.Now)
	var sw pbx.Switch = r.sw
	if r.perDevice {
		sw = deviceChannels{r.sw}
	}
	svc := adapter.NewService(sw, r.crm, st, st, name, zerolog.Nop())
	svc.Now = r.clock.Now
	svc.AfterFunc = func(d time.Duration, f func()) { r.clock.AfterFunc(d, f) }
	// The outbox's own loop writes nothing after its first round (an hour
	// of linger on the fake clock): the test writes with FlushOutbox.
	svc.Outbox = adapter.OutboxConfig{Linger: time.Hour, Interval: time.Hour}
	in := &instance{svc: svc, rdb: rdb, done: make(chan struct{}), held: make(chan pbx.Event, 100)}
	adapter.OnHeld(svc, func(ev pbx.Event) { in.held <- ev })
	ctx, cancel := context.WithCancel(context.Background())
	in.cancel = cancel
	if err := svc.ClaimDevices(ctx); err != nil {
		t.Fatal(err)
	}
	go func() { defer close(in.done); _ = svc.Run(ctx) }()
	select {
	case <-svc.Monitoring():
	case <-time.After(30 * time.Second):
		t.Fatal("instance not monitoring")
	}
	t.Cleanup(func() { in.stop(); rdb.Close() })
	return in
}

func (in *instance) stop() {
	in.cancel()
	<-in.done
}

// crash kills the instance as kill -9 would for the others: its store
// connection drops first (no lease released), then its work stops.
func (r *takeoverRig) crash(in *instance) {
	_ = in.rdb.Close()
	in.stop()
}

// lapse makes the dead instance's leases lapse (in miniredis time) and
// waits until b handles 1001. (A renewal the dead instance sent just
// before its connection closed may reach the server after the first
// fast-forward: the lease is then fast-forwarded again.)
func (r *takeoverRig) lapse() {
	r.t.Helper()
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond) // the lease round runs on its own timer
	defer tick.Stop()
	for !r.b.svc.Owns("1001") {
		for _, k := range r.mr.Keys() {
			if v, err := r.mr.Get(k); err == nil && v == "a" && strings.HasSuffix(k, "monitor:1001") {
				r.mr.FastForward(r.b.svc.LeaseTTL + time.Second)
			}
		}
		select {
		case <-deadline:
			r.t.Fatal("b did not take 1001 over")
		case <-tick.C:
		}
	}
}

// waitHeld waits until in holds an event of the call of type typ (and, for
// a call update, with 1001 in state st when st is set).
func (in *instance) waitHeld(t *testing.T, callID string, typ pbx.EventType, st pbx.ConnState) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case ev := <-in.held:
			if ev.Type != typ || ev.Call == nil || ev.Call.ID != callID {
				continue
			}
			if p, _ := ev.Call.Party("1001"); st == "" || p.State == st {
				return
			}
		case <-deadline:
			t.Fatalf("call %s: no %s event held", callID, typ)
		}
	}
}

// busLog records every agent event of 1001 published by any instance.
type busLog struct {
	mu  sync.Mutex
	evs []adapter.AgentEvent
	new chan struct{}
}

func listenBus(t *testing.T, st *redisstore.Store) *busLog {
	t.Helper()
	l := &busLog{new: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = st.Listen(ctx, ready, func(ext string, ev adapter.AgentEvent) {
			if ext != "1001" {
				return
			}
			l.mu.Lock()
			l.evs = append(l.evs, ev)
			l.mu.Unlock()
			select {
			case l.new <- struct{}{}:
			default:
			}
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatal("bus not listening")
	}
	return l
}

// mark is how many events have arrived so far.
func (l *busLog) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.evs)
}

// since returns the events from mark on.
func (l *busLog) since(mark int) []adapter.AgentEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]adapter.AgentEvent(nil), l.evs[mark:]...)
}

// wait waits for an event from mark on that ok accepts, and returns its
// index.
func (l *busLog) wait(t *testing.T, mark int, what string, ok func(adapter.AgentEvent) bool) int {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		for i, ev := range l.since(mark) {
			if ok(ev) {
				return mark + i
			}
		}
		select {
		case <-l.new:
		case <-deadline:
			t.Fatalf("no push: %s", what)
		}
	}
}

func callIs(typ adapter.AgentEventType, id string, ok func(*adapter.CallRecord) bool) func(adapter.AgentEvent) bool {
	return func(ev adapter.AgentEvent) bool {
		return ev.Type == typ && ev.Call != nil && ev.Call.ID == id && (ok == nil || ok(ev.Call))
	}
}

func historyOf(id string) func(adapter.AgentEvent) bool {
	return func(ev adapter.AgentEvent) bool { return ev.Type == adapter.EventHistory && ev.CallID == id }
}

func inState(s pbx.ConnState) func(*adapter.CallRecord) bool {
	return func(r *adapter.CallRecord) bool { return r.State == s }
}

// history returns how often each call is in the agent's history.
func (r *takeoverRig) history() map[string][]adapter.HistoryEntry {
	r.t.Helper()
	hs, err := r.st.History(context.Background(), r.alex.UserID, adapter.HistoryAll)
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[string][]adapter.HistoryEntry{}
	for _, h := range hs {
		out[h.CallID] = append(out[h.CallID], h)
	}
	return out
}

// ring places a call from outside to 1001 and waits until the instance
// handling 1001 has pushed it ringing.
func (r *takeoverRig) ring(from string) string {
	r.t.Helper()
	mark := r.bus.mark()
	id, err := r.sw.PlaceCall(context.Background(), sim.ExternalCall{From: from, To: "1001"})
	if err != nil {
		r.t.Fatal(err)
	}
	r.bus.wait(r.t, mark, "ringing "+id, callIs(adapter.EventCall, id, inState(pbx.Alerting)))
	return id
}

// TestACallInTheTakeoverGapIsLoggedOnce: the instance handling the
// agent's phone dies while a call is connected; before its lease lapses,
// that call ends, a second call rings for 3 s and is given up by the
// caller, and a third starts ringing. When the other instance takes the
// phone over, the first two are logged once (the first with its whole
// duration, the second as missed), both are in the agent's history, the
// missed call is not pushed as ringing (it is over), and the third pops.
func TestACallInTheTakeoverGapIsLoggedOnce(t *testing.T) {
	bothWays(t, func(t *testing.T, perDevice bool) {
		r := newTakeoverRig(t, perDevice)
		ctx := context.Background()
		first := r.ring("+14155550100")
		mark := r.bus.mark()
		if err := r.sw.Answer(ctx, "1001", first); err != nil {
			t.Fatal(err)
		}
		r.bus.wait(t, mark, "answered", callIs(adapter.EventCall, first, inState(pbx.Connected)))
		r.b.waitHeld(t, first, pbx.CallUpdated, pbx.Connected)

		r.crash(r.a)
		mark = r.bus.mark()
		r.clock.Advance(4 * time.Second)
		if err := r.sw.Clear(ctx, "1001", first); err != nil {
			t.Fatal(err)
		}
		r.b.waitHeld(t, first, pbx.CallEnded, "")
		missed, err := r.sw.PlaceCall(ctx, sim.ExternalCall{From: "+14155550111", To: "1001"})
		if err != nil {
			t.Fatal(err)
		}
		r.clock.Advance(3 * time.Second)
		if err := r.sw.FarHangup(ctx, missed); err != nil {
			t.Fatal(err)
		}
		r.b.waitHeld(t, missed, pbx.CallEnded, "")
		third, err := r.sw.PlaceCall(ctx, sim.ExternalCall{From: "+14155550144", To: "1001"})
		if err != nil {
			t.Fatal(err)
		}
		r.b.waitHeld(t, third, pbx.CallUpdated, pbx.Alerting)
		if got := r.bus.since(mark); len(got) != 0 {
			t.Fatalf("pushes while nobody handled 1001: %+v", got)
		}

		r.lapse()
		r.bus.wait(t, mark, "the first call's end", callIs(adapter.EventCallEnded, first, func(c *adapter.CallRecord) bool { return c.PostCall }))
		r.bus.wait(t, mark, "the missed call in the history", historyOf(missed))
		r.bus.wait(t, mark, "the third call ringing, with the caller's record to pop", callIs(adapter.EventCall, third, func(c *adapter.CallRecord) bool {
			return c.State == pbx.Alerting && c.Lookup == "" && c.Pop != nil && len(c.Pop.Matches) == 1
		}))
		for _, ev := range r.bus.since(mark) {
			if ev.Type == adapter.EventCall && ev.Call.ID == missed {
				t.Errorf("the missed call was pushed as live (%s) after it was over", ev.Call.State)
			}
		}
		if _, err := r.b.svc.WrapUp(ctx, r.alex, first, "save"); err != nil {
			t.Fatal(err)
		}
		mark = r.bus.mark()
		if err := r.sw.FarHangup(ctx, third); err != nil {
			t.Fatal(err)
		}
		r.bus.wait(t, mark, "the third call in the history", historyOf(third))
		// The first call's grace-period job comes due too: the call was
		// wrapped up, so it writes nothing more.
		r.b.svc.FlushOutbox(ctx)
		r.clock.Advance(11 * time.Minute)
		r.b.svc.FlushOutbox(ctx)
		if n, err := r.st.OutboxLen(ctx); err != nil || n != 0 {
			t.Fatalf("outbox: %d jobs left (%v)", n, err)
		}

		if ts := r.crm.Tasks(first); len(ts) != 1 || ts[0].CallDurationInSeconds != 4 || ts[0].CallDisposition != "" {
			t.Errorf("first call: Tasks %+v, want one of 4 s", ts)
		}
		if ts := r.crm.Tasks(missed); len(ts) != 1 || ts[0].CallDisposition != "Missed" || ts[0].CallDurationInSeconds != 0 || ts[0].WhoID != caller.ID {
			t.Errorf("missed call: Tasks %+v, want one, Missed, 0 s, for the caller's Contact", ts)
		}
		h := r.history()
		if len(h[first]) != 1 || h[first][0].Missed {
			t.Errorf("first call in the history: %+v, want once, answered", h[first])
		}
		if len(h[missed]) != 1 || !h[missed][0].Missed {
			t.Errorf("missed call in the history: %+v, want once, missed", h[missed])
		}
	})
}

// TestATakeoverReplaysNothingThePreviousInstanceHandled: the instance
// handling the phone logs a missed call and answers another, then dies;
// the other instance, which held the same events, takes the phone over:
// no call is pushed as new again, no second call log is queued, the
// history has each call once.
func TestATakeoverReplaysNothingThePreviousInstanceHandled(t *testing.T) {
	bothWays(t, func(t *testing.T, perDevice bool) {
		r := newTakeoverRig(t, perDevice)
		ctx := context.Background()
		missed := r.ring("+14155550122")
		mark := r.bus.mark()
		r.clock.Advance(3 * time.Second)
		if err := r.sw.FarHangup(ctx, missed); err != nil {
			t.Fatal(err)
		}
		r.bus.wait(t, mark, "the missed call in the history", historyOf(missed))
		r.a.svc.FlushOutbox(ctx)
		if n, err := r.st.OutboxLen(ctx); err != nil || n != 0 || len(r.crm.Tasks(missed)) != 1 {
			t.Fatalf("a wrote the missed call's log: %d Tasks, %d jobs left (%v)", len(r.crm.Tasks(missed)), n, err)
		}
		r.b.waitHeld(t, missed, pbx.CallEnded, "")

		talking := r.ring("+14155550133")
		mark = r.bus.mark()
		if err := r.sw.Answer(ctx, "1001", talking); err != nil {
			t.Fatal(err)
		}
		r.bus.wait(t, mark, "answered, with its matches", callIs(adapter.EventCall, talking, func(c *adapter.CallRecord) bool {
			return c.State == pbx.Connected && c.Lookup == ""
		}))
		r.b.waitHeld(t, talking, pbx.CallUpdated, pbx.Connected)

		r.crash(r.a)
		mark = r.bus.mark()
		r.lapse()
		// The takeover's resync pushes the live call once, after whatever the
		// replay pushed.
		last := r.bus.wait(t, mark, "the resync", callIs(adapter.EventCall, talking, inState(pbx.Connected)))
		for _, ev := range r.bus.since(mark)[:last-mark] {
			if ev.Call != nil || ev.CallID != "" {
				t.Errorf("replay pushed %s %s %+v", ev.Type, ev.CallID, ev.Call)
			}
		}
		if n, err := r.st.OutboxLen(ctx); err != nil || n != 0 {
			t.Errorf("outbox: %d jobs after the takeover, want none (%v)", n, err)
		}
		if got := adapter.Held(r.b.svc); got != 0 {
			t.Errorf("%d events still held after the takeover", got)
		}
		r.b.svc.FlushOutbox(ctx)
		if ts := r.crm.Tasks(missed); len(ts) != 1 {
			t.Errorf("missed call: %d Tasks, want 1", len(ts))
		}
		h := r.history()
		if len(h[missed]) != 1 || len(h[talking]) != 0 {
			t.Errorf("history: %v, want the missed call once", h)
		}
		rec, err := r.st.Call(ctx, "1001", talking)
		if err != nil || rec.State != pbx.Connected || !rec.Ended.IsZero() {
			t.Errorf("the live call: %+v, %v; want connected", rec, err)
		}
	})
}

// TestAfterACleanStopACallInTheHandoverIsLoggedOnce: the instance handling
// the phone stops (its leases are released) and a call rings and is given
// up right away, before or after the other instance has taken the phone
// over: it is logged once, as missed, and in the history once.
func TestAfterACleanStopACallInTheHandoverIsLoggedOnce(t *testing.T) {
	bothWays(t, func(t *testing.T, perDevice bool) {
		r := newTakeoverRig(t, perDevice)
		ctx := context.Background()
		r.a.stop()
		missed, err := r.sw.PlaceCall(ctx, sim.ExternalCall{From: "+14155550155", To: "1001"})
		if err != nil {
			t.Fatal(err)
		}
		r.clock.Advance(2 * time.Second)
		if err := r.sw.FarHangup(ctx, missed); err != nil {
			t.Fatal(err)
		}
		r.bus.wait(t, 0, "the missed call in the history", historyOf(missed))
		r.b.svc.FlushOutbox(ctx)
		if ts := r.crm.Tasks(missed); len(ts) != 1 || ts[0].CallDisposition != "Missed" {
			t.Errorf("missed call: Tasks %+v, want one, Missed", ts)
		}
		if h := r.history(); len(h[missed]) != 1 {
			t.Errorf("history: %v, want the missed call once", h)
		}
		if !r.b.svc.Owns("1001") {
			t.Error("b does not handle 1001")
		}
	})
}

// bothWays runs f with the switch's events on one channel and on one
// channel per device.
func bothWays(t *testing.T, f func(t *testing.T, perDevice bool)) {
	t.Run("one channel for every device", func(t *testing.T) { f(t, false) })
	t.Run("a channel per device", func(t *testing.T) { f(t, true) })
}
