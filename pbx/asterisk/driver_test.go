package asterisk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/switchboard-cti/switchboard/pbx"
)

func testDriver(t *testing.T, f *fakeAMI) *Driver {
	t.Helper()
	d, err := New(Config{
		AMI:        testClientConfig(f.addr()),
		Extensions: []Extension{{Number: "1001", Name: "Ann"}, {Number: "1002", Name: "Bob"}, {Number: "2001", Endpoint: "1003", Kind: pbx.KindACD}},
		Context:    "internal", HoldContext: "switchboard", DigitsVar: "SB_DIGITS", Queues: []string{"support"},
		Reasons: []pbx.Code{{Code: "lunch", Label: "Lunch"}},
		Log:     zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func startDriver(t *testing.T, d *Driver) {
	t.Helper()
	go d.Run(runCtx(t))
	select {
	case <-d.Resynced():
	case <-time.After(10 * time.Second):
		t.Fatal("no resync within 10s")
	}
}

func mustSubscribe(t *testing.T, d *Driver, ext string) <-chan pbx.Event {
	t.Helper()
	ch, cancel, err := d.Subscribe(context.Background(), ext)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cancel)
	return ch
}

// line summarises an event for the scenario tables.
func line(ev pbx.Event) string {
	switch ev.Type {
	case pbx.DeviceUpdated:
		s := ev.State
		return fmt.Sprintf("%s %s loggedIn=%v agent=%s busy=%v reason=%s dnd=%v", ev.Type, ev.Cause, s.LoggedIn, s.AgentID, s.MakeBusy, s.Reason, s.DND)
	case pbx.DigitsReceived:
		return fmt.Sprintf("%s %s", ev.Type, ev.Digits)
	}
	c := ev.Call
	var ps []string
	for _, p := range c.Parties {
		ps = append(ps, p.Number+":"+string(p.State))
	}
	return fmt.Sprintf("%s %s %s ani=%s dnis=%s digits=%s queue=%s [%s]", ev.Type, ev.Cause, c.Direction, c.ANI, c.DNIS, c.Digits, c.Queue, strings.Join(ps, " "))
}

// collect reads events until one satisfies stop (included).
func collect(t *testing.T, ch <-chan pbx.Event, stop func(pbx.Event) bool) []string {
	t.Helper()
	var out []string
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("subscription closed after %q", out)
			}
			out = append(out, line(ev))
			if stop(ev) {
				return out
			}
		case <-deadline:
			t.Fatalf("no stop event within 10s; got:\n%s", strings.Join(out, "\n"))
		}
	}
}

// next is the next event, within 10s.
func next(t *testing.T, ch <-chan pbx.Event) string {
	t.Helper()
	return collect(t, ch, func(pbx.Event) bool { return true })[0]
}

func ended(ev pbx.Event) bool { return ev.Type == pbx.CallEnded }

func TestDriverMapsRecordedQueueCall(t *testing.T) {
	tests := []struct {
		name string
		// channels alive before the recording starts (what resync finds)
		before []Message
		// queue callers and members before it (QueueStatus)
		queue []Message
		want  []string
	}{{
		name: "ast22.10-queue-answer-hold-unhold.ami",
		want: []string{
			"call.updated new inbound ani=sipp dnis=5551000 digits= queue=support [sipp:connected 1001:alerting]",
			"call.updated answered inbound ani=sipp dnis=5551000 digits= queue=support [sipp:connected 1001:connected]",
			"call.updated held inbound ani=sipp dnis=5551000 digits= queue=support [sipp:connected 1001:held]",
			"call.updated retrieved inbound ani=sipp dnis=5551000 digits= queue=support [sipp:connected 1001:connected]",
			"call.updated cleared inbound ani=sipp dnis=5551000 digits= queue=support [sipp:disconnected 1001:connected]",
			"call.ended cleared inbound ani=sipp dnis=5551000 digits= queue=support [sipp:disconnected 1001:disconnected]",
		},
	}, {
		// Asterisk 16 sends no Unhold here (the phone hung up while
		// holding); an earlier caller still waits in the queue, known only
		// from the resync.
		name: "ast16.28-queue-answer-hold.ami",
		before: []Message{{Fields: []Field{{"Event", "CoreShowChannel"}, {"Channel", "PJSIP/trunk-00000000"}, {"Uniqueid", "testpbx-1796059283.0"},
			{"Linkedid", "testpbx-1796059283.0"}, {"ChannelState", "4"}, {"CallerIDNum", "sipp"}, {"Exten", "5551000"}, {"Application", "Queue"}}}},
		queue: []Message{
			ev("QueueParams", "Queue", "support"),
			ev("QueueMember", "Queue", "support", "Name", "PJSIP/1001", "Location", "PJSIP/1001", "StateInterface", "PJSIP/1001", "Membership", "static", "Paused", "0"),
			ev("QueueEntry", "Queue", "support", "Position", "1", "Channel", "PJSIP/trunk-00000000", "Uniqueid", "testpbx-1796059283.0"),
		},
		want: []string{
			"call.updated new inbound ani=sipp dnis=5551000 digits= queue=support [sipp:connected 1001:alerting]",
			"call.updated answered inbound ani=sipp dnis=5551000 digits= queue=support [sipp:connected 1001:connected]",
			"call.updated held inbound ani=sipp dnis=5551000 digits= queue=support [sipp:connected 1001:held]",
			"call.updated new inbound ani=sipp dnis=5551000 digits= queue=support [sipp:connected 1001:alerting]",
			"call.updated cleared inbound ani=sipp dnis=5551000 digits= queue=support [sipp:disconnected 1001:held]",
			"call.ended cleared inbound ani=sipp dnis=5551000 digits= queue=support [sipp:disconnected 1001:disconnected]",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			banner, body := recording(t, tt.name)
			f := newFakeAMI(t, banner)
			f.answers["coreshowchannels"] = func(a Message) []Message { return listOf(a, "CoreShowChannelsComplete", tt.before...) }
			f.answers["queuestatus"] = func(a Message) []Message { return listOf(a, "QueueStatusComplete", tt.queue...) }
			d := testDriver(t, f)
			ev := mustSubscribe(t, d, "1001")
			startDriver(t, d)
			f.stream(body)
			got := collect(t, ev, ended)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("events of 1001 (-want +got):\n%s", diff)
			}
		})
	}
}

// ev builds an AMI event.
func ev(name string, kv ...string) Message {
	m := Message{Fields: []Field{{"Event", name}}}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Add(kv[i], kv[i+1])
	}
	return m
}

func chanEv(name, channel, uid, linked, state string, kv ...string) Message {
	// kv come first: Get returns the first value, so they override.
	return ev(name, append(kv, "Channel", channel, "Uniqueid", uid, "Linkedid", linked, "ChannelState", state, "CallerIDNum", "5551234", "Exten", "8005550100")...)
}

func wire(ms ...Message) []byte {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString(m.String())
	}
	return []byte(b.String())
}

func TestDriverScenarios(t *testing.T) {
	trunk, a1, b2 := "PJSIP/trunk-00000001", "PJSIP/1001-00000002", "PJSIP/1002-00000003"
	tests := []struct {
		name   string
		device string
		events []Message
		want   []string
	}{{
		name:   "an IVR call with digits rings and the caller gives up: missed",
		device: "1001",
		events: []Message{
			chanEv("Newchannel", trunk, "u.1", "u.1", "4"),
			chanEv("VarSet", trunk, "u.1", "u.1", "4", "Variable", "SB_DIGITS", "Value", "4711"),
			chanEv("Newchannel", a1, "u.2", "u.1", "0"),
			chanEv("Newstate", a1, "u.2", "u.1", "5"),
			chanEv("Hangup", trunk, "u.1", "u.1", "4", "Cause", "16"),
			chanEv("Hangup", a1, "u.2", "u.1", "5", "Cause", "16"),
		},
		want: []string{
			"call.updated new inbound ani=5551234 dnis=8005550100 digits=4711 queue= [5551234:connected 1001:alerting]",
			"call.updated cleared inbound ani=5551234 dnis=8005550100 digits=4711 queue= [5551234:disconnected 1001:alerting]",
			"call.ended cleared inbound ani=5551234 dnis=8005550100 digits=4711 queue= [5551234:disconnected 1001:disconnected]",
		},
	}, {
		name:   "a blind transfer from 1001 to 1002: 1001 leaves as transferred",
		device: "1001",
		events: []Message{
			chanEv("Newchannel", trunk, "u.1", "u.1", "6"),
			chanEv("Newchannel", a1, "u.2", "u.1", "6"),
			ev("BlindTransfer", "Result", "Success", "TransfererUniqueid", "u.2", "Extension", "1002"),
			chanEv("Hangup", a1, "u.2", "u.1", "6", "Cause", "16"),
			chanEv("Newchannel", b2, "u.3", "u.1", "0"),
		},
		want: []string{
			"call.updated new inbound ani=5551234 dnis=8005550100 digits= queue= [5551234:connected 1001:connected]",
			"call.ended transferred inbound ani=5551234 dnis=8005550100 digits= queue= [5551234:connected 1001:disconnected]",
		},
	}, {
		name:   "DTMF from the far party, and the phone's own DTMF is not reported",
		device: "1001",
		events: []Message{
			chanEv("Newchannel", trunk, "u.1", "u.1", "6"),
			chanEv("Newchannel", a1, "u.2", "u.1", "6"),
			chanEv("DTMFEnd", trunk, "u.1", "u.1", "6", "Digit", "5", "Direction", "Received"),
			chanEv("DTMFEnd", a1, "u.2", "u.1", "6", "Digit", "7", "Direction", "Received"),
			chanEv("Hangup", a1, "u.2", "u.1", "6", "Cause", "16"),
		},
		want: []string{
			"call.updated new inbound ani=5551234 dnis=8005550100 digits= queue= [5551234:connected 1001:connected]",
			"call.digits 5",
			"call.ended cleared inbound ani=5551234 dnis=8005550100 digits= queue= [5551234:connected 1001:disconnected]",
		},
	}, {
		name:   "an ACD agent logs in, pauses with a reason, unpauses, logs out",
		device: "2001",
		events: []Message{
			ev("QueueMemberAdded", "Queue", "support", "MemberName", "7001", "Interface", "PJSIP/1003", "StateInterface", "PJSIP/1003", "Membership", "dynamic", "Paused", "0"),
			ev("QueueMemberPause", "Queue", "support", "MemberName", "7001", "Interface", "PJSIP/1003", "Paused", "1", "PausedReason", "lunch"),
			ev("QueueMemberPause", "Queue", "support", "MemberName", "7001", "Interface", "PJSIP/1003", "Paused", "0", "PausedReason", ""),
			ev("QueueMemberRemoved", "Queue", "support", "MemberName", "7001", "Interface", "PJSIP/1003"),
		},
		want: []string{
			"device.updated login loggedIn=true agent=7001 busy=false reason= dnd=false",
			"device.updated  loggedIn=true agent=7001 busy=true reason=lunch dnd=false",
			"device.updated  loggedIn=true agent=7001 busy=false reason= dnd=false",
			"device.updated login loggedIn=false agent= busy=false reason= dnd=false",
		},
	}, {
		name:   "an outbound call from 1001 through the trunk",
		device: "1001",
		events: []Message{
			chanEv("Newchannel", a1, "sb-1", "sb-1", "0"),
			chanEv("Newstate", a1, "sb-1", "sb-1", "5"),
			chanEv("Newstate", a1, "sb-1", "sb-1", "6"),
			chanEv("Newchannel", "PJSIP/trunk-00000009", "u.9", "sb-1", "0"),
			ev("DialBegin", "Uniqueid", "sb-1", "DestUniqueid", "u.9", "DialString", "5550199@trunk"),
			chanEv("Newstate", "PJSIP/trunk-00000009", "u.9", "sb-1", "6"),
			chanEv("Hangup", "PJSIP/trunk-00000009", "u.9", "sb-1", "6", "Cause", "16"),
			chanEv("Hangup", a1, "sb-1", "sb-1", "6", "Cause", "16"),
		},
		want: []string{
			"call.updated new internal ani=1001 dnis= digits= queue= [1001:alerting]",
			"call.updated answered internal ani=1001 dnis= digits= queue= [1001:connected]",
			"call.updated new outbound ani=1001 dnis= digits= queue= [1001:connected 5551234:alerting]",
			"call.updated  outbound ani=1001 dnis=5550199 digits= queue= [1001:connected 5550199:alerting]",
			"call.updated answered outbound ani=1001 dnis=5550199 digits= queue= [1001:connected 5550199:connected]",
			"call.updated cleared outbound ani=1001 dnis=5550199 digits= queue= [1001:connected 5550199:disconnected]",
			"call.ended cleared outbound ani=1001 dnis=5550199 digits= queue= [1001:disconnected 5550199:disconnected]",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAMI(t, "11.0.0")
			d := testDriver(t, f)
			ch := mustSubscribe(t, d, tt.device)
			startDriver(t, d)
			f.stream(wire(append(tt.events, ev("End"))...))
			n := 0
			got := collect(t, ch, func(pbx.Event) bool { n++; return n == len(tt.want) })
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("events of %s (-want +got):\n%s", tt.device, diff)
			}
		})
	}
}

func TestDriverResyncAfterDrop(t *testing.T) {
	f := newFakeAMI(t, "11.0.0")
	d := testDriver(t, f)
	ch := mustSubscribe(t, d, "1001")
	startDriver(t, d)
	f.stream(wire(chanEv("Newchannel", "PJSIP/trunk-1", "u.1", "u.1", "6"), chanEv("Newchannel", "PJSIP/1001-2", "u.2", "u.1", "6")))
	collect(t, ch, func(pbx.Event) bool { return true })
	// While the link is down the caller hangs up and a new call rings.
	f.answers["coreshowchannels"] = func(a Message) []Message {
		return listOf(a, "CoreShowChannelsComplete",
			chanEv("CoreShowChannel", "PJSIP/trunk-3", "u.3", "u.3", "4"),
			chanEv("CoreShowChannel", "PJSIP/1001-4", "u.4", "u.3", "5"))
	}
	f.answers["dbget"] = func(a Message) []Message {
		if a.Get("Key") != "1001" {
			return []Message{{Fields: []Field{{"Response", "Error"}, {"ActionID", a.ActionID()}, {"Message", "Database entry not found"}}}}
		}
		return listOf(a, "DBGetComplete", ev("DBGetResponse", "Family", "DND", "Key", "1001", "Val", "1"))
	}
	f.drop()
	n := 0
	got := collect(t, ch, func(pbx.Event) bool { n++; return n == 3 })
	want := []string{
		"device.updated  loggedIn=true agent= busy=false reason= dnd=true",
		"call.ended cleared inbound ani=5551234 dnis=8005550100 digits= queue= [5551234:disconnected 1001:disconnected]",
		"call.updated  inbound ani=5551234 dnis=8005550100 digits= queue= [5551234:connected 1001:alerting]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after resync (-want +got):\n%s", diff)
	}
	if err := d.Ping(context.Background()); err != nil {
		t.Errorf("Ping after resync: %v", err)
	}
}

func TestDriverCommands(t *testing.T) {
	f := newFakeAMI(t, "11.0.0")
	d := testDriver(t, f)
	ch := mustSubscribe(t, d, "1001")
	startDriver(t, d)
	ctx := context.Background()
	trunk, a1 := "PJSIP/trunk-00000001", "PJSIP/1001-00000002"
	f.stream(wire(chanEv("Newchannel", trunk, "u.1", "u.1", "6"),
		chanEv("Newchannel", a1, "u.2", "u.1", "6"),
		chanEv("BridgeEnter", trunk, "u.1", "u.1", "6", "BridgeUniqueid", "b1"),
		chanEv("BridgeEnter", a1, "u.2", "u.1", "6", "BridgeUniqueid", "b1")))
	collect(t, ch, func(pbx.Event) bool { return true })

	t.Run("make call originates from the agent's endpoint", func(t *testing.T) {
		id, err := d.MakeCall(ctx, "1001", "5550199")
		if err != nil {
			t.Fatal(err)
		}
		a := f.waitAction(t, "Originate")
		want := map[string]string{"Channel": "PJSIP/1001", "Context": "internal", "Exten": "5550199", "Async": "true", "ChannelId": id, "CallerID": `"Ann" <1001>`}
		for k, v := range want {
			if a.Get(k) != v {
				t.Errorf("Originate %s = %q, want %q", k, a.Get(k), v)
			}
		}
	})
	t.Run("hold redirects both channels, retrieve bridges them", func(t *testing.T) {
		if err := d.Hold(ctx, "1001", "u.1"); err != nil {
			t.Fatal(err)
		}
		a := f.waitAction(t, "Redirect")
		if a.Get("Channel") != trunk || a.Get("Exten") != "sb-hold" || a.Get("ExtraChannel") != a1 || a.Get("ExtraExten") != "sb-wait" || a.Get("Context") != "switchboard" {
			t.Errorf("Redirect = %v", a.Fields)
		}
		if got := next(t, ch); !strings.HasPrefix(got, "call.updated held") || !strings.Contains(got, "1001:held") {
			t.Errorf("after hold: %s", got)
		}
		f.stream(wire(chanEv("Newexten", a1, "u.2", "u.1", "6", "Context", "switchboard", "Exten", "sb-wait", "Application", "Wait"),
			chanEv("Newexten", trunk, "u.1", "u.1", "6", "Context", "switchboard", "Exten", "sb-hold", "Application", "Wait")))
		if err := d.Retrieve(ctx, "1001", "u.1"); err != nil {
			t.Fatal(err)
		}
		a = f.waitAction(t, "Bridge")
		if a.Get("Channel1") != a1 || a.Get("Channel2") != trunk {
			t.Errorf("Bridge = %v", a.Fields)
		}
		f.stream(wire(chanEv("BridgeEnter", a1, "u.2", "u.1", "6", "BridgeUniqueid", "b2"), chanEv("BridgeEnter", trunk, "u.1", "u.1", "6", "BridgeUniqueid", "b2")))
		if got := next(t, ch); !strings.HasPrefix(got, "call.updated retrieved") || !strings.Contains(got, "1001:connected") {
			t.Errorf("after retrieve: %s", got)
		}
	})
	t.Run("dtmf plays each digit to the far party", func(t *testing.T) {
		if err := d.SendDTMF(ctx, "1001", "u.1", "12#"); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"1", "2", "#"} {
			if a := f.waitAction(t, "PlayDTMF"); a.Get("Channel") != trunk || a.Get("Digit") != want {
				t.Errorf("PlayDTMF = %v", a.Fields)
			}
		}
	})
	t.Run("blind transfer uses BlindTransfer on the agent's channel", func(t *testing.T) {
		if err := d.BlindTransfer(ctx, "1001", "u.1", "1002"); err != nil {
			t.Fatal(err)
		}
		if a := f.waitAction(t, "BlindTransfer"); a.Get("Channel") != a1 || a.Get("Exten") != "1002" || a.Get("Context") != "internal" {
			t.Errorf("BlindTransfer = %v", a.Fields)
		}
	})
	t.Run("bad input and unsupported commands answer clear errors", func(t *testing.T) {
		cases := []struct {
			err  error
			want error
		}{
			{func() error { _, err := d.MakeCall(ctx, "1001", "12; Action: Hangup"); return err }(), pbx.ErrInvalid},
			{func() error { _, err := d.MakeCall(ctx, "9999", "100"); return err }(), pbx.ErrUnknownDevice},
			{d.SendDTMF(ctx, "1001", "u.1", "x"), pbx.ErrInvalid},
			{d.Clear(ctx, "1001", "nope"), pbx.ErrUnknownCall},
			{d.Answer(ctx, "1001", "u.1"), pbx.ErrNotSupported},
			{d.HotDeskLogin(ctx, "1001", "1234"), pbx.ErrNotAllowed}, // not a hot-desk extension
			{d.Conference(ctx, "1001", "u.1"), pbx.ErrNotAllowed},    // no consultation
			{d.Transfer(ctx, "1001", "u.1"), pbx.ErrNotAllowed},
			{func() error { _, err := d.Consult(ctx, "1001", "u.1", "1001"); return err }(), pbx.ErrInvalid},
			{func() error { _, err := d.Consult(ctx, "1001", "u.1", "12; Action: Hangup"); return err }(), pbx.ErrInvalid},
			{func() error { _, err := d.Consult(ctx, "1001", "nope", "1002"); return err }(), pbx.ErrUnknownCall},
			{d.CancelWorkTimer(ctx, "1001"), pbx.ErrNotSupported},
			{d.SetMakeBusy(ctx, "1001", true, "nap"), pbx.ErrInvalid},
			{d.SetMakeBusy(ctx, "1002", true, "lunch"), pbx.ErrNotAllowed},
			{d.ACDLogin(ctx, "2001", "bad id!"), pbx.ErrAuth},
			{d.Redirect(ctx, "1001", "u.1", "1002"), pbx.ErrNotAllowed}, // answered, not ringing
		}
		for i, c := range cases {
			if !errors.Is(c.err, c.want) {
				t.Errorf("case %d: err = %v, want %v", i, c.err, c.want)
			}
		}
		if caps := d.Capabilities(); caps[pbx.CmdAnswer] || !caps[pbx.CmdHold] || !caps[pbx.CmdConference] || !caps[pbx.CmdConsult] {
			t.Errorf("capabilities = %v", caps)
		}
	})
	t.Run("acd login adds the member to each queue, make busy pauses it", func(t *testing.T) {
		if err := d.ACDLogin(ctx, "2001", "7001"); err != nil {
			t.Fatal(err)
		}
		if a := f.waitAction(t, "QueueAdd"); a.Get("Queue") != "support" || a.Get("Interface") != "PJSIP/1003" || a.Get("MemberName") != "7001" {
			t.Errorf("QueueAdd = %v", a.Fields)
		}
		ch2 := mustSubscribe(t, d, "2001")
		f.stream(wire(ev("QueueMemberAdded", "Queue", "support", "MemberName", "7001", "Interface", "PJSIP/1003", "Membership", "dynamic")))
		if got := collect(t, ch2, func(pbx.Event) bool { return true }); got[0] != "device.updated login loggedIn=true agent=7001 busy=false reason= dnd=false" {
			t.Errorf("after QueueMemberAdded: %s", got[0])
		}
		if err := d.SetMakeBusy(ctx, "2001", true, "lunch"); err != nil {
			t.Fatal(err)
		}
		if a := f.waitAction(t, "QueuePause"); a.Get("Paused") != "true" || a.Get("Reason") != "lunch" {
			t.Errorf("QueuePause = %v", a.Fields)
		}
	})
	t.Run("commands while the link is down answer unavailable", func(t *testing.T) {
		f.ln.Close()
		f.drop()
		deadline := time.Now().Add(10 * time.Second)
		for d.Ping(ctx) == nil {
			if time.Now().After(deadline) {
				t.Fatal("still up after the drop")
			}
			<-time.After(time.Millisecond)
		}
		if _, err := d.MakeCall(ctx, "1001", "100"); !errors.Is(err, pbx.ErrUnavailable) {
			t.Errorf("MakeCall while down: %v", err)
		}
	})
}

// TestDriverConferenceLimit: a conference of five (caller, three more
// outside parties and the agent) refuses a sixth party with ErrLimit,
// after the agent consulted it (hold leaves only the agent's channel out
// of the ConfBridge room; the consultation is an Originate of a Local
// channel bridged with the agent once it answers).
func TestDriverConferenceLimit(t *testing.T) {
	f := newFakeAMI(t, "11.0.0")
	d := testDriver(t, f)
	ch := mustSubscribe(t, d, "1001")
	startDriver(t, d)
	ctx := context.Background()
	a1 := "PJSIP/1001-00000002"
	evs := []Message{chanEv("Newchannel", "PJSIP/trunk-1", "u.1", "u.1", "6"), chanEv("Newchannel", a1, "u.2", "u.1", "6")}
	for i, name := range []string{"PJSIP/trunk-3", "PJSIP/trunk-4", "PJSIP/trunk-5"} {
		evs = append(evs, chanEv("Newchannel", name, fmt.Sprintf("u.%d", i+3), "u.1", "6"))
	}
	for i, name := range []string{"PJSIP/trunk-1", a1, "PJSIP/trunk-3", "PJSIP/trunk-4", "PJSIP/trunk-5"} {
		evs = append(evs, chanEv("ConfbridgeJoin", name, fmt.Sprintf("u.%d", i+1), "u.1", "6", "Conference", "u.1"))
	}
	// A last event that shows once every join was applied.
	evs = append(evs, chanEv("NewCallerid", "PJSIP/trunk-5", "u.5", "u.1", "6", "CallerIDNum", "5550105"))
	f.stream(wire(evs...))
	collect(t, ch, func(ev pbx.Event) bool { _, ok := ev.Call.Party("5550105"); return ok })

	type result struct {
		id  string
		err error
	}
	done := make(chan result, 1)
	go func() { id, err := d.Consult(ctx, "1001", "u.1", "1002"); done <- result{id, err} }()
	if a := f.waitAction(t, "Redirect"); a.Get("Channel") != a1 || a.Get("Exten") != "sb-wait" || a.Get("ExtraChannel") != "" {
		t.Fatalf("hold in a conference: Redirect = %v, want only the agent to sb-wait", a.Fields)
	}
	f.stream(wire(chanEv("ConfbridgeLeave", a1, "u.2", "u.1", "6", "Conference", "u.1"),
		chanEv("Newexten", a1, "u.2", "u.1", "6", "Context", "switchboard", "Exten", "sb-wait", "Application", "Wait")))
	orig := f.waitAction(t, "Originate")
	y := orig.Get("ChannelId")
	if orig.Get("Channel") != "Local/1002@internal/n" || orig.Get("Context") != "switchboard" || orig.Get("Exten") != "sb-wait" || y == "" {
		t.Fatalf("consult: Originate = %v", orig.Fields)
	}
	if r := <-done; r.err != nil || r.id != y {
		t.Fatalf("consult = %q, %v; want %q", r.id, r.err, y)
	}
	f.stream(wire(chanEv("Newchannel", "Local/1002@internal-1;1", y, y, "0"),
		chanEv("Newchannel", "PJSIP/1002-00000009", "u.9", y, "0"),
		chanEv("Newstate", "PJSIP/1002-00000009", "u.9", y, "6"),
		chanEv("Newexten", "Local/1002@internal-1;1", y, y, "6", "Context", "switchboard", "Exten", "sb-wait", "Application", "Answer")))
	if a := f.waitAction(t, "Bridge"); a.Get("Channel1") != a1 || a.Get("Channel2") != "Local/1002@internal-1;1" {
		t.Errorf("consultation answered: Bridge = %v", a.Fields)
	}
	err := d.Conference(ctx, "1001", y)
	if !errors.Is(err, pbx.ErrLimit) || !strings.Contains(err.Error(), "at most 5 parties") {
		t.Errorf("sixth party: %v, want ErrLimit naming the limit of 5", err)
	}
}

// TestDriverHotDeskAndWorkTimer: hot-desk log-in checks the PIN in AstDB
// HOTDESK_PIN/<ext> and marks HOTDESK/<ext>; an answered queue call's end
// pauses the member with reason sb-wrapup (the work timer), which the
// timer or a cancel unpauses.
func TestDriverHotDeskAndWorkTimer(t *testing.T) {
	f := newFakeAMI(t, "11.0.0")
	f.answers["dbget"] = func(a Message) []Message {
		if a.Get("Family") == "HOTDESK_PIN" && a.Get("Key") == "3001" {
			return listOf(a, "DBGetComplete", ev("DBGetResponse", "Family", "HOTDESK_PIN", "Key", "3001", "Val", "4321"))
		}
		return []Message{{Fields: []Field{{"Response", "Error"}, {"ActionID", a.ActionID()}, {"Message", "Database entry not found"}}}}
	}
	timers := make(chan func(), 4)
	d, err := New(Config{
		AMI:        testClientConfig(f.addr()),
		Extensions: []Extension{{Number: "1001"}, {Number: "3001", Kind: pbx.KindHotDesk}},
		Context:    "internal", HoldContext: "switchboard", Queues: []string{"support"}, WorkTime: 30 * time.Second,
		AfterFunc: func(d time.Duration, f func()) func() bool { timers <- f; return func() bool { return true } },
		Log:       zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	hot := mustSubscribe(t, d, "3001")
	ch := mustSubscribe(t, d, "1001")
	startDriver(t, d)
	ctx := context.Background()

	if err := d.HotDeskLogin(ctx, "3001", "0000"); !errors.Is(err, pbx.ErrAuth) {
		t.Errorf("wrong PIN: %v, want ErrAuth", err)
	}
	if err := d.HotDeskLogin(ctx, "3001", ""); !errors.Is(err, pbx.ErrInvalid) {
		t.Errorf("empty PIN: %v, want ErrInvalid", err)
	}
	if _, err := d.MakeCall(ctx, "3001", "1001"); !errors.Is(err, pbx.ErrNotLoggedIn) {
		t.Errorf("call from a hot desk nobody is logged in to: %v, want ErrNotLoggedIn", err)
	}
	if err := d.HotDeskLogin(ctx, "3001", "4321"); err != nil {
		t.Fatal(err)
	}
	if a := f.waitAction(t, "DBPut"); a.Get("Family") != "HOTDESK" || a.Get("Key") != "3001" {
		t.Errorf("login: DBPut = %v", a.Fields)
	}
	if got := next(t, hot); got != "device.updated login loggedIn=true agent= busy=false reason= dnd=false" {
		t.Errorf("after login: %s", got)
	}
	if err := d.HotDeskLogout(ctx, "3001"); err != nil {
		t.Fatal(err)
	}
	if got := next(t, hot); got != "device.updated login loggedIn=false agent= busy=false reason= dnd=false" {
		t.Errorf("after logout: %s", got)
	}

	// An answered queue call ends at 1001 (a static member of support).
	trunk, a1 := "PJSIP/trunk-1", "PJSIP/1001-2"
	f.stream(wire(ev("QueueMemberStatus", "Queue", "support", "Interface", "PJSIP/1001", "MemberName", "PJSIP/1001", "Membership", "static", "Paused", "0"),
		chanEv("Newchannel", trunk, "u.1", "u.1", "6"), chanEv("QueueCallerJoin", trunk, "u.1", "u.1", "6", "Queue", "support"),
		chanEv("Newchannel", a1, "u.2", "u.1", "5"), chanEv("Newstate", a1, "u.2", "u.1", "6"),
		chanEv("Hangup", a1, "u.2", "u.1", "6", "Cause", "16")))
	if a := f.waitAction(t, "QueuePause"); a.Get("Paused") != "true" || a.Get("Reason") != WorkReason || a.Get("Interface") != "PJSIP/1001" {
		t.Errorf("work timer: QueuePause = %v", a.Fields)
	}
	f.stream(wire(ev("QueueMemberPause", "Queue", "support", "Interface", "PJSIP/1001", "MemberName", "PJSIP/1001", "Paused", "1", "PausedReason", WorkReason)))
	got := collectUntil(t, ch, func(ev pbx.Event) bool { return ev.Type == pbx.DeviceUpdated })
	if !got.State.WorkTimer || got.State.MakeBusy || got.Cause != pbx.CauseWorkTimer || got.State.WorkTimerEnds.IsZero() {
		t.Errorf("work timer state %+v cause %s, want WorkTimer (not Make Busy) with an end", got.State, got.Cause)
	}
	if err := d.CancelWorkTimer(ctx, "1001"); err != nil {
		t.Fatal(err)
	}
	if a := f.waitAction(t, "QueuePause"); a.Get("Paused") != "false" {
		t.Errorf("cancel: QueuePause = %v", a.Fields)
	}
	f.stream(wire(ev("QueueMemberPause", "Queue", "support", "Interface", "PJSIP/1001", "MemberName", "PJSIP/1001", "Paused", "0", "PausedReason", "")))
	got = collectUntil(t, ch, func(ev pbx.Event) bool { return ev.Type == pbx.DeviceUpdated })
	if got.State.WorkTimer || got.Cause != pbx.CauseWorkTimer {
		t.Errorf("after cancel: %+v %s", got.State, got.Cause)
	}
	// The cancelled timer firing late does nothing.
	(<-timers)()
	if caps := d.Capabilities(); !caps[pbx.CmdHotDeskLogin] || !caps[pbx.CmdWorkTimer] {
		t.Errorf("capabilities %v, want hot-desk and work timer", caps)
	}
}

// collectUntil returns the first event match accepts.
func collectUntil(t *testing.T, ch <-chan pbx.Event, match func(pbx.Event) bool) pbx.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-ch:
			if match(ev) {
				return ev
			}
		case <-deadline:
			t.Fatal("no matching event within 10s")
		}
	}
}

// consultScenario sets up a connected inbound call at 1001 and a
// consultation to 1002 on the fake AMI; answered says whether 1002
// picked up (and was bridged with the agent).
func consultScenario(t *testing.T, answered bool, opts ...func(*Driver)) (f *fakeAMI, d *Driver, x, y string, w1, w2 <-chan pbx.Event) {
	t.Helper()
	f = newFakeAMI(t, "11.0.0")
	d = testDriver(t, f)
	for _, o := range opts {
		o(d) // before it runs
	}
	w1, w2 = mustSubscribe(t, d, "1001"), mustSubscribe(t, d, "1002")
	startDriver(t, d)
	trunk, a1 := "PJSIP/trunk-1", "PJSIP/1001-2"
	f.stream(wire(chanEv("Newchannel", trunk, "u.1", "u.1", "6"), chanEv("Newchannel", a1, "u.2", "u.1", "6"),
		chanEv("BridgeEnter", trunk, "u.1", "u.1", "6", "BridgeUniqueid", "b1"),
		chanEv("BridgeEnter", a1, "u.2", "u.1", "6", "BridgeUniqueid", "b1")))
	collect(t, w1, func(ev pbx.Event) bool { _, ok := ev.Call.Party("1001"); return ok })
	done := make(chan error, 1)
	go func() { var err error; y, err = d.Consult(context.Background(), "1001", "u.1", "1002"); done <- err }()
	f.waitAction(t, "Redirect")
	f.stream(wire(chanEv("Newexten", a1, "u.2", "u.1", "6", "Context", "switchboard", "Exten", "sb-wait", "Application", "Wait"),
		chanEv("Newexten", trunk, "u.1", "u.1", "6", "Context", "switchboard", "Exten", "sb-hold", "Application", "Wait")))
	f.waitAction(t, "Originate")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	state := "5"
	if answered {
		state = "6"
	}
	evs := []Message{chanEv("Newchannel", "Local/1002@internal-1;1", y, y, "0"),
		chanEv("Newchannel", "PJSIP/1002-3", "u.3", y, "0"), chanEv("Newstate", "PJSIP/1002-3", "u.3", y, state)}
	if answered {
		evs = append(evs, chanEv("Newexten", "Local/1002@internal-1;1", y, y, "6", "Context", "switchboard", "Exten", "sb-wait", "Application", "Answer"))
	}
	f.stream(wire(evs...))
	if answered {
		f.waitAction(t, "Bridge")
	}
	collect(t, w2, func(ev pbx.Event) bool { return ev.Call.ID == y && partyState(ev, "1002") != "" })
	return f, d, "u.1", y, w1, w2
}

func partyState(ev pbx.Event, ext string) pbx.ConnState {
	if ev.Call == nil {
		return ""
	}
	p, _ := ev.Call.Party(ext)
	return p.State
}

func TestDriverSupervisedTransfer(t *testing.T) {
	ctx := context.Background()
	t.Run("complete: the held party is bridged with the consulted party and the agent hangs up", func(t *testing.T) {
		f, d, x, y, w1, w2 := consultScenario(t, true)
		if err := d.Transfer(ctx, "1001", y); err != nil {
			t.Fatal(err)
		}
		if a := f.waitAction(t, "Bridge"); a.Get("Channel1") != "PJSIP/trunk-1" || a.Get("Channel2") != "PJSIP/1002-3" {
			t.Errorf("Bridge = %v", a.Fields)
		}
		if a := f.waitAction(t, "Hangup"); a.Get("Channel") != "PJSIP/1001-2" {
			t.Errorf("Hangup = %v", a.Fields)
		}
		got := collectUntil(t, w2, func(ev pbx.Event) bool { return ev.Call.ID == x })
		if got.Cause != pbx.CauseTransferred || partyState(got, "1002") != pbx.Connected || got.Call.ANI != "5551234" {
			t.Errorf("1002 on the transferred call: %s", line(got))
		}
		f.stream(wire(chanEv("Hangup", "PJSIP/1001-2", "u.2", "u.1", "6", "Cause", "16")))
		ends := map[string]pbx.Cause{}
		for len(ends) < 2 {
			ev := collectUntil(t, w1, func(ev pbx.Event) bool { return ev.Type == pbx.CallEnded })
			ends[ev.Call.ID] = ev.Cause
		}
		if ends[x] != pbx.CauseTransferred || ends[y] != pbx.CauseTransferred {
			t.Errorf("1001 left with %v, want both calls transferred", ends)
		}
	})
	t.Run("cancel: clearing the consultation hangs the consulted party up, the agent stays held", func(t *testing.T) {
		f, d, x, y, w1, _ := consultScenario(t, true)
		if err := d.Clear(ctx, "1001", y); err != nil {
			t.Fatal(err)
		}
		if a := f.waitAction(t, "Hangup"); a.Get("Channel") != "PJSIP/1002-3" {
			t.Errorf("Hangup = %v, want the consulted party", a.Fields)
		}
		f.stream(wire(chanEv("Hangup", "PJSIP/1002-3", "u.3", y, "6", "Cause", "16")))
		collectUntil(t, w1, func(ev pbx.Event) bool { return ev.Type == pbx.CallEnded && ev.Call.ID == y })
		got := collectUntil(t, w1, func(ev pbx.Event) bool { return ev.Call.ID == x })
		if partyState(got, "1001") != pbx.Held || got.Call.RelatedID != "" {
			t.Errorf("held call after the cancel: %s related %q", line(got), got.Call.RelatedID)
		}
		if err := d.Transfer(ctx, "1001", x); !errors.Is(err, pbx.ErrNotAllowed) {
			t.Errorf("transfer after the cancel: %v, want not allowed", err)
		}
	})
	t.Run("the held party hangs up during the consultation: the agent goes on talking, and is released when it ends", func(t *testing.T) {
		f, d, x, y, w1, _ := consultScenario(t, true)
		f.stream(wire(chanEv("Hangup", "PJSIP/trunk-1", "u.1", "u.1", "6", "Cause", "16")))
		collectUntil(t, w1, func(ev pbx.Event) bool { return ev.Call.ID == x && partyState(ev, "5551234") == pbx.Disconnected })
		if err := d.Clear(ctx, "1001", y); err != nil {
			t.Fatal(err)
		}
		if a := f.waitAction(t, "Hangup"); a.Get("Channel") != "PJSIP/1002-3" {
			t.Fatalf("first Hangup = %v, want the consulted party (the agent must not be hung up mid-consultation)", a.Fields)
		}
		f.stream(wire(chanEv("Hangup", "PJSIP/1002-3", "u.3", y, "6", "Cause", "16")))
		if a := f.waitAction(t, "Hangup"); a.Get("Channel") != "PJSIP/1001-2" {
			t.Errorf("Hangup = %v, want the agent left alone on the held call", a.Fields)
		}
	})
	t.Run("complete while the consulted phone rings: the held party is sent to the number", func(t *testing.T) {
		f, d, _, y, _, _ := consultScenario(t, false)
		if err := d.Conference(ctx, "1001", y); !errors.Is(err, pbx.ErrNotAllowed) {
			t.Errorf("conference before the answer: %v, want not allowed", err)
		}
		if err := d.Transfer(ctx, "1001", y); err != nil {
			t.Fatal(err)
		}
		if a := f.waitAction(t, "Hangup"); a.Get("Channel") != "PJSIP/1002-3" {
			t.Errorf("Hangup = %v, want the ringing consultation", a.Fields)
		}
		if a := f.waitAction(t, "Redirect"); a.Get("Channel") != "PJSIP/trunk-1" || a.Get("Exten") != "1002" || a.Get("Context") != "internal" {
			t.Errorf("Redirect = %v", a.Fields)
		}
		if a := f.waitAction(t, "Hangup"); a.Get("Channel") != "PJSIP/1001-2" {
			t.Errorf("Hangup = %v, want the agent", a.Fields)
		}
	})
}

// TestDriverConferenceRedirects: Conference sends the held party, then
// the agent and the consulted party together (one dual Redirect, while
// their bridge holds them) to the call's ConfBridge room. Asterisk 22.10
// refuses a Redirect ("Redirect failed") while a channel is between a
// bridge and the dialplan: the driver sends it again. On its
// way the agent passes through sb-wait, where the consultation's Bridge
// action found it: that is no hold (a real-PBX run once showed the agent
// held there, and a Hold right after the conference failed). A Hold
// before the agent's ConfbridgeJoin waits for it and then takes only the
// agent out of the room.
func TestDriverConferenceRedirects(t *testing.T) {
	ctx := context.Background()
	f, d, x, y, w1, _ := consultScenario(t, true)
	a1, refusals := "PJSIP/1001-2", 0
	f.mu.Lock()
	f.answers["redirect"] = func(a Message) []Message {
		msg, resp := "Redirect successful", "Success"
		if a.Get("Channel") == a1 && refusals < 2 {
			refusals++
			msg, resp = "Redirect failed", "Error"
		}
		return []Message{{Fields: []Field{{"Response", resp}, {"ActionID", a.ActionID()}, {"Message", msg}}}}
	}
	f.mu.Unlock()
	if err := d.Conference(ctx, "1001", y); err != nil {
		t.Fatal(err)
	}
	collectUntil(t, w1, func(ev pbx.Event) bool { return ev.Call.ID == x && ev.Cause == pbx.CauseConferenced })
	var got []string
	for range 4 {
		a := f.waitAction(t, "Redirect")
		l := a.Get("Channel") + " " + a.Get("Context") + "," + a.Get("Exten")
		if a.Get("ExtraChannel") != "" {
			l += " + " + a.Get("ExtraChannel") + " " + a.Get("ExtraContext") + "," + a.Get("ExtraExten")
		}
		got = append(got, l)
	}
	// The held caller alone; the agent and the consulted party in one
	// dual Redirect (sent again while refused).
	pair := a1 + " switchboard,sbcfu.1 + PJSIP/1002-3 switchboard,sbcfu.1"
	want := []string{"PJSIP/trunk-1 switchboard,sbcfu.1", pair, pair, pair}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Redirects (-want +got):\n%s", diff)
	}
	// The consultation's bridge dissolves; the agent resumes in sb-wait
	// for a moment before the Redirect takes it to the room.
	f.stream(wire(chanEv("BridgeLeave", a1, "u.2", "u.1", "6", "BridgeUniqueid", "b2"),
		chanEv("Newexten", a1, "u.2", "u.1", "6", "Context", "switchboard", "Exten", "sb-wait", "Application", "Goto"),
		chanEv("Newexten", a1, "u.2", "u.1", "6", "Context", "switchboard", "Exten", "sb-wait", "Application", "Wait"),
		chanEv("ConfbridgeJoin", "PJSIP/trunk-1", "u.1", "u.1", "6", "Conference", "u.1"),
		chanEv("ConfbridgeJoin", "PJSIP/1002-3", "u.3", y, "6", "Conference", "u.1"),
		chanEv("NewCallerid", "PJSIP/trunk-1", "u.1", "u.1", "6", "CallerIDNum", "5550199")))
	for _, l := range collect(t, w1, func(ev pbx.Event) bool { _, ok := ev.Call.Party("5550199"); return ok }) {
		if strings.Contains(l, "1001:held") {
			t.Errorf("the agent on its way into the room was reported held: %s", l)
		}
	}
	snap, err := d.Snapshot(ctx, "1001")
	if err != nil || len(snap.Calls) != 1 {
		t.Fatalf("snapshot %+v, %v", snap, err)
	}
	if p, _ := snap.Calls[0].Party("1001"); p.State != pbx.Connected {
		t.Errorf("1001 on its way into the room: %s, want connected", p.State)
	}
	held := make(chan error, 1)
	go func() { held <- d.Hold(ctx, "1001", x) }()
	f.stream(wire(chanEv("ConfbridgeJoin", a1, "u.2", "u.1", "6", "Conference", "u.1")))
	if a := f.waitAction(t, "Redirect"); a.Get("Channel") != a1 || a.Get("Exten") != "sb-wait" || a.Get("ExtraChannel") != "" {
		t.Errorf("hold in the conference: Redirect = %v, want only the agent to sb-wait", a.Fields)
	}
	if err := <-held; err != nil {
		t.Errorf("hold right after the conference: %v", err)
	}
}

// callsAt summarises ext's calls in d's snapshot, sorted: "id
// related=<RelatedID> number:state ...".
func callsAt(t *testing.T, d *Driver, ext string) []string {
	t.Helper()
	snap, err := d.Snapshot(context.Background(), ext)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range snap.Calls {
		l := c.ID + " related=" + c.RelatedID
		for _, p := range c.Parties {
			l += " " + p.Number + ":" + string(p.State)
		}
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

// TestDriverConsultationSurvivesReconnect: the AMI link drops in the
// middle of a consultation. Asterisk then shows one call (the consulted
// party, bridged with the agent, took the held call's Linkedid); the
// driver rebuilds the consultation from what it knew, so the agent sees
// the same calls and can still complete the transfer.
func TestDriverConsultationSurvivesReconnect(t *testing.T) {
	ctx := context.Background()
	f, d, x, y, _, _ := consultScenario(t, true)
	summary := func(ext string) []string { return callsAt(t, d, ext) }
	before1, before2 := summary("1001"), summary("1002")
	if len(before1) != 2 {
		t.Fatalf("1001 before the drop: %q, want the held call and the consultation", before1)
	}
	f.mu.Lock()
	f.answers["coreshowchannels"] = func(a Message) []Message {
		return listOf(a, "CoreShowChannelsComplete",
			chanEv("CoreShowChannel", "PJSIP/trunk-1", "u.1", "u.1", "6", "Context", "switchboard", "Exten", "sb-hold", "Application", "MusicOnHold"),
			chanEv("CoreShowChannel", "PJSIP/1001-2", "u.2", "u.1", "6", "BridgeId", "b2", "Application", "AppDial"),
			chanEv("CoreShowChannel", "PJSIP/1002-3", "u.3", "u.1", "6", "BridgeId", "b2", "Application", "AppDial"))
	}
	f.mu.Unlock()
	f.drop()
	f.waitAction(t, "CoreShowChannels")
	if err := d.WaitLink(ctx, true); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before1, summary("1001")); diff != "" {
		t.Errorf("1001 after the reconnect (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(before2, summary("1002")); diff != "" {
		t.Errorf("1002 after the reconnect (-before +after):\n%s", diff)
	}
	if err := d.Transfer(ctx, "1001", y); err != nil {
		t.Fatalf("transfer after the reconnect: %v", err)
	}
	if a := f.waitAction(t, "Bridge"); a.Get("Channel1") != "PJSIP/trunk-1" || a.Get("Channel2") != "PJSIP/1002-3" {
		t.Errorf("Bridge = %v, want the held caller with the consulted party", a.Fields)
	}
	if a := f.waitAction(t, "Hangup"); a.Get("Channel") != "PJSIP/1001-2" {
		t.Errorf("Hangup = %v, want the agent", a.Fields)
	}
	_ = x
}

// TestDriverConsultationAnsweredWhileDown: the consulted phone answers
// while the AMI link is down, so the driver never saw the consultation's
// Local channel arrive in sb-wait. The resync finds it waiting there and
// bridges it with the agent, and the transfer completes (a real-PBX run
// on 16.28 hung the transfer until its timeout without this).
func TestDriverConsultationAnsweredWhileDown(t *testing.T) {
	ctx := context.Background()
	f, d, _, y, _, _ := consultScenario(t, false)
	f.mu.Lock()
	f.answers["coreshowchannels"] = func(a Message) []Message {
		return listOf(a, "CoreShowChannelsComplete",
			chanEv("CoreShowChannel", "PJSIP/trunk-1", "u.1", "u.1", "6", "Context", "switchboard", "Exten", "sb-hold", "Application", "Wait"),
			chanEv("CoreShowChannel", "PJSIP/1001-2", "u.2", "u.1", "6", "Context", "switchboard", "Exten", "sb-wait", "Application", "Wait"),
			chanEv("CoreShowChannel", "Local/1002@internal-1;1", y, y, "6", "Context", "switchboard", "Exten", "sb-wait", "Application", "Wait"),
			chanEv("CoreShowChannel", "Local/1002@internal-1;2", y+";2", y, "6", "BridgeId", "b3", "Application", "Dial"),
			chanEv("CoreShowChannel", "PJSIP/1002-3", "u.3", y, "6", "BridgeId", "b3", "Application", "AppDial"))
	}
	f.mu.Unlock()
	f.drop()
	f.waitAction(t, "CoreShowChannels")
	if a := f.waitAction(t, "Bridge"); a.Get("Channel1") != "PJSIP/1001-2" || a.Get("Channel2") != "Local/1002@internal-1;1" {
		t.Errorf("after the resync: Bridge = %v, want the agent with the consultation's Local channel", a.Fields)
	}
	if err := d.Transfer(ctx, "1001", y); err != nil {
		t.Fatalf("transfer: %v", err)
	}
	if a := f.waitAction(t, "Bridge"); a.Get("Channel1") != "PJSIP/trunk-1" || a.Get("Channel2") != "PJSIP/1002-3" {
		t.Errorf("transfer: Bridge = %v, want the held caller with the consulted party", a.Fields)
	}
}

// TestDriverResyncFindsConferenceRooms: after a reconnect, channels in
// ConfBridge are a conference again (a later hold takes only the agent
// out of the room).
func TestDriverResyncFindsConferenceRooms(t *testing.T) {
	f := newFakeAMI(t, "11.0.0")
	f.answers["coreshowchannels"] = func(a Message) []Message {
		var evs []Message
		for i, name := range []string{"PJSIP/trunk-1", "PJSIP/1001-2", "PJSIP/1002-3"} {
			evs = append(evs, chanEv("CoreShowChannel", name, fmt.Sprintf("u.%d", i+1), "u.1", "6",
				"Application", "ConfBridge", "ApplicationData", "u.1,sb_bridge,sb_user", "BridgeId", "conf"))
		}
		return listOf(a, "CoreShowChannelsComplete", evs...)
	}
	d := testDriver(t, f)
	startDriver(t, d)
	snap, err := d.Snapshot(context.Background(), "1001")
	if err != nil || len(snap.Calls) != 1 || len(snap.Calls[0].Parties) != 3 {
		t.Fatalf("snapshot %+v %v, want one call with three parties", snap, err)
	}
	if err := d.Hold(context.Background(), "1001", "u.1"); err != nil {
		t.Fatal(err)
	}
	if a := f.waitAction(t, "Redirect"); a.Get("Channel") != "PJSIP/1001-2" || a.Get("ExtraChannel") != "" {
		t.Errorf("hold in a resynced conference: Redirect = %v, want only the agent", a.Fields)
	}
}
