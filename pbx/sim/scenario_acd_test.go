package sim

import (
	"testing"
	"time"
)

func TestACD(t *testing.T) {
	runScenarios(t, []scenario{
		{
			name: "ACD login needs a known agent on an ACD set, once",
			run: func(h *harness) {
				h.do("unknown agent", h.s.ACDLogin(h.ctx, acd1, "9999"))
				h.do("agent login on a regular phone", h.s.ACDLogin(h.ctx, ext1, "5001"))
				h.do("logout before login", h.s.ACDLogout(h.ctx, acd1))
				h.do("login", h.s.ACDLogin(h.ctx, acd1, "5001"))
				h.do("login again", h.s.ACDLogin(h.ctx, acd1, "5001"))
				h.do("another agent on the same set", h.s.ACDLogin(h.ctx, acd1, "5002"))
				h.do("the same agent on another set", h.s.ACDLogin(h.ctx, acd2, "5001"))
				h.do("logout", h.s.ACDLogout(h.ctx, acd1))
				h.id("call to a logged-out ACD set")(h.s.MakeCall(h.ctx, ext1, acd1))
			},
			errs: []string{
				"unknown agent: login refused",
				"agent login on a regular phone: not allowed in this state",
				"logout before login: not logged in",
				"login: ok",
				"login again: ok",
				"another agent on the same set: not allowed in this state",
				"the same agent on another set: not allowed in this state",
				"logout: ok",
				"call to a logged-out ACD set: not logged in",
			},
			events: map[string][]string{
				"3001": {
					"#1 device.updated login [in5001]",
					"#2 device.updated login []",
				},
			},
		},
		{
			name: "the queue offers each call to the longest-idle available agent",
			run: func(h *harness) {
				h.do("login 5002", h.s.ACDLogin(h.ctx, acd2, "5002"))
				h.advance(time.Second)
				h.do("login 5001", h.s.ACDLogin(h.ctx, acd1, "5001"))
				x := h.id("first caller")(h.s.PlaceCall(h.ctx, ExternalCall{From: lucy, To: support, Digits: "42"}))
				y := h.id("second caller by queue name")(h.s.PlaceCall(h.ctx, ExternalCall{From: sam, Queue: "Support"}))
				h.id("third caller waits")(h.s.PlaceCall(h.ctx, ExternalCall{From: "+14155550100", To: "Support"}))
				h.do("far hangup", h.s.FarHangup(h.ctx, x))
				h.do("far hangup", h.s.FarHangup(h.ctx, y))
			},
			errs: []string{
				"login 5002: ok",
				"login 5001: ok",
				"first caller: ok",
				"second caller by queue name: ok",
				"third caller waits: ok",
				"far hangup: ok",
				"far hangup: ok",
			},
			events: map[string][]string{
				"3001": {
					"#1 device.updated login [in5001]",
					"#2 call.updated new B inbound q=Support [+14155550199=connected 3001=alerting]",
					"#3 call.ended cleared B inbound q=Support [+14155550199=disconnected 3001=disconnected]",
				},
				"3002": {
					"#1 device.updated login [in5002]",
					"#2 call.updated new A inbound q=Support digits=42 [+14155550123=connected 3002=alerting]",
					"#3 call.ended cleared A inbound q=Support digits=42 [+14155550123=disconnected 3002=disconnected]",
					"#4 call.updated new C inbound q=Support [+14155550100=connected 3002=alerting]",
				},
			},
			live: 1,
		},
		{
			name: "after an ACD call the work timer holds back the next ACD call until it ends",
			cfg: func(c *Config) {
				c.ClassificationRequired = false
				shortTimers(c)
			},
			run: func(h *harness) {
				h.do("login", h.s.ACDLogin(h.ctx, acd1, "5001"))
				x := h.id("caller")(h.s.PlaceCall(h.ctx, ExternalCall{From: lucy, To: support}))
				h.do("answer", h.s.Answer(h.ctx, acd1, x))
				h.do("account code", h.s.SetAccountCode(h.ctx, acd1, x, "100"))
				h.do("far hangup", h.s.FarHangup(h.ctx, x))
				h.id("next caller waits")(h.s.PlaceCall(h.ctx, ExternalCall{From: sam, To: support}))
				h.do("internal calls still ring", h.s.Answer(h.ctx, acd1, h.id("internal")(h.s.MakeCall(h.ctx, ext1, acd1))))
				h.do("clear internal", h.s.Clear(h.ctx, ext1, h.callAt(ext1, 0)))
				h.advance(30 * time.Second)
			},
			errs: []string{
				"login: ok",
				"caller: ok",
				"answer: ok",
				"account code: ok",
				"far hangup: ok",
				"next caller waits: ok",
				"internal: ok",
				"internal calls still ring: ok",
				"clear internal: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new C internal [1001=connected 3001=alerting]",
					"#2 call.updated answered C internal [1001=connected 3001=connected]",
					"#3 call.ended cleared C internal [1001=disconnected 3001=disconnected]",
				},
				"3001": {
					"#1 device.updated login [in5001]",
					"#2 call.updated new A inbound q=Support [+14155550123=connected 3001=alerting]",
					"#3 call.updated answered A inbound q=Support [+14155550123=connected 3001=connected]",
					"#4 call.updated codes A inbound q=Support codes=100/ [+14155550123=connected 3001=connected]",
					"#5 call.ended cleared A inbound q=Support codes=100/ [+14155550123=disconnected 3001=disconnected]",
					"#6 device.updated work_timer [in5001 work]",
					"#7 call.updated new C internal [1001=connected 3001=alerting]",
					"#8 call.updated answered C internal [1001=connected 3001=connected]",
					"#9 call.ended cleared C internal [1001=disconnected 3001=disconnected]",
					"#10 device.updated work_timer [in5001]",
					"#11 call.updated new B inbound q=Support [+14155550199=connected 3001=alerting]",
				},
			},
			live: 1,
		},
		{
			name: "with classification required the work timer is cancelled only after a classification code",
			run: func(h *harness) {
				h.do("login", h.s.ACDLogin(h.ctx, acd1, "5001"))
				h.do("cancel without a work timer", h.s.CancelWorkTimer(h.ctx, acd1))
				x := h.id("caller")(h.s.PlaceCall(h.ctx, ExternalCall{From: lucy, To: support}))
				h.do("answer", h.s.Answer(h.ctx, acd1, x))
				h.do("clear", h.s.Clear(h.ctx, acd1, x))
				h.do("cancel", h.s.CancelWorkTimer(h.ctx, acd1))
				h.do("unknown classification", h.s.SetClassificationCode(h.ctx, acd1, x, "NOPE"))
				h.do("classify another device's call", h.s.SetClassificationCode(h.ctx, acd2, x, "SALES"))
				h.do("classify", h.s.SetClassificationCode(h.ctx, acd1, x, "SALES"))
				h.do("cancel", h.s.CancelWorkTimer(h.ctx, acd1))
				h.do("classify after the work timer", h.s.SetClassificationCode(h.ctx, acd1, x, "SALES"))
			},
			errs: []string{
				"login: ok",
				"cancel without a work timer: ok",
				"caller: ok",
				"answer: ok",
				"clear: ok",
				"cancel: not allowed in this state",
				"unknown classification: invalid input",
				"classify another device's call: unknown call",
				"classify: ok",
				"cancel: ok",
				"classify after the work timer: unknown call",
			},
			events: map[string][]string{
				"3001": {
					"#1 device.updated login [in5001]",
					"#2 call.updated new A inbound q=Support [+14155550123=connected 3001=alerting]",
					"#3 call.updated answered A inbound q=Support [+14155550123=connected 3001=connected]",
					"#4 call.ended cleared A inbound q=Support [+14155550123=disconnected 3001=disconnected]",
					"#5 device.updated work_timer [in5001 work classify]",
					"#6 device.updated codes [in5001 work]",
					"#7 device.updated work_timer [in5001]",
				},
			},
		},
		{
			name: "a classification code set during the call leaves nothing pending",
			run: func(h *harness) {
				h.do("login", h.s.ACDLogin(h.ctx, acd1, "5001"))
				x := h.id("caller")(h.s.PlaceCall(h.ctx, ExternalCall{From: lucy, To: support}))
				h.do("answer", h.s.Answer(h.ctx, acd1, x))
				h.do("classify", h.s.SetClassificationCode(h.ctx, acd1, x, "BILLING"))
				h.do("clear", h.s.Clear(h.ctx, acd1, x))
				h.do("cancel", h.s.CancelWorkTimer(h.ctx, acd1))
			},
			errs: []string{
				"login: ok",
				"caller: ok",
				"answer: ok",
				"classify: ok",
				"clear: ok",
				"cancel: ok",
			},
			events: map[string][]string{
				"3001": {
					"#1 device.updated login [in5001]",
					"#2 call.updated new A inbound q=Support [+14155550123=connected 3001=alerting]",
					"#3 call.updated answered A inbound q=Support [+14155550123=connected 3001=connected]",
					"#4 call.updated codes A inbound q=Support codes=/BILLING [+14155550123=connected 3001=connected]",
					"#5 call.ended cleared A inbound q=Support codes=/BILLING [+14155550123=disconnected 3001=disconnected]",
					"#6 device.updated work_timer [in5001 work]",
					"#7 device.updated work_timer [in5001]",
				},
			},
		},
		{
			name: "codes are checked and classification is for ACD calls only",
			run: func(h *harness) {
				x := h.id("make")(h.s.MakeCall(h.ctx, ext1, ext2))
				h.do("unknown account code", h.s.SetAccountCode(h.ctx, ext1, x, "999"))
				h.do("account code", h.s.SetAccountCode(h.ctx, ext1, x, "200"))
				h.do("classify a non-ACD call", h.s.SetClassificationCode(h.ctx, ext1, x, "SALES"))
				h.do("account code on an unknown call", h.s.SetAccountCode(h.ctx, ext1, "nope", "200"))
				h.do("clear", h.s.Clear(h.ctx, ext1, x))
			},
			errs: []string{
				"make: ok",
				"unknown account code: invalid input",
				"account code: ok",
				"classify a non-ACD call: not allowed in this state",
				"account code on an unknown call: unknown call",
				"clear: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated new A internal [1001=connected 1002=alerting]",
					"#2 call.updated codes A internal codes=200/ [1001=connected 1002=alerting]",
					"#3 call.ended cleared A internal codes=200/ [1001=disconnected 1002=disconnected]",
				},
				"1002": {
					"#1 call.updated new A internal [1001=connected 1002=alerting]",
					"#2 call.updated codes A internal codes=200/ [1001=connected 1002=alerting]",
					"#3 call.ended cleared A internal codes=200/ [1001=disconnected 1002=disconnected]",
				},
			},
		},
		{
			name: "the queue skips agents in DND or make busy and the call waits for one",
			run: func(h *harness) {
				h.do("login", h.s.ACDLogin(h.ctx, acd1, "5001"))
				h.do("dnd", h.s.SetDND(h.ctx, acd1, true))
				h.id("caller waits")(h.s.PlaceCall(h.ctx, ExternalCall{From: lucy, To: support}))
				h.do("make busy", h.s.SetMakeBusy(h.ctx, acd1, true, "BREAK"))
				h.do("dnd off", h.s.SetDND(h.ctx, acd1, false))
				h.do("make busy off", h.s.SetMakeBusy(h.ctx, acd1, false, ""))
			},
			errs: []string{
				"login: ok",
				"dnd: ok",
				"caller waits: ok",
				"make busy: ok",
				"dnd off: ok",
				"make busy off: ok",
			},
			events: map[string][]string{
				"3001": {
					"#1 device.updated login [in5001]",
					"#2 device.updated  [dnd in5001]",
					"#3 device.updated  [dnd busy:BREAK in5001]",
					"#4 device.updated  [busy:BREAK in5001]",
					"#5 device.updated  [in5001]",
					"#6 call.updated new A inbound q=Support [+14155550123=connected 3001=alerting]",
				},
			},
			live: 1,
		},
		{
			name: "an ACD call nobody answers goes back to the queue for the next agent",
			cfg:  shortTimers,
			run: func(h *harness) {
				h.do("login 5001", h.s.ACDLogin(h.ctx, acd1, "5001"))
				h.advance(time.Second)
				h.do("login 5002", h.s.ACDLogin(h.ctx, acd2, "5002"))
				x := h.id("caller")(h.s.PlaceCall(h.ctx, ExternalCall{From: lucy, To: support}))
				h.advance(40 * time.Second)
				h.do("redirect an ACD call", h.s.Redirect(h.ctx, acd2, x, ext1))
				h.do("answer", h.s.Answer(h.ctx, ext1, x))
				h.do("clear", h.s.Clear(h.ctx, ext1, x))
			},
			errs: []string{
				"login 5001: ok",
				"login 5002: ok",
				"caller: ok",
				"redirect an ACD call: ok",
				"answer: ok",
				"clear: ok",
			},
			events: map[string][]string{
				"1001": {
					"#1 call.updated redirected A inbound q=Support [+14155550123=connected 3001=disconnected 3002=disconnected 1001=alerting]",
					"#2 call.updated answered A inbound q=Support [+14155550123=connected 3001=disconnected 3002=disconnected 1001=connected]",
					"#3 call.ended cleared A inbound q=Support [+14155550123=disconnected 3001=disconnected 3002=disconnected 1001=disconnected]",
				},
				"3001": {
					"#1 device.updated login [in5001]",
					"#2 call.updated new A inbound q=Support [+14155550123=connected 3001=alerting]",
					"#3 call.ended no_answer A inbound q=Support [+14155550123=connected 3001=disconnected]",
				},
				"3002": {
					"#1 device.updated login [in5002]",
					"#2 call.updated new A inbound q=Support [+14155550123=connected 3001=disconnected 3002=alerting]",
					"#3 call.ended redirected A inbound q=Support [+14155550123=connected 3001=disconnected 3002=disconnected 1001=alerting]",
				},
			},
		},
		{
			name: "a caller waiting in the queue may abandon",
			run: func(h *harness) {
				x := h.id("caller waits")(h.s.PlaceCall(h.ctx, ExternalCall{From: lucy, To: support}))
				h.do("abandon", h.s.FarHangup(h.ctx, x))
				h.do("login", h.s.ACDLogin(h.ctx, acd1, "5001"))
			},
			errs: []string{
				"caller waits: ok",
				"abandon: ok",
				"login: ok",
			},
			events: map[string][]string{
				"3001": {
					"#1 device.updated login [in5001]",
				},
			},
		},
		{
			name: "logging out ends the work timer",
			run: func(h *harness) {
				h.do("login", h.s.ACDLogin(h.ctx, acd1, "5001"))
				x := h.id("caller")(h.s.PlaceCall(h.ctx, ExternalCall{From: lucy, To: support}))
				h.do("answer", h.s.Answer(h.ctx, acd1, x))
				h.do("clear", h.s.Clear(h.ctx, acd1, x))
				h.do("logout", h.s.ACDLogout(h.ctx, acd1))
			},
			errs: []string{
				"login: ok",
				"caller: ok",
				"answer: ok",
				"clear: ok",
				"logout: ok",
			},
			events: map[string][]string{
				"3001": {
					"#1 device.updated login [in5001]",
					"#2 call.updated new A inbound q=Support [+14155550123=connected 3001=alerting]",
					"#3 call.updated answered A inbound q=Support [+14155550123=connected 3001=connected]",
					"#4 call.ended cleared A inbound q=Support [+14155550123=disconnected 3001=disconnected]",
					"#5 device.updated work_timer [in5001 work classify]",
					"#6 device.updated login []",
				},
			},
		},
		{
			name: "an ACD call whose hold recall nobody answers ends instead of going back to the queue",
			cfg: func(c *Config) {
				c.ClassificationRequired = false
				shortTimers(c)
			},
			run: func(h *harness) {
				h.do("login", h.s.ACDLogin(h.ctx, acd1, "5001"))
				x := h.id("caller")(h.s.PlaceCall(h.ctx, ExternalCall{From: lucy, To: support}))
				h.do("answer", h.s.Answer(h.ctx, acd1, x))
				h.do("hold", h.s.Hold(h.ctx, acd1, x))
				h.advance(60 * time.Second)
				h.advance(40 * time.Second)
			},
			errs: []string{
				"login: ok",
				"caller: ok",
				"answer: ok",
				"hold: ok",
			},
			events: map[string][]string{
				"3001": {
					"#1 device.updated login [in5001]",
					"#2 call.updated new A inbound q=Support [+14155550123=connected 3001=alerting]",
					"#3 call.updated answered A inbound q=Support [+14155550123=connected 3001=connected]",
					"#4 call.updated held A inbound q=Support [+14155550123=connected 3001=held]",
					"#5 call.updated recall A inbound q=Support [+14155550123=connected 3001=alerting]",
					"#6 call.ended no_answer A inbound q=Support [+14155550123=disconnected 3001=disconnected]",
					"#7 device.updated work_timer [in5001 work]",
				},
			},
		},
	})
}
