package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
)

// Issue 14: phone numbers and caller identity through the public paths
// (agent API, the lookup of a ringing call, the Task written, history).

// rawCall is the part of a socket call event these tests read.
type rawCall struct {
	ID       string `json:"id"`
	State    string `json:"state"`
	Number   string `json:"number"`
	Withheld bool   `json:"withheld"`
	Answered string `json:"answered"`
	// Lookup is "pending" on the push sent before the Salesforce lookup
	// returns (the matches follow).
	Lookup  string `json:"lookup"`
	Matches []struct {
		ID, Name, Type string
	} `json:"matches"`
	Pop *struct {
		Rule      string `json:"rule"`
		NewRecord *struct {
			Type   string            `json:"type"`
			Fields map[string]string `json:"fields"`
		} `json:"newRecord"`
	} `json:"pop"`
}

// waitCall reads socket messages until a call event for id satisfies ok.
func (s *agentSocket) waitCall(id string, ok func(rawCall) bool) rawCall {
	s.t.Helper()
	for i := 0; i < 100; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, b, err := s.conn.Read(ctx)
		cancel()
		if err != nil {
			s.t.Fatalf("socket read: %v", err)
		}
		var ev struct {
			Type string   `json:"type"`
			Call *rawCall `json:"call"`
		}
		if json.Unmarshal(b, &ev) == nil && ev.Type == "call" && ev.Call != nil && ev.Call.ID == id && ok(*ev.Call) {
			return *ev.Call
		}
	}
	s.t.Fatalf("no matching event for call %s in 100 messages", id)
	return rawCall{}
}

func TestAWithheldCallerIsNotLookedUpPoppedOrPrefilledAndIsLoggedAsWithheld(t *testing.T) {
	for _, callerID := range []string{"anonymous", "Anonymous", "ANONYMOUS", "private", "PRIVATE", "Restricted",
		"unavailable", "unknown", "<unknown>", "Withheld", "0000000000", "000-000-0000", "+266696687"} {
		t.Run(callerID, func(t *testing.T) {
			a := startApp(t, map[string]string{"SWITCHBOARD_SF_POP_ORDER": "ani,dnis,digits,new_contact"})
			// A Lead stored with zeros would match "0000000000" if it were a number.
			a.Org.Insert("Lead", map[string]any{"FirstName": "Zero", "LastName": "Lead", "Company": "Zeros", "Phone": "000-000-0000"})
			token := a.signIn(t)
			sock := a.connect(t, token)
			before := a.Org.Requests()
			var placed struct{ ID string }
			if st := a.do(t, "POST", "/sim/v1/calls", "", map[string]string{"from": callerID, "to": "1001", "dnis": "+18005550199"}, &placed); st != http.StatusCreated {
				t.Fatalf("place call from %q: %d", callerID, st)
			}
			ring := sock.waitCall(placed.ID, func(c rawCall) bool { return c.State == "alerting" && c.Lookup != "pending" })
			if !ring.Withheld || ring.Number != "" || len(ring.Matches) != 0 {
				t.Errorf("ringing call: withheld %v number %q matches %v; want withheld, no number, no match", ring.Withheld, ring.Number, ring.Matches)
			}
			if ring.Pop == nil || ring.Pop.Rule != "new_contact" || ring.Pop.NewRecord == nil || len(ring.Pop.NewRecord.Fields) != 0 {
				t.Errorf("pop %+v: want an empty New Contact form, no record", ring.Pop)
			}
			// Only the DNIS rule asked Salesforce (the line is no Campaign).
			if n := a.Org.Requests() - before; n > 1 {
				t.Errorf("%d Salesforce requests for a withheld caller, want at most the DNIS lookup", n)
			}
			if st := a.do(t, "POST", "/sim/v1/calls/"+placed.ID+"/hangup", "", nil, nil); st != http.StatusNoContent {
				t.Fatalf("hang up: %d", st)
			}
			// The Task notice and the history notice come in either order
			// (the outbox may write the Task before the lists are updated).
			var sawTask, sawHistory bool
			sock.waitFor("task and history", func(ev wsEvent) bool {
				if ev.CallID == placed.ID {
					sawTask = sawTask || ev.Type == "task"
					sawHistory = sawHistory || ev.Type == "history"
				}
				return sawTask && sawHistory
			})
			tasks := a.Org.Records("Task")
			if len(tasks) != 1 {
				t.Fatalf("%d Tasks, want the Missed call", len(tasks))
			}
			task := tasks[0]
			if task["WhoId"] != nil || task["WhatId"] != nil {
				t.Errorf("Task linked to %v / %v, want nothing", task["WhoId"], task["WhatId"])
			}
			subject, _ := task["Subject"].(string)
			desc, _ := task["Description"].(string)
			if !strings.Contains(subject, "withheld") || !strings.Contains(desc, "Number: Number withheld by the caller") {
				t.Errorf("Task Subject %q Description %q: want them to say the number was withheld", subject, desc)
			}
			var hist struct {
				Entries []struct {
					Number   string `json:"number"`
					Withheld bool   `json:"withheld"`
					Missed   bool   `json:"missed"`
				}
			}
			if st := a.do(t, "GET", "/api/v1/history?list=missed", token, nil, &hist); st != http.StatusOK {
				t.Fatalf("history: %d", st)
			}
			if e := hist.Entries; len(e) != 1 || !e[0].Withheld || e[0].Number != "" || !e[0].Missed {
				t.Errorf("missed history %+v: want one withheld entry without a number", e)
			}
		})
	}
}

func TestDialStringsAreParsedAndTheExtensionIsKeyedOnceTheFarEndAnswers(t *testing.T) {
	tests := []struct {
		name, number string
		env          map[string]string
		wantDialled  string // what the switch was asked to call
		wantHeard    string // DTMF the far end heard after answering
		pauses       int    // commas before the extension (2 s each)
		wantWho      string // the Task's WhoId name ("" none)
	}{
		{name: "a trunk 0 in brackets after the country code goes", number: "+44 (0)20 7946 0958", wantDialled: "+442079460958", wantWho: "Taylor Kim"},
		{name: "x and a space", number: "(415) 555-0123 x 9", wantDialled: "+14155550123", wantHeard: "9", wantWho: "Lucy Hall"},
		{name: "ext. 22", number: "415-555-0123 ext. 22", wantDialled: "+14155550123", wantHeard: "22", wantWho: "Lucy Hall"},
		{name: "the RFC 3966 form", number: "tel:+1-415-555-0123;ext=301", wantDialled: "+14155550123", wantHeard: "301", wantWho: "Lucy Hall"},
		{name: "pauses as commas", number: "4155550123,,22#", wantDialled: "+14155550123", wantHeard: "22#", pauses: 2, wantWho: "Lucy Hall"},
		{name: "Unicode dashes and spaces", number: "+1\u00a0415\u2011555\u20130123", wantDialled: "+14155550123", wantWho: "Lucy Hall"},
		{name: "vanity letters", number: "1-800-FLOWERS", wantDialled: "+18003569377"},
		{name: "dialing options on a national call", number: "(415) 555-0123",
			env:         map[string]string{"SWITCHBOARD_DIAL_OUTSIDE_PREFIX": "9", "SWITCHBOARD_DIAL_LONG_DISTANCE_PREFIX": "1", "SWITCHBOARD_DIAL_INTERNATIONAL_PREFIX": "011"},
			wantDialled: "914155550123", wantWho: "Lucy Hall"},
		{name: "dialing options on an international call with an extension", number: "+44 20 7946 0958 x 5",
			env:         map[string]string{"SWITCHBOARD_DIAL_OUTSIDE_PREFIX": "9", "SWITCHBOARD_DIAL_INTERNATIONAL_PREFIX": "011"},
			wantDialled: "9011442079460958", wantHeard: "5", wantWho: "Taylor Kim"},
		{name: "a GB default region reads national numbers as British", number: "020 7946 0958",
			env: map[string]string{"SWITCHBOARD_REGION": "GB"}, wantDialled: "+442079460958", wantWho: "Taylor Kim"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := startApp(t, tc.env)
			token := a.signIn(t)
			sock := a.connect(t, token)
			var made struct{ ID string }
			if st := a.do(t, "POST", "/api/v1/calls", token, map[string]string{"number": tc.number}, &made); st != http.StatusCreated {
				t.Fatalf("make call %q: %d", tc.number, st)
			}
			c, ok := a.Sim.Call(made.ID)
			if !ok || len(c.Parties) != 2 || c.Parties[1].Number != tc.wantDialled {
				t.Fatalf("the switch called %+v, want %s", c.Parties, tc.wantDialled)
			}
			a.clock.Advance(3 * time.Second)                                         // the demo's external numbers answer after 3 s
			sock.waitCall(made.ID, func(c rawCall) bool { return c.Answered != "" }) // the far end answered
			a.clock.Advance(time.Duration(tc.pauses) * 2 * time.Second)
			if heard, _ := a.Sim.DigitsHeard(made.ID); heard != tc.wantHeard {
				t.Errorf("the far end heard %q, want %q", heard, tc.wantHeard)
			}
			a.clock.Advance(10 * time.Second)
			a.do(t, "POST", "/api/v1/calls/"+made.ID+"/clear", token, nil, nil)
			a.wrapUp(t, token, sock, made.ID)
			sock.waitFor("task", func(ev wsEvent) bool { return ev.Type == "task" && ev.CallID == made.ID })
			tasks := a.Org.Records("Task")
			if len(tasks) != 1 {
				t.Fatalf("%d Tasks", len(tasks))
			}
			who, _ := tasks[0]["WhoId"].(string)
			if want := nameID(a.Org, tc.wantWho); who != want {
				t.Errorf("Task WhoId %q, want %q (%s)", who, want, tc.wantWho)
			}
			if heard, _ := a.Sim.DigitsHeard(made.ID); heard != "" {
				t.Errorf("the call still exists after clear")
			}
		})
	}
}

// nameID is the Id of the Contact or Lead named name ("" for "").
func nameID(org *fakeorg.Org, name string) string {
	if name == "" {
		return ""
	}
	for _, obj := range []string{"Contact", "Lead"} {
		for _, r := range org.Records(obj) {
			if r["Name"] == name {
				return r["Id"].(string)
			}
		}
	}
	return "?"
}

func TestAnInternalExtensionIsDialledAsItIsWithoutPrefixes(t *testing.T) {
	a := startApp(t, map[string]string{"SWITCHBOARD_DIAL_OUTSIDE_PREFIX": "9", "SWITCHBOARD_DIAL_LONG_DISTANCE_PREFIX": "1"})
	token := a.signIn(t)
	var made struct{ ID string }
	if st := a.do(t, "POST", "/api/v1/calls", token, map[string]string{"number": "10-02"}, &made); st != http.StatusCreated {
		t.Fatalf("make call: %d", st)
	}
	c, _ := a.Sim.Call(made.ID)
	if len(c.Parties) != 2 || c.Parties[1].Number != "1002" || c.Direction != "internal" {
		t.Errorf("called %+v (%s), want the extension 1002, internal", c.Parties, c.Direction)
	}
	var def string
	resp, err := a.http.Get(a.URL + "/callcenter-definition.xml")
	if err == nil {
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, rerr := resp.Body.Read(buf)
			b.Write(buf[:n])
			if rerr != nil {
				break
			}
		}
		resp.Body.Close()
		def = b.String()
	}
	if !strings.Contains(def, `name="reqOutsidePrefix" label="Outside Prefix">9<`) || !strings.Contains(def, `name="reqLongDistPrefix" label="Long Distance Prefix">1<`) {
		t.Errorf("the call center definition does not show the server's dialing options:\n%s", def)
	}
}

func TestABadDialStringIsAClear400(t *testing.T) {
	a := startApp(t, nil)
	token := a.signIn(t)
	for _, number := range []string{"", "anonymous", "0000000000", "call me", "415 555 0123 ☎", "415 555 0123 x 1a", "+999 123 4567", "7", strings.Repeat("9", 300)} {
		var e struct {
			Error struct{ Code, Message string }
		}
		if st := a.do(t, "POST", "/api/v1/calls", token, map[string]string{"number": number}, &e); st != http.StatusBadRequest || e.Error.Code != "invalid_input" || !strings.HasPrefix(e.Error.Message, "number") {
			t.Errorf("dial %q: %d %+v, want 400 invalid_input saying what is wrong with the number", number, st, e)
		}
	}
	if calls := a.Sim.Calls(); len(calls) != 0 {
		t.Errorf("%d calls placed from bad input", len(calls))
	}
}

func TestARingingCallMatchesStoredNumbersByNumberNotSpelling(t *testing.T) {
	tests := []struct {
		name        string
		object      string
		fields      map[string]any
		from, dnis  string
		order       string
		wantRule    string
		wantTaskRel string // "WhoId" or "WhatId" holding the record
	}{
		{name: "Campaign DNIS 1-800-555-0122", object: "Campaign", fields: map[string]any{"Name": "Dashes", "IsActive": true, "Status": "In Progress", "DNIS__c": "1-800-555-0122"},
			from: "+14155550199", dnis: "+18005550122", order: "dnis", wantRule: "dnis", wantTaskRel: "WhatId"},
		{name: "Campaign DNIS 800.555.0133", object: "Campaign", fields: map[string]any{"Name": "Dots", "IsActive": true, "Status": "In Progress", "DNIS__c": "800.555.0133"},
			from: "+14155550199", dnis: "+18005550133", order: "dnis", wantRule: "dnis", wantTaskRel: "WhatId"},
		{name: "Campaign DNIS +1 (800) 555-0144", object: "Campaign", fields: map[string]any{"Name": "Brackets", "IsActive": true, "Status": "In Progress", "DNIS__c": "+1 (800) 555-0144"},
			from: "+14155550199", dnis: "8005550144", order: "dnis", wantRule: "dnis", wantTaskRel: "WhatId"},
		{name: "a Contact stored with x22", object: "Contact", fields: map[string]any{"FirstName": "Ext", "LastName": "Stored", "Phone": "(415) 555-0154 x22"},
			from: "+14155550154", dnis: "+18005550199", order: "ani", wantRule: "ani", wantTaskRel: "WhoId"},
		{name: "a Lead stored with ;ext=", object: "Lead", fields: map[string]any{"FirstName": "Ext", "LastName": "Lead", "Company": "X", "Phone": "+1 415 555 0155;ext=7"},
			from: "4155550155", dnis: "+18005550199", order: "ani", wantRule: "ani", wantTaskRel: "WhoId"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := startApp(t, map[string]string{"SWITCHBOARD_SF_POP_ORDER": tc.order})
			id := a.Org.Insert(tc.object, tc.fields)
			token := a.signIn(t)
			sock := a.connect(t, token)
			var placed struct{ ID string }
			if st := a.do(t, "POST", "/sim/v1/calls", "", map[string]string{"from": tc.from, "to": "1001", "dnis": tc.dnis}, &placed); st != http.StatusCreated {
				t.Fatalf("place call: %d", st)
			}
			// The lookup runs after the call is first pushed: wait for its pop.
			ring := sock.waitCall(placed.ID, func(c rawCall) bool { return c.State == "alerting" && c.Lookup != "pending" })
			if ring.Pop == nil || ring.Pop.Rule != tc.wantRule {
				t.Fatalf("pop %+v, want rule %s", ring.Pop, tc.wantRule)
			}
			a.do(t, "POST", "/api/v1/calls/"+placed.ID+"/answer", token, nil, nil)
			sock.waitCall(placed.ID, func(c rawCall) bool { return c.State == "connected" })
			a.do(t, "POST", "/api/v1/calls/"+placed.ID+"/clear", token, nil, nil)
			a.wrapUp(t, token, sock, placed.ID)
			sock.waitFor("task", func(ev wsEvent) bool { return ev.Type == "task" && ev.CallID == placed.ID })
			tasks := a.Org.Records("Task")
			if len(tasks) != 1 || tasks[0][tc.wantTaskRel] != id {
				t.Errorf("Task %s = %v, want the %s %s", tc.wantTaskRel, tasks[0][tc.wantTaskRel], tc.object, id)
			}
		})
	}
}

func TestClickToDialANumberWithAnExtensionKeepsTheRecordAndKeysTheExtension(t *testing.T) {
	a := startApp(t, nil)
	token := a.signIn(t)
	sock := a.connect(t, token)
	lucy := nameID(a.Org, "Lucy Hall")
	body := map[string]any{"number": "415-555-0123 ext. 22", "record": map[string]string{"recordId": lucy, "objectType": "Contact", "name": "Lucy Hall"}}
	var made struct{ ID string }
	if st := a.do(t, "POST", "/api/v1/calls", token, body, &made); st != http.StatusCreated {
		t.Fatalf("click to dial: %d", st)
	}
	a.clock.Advance(3 * time.Second)
	sock.waitCall(made.ID, func(c rawCall) bool { return c.Answered != "" })
	if heard, _ := a.Sim.DigitsHeard(made.ID); heard != "22" {
		t.Errorf("the far end heard %q, want 22", heard)
	}
	a.do(t, "POST", "/api/v1/calls/"+made.ID+"/clear", token, nil, nil)
	a.wrapUp(t, token, sock, made.ID)
	sock.waitFor("task", func(ev wsEvent) bool { return ev.Type == "task" && ev.CallID == made.ID })
	if tasks := a.Org.Records("Task"); len(tasks) != 1 || tasks[0]["WhoId"] != lucy {
		t.Errorf("Task %v, want WhoId %s (the record clicked)", tasks, lucy)
	}
}

func TestTransferTargetsAreReadByTheSameRule(t *testing.T) {
	a := startApp(t, nil)
	token := a.signIn(t)
	sock := a.connect(t, token)
	id := a.place(t, "+14155550199", "1001")
	sock.waitCall(id, func(c rawCall) bool { return c.State == "alerting" })
	var e struct {
		Error struct{ Code, Message string }
	}
	if st := a.do(t, "POST", "/api/v1/calls/"+id+"/redirect", token, map[string]string{"number": "(415) 555-0123 x 9"}, &e); st != http.StatusBadRequest || !strings.Contains(e.Error.Message, "redirect to the main number") {
		t.Errorf("redirect to a number with an extension: %d %+v, want a 400 saying to redirect to the main number", st, e)
	}
	a.do(t, "POST", "/api/v1/calls/"+id+"/answer", token, nil, nil)
	sock.waitCall(id, func(c rawCall) bool { return c.State == "connected" })
	var consult struct{ ID string }
	if st := a.do(t, "POST", "/api/v1/calls/"+id+"/consult", token, map[string]string{"number": "(415) 555\u20130123 x 9"}, &consult); st != http.StatusCreated {
		t.Fatalf("consult: %d", st)
	}
	if c, _ := a.Sim.Call(consult.ID); len(c.Parties) < 2 || c.Parties[len(c.Parties)-1].Number != "+14155550123" {
		t.Fatalf("consulted %+v, want +14155550123", c.Parties)
	}
	a.clock.Advance(3 * time.Second)
	sock.waitCall(consult.ID, func(c rawCall) bool { return c.Answered != "" })
	if heard, _ := a.Sim.DigitsHeard(consult.ID); heard != "9" {
		t.Errorf("the consulted party heard %q, want 9", heard)
	}
}
