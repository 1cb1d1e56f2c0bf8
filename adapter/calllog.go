package adapter

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-cti/switchboard/salesforce"
)

// buildTask turns a finished call into the Salesforce Task that logs it.
func (s *Service) buildTask(rec CallRecord, ownerID string) salesforce.Task {
	subject := rec.Log.Subject
	if subject == "" {
		subject = "Call"
	}
	subject = fmt.Sprintf("%s: %s %s", subject, rec.CallType(), taskNumber(rec))
	return salesforce.Task{
		Subject:               truncate(subject, 255),
		Description:           truncate(describe(rec), MaxNotes),
		Status:                "Completed",
		Priority:              "Normal",
		ActivityDate:          rec.Started.UTC().Format(time.DateOnly),
		WhoID:                 rec.Log.WhoID,
		WhatID:                rec.Log.WhatID,
		OwnerID:               ownerID,
		TaskSubtype:           "Call",
		Type:                  "Call",
		CallType:              rec.CallType(),
		CallDurationInSeconds: int(rec.Duration() / time.Second),
		CallObject:            truncate(rec.ID, 255),
		CallDisposition:       truncate(rec.Log.Disposition, 255),
		Names:                 matchNames(rec),
	}
}

// matchNames names the records the call log links to, so a record the
// Task rules unlink stays named in the Description (salesforce.Task.Conform).
func matchNames(rec CallRecord) map[string]string {
	var out map[string]string
	for _, m := range rec.Matches {
		if (m.ID == rec.Log.WhoID || m.ID == rec.Log.WhatID) && m.Name != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[m.ID] = m.Type + " " + m.Name
		}
	}
	if p := rec.Pop; p != nil {
		for _, m := range p.Matches {
			if (m.ID == rec.Log.WhoID || m.ID == rec.Log.WhatID) && m.Name != "" {
				if out == nil {
					out = map[string]string{}
				}
				out[m.ID] = m.Type + " " + m.Name
			}
		}
	}
	return out
}

// describe is the Task Description: the agent's notes, the quick notes, and
// what the switch told about the call.
func describe(rec CallRecord) string {
	var b strings.Builder
	if rec.Log.Notes != "" {
		b.WriteString(rec.Log.Notes)
		b.WriteString("\n")
	}
	for _, q := range rec.Log.QuickNotes {
		b.WriteString("- " + q + "\n")
	}
	var facts []string
	add := func(k, v string) {
		if v != "" {
			facts = append(facts, k+": "+v)
		}
	}
	add("Number", taskNumber(rec))
	add("DNIS", rec.DNIS)
	add("Collected digits", rec.Digits)
	add("Queue", rec.Queue)
	add("Account code", rec.AccountCode)
	add("Classification code", rec.ClassificationCode)
	if len(facts) > 0 {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(strings.Join(facts, "\n"))
	}
	return b.String()
}

// WithheldText is what a Task says instead of the number of a caller who
// withheld it.
const WithheldText = "Number withheld by the caller"

// taskNumber is the number a Task names: the other party's, or that the
// caller withheld it.
func taskNumber(rec CallRecord) string {
	if rec.Withheld {
		return WithheldText
	}
	return rec.Number
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

// LogInput is what the agent writes about a call.
type LogInput struct {
	Subject     *string  `json:"subject"`
	Notes       *string  `json:"notes"`
	QuickNotes  []string `json:"quickNotes"`
	WhoID       *string  `json:"whoId"`
	WhatID      *string  `json:"whatId"`
	Disposition *string  `json:"disposition"`
}

func (in LogInput) validate() error {
	if in.Notes != nil && salesforce.UTF16Len(*in.Notes) > MaxNotes {
		return fmt.Errorf("notes: at most %d characters: %w", MaxNotes, ErrTooLarge)
	}
	if in.Subject != nil && salesforce.UTF16Len(*in.Subject) > MaxCallSubject {
		return fmt.Errorf("subject: at most %d characters: %w", MaxCallSubject, ErrTooLarge)
	}
	if len(in.QuickNotes) > MaxQuickNotes {
		return fmt.Errorf("quickNotes: at most %d: %w", MaxQuickNotes, ErrTooLarge)
	}
	for _, id := range []*string{in.WhoID, in.WhatID} {
		if id != nil && *id != "" && !isSalesforceID(*id) {
			return fmt.Errorf("whoId/whatId: %q is not a Salesforce record Id: %w", clip(*id, 20), ErrInvalid)
		}
	}
	if in.Disposition != nil && salesforce.UTF16Len(*in.Disposition) > 255 {
		return fmt.Errorf("disposition: at most 255 characters: %w", ErrTooLarge)
	}
	return nil
}

func isSalesforceID(s string) bool {
	if len(s) != 15 && len(s) != 18 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// UpdateLog changes the agent's notes on a call (during or after it). If the
// Task was already written it is updated.
func (s *Service) UpdateLog(ctx context.Context, a Agent, callID string, in LogInput) (CallRecord, error) {
	if err := in.validate(); err != nil {
		return CallRecord{}, err
	}
	ext, err := s.device(a)
	if err != nil {
		return CallRecord{}, err
	}
	if err := checkCallID(callID); err != nil {
		return CallRecord{}, err
	}
	rec, err := s.Store.UpdateCall(ctx, ext, callID, func(rec *CallRecord, exists bool) (CallChange, error) {
		if !exists {
			return CallKeep, fmt.Errorf("call %q: %w", clip(callID, 40), ErrNotFound)
		}
		if in.Subject != nil {
			rec.Log.Subject = *in.Subject
		}
		if in.Notes != nil {
			rec.Log.Notes = *in.Notes
		}
		if in.QuickNotes != nil {
			rec.Log.QuickNotes = in.QuickNotes
		}
		if in.WhoID != nil {
			rec.Log.WhoID = *in.WhoID
		}
		if in.WhatID != nil {
			rec.Log.WhatID = *in.WhatID
		}
		if in.Disposition != nil {
			rec.Log.Disposition = *in.Disposition
		}
		return CallPut, nil
	})
	if err != nil {
		return CallRecord{}, err
	}
	if err := s.Bus.Publish(ctx, a.Extension, AgentEvent{Type: EventCall, Call: &rec}); err != nil {
		return CallRecord{}, err
	}
	return rec, nil
}

// WrapUp ends post-call work on a call: the call log is saved (the Task is
// updated with the final notes) and the call leaves the softphone. action
// is "save" (Save & Exit) or a configured wrap-up action.
func (s *Service) WrapUp(ctx context.Context, a Agent, callID, action string) (CallRecord, error) {
	if action == "" {
		action = "save"
	}
	if len(action) > 80 {
		return CallRecord{}, fmt.Errorf("action: at most 80 characters: %w", ErrInvalid)
	}
	ext, err := s.device(a)
	if err != nil {
		return CallRecord{}, err
	}
	if err := checkCallID(callID); err != nil {
		return CallRecord{}, err
	}
	rec, err := s.Store.UpdateCall(ctx, ext, callID, func(rec *CallRecord, exists bool) (CallChange, error) {
		if !exists {
			return CallKeep, fmt.Errorf("call %q: %w", clip(callID, 40), ErrNotFound)
		}
		if !rec.PostCall {
			return CallKeep, fmt.Errorf("call %s: wrap-up is only possible after the call ended: %w", clip(callID, 40), ErrConflict)
		}
		if action != "save" && rec.Log.Disposition == "" {
			rec.Log.Disposition = action
		}
		rec.PostCall = false
		return CallDelete, nil
	})
	if err != nil {
		return CallRecord{}, err
	}
	job := TaskJob{Key: rec.ID + "/" + rec.Extension, UserID: a.UserID, Extension: rec.Extension,
		CallID: rec.ID, Task: s.buildTask(rec, a.UserID), TaskID: rec.TaskID, Created: s.Now(), AsUsername: a.Username}
	s.enqueue(ctx, job)
	if err := s.Bus.Publish(ctx, rec.Extension, AgentEvent{Type: EventCallEnded, Call: &rec}); err != nil {
		return CallRecord{}, err
	}
	return rec, nil
}

// writeFailReason names why a Task write failed, for the log.
func writeFailReason(err error) string {
	switch {
	case errors.Is(err, salesforce.ErrInvalid):
		return "rejected"
	case errors.Is(err, salesforce.ErrLimitExceeded):
		return "api_limit"
	case errors.Is(err, salesforce.ErrUnauthorized):
		return "unauthorized"
	case errors.Is(err, salesforce.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "other"
}
