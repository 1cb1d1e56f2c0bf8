package sim

import "testing"

func TestDeviceFeatures(t *testing.T) {
	runScenarios(t, []scenario{
		{
			name: "DND refuses an internal caller with ErrDND and an external caller with busy",
			run: func(h *harness) {
				h.do("dnd on", h.s.SetDND(h.ctx, ext1, true))
				h.do("dnd on again", h.s.SetDND(h.ctx, ext1, true))
				h.id("internal call")(h.s.MakeCall(h.ctx, ext2, ext1))
				h.id("external call")(h.s.PlaceCall(h.ctx, ExternalCall{From: lucy, To: ext1}))
				h.id("dialing out in dnd")(h.s.MakeCall(h.ctx, ext1, ext2))
				h.do("clear", h.s.Clear(h.ctx, ext1, h.callAt(ext1, 0)))
				h.do("dnd off", h.s.SetDND(h.ctx, ext1, false))
				x := h.id("internal call")(h.s.MakeCall(h.ctx, ext2, ext1))
				h.do("clear", h.s.Clear(h.ctx, ext2, x))
			},
			errs: []string{
				"dnd on: ok",
				"dnd on again: ok",
				"internal call: do not disturb",
				"external call: busy+do not disturb",
				"dialing out in dnd: ok",
				"clear: ok",
				"dnd off: ok",
				"internal call: ok",
				"clear: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 device.updated  [dnd in]",
					"#2 call.updated new A internal [1001=connected 1002=alerting]",
					"#3 call.ended cleared A internal [1001=disconnected 1002=disconnected]",
					"#4 device.updated  [in]",
					"#5 call.updated new B internal [1002=connected 1001=alerting]",
					"#6 call.ended cleared B internal [1002=disconnected 1001=disconnected]",
				},
				"1002": {
					"#1 call.updated new A internal [1001=connected 1002=alerting]",
					"#2 call.ended cleared A internal [1001=disconnected 1002=disconnected]",
					"#3 call.updated new B internal [1002=connected 1001=alerting]",
					"#4 call.ended cleared B internal [1002=disconnected 1001=disconnected]",
				},
			},
		},
		{
			name: "make busy refuses calls with ErrBusy and DND takes precedence",
			run: func(h *harness) {
				h.do("make busy without a reason", h.s.SetMakeBusy(h.ctx, ext1, true, ""))
				h.do("make busy with an unknown reason", h.s.SetMakeBusy(h.ctx, ext1, true, "NAP"))
				h.do("make busy", h.s.SetMakeBusy(h.ctx, ext1, true, "LUNCH"))
				h.id("internal call")(h.s.MakeCall(h.ctx, ext2, ext1))
				h.id("external call")(h.s.PlaceCall(h.ctx, ExternalCall{From: lucy, To: ext1}))
				h.do("dnd on", h.s.SetDND(h.ctx, ext1, true))
				h.id("internal call")(h.s.MakeCall(h.ctx, ext2, ext1))
				h.do("dnd off", h.s.SetDND(h.ctx, ext1, false))
				h.do("make busy with another reason", h.s.SetMakeBusy(h.ctx, ext1, true, "MEETING"))
				h.do("make busy off", h.s.SetMakeBusy(h.ctx, ext1, false, "ignored"))
				h.do("unknown device", h.s.SetMakeBusy(h.ctx, "9999", false, ""))
			},
			errs: []string{
				"make busy without a reason: invalid input",
				"make busy with an unknown reason: invalid input",
				"make busy: ok",
				"internal call: busy",
				"external call: busy",
				"dnd on: ok",
				"internal call: do not disturb",
				"dnd off: ok",
				"make busy with another reason: ok",
				"make busy off: ok",
				"unknown device: unknown device",
			},
			events: map[string][]string{
				"1001": {
					"#1 device.updated  [busy:LUNCH in]",
					"#2 device.updated  [dnd busy:LUNCH in]",
					"#3 device.updated  [busy:LUNCH in]",
					"#4 device.updated  [busy:MEETING in]",
					"#5 device.updated  [in]",
				},
			},
		},
		{
			name: "make busy takes no reason when none are configured",
			cfg:  func(c *Config) { c.Reasons = nil },
			run: func(h *harness) {
				h.do("make busy with a reason", h.s.SetMakeBusy(h.ctx, ext1, true, "LUNCH"))
				h.do("make busy", h.s.SetMakeBusy(h.ctx, ext1, true, ""))
			},
			errs: []string{
				"make busy with a reason: invalid input",
				"make busy: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 device.updated  [busy: in]",
				},
			},
		},
		{
			name: "a hot-desk user logs in with the right PIN and calls reach the desk only then",
			run: func(h *harness) {
				h.id("call to a logged-out desk")(h.s.MakeCall(h.ctx, ext1, desk1))
				h.id("external call to a logged-out desk")(h.s.PlaceCall(h.ctx, ExternalCall{From: lucy, To: desk1}))
				h.do("wrong PIN", h.s.HotDeskLogin(h.ctx, desk1, "0000"))
				h.do("hot-desk login on a regular phone", h.s.HotDeskLogin(h.ctx, ext1, "1234"))
				h.do("logout before login", h.s.HotDeskLogout(h.ctx, desk1))
				h.do("login", h.s.HotDeskLogin(h.ctx, desk1, "1234"))
				h.do("login again", h.s.HotDeskLogin(h.ctx, desk1, "1234"))
				x := h.id("call to the desk")(h.s.MakeCall(h.ctx, ext1, desk1))
				h.do("answer", h.s.Answer(h.ctx, desk1, x))
				h.do("logout during a call", h.s.HotDeskLogout(h.ctx, desk1))
				h.id("dial out while logged out")(h.s.MakeCall(h.ctx, desk1, ext2))
				h.do("clear", h.s.Clear(h.ctx, desk1, x))
			},
			errs: []string{
				"call to a logged-out desk: not logged in",
				"external call to a logged-out desk: busy+not logged in",
				"wrong PIN: login refused",
				"hot-desk login on a regular phone: not allowed in this state",
				"logout before login: not logged in",
				"login: ok",
				"login again: ok",
				"call to the desk: ok",
				"answer: ok",
				"logout during a call: ok",
				"dial out while logged out: not logged in",
				"clear: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A internal [1001=connected 2001=alerting]",
					"#2 call.updated answered A internal [1001=connected 2001=connected]",
					"#3 call.ended cleared A internal [1001=disconnected 2001=disconnected]",
				},
				"2001": {
					"#1 device.updated login [in]",
					"#2 call.updated new A internal [1001=connected 2001=alerting]",
					"#3 call.updated answered A internal [1001=connected 2001=connected]",
					"#4 device.updated login []",
					"#5 call.ended cleared A internal [1001=disconnected 2001=disconnected]",
				},
			},
		},
	})
}
