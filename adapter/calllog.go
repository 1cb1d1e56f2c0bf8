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
	}
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

// enqueue hands a Task write to the durable outbox. When the store is down
// the job is kept in memory and retried, so no call log is lost.
func (s *Service) enqueue(ctx context.Context, job TaskJob) {
	if err := s.Store.EnqueueTask(ctx, job); err != nil {
		s.Log.Warn().Err(err).Str("call", job.CallID).Msg("outbox unavailable; keeping call log in memory")
		s.mu.Lock()
		s.pending = append(s.pending, job)
		s.mu.Unlock()
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// OutboxInterval is how often the outbox is polled for retries and for jobs
// abandoned by a stopped instance.
var OutboxInterval = time.Second

// runOutbox writes queued Tasks to Salesforce until ctx ends.
func (s *Service) runOutbox(ctx context.Context) {
	tick := time.NewTicker(OutboxInterval)
	defer tick.Stop()
	for {
		s.FlushOutbox(ctx)
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-tick.C:
		}
	}
}

// FlushOutbox writes every Task write that is due, once.
func (s *Service) FlushOutbox(ctx context.Context) {
	s.mu.Lock()
	held := s.pending
	s.pending = nil
	s.mu.Unlock()
	for i, job := range held {
		if err := s.Store.EnqueueTask(ctx, job); err != nil {
			s.mu.Lock()
			s.pending = append(s.pending, held[i:]...)
			s.mu.Unlock()
			break
		}
	}
	for ctx.Err() == nil {
		jobs, err := s.Store.NextTasks(ctx, s.Instance, 20, time.Minute)
		if err != nil {
			if ctx.Err() == nil {
				s.Log.Warn().Err(err).Msg("outbox not readable")
			}
			return
		}
		if len(jobs) == 0 {
			return
		}
		for _, job := range jobs {
			if ctx.Err() != nil {
				break // not started: left in the outbox for the next writer
			}
			// A write under way finishes even when ctx ends (shutdown):
			// cutting it could leave a Task created with its answer lost.
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), taskWriteTimeout)
			s.writeTask(wctx, job)
			cancel()
		}
	}
}

// taskWriteTimeout bounds one Task write (its lookups and retries).
const taskWriteTimeout = 30 * time.Second

// writeTask performs one outbox job. Jobs of one call log share a key: the
// first creates the Task, later ones update it, and an older version never
// overwrites a newer one (a retried first write after the final one).
func (s *Service) writeTask(ctx context.Context, job TaskJob) {
	// One writer per call log at a time (across instances), so a later
	// version cannot create a second Task while the first is in flight.
	lock, owner := "taskwrite:"+job.Key, s.Instance+":"+job.ID
	if ok, err := s.Store.Claim(ctx, lock, owner, 30*time.Second); err != nil || !ok {
		// Not a Salesforce failure: another writer holds the call log, or
		// the store is down (logged where that is noticed).
		s.Log.Debug().Err(err).Str("call", job.CallID).Msg("call log busy; retried later")
		if rerr := s.Store.RetryTask(ctx, job); rerr != nil {
			s.Log.Warn().Err(rerr).Str("call", job.CallID).Msg("outbox retry not stored")
		}
		return
	}
	defer s.Store.Release(context.WithoutCancel(ctx), lock, owner)
	id, version := job.TaskID, int64(0)
	if b, ok, err := s.Store.Cache(ctx, "task:"+job.Key); err == nil && ok {
		id, version = parseTaskMark(string(b))
	}
	if version > job.Created.UnixNano() {
		_ = s.Store.FinishTask(ctx, job) // superseded
		return
	}
	job.Task.AsUsername = job.AsUsername
	if id == "" && job.Attempts > 0 && job.Task.OwnerID != "" {
		// An earlier create may have landed with its answer lost (dropped
		// connection, timeout): look before creating again.
		if found, err := s.CRM.FindCallTask(ctx, job.Task.CallObject, job.Task.OwnerID); err == nil {
			id = found
		}
	}
	var err error
	if id == "" {
		id, err = s.CRM.CreateTask(ctx, job.Task)
	} else {
		err = s.CRM.UpdateTask(ctx, id, updatable(job.Task))
	}
	if err != nil {
		job.Attempts++
		if errors.Is(err, salesforce.ErrInvalid) || job.Attempts >= 20 {
			// Salesforce will never take it as it is: keep it out of the
			// way but visible to operators.
			s.Log.Error().Err(err).Str("call", job.CallID).Int("attempts", job.Attempts).Str("reason", writeFailReason(err)).Msg("call log rejected by Salesforce; dropped from outbox")
			_ = s.Store.FinishTask(ctx, job)
			return
		}
		s.Log.Warn().Err(err).Str("call", job.CallID).Int("attempts", job.Attempts).Str("reason", writeFailReason(err)).Msg("call log write to Salesforce failed; will retry")
		if rerr := s.Store.RetryTask(ctx, job); rerr != nil {
			s.Log.Warn().Err(rerr).Str("call", job.CallID).Msg("outbox retry not stored")
		}
		s.observe(job, err)
		return
	}
	_ = s.Store.SetCache(ctx, "task:"+job.Key, []byte(fmt.Sprintf("%s|%d", id, job.Created.UnixNano())), 7*24*time.Hour)
	if err := s.Store.FinishTask(ctx, job); err != nil {
		s.Log.Warn().Err(err).Str("call", job.CallID).Msg("outbox job not finished")
	}
	_ = s.Store.SetCallTask(ctx, job.Extension, job.CallID, id)
	_ = s.Bus.Publish(ctx, job.Extension, AgentEvent{Type: EventTask, CallID: job.CallID, TaskID: id})
	s.observe(job, nil)
}

// ObserveOutbox sets a function called after every attempt to write a call
// log (err nil on success): for metrics, and for tests to wait on.
func (s *Service) ObserveOutbox(f func(job TaskJob, err error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outboxObserver = f
}

func (s *Service) observe(job TaskJob, err error) {
	s.mu.Lock()
	f := s.outboxObserver
	s.mu.Unlock()
	if f != nil {
		f(job, err)
	}
}

func parseTaskMark(s string) (string, int64) {
	id, v, _ := strings.Cut(s, "|")
	var n int64
	_, _ = fmt.Sscan(v, &n)
	return id, n
}

// updatable drops the create-only fields from a Task update.
func updatable(t salesforce.Task) salesforce.Task {
	t.TaskSubtype = ""
	return t
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
	if in.Notes != nil && utf8.RuneCountInString(*in.Notes) > MaxNotes {
		return fmt.Errorf("notes: at most %d characters: %w", MaxNotes, ErrTooLarge)
	}
	if in.Subject != nil && utf8.RuneCountInString(*in.Subject) > MaxCallSubject {
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
	if in.Disposition != nil && utf8.RuneCountInString(*in.Disposition) > 255 {
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
