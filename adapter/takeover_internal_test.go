package adapter

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/switchboard-cti/switchboard/pbx"
)

// TestHeldEventsAreBounded: a device another instance handles keeps at
// most heldPerDevice events (the oldest go), none older than heldFor, and
// the instance at most heldTotal; a device that lost events is marked, so
// a takeover resyncs it.
func TestHeldEventsAreBounded(t *testing.T) {
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	s := NewService(nil, nil, nil, nil, "bounds", zerolog.Nop())
	s.Now = func() time.Time { return now }
	w := s.newWatcher()
	ctx := context.Background()
	seq := map[string]uint64{}
	send := func(ext string, typ pbx.EventType) {
		seq[ext]++
		w.event(ctx, pbx.Event{Seq: seq[ext], Device: ext, Type: typ, Call: &pbx.Call{ID: "c"}, Time: now})
	}

	for range heldPerDevice + 10 {
		send("1001", pbx.CallUpdated)
	}
	d := w.devs["1001"]
	if len(d.held) != heldPerDevice || d.held[0].ev.Seq != 11 || !d.lost {
		t.Fatalf("per device: %d held from Seq %d, lost %v; want %d from 11, lost", len(d.held), d.held[0].ev.Seq, d.lost, heldPerDevice)
	}
	send("1001", pbx.DigitsReceived) // nothing to replay: not held
	if len(d.held) != heldPerDevice || s.held.Load() != heldPerDevice {
		t.Fatalf("after DTMF: %d held (%d in all)", len(d.held), s.held.Load())
	}

	now = now.Add(s.heldFor() + time.Millisecond)
	send("1002", pbx.CallEnded) // a round of the sweep: 1001's are too old
	if len(d.held) != 0 || s.held.Load() != 1 {
		t.Fatalf("after heldFor: 1001 holds %d, %d in all; want 0 and 1", len(d.held), s.held.Load())
	}

	s.held.Store(heldTotal) // as if every other device held its share
	send("1003", pbx.CallUpdated)
	if d := w.devs["1003"]; len(d.held) != 0 || !d.lost || s.held.Load() != heldTotal {
		t.Fatalf("over heldTotal: %d held, lost %v, %d in all", len(d.held), d.lost, s.held.Load())
	}
}
