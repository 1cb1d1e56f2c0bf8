package adapter_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/adapter/redisstore"
	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/pbx/sim"
	"github.com/switchboard-cti/switchboard/salesforce"
)

// recordingCRM is a CRM that accepts every Task write and records each
// Collections request: the AsUsername of each Task in it.
type recordingCRM struct {
	adapter.CRM // nil: the outbox calls only the methods below

	mu       sync.Mutex
	requests [][]string
	n        int
	// sent, when set, receives the number of Tasks of each request.
	sent chan int
}

func (c *recordingCRM) CreateTasks(_ context.Context, ts []salesforce.Task) ([]salesforce.SaveResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	users := make([]string, len(ts))
	res := make([]salesforce.SaveResult, len(ts))
	for i, t := range ts {
		users[i] = t.AsUsername
		c.n++
		res[i] = salesforce.SaveResult{ID: fmt.Sprintf("00T00000000%04dAAA", c.n), Success: true}
	}
	sort.Strings(users)
	c.requests = append(c.requests, users)
	if c.sent != nil {
		c.sent <- len(ts)
	}
	return res, nil
}

func (c *recordingCRM) UpdateTasks(ctx context.Context, _ []string, ts []salesforce.Task) ([]salesforce.SaveResult, error) {
	return c.CreateTasks(ctx, ts)
}

func (c *recordingCRM) FindCallTasks(context.Context, []string) (map[salesforce.CallTaskKey]string, error) {
	return nil, nil
}

// TestCallLogsOfManyAgentsShareACollectionsRequest: written as the
// integration user (the default), the call logs of different agents go out
// together; written as each agent (SWITCHBOARD_SF_WRITE_AS=agent), one
// request per agent, since a request carries one user's token. (The load
// smoke showed one request per Task: every job carries its agent's
// username, and the outbox grouped by it even when the integration user
// wrote them all.)
func TestCallLogsOfManyAgentsShareACollectionsRequest(t *testing.T) {
	for _, tc := range []struct {
		name    string
		asAgent bool
		want    [][]string
	}{
		{"as the integration user: one request for three agents", false, [][]string{{"", "", "", ""}}},
		{"as each agent: one request per agent", true, [][]string{{"a1@x"}, {"a2@x", "a2@x"}, {"a3@x"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			crm := &recordingCRM{}
			svc, st := newOutboxService(t, crm, nil)
			now := svc.Now()
			svc.Outbox.AsAgent = tc.asAgent
			ctx := context.Background()
			for i, user := range []string{"a1@x", "a2@x", "a2@x", "a3@x"} {
				id := fmt.Sprintf("call-%d", i)
				ext := fmt.Sprintf("10%02d", i)
				job := adapter.TaskJob{Key: id + "/" + ext, UserID: "005000000000001AAA", Extension: ext, CallID: id, Created: now, AsUsername: user,
					Task: salesforce.Task{Subject: "Call: Inbound", OwnerID: "005000000000001AAA", CallType: "Inbound", CallObject: id}}
				if err := st.EnqueueTask(ctx, job); err != nil {
					t.Fatal(err)
				}
			}
			svc.FlushOutbox(ctx)
			sort.Slice(crm.requests, func(i, j int) bool { return crm.requests[i][0] < crm.requests[j][0] })
			if diff := cmp.Diff(tc.want, crm.requests); diff != "" {
				t.Errorf("Collections requests by the AsUsername of their Tasks (-want +got)\n%s", diff)
			}
		})
	}
}

// newOutboxService is a Service on miniredis with crm and sw (may be nil
// when the Service is not run).
func newOutboxService(t *testing.T, crm adapter.CRM, sw pbx.Switch) (*adapter.Service, *redisstore.Store) {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	st := redisstore.New(rdb, "outboxtest:", func() time.Time { return now })
	svc := adapter.NewService(sw, crm, st, st, "test", zerolog.Nop())
	svc.Now = func() time.Time { return now }
	return svc, st
}

// TestAFullRoundOfCallLogsDoesNotWaitForTheLinger: the linger gathers call
// logs into shared requests, but once a full round (BatchSize x InFlight)
// is queued they go at once.
func TestAFullRoundOfCallLogsDoesNotWaitForTheLinger(t *testing.T) {
	clock := sim.NewFakeClock(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	sw, err := sim.New(sim.DemoConfig(), clock)
	if err != nil {
		t.Fatal(err)
	}
	crm := &recordingCRM{sent: make(chan int, 10)}
	svc, st := newOutboxService(t, crm, sw)
	svc.Outbox = adapter.OutboxConfig{BatchSize: 2, InFlight: 2, Linger: time.Hour, Interval: time.Hour}
	lingering := make(chan struct{}, 10)
	svc.AfterFunc = func(d time.Duration, f func()) {
		if d == time.Hour {
			lingering <- struct{}{} // the linger never ends by itself here
			return
		}
		time.AfterFunc(d, f)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	t.Cleanup(func() { cancel(); <-stopped })
	queue := func(i int) {
		id := fmt.Sprintf("call-%d", i)
		job := adapter.TaskJob{Key: id + "/1001", UserID: "005000000000001AAA", Extension: "1001", CallID: id, Created: time.Now(),
			Task: salesforce.Task{Subject: "Call: Inbound", OwnerID: "005000000000001AAA", CallType: "Inbound", CallObject: id}}
		if err := st.EnqueueTask(ctx, job); err != nil {
			t.Fatal(err)
		}
		svc.Wake()
	}
	// One call log queued before the outbox starts: its first read sends
	// it, then the wake-up it left makes the outbox linger with nothing
	// queued since that read. (Queued after the start, it could race the
	// first read, and the count of call logs queued since the last read
	// would include one that read took.)
	queue(0)
	go func() { defer close(stopped); _ = svc.Run(ctx) }()
	if n := <-crm.sent; n != 1 {
		t.Fatalf("first request: %d Tasks, want 1", n)
	}
	select {
	case <-lingering:
	case <-time.After(30 * time.Second):
		t.Fatal("the outbox never lingered")
	}
	// A full round: sent without waiting for the linger's end.
	for i := 1; i <= 4; i++ {
		queue(i)
	}
	for got := 1; got < 5; {
		select {
		case n := <-crm.sent:
			got += n
		case <-time.After(30 * time.Second):
			t.Fatalf("%d of 5 call logs sent; the rest wait for the hour's linger", got)
		}
	}
}

// gatedCRM is a recordingCRM whose Collections requests each wait for the
// test: entered receives when one starts, release lets it finish.
type gatedCRM struct {
	*recordingCRM
	entered, release chan struct{}
}

func (c *gatedCRM) CreateTasks(ctx context.Context, ts []salesforce.Task) ([]salesforce.SaveResult, error) {
	c.entered <- struct{}{}
	<-c.release
	return c.recordingCRM.CreateTasks(ctx, ts)
}

// TestCallLogsQueuedDuringARoundWaitForTheLinger: at a steady flow of calls
// and a slow org, the call logs queued while a request is out wait for the
// linger, so they share a request; before, the outbox read again as soon
// as the round ended and sent what had come meanwhile (one small request
// per Salesforce round trip: 70 Collections creates per 1,000 calls at
// 200 calls/s and 50 ms per request, against 13 at 0 ms).
func TestCallLogsQueuedDuringARoundWaitForTheLinger(t *testing.T) {
	clock := sim.NewFakeClock(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	sw, err := sim.New(sim.DemoConfig(), clock)
	if err != nil {
		t.Fatal(err)
	}
	crm := &gatedCRM{recordingCRM: &recordingCRM{sent: make(chan int, 10)}, entered: make(chan struct{}, 10), release: make(chan struct{})}
	svc, st := newOutboxService(t, crm, sw)
	svc.Outbox = adapter.OutboxConfig{BatchSize: 200, InFlight: 4, Linger: time.Hour, Interval: time.Hour}
	lingers := make(chan func(), 10)
	svc.AfterFunc = func(d time.Duration, f func()) {
		if d == time.Hour {
			lingers <- f // the test ends the linger
			return
		}
		time.AfterFunc(d, f)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); _ = svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); close(crm.release); <-stopped })
	queue := func(i int) {
		id := fmt.Sprintf("call-%d", i)
		job := adapter.TaskJob{Key: id + "/1001", UserID: "005000000000001AAA", Extension: "1001", CallID: id, Created: time.Now(),
			Task: salesforce.Task{Subject: "Call: Inbound", OwnerID: "005000000000001AAA", CallType: "Inbound", CallObject: id}}
		if err := st.EnqueueTask(ctx, job); err != nil {
			t.Fatal(err)
		}
		svc.Wake()
	}
	wait := func(what string) {
		t.Helper()
		select {
		case <-crm.entered:
		case f := <-lingers:
			f()
			select {
			case <-crm.entered:
			case <-time.After(30 * time.Second):
				t.Fatalf("%s: no request after the linger", what)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: no request", what)
		}
	}
	// The first call log goes out (at start or after a linger); its
	// request is held while two more calls end.
	queue(0)
	wait("first call log")
	queue(1)
	queue(2)
	crm.release <- struct{}{}
	if n := <-crm.sent; n != 1 {
		t.Fatalf("first request: %d Tasks, want 1", n)
	}
	// The next thing the outbox does is linger, not send.
	select {
	case <-crm.entered:
		t.Fatal("the call logs queued during the round went out at once, without the linger")
	case f := <-lingers:
		f()
	case <-time.After(30 * time.Second):
		t.Fatal("the outbox neither lingered nor sent")
	}
	select {
	case <-crm.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("no request after the linger")
	}
	crm.release <- struct{}{}
	if n := <-crm.sent; n != 2 {
		t.Fatalf("second request: %d Tasks, want both call logs queued during the first", n)
	}
}
