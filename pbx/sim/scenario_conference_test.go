package sim

import "testing"

func TestConference(t *testing.T) {
	runScenarios(t, []scenario{
		{
			name: "a conference joins the consulted party and takes the held parties off hold",
			run: func(h *harness) {
				x := answered(h)
				y := h.id("consult")(h.s.Consult(h.ctx, ext1, x, ext2))
				h.do("consulted answers", h.s.Answer(h.ctx, ext2, y))
				h.do("conference", h.s.Conference(h.ctx, ext1, y))
				h.do("consultation call is gone", h.s.Clear(h.ctx, ext1, y))
				h.do("the conference host leaves", h.s.Clear(h.ctx, ext1, x))
				h.do("far hangup", h.s.FarHangup(h.ctx, x))
			},
			errs: []string{
				"place: ok",
				"answer: ok",
				"consult: ok",
				"consulted answers: ok",
				"conference: ok",
				"consultation call is gone: unknown call",
				"the conference host leaves: ok",
				"far hangup: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A inbound [+14155550123=connected 1001=alerting]",
					"#2 call.updated answered A inbound [+14155550123=connected 1001=connected]",
					"#3 call.updated consultation A inbound rel=B [+14155550123=connected 1001=consultation_held]",
					"#4 call.updated consultation B internal rel=A [1001=connected 1002=alerting]",
					"#5 call.updated answered B internal rel=A [1001=connected 1002=connected]",
					"#6 call.ended conferenced B internal [1001=disconnected]",
					"#7 call.updated conferenced A inbound [+14155550123=connected 1001=connected 1002=connected]",
					"#8 call.ended cleared A inbound [+14155550123=connected 1001=disconnected 1002=connected]",
				},
				"1002": {
					"#1 call.updated consultation B internal rel=A [1001=connected 1002=alerting]",
					"#2 call.updated answered B internal rel=A [1001=connected 1002=connected]",
					"#3 call.ended conferenced B internal [1001=disconnected]",
					"#4 call.updated conferenced A inbound [+14155550123=connected 1001=connected 1002=connected]",
					"#5 call.updated cleared A inbound [+14155550123=connected 1001=disconnected 1002=connected]",
					"#6 call.ended cleared A inbound [+14155550123=disconnected 1001=disconnected 1002=disconnected]",
				},
			},
		},
		{
			name: "a conference may be joined before the new party answers",
			run: func(h *harness) {
				x := answered(h)
				h.id("consult")(h.s.Consult(h.ctx, ext1, x, ext2))
				h.do("conference", h.s.Conference(h.ctx, ext1, x))
				h.do("answer", h.s.Answer(h.ctx, ext2, x))
				h.do("clear", h.s.Clear(h.ctx, ext2, x))
				h.do("clear", h.s.Clear(h.ctx, ext1, x))
			},
			errs: []string{
				"place: ok",
				"answer: ok",
				"consult: ok",
				"conference: ok",
				"answer: ok",
				"clear: ok",
				"clear: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A inbound [+14155550123=connected 1001=alerting]",
					"#2 call.updated answered A inbound [+14155550123=connected 1001=connected]",
					"#3 call.updated consultation A inbound rel=B [+14155550123=connected 1001=consultation_held]",
					"#4 call.updated consultation B internal rel=A [1001=connected 1002=alerting]",
					"#5 call.ended conferenced B internal [1001=disconnected]",
					"#6 call.updated conferenced A inbound [+14155550123=connected 1001=connected 1002=alerting]",
					"#7 call.updated answered A inbound [+14155550123=connected 1001=connected 1002=connected]",
					"#8 call.updated cleared A inbound [+14155550123=connected 1001=connected 1002=disconnected]",
					"#9 call.ended cleared A inbound [+14155550123=disconnected 1001=disconnected 1002=disconnected]",
				},
				"1002": {
					"#1 call.updated consultation B internal rel=A [1001=connected 1002=alerting]",
					"#2 call.ended conferenced B internal [1001=disconnected]",
					"#3 call.updated conferenced A inbound [+14155550123=connected 1001=connected 1002=alerting]",
					"#4 call.updated answered A inbound [+14155550123=connected 1001=connected 1002=connected]",
					"#5 call.ended cleared A inbound [+14155550123=connected 1001=connected 1002=disconnected]",
				},
			},
		},
		{
			name: "a sixth conference party is refused with a limit error",
			run: func(h *harness) {
				for _, n := range []string{"+14155550001", "+14155550002", "+14155550003"} {
					h.s.SetNumberScript(n, Script{})
				}
				x := answered(h)
				for i, n := range []string{ext2, ext3, "+14155550001"} {
					y := h.id("consult")(h.s.Consult(h.ctx, ext1, x, n))
					if i < 2 {
						h.do("answer", h.s.Answer(h.ctx, n, y))
					}
					h.do("conference", h.s.Conference(h.ctx, ext1, y))
				}
				y := h.id("consult a sixth")(h.s.Consult(h.ctx, ext1, x, "+14155550002"))
				h.do("conference the sixth", h.s.Conference(h.ctx, ext1, y))
				h.do("retrieve drops the sixth", h.s.Retrieve(h.ctx, ext1, x))
				h.do("far hangup", h.s.FarHangup(h.ctx, x))
				h.do("clear", h.s.Clear(h.ctx, ext2, x))
				h.do("clear", h.s.Clear(h.ctx, ext3, x))
				h.do("far hangup", h.s.FarHangup(h.ctx, x))
			},
			errs: []string{
				"place: ok",
				"answer: ok",
				"consult: ok",
				"answer: ok",
				"conference: ok",
				"consult: ok",
				"answer: ok",
				"conference: ok",
				"consult: ok",
				"conference: ok",
				"consult a sixth: ok",
				"conference the sixth: limit reached",
				"retrieve drops the sixth: ok",
				"far hangup: ok",
				"clear: ok",
				"clear: ok",
				"far hangup: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A inbound [+14155550123=connected 1001=alerting]",
					"#2 call.updated answered A inbound [+14155550123=connected 1001=connected]",
					"#3 call.updated consultation A inbound rel=B [+14155550123=connected 1001=consultation_held]",
					"#4 call.updated consultation B internal rel=A [1001=connected 1002=alerting]",
					"#5 call.updated answered B internal rel=A [1001=connected 1002=connected]",
					"#6 call.ended conferenced B internal [1001=disconnected]",
					"#7 call.updated conferenced A inbound [+14155550123=connected 1001=connected 1002=connected]",
					"#8 call.updated consultation A inbound rel=C [+14155550123=connected 1001=consultation_held 1002=connected]",
					"#9 call.updated consultation C internal rel=A [1001=connected 1003=alerting]",
					"#10 call.updated answered C internal rel=A [1001=connected 1003=connected]",
					"#11 call.ended conferenced C internal [1001=disconnected]",
					"#12 call.updated conferenced A inbound [+14155550123=connected 1001=connected 1002=connected 1003=connected]",
					"#13 call.updated consultation A inbound rel=D [+14155550123=connected 1001=consultation_held 1002=connected 1003=connected]",
					"#14 call.updated consultation D outbound rel=A [1001=connected +14155550001=connected]",
					"#15 call.ended conferenced D outbound [1001=disconnected]",
					"#16 call.updated conferenced A inbound [+14155550123=connected 1001=connected 1002=connected 1003=connected +14155550001=connected]",
					"#17 call.updated consultation A inbound rel=E [+14155550123=connected 1001=consultation_held 1002=connected 1003=connected +14155550001=connected]",
					"#18 call.updated consultation E outbound rel=A [1001=connected +14155550002=connected]",
					"#19 call.ended retrieved E outbound [1001=disconnected +14155550002=disconnected]",
					"#20 call.updated retrieved A inbound [+14155550123=connected 1001=connected 1002=connected 1003=connected +14155550001=connected]",
					"#21 call.updated cleared A inbound [+14155550123=disconnected 1001=connected 1002=connected 1003=connected +14155550001=connected]",
					"#22 call.updated cleared A inbound [+14155550123=disconnected 1001=connected 1002=disconnected 1003=connected +14155550001=connected]",
					"#23 call.updated cleared A inbound [+14155550123=disconnected 1001=connected 1002=disconnected 1003=disconnected +14155550001=connected]",
					"#24 call.ended cleared A inbound [+14155550123=disconnected 1001=disconnected 1002=disconnected 1003=disconnected +14155550001=disconnected]",
				},
				"1002": {
					"#1 call.updated consultation B internal rel=A [1001=connected 1002=alerting]",
					"#2 call.updated answered B internal rel=A [1001=connected 1002=connected]",
					"#3 call.ended conferenced B internal [1001=disconnected]",
					"#4 call.updated conferenced A inbound [+14155550123=connected 1001=connected 1002=connected]",
					"#5 call.updated consultation A inbound rel=C [+14155550123=connected 1001=consultation_held 1002=connected]",
					"#6 call.updated conferenced A inbound [+14155550123=connected 1001=connected 1002=connected 1003=connected]",
					"#7 call.updated consultation A inbound rel=D [+14155550123=connected 1001=consultation_held 1002=connected 1003=connected]",
					"#8 call.updated conferenced A inbound [+14155550123=connected 1001=connected 1002=connected 1003=connected +14155550001=connected]",
					"#9 call.updated consultation A inbound rel=E [+14155550123=connected 1001=consultation_held 1002=connected 1003=connected +14155550001=connected]",
					"#10 call.updated retrieved A inbound [+14155550123=connected 1001=connected 1002=connected 1003=connected +14155550001=connected]",
					"#11 call.updated cleared A inbound [+14155550123=disconnected 1001=connected 1002=connected 1003=connected +14155550001=connected]",
					"#12 call.ended cleared A inbound [+14155550123=disconnected 1001=connected 1002=disconnected 1003=connected +14155550001=connected]",
				},
				"1003": {
					"#1 call.updated consultation C internal rel=A [1001=connected 1003=alerting]",
					"#2 call.updated answered C internal rel=A [1001=connected 1003=connected]",
					"#3 call.ended conferenced C internal [1001=disconnected]",
					"#4 call.updated conferenced A inbound [+14155550123=connected 1001=connected 1002=connected 1003=connected]",
					"#5 call.updated consultation A inbound rel=D [+14155550123=connected 1001=consultation_held 1002=connected 1003=connected]",
					"#6 call.updated conferenced A inbound [+14155550123=connected 1001=connected 1002=connected 1003=connected +14155550001=connected]",
					"#7 call.updated consultation A inbound rel=E [+14155550123=connected 1001=consultation_held 1002=connected 1003=connected +14155550001=connected]",
					"#8 call.updated retrieved A inbound [+14155550123=connected 1001=connected 1002=connected 1003=connected +14155550001=connected]",
					"#9 call.updated cleared A inbound [+14155550123=disconnected 1001=connected 1002=connected 1003=connected +14155550001=connected]",
					"#10 call.updated cleared A inbound [+14155550123=disconnected 1001=connected 1002=disconnected 1003=connected +14155550001=connected]",
					"#11 call.ended cleared A inbound [+14155550123=disconnected 1001=connected 1002=disconnected 1003=disconnected +14155550001=connected]",
				},
			},
		},
	})
}
