package flowapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/adapter/flowapi"
	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/salesforce"
)

func TestUserID(t *testing.T) {
	// A real-world pair: the 15- and 18-character forms of one Id.
	if got := flowapi.To18("005D0000001Az1B"); got != "005D0000001Az1BIAS" {
		t.Errorf("To18 = %q", got)
	}
	for _, tc := range []struct{ in, want, errPart string }{
		{"005D0000001Az1B", "005D0000001Az1BIAS", ""},
		{"005D0000001Az1BIAS", "005D0000001Az1BIAS", ""},
		{"005D0000001Az1Bias", "005D0000001Az1BIAS", ""},
		{"003D0000001Az1B", "", "starting with 005"},
		{"005D0000001Az1BXXX", "", "checksum"},
		{"005-not-an-id!", "", "15 or 18"},
		{"", "", "15 or 18"},
	} {
		got, err := flowapi.UserID(tc.in)
		if tc.errPart == "" && (err != nil || got != tc.want) || tc.errPart != "" && (err == nil || !strings.Contains(err.Error(), tc.errPart)) {
			t.Errorf("UserID(%q) = %q, %v; want %q / error with %q", tc.in, got, err, tc.want, tc.errPart)
		}
	}
}

func TestClickToDialStartsFromTheUsersPhone(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.jwtFor(t, nil)
	r := e.do(t, "POST", flowapi.Base+"/users/"+alexID[:15]+"/calls", tok, map[string]string{"number": "1002"})
	if r.status != http.StatusCreated || r.body["extension"] != "1001" || r.body["userId"] != alexID {
		t.Fatalf("dial: %d %s", r.status, r.raw)
	}
	snap, err := e.sim.Snapshot(context.Background(), "1001")
	if err != nil || len(snap.Calls) != 1 || snap.Calls[0].ID != r.body["callId"] {
		t.Fatalf("1001's calls: %+v %v", snap.Calls, err)
	}
	t.Run("a hot-desk user signed in through the softphone dials from the desk", func(t *testing.T) {
		ctx := context.Background()
		if err := e.sim.HotDeskLogin(ctx, "2002", "4321"); err != nil {
			t.Fatal(err)
		}
		if err := e.store.PutAgent(ctx, adapter.Agent{UserID: blairID, Extension: "2002", Kind: pbx.KindHotDesk, HomeExtension: "2001"}); err != nil {
			t.Fatal(err)
		}
		r := e.do(t, "POST", flowapi.Base+"/users/"+blairID+"/calls", tok, map[string]string{"number": "1003"})
		if r.status != http.StatusCreated || r.body["extension"] != "2002" {
			t.Fatalf("dial: %d %s", r.status, r.raw)
		}
	})
}

func TestPresence(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.jwtFor(t, nil)
	path := flowapi.Base + "/users/" + alexID + "/presence"
	r := e.do(t, "PATCH", path, tok, map[string]any{"makeBusy": true, "reason": "LUNCH"})
	if r.status != 200 || r.body["makeBusy"] != true || r.body["reason"] != "LUNCH" {
		t.Fatalf("set: %d %s", r.status, r.raw)
	}
	r = e.do(t, "PATCH", path, tok, map[string]any{"dnd": true})
	if r.status != 200 || r.body["dnd"] != true {
		t.Fatalf("set dnd: %d %s", r.status, r.raw)
	}
	r = e.do(t, "GET", path, tok, nil)
	want := map[string]any{"userId": alexID, "extension": "1001", "dnd": true, "makeBusy": true, "reason": "LUNCH", "loggedIn": true, "workTimer": false}
	if diff := cmp.Diff(want, r.body); r.status != 200 || diff != "" {
		t.Fatalf("get: %d (-want +got)\n%s", r.status, diff)
	}
	// A percent-encoded user id (a Flow's URL-encoding) names the same user.
	encoded := flowapi.Base + "/users/%30" + alexID[1:] + "/presence"
	if r = e.do(t, "GET", encoded, tok, nil); r.status != 200 || r.body["userId"] != alexID {
		t.Fatalf("get with an encoded user id: %d %s", r.status, r.raw)
	}
	r = e.do(t, "PATCH", path, tok, map[string]any{"dnd": false, "makeBusy": false})
	if r.status != 200 || r.body["dnd"] != false || r.body["makeBusy"] != false {
		t.Fatalf("clear: %d %s", r.status, r.raw)
	}
}

func TestCurrentCallAndCodes(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.jwtFor(t, nil)
	path := flowapi.Base + "/users/" + alexID + "/call"
	r := e.do(t, "GET", path, tok, nil)
	if r.status != 200 || r.body["active"] != false || r.body["call"] != nil {
		t.Fatalf("no call: %d %s", r.status, r.raw)
	}
	ctx := context.Background()
	started := e.clock.Now().Add(-time.Minute)
	for _, rec := range []adapter.CallRecord{
		{ID: "c-old", Extension: "1001", State: pbx.Connected, PostCall: true, Started: started},
		{ID: "c-held", Extension: "1001", State: pbx.Held, Started: started},
		{ID: "c-1", Extension: "1001", Direction: pbx.Inbound, State: pbx.Connected, ANI: "+15551230001", DNIS: "+18005550100",
			Digits: "1234", Queue: "Support", Number: "+15551230001", Started: started, AccountCode: "100",
			Matches: []salesforce.Match{{ID: "003000000000001AAA", Type: "Contact", Name: "Pat Caller", Phone: "+15551230001"}}},
	} {
		if err := e.store.PutCall(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	r = e.do(t, "GET", path, tok, nil)
	want := map[string]any{"userId": alexID, "active": true, "call": map[string]any{
		"callId": "c-1", "direction": "inbound", "state": "connected", "ani": "+15551230001", "dnis": "+18005550100",
		"digits": "1234", "queue": "Support", "number": "+15551230001", "withheld": false, "started": started.Format(time.RFC3339),
		"accountCode": "100", "classificationCode": "",
		"matches": []any{map[string]any{"id": "003000000000001AAA", "type": "Contact", "name": "Pat Caller"}},
	}}
	if diff := cmp.Diff(want, r.body); r.status != 200 || diff != "" {
		t.Fatalf("call: %d (-want +got)\n%s", r.status, diff)
	}
	r = e.do(t, "GET", flowapi.Base+"/codes", tok, nil)
	reasons, _ := r.body["reasons"].([]any)
	if r.status != 200 || len(reasons) != 4 || r.body["accounts"] == nil || r.body["classifications"] == nil {
		t.Fatalf("codes: %d %s", r.status, r.raw)
	}
}

func TestLogAnInboundCallFromAWithheldNumber(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.jwtFor(t, nil)
	r := e.do(t, "POST", flowapi.Base+"/users/"+alexID+"/tasks", tok, map[string]any{"number": "PRIVATE", "direction": "Inbound", "externalCallId": "mob-43"})
	if r.status != http.StatusAccepted {
		t.Fatalf("log: %d %s", r.status, r.raw)
	}
	jobs, err := e.store.NextTasks(context.Background(), "test", 10, time.Minute)
	if err != nil || len(jobs) != 1 || jobs[0].Task.Subject != "Call: Inbound "+adapter.WithheldText {
		t.Fatalf("outbox: %+v %v, want a Task saying the number was withheld", jobs, err)
	}
}

func TestLogExternalCallGoesThroughTheOutbox(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.jwtFor(t, nil)
	r := e.do(t, "POST", flowapi.Base+"/users/"+alexID+"/tasks", tok, map[string]any{
		"number": "+15551230001", "direction": "Outbound", "subject": "Mobile call", "notes": "Agreed on a demo",
		"durationSeconds": 95, "disposition": "Interested", "whoId": "003000000000001AAA", "externalCallId": "mob-42",
		"startedAt": "2026-11-29T16:30:00Z",
	})
	if r.status != http.StatusAccepted || r.body["status"] != "queued" || r.body["callObject"] != "mob-42" {
		t.Fatalf("log: %d %s", r.status, r.raw)
	}
	jobs, err := e.store.NextTasks(context.Background(), "test", 10, time.Minute)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("outbox: %v %v", jobs, err)
	}
	want := salesforce.Task{Subject: "Mobile call: Outbound +15551230001", Description: "Agreed on a demo", Status: "Completed", Priority: "Normal",
		ActivityDate: "2026-11-29", WhoID: "003000000000001AAA", OwnerID: alexID, TaskSubtype: "Call", Type: "Call", CallType: "Outbound",
		CallDurationInSeconds: 95, CallObject: "mob-42", CallDisposition: "Interested"}
	if diff := cmp.Diff(want, jobs[0].Task); diff != "" {
		t.Errorf("task (-want +got)\n%s", diff)
	}
	if jobs[0].Key != "flow:mob-42/"+alexID || jobs[0].UserID != alexID {
		t.Errorf("job key %q user %q", jobs[0].Key, jobs[0].UserID)
	}
}

func TestNotesUpToTheDocumentedLimitAreAccepted(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.jwtFor(t, nil)
	u := flowapi.Base + "/users/" + alexID + "/tasks"
	logCall := func(notes string) resp {
		return e.do(t, "POST", u, tok, map[string]any{"number": "+15551230001", "direction": "Inbound", "notes": notes,
			"subject": strings.Repeat("<", 255), "disposition": strings.Repeat("&", 255), "externalCallId": strings.Repeat(">", 200)})
	}
	for _, tc := range []struct {
		name, notes string
	}{
		{"17,000 ASCII characters", strings.Repeat("a", 17000)},
		{"9,000 two-byte characters", strings.Repeat("é", 9000)},
		{"32,000 three-byte characters (96,000 bytes of UTF-8)", strings.Repeat("€", 32000)},
		// encoding/json sends < as \u003c: 6 bytes a character, the most
		// a valid body can take.
		{"32,000 characters that JSON escapes as \\uXXXX", strings.Repeat("<", 32000)},
		{"16,000 emoji (2 UTF-16 units each)", strings.Repeat("😀", 16000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := logCall(tc.notes); r.status != http.StatusAccepted {
				t.Fatalf("log: %d %.300s", r.status, r.raw)
			}
		})
	}
	t.Run("32,001 characters are refused naming the field and limit", func(t *testing.T) {
		wantError(t, logCall(strings.Repeat("é", 32001)), 400, "invalid_input", "notes: at most 32000 characters")
	})
	t.Run("16,001 emoji are refused: Salesforce counts UTF-16 units", func(t *testing.T) {
		wantError(t, logCall(strings.Repeat("😀", 16001)), 400, "invalid_input", "notes: at most 32000 characters")
	})
	t.Run("a subject over 255 characters is refused", func(t *testing.T) {
		r := e.do(t, "POST", u, tok, map[string]any{"number": "+15551230001", "direction": "Inbound", "subject": strings.Repeat("s", 256)})
		wantError(t, r, 400, "invalid_input", "subject: at most 255 characters")
	})
}

func TestCallsOnTheEdgesOfSalesforcesDateRangeAreLogged(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.jwtFor(t, nil)
	for _, at := range []string{"1700-01-01T00:00:00Z", "4000-12-31T23:59:59Z"} {
		r := e.do(t, "POST", flowapi.Base+"/users/"+alexID+"/tasks", tok, map[string]any{"number": "+15551230001", "direction": "Inbound", "startedAt": at})
		if r.status != http.StatusAccepted {
			t.Errorf("startedAt %s: %d %s", at, r.status, r.raw)
		}
	}
}

func TestBadInputIs4xxWithWhatToFix(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.jwtFor(t, nil)
	u := flowapi.Base + "/users/" + alexID
	cases := []struct {
		name, method, path string
		body               any
		status             int
		code, msg          string
	}{
		{"a user id that is not a user's", "GET", flowapi.Base + "/users/003000000000001/presence", nil, 400, "invalid_input", "starting with 005"},
		{"a user id with a wrong checksum", "GET", flowapi.Base + "/users/" + alexID[:15] + "AAA/presence", nil, 400, "invalid_input", "checksum"},
		{"a user who does not exist", "GET", flowapi.Base + "/users/" + missingID + "/presence", nil, 404, "not_found", "no such Salesforce user"},
		{"a user without a phone", "POST", flowapi.Base + "/users/" + noPhoneID + "/calls", map[string]string{"number": "1002"}, 409, "conflict", "Extension field"},
		{"a user whose phone is not on the switch", "GET", flowapi.Base + "/users/" + ghostID + "/presence", nil, 409, "conflict", "not on the phone system"},
		{"a hot-desk user not logged in", "GET", flowapi.Base + "/users/" + blairID + "/call", nil, 409, "not_logged_in", "log in from the softphone"},
		{"dial without a number", "POST", u + "/calls", map[string]string{}, 400, "invalid_input", "number: required"},
		{"dial letters", "POST", u + "/calls", map[string]string{"number": "call mom"}, 400, "invalid_input", "number"},
		{"dial with an unknown field", "POST", u + "/calls", map[string]string{"number": "1002", "from": "1003"}, 400, "invalid_input", `unknown field "from"`},
		{"dial with malformed JSON", "POST", u + "/calls", `{"number":`, 400, "invalid_input", "JSON"},
		{"dial with a number as a number", "POST", u + "/calls", `{"number":1002}`, 400, "invalid_input", "must be a string"},
		{"dial with a huge body", "POST", u + "/calls", `{"number":"` + strings.Repeat("1", 300<<10) + `"}`, 413, "too_large", "at most"},
		{"presence with nothing to change", "PATCH", u + "/presence", map[string]any{}, 400, "invalid_input", "dnd and/or makeBusy"},
		{"presence with a reason but no make busy", "PATCH", u + "/presence", map[string]any{"dnd": true, "reason": "LUNCH"}, 400, "invalid_input", "only with makeBusy true"},
		{"make busy with an unknown reason", "PATCH", u + "/presence", map[string]any{"makeBusy": true, "reason": "NAP"}, 400, "invalid_input", "LUNCH, MEETING"},
		{"make busy without a reason", "PATCH", u + "/presence", map[string]any{"makeBusy": true}, 400, "invalid_input", "reason: required"},
		{"log a call without a number or direction", "POST", u + "/tasks", map[string]any{}, 400, "invalid_input", "number: required; direction: required"},
		{"log a call with a bad direction", "POST", u + "/tasks", map[string]any{"number": "+15551230001", "direction": "Sideways"}, 400, "invalid_input", "Inbound, Outbound or Internal"},
		{"log a call with a bad whoId", "POST", u + "/tasks", map[string]any{"number": "+15551230001", "direction": "Inbound", "whoId": "Pat"}, 400, "invalid_input", "whoId"},
		{"log a call with a bad date", "POST", u + "/tasks", map[string]any{"number": "+15551230001", "direction": "Inbound", "startedAt": "yesterday"}, 400, "invalid_input", "RFC 3339"},
		{"log a call in year 1", "POST", u + "/tasks", map[string]any{"number": "+15551230001", "direction": "Inbound", "startedAt": "0001-01-01T00:00:00Z"}, 400, "invalid_input", "from 1700-01-01 to 4000-12-31"},
		{"log a call in year 9999", "POST", u + "/tasks", map[string]any{"number": "+15551230001", "direction": "Inbound", "startedAt": "9999-12-31T23:59:59Z"}, 400, "invalid_input", "from 1700-01-01 to 4000-12-31"},
		{"log a call the day before 1700 in UTC", "POST", u + "/tasks", map[string]any{"number": "+15551230001", "direction": "Inbound", "startedAt": "1700-01-01T00:30:00+01:00"}, 400, "invalid_input", "startedAt"},
		{"log a call with a negative duration", "POST", u + "/tasks", map[string]any{"number": "+15551230001", "direction": "Inbound", "durationSeconds": -1}, 400, "invalid_input", "durationSeconds"},
		{"log an outgoing call to a withheld caller id", "POST", u + "/tasks", map[string]any{"number": "anonymous", "direction": "Outbound"}, 400, "invalid_input", "only for an Inbound call"},
		{"dial a withheld caller id", "POST", u + "/calls", map[string]string{"number": "Anonymous"}, 400, "invalid_input", "withheld"},
		{"log a call for nobody", "POST", flowapi.Base + "/users/" + missingID + "/tasks", map[string]any{"number": "+15551230001", "direction": "Inbound"}, 404, "not_found", "no such Salesforce user"},
		{"an unknown path", "GET", flowapi.Base + "/nothing", nil, 404, "not_found", "openapi.json"},
		{"a wrong method", "DELETE", flowapi.Base + "/codes", nil, 405, "method_not_allowed", "not allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do(t, tc.method, tc.path, tok, tc.body), tc.status, tc.code, tc.msg)
		})
	}
	t.Run("a text body", func(t *testing.T) {
		req, _ := http.NewRequest("POST", e.srv.URL+u+"/calls", strings.NewReader("number=1002"))
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("Authorization", "Bearer "+tok)
		wantError(t, send(t, req), 400, "invalid_input", "application/json")
	})
}

func TestAUserIsReadFromSalesforceOncePerMinute(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.jwtFor(t, nil)
	for i := 0; i < 3; i++ {
		if r := e.do(t, "GET", flowapi.Base+"/users/"+alexID+"/presence", tok, nil); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	}
	if e.users.n != 1 {
		t.Errorf("%d reads of the user for 3 calls, want 1", e.users.n)
	}
	e.mr.FastForward(2 * time.Minute)
	if r := e.do(t, "GET", flowapi.Base+"/users/"+alexID+"/presence", tok, nil); r.status != 200 || e.users.n != 2 {
		t.Errorf("after the cache expired: %d, %d reads, want 2", r.status, e.users.n)
	}
}
