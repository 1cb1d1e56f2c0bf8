package salesforce_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/switchboard-cti/switchboard/salesforce"
	"github.com/switchboard-cti/switchboard/salesforce/fakeorg"
)

func firstID(t *testing.T, org *fakeorg.Org, sobject string) string {
	t.Helper()
	recs := org.Records(sobject)
	if len(recs) == 0 {
		t.Fatalf("the demo org has no %s", sobject)
	}
	return recs[0]["Id"].(string)
}

// The reference's Task rules, checked three ways with the same error code:
// the fake org refuses the raw record, the client refuses the Task before
// sending, and Conform repairs it so that the org takes it.
func TestTaskRulesAreTheSameInTheClientTheFakeOrgAndConform(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	account, lead, campaign := firstID(t, e.org, "Account"), firstID(t, e.org, "Lead"), firstID(t, e.org, "Campaign")
	emoji := strings.Repeat("\U0001F600", 10)
	tests := []struct {
		name      string
		task      salesforce.Task
		wantCode  string
		wantField string
		check     func(t *testing.T, got salesforce.Task)
	}{
		{name: "an Account in WhoId with a WhatId", task: salesforce.Task{Subject: "Call", WhoID: account, WhatID: campaign},
			wantCode: "FIELD_INTEGRITY_EXCEPTION", wantField: "WhoId",
			check: func(t *testing.T, got salesforce.Task) {
				if got.WhoID != "" || !strings.Contains(got.Description, account) {
					t.Errorf("WhoId %q, Description %q: want the Account unlinked and named", got.WhoID, got.Description)
				}
			}},
		{name: "a Lead in WhoId with a WhatId", task: salesforce.Task{Subject: "Call", WhoID: lead, WhatID: account, Names: map[string]string{account: "Account Acme"}},
			wantCode: "FIELD_INTEGRITY_EXCEPTION", wantField: "WhatId",
			check: func(t *testing.T, got salesforce.Task) {
				if got.WhoID != lead || got.WhatID != "" || !strings.Contains(got.Description, "Account Acme ("+account+")") {
					t.Errorf("Who %q What %q Description %q: want the Lead kept, the Account named in the Description", got.WhoID, got.WhatID, got.Description)
				}
			}},
		{name: "a Description that fits in code points but not in UTF-16 units", task: salesforce.Task{Subject: "Call", Description: strings.Repeat("a", 31990) + emoji},
			wantCode: "STRING_TOO_LONG", wantField: "Description",
			check: func(t *testing.T, got salesforce.Task) {
				if n := salesforce.UTF16Len(got.Description); n > 32000 || n < 31990 {
					t.Errorf("Description is %d UTF-16 units, want at most 32,000 and the notes kept", n)
				}
			}},
		{name: "a Subject of 254 letters and an emoji", task: salesforce.Task{Subject: strings.Repeat("s", 254) + "\U0001F600"},
			wantCode: "STRING_TOO_LONG", wantField: "Subject",
			check: func(t *testing.T, got salesforce.Task) {
				if got.Subject != strings.Repeat("s", 254) {
					t.Errorf("Subject cut to %d units, want the 254 letters (never half an emoji)", salesforce.UTF16Len(got.Subject))
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := map[string]any{"Subject": tc.task.Subject, "Status": "Completed"}
			if tc.task.Description != "" {
				raw["Description"] = tc.task.Description
			}
			if tc.task.WhoID != "" {
				raw["WhoId"] = tc.task.WhoID
			}
			if tc.task.WhatID != "" {
				raw["WhatId"] = tc.task.WhatID
			}
			_, err := e.client.Create(ctx, "Task", raw)
			var se *salesforce.Error
			if !errors.As(err, &se) || se.ErrorCode != tc.wantCode || len(se.Fields) == 0 || se.Fields[0] != tc.wantField {
				t.Errorf("fake org: err = %v, want %s on %s", err, tc.wantCode, tc.wantField)
			}

			before := e.client.Requests()
			_, err = e.client.CreateTask(ctx, tc.task)
			if !errors.As(err, &se) || se.ErrorCode != tc.wantCode || !errors.Is(err, salesforce.ErrInvalid) {
				t.Errorf("client: err = %v, want %s before sending", err, tc.wantCode)
			}
			if n := e.client.Requests() - before; n != 0 {
				t.Errorf("client sent %d requests for a Task it refuses", n)
			}

			fixed, changes := tc.task.Conform()
			if len(changes) == 0 {
				t.Error("Conform changed nothing")
			}
			tc.check(t, fixed)
			if _, err := e.client.CreateTask(ctx, fixed); err != nil {
				t.Errorf("the conformed Task was refused: %v", err)
			}
		})
	}
}

func TestConformMovesALoneAccountToWhatID(t *testing.T) {
	got, changes := salesforce.Task{WhoID: "001000000000001AAA"}.Conform()
	if got.WhoID != "" || got.WhatID != "001000000000001AAA" || len(changes) != 1 {
		t.Errorf("Conform = who %q what %q changes %v; want the Account in WhatId", got.WhoID, got.WhatID, changes)
	}
	same, changes := salesforce.Task{WhoID: "003000000000001AAA", WhatID: "001000000000001AAA", Subject: "Call"}.Conform()
	if len(changes) != 0 || same.WhoID == "" || same.WhatID == "" {
		t.Errorf("a valid Task was changed: %+v %v", same, changes)
	}
}

func TestCollectionsAnswerEachRecordOnItsOwn(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	lead, account := firstID(t, e.org, "Lead"), firstID(t, e.org, "Account")
	res, err := e.client.CreateTasks(ctx, []salesforce.Task{{Subject: "one", CallObject: "c-1"}, {Subject: "two", WhoID: lead, WhatID: account}, {Subject: "three", CallObject: "c-3"}})
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Success || res[1].Success || !res[2].Success || res[1].Errors[0].ErrorCode != "FIELD_INTEGRITY_EXCEPTION" {
		t.Fatalf("results %+v: want the middle one refused alone", res)
	}
	up, err := e.client.UpdateTasks(ctx, []string{res[0].ID, res[2].ID}, []salesforce.Task{{CallDisposition: "Done"}, {WhoID: lead, WhatID: account}})
	if err != nil {
		t.Fatal(err)
	}
	if !up[0].Success || up[1].Success {
		t.Fatalf("update results %+v: want the first saved, the second refused", up)
	}
	found, err := e.client.FindCallTasks(ctx, []string{"c-1", "c-3", "nope"})
	if err != nil || len(found) != 2 {
		t.Fatalf("FindCallTasks = %v, %v; want c-1 and c-3", found, err)
	}
}
