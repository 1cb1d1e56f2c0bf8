package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/salesforce"
)

// roundTrips is a go-redis hook that counts round trips: one per command
// sent alone, one per pipeline or MULTI/EXEC sent as a whole. Pub/sub
// messages received are not round trips (nothing is asked).
type roundTrips struct {
	mu   sync.Mutex
	sent []string
}

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.add(strings.ToUpper(cmd.Name()))
		return next(ctx, cmd)
	}
}

func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		names := make([]string, len(cmds))
		for i, c := range cmds {
			names[i] = strings.ToUpper(c.Name())
		}
		h.add("[" + strings.Join(names, " ") + "]")
		return next(ctx, cmds)
	}
}

func (h *roundTrips) add(s string) { h.mu.Lock(); h.sent = append(h.sent, s); h.mu.Unlock() }

// take returns the round trips since the last take.
func (h *roundTrips) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.sent
	h.sent = nil
	return out
}

// heldCRM is a CRM whose screen-pop lookups wait until release is closed;
// entered gets one value per lookup that reached it.
type heldCRM struct {
	entered chan string
	release chan struct{}
}

func (c *heldCRM) ScreenPop(ctx context.Context, r salesforce.PopRequest) (salesforce.PopResult, error) {
	c.entered <- r.ANI
	<-c.release
	return salesforce.PopResult{Rule: "ani", Matches: []salesforce.Match{{ID: "003000000000001AAA", Name: "Lucy Hall", Type: "Contact"}}}, nil
}
func (c *heldCRM) FindByPhone(context.Context, string) ([]salesforce.Match, error) { return nil, nil }
func (c *heldCRM) CreateTasks(context.Context, []salesforce.Task) ([]salesforce.SaveResult, error) {
	return nil, nil
}
func (c *heldCRM) UpdateTasks(context.Context, []string, []salesforce.Task) ([]salesforce.SaveResult, error) {
	return nil, nil
}
func (c *heldCRM) FindCallTasks(context.Context, []string) (map[salesforce.CallTaskKey]string, error) {
	return nil, nil
}
func (c *heldCRM) UserByExtension(context.Context, string) (salesforce.User, error) {
	return salesforce.User{}, adapter.ErrNotFound
}
func (c *heldCRM) SearchContacts(context.Context, string, int) ([]salesforce.Match, error) {
	return nil, nil
}
func (c *heldCRM) Ping(context.Context) error { return nil }

// ringing is the switch event of an outside call ringing on ext.
func ringing(ext, id, ani string, at time.Time) pbx.Event {
	return pbx.Event{Type: pbx.CallUpdated, Device: ext, Time: at, Call: &pbx.Call{
		ID: id, Direction: pbx.Inbound, ANI: ani, DNIS: "+18005550100", Created: at,
		Parties: []pbx.Party{{Number: ani, State: pbx.Connected, Since: at}, {Number: ext, Internal: true, State: pbx.Alerting, Since: at}},
	}}
}

// answered is the event of that call answered on ext.
func answered(ext, id, ani string, at time.Time) pbx.Event {
	ev := ringing(ext, id, ani, at)
	ev.Call.Parties[1].State = pbx.Connected
	return ev
}

// pushes listens to the store's bus and returns the call events of ext.
func pushes(t *testing.T, ctx context.Context, s *Store, ext string) <-chan adapter.AgentEvent {
	t.Helper()
	got := make(chan adapter.AgentEvent, 100)
	ready := make(chan struct{})
	go s.Listen(ctx, ready, func(e string, ev adapter.AgentEvent) {
		if e == ext && ev.Type == adapter.EventCall {
			got <- ev
		}
	})
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("bus not listening")
	}
	return got
}

// nextPush waits for ext's next call push that satisfies ok.
func nextPush(t *testing.T, got <-chan adapter.AgentEvent, what string, ok func(adapter.CallRecord) bool) adapter.CallRecord {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-got:
			if ev.Call != nil && ok(*ev.Call) {
				return *ev.Call
			}
		case <-deadline:
			t.Fatalf("no push: %s", what)
		}
	}
}

func TestRingingPushTakesOneRoundTripAndAnAnswerTwo(t *testing.T) {
	backends(t, func(t *testing.T, s *Store, now *fakeNow) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		rt := &roundTrips{}
		s.rdb.AddHook(rt)
		crm := &heldCRM{entered: make(chan string, 10), release: make(chan struct{})}
		svc := adapter.NewService(nil, crm, s, s, "i1", zerolog.Nop())
		svc.Now = now.Now
		// One lookup at a time: the first call's lookup holds the slot
		// (waiting in ScreenPop), so the second call's lookup sends
		// nothing to Redis while its ringing path is counted.
		svc.LookupConcurrency, svc.LookupQueue = 1, 10
		got := pushes(t, ctx, s, "1001")

		if err := svc.HandleEvent(ctx, ringing("1001", "c-1", "+14155550101", now.Now())); err != nil {
			t.Fatal(err)
		}
		nextPush(t, got, "c-1 ringing", func(c adapter.CallRecord) bool { return c.ID == "c-1" })
		<-crm.entered // c-1's lookup holds the only slot

		rt.take()
		if err := svc.HandleEvent(ctx, ringing("1001", "c-2", "+14155550102", now.Now())); err != nil {
			t.Fatal(err)
		}
		rec := nextPush(t, got, "c-2 ringing", func(c adapter.CallRecord) bool { return c.ID == "c-2" })
		if sent := rt.take(); len(sent) != 1 {
			t.Errorf("ringing push: %d round trips %v, want 1", len(sent), sent)
		}
		if rec.State != pbx.Alerting || rec.Lookup != adapter.LookupPending {
			t.Errorf("ringing push: state %s, lookup %q; want alerting, pending", rec.State, rec.Lookup)
		}

		if err := svc.HandleEvent(ctx, answered("1001", "c-2", "+14155550102", now.Now())); err != nil {
			t.Fatal(err)
		}
		nextPush(t, got, "c-2 answered", func(c adapter.CallRecord) bool { return c.ID == "c-2" && c.State == pbx.Connected })
		if sent := rt.take(); len(sent) != 2 {
			t.Errorf("answer push: %d round trips %v, want 2", len(sent), sent)
		}

		// The lookups finish and their matches follow; nothing is left
		// running when the test's keys are deleted.
		close(crm.release)
		looked := map[string]bool{} // in either order: c-2's lookup may finish first
		for len(looked) < 2 {
			c := nextPush(t, got, "the matches of c-1 and c-2", func(c adapter.CallRecord) bool { return c.Lookup == "" && len(c.Matches) == 1 })
			looked[c.ID] = true
		}
		stored, err := s.Call(ctx, "1001", "c-2")
		if err != nil || stored.State != pbx.Connected || len(stored.Matches) != 1 {
			t.Errorf("stored c-2 = %+v, %v; want connected with its match", stored, err)
		}
	})
}

// UpdateCallPublish (scripts) and UpdateCall (WATCH/MULTI) writers on the
// same call: none loses another's change, and every stored change by
// UpdateCallPublish is pushed exactly once, in order.
func TestCallWritersOfBothKindsLoseNothing(t *testing.T) {
	backends(t, func(t *testing.T, s *Store, now *fakeNow) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		got := pushes(t, ctx, s, "1001")
		const writers, each = 6, 8
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				update := s.UpdateCall
				if w%2 == 0 {
					update = s.UpdateCallPublish
				}
				for i := range each {
					_, err := update(ctx, "1001", "c-1", func(rec *adapter.CallRecord, exists bool) (adapter.CallChange, error) {
						if !exists {
							*rec = adapter.CallRecord{ID: "c-1", Extension: "1001", Started: now.Now(), Matches: []salesforce.Match{}, Log: adapter.CallLog{QuickNotes: []string{}}}
						}
						rec.Log.QuickNotes = append(rec.Log.QuickNotes, fmt.Sprintf("%d-%d", w, i))
						return adapter.CallPut, nil
					})
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		rec, err := s.Call(ctx, "1001", "c-1")
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.Log.QuickNotes) != writers*each {
			t.Fatalf("%d quick notes stored, want %d: a writer overwrote another", len(rec.Log.QuickNotes), writers*each)
		}
		// The publishing writers' pushes: each one once, each carrying
		// more notes than the one before.
		last := 0
		for n := 0; n < writers/2*each; n++ {
			c := nextPush(t, got, fmt.Sprintf("push %d", n+1), func(adapter.CallRecord) bool { return true })
			if len(c.Log.QuickNotes) <= last {
				t.Fatalf("push %d has %d notes after one with %d", n+1, len(c.Log.QuickNotes), last)
			}
			last = len(c.Log.QuickNotes)
		}
		if n, _ := s.Seq(ctx, "1001"); n != writers/2*each {
			t.Errorf("Seq = %d, want %d (one event per stored change)", n, writers/2*each)
		}
	})
}

func TestUpdateCallPublishOnAnExistingCallChangesItAndKeepsItsTask(t *testing.T) {
	backends(t, func(t *testing.T, s *Store, now *fakeNow) {
		ctx := context.Background()
		base := adapter.CallRecord{ID: "c-1", Extension: "1001", State: pbx.Alerting, Started: now.Now(), Matches: []salesforce.Match{}, Log: adapter.CallLog{QuickNotes: []string{"kept"}}}
		if err := s.PutCall(ctx, base); err != nil {
			t.Fatal(err)
		}
		if err := s.SetCallTask(ctx, "1001", "c-1", "00T000000000001AAA"); err != nil {
			t.Fatal(err)
		}
		var calls []bool
		rec, err := s.UpdateCallPublish(ctx, "1001", "c-1", func(rec *adapter.CallRecord, exists bool) (adapter.CallChange, error) {
			calls = append(calls, exists)
			if !exists {
				*rec = adapter.CallRecord{ID: "c-1", Extension: "1001", Log: adapter.CallLog{QuickNotes: []string{}}}
			}
			rec.State = pbx.Connected
			return adapter.CallPut, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// Tried as new first (no read), then on the stored record.
		if !slices.Equal(calls, []bool{false, true}) {
			t.Errorf("f called with exists %v, want [false true]", calls)
		}
		stored, err := s.Call(ctx, "1001", "c-1")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []adapter.CallRecord{rec, stored} {
			if c.State != pbx.Connected || !slices.Equal(c.Log.QuickNotes, []string{"kept"}) || c.TaskID != "00T000000000001AAA" {
				t.Errorf("record %+v: want connected, its quick note and its Task id", c)
			}
		}

		// A writer that keeps or deletes reads first: no guess stores.
		_, err = s.UpdateCallPublish(ctx, "1001", "c-9", func(rec *adapter.CallRecord, exists bool) (adapter.CallChange, error) {
			if !exists {
				return adapter.CallKeep, nil
			}
			t.Error("c-9 does not exist")
			return adapter.CallKeep, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateCallPublish(ctx, "1001", "c-1", func(*adapter.CallRecord, bool) (adapter.CallChange, error) {
			return adapter.CallDelete, nil
		}); err != nil {
			t.Fatal(err)
		}
		if calls, _ := s.Calls(ctx, "1001"); len(calls) != 0 {
			t.Errorf("Calls = %v after delete, want none", calls)
		}
	})
}

func TestTheRingingEventIsWhatJSONMarshalMakes(t *testing.T) {
	rec := adapter.CallRecord{ID: "c-1", Extension: "1001", State: pbx.Alerting, Matches: []salesforce.Match{}, Log: adapter.CallLog{QuickNotes: []string{}}, Lookup: adapter.LookupPending}
	b, _ := json.Marshal(rec)
	want, _ := json.Marshal(adapter.AgentEvent{Type: adapter.EventCall, Call: &rec})
	if got := callEvent(string(b)); got != string(want) {
		t.Errorf("event\n got %s\nwant %s", got, want)
	}
}

func TestListenOnSeveralSubscriptionsDeliversTheFirstCopyInOrder(t *testing.T) {
	var got []string
	f := func(ext string, ev adapter.AgentEvent) { got = append(got, fmt.Sprintf("%s#%d", ext, ev.Seq)) }
	c := &firstCopy{last: map[string]uint64{}}
	for _, in := range []struct {
		ext string
		seq uint64
	}{
		{"1001", 1}, {"1001", 2}, {"1002", 1}, // from the publishing master
		{"1001", 1}, {"1002", 1}, {"1001", 2}, // the same, late, from another
		{"1001", 3},
		{"1001", 2000}, {"1001", 5}, // numbered afresh (seq key lost): passed on
		{"", 0}, {"1002", 1}, // resync: sockets start over
	} {
		c.deliver(in.ext, adapter.AgentEvent{Seq: in.seq}, f)
	}
	want := []string{"1001#1", "1001#2", "1002#1", "1001#3", "1001#2000", "1001#5", "#0", "1002#1"}
	if !slices.Equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
}
