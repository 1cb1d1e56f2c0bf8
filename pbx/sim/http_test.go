package sim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHandler(t *testing.T) {
	ctx := context.Background()
	ringing := func(s *Sim) { // c1: lucy rings 1001
		if _, err := s.PlaceCall(ctx, ExternalCall{From: lucy, To: ext1}); err != nil {
			t.Fatal(err)
		}
	}
	dialing := func(s *Sim) { // c1: 1001 dials sam, who rings until told
		s.SetNumberScript(sam, Script{NeverAnswer: true})
		if _, err := s.MakeCall(ctx, ext1, sam); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		setup  func(*Sim)
		method string
		path   string
		body   string
		status int
		want   string // the whole JSON answer, or "" for none
	}{
		{name: "placing a call answers its id", method: "POST", path: "/sim/v1/calls",
			body: `{"from":"+14155550123","to":"1001","dnis":"+18005550100","digits":"42"}`, status: 201, want: `{"id":"c1"}`},
		{name: "placing a call to a queue by number", method: "POST", path: "/sim/v1/calls",
			body: `{"from":"+14155550123","to":"+18005550100"}`, status: 201, want: `{"id":"c1"}`},
		{name: "placing a call to a queue by name", method: "POST", path: "/sim/v1/calls",
			body: `{"from":"+14155550123","to":"Support"}`, status: 201, want: `{"id":"c1"}`},
		{name: "placing a call with a script", method: "POST", path: "/sim/v1/calls",
			body: `{"from":"+14155550123","to":"1001","script":{"hangupAfter":"20s","digits":"1#"}}`, status: 201, want: `{"id":"c1"}`},
		{name: "a call without from is refused", method: "POST", path: "/sim/v1/calls",
			body: `{"to":"1001"}`, status: 400, want: `{"error":{"code":"invalid_input","message":"from: required, a phone number like +14155550123"}}`},
		{name: "a malformed from is refused", method: "POST", path: "/sim/v1/calls",
			body: `{"from":"lucy","to":"1001"}`, status: 400, want: `{"error":{"code":"invalid_input","message":"from: must be a phone number like +14155550123 or a withheld caller id like anonymous"}}`},
		{name: "a call without to is refused", method: "POST", path: "/sim/v1/calls",
			body: `{"from":"+14155550123"}`, status: 400, want: `{"error":{"code":"invalid_input","message":"to: required, an extension like 1001 or a queue number"}}`},
		{name: "a malformed to is refused", method: "POST", path: "/sim/v1/calls",
			body: `{"from":"+14155550123","to":"ten"}`, status: 400, want: `{"error":{"code":"invalid_input","message":"to: must be an extension like 1001 or a queue number like +18005550100"}}`},
		{name: "malformed digits are refused", method: "POST", path: "/sim/v1/calls",
			body: `{"from":"+14155550123","to":"1001","digits":"4a"}`, status: 400, want: `{"error":{"code":"invalid_input","message":"digits: must be up to 64 of 0-9 * #"}}`},
		{name: "an unknown extension is not found", method: "POST", path: "/sim/v1/calls",
			body: `{"from":"+14155550123","to":"1999"}`, status: 404, want: `{"error":{"code":"not_found","message":"place call: to \"1999\": no such extension or queue: unknown device"}}`},
		{name: "an unknown queue is not found", method: "POST", path: "/sim/v1/calls",
			body: `{"from":"+14155550123","queue":"Sales"}`, status: 404, want: `{"error":{"code":"not_found","message":"place call: queue \"Sales\": unknown device"}}`},
		{name: "a call from an extension is refused", method: "POST", path: "/sim/v1/calls",
			body: `{"from":"1002","to":"1001"}`, status: 400, want: `{"error":{"code":"invalid_input","message":"place call: from 1002: is an extension; use MakeCall for internal calls: invalid input"}}`},
		{name: "a call to a device in DND is busy", setup: func(s *Sim) { _ = s.SetDND(ctx, ext1, true) }, method: "POST", path: "/sim/v1/calls",
			body: `{"from":"+14155550123","to":"1001"}`, status: 409, want: `{"error":{"code":"busy","message":"place call: to extension 1001: do not disturb: caller hears busy"}}`},
		{name: "an unknown field is refused", method: "POST", path: "/sim/v1/calls",
			body: `{"from":"+14155550123","to":"1001","ani":"x"}`, status: 400, want: `{"error":{"code":"invalid_input","message":"ani: unknown field"}}`},
		{name: "a wrongly typed field is refused", method: "POST", path: "/sim/v1/calls",
			body: `{"from":14155550123,"to":"1001"}`, status: 400, want: `{"error":{"code":"invalid_input","message":"from: must be a string"}}`},
		{name: "malformed JSON is refused", method: "POST", path: "/sim/v1/calls",
			body: `{"from":`, status: 400, want: `{"error":{"code":"invalid_input","message":"body: malformed JSON"}}`},
		{name: "an empty body is refused", method: "POST", path: "/sim/v1/calls",
			body: ``, status: 400, want: `{"error":{"code":"invalid_input","message":"body: a JSON object is required"}}`},
		{name: "trailing data is refused", method: "POST", path: "/sim/v1/calls",
			body: `{"from":"+14155550123","to":"1001"} {}`, status: 400, want: `{"error":{"code":"invalid_input","message":"body: more than one JSON value"}}`},
		{name: "a body over 64KB is refused", method: "POST", path: "/sim/v1/calls",
			body: `{"from":"` + strings.Repeat("1", 70<<10) + `"}`, status: 413, want: `{"error":{"code":"too_large","message":"body: larger than 65536 bytes"}}`},
		{name: "a bad script duration is refused", method: "POST", path: "/sim/v1/calls",
			body: `{"from":"+14155550123","to":"1001","script":{"hangupAfter":"soon"}}`, status: 400, want: `{"error":{"code":"invalid_input","message":"script.hangupAfter: must be a duration like \"3s\" between 0 and 24h: invalid input"}}`},
		{name: "calls do not take PUT", method: "PUT", path: "/sim/v1/calls", status: 405,
			want: `{"error":{"code":"method_not_allowed","message":"PUT /sim/v1/calls: use GET, POST"}}`},
		{name: "listing calls shows them", setup: ringing, method: "GET", path: "/sim/v1/calls", status: 200,
			want: `{"calls":[{"id":"c1","direction":"inbound","ani":"+14155550123","dnis":"1001","parties":[{"number":"+14155550123","internal":false,"state":"connected","since":"2025-01-06T09:00:00Z"},{"number":"1001","name":"Alex Agent","internal":true,"state":"alerting","since":"2025-01-06T09:00:00Z"}],"created":"2025-01-06T09:00:00Z"}]}`},
		{name: "listing no calls gives an empty list", method: "GET", path: "/sim/v1/calls", status: 200, want: `{"calls":[]}`},
		{name: "one call by id", setup: ringing, method: "GET", path: "/sim/v1/calls/c1", status: 200,
			want: `{"id":"c1","direction":"inbound","ani":"+14155550123","dnis":"1001","parties":[{"number":"+14155550123","internal":false,"state":"connected","since":"2025-01-06T09:00:00Z"},{"number":"1001","name":"Alex Agent","internal":true,"state":"alerting","since":"2025-01-06T09:00:00Z"}],"created":"2025-01-06T09:00:00Z"}`},
		{name: "an unknown call is not found", method: "GET", path: "/sim/v1/calls/c9", status: 404,
			want: `{"error":{"code":"not_found","message":"call \"c9\": no such call in progress"}}`},
		{name: "a call does not take DELETE", method: "DELETE", path: "/sim/v1/calls/c1", status: 405,
			want: `{"error":{"code":"method_not_allowed","message":"DELETE /sim/v1/calls/c1: use GET"}}`},
		{name: "the far party answers", setup: dialing, method: "POST", path: "/sim/v1/calls/c1/answer", status: 204},
		{name: "the far party cannot answer a call it placed", setup: ringing, method: "POST", path: "/sim/v1/calls/c1/answer", status: 409,
			want: `{"error":{"code":"not_allowed","message":"far answer c1: no external party is ringing: not allowed in this state"}}`},
		{name: "answering an unknown call is not found", method: "POST", path: "/sim/v1/calls/c9/answer", status: 404,
			want: `{"error":{"code":"not_found","message":"far answer c9: unknown call"}}`},
		{name: "answer takes POST only", setup: dialing, method: "GET", path: "/sim/v1/calls/c1/answer", status: 405,
			want: `{"error":{"code":"method_not_allowed","message":"GET /sim/v1/calls/c1/answer: use POST"}}`},
		{name: "the far party hangs up", setup: ringing, method: "POST", path: "/sim/v1/calls/c1/hangup", status: 204},
		{name: "hanging up an unknown call is not found", method: "POST", path: "/sim/v1/calls/c9/hangup", status: 404,
			want: `{"error":{"code":"not_found","message":"far hangup c9: unknown call"}}`},
		{name: "the far party sends digits", setup: ringing, method: "POST", path: "/sim/v1/calls/c1/digits", body: `{"digits":"12#"}`, status: 204},
		{name: "bad digits are refused", setup: ringing, method: "POST", path: "/sim/v1/calls/c1/digits", body: `{"digits":"12x"}`, status: 400,
			want: `{"error":{"code":"invalid_input","message":"digits: required, 1-64 of 0-9 * #"}}`},
		{name: "missing digits are refused", setup: ringing, method: "POST", path: "/sim/v1/calls/c1/digits", body: `{}`, status: 400,
			want: `{"error":{"code":"invalid_input","message":"digits: required, 1-64 of 0-9 * #"}}`},
		{name: "digits to an unknown call are not found", method: "POST", path: "/sim/v1/calls/c9/digits", body: `{"digits":"1"}`, status: 404,
			want: `{"error":{"code":"not_found","message":"far digits c9: unknown call"}}`},
		{name: "an unknown call action is not found", setup: ringing, method: "POST", path: "/sim/v1/calls/c1/explode", status: 404,
			want: `{"error":{"code":"not_found","message":"no route POST /sim/v1/calls/c1/explode: actions are answer, hangup, digits"}}`},
		{name: "devices show their state", setup: func(s *Sim) { _ = s.SetDND(ctx, ext1, true) }, method: "GET", path: "/sim/v1/devices", status: 200},
		{name: "devices take GET only", method: "POST", path: "/sim/v1/devices", status: 405,
			want: `{"error":{"code":"method_not_allowed","message":"POST /sim/v1/devices: use GET"}}`},
		{name: "a number gets a script", method: "PUT", path: "/sim/v1/numbers/+14155550123", body: `{"answerAfter":"10s","hangupAfter":"1m"}`, status: 204},
		{name: "a script for a malformed number is refused", method: "PUT", path: "/sim/v1/numbers/lucy", body: `{}`, status: 400,
			want: `{"error":{"code":"invalid_input","message":"number: must be a phone number like +14155550123"}}`},
		{name: "a script for an extension is refused", method: "PUT", path: "/sim/v1/numbers/1001", body: `{}`, status: 400,
			want: `{"error":{"code":"invalid_input","message":"number: 1001 is an extension; scripts are for external numbers"}}`},
		{name: "a script with a negative duration is refused", method: "PUT", path: "/sim/v1/numbers/+14155550123", body: `{"answerAfter":"-1s"}`, status: 400,
			want: `{"error":{"code":"invalid_input","message":"answerAfter: must be a duration like \"3s\" between 0 and 24h: invalid input"}}`},
		{name: "a script with an unknown field is refused", method: "PUT", path: "/sim/v1/numbers/+14155550123", body: `{"mood":"grumpy"}`, status: 400,
			want: `{"error":{"code":"invalid_input","message":"mood: unknown field"}}`},
		{name: "numbers take PUT only", method: "GET", path: "/sim/v1/numbers/+14155550123", status: 405,
			want: `{"error":{"code":"method_not_allowed","message":"GET /sim/v1/numbers/+14155550123: use PUT"}}`},
		{name: "an unknown route is not found", method: "GET", path: "/sim/v1/nothing", status: 404,
			want: `{"error":{"code":"not_found","message":"no route GET /sim/v1/nothing"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSim(t)
			if tc.setup != nil {
				tc.setup(s)
			}
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Errorf("status = %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			if tc.want == "" {
				if tc.status == 204 && rec.Body.Len() != 0 {
					t.Errorf("body = %s, want none", rec.Body)
				}
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			var want, got any
			if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatalf("bad want: %v", err)
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body is not JSON: %v: %s", err, rec.Body)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHandlerDrivesTheSimulator(t *testing.T) {
	s := mustSim(t)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	ctx := context.Background()
	ch, cancel, err := s.Subscribe(ctx, ext1)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	post := func(path, body string, want int) {
		t.Helper()
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("POST %s = %d, want %d", path, resp.StatusCode, want)
		}
	}
	post("/sim/v1/calls", `{"from":"+14155550123","to":"1001"}`, 201)
	if ev := next(t, ch); ev.Call == nil || ev.Call.ANI != lucy {
		t.Fatalf("event = %+v, want the call from lucy", ev)
	}
	if err := s.Answer(ctx, ext1, "c1"); err != nil {
		t.Fatal(err)
	}
	next(t, ch)
	post("/sim/v1/calls/c1/digits", `{"digits":"7"}`, 204)
	if ev := next(t, ch); ev.Digits != "7" {
		t.Fatalf("event = %+v, want digits 7", ev)
	}
	post("/sim/v1/calls/c1/hangup", ``, 204)
	if ev := next(t, ch); ev.Type != "call.ended" {
		t.Fatalf("event = %+v, want call.ended", ev)
	}
	resp, err := http.Get(srv.URL + "/sim/v1/devices")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Devices []struct {
			Extension string `json:"extension"`
			LoggedIn  bool   `json:"loggedIn"`
		} `json:"devices"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if len(out.Devices) != 7 || out.Devices[0].Extension != "1001" || !out.Devices[0].LoggedIn {
		t.Errorf("devices = %+v", out.Devices)
	}
}
