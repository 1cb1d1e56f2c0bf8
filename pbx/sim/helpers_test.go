package sim

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cti/switchboard/pbx"
)

var t0 = time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC)

// harness is a simulator on a fake clock with a subscriber on every device.
type harness struct {
	t     *testing.T
	s     *Sim
	clock *FakeClock
	ctx   context.Context
	subs  map[string]<-chan pbx.Event
	names map[string]string // call id -> X, Y, Z...
	got   map[string][]string
	errs  []string
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	cfg.CallIDPrefix = "c"
	clock := NewFakeClock(t0)
	s, err := New(cfg, clock)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h := &harness{t: t, s: s, clock: clock, ctx: context.Background(), subs: map[string]<-chan pbx.Event{}, names: map[string]string{}, got: map[string][]string{}}
	for _, e := range cfg.Extensions {
		ch, cancel, err := s.Subscribe(h.ctx, e.Number)
		if err != nil {
			t.Fatalf("Subscribe(%s): %v", e.Number, err)
		}
		t.Cleanup(cancel)
		h.subs[e.Number] = ch
	}
	return h
}

// name gives call ids stable letters in order of appearance.
func (h *harness) name(id string) string {
	if id == "" {
		return ""
	}
	if n, ok := h.names[id]; ok {
		return n
	}
	n := string(rune('A' + len(h.names)))
	h.names[id] = n
	return n
}

// brief renders an event as a softphone would care about it.
func (h *harness) brief(ev pbx.Event) string {
	switch ev.Type {
	case pbx.DeviceUpdated:
		st := ev.State
		var flags []string
		if st.DND {
			flags = append(flags, "dnd")
		}
		if st.MakeBusy {
			flags = append(flags, "busy:"+st.Reason)
		}
		if st.LoggedIn {
			flags = append(flags, "in"+strings.TrimPrefix(":"+st.AgentID, ":"+""))
		}
		if st.WorkTimer {
			flags = append(flags, "work")
		}
		if st.ClassificationPending {
			flags = append(flags, "classify")
		}
		return fmt.Sprintf("#%d %s %s [%s]", ev.Seq, ev.Type, ev.Cause, strings.Join(flags, " "))
	case pbx.DigitsReceived:
		return fmt.Sprintf("#%d %s %s %s", ev.Seq, ev.Type, h.name(ev.Call.ID), ev.Digits)
	}
	c := ev.Call
	var ps []string
	for _, p := range c.Parties {
		ps = append(ps, p.Number+"="+string(p.State))
	}
	extra := ""
	if c.RelatedID != "" {
		extra = " rel=" + h.name(c.RelatedID)
	}
	if c.Queue != "" {
		extra += " q=" + c.Queue
	}
	if c.Digits != "" {
		extra += " digits=" + c.Digits
	}
	if c.AccountCode != "" || c.ClassificationCode != "" {
		extra += " codes=" + c.AccountCode + "/" + c.ClassificationCode
	}
	return fmt.Sprintf("#%d %s %s %s %s%s [%s]", ev.Seq, ev.Type, ev.Cause, h.name(c.ID), c.Direction, extra, strings.Join(ps, " "))
}

// drain collects every event delivered so far. Delivery is synchronous
// with the command (or with FakeClock.Advance), so nothing is in flight.
func (h *harness) drain() {
	for ext, ch := range h.subs {
		for {
			select {
			case ev, ok := <-ch:
				if !ok {
					h.t.Fatalf("events of %s closed", ext)
				}
				h.got[ext] = append(h.got[ext], h.brief(ev))
				continue
			default:
			}
			break
		}
	}
}

// do runs a command and records its error (or "ok") as one line.
func (h *harness) do(label string, err error) {
	h.t.Helper()
	h.drain()
	if err != nil {
		h.errs = append(h.errs, label+": "+sentinelName(err))
		return
	}
	h.errs = append(h.errs, label+": ok")
}

// id runs a command that returns a call id and names it:
// x := h.id("label")(h.s.MakeCall(...)).
func (h *harness) id(label string) func(string, error) string {
	return func(id string, err error) string {
		h.t.Helper()
		if err == nil {
			h.name(id)
		}
		h.do(label, err)
		return id
	}
}

func (h *harness) advance(d time.Duration) {
	h.drain()
	h.clock.Advance(d)
	h.drain()
}

var sentinels = []error{pbx.ErrUnknownDevice, pbx.ErrUnknownCall, pbx.ErrNotAllowed, pbx.ErrBusy, pbx.ErrDND, pbx.ErrLimit, pbx.ErrInvalid, pbx.ErrAuth, pbx.ErrNotLoggedIn, pbx.ErrUnavailable}

// sentinelName lists the pbx sentinels err wraps.
func sentinelName(err error) string {
	var names []string
	for _, s := range sentinels {
		if errors.Is(err, s) {
			names = append(names, s.Error())
		}
	}
	if len(names) == 0 {
		return "unexpected error: " + err.Error()
	}
	return strings.Join(names, "+")
}

// only returns a call's id, named, from a device's snapshot.
func (h *harness) callAt(ext string, i int) string {
	h.t.Helper()
	snap, err := h.s.Snapshot(h.ctx, ext)
	if err != nil || len(snap.Calls) <= i {
		h.t.Fatalf("Snapshot(%s): %d calls, err %v; want call %d", ext, len(snap.Calls), err, i)
	}
	h.name(snap.Calls[i].ID)
	return snap.Calls[i].ID
}
