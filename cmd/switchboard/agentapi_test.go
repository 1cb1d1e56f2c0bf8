package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/salesforce"
)

// The agent API findings of a newcomer's test, each through the public
// HTTP path.

func TestAgentAPIFavoriteIDsArePercentDecoded(t *testing.T) {
	a := startApp(t, nil)
	token := a.signIn(t)
	count := func() int {
		var fs struct{ Favorites []adapter.Favorite }
		a.do(t, "GET", "/api/v1/favorites", token, nil, &fs)
		return len(fs.Favorites)
	}
	for _, tc := range []struct{ name, path string }{
		// What the softphone sends: encodeURIComponent("+14155550123").
		{"an id escaped as %2B", "/api/v1/favorites/%2B14155550123"},
		{"an id with a raw +", "/api/v1/favorites/+14155550123"},
		{"an id escaped as %2b", "/api/v1/favorites/%2b14155550123"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if st := a.do(t, "POST", "/api/v1/favorites", token, `{"name":"Lucy Hall","number":"+14155550123"}`, nil); st != http.StatusCreated {
				t.Fatalf("add: %d", st)
			}
			if st := a.do(t, "DELETE", tc.path, token, nil, nil); st != http.StatusNoContent {
				t.Fatalf("DELETE %s: %d, want 204", tc.path, st)
			}
			if n := count(); n != 0 {
				t.Fatalf("%d favorites left after the delete", n)
			}
		})
	}
	t.Run("an id with an escaped slash", func(t *testing.T) {
		if st := a.do(t, "POST", "/api/v1/favorites", token, `{"id":"team/sales","name":"Sales","number":"+14155550124"}`, nil); st != http.StatusCreated {
			t.Fatalf("add: %d", st)
		}
		if st := a.do(t, "DELETE", "/api/v1/favorites/team%2Fsales", token, nil, nil); st != http.StatusNoContent {
			t.Fatalf("DELETE team%%2Fsales: %d, want 204", st)
		}
	})
	t.Run("an unknown escaped id is a JSON 404", func(t *testing.T) {
		var e struct {
			Error struct{ Code, Message string }
		}
		if st := a.do(t, "DELETE", "/api/v1/favorites/%2B19995550000", token, nil, &e); st != http.StatusNotFound || e.Error.Code != "not_found" {
			t.Fatalf("got %d %+v, want 404 not_found", st, e)
		}
	})
}

func TestAgentAPISettingsPutChangesOnlyTheFieldsSent(t *testing.T) {
	a := startApp(t, nil)
	token := a.signIn(t)
	var before adapter.Settings
	a.do(t, "GET", "/api/v1/settings", token, nil, &before)
	if st := a.do(t, "PUT", "/api/v1/settings", token, `{"callSubject":"Support call","popAt":"answered"}`, nil); st != http.StatusOK {
		t.Fatalf("first PUT: %d", st)
	}
	var put, got adapter.Settings
	if st := a.do(t, "PUT", "/api/v1/settings", token, `{"tooltips":false}`, &put); st != http.StatusOK {
		t.Fatalf("partial PUT: %d", st)
	}
	a.do(t, "GET", "/api/v1/settings", token, nil, &got)
	want := before
	want.CallSubject, want.PopAt, want.Tooltips = "Support call", adapter.PopAtAnswered, false
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET after a partial PUT (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(got, put); diff != "" {
		t.Errorf("the PUT's answer is not what GET returns (-GET +PUT):\n%s", diff)
	}
	if len(got.PopOrder) == 0 {
		t.Errorf("popOrder %v, want the admin's default order", got.PopOrder)
	}

	t.Run("a chosen pop order is kept, and null goes back to the default", func(t *testing.T) {
		a.do(t, "PUT", "/api/v1/settings", token, `{"popOrder":["dnis"]}`, nil)
		a.do(t, "PUT", "/api/v1/settings", token, `{"logs":true}`, &put)
		if diff := cmp.Diff([]salesforce.PopRule{"dnis"}, put.PopOrder); diff != "" {
			t.Errorf("pop order after a PUT without it (-want +got):\n%s", diff)
		}
		a.do(t, "PUT", "/api/v1/settings", token, `{"popOrder":null}`, &put)
		if diff := cmp.Diff(before.PopOrder, put.PopOrder); diff != "" {
			t.Errorf("pop order after null (-want +got):\n%s", diff)
		}
	})
	t.Run("a whole body, as the softphone sends it, still works", func(t *testing.T) {
		whole := got
		whole.InboundCallNotes = false
		if st := a.do(t, "PUT", "/api/v1/settings", token, whole, &put); st != http.StatusOK || put.InboundCallNotes {
			t.Fatalf("whole PUT: %d %+v", st, put)
		}
	})
	t.Run("a bad partial body changes nothing", func(t *testing.T) {
		a.do(t, "GET", "/api/v1/settings", token, nil, &before)
		var e struct {
			Error struct{ Code, Message string }
		}
		if st := a.do(t, "PUT", "/api/v1/settings", token, `{"tooltips":true,"popAt":"whenever"}`, &e); st != http.StatusBadRequest || e.Error.Code != "invalid_input" {
			t.Fatalf("got %d %+v, want 400 invalid_input", st, e)
		}
		a.do(t, "GET", "/api/v1/settings", token, nil, &got)
		if diff := cmp.Diff(before, got); diff != "" {
			t.Errorf("settings changed by a refused PUT (-want +got):\n%s", diff)
		}
	})
}

func TestAgentAPIAndHealthAnswerHEADWhereverGETIsServed(t *testing.T) {
	a := startApp(t, nil) // demo mode: / is the demo page
	token := a.signIn(t)
	for _, tc := range []struct {
		name, path string
		token      bool
	}{
		{"liveness", "/healthz", false},
		{"readiness", "/readyz", false},
		{"the demo page", "/", false},
		{"the softphone", "/softphone/", false},
		{"the call center definition", "/callcenter-definition.xml", false},
		{"the agent's state", "/api/v1/state", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			get := mustRequest(t, "GET", a.URL+tc.path, nil)
			head := mustRequest(t, "HEAD", a.URL+tc.path, nil)
			if tc.token {
				get.Header.Set("Authorization", "Bearer "+token)
				head.Header.Set("Authorization", "Bearer "+token)
			}
			gr, err := a.http.Do(get)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, gr.Body)
			gr.Body.Close()
			hr, err := a.http.Do(head)
			if err != nil {
				t.Fatal(err)
			}
			hb, _ := io.ReadAll(hr.Body)
			hr.Body.Close()
			if hr.StatusCode != gr.StatusCode || gr.StatusCode != http.StatusOK {
				t.Fatalf("HEAD %d, GET %d; want 200 both", hr.StatusCode, gr.StatusCode)
			}
			if len(hb) != 0 {
				t.Errorf("HEAD answered a %d-byte body", len(hb))
			}
			if hr.Header.Get("Content-Type") != gr.Header.Get("Content-Type") {
				t.Errorf("HEAD Content-Type %q, GET %q", hr.Header.Get("Content-Type"), gr.Header.Get("Content-Type"))
			}
		})
	}
	t.Run("HEAD on a POST-only path is 405 naming the methods", func(t *testing.T) {
		r := mustRequest(t, "HEAD", a.URL+"/auth/logout", nil)
		resp, err := a.http.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") == "" {
			t.Fatalf("got %d Allow %q, want 405 with Allow", resp.StatusCode, resp.Header.Get("Allow"))
		}
	})
}

func TestAgentAPIContentTypeIsReadCaseInsensitively(t *testing.T) {
	a := startApp(t, nil)
	token := a.signIn(t)
	for _, tc := range []struct {
		ct         string
		wantStatus int
	}{
		{"Application/JSON;charset=UTF-8", http.StatusOK},
		{"application/json", http.StatusOK},
		{"APPLICATION/JSON; charset=utf-8", http.StatusOK},
		{"text/plain", http.StatusBadRequest},
		{"application/jsonp", http.StatusBadRequest},
	} {
		t.Run(tc.ct, func(t *testing.T) {
			r := mustRequest(t, "PUT", a.URL+"/api/v1/settings", strings.NewReader(`{"tooltips":false}`))
			r.Header.Set("Content-Type", tc.ct)
			r.Header.Set("Authorization", "Bearer "+token)
			resp, err := a.http.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct {
				Error struct{ Code, Message string }
			}
			json.NewDecoder(resp.Body).Decode(&e)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("got %d %+v, want %d", resp.StatusCode, e, tc.wantStatus)
			}
			if tc.wantStatus == http.StatusBadRequest && (e.Error.Code != "invalid_input" || !strings.Contains(e.Error.Message, "Content-Type")) {
				t.Errorf("error %+v, want invalid_input naming Content-Type", e)
			}
		})
	}
}

func TestAgentAPIWrongJSONTypesAreNamedInJSONWords(t *testing.T) {
	a := startApp(t, nil)
	token := a.signIn(t)
	for _, tc := range []struct{ name, method, path, body, want string }{
		{"an array for a call", "POST", "/api/v1/calls", `[1,2]`, "body: must be a JSON object, not an array"},
		{"a string for the pop order", "PUT", "/api/v1/settings", `{"popOrder":"nonsense"}`, "body: popOrder must be an array, not a string"},
		{"numbers in the pop order", "PUT", "/api/v1/settings", `{"popOrder":[1]}`, "body: popOrder must be an array of strings, not an array with a number"},
		{"a number for a record id", "POST", "/api/v1/calls", `{"number":"1002","record":{"recordId":5}}`, "body: record.recordId must be a string, not a number"},
		{"a string for dnd", "PUT", "/api/v1/device/dnd", `{"on":"yes"}`, "body: on must be a boolean, not a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e struct {
				Error struct{ Code, Message string }
			}
			if st := a.do(t, tc.method, tc.path, token, tc.body, &e); st != http.StatusBadRequest || e.Error.Code != "invalid_input" {
				t.Fatalf("got %d %+v, want 400 invalid_input", st, e)
			}
			if !strings.HasPrefix(e.Error.Message, tc.want) {
				t.Errorf("message %q, want it to start %q", e.Error.Message, tc.want)
			}
			for _, goName := range []string{"httpapi.", "adapter.", "salesforce.", "[]", "int", "bool "} {
				if strings.Contains(e.Error.Message, goName) {
					t.Errorf("message %q names a Go type (%q)", e.Error.Message, goName)
				}
			}
		})
	}
}

func TestAgentAPIClickToDialOnACustomObjectNeedsItsObjectType(t *testing.T) {
	a := startApp(t, nil)
	token := a.signIn(t)
	var e struct {
		Error struct{ Code, Message string }
	}
	st := a.do(t, "POST", "/api/v1/calls", token, `{"number":"1002","record":{"recordId":"a0BDm000000000AIAQ"}}`, &e)
	if st != http.StatusBadRequest || e.Error.Code != "invalid_input" || !strings.Contains(e.Error.Message, "record.objectType") || !strings.Contains(e.Error.Message, "a0B") {
		t.Fatalf("got %d %+v, want 400 invalid_input naming record.objectType and the prefix", st, e)
	}
	var placed struct{ ID string }
	if st := a.do(t, "POST", "/api/v1/calls", token, `{"number":"1002","record":{"recordId":"a0BDm000000000AIAQ","objectType":"Invoice__c","name":"INV-1"}}`, &placed); st != http.StatusCreated || placed.ID == "" {
		t.Fatalf("with objectType: %d %+v, want 201", st, placed)
	}
}

func TestAgentAndAdminAPIsAnswerAWrongMethod405WithAllow(t *testing.T) {
	a := startApp(t, map[string]string{"SWITCHBOARD_ADMIN_TOKEN": testAdminToken})
	for _, tc := range []struct{ method, path, allow string }{
		{"PUT", "/admin/v1/dead-letters", "GET"},
		{"GET", "/admin/v1/dead-letters/x/replay", "POST"},
		{"POST", "/admin/v1/dead-letters/x", "DELETE"},
		{"DELETE", "/api/v1/settings", "PUT"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := mustRequest(t, tc.method, a.URL+tc.path, nil)
			r.Header.Set("Authorization", "Bearer "+testAdminToken)
			resp, err := a.http.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct {
				Error struct{ Code, Message string }
			}
			json.NewDecoder(resp.Body).Decode(&e)
			if resp.StatusCode != http.StatusMethodNotAllowed || e.Error.Code != "method_not_allowed" || !strings.Contains(resp.Header.Get("Allow"), tc.allow) {
				t.Fatalf("got %d %+v Allow %q, want 405 method_not_allowed with Allow naming %s", resp.StatusCode, e, resp.Header.Get("Allow"), tc.allow)
			}
		})
	}
	t.Run("the right method still needs the admin token", func(t *testing.T) {
		var e struct{ Error struct{ Code string } }
		if st := a.do(t, "GET", "/admin/v1/dead-letters", "nope", nil, &e); st != http.StatusUnauthorized || e.Error.Code != "unauthorized" {
			t.Fatalf("got %d %+v, want 401", st, e)
		}
	})
}

func TestAgentAPIAndStaticNotFoundAnswerJSON(t *testing.T) {
	a := startApp(t, nil)
	for _, tc := range []struct {
		name, path string
		wantStatus int
		wantCode   string
	}{
		{"a missing softphone file", "/softphone/missing.js", http.StatusNotFound, "not_found"},
		{"a missing demo file", "/demo/missing.css", http.StatusNotFound, "not_found"},
		{"the socket without an upgrade", "/api/v1/ws", http.StatusUpgradeRequired, "upgrade_required"},
		{"an unknown API path", "/api/v2/nothing", http.StatusNotFound, "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := a.http.Get(a.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct {
				Error struct{ Code, Message string }
			}
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatalf("%d answer is not JSON (%s): %v", resp.StatusCode, resp.Header.Get("Content-Type"), err)
			}
			if resp.StatusCode != tc.wantStatus || e.Error.Code != tc.wantCode || e.Error.Message == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("got %d %s %+v, want %d %s", resp.StatusCode, resp.Header.Get("Content-Type"), e, tc.wantStatus, tc.wantCode)
			}
		})
	}
	for _, p := range []string{"/softphone/", "/softphone/index.html", "/softphone/js/actions.js", "/demo/"} {
		resp, err := a.http.Get(a.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d, want 200", p, resp.StatusCode)
		}
	}
}

// TestCallNotesUpToSalesforcesLimitAreAccepted: the agent API takes notes
// up to the Description's 32,000 UTF-16 units however they are written
// (3-byte characters, characters outside the BMP that count 2 units,
// \uXXXX escapes), and refuses one unit more with 413 too_large (the
// body cap was 64 KiB, which refused 32,000 × "€": 96,000 bytes).
func TestCallNotesUpToSalesforcesLimitAreAccepted(t *testing.T) {
	a := startApp(t, nil)
	token := a.signIn(t)
	sock := a.connect(t, token)
	id := a.place(t, "+14155550123", "1001")
	sock.waitFor("ringing", ringing(id))
	if st := a.do(t, "POST", "/api/v1/calls/"+id+"/answer", token, nil, nil); st != http.StatusNoContent {
		t.Fatalf("answer: %d", st)
	}
	escaped := strings.Repeat(`\u00e9`, adapter.MaxNotes)
	for _, tc := range []struct {
		name, body string
		want       int
	}{
		{"32,000 × €", fmt.Sprintf(`{"notes":%q}`, strings.Repeat("€", adapter.MaxNotes)), http.StatusOK},
		{"16,000 emoji (32,000 units)", fmt.Sprintf(`{"notes":%q}`, strings.Repeat("😀", adapter.MaxNotes/2)), http.StatusOK},
		{"32,000 escaped characters", `{"notes":"` + escaped + `"}`, http.StatusOK},
		{"32,001 characters", fmt.Sprintf(`{"notes":%q}`, strings.Repeat("a", adapter.MaxNotes+1)), http.StatusRequestEntityTooLarge},
		{"16,001 emoji (32,002 units)", fmt.Sprintf(`{"notes":%q}`, strings.Repeat("😀", adapter.MaxNotes/2+1)), http.StatusRequestEntityTooLarge},
	} {
		var e struct {
			Error struct{ Code, Message string }
		}
		if st := a.do(t, "PUT", "/api/v1/calls/"+id+"/log", token, tc.body, &e); st != tc.want {
			t.Errorf("%s: %d %+v, want %d", tc.name, st, e, tc.want)
		} else if st != http.StatusOK && (e.Error.Code != "too_large" || !strings.Contains(e.Error.Message, "notes")) {
			t.Errorf("%s: error %+v, want too_large naming notes", tc.name, e)
		}
	}
}
