package sim

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-cti/switchboard/pbx"
)

func TestSubscribeAllCarriesEveryDevicesEventsWithTheirOwnSeq(t *testing.T) {
	s, err := New(DemoConfig(), NewFakeClock(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	events, cancel, err := s.SubscribeAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		ext string
		on  bool
	}{{"1001", true}, {"1002", true}, {"1001", false}} {
		if err := s.SetDND(ctx, step.ext, step.on); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for range 3 {
		select {
		case ev := <-events:
			if ev.Type != pbx.DeviceUpdated {
				t.Fatalf("event %+v, want a device update", ev)
			}
			got = append(got, ev.Device+"#"+string(rune('0'+ev.Seq)))
		case <-time.After(5 * time.Second):
			t.Fatalf("only %v", got)
		}
	}
	if want := "[1001#1 1002#1 1001#2]"; fmtList(got) != want {
		t.Fatalf("events %s, want %s", fmtList(got), want)
	}
	cancel()
	if _, open := <-events; open {
		t.Fatal("channel open after cancel")
	}
	if _, _, err := s.SubscribeAll(canceled()); err == nil {
		t.Fatal("SubscribeAll with an ended context: no error")
	}
}

func fmtList(xs []string) string {
	out := "["
	for i, x := range xs {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out + "]"
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
