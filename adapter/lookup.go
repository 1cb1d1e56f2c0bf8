package adapter

import (
	"context"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/salesforce"
)

// LookupPending is CallRecord.Lookup while the Salesforce lookup of a call
// runs: the call was pushed without its matches, which follow in a later
// push.
const LookupPending = "pending"

// CallPublisher is what a Store may also do: UpdateCall and, when f
// stores the record (CallPut), publish an EventCall carrying it in the
// same atomic step (no window where the record is stored but not pushed).
// It is the ringing path: a new call costs one round trip, a change two
// (adapter/redisstore). f may first be called as if the call were new
// (exists false) before the store has read it; when the call exists after
// all, that result is dropped and f runs again on the stored record, as
// after a concurrent change (so f must have no side effects). The Service
// uses it when the Store has it, else UpdateCall then Bus.Publish.
type CallPublisher interface {
	UpdateCallPublish(ctx context.Context, ext, id string, f func(rec *CallRecord, exists bool) (CallChange, error)) (CallRecord, error)
}

// lookups runs the Salesforce lookups of new calls off the ringing path:
// at most Concurrency at once, at most Queue waiting; beyond that a call
// rings without matches (LookupError says so).
type lookups struct {
	once    sync.Once
	sem     chan struct{}
	waiting atomic.Int64
	mu      sync.Mutex
	jobs    map[string]*lookupJob // by extension/call id
}

// lookupJob is one call's lookup; res is set before done is closed.
type lookupJob struct {
	rec  CallRecord
	done chan struct{}
	res  lookupResult
}

// lookupResult is what a lookup found, to copy onto the call record.
type lookupResult struct {
	matches       []salesforce.Match
	pop           *salesforce.PopResult
	whoID, whatID string
	err           string
}

const (
	lookupFailed = "Salesforce lookup failed"
	lookupBusy   = "Salesforce lookup skipped: too many calls at once"
)

// deviceLocks serialise the handling of one device's calls between its
// event monitor and the lookups that finish later.
type deviceLocks [64]sync.Mutex

func (d *deviceLocks) lock(ext string) func() {
	h := fnv.New32a()
	h.Write([]byte(ext))
	m := &d[h.Sum32()%uint32(len(d))]
	m.Lock()
	return m.Unlock
}

func lookupKey(ext, id string) string { return ext + "/" + id }

// needsLookup reports whether a new call's other party is worth looking up
// in Salesforce (not an internal party). A withheld caller is looked up
// for the pop rules that do not need the number (DNIS, digits, New
// Contact).
func needsLookup(rec CallRecord) bool {
	if rec.Number == "" && !rec.Withheld {
		return false
	}
	for _, p := range rec.Parties {
		if p.Internal && p.Number == rec.Number {
			return false
		}
	}
	return true
}

func (s *Service) lookupJob(key string) *lookupJob {
	s.lk.mu.Lock()
	defer s.lk.mu.Unlock()
	return s.lk.jobs[key]
}

// startLookup looks rec's caller up in the background, then stores and
// pushes the matches. At most one lookup per call runs on an instance.
func (s *Service) startLookup(ctx context.Context, rec CallRecord) {
	s.lk.once.Do(func() {
		s.lk.sem = make(chan struct{}, max(1, s.LookupConcurrency))
		s.lk.jobs = map[string]*lookupJob{}
	})
	key := lookupKey(rec.Extension, rec.ID)
	job := &lookupJob{rec: rec, done: make(chan struct{})}
	s.lk.mu.Lock()
	if s.lk.jobs[key] != nil {
		s.lk.mu.Unlock()
		return
	}
	s.lk.jobs[key] = job
	s.lk.mu.Unlock()
	bg := context.WithoutCancel(ctx)
	if s.lk.waiting.Add(1) > int64(max(0, s.LookupQueue))+int64(cap(s.lk.sem)) {
		s.lk.waiting.Add(-1)
		job.res = lookupResult{err: lookupBusy}
		close(job.done)
		s.Log.Warn().Str("call", rec.ID).Msg("Salesforce lookup queue full; the call rings without matches")
		go s.applyLookup(bg, job)
		return
	}
	go func() {
		s.lk.sem <- struct{}{}
		s.lk.waiting.Add(-1)
		lctx, cancel := context.WithTimeout(bg, s.LookupTimeout)
		job.res = s.findRecords(lctx, job.rec)
		cancel()
		<-s.lk.sem
		close(job.done)
		s.applyLookup(bg, job)
	}()
}

// applyLookup stores a finished lookup on its call, if the call still
// waits for it, and pushes the call again.
func (s *Service) applyLookup(ctx context.Context, job *lookupJob) {
	key := lookupKey(job.rec.Extension, job.rec.ID)
	defer func() {
		s.lk.mu.Lock()
		if s.lk.jobs[key] == job {
			delete(s.lk.jobs, key)
		}
		s.lk.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	unlock := s.devices.lock(job.rec.Extension)
	defer unlock()
	_, err := s.updateAndPush(ctx, job.rec.Extension, job.rec.ID, func(rec *CallRecord, exists bool) (CallChange, error) {
		if !exists || rec.Lookup != LookupPending {
			return CallKeep, nil // gone, or looked up already
		}
		job.res.applyTo(rec)
		return CallPut, nil
	})
	if err != nil {
		s.Log.Warn().Err(err).Str("call", job.rec.ID).Msg("lookup result not stored; it is redone on the next update")
	}
}

// awaitLookup is the result of rec's pending lookup, for its call log:
// the one running here (waited for up to LookupTimeout), or a lookup made
// now when none runs (the instance that started it went away).
func (s *Service) awaitLookup(ctx context.Context, rec CallRecord) lookupResult {
	if job := s.lookupJob(lookupKey(rec.Extension, rec.ID)); job != nil {
		t := time.NewTimer(s.LookupTimeout + time.Second)
		defer t.Stop()
		select {
		case <-job.done:
			return job.res
		case <-t.C:
		case <-ctx.Done():
		}
		return lookupResult{err: lookupFailed}
	}
	lctx, cancel := context.WithTimeout(ctx, s.LookupTimeout)
	defer cancel()
	return s.findRecords(lctx, rec)
}

// applyTo copies a lookup's result onto a call record; the call log's
// Who/What set meanwhile (by the agent) are kept.
func (r lookupResult) applyTo(rec *CallRecord) {
	rec.Lookup = ""
	if r.err != "" {
		rec.LookupError = r.err
	}
	if r.matches != nil {
		rec.Matches = r.matches
	}
	if r.pop != nil {
		rec.Pop = r.pop
	}
	if rec.Log.WhoID == "" {
		rec.Log.WhoID = r.whoID
	}
	if rec.Log.WhatID == "" {
		rec.Log.WhatID = r.whatID
	}
}

// findRecords finds the Salesforce records for a call. A failure leaves
// the call without matches (err says so).
func (s *Service) findRecords(ctx context.Context, rec CallRecord) lookupResult {
	var res lookupResult
	outgoing := rec.isOutgoingLeg()
	if !outgoing {
		// What to pop follows the Pop-Up Order (the agent's, else the
		// admin's): ANI, DNIS -> Campaign, digits -> Case, New Contact.
		req := salesforce.PopRequest{ANI: rec.Number, DNIS: rec.DNIS, Digits: rec.Digits}
		if uid, err := s.Store.DeviceUser(ctx, rec.Extension); err == nil {
			if st, err := s.Store.Settings(ctx, uid); err == nil && st.PopOrder != nil {
				req.Order = st.PopOrder
			}
		}
		pop, err := s.CRM.ScreenPop(ctx, req)
		if err != nil {
			s.Log.Warn().Err(err).Str("call", rec.ID).Str("number", maskNumber(rec.Number)).Msg("screen-pop lookup failed")
			return lookupResult{err: lookupFailed, matches: []salesforce.Match{}}
		}
		res.pop = &pop
		if pop.Rule == "ani" {
			res.matches = nonNil(pop.Matches)
		} else if pop.Rule == "dnis" || pop.Rule == "digits" {
			res.whatID = singleWhat(pop.Matches)
		}
	}
	if rec.Withheld {
		res.matches = []salesforce.Match{}
		return res // no number: no records of the caller
	}
	// The caller's (or callee's) records: for the call log and the
	// agent's choice among several matches, whatever pops.
	if res.pop == nil || res.pop.Rule != "ani" {
		ms, err := s.CRM.FindByPhone(ctx, rec.Number)
		if err != nil {
			s.Log.Warn().Err(err).Str("call", rec.ID).Str("number", maskNumber(rec.Number)).Msg("phone lookup failed")
			res.err, res.matches = lookupFailed, []salesforce.Match{}
			return res
		}
		res.matches = nonNil(ms)
	}
	res.whoID = singleWho(res.matches)
	if res.whatID == "" {
		res.whatID = singleWhat(res.matches)
	}
	return res
}

// isOutgoingLeg reports whether the device made the call (nothing to pop).
func (c *CallRecord) isOutgoingLeg() bool {
	return c.Direction == pbx.Outbound || (len(c.Parties) > 0 && c.Parties[0].Number == c.Extension)
}

// updateAndPush changes a call record (Store.UpdateCall) and, when it
// was stored, pushes it to the agent: in the same transaction when the
// Store can.
func (s *Service) updateAndPush(ctx context.Context, ext, id string, f func(rec *CallRecord, exists bool) (CallChange, error)) (CallRecord, error) {
	if cp, ok := s.Store.(CallPublisher); ok {
		return cp.UpdateCallPublish(ctx, ext, id, f)
	}
	var last CallChange
	rec, err := s.Store.UpdateCall(ctx, ext, id, func(rec *CallRecord, exists bool) (CallChange, error) {
		ch, err := f(rec, exists)
		last = ch
		return ch, err
	})
	if err != nil || last != CallPut {
		return rec, err
	}
	return rec, s.Bus.Publish(ctx, ext, AgentEvent{Type: EventCall, Call: &rec})
}
