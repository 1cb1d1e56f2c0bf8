package sim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cti/switchboard/pbx"
)

func TestSwitchProtocolCommands(t *testing.T) {
	ctx := context.Background()
	ringing := func(s *Sim) {
		if _, err := s.PlaceCall(ctx, ExternalCall{From: lucy, To: ext1}); err != nil {
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
		code   string // error code, or "" for success
		want   string // the whole answer when set
	}{
		{name: "answer answers the ringing call", setup: ringing, method: "POST", path: "/sim/v1/devices/1001/answer", body: `{"callId":"c1"}`, status: 204},
		{name: "make call answers the new call's id", method: "POST", path: "/sim/v1/devices/1001/makeCall", body: `{"number":"1002"}`, status: 200, want: `{"callId":"c1"}`},
		{name: "a command without a body may take no field", method: "POST", path: "/sim/v1/devices/1001/dnd", status: 400, code: "invalid_input",
			want: `{"error":{"code":"invalid_input","message":"on: required by dnd"}}`},
		{name: "dnd on", method: "POST", path: "/sim/v1/devices/1001/dnd", body: `{"on":true}`, status: 204},
		{name: "make busy off needs no reason", method: "POST", path: "/sim/v1/devices/1001/makeBusy", body: `{"on":false}`, status: 204},
		{name: "an unknown reason is invalid", method: "POST", path: "/sim/v1/devices/1001/makeBusy", body: `{"on":true,"reason":"NAP"}`, status: 400, code: "invalid_input"},
		{name: "acd logout takes an empty body (and nobody is logged in)", method: "POST", path: "/sim/v1/devices/3001/acdLogout", status: 409, code: "not_logged_in"},
		{name: "a wrong pin is refused", method: "POST", path: "/sim/v1/devices/2001/hotDeskLogin", body: `{"pin":"0000"}`, status: 403, code: "login_refused"},
		{name: "an unknown call", method: "POST", path: "/sim/v1/devices/1001/clear", body: `{"callId":"c9"}`, status: 404, code: "unknown_call"},
		{name: "an unknown device", method: "POST", path: "/sim/v1/devices/1999/clear", body: `{"callId":"c1"}`, status: 404, code: "unknown_device"},
		{name: "a command in the wrong state", setup: ringing, method: "POST", path: "/sim/v1/devices/1001/hold", body: `{"callId":"c1"}`, status: 409, code: "not_allowed"},
		{name: "calling a device in DND", setup: func(s *Sim) { _ = s.SetDND(ctx, "1002", true) }, method: "POST", path: "/sim/v1/devices/1001/makeCall", body: `{"number":"1002"}`, status: 409, code: "do_not_disturb"},
		{name: "an unknown command is not found", method: "POST", path: "/sim/v1/devices/1001/explode", status: 404, code: "not_found"},
		{name: "a command takes POST only", method: "GET", path: "/sim/v1/devices/1001/answer", status: 405, code: "method_not_allowed"},
		{name: "a missing field is named", method: "POST", path: "/sim/v1/devices/1001/consult", body: `{"callId":"c1"}`, status: 400, code: "invalid_input",
			want: `{"error":{"code":"invalid_input","message":"number: required by consult"}}`},
		{name: "a field the command does not take is named", method: "POST", path: "/sim/v1/devices/1001/answer", body: `{"callId":"c1","pin":"1"}`, status: 400, code: "invalid_input",
			want: `{"error":{"code":"invalid_input","message":"pin: not taken by answer"}}`},
		{name: "an unknown field is refused", method: "POST", path: "/sim/v1/devices/1001/answer", body: `{"call":"c1"}`, status: 400, code: "invalid_input",
			want: `{"error":{"code":"invalid_input","message":"call: unknown field"}}`},
		{name: "a wrongly typed field is refused", method: "POST", path: "/sim/v1/devices/1001/dnd", body: `{"on":"yes"}`, status: 400, code: "invalid_input",
			want: `{"error":{"code":"invalid_input","message":"on: must be a bool"}}`},
		{name: "malformed JSON is refused", method: "POST", path: "/sim/v1/devices/1001/answer", body: `{"callId":`, status: 400, code: "invalid_input",
			want: `{"error":{"code":"invalid_input","message":"body: malformed JSON"}}`},
		{name: "a body that is not an object is refused", method: "POST", path: "/sim/v1/devices/1001/answer", body: `[1]`, status: 400, code: "invalid_input"},
		{name: "a body over 64KB is refused", method: "POST", path: "/sim/v1/devices/1001/makeCall", body: `{"number":"` + strings.Repeat("1", 70<<10) + `"}`, status: 413, code: "too_large"},
		{name: "a device's snapshot", setup: ringing, method: "GET", path: "/sim/v1/devices/1002", status: 200,
			want: `{"seq":0,"state":{"extension":"1002","name":"Blair Baker","kind":"regular","dnd":false,"makeBusy":false,"loggedIn":true,"workTimer":false},"calls":[]}`},
		{name: "an unknown device's snapshot", method: "GET", path: "/sim/v1/devices/1999", status: 404, code: "unknown_device"},
		{name: "events need a WebSocket", method: "GET", path: "/sim/v1/events", status: 400, code: "invalid_input"},
		{name: "events take GET only", method: "POST", path: "/sim/v1/events", status: 405, code: "method_not_allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSim(t)
			if tc.setup != nil {
				tc.setup(s)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body)))
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			var got struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if rec.Code != 204 {
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
					t.Fatalf("body is not JSON: %s", rec.Body)
				}
			}
			if got.Error.Code != tc.code || (tc.code != "" && got.Error.Message == "") {
				t.Errorf("error %+v, want code %q with a message", got.Error, tc.code)
			}
			if tc.want != "" {
				var w, g any
				_ = json.Unmarshal([]byte(tc.want), &w)
				_ = json.Unmarshal(rec.Body.Bytes(), &g)
				if m, ok := g.(map[string]any); ok {
					if e, ok := m["error"].(map[string]any); ok {
						delete(e, "wraps")
					}
				}
				if diff := cmp.Diff(w, g); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestEveryWireErrorCodeComesBackAsItsError(t *testing.T) {
	seen := map[string]bool{}
	for _, w := range WireErrors {
		if seen[w.Code] {
			t.Errorf("code %q used twice", w.Code)
		}
		seen[w.Code] = true
		if got := WireError(w.Code); got != w.Err {
			t.Errorf("WireError(%q) = %v, want %v", w.Code, got, w.Err)
		}
	}
	if WireError("nonsense") != nil {
		t.Error("an unknown code maps to an error")
	}
	if len(CommandFields) != 19 {
		t.Errorf("%d commands, want one per pbx.Switch command (19)", len(CommandFields))
	}
}

func TestEventsStartWithASyncAndFollowIt(t *testing.T) {
	s := mustSim(t)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.PlaceCall(ctx, ExternalCall{From: lucy, To: ext1}); err != nil {
		t.Fatal(err)
	}
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/sim/v1/events", &websocket.DialOptions{Subprotocols: []string{Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	if conn.Subprotocol() != Subprotocol {
		t.Fatalf("subprotocol %q, want %q", conn.Subprotocol(), Subprotocol)
	}
	var syn SyncMessage
	readWS(t, ctx, conn, &syn)
	if syn.Type != "sync" || syn.Protocol != ProtocolVersion || len(syn.Devices) != 7 || len(syn.Snapshots) != 1 || len(syn.Codes.Reasons) == 0 {
		t.Fatalf("sync = %+v, want 7 devices and the snapshot of the one with a call", syn)
	}
	if syn.Devices[0].Extension != ext1 || syn.Devices[3].Kind != pbx.KindHotDesk {
		t.Fatalf("devices = %+v, want the demo switch's in order", syn.Devices)
	}
	first := syn.Snapshots[0]
	if first.State.Extension != ext1 || len(first.Calls) != 1 || first.Calls[0].ID != "c1" || first.Seq != 1 {
		t.Fatalf("1001's snapshot = %+v, want seq 1 with the ringing call c1", first)
	}
	if err := s.Answer(ctx, ext1, "c1"); err != nil {
		t.Fatal(err)
	}
	var evs EventsMessage
	readWS(t, ctx, conn, &evs)
	if evs.Type != "events" || len(evs.Events) != 1 {
		t.Fatalf("message = %+v, want one event", evs)
	}
	ev := evs.Events[0]
	if ev.Device != ext1 || ev.Seq != 2 || ev.Type != pbx.CallUpdated || ev.Cause != pbx.CauseAnswered {
		t.Fatalf("event = %+v, want 1001's answer with seq 2", ev)
	}
}

func TestEventsRefuseAClientWithoutTheSubprotocol(t *testing.T) {
	s := mustSim(t)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/sim/v1/events", nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	defer conn.CloseNow()
	// The server accepts, but the client sees no subprotocol agreed:
	// pbx/simremote refuses such a link.
	if conn.Subprotocol() != "" {
		t.Fatalf("subprotocol %q agreed without being asked", conn.Subprotocol())
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func readWS(t *testing.T, ctx context.Context, conn *websocket.Conn, v any) {
	t.Helper()
	_, b, err := conn.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("message is not JSON: %v: %s", err, b)
	}
}

// FuzzSwitchProtocol sends arbitrary command names, methods and bodies to
// the switch protocol: every answer is a status with the JSON error body or
// a success, never a panic. go test ./pbx/sim -fuzz FuzzSwitchProtocol
func FuzzSwitchProtocol(f *testing.F) {
	f.Add("POST", "makeCall", "1001", `{"number":"1002"}`)
	f.Add("POST", "answer", "1001", `{"callId":"c1"}`)
	f.Add("POST", "makeBusy", "1001", `{"on":true,"reason":""}`)
	f.Add("POST", "dnd", "1001", `{"on":null}`)
	f.Add("GET", "dtmf", "1001", `{"callId":"c1","digits":"1#"}`)
	f.Add("POST", "consult", "1001", `[]`)
	f.Add("POST", "hotDeskLogin", "2001", "{\"pin\":\"\xff\"}")
	s := mustSim(f)
	h := s.Handler()
	f.Fuzz(func(t *testing.T, method, command, ext, body string) {
		// Paths net/http's ServeMux cleans (empty or dot segments) get its
		// own redirect, not the simulator's answer.
		if strings.ContainsAny(method+command+ext, " \t\r\n/?#%") || method == "" || strings.Trim(ext, ".") == "" || strings.Trim(command, ".") == "" {
			return
		}
		req, err := http.NewRequest(method, "/sim/v1/devices/"+ext+"/"+command, strings.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusNoContent:
		case rec.Code == http.StatusOK:
			var out CommandResponse
			if json.Unmarshal(rec.Body.Bytes(), &out) != nil || out.CallID == "" {
				t.Fatalf("200 without a callId: %s", rec.Body)
			}
		default:
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("%d without the JSON error body: %q", rec.Code, rec.Body)
			}
			if rec.Code >= 500 {
				t.Fatalf("server error for client input: %d %s", rec.Code, rec.Body)
			}
		}
	})
}
