package sim

import (
	"testing"
	"time"
)

func TestBasicCalls(t *testing.T) {
	runScenarios(t, []scenario{
		{
			name: "a customer rings Alex, who answers and hangs up",
			run: func(h *harness) {
				x := h.id("place")(h.s.PlaceCall(h.ctx, ExternalCall{From: lucy, To: ext1}))
				h.do("answer", h.s.Answer(h.ctx, ext1, x))
				h.do("clear", h.s.Clear(h.ctx, ext1, x))
			},
			errs: []string{
				"place: ok",
				"answer: ok",
				"clear: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A inbound [+14155550123=connected 1001=alerting]",
					"#2 call.updated answered A inbound [+14155550123=connected 1001=connected]",
					"#3 call.ended cleared A inbound [+14155550123=disconnected 1001=disconnected]",
				},
			},
		},
		{
			name: "an internal call shows on both devices",
			run: func(h *harness) {
				x := h.id("make")(h.s.MakeCall(h.ctx, ext1, ext2))
				h.do("answer", h.s.Answer(h.ctx, ext2, x))
				h.do("the called party clears", h.s.Clear(h.ctx, ext2, x))
			},
			errs: []string{
				"make: ok",
				"answer: ok",
				"the called party clears: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A internal [1001=connected 1002=alerting]",
					"#2 call.updated answered A internal [1001=connected 1002=connected]",
					"#3 call.ended cleared A internal [1001=disconnected 1002=disconnected]",
				},
				"1002": {
					"#1 call.updated new A internal [1001=connected 1002=alerting]",
					"#2 call.updated answered A internal [1001=connected 1002=connected]",
					"#3 call.ended cleared A internal [1001=disconnected 1002=disconnected]",
				},
			},
		},
		{
			name: "a caller who hangs up before anyone answers leaves a missed call",
			run: func(h *harness) {
				x := h.id("place")(h.s.PlaceCall(h.ctx, ExternalCall{From: lucy, To: ext1, DNIS: "+18005550111", Digits: "42"}))
				h.do("far hangup", h.s.FarHangup(h.ctx, x))
			},
			errs: []string{
				"place: ok",
				"far hangup: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A inbound digits=42 [+14155550123=connected 1001=alerting]",
					"#2 call.ended cleared A inbound digits=42 [+14155550123=disconnected 1001=disconnected]",
				},
			},
		},
		{
			name: "a call nobody answers is dropped after the no-answer time",
			cfg:  shortTimers,
			run: func(h *harness) {
				h.id("place")(h.s.PlaceCall(h.ctx, ExternalCall{From: lucy, To: ext1}))
				h.advance(39 * time.Second)
				h.advance(time.Second)
			},
			errs: []string{
				"place: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A inbound [+14155550123=connected 1001=alerting]",
					"#2 call.ended no_answer A inbound [+14155550123=disconnected 1001=disconnected]",
				},
			},
		},
		{
			name: "an outbound call is answered by the far party after three seconds",
			run: func(h *harness) {
				x := h.id("make")(h.s.MakeCall(h.ctx, ext1, lucy))
				h.advance(3 * time.Second)
				h.do("far hangup", h.s.FarHangup(h.ctx, x))
			},
			errs: []string{
				"make: ok",
				"far hangup: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A outbound [1001=connected +14155550123=alerting]",
					"#2 call.updated answered A outbound [1001=connected +14155550123=connected]",
					"#3 call.ended cleared A outbound [1001=disconnected +14155550123=disconnected]",
				},
			},
		},
		{
			name: "a busy number refuses the call and a number that never answers is dropped",
			cfg:  shortTimers,
			run: func(h *harness) {
				h.s.SetNumberScript(lucy, Script{Busy: true})
				h.s.SetNumberScript(sam, Script{NeverAnswer: true})
				h.id("make to busy")(h.s.MakeCall(h.ctx, ext1, lucy))
				h.id("make to never answers")(h.s.MakeCall(h.ctx, ext1, sam))
				h.advance(40 * time.Second)
			},
			errs: []string{
				"make to busy: busy",
				"make to never answers: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A outbound [1001=connected +14155550199=alerting]",
					"#2 call.ended no_answer A outbound [1001=disconnected +14155550199=disconnected]",
				},
			},
		},
		{
			name: "bad numbers, unknown devices and unknown calls are refused",
			run: func(h *harness) {
				h.id("letters")(h.s.MakeCall(h.ctx, ext1, "12ab"))
				h.id("too short")(h.s.MakeCall(h.ctx, ext1, "1"))
				h.id("own extension")(h.s.MakeCall(h.ctx, ext1, ext1))
				h.id("unknown device")(h.s.MakeCall(h.ctx, "9999", ext2))
				h.id("logged-out hot desk")(h.s.MakeCall(h.ctx, desk1, ext2))
				h.do("answer unknown call", h.s.Answer(h.ctx, ext1, "nope"))
				x := h.id("make")(h.s.MakeCall(h.ctx, ext1, ext2))
				h.do("answer someone else's call", h.s.Answer(h.ctx, ext3, x))
				h.do("answer own outgoing call", h.s.Answer(h.ctx, ext1, x))
				h.do("hold a ringing call", h.s.Hold(h.ctx, ext2, x))
				h.do("retrieve a call not held", h.s.Retrieve(h.ctx, ext1, x))
				h.do("transfer without consultation", h.s.Transfer(h.ctx, ext1, x))
				h.do("conference without consultation", h.s.Conference(h.ctx, ext1, x))
				h.do("clear", h.s.Clear(h.ctx, ext1, x))
			},
			errs: []string{
				"letters: invalid input",
				"too short: invalid input",
				"own extension: invalid input",
				"unknown device: unknown device",
				"logged-out hot desk: not logged in",
				"answer unknown call: unknown call",
				"make: ok",
				"answer someone else's call: unknown call",
				"answer own outgoing call: not allowed in this state",
				"hold a ringing call: not allowed in this state",
				"retrieve a call not held: not allowed in this state",
				"transfer without consultation: not allowed in this state",
				"conference without consultation: not allowed in this state",
				"clear: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A internal [1001=connected 1002=alerting]",
					"#2 call.ended cleared A internal [1001=disconnected 1002=disconnected]",
				},
				"1002": {
					"#1 call.updated new A internal [1001=connected 1002=alerting]",
					"#2 call.ended cleared A internal [1001=disconnected 1002=disconnected]",
				},
			},
		},
		{
			name: "hold and retrieve",
			run: func(h *harness) {
				x := h.id("make")(h.s.MakeCall(h.ctx, ext1, ext2))
				h.do("answer", h.s.Answer(h.ctx, ext2, x))
				h.do("hold", h.s.Hold(h.ctx, ext1, x))
				h.do("hold again", h.s.Hold(h.ctx, ext1, x))
				h.do("retrieve", h.s.Retrieve(h.ctx, ext1, x))
				h.do("clear", h.s.Clear(h.ctx, ext1, x))
			},
			errs: []string{
				"make: ok",
				"answer: ok",
				"hold: ok",
				"hold again: not allowed in this state",
				"retrieve: ok",
				"clear: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A internal [1001=connected 1002=alerting]",
					"#2 call.updated answered A internal [1001=connected 1002=connected]",
					"#3 call.updated held A internal [1001=held 1002=connected]",
					"#4 call.updated retrieved A internal [1001=connected 1002=connected]",
					"#5 call.ended cleared A internal [1001=disconnected 1002=disconnected]",
				},
				"1002": {
					"#1 call.updated new A internal [1001=connected 1002=alerting]",
					"#2 call.updated answered A internal [1001=connected 1002=connected]",
					"#3 call.updated held A internal [1001=held 1002=connected]",
					"#4 call.updated retrieved A internal [1001=connected 1002=connected]",
					"#5 call.ended cleared A internal [1001=disconnected 1002=disconnected]",
				},
			},
		},
		{
			name: "a call held beyond the maximum hold time rings back to the holder",
			cfg:  shortTimers,
			run: func(h *harness) {
				x := h.id("place")(h.s.PlaceCall(h.ctx, ExternalCall{From: lucy, To: ext1}))
				h.do("answer", h.s.Answer(h.ctx, ext1, x))
				h.do("hold", h.s.Hold(h.ctx, ext1, x))
				h.advance(60 * time.Second)
				h.do("answer the recall", h.s.Answer(h.ctx, ext1, x))
				h.do("far hangup", h.s.FarHangup(h.ctx, x))
			},
			errs: []string{
				"place: ok",
				"answer: ok",
				"hold: ok",
				"answer the recall: ok",
				"far hangup: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A inbound [+14155550123=connected 1001=alerting]",
					"#2 call.updated answered A inbound [+14155550123=connected 1001=connected]",
					"#3 call.updated held A inbound [+14155550123=connected 1001=held]",
					"#4 call.updated recall A inbound [+14155550123=connected 1001=alerting]",
					"#5 call.updated answered A inbound [+14155550123=connected 1001=connected]",
					"#6 call.ended cleared A inbound [+14155550123=disconnected 1001=disconnected]",
				},
			},
		},
		{
			name: "answering a second call puts the first on hold",
			run: func(h *harness) {
				x := h.id("place")(h.s.PlaceCall(h.ctx, ExternalCall{From: lucy, To: ext1}))
				h.do("answer", h.s.Answer(h.ctx, ext1, x))
				y := h.id("internal")(h.s.MakeCall(h.ctx, ext2, ext1))
				h.do("answer second", h.s.Answer(h.ctx, ext1, y))
				h.do("retrieve first", h.s.Retrieve(h.ctx, ext1, x))
				h.do("clear first", h.s.Clear(h.ctx, ext1, x))
				h.do("clear second", h.s.Clear(h.ctx, ext2, y))
			},
			errs: []string{
				"place: ok",
				"answer: ok",
				"internal: ok",
				"answer second: ok",
				"retrieve first: ok",
				"clear first: ok",
				"clear second: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A inbound [+14155550123=connected 1001=alerting]",
					"#2 call.updated answered A inbound [+14155550123=connected 1001=connected]",
					"#3 call.updated new B internal [1002=connected 1001=alerting]",
					"#4 call.updated held A inbound [+14155550123=connected 1001=held]",
					"#5 call.updated answered B internal [1002=connected 1001=connected]",
					"#6 call.updated held B internal [1002=connected 1001=held]",
					"#7 call.updated retrieved A inbound [+14155550123=connected 1001=connected]",
					"#8 call.ended cleared A inbound [+14155550123=disconnected 1001=disconnected]",
					"#9 call.ended cleared B internal [1002=disconnected 1001=disconnected]",
				},
				"1002": {
					"#1 call.updated new B internal [1002=connected 1001=alerting]",
					"#2 call.updated answered B internal [1002=connected 1001=connected]",
					"#3 call.updated held B internal [1002=connected 1001=held]",
					"#4 call.ended cleared B internal [1002=disconnected 1001=disconnected]",
				},
			},
		},
		{
			name: "DTMF with valid digits reaches the other device and bad digits are refused",
			run: func(h *harness) {
				x := h.id("make")(h.s.MakeCall(h.ctx, ext1, ext2))
				h.do("dtmf while ringing", h.s.SendDTMF(h.ctx, ext2, x, "1"))
				h.do("answer", h.s.Answer(h.ctx, ext2, x))
				h.do("dtmf", h.s.SendDTMF(h.ctx, ext1, x, "12*#"))
				h.do("dtmf letters", h.s.SendDTMF(h.ctx, ext1, x, "12a"))
				h.do("dtmf empty", h.s.SendDTMF(h.ctx, ext1, x, ""))
				h.do("clear", h.s.Clear(h.ctx, ext1, x))
			},
			errs: []string{
				"make: ok",
				"dtmf while ringing: not allowed in this state",
				"answer: ok",
				"dtmf: ok",
				"dtmf letters: invalid input",
				"dtmf empty: invalid input",
				"clear: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A internal [1001=connected 1002=alerting]",
					"#2 call.updated answered A internal [1001=connected 1002=connected]",
					"#3 call.ended cleared A internal [1001=disconnected 1002=disconnected]",
				},
				"1002": {
					"#1 call.updated new A internal [1001=connected 1002=alerting]",
					"#2 call.updated answered A internal [1001=connected 1002=connected]",
					"#3 call.digits A 12*#",
					"#4 call.ended cleared A internal [1001=disconnected 1002=disconnected]",
				},
			},
		},
		{
			name: "far digits before an answer are collected and after it are reported",
			run: func(h *harness) {
				x := h.id("place")(h.s.PlaceCall(h.ctx, ExternalCall{From: lucy, To: ext1}))
				h.do("far digits", h.s.FarDigits(h.ctx, x, "7"))
				h.do("answer", h.s.Answer(h.ctx, ext1, x))
				h.do("far digits", h.s.FarDigits(h.ctx, x, "99#"))
				h.do("far bad digits", h.s.FarDigits(h.ctx, x, "9x"))
				h.do("far answer with nobody ringing", h.s.FarAnswer(h.ctx, x))
				h.do("clear", h.s.Clear(h.ctx, ext1, x))
				h.do("far hangup on an ended call", h.s.FarHangup(h.ctx, x))
			},
			errs: []string{
				"place: ok",
				"far digits: ok",
				"answer: ok",
				"far digits: ok",
				"far bad digits: invalid input",
				"far answer with nobody ringing: not allowed in this state",
				"clear: ok",
				"far hangup on an ended call: unknown call",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A inbound [+14155550123=connected 1001=alerting]",
					"#2 call.updated digits A inbound digits=7 [+14155550123=connected 1001=alerting]",
					"#3 call.updated answered A inbound digits=7 [+14155550123=connected 1001=connected]",
					"#4 call.digits A 99#",
					"#5 call.ended cleared A inbound digits=7 [+14155550123=disconnected 1001=disconnected]",
				},
			},
		},
		{
			name: "a scripted caller keys digits once answered and hangs up later",
			run: func(h *harness) {
				x := h.id("place")(h.s.PlaceCall(h.ctx, ExternalCall{From: lucy, To: ext1, Script: &Script{HangupAfter: 20 * time.Second, Digits: "5#"}}))
				h.advance(5 * time.Second)
				h.do("answer", h.s.Answer(h.ctx, ext1, x))
				h.advance(15 * time.Second)
			},
			errs: []string{
				"place: ok",
				"answer: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A inbound [+14155550123=connected 1001=alerting]",
					"#2 call.updated answered A inbound [+14155550123=connected 1001=connected]",
					"#3 call.digits A 5#",
					"#4 call.ended cleared A inbound [+14155550123=disconnected 1001=disconnected]",
				},
			},
		},
		{
			name: "redirect sends a ringing call on while the caller keeps ringing",
			run: func(h *harness) {
				x := h.id("place")(h.s.PlaceCall(h.ctx, ExternalCall{From: lucy, To: ext1}))
				h.do("redirect to self", h.s.Redirect(h.ctx, ext1, x, ext1))
				h.do("redirect to bad number", h.s.Redirect(h.ctx, ext1, x, "x"))
				h.do("redirect", h.s.Redirect(h.ctx, ext1, x, ext2))
				h.do("answer", h.s.Answer(h.ctx, ext2, x))
				h.do("redirect an answered call", h.s.Redirect(h.ctx, ext2, x, ext3))
				h.do("far hangup", h.s.FarHangup(h.ctx, x))
			},
			errs: []string{
				"place: ok",
				"redirect to self: invalid input",
				"redirect to bad number: invalid input",
				"redirect: ok",
				"answer: ok",
				"redirect an answered call: not allowed in this state",
				"far hangup: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A inbound [+14155550123=connected 1001=alerting]",
					"#2 call.ended redirected A inbound [+14155550123=connected 1001=disconnected 1002=alerting]",
				},
				"1002": {
					"#1 call.updated redirected A inbound [+14155550123=connected 1001=disconnected 1002=alerting]",
					"#2 call.updated answered A inbound [+14155550123=connected 1001=disconnected 1002=connected]",
					"#3 call.ended cleared A inbound [+14155550123=disconnected 1001=disconnected 1002=disconnected]",
				},
			},
		},
		{
			name: "redirect to an external number rings it",
			run: func(h *harness) {
				x := h.id("place")(h.s.PlaceCall(h.ctx, ExternalCall{From: lucy, To: ext1}))
				h.do("redirect", h.s.Redirect(h.ctx, ext1, x, sam))
				h.advance(3 * time.Second)
			},
			errs: []string{
				"place: ok",
				"redirect: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A inbound [+14155550123=connected 1001=alerting]",
					"#2 call.ended redirected A inbound [+14155550123=connected 1001=disconnected +14155550199=alerting]",
				},
			},
			live: 1,
		},
	})
}
