package sim

import (
	"testing"
)

func TestSmoke(t *testing.T) {
	h := newHarness(t, DemoConfig())
	x := h.id("place")(h.s.PlaceCall(h.ctx, ExternalCall{From: "+14155550123", To: "1001"}))
	h.do("answer", h.s.Answer(h.ctx, "1001", x))
	y := h.id("internal")(h.s.MakeCall(h.ctx, "1002", "1003"))
	h.do("answer2", h.s.Answer(h.ctx, "1003", y))
	h.do("clear", h.s.Clear(h.ctx, "1001", x))
	h.do("clear2", h.s.Clear(h.ctx, "1003", y))
	h.drain()
	t.Log(h.errs)
	for k, v := range h.got {
		for _, l := range v {
			t.Log(k, l)
		}
	}
	if n := len(h.s.Calls()); n != 0 {
		t.Fatalf("%d calls leaked", n)
	}
}
