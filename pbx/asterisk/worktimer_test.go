package asterisk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/switchboard-cti/switchboard/pbx"
)

var workT0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// workDriver is a driver with a 30 s work timer, a required
// classification, a fixed clock and captured timers (their durations
// and functions).
func workDriver(t *testing.T, f *fakeAMI) (*Driver, chan time.Duration, chan func()) {
	t.Helper()
	durs, fns := make(chan time.Duration, 8), make(chan func(), 8)
	d, err := New(Config{
		AMI:        testClientConfig(f.addr()),
		Extensions: []Extension{{Number: "1001"}},
		Context:    "internal", HoldContext: "switchboard", Queues: []string{"support"}, WorkTime: 30 * time.Second,
		Classifications:        []pbx.Code{{Code: "sale", Label: "Sale"}},
		ClassificationRequired: true,
		AfterFunc:              func(d time.Duration, f func()) func() bool { durs <- d; fns <- f; return func() bool { return true } },
		Now:                    func() time.Time { return workT0 },
		Log:                    zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return d, durs, fns
}

// TestDriverWorkTimerClassification: with ClassificationRequired, the
// work timer after an answered queue call cannot be cancelled until the
// agent classifies that call, which it can do after the call ended
// (during wrap-up). The timer's end and the pending classification are
// kept in AstDB SBWRAP/<ext>.
func TestDriverWorkTimerClassification(t *testing.T) {
	f := newFakeAMI(t, "11.0.0")
	d, durs, _ := workDriver(t, f)
	ch := mustSubscribe(t, d, "1001")
	startDriver(t, d)
	ctx := context.Background()

	trunk, a1 := "PJSIP/trunk-1", "PJSIP/1001-2"
	f.stream(wire(ev("QueueMemberStatus", "Queue", "support", "Interface", "PJSIP/1001", "MemberName", "PJSIP/1001", "Membership", "static", "Paused", "0"),
		chanEv("Newchannel", trunk, "u.1", "u.1", "6"), chanEv("QueueCallerJoin", trunk, "u.1", "u.1", "6", "Queue", "support"),
		chanEv("Newchannel", a1, "u.2", "u.1", "5"), chanEv("Newstate", a1, "u.2", "u.1", "6"),
		chanEv("Hangup", a1, "u.2", "u.1", "6", "Cause", "16")))
	ends := workT0.Add(30 * time.Second)
	if a := f.waitAction(t, "DBPut"); a.Get("Family") != WorkFamily || a.Get("Key") != "1001" || a.Get("Val") != fmt.Sprintf("%d u.1 1", ends.UnixMilli()) {
		t.Errorf("work timer: DBPut = %v, want SBWRAP/1001 = <end ms> u.1 1", a.Fields)
	}
	if a := f.waitAction(t, "QueuePause"); a.Get("Paused") != "true" || a.Get("Reason") != WorkReason {
		t.Errorf("work timer: QueuePause = %v", a.Fields)
	}
	if got := <-durs; got != 30*time.Second {
		t.Errorf("timer armed for %v, want 30s", got)
	}
	f.stream(wire(ev("QueueMemberPause", "Queue", "support", "Interface", "PJSIP/1001", "MemberName", "PJSIP/1001", "Paused", "1", "PausedReason", WorkReason)))
	got := collectUntil(t, ch, func(ev pbx.Event) bool { return ev.Type == pbx.DeviceUpdated })
	if !got.State.WorkTimer || !got.State.ClassificationPending || !got.State.WorkTimerEnds.Equal(ends) {
		t.Errorf("work timer state %+v, want WorkTimer ending %v with a classification pending", got.State, ends)
	}

	err := d.CancelWorkTimer(ctx, "1001")
	if !errors.Is(err, pbx.ErrNotAllowed) || !strings.Contains(err.Error(), "classification code on call u.1") {
		t.Errorf("cancel before the classification: %v, want not allowed naming call u.1", err)
	}
	for _, c := range []struct {
		call, code string
		want       error
	}{
		{"u.9", "sale", pbx.ErrUnknownCall}, // not the call the timer follows
		{"", "sale", pbx.ErrUnknownCall},
		{"u.1", "nosuch", pbx.ErrInvalid},
	} {
		if err := d.SetClassificationCode(ctx, "1001", c.call, c.code); !errors.Is(err, c.want) {
			t.Errorf("classify %q as %q: %v, want %v", c.call, c.code, err, c.want)
		}
	}
	if err := d.SetClassificationCode(ctx, "1001", "u.1", "sale"); err != nil {
		t.Fatalf("classify the ended call during wrap-up: %v", err)
	}
	got = collectUntil(t, ch, func(ev pbx.Event) bool { return ev.Type == pbx.DeviceUpdated })
	if !got.State.WorkTimer || got.State.ClassificationPending || got.Cause != pbx.CauseCodes {
		t.Errorf("after the classification: %+v %s, want the timer running, nothing pending", got.State, got.Cause)
	}
	if a := f.waitAction(t, "DBPut"); a.Get("Val") != fmt.Sprintf("%d u.1 0", ends.UnixMilli()) {
		t.Errorf("after the classification: DBPut = %v", a.Fields)
	}
	if err := d.CancelWorkTimer(ctx, "1001"); err != nil {
		t.Fatal(err)
	}
	if a := f.waitAction(t, "QueuePause"); a.Get("Paused") != "false" {
		t.Errorf("cancel: QueuePause = %v", a.Fields)
	}
	if a := f.waitAction(t, "DBDel"); a.Get("Family") != WorkFamily || a.Get("Key") != "1001" {
		t.Errorf("cancel: DBDel = %v", a.Fields)
	}
	if cs, _ := d.Codes(ctx); !cs.ClassificationRequired {
		t.Errorf("codes %+v, want ClassificationRequired", cs)
	}
	if _, err := New(Config{AMI: testClientConfig(f.addr()), Extensions: []Extension{{Number: "1001"}}, Context: "internal",
		ClassificationRequired: true}); err == nil || !strings.Contains(err.Error(), "classification") {
		t.Errorf("ClassificationRequired without codes: %v, want an error", err)
	}
}

// TestDriverWorkTimerSurvivesResync: a driver that (re)starts while the
// member is paused for wrap-up gives the agent the time left in AstDB,
// and the pending classification; a timer already over ends at once;
// without a record, a full work time.
func TestDriverWorkTimerSurvivesResync(t *testing.T) {
	for _, c := range []struct {
		name, record string
		wantDur      time.Duration
		wantPending  bool
	}{
		{"12 s left, unclassified", fmt.Sprintf("%d u.7 1", workT0.Add(12*time.Second).UnixMilli()), 12 * time.Second, true},
		{"12 s left, classified", fmt.Sprintf("%d u.7 0", workT0.Add(12*time.Second).UnixMilli()), 12 * time.Second, false},
		{"over while the link was down", fmt.Sprintf("%d u.7 1", workT0.Add(-time.Second).UnixMilli()), 0, true},
		{"no record", "", 30 * time.Second, false},
		{"an end later than a work time from now (not ours)", fmt.Sprintf("%d xyz 1", workT0.Add(time.Hour).UnixMilli()), 30 * time.Second, false},
		{"a malformed record", "soon", 30 * time.Second, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeAMI(t, "11.0.0")
			f.answers["queuestatus"] = func(a Message) []Message {
				return listOf(a, "QueueStatusComplete", ev("QueueMember", "Queue", "support", "Name", "PJSIP/1001", "Location", "PJSIP/1001",
					"StateInterface", "PJSIP/1001", "Membership", "static", "Paused", "1", "PausedReason", WorkReason))
			}
			f.answers["dbget"] = func(a Message) []Message {
				if a.Get("Family") == WorkFamily && a.Get("Key") == "1001" && c.record != "" {
					return listOf(a, "DBGetComplete", ev("DBGetResponse", "Family", WorkFamily, "Key", "1001", "Val", c.record))
				}
				return []Message{{Fields: []Field{{"Response", "Error"}, {"ActionID", a.ActionID()}, {"Message", "Database entry not found"}}}}
			}
			d, durs, fns := workDriver(t, f)
			startDriver(t, d)
			if got := <-durs; got != c.wantDur {
				t.Errorf("timer armed for %v, want %v", got, c.wantDur)
			}
			snap, err := d.Snapshot(context.Background(), "1001")
			if err != nil {
				t.Fatal(err)
			}
			st := snap.State
			wantEnds := workT0.Add(c.wantDur)
			if c.wantDur == 0 {
				wantEnds = workT0.Add(-time.Second) // as recorded
			}
			if !st.WorkTimer || !st.WorkTimerEnds.Equal(wantEnds) || st.ClassificationPending != c.wantPending {
				t.Errorf("state %+v, want the work timer ending at %v, pending %v", st, wantEnds, c.wantPending)
			}
			(<-fns)() // the timer ends: the member is unpaused, the record goes
			if a := f.waitAction(t, "QueuePause"); a.Get("Paused") != "false" || a.Get("Interface") != "PJSIP/1001" {
				t.Errorf("end: QueuePause = %v", a.Fields)
			}
			if a := f.waitAction(t, "DBDel"); a.Get("Family") != WorkFamily {
				t.Errorf("end: DBDel = %v", a.Fields)
			}
		})
	}
}

// TestDriverClassifyLiveCalls: a live ACD call takes a classification
// code (its work timer then has nothing pending); a call that did not
// come through a queue does not.
func TestDriverClassifyLiveCalls(t *testing.T) {
	f := newFakeAMI(t, "11.0.0")
	d, _, _ := workDriver(t, f)
	ch := mustSubscribe(t, d, "1001")
	startDriver(t, d)
	ctx := context.Background()
	f.stream(wire(ev("QueueMemberStatus", "Queue", "support", "Interface", "PJSIP/1001", "MemberName", "PJSIP/1001", "Membership", "static", "Paused", "0"),
		chanEv("Newchannel", "PJSIP/trunk-1", "u.1", "u.1", "6"), chanEv("Newchannel", "PJSIP/1001-2", "u.2", "u.1", "6"),
		chanEv("Newchannel", "PJSIP/trunk-3", "u.3", "u.3", "6"), chanEv("QueueCallerJoin", "PJSIP/trunk-3", "u.3", "u.3", "6", "Queue", "support"),
		chanEv("Newchannel", "PJSIP/1001-4", "u.4", "u.3", "6")))
	collect(t, ch, func(ev pbx.Event) bool { return ev.Call != nil && ev.Call.ID == "u.3" && ev.Call.ACD })
	if err := d.SetClassificationCode(ctx, "1001", "u.1", "sale"); !errors.Is(err, pbx.ErrNotAllowed) || !strings.Contains(err.Error(), "only ACD calls") {
		t.Errorf("classify a direct call: %v, want not allowed (only ACD calls)", err)
	}
	if err := d.SetClassificationCode(ctx, "1001", "u.3", "sale"); err != nil {
		t.Fatalf("classify a live queue call: %v", err)
	}
	got := collectUntil(t, ch, func(ev pbx.Event) bool { return ev.Call != nil && ev.Call.ID == "u.3" })
	if got.Cause != pbx.CauseCodes || got.Call.ClassificationCode != "sale" {
		t.Errorf("after the classification: %s code %q", got.Cause, got.Call.ClassificationCode)
	}
	f.stream(wire(chanEv("Hangup", "PJSIP/1001-4", "u.4", "u.3", "6", "Cause", "16")))
	if a := f.waitAction(t, "DBPut"); a.Get("Val") != fmt.Sprintf("%d u.3 0", workT0.Add(30*time.Second).UnixMilli()) {
		t.Errorf("work timer after a classified call: DBPut = %v, want nothing pending", a.Fields)
	}
}

// TestDriverCancelAfterAClassificationElsewhere: the classification was
// taken on another instance a moment ago (its UserEvent not here yet):
// the cancel finds it in AstDB and goes ahead.
func TestDriverCancelAfterAClassificationElsewhere(t *testing.T) {
	f, d, ch := wrapUpScenario(t)
	collectUntil(t, ch, func(ev pbx.Event) bool { return ev.Type == pbx.DeviceUpdated && ev.State.ClassificationPending })
	if a := f.waitAction(t, "QueuePause"); a.Get("Paused") != "true" { // the work timer's
		t.Fatalf("work timer: QueuePause = %v", a.Fields)
	}
	record := fmt.Sprintf("%d u.1 0", workT0.Add(30*time.Second).UnixMilli())
	f.mu.Lock()
	f.answers["dbget"] = func(a Message) []Message {
		if a.Get("Family") == WorkFamily && a.Get("Key") == "1001" {
			return listOf(a, "DBGetComplete", ev("DBGetResponse", "Family", WorkFamily, "Key", "1001", "Val", record))
		}
		return []Message{{Fields: []Field{{"Response", "Error"}, {"ActionID", a.ActionID()}, {"Message", "Database entry not found"}}}}
	}
	f.mu.Unlock()
	if err := d.CancelWorkTimer(context.Background(), "1001"); err != nil {
		t.Fatalf("cancel after the classification elsewhere: %v", err)
	}
	if a := f.waitAction(t, "QueuePause"); a.Get("Paused") != "false" {
		t.Errorf("cancel: QueuePause = %v", a.Fields)
	}
}

// wrapUpScenario: a workDriver whose 1001 (a static member of support)
// answered queue call u.1, which ended; the member is paused for the
// work timer.
func wrapUpScenario(t *testing.T) (f *fakeAMI, d *Driver, ch <-chan pbx.Event) {
	t.Helper()
	f = newFakeAMI(t, "11.0.0")
	d, _, _ = workDriver(t, f)
	ch = mustSubscribe(t, d, "1001")
	startDriver(t, d)
	f.stream(wire(ev("QueueMemberStatus", "Queue", "support", "Interface", "PJSIP/1001", "MemberName", "PJSIP/1001", "Membership", "static", "Paused", "0"),
		chanEv("Newchannel", "PJSIP/trunk-1", "u.1", "u.1", "6"), chanEv("QueueCallerJoin", "PJSIP/trunk-1", "u.1", "u.1", "6", "Queue", "support"),
		chanEv("Newchannel", "PJSIP/1001-2", "u.2", "u.1", "6"), chanEv("Hangup", "PJSIP/1001-2", "u.2", "u.1", "6", "Cause", "16"),
		ev("QueueMemberPause", "Queue", "support", "Interface", "PJSIP/1001", "MemberName", "PJSIP/1001", "Paused", "1", "PausedReason", WorkReason)))
	return f, d, ch
}
