package sim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-cti/switchboard/pbx"
)

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want []string // substrings of the error
	}{
		{"an empty config names the missing extensions", func(c *Config) { *c = Config{} }, []string{"Extensions: at least one extension is required"}},
		{"a malformed extension is named", func(c *Config) { c.Extensions[0].Number = "1x" }, []string{`Extensions[0].Number "1x": must be 2-20 digits`}},
		{"a duplicate extension is named", func(c *Config) { c.Extensions[1].Number = "1001" }, []string{`Extensions[1].Number "1001": duplicate extension`}},
		{"an unknown kind is named", func(c *Config) { c.Extensions[0].Kind = "robot" }, []string{`Kind "robot"`}},
		{"a hot-desk extension without a PIN is named", func(c *Config) { c.Extensions[3].PIN = "" }, []string{"needs a PIN"}},
		{"a PIN on a regular phone is named", func(c *Config) { c.Extensions[0].PIN = "1" }, []string{"PIN is only for"}},
		{"a queue member that does not exist is named", func(c *Config) { c.Queues[0].Members = []string{"7777"} }, []string{`member "7777"`}},
		{"a queue number that is an extension is named", func(c *Config) { c.Queues[0].Number = "1001" }, []string{"is also an extension"}},
		{"a duplicate code is named", func(c *Config) { c.Reasons = append(c.Reasons, c.Reasons[0]) }, []string{`Reasons[4].Code "LUNCH": duplicate code`}},
		{"required classification without codes is named", func(c *Config) { c.Classifications = nil }, []string{"ClassificationRequired: set Classifications too"}},
		{"a negative duration is named", func(c *Config) { c.MaxHold = -time.Second }, []string{"MaxHold: must not be negative"}},
		{"several problems are reported together", func(c *Config) { c.Extensions[0].Number = "x"; c.NoAnswer = -1 }, []string{"Extensions[0]", "NoAnswer"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DemoConfig()
			tc.edit(&cfg)
			_, err := New(cfg, NewFakeClock(t0))
			if err == nil {
				t.Fatal("New: no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("New error %q does not mention %q", err, w)
				}
			}
		})
	}
	t.Run("a nil clock is refused", func(t *testing.T) {
		if _, err := New(DemoConfig(), nil); err == nil {
			t.Fatal("New(cfg, nil): no error")
		}
	})
}

func TestDemoConfig(t *testing.T) {
	s := mustSim(t)
	devs, err := s.Devices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if devs[0] != (pbx.Device{Extension: "1001", Name: "Alex Agent", Kind: pbx.KindRegular}) {
		t.Errorf("first device = %+v, want 1001 Alex Agent regular", devs[0])
	}
	codes, err := s.Codes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(codes.Reasons) == 0 || len(codes.Accounts) == 0 || len(codes.Classifications) == 0 || !codes.ClassificationRequired {
		t.Errorf("Codes = %+v, want reasons, accounts, classifications, required", codes)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func mustSim(t testing.TB) *Sim {
	t.Helper()
	cfg := DemoConfig()
	cfg.CallIDPrefix = "c"
	s, err := New(cfg, NewFakeClock(t0))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// next waits for one event with a deadline.
func next(t *testing.T, ch <-chan pbx.Event) pbx.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("channel closed, want an event")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return pbx.Event{}
}

func closed(t *testing.T, ch <-chan pbx.Event) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("channel not closed within 5s")
		}
	}
}

func TestSubscribe(t *testing.T) {
	ctx := context.Background()
	t.Run("a slow subscriber loses events and sees a Seq gap, the simulator does not block", func(t *testing.T) {
		s := mustSim(t)
		ch, cancel, err := s.Subscribe(ctx, ext1)
		if err != nil {
			t.Fatal(err)
		}
		defer cancel()
		for i := 0; i < SubscriberBuffer+10; i++ {
			if err := s.SetDND(ctx, ext1, i%2 == 0); err != nil {
				t.Fatal(err)
			}
		}
		for i := 1; i <= SubscriberBuffer; i++ {
			if ev := next(t, ch); ev.Seq != uint64(i) {
				t.Fatalf("event %d has Seq %d", i, ev.Seq)
			}
		}
		if err := s.SetDND(ctx, ext1, true); err != nil {
			t.Fatal(err)
		}
		ev := next(t, ch)
		if want := uint64(SubscriberBuffer + 11); ev.Seq != want {
			t.Errorf("after the gap Seq = %d, want %d", ev.Seq, want)
		}
		snap, err := s.Snapshot(ctx, ext1)
		if err != nil {
			t.Fatal(err)
		}
		if snap.Seq != ev.Seq || !snap.State.DND {
			t.Errorf("Snapshot = seq %d dnd %v, want seq %d dnd true", snap.Seq, snap.State.DND, ev.Seq)
		}
	})
	t.Run("cancel closes the channel and may be called twice", func(t *testing.T) {
		s := mustSim(t)
		ch, cancel, err := s.Subscribe(ctx, ext1)
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		cancel()
		closed(t, ch)
		if err := s.SetDND(ctx, ext1, true); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the end of the context closes the channel", func(t *testing.T) {
		s := mustSim(t)
		cctx, stop := context.WithCancel(ctx)
		ch, cancel, err := s.Subscribe(cctx, ext1)
		if err != nil {
			t.Fatal(err)
		}
		defer cancel()
		stop()
		closed(t, ch)
	})
	t.Run("an unknown device is refused", func(t *testing.T) {
		s := mustSim(t)
		if _, _, err := s.Subscribe(ctx, "9999"); !errors.Is(err, pbx.ErrUnknownDevice) {
			t.Errorf("Subscribe(9999) = %v, want ErrUnknownDevice", err)
		}
		if _, err := s.Snapshot(ctx, "9999"); !errors.Is(err, pbx.ErrUnknownDevice) {
			t.Errorf("Snapshot(9999) = %v, want ErrUnknownDevice", err)
		}
	})
	t.Run("a cancelled context fails every command", func(t *testing.T) {
		s := mustSim(t)
		cctx, stop := context.WithCancel(ctx)
		stop()
		if _, err := s.MakeCall(cctx, ext1, ext2); !errors.Is(err, context.Canceled) {
			t.Errorf("MakeCall = %v, want context.Canceled", err)
		}
		if err := s.Ping(cctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Ping = %v, want context.Canceled", err)
		}
	})
}

func TestSnapshotShowsCallsAndState(t *testing.T) {
	ctx := context.Background()
	s := mustSim(t)
	x, err := s.PlaceCall(ctx, ExternalCall{From: lucy, To: ext1, DNIS: "+18005550111"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetMakeBusy(ctx, ext1, true, "LUNCH"); err != nil {
		t.Fatal(err)
	}
	snap, err := s.Snapshot(ctx, ext1)
	if err != nil {
		t.Fatal(err)
	}
	want := pbx.Snapshot{
		Seq: 2,
		State: pbx.DeviceState{
			Device:   pbx.Device{Extension: ext1, Name: "Alex Agent", Kind: pbx.KindRegular},
			MakeBusy: true, Reason: "LUNCH", LoggedIn: true,
		},
		Calls: []pbx.Call{{
			ID: x, Direction: pbx.Inbound, ANI: lucy, DNIS: "+18005550111", Created: t0,
			Parties: []pbx.Party{
				{Number: lucy, State: pbx.Connected, Since: t0},
				{Number: ext1, Name: "Alex Agent", Internal: true, State: pbx.Alerting, Since: t0},
			},
		}},
	}
	if diff := cmp.Diff(want, snap); diff != "" {
		t.Errorf("Snapshot (-want +got):\n%s", diff)
	}
}

func TestRealClockDeliversTimers(t *testing.T) {
	cfg := DemoConfig()
	cfg.DefaultFarParty = Script{AnswerAfter: time.Millisecond}
	s, err := New(cfg, RealClock())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ch, cancel, err := s.Subscribe(ctx, ext1)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	if _, err := s.MakeCall(ctx, ext1, lucy); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, ch); ev.Cause != pbx.CauseNew {
		t.Fatalf("first event cause %q, want new", ev.Cause)
	}
	if ev := next(t, ch); ev.Cause != pbx.CauseAnswered {
		t.Fatalf("second event cause %q, want answered", ev.Cause)
	}
}

func TestFakeClock(t *testing.T) {
	c := NewFakeClock(t0)
	var got []string
	c.AfterFunc(2*time.Second, func() { got = append(got, "2s at "+c.Now().Sub(t0).String()) })
	c.AfterFunc(time.Second, func() {
		got = append(got, "1s at "+c.Now().Sub(t0).String())
		c.AfterFunc(500*time.Millisecond, func() { got = append(got, "nested at "+c.Now().Sub(t0).String()) })
	})
	stopped := c.AfterFunc(time.Second, func() { got = append(got, "stopped") })
	same := c.AfterFunc(time.Second, func() { got = append(got, "second 1s at "+c.Now().Sub(t0).String()) })
	if !stopped.Stop() || stopped.Stop() {
		t.Error("Stop: want true then false")
	}
	c.Advance(3 * time.Second)
	if same.Stop() {
		t.Error("Stop after firing = true, want false")
	}
	want := []string{"1s at 1s", "second 1s at 1s", "nested at 1.5s", "2s at 2s"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fired (-want +got):\n%s", diff)
	}
	if now := c.Now().Sub(t0); now != 3*time.Second {
		t.Errorf("Now = t0+%s, want t0+3s", now)
	}
	if c.Pending() != 0 {
		t.Errorf("Pending = %d, want 0", c.Pending())
	}
}

func TestConcurrentUse(t *testing.T) {
	cfg := DemoConfig()
	cfg.DefaultFarParty = Script{AnswerAfter: time.Millisecond, HangupAfter: 2 * time.Millisecond}
	cfg.MaxHold = time.Millisecond
	s, err := New(cfg, RealClock())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, ext := range []string{ext1, ext2, ext3} {
		ch, _, err := s.Subscribe(ctx, ext)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for range ch {
			}
		}()
	}
	done := make(chan struct{})
	for _, ext := range []string{ext1, ext2, ext3} {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 50 {
				id, err := s.MakeCall(ctx, ext, lucy)
				if err != nil {
					continue
				}
				_ = s.Hold(ctx, ext, id)
				_ = s.Retrieve(ctx, ext, id)
				_, _ = s.Snapshot(ctx, ext)
				_ = s.Clear(ctx, ext, id)
			}
		}()
	}
	go func() {
		defer func() { done <- struct{}{} }()
		for range 50 {
			_ = s.Calls()
			_ = s.DeviceStates()
		}
	}()
	for range 4 {
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("commands did not finish within 30s")
		}
	}
}
