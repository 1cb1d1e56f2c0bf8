package sim

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-cti/switchboard/pbx"
)

// fuzzDevices and fuzzNumbers are what random commands pick from.
var (
	fuzzDevices = []string{"1001", "1002", "1003", "2001", "3001", "3002", "9999"}
	fuzzNumbers = []string{"1001", "1002", "1003", "2001", "3001", "+18005550100", "+14155550123", "+14155550199", "+14155550111", "x", ""}
	fuzzDigits  = []string{"1", "12#", "*", "a", ""}
	fuzzCodes   = []string{"LUNCH", "100", "SALES", "BILLING", "", "NOPE"}
)

// fuzzer turns bytes into commands.
type fuzzer struct {
	data []byte
}

func (f *fuzzer) byte() byte {
	if len(f.data) == 0 {
		return 0
	}
	b := f.data[0]
	f.data = f.data[1:]
	return b
}

func pick[T any](f *fuzzer, xs []T) T { return xs[int(f.byte())%len(xs)] }

// callID picks a call in progress (or a bogus id now and then).
func (f *fuzzer) callID(s *Sim) string {
	calls := s.Calls()
	n := int(f.byte())
	if len(calls) == 0 || n%17 == 16 {
		return "c-bogus"
	}
	return calls[n%len(calls)].ID
}

func FuzzCommands(f *testing.F) {
	f.Add([]byte{0, 0, 1, 2, 0, 0, 3, 0, 0})
	f.Add([]byte{1, 0, 0, 2, 0, 0, 6, 0, 0, 1, 7, 0, 0, 8, 0, 0})
	f.Add([]byte{14, 4, 0, 1, 1, 5, 2, 0, 0, 20, 3, 20, 5})
	f.Add([]byte{1, 0, 0, 2, 0, 0, 6, 0, 0, 2, 2, 1, 0, 8, 0, 0, 6, 0, 0, 3, 2, 1, 0, 8, 0, 0, 6, 0, 0, 6})
	f.Fuzz(fuzzBody)
}

// fuzzBody runs the commands data encodes and checks the invariants.
func fuzzBody(t *testing.T, data []byte) {
	cfg := DemoConfig()
	cfg.CallIDPrefix = "c"
	clock := NewFakeClock(t0)
	s, err := New(cfg, clock)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	subs := map[string]<-chan pbx.Event{}
	lastSeq := map[string]uint64{}
	for _, e := range cfg.Extensions {
		ch, cancel, err := s.Subscribe(ctx, e.Number)
		if err != nil {
			t.Fatal(err)
		}
		defer cancel()
		subs[e.Number] = ch
	}
	drain := func() {
		for ext, ch := range subs {
			for len(ch) > 0 {
				ev := <-ch
				if ev.Seq != lastSeq[ext]+1 {
					t.Fatalf("%s: event Seq %d after %d", ext, ev.Seq, lastSeq[ext])
				}
				lastSeq[ext] = ev.Seq
			}
		}
	}
	fz := &fuzzer{data: data}
	for steps := 0; len(fz.data) > 0 && steps < 300; steps++ {
		op := fz.byte() % 24
		dev := pick(fz, fuzzDevices)
		var err error
		switch op {
		case 0:
			_, err = s.PlaceCall(ctx, ExternalCall{From: pick(fz, []string{"+14155550123", "+14155550199", "1001", "x"}), To: pick(fz, fuzzNumbers), Digits: pick(fz, fuzzDigits)})
		case 1:
			_, err = s.MakeCall(ctx, dev, pick(fz, fuzzNumbers))
		case 2:
			err = s.Answer(ctx, dev, fz.callID(s))
		case 3:
			err = s.Clear(ctx, dev, fz.callID(s))
		case 4:
			err = s.Hold(ctx, dev, fz.callID(s))
		case 5:
			err = s.Retrieve(ctx, dev, fz.callID(s))
		case 6:
			_, err = s.Consult(ctx, dev, fz.callID(s), pick(fz, fuzzNumbers))
		case 7:
			err = s.Transfer(ctx, dev, fz.callID(s))
		case 8:
			err = s.Conference(ctx, dev, fz.callID(s))
		case 9:
			err = s.Redirect(ctx, dev, fz.callID(s), pick(fz, fuzzNumbers))
		case 10:
			err = s.SendDTMF(ctx, dev, fz.callID(s), pick(fz, fuzzDigits))
		case 11:
			err = s.SetDND(ctx, dev, fz.byte()%2 == 0)
		case 12:
			err = s.SetMakeBusy(ctx, dev, fz.byte()%2 == 0, pick(fz, fuzzCodes))
		case 13:
			err = s.ACDLogin(ctx, dev, pick(fz, []string{"5001", "5002", "1"}))
		case 14:
			err = s.ACDLogout(ctx, dev)
		case 15:
			err = s.HotDeskLogin(ctx, dev, pick(fz, []string{"1234", "4321", "0"}))
		case 16:
			err = s.HotDeskLogout(ctx, dev)
		case 17:
			err = s.CancelWorkTimer(ctx, dev)
		case 18:
			err = s.SetAccountCode(ctx, dev, fz.callID(s), pick(fz, fuzzCodes))
		case 19:
			err = s.SetClassificationCode(ctx, dev, fz.callID(s), pick(fz, fuzzCodes))
		case 20:
			clock.Advance(time.Duration(fz.byte()) * time.Second)
		case 21:
			err = s.FarAnswer(ctx, fz.callID(s))
		case 22:
			err = s.FarHangup(ctx, fz.callID(s))
		case 23:
			err = s.FarDigits(ctx, fz.callID(s), pick(fz, fuzzDigits))
		}
		if err != nil && sentinelName(err) == "unexpected error: "+err.Error() {
			t.Fatalf("op %d: error wraps no pbx sentinel: %v", op, err)
		}
		checkInvariants(t, s)
		drain()
	}
	// Everybody hangs up: no call may be left.
	for range 3 {
		for _, c := range s.Calls() {
			for _, p := range c.Parties {
				if p.State == pbx.Disconnected {
					continue
				}
				if p.Internal {
					_ = s.Clear(ctx, p.Number, c.ID)
				} else {
					_ = s.FarHangup(ctx, c.ID)
				}
			}
		}
		checkInvariants(t, s)
	}
	if calls := s.Calls(); len(calls) > 0 {
		t.Fatalf("%d calls left after everybody cleared: %+v", len(calls), calls)
	}
	clock.Advance(24 * time.Hour)
	drain()
	if calls := s.Calls(); len(calls) > 0 {
		t.Fatalf("%d calls appeared after everybody cleared: %+v", len(calls), calls)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.order {
		if len(d.live) > 0 {
			t.Fatalf("%s still on %d calls", d.ext.Number, len(d.live))
		}
	}
	for _, q := range s.queues {
		if len(q.waiting) > 0 {
			t.Fatalf("queue %s still holds %d calls", q.Name, len(q.waiting))
		}
	}
}

// checkInvariants inspects the simulator's insides.
func checkInvariants(t *testing.T, s *Sim) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, c := range s.calls {
		if c.ended || c.ID != id {
			t.Fatalf("call %s: ended %v but still listed as %s", c.ID, c.ended, id)
		}
		live := 0
		seen := map[*device]bool{}
		for _, p := range c.parties {
			if p.call != c {
				t.Fatalf("call %s: party %s points to call %s", c.ID, p.Number, p.call.ID)
			}
			if !p.live() {
				continue
			}
			live++
			if p.dev != nil {
				if seen[p.dev] {
					t.Fatalf("call %s: device %s is on it twice: %s", c.ID, p.dev.ext.Number, dump(c))
				}
				seen[p.dev] = true
				if !p.dev.live[c] {
					t.Fatalf("call %s: device %s does not know it is on it", c.ID, p.dev.ext.Number)
				}
			}
		}
		if live > pbx.MaxParties {
			t.Fatalf("call %s: %d live parties: %s", c.ID, live, dump(c))
		}
		if live == 0 {
			t.Fatalf("call %s: no live party but not ended", c.ID)
		}
		if live == 1 && !c.waiting {
			t.Fatalf("call %s: one live party and not waiting in a queue: %s", c.ID, dump(c))
		}
		if c.waiting != (c.q != nil && slices.Contains(c.q.waiting, c)) {
			t.Fatalf("call %s: waiting %v disagrees with its queue", c.ID, c.waiting)
		}
		if (c.consult != nil && c.consult.held != c) || (c.held != nil && c.held.consult != c) {
			t.Fatalf("call %s: broken consultation link", c.ID)
		}
	}
	for _, d := range s.order {
		for c := range d.live {
			if c.ended || c.liveParty(d) == nil {
				t.Fatalf("device %s: thinks it is on call %s", d.ext.Number, c.ID)
			}
		}
	}
}

func dump(c *call) string {
	out := ""
	for _, p := range c.parties {
		out += fmt.Sprintf(" %s=%s", p.Number, p.State)
	}
	return out
}
