package adapter

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-cti/switchboard/salesforce"
)

// The call log outbox: Task writes wait in the Store's durable outbox and
// go to Salesforce in sObject Collections requests (up to 200 Tasks each,
// a few requests in flight), each record's result handled on its own.
//
// When a call's log is written (README, "Call logs"):
//   - a call that leaves no post-call work (unanswered, Auto Save Notes on)
//     is written when it ends;
//   - a call in post-call is written when the agent wraps up;
//   - a call left in post-call is written by the server WrapUpGrace after
//     it ended, with the notes as they are then (no softphone needed); a
//     later wrap-up updates that Task.
//
// So the common case is one write per call. A write Salesforce refuses is
// repaired once and retried; refused again it becomes a dead letter. A
// transient failure is retried with exponential back-off and jitter, with
// no cap on attempts.

// OutboxConfig tunes call log delivery. Zero fields take the defaults.
type OutboxConfig struct {
	// BatchSize is the number of Tasks per sObject Collections request
	// (at most 200, the API's limit; default 200).
	BatchSize int
	// InFlight is how many Collections requests are sent at once
	// (default 4).
	InFlight int
	// Interval is how often the outbox is polled for due retries and for
	// jobs of stopped instances (default 1 s).
	Interval time.Duration
	// Stale is how long a job taken by another consumer may stay
	// unsettled before it is taken over (default 1 min).
	Stale time.Duration
	// WrapUpGrace is how long after a call ended in post-call the server
	// writes its log when the agent has not wrapped up (default 10 min).
	WrapUpGrace time.Duration
	// MaxBackoff caps the wait between attempts (default 5 min).
	MaxBackoff time.Duration
	// Linger is how long the outbox gathers new call logs after the
	// first one arrives before sending, so that several share one
	// Collections request (default 0: send at once). A full round
	// (BatchSize x InFlight) queued since the outbox last read never
	// waits. Timed with Service.AfterFunc.
	Linger time.Duration
	// AsAgent writes each Task as its agent (SWITCHBOARD_SF_WRITE_AS=agent:
	// the job's AsUsername), so a Collections request carries one agent's
	// Tasks. Otherwise every Task is written as the integration user and
	// one request carries any agents' Tasks.
	AsAgent bool
}

func (c OutboxConfig) withDefaults() OutboxConfig {
	if c.BatchSize <= 0 || c.BatchSize > 200 {
		c.BatchSize = 200
	}
	if c.InFlight <= 0 {
		c.InFlight = 4
	}
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.Stale <= 0 {
		c.Stale = time.Minute
	}
	if c.WrapUpGrace <= 0 {
		c.WrapUpGrace = 10 * time.Minute
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 5 * time.Minute
	}
	return c
}

// lockTTL bounds how long one consumer holds a call log's write lock.
const lockTTL = 2 * time.Minute

type outboxStats struct {
	written, retried, deadLettered, repaired atomic.Int64
}

// OutboxCounts are call log delivery counters since the process started.
type OutboxCounts struct {
	// Written: Tasks created or updated.
	Written int64
	// Retried: attempts that failed and were put back for later.
	Retried int64
	// Repaired: Tasks changed to follow Salesforce's rules after a refusal.
	Repaired int64
	// DeadLettered: Tasks refused even after a repair.
	DeadLettered int64
}

// OutboxCounts returns the delivery counters (for metrics).
func (s *Service) OutboxCounts() OutboxCounts {
	return OutboxCounts{
		Written: s.outboxStats.written.Load(), Retried: s.outboxStats.retried.Load(),
		Repaired: s.outboxStats.repaired.Load(), DeadLettered: s.outboxStats.deadLettered.Load(),
	}
}

// RetryBackoff is the wait before the attempt after attempts failed ones:
// 1 s doubling per attempt, capped at max, with jitter: a random point in
// [d/2, d] (rnd in [0, 1)), so instances recovering together spread out.
func RetryBackoff(attempts int, max time.Duration, rnd float64) time.Duration {
	d := time.Second << min(max0(attempts-1), 20)
	if d > max || d <= 0 {
		d = max
	}
	return d/2 + time.Duration(rnd*float64(d/2))
}

func max0(n int) int {
	if n < 0 {
		return 0
	}
	return n
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
	s.Wake()
}

// runOutbox writes queued Tasks to Salesforce until ctx ends.
func (s *Service) runOutbox(ctx context.Context) {
	cfg := s.Outbox.withDefaults()
	tick := time.NewTicker(cfg.Interval)
	defer tick.Stop()
	for {
		s.FlushOutbox(ctx)
		// The tick polls an idle outbox (due retries, other instances'
		// jobs); one that came during the linger would send the next
		// few call logs alone, right after this flush.
		tick.Reset(cfg.Interval)
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
			if cfg.Linger > 0 {
				// Let more call logs arrive, so they share a request,
				// unless a full round is queued already.
				lingered := make(chan struct{})
				s.AfterFunc(cfg.Linger, func() { close(lingered) })
				select {
				case <-ctx.Done():
					return
				case <-lingered:
				case <-s.full:
				}
			}
		case <-tick.C:
		}
	}
}

// FlushOutbox writes the Task writes that are due: one round, and more
// rounds while each one was full (a backlog). Call logs queued during a
// round that was not full wait for the next wake-up and its Linger.
func (s *Service) FlushOutbox(ctx context.Context) {
	cfg := s.Outbox.withDefaults()
	s.queued.Store(0) // what is queued from here on makes the next round
	select {
	case <-s.full:
	default:
	}
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
		jobs, err := s.Store.NextTasks(ctx, s.Instance, cfg.BatchSize*cfg.InFlight, cfg.Stale)
		if err != nil {
			if ctx.Err() == nil {
				s.Log.Warn().Err(err).Msg("outbox not readable")
			}
			return
		}
		if len(jobs) == 0 {
			return
		}
		// A round under way finishes even when ctx ends (shutdown):
		// cutting it could leave Tasks created with their answers lost.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), roundTimeout)
		s.deliver(wctx, cfg, jobs)
		cancel()
		if len(jobs) < cfg.BatchSize*cfg.InFlight {
			// Not a backlog: what came during this round waits for
			// the Linger (runOutbox was woken for it), so a steady
			// flow of call logs goes in full requests rather than
			// in one small request per round trip to Salesforce.
			return
		}
	}
}

// roundTimeout bounds one delivery round (lookups, requests, settling).
const roundTimeout = time.Minute

// write is one Task write in a delivery round.
type write struct {
	job  TaskJob
	id   string // Task id for an update, "" for a create
	task salesforce.Task
	res  salesforce.SaveResult
	err  error // the request failed as a whole
}

// deliver writes one round of jobs: at most one per call log, locked
// against other instances, with the Tasks whose earlier create may have
// landed looked up first, then sent in Collections requests.
func (s *Service) deliver(ctx context.Context, cfg OutboxConfig, jobs []TaskJob) {
	now := s.Now()
	var ends []TaskEnd
	// A job another consumer took and never settled may have been sent.
	for i := range jobs {
		if jobs[i].Reclaimed {
			jobs[i].Attempts++
			jobs[i].Uncertain = true
		}
	}
	// One job per call log: the newest wins and inherits what the older
	// knew (a Task id, an uncertain create).
	newest := map[string]int{}
	for i, j := range jobs {
		if k, ok := newest[j.Key]; !ok || jobs[k].Created.Before(j.Created) {
			newest[j.Key] = i
		}
	}
	var work []TaskJob
	for i, j := range jobs {
		if newest[j.Key] != i {
			w := &jobs[newest[j.Key]]
			w.Uncertain = w.Uncertain || j.Uncertain
			if w.TaskID == "" {
				w.TaskID = j.TaskID
			}
			ends = append(ends, TaskEnd{Kind: TaskDone, Job: j})
		}
	}
	for i, j := range jobs {
		if newest[j.Key] == i {
			work = append(work, j)
		}
	}
	// The locks are this round's, not this instance's: two rounds of one
	// instance (FlushOutbox called while the worker runs one) must not
	// both write a call log, or a grace-period job could create the Task
	// a wrap-up job in the other round is creating.
	owner := s.Instance + "/" + strconv.FormatUint(rand.Uint64(), 36)
	marks, err := s.Store.BeginTasks(ctx, owner, work, lockTTL)
	if err != nil {
		// The jobs stay taken; they are taken over after Stale.
		s.Log.Warn().Err(err).Msg("outbox: call log locks not taken")
		return
	}
	var writes []*write
	for i, j := range work {
		m := marks[i]
		switch {
		case !m.Locked:
			// Another instance is writing this call log now.
			j.NotBefore = now.Add(time.Second)
			ends = append(ends, TaskEnd{Kind: TaskRetry, Job: j})
			continue
		case m.Version != 0 && m.Version >= j.Created.UnixNano():
			ends = append(ends, TaskEnd{Kind: TaskDone, Job: j}) // a newer version (or this one) is written
			continue
		}
		if j.Grace {
			keep, err := s.refreshGrace(ctx, &j)
			if err != nil {
				j.NotBefore = now.Add(RetryBackoff(1, cfg.MaxBackoff, rand.Float64()))
				ends = append(ends, TaskEnd{Kind: TaskRetry, Job: j})
				continue
			}
			if !keep {
				ends = append(ends, TaskEnd{Kind: TaskDone, Job: j})
				continue
			}
		}
		id := m.TaskID
		if id == "" {
			id = j.TaskID
		}
		task, changes := j.Task.Conform()
		if len(changes) > 0 {
			s.Log.Debug().Str("call", j.CallID).Strs("changes", changes).Msg("call log changed to follow Salesforce's Task rules")
		}
		if cfg.AsAgent {
			task.AsUsername = j.AsUsername
		}
		writes = append(writes, &write{job: j, id: id, task: task})
	}
	s.findLanded(ctx, writes)
	s.send(ctx, cfg, writes)

	var done []CallTask
	for _, w := range writes {
		if errors.Is(w.err, errNotSent) {
			j := w.job
			j.Attempts++
			j.LastError = clip(w.err.Error(), 300)
			j.NotBefore = now.Add(RetryBackoff(j.Attempts, cfg.MaxBackoff, rand.Float64()))
			s.outboxStats.retried.Add(1)
			ends = append(ends, TaskEnd{Kind: TaskRetry, Job: j})
			continue
		}
		end := s.settle(cfg, now, w)
		ends = append(ends, end)
		if end.Kind == TaskDone && end.Mark != nil {
			done = append(done, CallTask{Extension: w.job.Extension, CallID: w.job.CallID, TaskID: end.Mark.TaskID})
		}
	}
	if err := s.Store.EndTasks(ctx, owner, ends); err != nil {
		// Not settled: taken over after Stale, as uncertain, so the
		// Tasks just written are found, not created again.
		s.Log.Warn().Err(err).Int("jobs", len(ends)).Msg("outbox: results not stored")
	}
	if err := s.Store.SetCallTasks(ctx, done); err != nil {
		s.Log.Warn().Err(err).Msg("outbox: Task ids not stored on the calls")
	}
	s.announce(ctx, done)
	for _, w := range writes {
		if w.err != nil {
			s.observe(w.job, w.err)
		} else if !w.res.Success {
			s.observe(w.job, recordError(w.res))
		} else {
			s.observe(w.job, nil)
		}
	}
}

// errNotSent marks a write held back because the check for an earlier
// Task failed: creating blind could make a second Task.
var errNotSent = errors.New("outbox: not sent")

// refreshGrace rebuilds a grace-period job from the call record as it is
// now. It reports false when the job has nothing left to do (the call came
// back live: its next end queues a new job).
func (s *Service) refreshGrace(ctx context.Context, j *TaskJob) (bool, error) {
	rec, err := s.Store.Call(ctx, j.Extension, j.CallID)
	switch {
	case IsNotFound(err):
		return true, nil // wrapped up (its own job follows) or expired: write what we have
	case err != nil:
		return false, err
	case rec.PostCall:
		j.Task = s.buildTask(rec, j.UserID)
		if j.TaskID == "" {
			j.TaskID = rec.TaskID
		}
		return true, nil
	case rec.Ended.IsZero():
		return false, nil
	}
	return true, nil
}

// findLanded looks up, with one query per 100 calls, the Tasks of creates
// that may have landed before (an uncertain outcome, or any earlier
// attempt), so a retry never makes a second Task. When the lookup fails
// those writes are not sent (err errNotSent).
//
// A grace-period job always looks first: it runs WrapUpGrace after the
// call, alone, and the wrap-up job of the same call may have created the
// Task with no mark stored (its instance killed between the write and the
// acknowledgement, or its answer lost and its retry still waiting).
func (s *Service) findLanded(ctx context.Context, writes []*write) {
	mayHaveLanded := func(w *write) bool {
		return w.id == "" && (w.job.Uncertain || w.job.Attempts > 0 || w.job.Grace)
	}
	var check []string
	for _, w := range writes {
		if mayHaveLanded(w) {
			check = append(check, w.task.CallObject)
		}
	}
	if len(check) == 0 {
		return
	}
	found, err := s.CRM.FindCallTasks(ctx, check)
	for _, w := range writes {
		if !mayHaveLanded(w) {
			continue
		}
		if err != nil {
			w.err = fmt.Errorf("%w: %w", errNotSent, err)
			continue
		}
		if id, ok := found[salesforce.CallTaskKey{CallObject: w.task.CallObject, OwnerID: salesforce.ID15(w.task.OwnerID)}]; ok {
			w.id = id
		}
	}
}

// send writes Tasks in Collections requests: creates and updates apart,
// grouped by the user they are written as, BatchSize per request, InFlight
// requests at once.
func (s *Service) send(ctx context.Context, cfg OutboxConfig, writes []*write) {
	type group struct {
		update bool
		user   string
	}
	groups := map[group][]*write{}
	var order []group
	for _, w := range writes {
		if w.err != nil {
			continue
		}
		g := group{w.id != "", w.task.AsUsername}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], w)
	}
	sem := make(chan struct{}, cfg.InFlight)
	var wg sync.WaitGroup
	for _, g := range order {
		ws := groups[g]
		for start := 0; start < len(ws); start += cfg.BatchSize {
			batch := ws[start:min(start+cfg.BatchSize, len(ws))]
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				s.sendBatch(ctx, g.update, batch)
			}()
		}
	}
	wg.Wait()
}

func (s *Service) sendBatch(ctx context.Context, update bool, batch []*write) {
	ts := make([]salesforce.Task, len(batch))
	ids := make([]string, len(batch))
	for i, w := range batch {
		ts[i], ids[i] = w.task, w.id
		if update {
			ts[i].TaskSubtype = "" // create-only
		}
	}
	var res []salesforce.SaveResult
	var err error
	if update {
		res, err = s.CRM.UpdateTasks(ctx, ids, ts)
	} else {
		res, err = s.CRM.CreateTasks(ctx, ts)
	}
	for i, w := range batch {
		if i < len(res) && (res[i].Success || len(res[i].Errors) > 0) {
			w.res = res[i]
			if update && w.res.Success && w.res.ID == "" {
				w.res.ID = w.id
			}
			continue
		}
		if err == nil {
			err = fmt.Errorf("no result for the record: %w", salesforce.ErrUnavailable)
		}
		w.err = err
	}
}

// settle decides what becomes of one write after its attempt.
func (s *Service) settle(cfg OutboxConfig, now time.Time, w *write) TaskEnd {
	j := w.job
	if w.err == nil && w.res.Success {
		s.outboxStats.written.Add(1)
		return TaskEnd{Kind: TaskDone, Job: j, Mark: &TaskMark{TaskID: w.res.ID, Version: j.Created.UnixNano()}}
	}
	j.Attempts++
	cause := w.err
	if cause == nil {
		cause = recordError(w.res)
	}
	retry := func(j TaskJob, after time.Duration) TaskEnd {
		s.outboxStats.retried.Add(1)
		j.NotBefore = now.Add(after)
		if j.Attempts == 1 || j.Attempts&(j.Attempts-1) == 0 { // 1, 2, 4, 8, ...: no flood in an outage
			s.Log.Warn().Err(cause).Str("call", j.CallID).Int("attempts", j.Attempts).Str("reason", writeFailReason(cause)).Msg("call log write to Salesforce failed; will retry")
		}
		return TaskEnd{Kind: TaskRetry, Job: j}
	}
	backoff := RetryBackoff(j.Attempts, cfg.MaxBackoff, rand.Float64())
	if w.err != nil {
		j.LastError = clip(w.err.Error(), 300)
		var se *salesforce.Error
		switch {
		case errors.Is(w.err, salesforce.ErrUnauthorized) && w.task.AsUsername != "":
			// The agent's token is refused: the integration user writes
			// it (OwnerId still credits the agent).
			j.AsUsername = ""
			return retry(j, 0)
		case errors.Is(w.err, salesforce.ErrInvalid) && errors.As(w.err, &se) && !transient(se.ErrorCode):
			return s.refused(j, w.task, *se, now, retry)
		}
		if w.id == "" && !errors.Is(w.err, salesforce.ErrLimitExceeded) && !errors.Is(w.err, salesforce.ErrUnauthorized) {
			// No answer, or a 5xx: the create may have been applied.
			j.Uncertain = true
		}
		return retry(j, backoff)
	}
	e := recordErr(w.res)
	j.LastError = clip(e.Error(), 300)
	if transient(e.ErrorCode) {
		return retry(j, backoff)
	}
	return s.refused(j, w.task, e, now, retry)
}

// refused handles a record Salesforce refused: repaired and retried once,
// then a dead letter.
func (s *Service) refused(j TaskJob, sent salesforce.Task, e salesforce.Error, now time.Time, retry func(TaskJob, time.Duration) TaskEnd) TaskEnd {
	if !j.Repaired {
		if t, ok := repair(sent, e); ok {
			s.outboxStats.repaired.Add(1)
			t.AsUsername = ""
			j.Task, j.Repaired = t, true
			s.Log.Warn().Str("call", j.CallID).Str("code", e.ErrorCode).Strs("fields", e.Fields).Msg("call log refused by Salesforce; repaired, retrying once")
			return retry(j, 0)
		}
	}
	s.outboxStats.deadLettered.Add(1)
	s.Log.Error().Str("call", j.CallID).Str("code", e.ErrorCode).Strs("fields", e.Fields).Int("attempts", j.Attempts).Str("reason", "rejected").Msg("call log refused by Salesforce; kept as a dead letter (list and replay: /admin/v1/dead-letters)")
	return TaskEnd{Kind: TaskDead, Job: j, Reason: clip(e.Message, 500), Code: e.ErrorCode}
}

// transient reports whether a record error is worth retrying as it is (the
// reference: UNABLE_TO_LOCK_ROW is transient, not a validation error).
func transient(code string) bool {
	switch code {
	case "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED", "REQUEST_RUNNING_TOO_LONG", "UNKNOWN_EXCEPTION", "QUERY_TIMEOUT":
		return true
	}
	return false
}

var maxLengthRE = regexp.MustCompile(`max length=(\d+)`)

// repair changes a refused Task so that the cause Salesforce named cannot
// recur: a bad reference (WhoId, WhatId) is unlinked and named in the
// Description; a field too long is cut to the length Salesforce said (or
// half); a bad optional picklist value is cleared. ok false: nothing to
// repair.
func repair(t salesforce.Task, e salesforce.Error) (salesforce.Task, bool) {
	fields := e.Fields
	switch e.ErrorCode {
	case "FIELD_INTEGRITY_EXCEPTION", "INVALID_CROSS_REFERENCE_KEY", "MALFORMED_ID", "INVALID_ID_FIELD":
		if len(fields) == 0 {
			fields = []string{"WhoId", "WhatId"}
		}
		changed := false
		for _, f := range fields {
			var id *string
			switch f {
			case "WhoId":
				id = &t.WhoID
			case "WhatId":
				id = &t.WhatID
			case "OwnerId":
				if t.OwnerID != "" {
					t.OwnerID, changed = "", true // the integration user owns it
				}
				continue
			default:
				continue
			}
			if *id != "" {
				t = related(t, *id)
				*id, changed = "", true
			}
		}
		return t, changed
	case "STRING_TOO_LONG":
		if len(fields) == 0 {
			fields = []string{"Subject", "Description", "CallDisposition"}
		}
		limit := 0
		if m := maxLengthRE.FindStringSubmatch(e.Message); m != nil {
			limit, _ = strconv.Atoi(m[1])
		}
		changed := false
		for _, f := range fields {
			var p *string
			switch f {
			case "Subject":
				p = &t.Subject
			case "Description":
				p = &t.Description
			case "CallDisposition":
				p = &t.CallDisposition
			case "CallObject":
				p = &t.CallObject
			default:
				continue
			}
			n := limit
			if n <= 0 || n >= salesforce.UTF16Len(*p) {
				n = salesforce.UTF16Len(*p) / 2
			}
			if cut := salesforce.TruncateUTF16(*p, n); cut != *p {
				*p, changed = cut, true
			}
		}
		return t, changed
	case "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "BAD_VALUE_FOR_RESTRICTED_PICKLIST":
		changed := false
		for _, f := range fields {
			switch f {
			case "CallType":
				t.CallType, changed = "", t.CallType != ""
			case "CallDisposition":
				t.CallDisposition, changed = "", t.CallDisposition != ""
			}
		}
		return t, changed
	}
	return t, false
}

// related names a record the Task no longer links to in its Description.
func related(t salesforce.Task, id string) salesforce.Task {
	name := id
	if n := t.Names[id]; n != "" {
		name = n + " (" + id + ")"
	}
	line := "Related: " + name
	if t.Description != "" {
		line = "\n\n" + line
	}
	t.Description = salesforce.TruncateUTF16(t.Description, max(0, 32000-salesforce.UTF16Len(line))) + line
	return t
}

func recordErr(r salesforce.SaveResult) salesforce.Error {
	if len(r.Errors) > 0 {
		return r.Errors[0]
	}
	return salesforce.Error{StatusCode: 502, ErrorCode: "NO_RESULT", Message: "Salesforce answered without a result for the record"}
}

func recordError(r salesforce.SaveResult) error {
	e := recordErr(r)
	return fmt.Errorf("call log: %w", &e)
}

// announce stores nothing; it tells the agents' softphones which Task
// logs their call (a few at a time).
func (s *Service) announce(ctx context.Context, done []CallTask) {
	if len(done) == 0 {
		return
	}
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, d := range done {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_ = s.Bus.Publish(ctx, d.Extension, AgentEvent{Type: EventTask, CallID: d.CallID, TaskID: d.TaskID})
		}()
	}
	wg.Wait()
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

// DeadLetters is the operators' view of call logs Salesforce refused for
// good: list, replay (after fixing the cause in the org, or as repaired),
// delete. It is served by the admin API.
type DeadLetters struct {
	Store Store
	// Wake, when set, is called after a replay so the outbox runs at once.
	Wake func()
}

// List returns up to limit dead letters, oldest first, and the total.
func (d *DeadLetters) List(ctx context.Context, limit int) ([]DeadLetter, int, error) {
	return d.Store.DeadLetters(ctx, limit)
}

// Replay puts a dead letter back in the outbox. ErrNotFound, ErrInvalid.
func (d *DeadLetters) Replay(ctx context.Context, id string) (TaskJob, error) {
	if err := checkDeadID(id); err != nil {
		return TaskJob{}, err
	}
	job, err := d.Store.ReplayDeadLetter(ctx, id)
	if err == nil && d.Wake != nil {
		d.Wake()
	}
	return job, err
}

// Delete discards a dead letter. ErrNotFound, ErrInvalid.
func (d *DeadLetters) Delete(ctx context.Context, id string) error {
	if err := checkDeadID(id); err != nil {
		return err
	}
	return d.Store.DeleteDeadLetter(ctx, id)
}

func checkDeadID(id string) error {
	if id == "" || len(id) > 300 || strings.ContainsAny(id, "\x00\r\n") {
		return fmt.Errorf("dead letter id: required, at most 300 characters, one line: %w", ErrInvalid)
	}
	return nil
}

// Wake tells the outbox that a call log was queued (or replayed): it runs
// after the Linger, or at once when a full round (BatchSize x InFlight)
// has been queued since it last read.
func (s *Service) Wake() {
	cfg := s.Outbox.withDefaults()
	if s.queued.Add(1) >= int64(cfg.BatchSize*cfg.InFlight) {
		select {
		case s.full <- struct{}{}:
		default:
		}
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
