package salesforce_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cti/switchboard/salesforce"
	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
)

func TestCreateTaskWritesACallLog(t *testing.T) {
	e := newEnv(t, nil)
	id := ids(t, e)
	agent := id["Alex Agent"]
	taskID, err := e.client.CreateTask(context.Background(), salesforce.Task{
		Subject: "Inbound call from Lucy Hall", Description: "Router still down; sent RMA.",
		ActivityDate: "2026-05-04", WhoID: id["Lucy Hall"], WhatID: id["00001001"], OwnerID: agent,
		CallType: "Inbound", CallDurationInSeconds: 312, CallObject: "pbx-call-42", CallDisposition: "Resolved",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(taskID, "00T") || len(taskID) != 18 {
		t.Errorf("Task id %q, want an 18-char 00T id", taskID)
	}
	got := e.org.Records("Task")[0]
	want := map[string]any{
		"Subject": "Inbound call from Lucy Hall", "Description": "Router still down; sent RMA.",
		"Status": "Completed", "Priority": "Normal", "ActivityDate": "2026-05-04",
		"WhoId": id["Lucy Hall"], "WhatId": id["00001001"], "OwnerId": agent,
		"TaskSubtype": "Call", "Type": "Call", "CallType": "Inbound", "CallDurationInSeconds": int64(312),
		"CallObject": "pbx-call-42", "CallDisposition": "Resolved",
	}
	for k, v := range want {
		if diff := cmp.Diff(v, got[k]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}
}

func TestAPersonAccountGivenAsWhoIsMovedToWhat(t *testing.T) {
	e := newEnv(t, nil)
	maria := ids(t, e)["Maria Gonzalez"]
	if _, err := e.client.CreateTask(context.Background(), salesforce.Task{Subject: "Call", WhoID: maria}); err != nil {
		t.Fatal(err)
	}
	got := e.org.Records("Task")[0]
	if got["WhatId"] != maria || got["WhoId"] != nil {
		t.Errorf("WhoId %v, WhatId %v; want the Account in WhatId", got["WhoId"], got["WhatId"])
	}
}

func TestTaskChecksHappenBeforeSending(t *testing.T) {
	tests := []struct {
		name      string
		task      salesforce.Task
		wantCode  string
		wantField string
	}{
		{"a subject over 255 characters", salesforce.Task{Subject: strings.Repeat("é", 256)}, "STRING_TOO_LONG", "Subject"},
		{"notes over 32,000 characters", salesforce.Task{Description: strings.Repeat("x", 32001)}, "STRING_TOO_LONG", "Description"},
		{"a call id over 255 characters", salesforce.Task{CallObject: strings.Repeat("x", 256)}, "STRING_TOO_LONG", "CallObject"},
		{"a disposition over 255 characters", salesforce.Task{CallDisposition: strings.Repeat("x", 256)}, "STRING_TOO_LONG", "CallDisposition"},
		{"a call type outside the picklist", salesforce.Task{CallType: "Sideways"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "CallType"},
		{"a who id that is not an id", salesforce.Task{WhoID: "Lucy"}, "MALFORMED_ID", "WhoId"},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is refused without a request", func(t *testing.T) {
			e := newEnv(t, nil)
			_, err := e.client.CreateTask(context.Background(), tc.task)
			var se *salesforce.Error
			if !errors.Is(err, salesforce.ErrInvalid) || !errors.As(err, &se) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if se.ErrorCode != tc.wantCode || !cmp.Equal(se.Fields, []string{tc.wantField}) {
				t.Errorf("got %s %v, want %s [%s]", se.ErrorCode, se.Fields, tc.wantCode, tc.wantField)
			}
			if n := e.org.Requests(); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}

func TestTheOrgEnforcesWhatTheClientChecks(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	tests := []struct {
		name     string
		fields   map[string]any
		wantCode string
	}{
		{"a long subject", map[string]any{"Subject": strings.Repeat("x", 256)}, "STRING_TOO_LONG"},
		{"a bad call type", map[string]any{"CallType": "Sideways"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"},
		{"an unknown field", map[string]any{"Mood__c": "happy"}, "INVALID_FIELD"},
		{"a malformed id", map[string]any{"WhoId": "003notanid"}, "MALFORMED_ID"},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is refused by the org", func(t *testing.T) {
			_, err := e.client.Create(ctx, "Task", tc.fields)
			var se *salesforce.Error
			if !errors.Is(err, salesforce.ErrInvalid) || !errors.As(err, &se) || se.ErrorCode != tc.wantCode {
				t.Fatalf("err = %v, want %s", err, tc.wantCode)
			}
		})
	}
}

func TestUpdateTaskSendsOnlyUpdatableFields(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	id, err := e.client.CreateTask(ctx, salesforce.Task{Subject: "Call", CallType: "Outbound", CallObject: "c-1"})
	if err != nil {
		t.Fatal(err)
	}
	err = e.client.UpdateTask(ctx, id, salesforce.Task{Description: "Wrap-up notes", CallDisposition: "Callback", TaskSubtype: "Call", CallDurationInSeconds: 60})
	if err != nil {
		t.Fatalf("UpdateTask: %v (TaskSubtype must not be sent)", err)
	}
	got := e.org.Records("Task")[0]
	if got["Description"] != "Wrap-up notes" || got["CallDisposition"] != "Callback" || got["Subject"] != "Call" || got["CallDurationInSeconds"] != int64(60) {
		t.Errorf("after update: %v", got)
	}
	if err := e.client.UpdateTask(ctx, "00TDm0000000zzz", salesforce.Task{Description: "x"}); !errors.Is(err, salesforce.ErrNotFound) {
		t.Errorf("updating a missing Task: err = %v, want ErrNotFound", err)
	}
}

func TestCreateTasksBatchesByTwoHundred(t *testing.T) {
	e := newEnv(t, nil)
	ts := make([]salesforce.Task, 450)
	for i := range ts {
		ts[i] = salesforce.Task{Subject: "Call", CallType: "Inbound"}
	}
	ts[7].Subject = strings.Repeat("x", 300)
	res, err := e.client.CreateTasks(context.Background(), ts)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.org.Requests(); got != 3 {
		t.Errorf("%d requests for 449 valid Tasks, want 3", got)
	}
	if len(res) != 450 || res[7].Success || res[7].Errors[0].ErrorCode != "STRING_TOO_LONG" {
		t.Fatalf("result 7 = %+v, want a local STRING_TOO_LONG", res[7])
	}
	ok := 0
	for _, r := range res {
		if r.Success && strings.HasPrefix(r.ID, "00T") {
			ok++
		}
	}
	if ok != 449 || len(e.org.Records("Task")) != 449 {
		t.Errorf("%d saved, org holds %d; want 449", ok, len(e.org.Records("Task")))
	}
}

func TestCreateTasksReportsPerRecordErrorsFromTheOrg(t *testing.T) {
	e := newEnv(t, nil)
	res, err := e.client.CreateTasks(context.Background(), []salesforce.Task{
		{Subject: "ok"}, {Subject: "missing who", WhoID: "003Dm0000000zzz"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Success || res[1].Success || !errors.Is(&res[1].Errors[0], salesforce.ErrInvalid) {
		t.Errorf("results = %+v", res)
	}
}

func TestATaskWrittenAsTheAgentIsCreatedByTheAgent(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.client.CreateTask(context.Background(), salesforce.Task{Subject: "Call", AsUsername: fakeorg.AgentUsername}); err != nil {
		t.Fatal(err)
	}
	got := e.org.Records("Task")[0]
	agent := ids(t, e)["Alex Agent"]
	if got["CreatedById"] != agent || got["OwnerId"] != agent {
		t.Errorf("CreatedById %v OwnerId %v, want the agent %s", got["CreatedById"], got["OwnerId"], agent)
	}
}

func TestUserReadsTheExtension(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	alex := ids(t, e)["Alex Agent"]
	want := salesforce.User{ID: alex, Username: fakeorg.AgentUsername, Name: "Alex Agent", Email: fakeorg.AgentUsername, Extension: "1001"}
	for _, tc := range []struct {
		name string
		get  func() (salesforce.User, error)
	}{
		{"by id", func() (salesforce.User, error) { return e.client.User(ctx, alex) }},
		{"by 15-character id", func() (salesforce.User, error) { return e.client.User(ctx, alex[:15]) }},
		{"by username", func() (salesforce.User, error) { return e.client.UserByUsername(ctx, fakeorg.AgentUsername) }},
		{"by extension", func() (salesforce.User, error) { return e.client.UserByExtension(ctx, "1001") }},
	} {
		t.Run("a user is found "+tc.name, func(t *testing.T) {
			got, err := tc.get()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := e.client.UserByExtension(ctx, "9999"); !errors.Is(err, salesforce.ErrNotFound) {
		t.Errorf("unknown extension: err = %v, want ErrNotFound", err)
	}
	if _, err := e.client.User(ctx, "alex"); !errors.Is(err, salesforce.ErrInvalid) {
		t.Errorf("malformed id: err = %v, want ErrInvalid", err)
	}
}

func TestFindTaskByCallObject(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	id, err := e.client.CreateTask(ctx, salesforce.Task{Subject: "Call", CallObject: "pbx-7"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.client.FindTaskByCallObject(ctx, "pbx-7"); err != nil || got != id {
		t.Errorf("FindTaskByCallObject = %q, %v; want %q", got, err, id)
	}
	if _, err := e.client.FindTaskByCallObject(ctx, "pbx-8"); !errors.Is(err, salesforce.ErrNotFound) {
		t.Errorf("unknown call: err = %v, want ErrNotFound", err)
	}
}
