package simremote

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"

	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/pbx/sim"
)

const (
	lucy = "+14155550123"
	ext1 = "1001"
	ext2 = "1002"
	ext3 = "1003"
)

// gate sits in front of the simulator: it can cut the events links and
// refuse new ones, as a network outage or a simulator restart would.
type gate struct {
	h       http.Handler
	mu      sync.Mutex
	refuse  bool
	cancels []context.CancelFunc
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/sim/v1/events" {
		g.h.ServeHTTP(w, r)
		return
	}
	g.mu.Lock()
	if g.refuse {
		g.mu.Unlock()
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	g.cancels = append(g.cancels, cancel)
	g.mu.Unlock()
	g.h.ServeHTTP(w, r.WithContext(ctx))
}

// cut ends every events link and refuses new ones until open.
func (g *gate) cut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refuse = true
	for _, c := range g.cancels {
		c()
	}
	g.cancels = nil
}

func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refuse = false
}

type fixture struct {
	sim  *sim.Sim
	gate *gate
	d    *Driver
	ctx  context.Context
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureLog(t, zerolog.Nop())
}

func newFixtureLog(t *testing.T, log zerolog.Logger) *fixture {
	t.Helper()
	cfg := sim.DemoConfig()
	cfg.CallIDPrefix = "c"
	s, err := sim.New(cfg, sim.NewFakeClock(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{h: s.Handler()}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	d, err := New(Config{URL: srv.URL, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	f := &fixture{sim: s, gate: g, d: d, ctx: ctx}
	f.wait(t, "the first sync", d.syncedNow)
	return f
}

func (f *fixture) wait(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within 10s", what)
	}
}

func next(t *testing.T, ch <-chan pbx.Event) pbx.Event {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return pbx.Event{}
}

func TestDriverFollowsTheSimulatorAndDrivesIt(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx
	devs, err := f.d.Devices(ctx)
	if err != nil || len(devs) != 7 || devs[0].Extension != ext1 {
		t.Fatalf("Devices = %v, %v; want the demo switch's 7", devs, err)
	}
	if err := f.d.Ping(ctx); err != nil {
		t.Fatalf("Ping after sync: %v", err)
	}
	all, cancel, err := f.d.SubscribeAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	id, err := f.sim.PlaceCall(ctx, sim.ExternalCall{From: lucy, To: ext1})
	if err != nil {
		t.Fatal(err)
	}
	ev := next(t, all)
	if ev.Device != ext1 || ev.Seq != 1 || ev.Type != pbx.CallUpdated || ev.Call.ID != id || ev.Call.ANI != lucy {
		t.Fatalf("event = %+v, want 1001's ringing call with seq 1", ev)
	}
	if err := f.d.Answer(ctx, ext1, id); err != nil {
		t.Fatalf("Answer: %v", err)
	}
	if ev := next(t, all); ev.Seq != 2 || ev.Cause != pbx.CauseAnswered {
		t.Fatalf("event = %+v, want the answer with seq 2", ev)
	}
	snap, err := f.d.Snapshot(ctx, ext1)
	if err != nil || snap.Seq != 2 || len(snap.Calls) != 1 || snap.Calls[0].ID != id {
		t.Fatalf("Snapshot = %+v, %v; want seq 2 and the call", snap, err)
	}
	other, err := f.d.MakeCall(ctx, ext2, ext3)
	if err != nil || other == "" {
		t.Fatalf("MakeCall = %q, %v", other, err)
	}
	if codes, _ := f.d.Codes(ctx); len(codes.Reasons) != 4 || !codes.ClassificationRequired {
		t.Fatalf("Codes = %+v, want the demo switch's", codes)
	}

	// The simulator's errors come back as the same pbx errors.
	_ = f.sim.SetDND(ctx, ext3, true)
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"an unknown call", f.d.Hold(ctx, ext1, "c99"), pbx.ErrUnknownCall},
		{"an unknown device", f.d.SetDND(ctx, "1999", true), pbx.ErrUnknownDevice},
		{"a device in DND", func() error { _, err := f.d.MakeCall(ctx, ext1, ext3); return err }(), pbx.ErrDND},
		{"a wrong PIN", f.d.HotDeskLogin(ctx, "2001", "0000"), pbx.ErrAuth},
		{"an unknown reason", f.d.SetMakeBusy(ctx, ext1, true, "NAP"), pbx.ErrInvalid},
		{"a missing number", func() error { _, err := f.d.MakeCall(ctx, ext1, ""); return err }(), pbx.ErrInvalid},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if _, _, err := f.d.Subscribe(ctx, "1999"); !errors.Is(err, pbx.ErrUnknownDevice) {
		t.Errorf("Subscribe(1999) = %v, want ErrUnknownDevice", err)
	}
}

func TestDriverReconnectsAndResyncsWhatChangedWhileDown(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx
	subs := map[string]<-chan pbx.Event{}
	for _, ext := range []string{ext1, ext2, ext3} {
		ch, cancel, err := f.d.Subscribe(ctx, ext)
		if err != nil {
			t.Fatal(err)
		}
		defer cancel()
		subs[ext] = ch
	}
	gone, err := f.sim.PlaceCall(ctx, sim.ExternalCall{From: lucy, To: ext1})
	if err != nil {
		t.Fatal(err)
	}
	if ev := next(t, subs[ext1]); ev.Call == nil || ev.Call.ID != gone || ev.Seq != 1 {
		t.Fatalf("event = %+v, want the ringing call", ev)
	}

	f.gate.cut()
	f.wait(t, "link loss", f.d.downNow)
	if err := f.d.Ping(ctx); !errors.Is(err, pbx.ErrUnavailable) {
		t.Fatalf("Ping while down = %v, want ErrUnavailable", err)
	}
	// While the link is down: the caller hangs up, 1002 turns DND on, a
	// new call rings 1003.
	if err := f.sim.FarHangup(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.SetDND(ctx, ext2, true); err != nil {
		t.Fatal(err)
	}
	fresh, err := f.sim.PlaceCall(ctx, sim.ExternalCall{From: lucy, To: ext3})
	if err != nil {
		t.Fatal(err)
	}
	f.gate.open()
	f.wait(t, "the resync", f.d.syncedNow)
	if err := f.d.Ping(ctx); err != nil {
		t.Fatalf("Ping after the resync: %v", err)
	}

	ev := next(t, subs[ext1])
	if ev.Type != pbx.CallEnded || ev.Call.ID != gone || ev.Seq != 2 || ev.Call.Ended.IsZero() {
		t.Fatalf("1001 got %+v, want CallEnded for %s with seq 2", ev, gone)
	}
	for _, p := range ev.Call.Parties {
		if p.State != pbx.Disconnected {
			t.Errorf("party %s is %s in the ended call, want disconnected", p.Number, p.State)
		}
	}
	if ev := next(t, subs[ext2]); ev.Type != pbx.DeviceUpdated || !ev.State.DND || ev.Seq != 1 {
		t.Fatalf("1002 got %+v, want DeviceUpdated with DND on", ev)
	}
	if ev := next(t, subs[ext3]); ev.Type != pbx.CallUpdated || ev.Call.ID != fresh || ev.Seq != 1 {
		t.Fatalf("1003 got %+v, want the new call", ev)
	}
	if snap, _ := f.d.Snapshot(ctx, ext1); len(snap.Calls) != 0 || snap.Seq != 2 {
		t.Fatalf("1001's snapshot = %+v, want no call at seq 2", snap)
	}
	// Events after the resync follow on, without repeats.
	if err := f.d.Answer(ctx, ext3, fresh); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, subs[ext3]); ev.Cause != pbx.CauseAnswered || ev.Seq != 2 {
		t.Fatalf("1003 got %+v, want the answer with seq 2", ev)
	}
	select {
	case ev := <-subs[ext1]:
		t.Fatalf("1001 got %+v after the resync, want nothing more", ev)
	default:
	}
}

// lockedBuffer is a log sink the driver's goroutine writes while the test
// reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

func TestAnOutageIsWarnedOnceNotAtEveryRetry(t *testing.T) {
	var logs lockedBuffer
	f := newFixtureLog(t, zerolog.New(&logs).Level(zerolog.InfoLevel))
	const warning = `"level":"warn","error"`
	for outage := 1; outage <= 2; outage++ {
		f.gate.cut()
		// Each receive is a later failure than the one before: the link
		// loss and at least two failed reconnects. Run writes a failure's
		// line before it tries again.
		for range 3 {
			f.wait(t, "a failure", f.d.downNow)
		}
		if n := logs.count(warning); n != outage {
			t.Fatalf("outage %d: %d warnings, want %d (one per outage):\n%s", outage, n, outage, logs.String())
		}
		f.gate.open()
		f.wait(t, "the resync", f.d.syncedNow)
	}
}

func TestDriverSaysWhyItCannotConnect(t *testing.T) {
	token := "right-token-right-token-right-token"
	s, _ := sim.New(sim.DemoConfig(), sim.RealClock())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":"unauthorized","message":"wrong token"}}`))
			return
		}
		s.Handler().ServeHTTP(w, r)
	}))
	defer srv.Close()
	d, err := New(Config{URL: srv.URL, Token: "wrong", Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	synced, err := d.session(ctx)
	if synced || err == nil || !strings.Contains(err.Error(), "SWITCHBOARD_SIM_API_TOKEN") {
		t.Fatalf("session = %v, %v; want a refusal naming SWITCHBOARD_SIM_API_TOKEN", synced, err)
	}
	if err := d.SetDND(ctx, ext1, true); !errors.Is(err, pbx.ErrUnavailable) {
		t.Fatalf("a command with the wrong token = %v, want ErrUnavailable", err)
	}
	short, cancelShort := context.WithCancel(ctx)
	cancelShort()
	if _, err := d.Devices(short); !errors.Is(err, pbx.ErrUnavailable) {
		t.Fatalf("Devices before any sync = %v, want ErrUnavailable", err)
	}
	for _, bad := range []string{"", "ftp://x", "http://", "http://host:1/path", "localhost:7070"} {
		if _, err := New(Config{URL: bad}); !errors.Is(err, pbx.ErrInvalid) {
			t.Errorf("New(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestDecodeErrorNeverPanicsOnBadBodies(t *testing.T) {
	for _, body := range []string{"", "null", "[]", `{"error":null}`, `{"error":{"code":7}}`, `{"error":{"code":"busy","wraps":[1]}}`, "\xff", `{"error":{"code":"nonsense","message":"x"}}`} {
		err := decodeError(http.StatusConflict, []byte(body))
		if err == nil {
			t.Errorf("decodeError(%q) = nil", body)
		}
	}
	if err := decodeError(409, []byte(`{"error":{"code":"busy","message":"m","wraps":["do_not_disturb","busy"]}}`)); !errors.Is(err, pbx.ErrBusy) || !errors.Is(err, pbx.ErrDND) {
		t.Errorf("decodeError keeps only %v, want busy and DND", err)
	}
}

func TestDriverDropsALinkThatBreaksTheProtocol(t *testing.T) {
	sync := `{"type":"sync","protocol":1,"codes":{},"devices":[{"extension":"1001","name":"A","kind":"regular"}],"snapshots":[]}`
	for _, tc := range []struct {
		name     string
		subproto bool
		msgs     []string // "bin:" sends binary
		want     string
	}{
		{"no subprotocol agreed", false, nil, "does not speak switchboard-sim.v1"},
		{"events before the sync", true, []string{`{"type":"events","events":[]}`}, "want sync of protocol 1"},
		{"another protocol version", true, []string{`{"type":"sync","protocol":2}`}, "want sync of protocol 1"},
		{"malformed JSON", true, []string{`{"type":`}, "malformed message"},
		{"a binary message", true, []string{"bin:{}"}, "binary message"},
		{"a second sync", true, []string{sync, sync}, `message of type "sync"`},
		{"a sequence gap", true, []string{sync, `{"type":"events","events":[{"seq":2,"device":"1001","type":"device.updated"}]}`}, "skipped a sequence number"},
		{"null events and unknown devices are ignored, then the link ends", true, []string{sync,
			`{"type":"events","events":[{"seq":1,"device":"1001","type":"call.updated"},{"seq":1,"device":"9999","type":"call.ended"},{"seq":2,"device":"1001","type":"device.updated"}]}`}, "events:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				opts := &websocket.AcceptOptions{}
				if tc.subproto {
					opts.Subprotocols = []string{sim.Subprotocol}
				}
				conn, err := websocket.Accept(w, r, opts)
				if err != nil {
					return
				}
				defer conn.CloseNow()
				for _, m := range tc.msgs {
					typ, b := websocket.MessageText, []byte(m)
					if rest, ok := strings.CutPrefix(m, "bin:"); ok {
						typ, b = websocket.MessageBinary, []byte(rest)
					}
					if conn.Write(r.Context(), typ, b) != nil {
						return
					}
				}
				conn.Close(websocket.StatusNormalClosure, "")
			}))
			defer srv.Close()
			d, err := New(Config{URL: srv.URL, Log: zerolog.Nop()})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err = d.session(ctx)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("session = %v, want an error with %q", err, tc.want)
			}
		})
	}
}
