package sim

import (
	"testing"
	"time"
)

// answered puts lucy on a call with ext1 and returns it.
func answered(h *harness) string {
	x := h.id("place")(h.s.PlaceCall(h.ctx, ExternalCall{From: lucy, To: ext1}))
	h.do("answer", h.s.Answer(h.ctx, ext1, x))
	return x
}

func TestConsultation(t *testing.T) {
	runScenarios(t, []scenario{
		{
			name: "a supervised transfer hands the caller to the consulted party",
			run: func(h *harness) {
				x := answered(h)
				y := h.id("consult")(h.s.Consult(h.ctx, ext1, x, ext2))
				h.do("consulted answers", h.s.Answer(h.ctx, ext2, y))
				h.do("transfer", h.s.Transfer(h.ctx, ext1, y))
				h.do("transfer again", h.s.Transfer(h.ctx, ext1, x))
				h.do("far hangup", h.s.FarHangup(h.ctx, x))
			},
			errs: []string{
				"place: ok",
				"answer: ok",
				"consult: ok",
				"consulted answers: ok",
				"transfer: ok",
				"transfer again: unknown call",
				"far hangup: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A inbound [+14155550123=connected 1001=alerting]",
					"#2 call.updated answered A inbound [+14155550123=connected 1001=connected]",
					"#3 call.updated consultation A inbound rel=B [+14155550123=connected 1001=consultation_held]",
					"#4 call.updated consultation B internal rel=A [1001=connected 1002=alerting]",
					"#5 call.updated answered B internal rel=A [1001=connected 1002=connected]",
					"#6 call.ended transferred B internal [1001=disconnected]",
					"#7 call.ended transferred A inbound [+14155550123=connected 1001=disconnected 1002=connected]",
				},
				"1002": {
					"#1 call.updated consultation B internal rel=A [1001=connected 1002=alerting]",
					"#2 call.updated answered B internal rel=A [1001=connected 1002=connected]",
					"#3 call.ended transferred B internal [1001=disconnected]",
					"#4 call.updated transferred A inbound [+14155550123=connected 1001=disconnected 1002=connected]",
					"#5 call.ended cleared A inbound [+14155550123=disconnected 1001=disconnected 1002=disconnected]",
				},
			},
		},
		{
			name: "an unsupervised transfer rings on and is answered",
			cfg:  shortTimers,
			run: func(h *harness) {
				x := answered(h)
				h.id("consult")(h.s.Consult(h.ctx, ext1, x, ext2))
				h.do("transfer before answer", h.s.Transfer(h.ctx, ext1, x))
				h.advance(10 * time.Second)
				h.do("answer", h.s.Answer(h.ctx, ext2, x))
				h.advance(time.Minute)
				h.do("clear", h.s.Clear(h.ctx, ext2, x))
			},
			errs: []string{
				"place: ok",
				"answer: ok",
				"consult: ok",
				"transfer before answer: ok",
				"answer: ok",
				"clear: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A inbound [+14155550123=connected 1001=alerting]",
					"#2 call.updated answered A inbound [+14155550123=connected 1001=connected]",
					"#3 call.updated consultation A inbound rel=B [+14155550123=connected 1001=consultation_held]",
					"#4 call.updated consultation B internal rel=A [1001=connected 1002=alerting]",
					"#5 call.ended transferred B internal [1001=disconnected]",
					"#6 call.ended transferred A inbound [+14155550123=connected 1001=disconnected 1002=alerting]",
				},
				"1002": {
					"#1 call.updated consultation B internal rel=A [1001=connected 1002=alerting]",
					"#2 call.ended transferred B internal [1001=disconnected]",
					"#3 call.updated transferred A inbound [+14155550123=connected 1001=disconnected 1002=alerting]",
					"#4 call.updated answered A inbound [+14155550123=connected 1001=disconnected 1002=connected]",
					"#5 call.ended cleared A inbound [+14155550123=disconnected 1001=disconnected 1002=disconnected]",
				},
			},
		},
		{
			name: "clearing during a consultation completes the transfer unsupervised",
			run: func(h *harness) {
				x := answered(h)
				y := h.id("consult")(h.s.Consult(h.ctx, ext1, x, ext2))
				h.do("clear the consultation call", h.s.Clear(h.ctx, ext1, y))
				h.do("answer", h.s.Answer(h.ctx, ext2, x))
				h.do("clear", h.s.Clear(h.ctx, ext2, x))
			},
			errs: []string{
				"place: ok",
				"answer: ok",
				"consult: ok",
				"clear the consultation call: ok",
				"answer: ok",
				"clear: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A inbound [+14155550123=connected 1001=alerting]",
					"#2 call.updated answered A inbound [+14155550123=connected 1001=connected]",
					"#3 call.updated consultation A inbound rel=B [+14155550123=connected 1001=consultation_held]",
					"#4 call.updated consultation B internal rel=A [1001=connected 1002=alerting]",
					"#5 call.ended transferred B internal [1001=disconnected]",
					"#6 call.ended transferred A inbound [+14155550123=connected 1001=disconnected 1002=alerting]",
				},
				"1002": {
					"#1 call.updated consultation B internal rel=A [1001=connected 1002=alerting]",
					"#2 call.ended transferred B internal [1001=disconnected]",
					"#3 call.updated transferred A inbound [+14155550123=connected 1001=disconnected 1002=alerting]",
					"#4 call.updated answered A inbound [+14155550123=connected 1001=disconnected 1002=connected]",
					"#5 call.ended cleared A inbound [+14155550123=disconnected 1001=disconnected 1002=disconnected]",
				},
			},
		},
		{
			name: "an unanswered unsupervised transfer rings back to the transferring device",
			cfg:  shortTimers,
			run: func(h *harness) {
				x := answered(h)
				h.id("consult")(h.s.Consult(h.ctx, ext1, x, ext2))
				h.do("clear the held call", h.s.Clear(h.ctx, ext1, x))
				h.advance(20 * time.Second)
				h.do("answer the recall", h.s.Answer(h.ctx, ext1, x))
				h.do("clear", h.s.Clear(h.ctx, ext1, x))
			},
			errs: []string{
				"place: ok",
				"answer: ok",
				"consult: ok",
				"clear the held call: ok",
				"answer the recall: ok",
				"clear: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A inbound [+14155550123=connected 1001=alerting]",
					"#2 call.updated answered A inbound [+14155550123=connected 1001=connected]",
					"#3 call.updated consultation A inbound rel=B [+14155550123=connected 1001=consultation_held]",
					"#4 call.updated consultation B internal rel=A [1001=connected 1002=alerting]",
					"#5 call.ended transferred B internal [1001=disconnected]",
					"#6 call.ended transferred A inbound [+14155550123=connected 1001=disconnected 1002=alerting]",
					"#7 call.updated recall A inbound [+14155550123=connected 1001=disconnected 1002=disconnected 1001=alerting]",
					"#8 call.updated answered A inbound [+14155550123=connected 1001=disconnected 1002=disconnected 1001=connected]",
					"#9 call.ended cleared A inbound [+14155550123=disconnected 1001=disconnected 1002=disconnected 1001=disconnected]",
				},
				"1002": {
					"#1 call.updated consultation B internal rel=A [1001=connected 1002=alerting]",
					"#2 call.ended transferred B internal [1001=disconnected]",
					"#3 call.updated transferred A inbound [+14155550123=connected 1001=disconnected 1002=alerting]",
					"#4 call.ended recall A inbound [+14155550123=connected 1001=disconnected 1002=disconnected 1001=alerting]",
				},
			},
		},
		{
			name: "an unsupervised transfer to an external number that never answers rings back",
			cfg:  shortTimers,
			run: func(h *harness) {
				h.s.SetNumberScript(sam, Script{NeverAnswer: true})
				x := answered(h)
				h.id("consult")(h.s.Consult(h.ctx, ext1, x, sam))
				h.do("transfer", h.s.Transfer(h.ctx, ext1, x))
				h.advance(20 * time.Second)
				h.advance(40 * time.Second)
			},
			errs: []string{
				"place: ok",
				"answer: ok",
				"consult: ok",
				"transfer: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A inbound [+14155550123=connected 1001=alerting]",
					"#2 call.updated answered A inbound [+14155550123=connected 1001=connected]",
					"#3 call.updated consultation A inbound rel=B [+14155550123=connected 1001=consultation_held]",
					"#4 call.updated consultation B outbound rel=A [1001=connected +14155550199=alerting]",
					"#5 call.ended transferred B outbound [1001=disconnected]",
					"#6 call.ended transferred A inbound [+14155550123=connected 1001=disconnected +14155550199=alerting]",
					"#7 call.updated recall A inbound [+14155550123=connected 1001=disconnected +14155550199=disconnected 1001=alerting]",
					"#8 call.ended no_answer A inbound [+14155550123=disconnected 1001=disconnected +14155550199=disconnected 1001=disconnected]",
				},
			},
		},
		{
			name: "retrieving the held call cancels the consultation",
			run: func(h *harness) {
				x := answered(h)
				y := h.id("consult")(h.s.Consult(h.ctx, ext1, x, ext2))
				h.do("consulted answers", h.s.Answer(h.ctx, ext2, y))
				h.do("retrieve", h.s.Retrieve(h.ctx, ext1, x))
				h.do("clear", h.s.Clear(h.ctx, ext1, x))
			},
			errs: []string{
				"place: ok",
				"answer: ok",
				"consult: ok",
				"consulted answers: ok",
				"retrieve: ok",
				"clear: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A inbound [+14155550123=connected 1001=alerting]",
					"#2 call.updated answered A inbound [+14155550123=connected 1001=connected]",
					"#3 call.updated consultation A inbound rel=B [+14155550123=connected 1001=consultation_held]",
					"#4 call.updated consultation B internal rel=A [1001=connected 1002=alerting]",
					"#5 call.updated answered B internal rel=A [1001=connected 1002=connected]",
					"#6 call.ended retrieved B internal [1001=disconnected 1002=disconnected]",
					"#7 call.updated retrieved A inbound [+14155550123=connected 1001=connected]",
					"#8 call.ended cleared A inbound [+14155550123=disconnected 1001=disconnected]",
				},
				"1002": {
					"#1 call.updated consultation B internal rel=A [1001=connected 1002=alerting]",
					"#2 call.updated answered B internal rel=A [1001=connected 1002=connected]",
					"#3 call.ended retrieved B internal [1001=disconnected 1002=disconnected]",
				},
			},
		},
		{
			name: "the consulted party hanging up leaves the held call on consultation hold",
			run: func(h *harness) {
				x := answered(h)
				y := h.id("consult")(h.s.Consult(h.ctx, ext1, x, ext2))
				h.do("consulted answers", h.s.Answer(h.ctx, ext2, y))
				h.do("consulted clears", h.s.Clear(h.ctx, ext2, y))
				h.do("transfer with nobody to transfer to", h.s.Transfer(h.ctx, ext1, x))
				h.id("consult again")(h.s.Consult(h.ctx, ext1, x, ext3))
				h.do("retrieve", h.s.Retrieve(h.ctx, ext1, x))
				h.do("far hangup", h.s.FarHangup(h.ctx, x))
			},
			errs: []string{
				"place: ok",
				"answer: ok",
				"consult: ok",
				"consulted answers: ok",
				"consulted clears: ok",
				"transfer with nobody to transfer to: not allowed in this state",
				"consult again: ok",
				"retrieve: ok",
				"far hangup: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A inbound [+14155550123=connected 1001=alerting]",
					"#2 call.updated answered A inbound [+14155550123=connected 1001=connected]",
					"#3 call.updated consultation A inbound rel=B [+14155550123=connected 1001=consultation_held]",
					"#4 call.updated consultation B internal rel=A [1001=connected 1002=alerting]",
					"#5 call.updated answered B internal rel=A [1001=connected 1002=connected]",
					"#6 call.ended cleared B internal [1001=disconnected 1002=disconnected]",
					"#7 call.updated cleared A inbound [+14155550123=connected 1001=consultation_held]",
					"#8 call.updated consultation A inbound rel=C [+14155550123=connected 1001=consultation_held]",
					"#9 call.updated consultation C internal rel=A [1001=connected 1003=alerting]",
					"#10 call.ended retrieved C internal [1001=disconnected 1003=disconnected]",
					"#11 call.updated retrieved A inbound [+14155550123=connected 1001=connected]",
					"#12 call.ended cleared A inbound [+14155550123=disconnected 1001=disconnected]",
				},
				"1002": {
					"#1 call.updated consultation B internal rel=A [1001=connected 1002=alerting]",
					"#2 call.updated answered B internal rel=A [1001=connected 1002=connected]",
					"#3 call.ended cleared B internal [1001=disconnected 1002=disconnected]",
				},
				"1003": {
					"#1 call.updated consultation C internal rel=A [1001=connected 1003=alerting]",
					"#2 call.ended retrieved C internal [1001=disconnected 1003=disconnected]",
				},
			},
		},
		{
			name: "after the held party hangs up only clear is allowed until the consulted party answers",
			run: func(h *harness) {
				x := answered(h)
				y := h.id("consult")(h.s.Consult(h.ctx, ext1, x, ext2))
				h.do("caller hangs up", h.s.FarHangup(h.ctx, x))
				h.do("hold", h.s.Hold(h.ctx, ext1, y))
				h.do("transfer", h.s.Transfer(h.ctx, ext1, y))
				h.do("conference", h.s.Conference(h.ctx, ext1, y))
				h.do("dtmf", h.s.SendDTMF(h.ctx, ext1, y, "1"))
				h.id("consult")(h.s.Consult(h.ctx, ext1, y, ext3))
				h.do("consulted answers", h.s.Answer(h.ctx, ext2, y))
				h.do("hold", h.s.Hold(h.ctx, ext1, y))
				h.do("retrieve", h.s.Retrieve(h.ctx, ext1, y))
				h.do("clear", h.s.Clear(h.ctx, ext1, y))
			},
			errs: []string{
				"place: ok",
				"answer: ok",
				"consult: ok",
				"caller hangs up: ok",
				"hold: not allowed in this state",
				"transfer: not allowed in this state",
				"conference: not allowed in this state",
				"dtmf: not allowed in this state",
				"consult: not allowed in this state",
				"consulted answers: ok",
				"hold: ok",
				"retrieve: ok",
				"clear: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A inbound [+14155550123=connected 1001=alerting]",
					"#2 call.updated answered A inbound [+14155550123=connected 1001=connected]",
					"#3 call.updated consultation A inbound rel=B [+14155550123=connected 1001=consultation_held]",
					"#4 call.updated consultation B internal rel=A [1001=connected 1002=alerting]",
					"#5 call.ended cleared A inbound [+14155550123=disconnected 1001=disconnected]",
					"#6 call.updated cleared B internal [1001=connected 1002=alerting]",
					"#7 call.updated answered B internal [1001=connected 1002=connected]",
					"#8 call.updated held B internal [1001=held 1002=connected]",
					"#9 call.updated retrieved B internal [1001=connected 1002=connected]",
					"#10 call.ended cleared B internal [1001=disconnected 1002=disconnected]",
				},
				"1002": {
					"#1 call.updated consultation B internal rel=A [1001=connected 1002=alerting]",
					"#2 call.updated cleared B internal [1001=connected 1002=alerting]",
					"#3 call.updated answered B internal [1001=connected 1002=connected]",
					"#4 call.updated held B internal [1001=held 1002=connected]",
					"#5 call.updated retrieved B internal [1001=connected 1002=connected]",
					"#6 call.ended cleared B internal [1001=disconnected 1002=disconnected]",
				},
			},
		},
		{
			name: "the held party hanging up and then clearing the consultation call ends it",
			run: func(h *harness) {
				x := answered(h)
				y := h.id("consult")(h.s.Consult(h.ctx, ext1, x, ext2))
				h.do("caller hangs up", h.s.FarHangup(h.ctx, x))
				h.do("clear", h.s.Clear(h.ctx, ext1, y))
			},
			errs: []string{
				"place: ok",
				"answer: ok",
				"consult: ok",
				"caller hangs up: ok",
				"clear: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A inbound [+14155550123=connected 1001=alerting]",
					"#2 call.updated answered A inbound [+14155550123=connected 1001=connected]",
					"#3 call.updated consultation A inbound rel=B [+14155550123=connected 1001=consultation_held]",
					"#4 call.updated consultation B internal rel=A [1001=connected 1002=alerting]",
					"#5 call.ended cleared A inbound [+14155550123=disconnected 1001=disconnected]",
					"#6 call.updated cleared B internal [1001=connected 1002=alerting]",
					"#7 call.ended cleared B internal [1001=disconnected 1002=disconnected]",
				},
				"1002": {
					"#1 call.updated consultation B internal rel=A [1001=connected 1002=alerting]",
					"#2 call.updated cleared B internal [1001=connected 1002=alerting]",
					"#3 call.ended cleared B internal [1001=disconnected 1002=disconnected]",
				},
			},
		},
		{
			name: "a hard-held call cannot be consulted from, transferred or conferenced",
			run: func(h *harness) {
				x := answered(h)
				h.do("hold", h.s.Hold(h.ctx, ext1, x))
				h.id("consult")(h.s.Consult(h.ctx, ext1, x, ext2))
				h.do("transfer", h.s.Transfer(h.ctx, ext1, x))
				h.do("conference", h.s.Conference(h.ctx, ext1, x))
				h.do("clear", h.s.Clear(h.ctx, ext1, x))
			},
			errs: []string{
				"place: ok",
				"answer: ok",
				"hold: ok",
				"consult: not allowed in this state",
				"transfer: not allowed in this state",
				"conference: not allowed in this state",
				"clear: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A inbound [+14155550123=connected 1001=alerting]",
					"#2 call.updated answered A inbound [+14155550123=connected 1001=connected]",
					"#3 call.updated held A inbound [+14155550123=connected 1001=held]",
					"#4 call.ended cleared A inbound [+14155550123=disconnected 1001=disconnected]",
				},
			},
		},
		{
			name: "consulting a busy, DND or logged-out device or the same call's party is refused",
			run: func(h *harness) {
				h.do("dnd", h.s.SetDND(h.ctx, ext3, true))
				x := h.id("make")(h.s.MakeCall(h.ctx, ext1, ext2))
				h.do("answer", h.s.Answer(h.ctx, ext2, x))
				h.id("consult dnd")(h.s.Consult(h.ctx, ext1, x, ext3))
				h.id("consult logged out")(h.s.Consult(h.ctx, ext1, x, desk1))
				h.id("consult party already on the call")(h.s.Consult(h.ctx, ext1, x, ext2))
				h.id("consult a queue")(h.s.Consult(h.ctx, ext1, x, support))
				h.id("consult bad number")(h.s.Consult(h.ctx, ext1, x, "+1"))
				y := h.id("consult")(h.s.Consult(h.ctx, ext1, x, lucy))
				h.id("consult twice")(h.s.Consult(h.ctx, ext1, x, sam))
				h.id("consult from the consultation call")(h.s.Consult(h.ctx, ext1, y, sam))
				h.do("clear", h.s.Clear(h.ctx, ext2, x))
				h.do("clear", h.s.Clear(h.ctx, ext1, y))
			},
			errs: []string{
				"dnd: ok",
				"make: ok",
				"answer: ok",
				"consult dnd: do not disturb",
				"consult logged out: not logged in",
				"consult party already on the call: not allowed in this state",
				"consult a queue: not allowed in this state",
				"consult bad number: invalid input",
				"consult: ok",
				"consult twice: not allowed in this state",
				"consult from the consultation call: not allowed in this state",
				"clear: ok",
				"clear: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A internal [1001=connected 1002=alerting]",
					"#2 call.updated answered A internal [1001=connected 1002=connected]",
					"#3 call.updated consultation A internal rel=B [1001=consultation_held 1002=connected]",
					"#4 call.updated consultation B outbound rel=A [1001=connected +14155550123=alerting]",
					"#5 call.ended cleared A internal [1001=disconnected 1002=disconnected]",
					"#6 call.updated cleared B outbound [1001=connected +14155550123=alerting]",
					"#7 call.ended cleared B outbound [1001=disconnected +14155550123=disconnected]",
				},
				"1002": {
					"#1 call.updated new A internal [1001=connected 1002=alerting]",
					"#2 call.updated answered A internal [1001=connected 1002=connected]",
					"#3 call.updated consultation A internal rel=B [1001=consultation_held 1002=connected]",
					"#4 call.ended cleared A internal [1001=disconnected 1002=disconnected]",
				},
				"1003": {
					"#1 device.updated  [dnd in]",
				},
			},
		},
	})
}
