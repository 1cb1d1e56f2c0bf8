package salesforce

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf16"
)

// Task is a call log, written as a Salesforce Task.
type Task struct {
	// Subject, at most 255 characters.
	Subject string
	// Description holds the call notes, at most 32,000 characters.
	Description string
	// Status defaults to "Completed".
	Status string
	// Priority defaults to "Normal".
	Priority string
	// ActivityDate is the due date, YYYY-MM-DD.
	ActivityDate string
	// WhoID is a Contact or Lead. An Account id given here (a Person
	// Account) is moved to WhatID when WhatID is empty.
	WhoID string
	// WhatID is an Account, Opportunity, Campaign, Case, ...
	WhatID string
	// OwnerID is the agent's user id.
	OwnerID string
	// TaskSubtype defaults to "Call"; it can only be set on create.
	TaskSubtype string
	// Type defaults to "Call".
	Type string
	// CallType is Inbound, Outbound or Internal.
	CallType string
	// CallDurationInSeconds is the talk time.
	CallDurationInSeconds int
	// CallObject is the PBX call id (at most 255): the idempotency key.
	CallObject string
	// CallDisposition is the wrap-up result (at most 255).
	CallDisposition string
	// AsUsername, when set and Config.UserTokens is configured, writes the
	// Task as that user (the agent becomes its creator). Without
	// UserTokens it is ignored and the integration user writes it. There
	// is no silent fallback: if the agent's token is refused the write
	// fails with ErrUnauthorized, and the caller may retry without
	// AsUsername (OwnerID still credits the agent).
	AsUsername string `json:"-"`
	// Names are display names of records by id (not sent): Conform uses
	// them to keep a record it must unlink named in the Description.
	Names map[string]string `json:",omitempty"`
}

// SaveResult is the outcome for one record of a collection call.
type SaveResult struct {
	// ID is the new record's id when Success.
	ID string `json:"id"`
	// Success reports whether the record was saved.
	Success bool `json:"success"`
	// Errors say why not.
	Errors []Error `json:"errors"`
}

// Task field lengths, as Salesforce enforces them.
var taskLengths = []struct {
	field string
	max   int
	get   func(Task) string
}{
	{"Subject", 255, func(t Task) string { return t.Subject }},
	{"Description", 32000, func(t Task) string { return t.Description }},
	{"CallObject", 255, func(t Task) string { return t.CallObject }},
	{"CallDisposition", 255, func(t Task) string { return t.CallDisposition }},
}

// UTF16Len is the length of s in UTF-16 code units, as Salesforce counts
// text lengths (a character outside the Basic Multilingual Plane, most
// emoji, counts 2).
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// TruncateUTF16 cuts s to at most n UTF-16 code units, never inside a
// character.
func TruncateUTF16(s string, n int) string {
	units := 0
	for i, r := range s {
		units += utf16.RuneLen(r)
		if units > n {
			return s[:i]
		}
	}
	return s
}

// IsWhoID reports whether id can be a Task's WhoId: a Contact (003) or a
// Lead (00Q) (the reference, "Rules Salesforce enforces on a Task").
func IsWhoID(id string) bool {
	return strings.HasPrefix(id, "003") || strings.HasPrefix(id, "00Q")
}

// Conform applies Salesforce's Task rules, so that the org does not refuse
// the Task (the reference, "Rules Salesforce enforces on a Task"):
//   - WhoId must be a Contact or Lead: any other record (an Account) moves
//     to WhatId when that is empty, else it is named in the Description;
//   - a Lead in WhoId means WhatId empty: the WhatId record is named in the
//     Description instead;
//   - Subject, CallObject and CallDisposition are cut to 255 UTF-16 code
//     units, Description to 32,000 (the notes are cut, the lines naming
//     unlinked records are kept).
//
// It returns the Task and a short note per change (no notes or numbers in
// them), empty when nothing changed.
func (t Task) Conform() (Task, []string) {
	var changes, related []string
	name := func(id string) string {
		if n := t.Names[id]; n != "" {
			return n + " (" + id + ")"
		}
		return id
	}
	if t.WhoID != "" && !IsWhoID(t.WhoID) {
		if t.WhatID == "" {
			t.WhatID = t.WhoID
			changes = append(changes, "WhoId moved to WhatId (not a Contact or Lead)")
		} else {
			related = append(related, name(t.WhoID))
			changes = append(changes, "WhoId dropped (not a Contact or Lead; WhatId taken)")
		}
		t.WhoID = ""
	}
	if strings.HasPrefix(t.WhoID, "00Q") && t.WhatID != "" {
		related = append(related, name(t.WhatID))
		t.WhatID = ""
		changes = append(changes, "WhatId dropped (WhoId is a Lead)")
	}
	for _, f := range []*string{&t.Subject, &t.CallObject, &t.CallDisposition} {
		if UTF16Len(*f) > 255 {
			*f = TruncateUTF16(*f, 255)
			changes = append(changes, "text cut to 255 UTF-16 units")
		}
	}
	tail := ""
	if len(related) > 0 {
		tail = "Related: " + strings.Join(related, ", ")
		if t.Description != "" {
			tail = "\n\n" + tail
		}
	}
	if UTF16Len(t.Description)+UTF16Len(tail) > 32000 {
		t.Description = TruncateUTF16(t.Description, max(0, 32000-UTF16Len(tail)))
		changes = append(changes, "Description cut to 32,000 UTF-16 units")
	}
	t.Description = TruncateUTF16(t.Description+tail, 32000)
	return t, changes
}

// validate checks what Salesforce would reject, before anything is sent.
func (t Task) validate() *Error {
	for _, l := range taskLengths {
		if n := UTF16Len(l.get(t)); n > l.max {
			return &Error{StatusCode: http.StatusBadRequest, ErrorCode: "STRING_TOO_LONG",
				Message: fmt.Sprintf("%s: %d UTF-16 units, at most %d (checked before sending)", l.field, n, l.max), Fields: []string{l.field}}
		}
	}
	for _, f := range []struct{ name, id string }{{"WhoId", t.WhoID}, {"WhatId", t.WhatID}, {"OwnerId", t.OwnerID}} {
		if f.id != "" && !IsID(f.id) {
			return &Error{StatusCode: http.StatusBadRequest, ErrorCode: "MALFORMED_ID",
				Message: f.name + ": not a record id (checked before sending)", Fields: []string{f.name}}
		}
	}
	if t.WhoID != "" && !IsWhoID(t.WhoID) {
		return &Error{StatusCode: http.StatusBadRequest, ErrorCode: "FIELD_INTEGRITY_EXCEPTION",
			Message: "WhoId: must be a Contact or Lead (checked before sending)", Fields: []string{"WhoId"}}
	}
	if strings.HasPrefix(t.WhoID, "00Q") && t.WhatID != "" {
		return &Error{StatusCode: http.StatusBadRequest, ErrorCode: "FIELD_INTEGRITY_EXCEPTION",
			Message: "WhatId: must be empty when WhoId is a Lead (checked before sending)", Fields: []string{"WhatId"}}
	}
	switch t.CallType {
	case "", "Inbound", "Outbound", "Internal":
	default:
		return &Error{StatusCode: http.StatusBadRequest, ErrorCode: "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
			Message: "CallType: want Inbound, Outbound or Internal (checked before sending)", Fields: []string{"CallType"}}
	}
	if t.CallDurationInSeconds < 0 {
		return &Error{StatusCode: http.StatusBadRequest, ErrorCode: "NUMBER_OUTSIDE_VALID_RANGE",
			Message: "CallDurationInSeconds: negative (checked before sending)", Fields: []string{"CallDurationInSeconds"}}
	}
	return nil
}

// normalize applies defaults and moves an Account WhoId to WhatId.
func (t Task) normalize() Task {
	if t.Status == "" {
		t.Status = "Completed"
	}
	if t.Priority == "" {
		t.Priority = "Normal"
	}
	if t.TaskSubtype == "" {
		t.TaskSubtype = "Call"
	}
	if t.Type == "" {
		t.Type = "Call"
	}
	return t.moveAccount()
}

// moveAccount moves an Account WhoId (a Person Account) to an empty
// WhatId. Other rule breaks are refused by validate; Conform repairs them.
func (t Task) moveAccount() Task {
	if strings.HasPrefix(t.WhoID, "001") && t.WhatID == "" {
		t.WhatID, t.WhoID = t.WhoID, ""
	}
	return t
}

// fields returns the Task as REST fields; create includes create-only
// fields and the duration even when zero.
func (t Task) fields(create bool) map[string]any {
	m := map[string]any{}
	set := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	set("Subject", t.Subject)
	set("Description", t.Description)
	set("Status", t.Status)
	set("Priority", t.Priority)
	set("ActivityDate", t.ActivityDate)
	set("WhoId", t.WhoID)
	set("WhatId", t.WhatID)
	set("OwnerId", t.OwnerID)
	set("Type", t.Type)
	set("CallType", t.CallType)
	set("CallObject", t.CallObject)
	set("CallDisposition", t.CallDisposition)
	if create {
		set("TaskSubtype", t.TaskSubtype)
		m["CallDurationInSeconds"] = t.CallDurationInSeconds
	} else if t.CallDurationInSeconds > 0 {
		m["CallDurationInSeconds"] = t.CallDurationInSeconds
	}
	return m
}

// tokensFor picks the agent's token source for AsUsername, if configured.
// Each agent's source is made once and kept, so its token is reused until
// it expires (or Salesforce refuses it) instead of minted per write.
func (c *Client) tokensFor(asUsername string) TokenSource {
	if asUsername == "" || c.cfg.UserTokens == nil {
		return c.cfg.Tokens
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ts, ok := c.userTokens[asUsername]; ok {
		return ts
	}
	ts := c.cfg.UserTokens(asUsername)
	if ts == nil {
		return c.cfg.Tokens
	}
	if c.userTokens == nil || len(c.userTokens) >= maxUserTokens {
		c.userTokens = map[string]TokenSource{} // bounded: start over
	}
	c.userTokens[asUsername] = ts
	return ts
}

// maxUserTokens bounds the per-agent token sources kept.
const maxUserTokens = 10000

// CreateTask writes a call log and returns the Task id. Status, Priority,
// TaskSubtype and Type get their defaults; field lengths and ids are
// checked first (ErrInvalid, nothing sent).
func (c *Client) CreateTask(ctx context.Context, t Task) (string, error) {
	t = t.normalize()
	if e := t.validate(); e != nil {
		return "", fmt.Errorf("salesforce: create Task: %w", e)
	}
	return c.create(ctx, c.tokensFor(t.AsUsername), "Task", t.fields(true))
}

// UpdateTask sets the non-empty fields of t on Task id (notes and
// disposition after wrap-up). TaskSubtype is create-only and is not sent;
// zero values leave fields unchanged.
func (c *Client) UpdateTask(ctx context.Context, id string, t Task) error {
	t = t.moveAccount()
	if e := t.validate(); e != nil {
		return fmt.Errorf("salesforce: update Task: %w", e)
	}
	return c.update(ctx, c.tokensFor(t.AsUsername), "Task", id, t.fields(false))
}

// maxCollection is the sObject Collections limit per request.
const maxCollection = 200

// CreateTasks writes many call logs with sObject Collections (POST
// /composite/sobjects, allOrNone false, 200 per request; one API call
// each). The results line up with ts. Tasks failing the local checks get a
// failed SaveResult and are not sent. Tasks are grouped by AsUsername. The
// error is for a request that failed as a whole; results of earlier
// batches are still returned.
func (c *Client) CreateTasks(ctx context.Context, ts []Task) ([]SaveResult, error) {
	return c.saveTasks(ctx, http.MethodPost, nil, ts)
}

// UpdateTasks changes many call logs with sObject Collections (PATCH
// /composite/sobjects, allOrNone false, 200 per request; one API call
// each): ts[i] is written to Task ids[i] as UpdateTask would. The results
// line up with ts; Tasks failing the local checks get a failed SaveResult
// and are not sent. The error is for a request that failed as a whole.
func (c *Client) UpdateTasks(ctx context.Context, ids []string, ts []Task) ([]SaveResult, error) {
	if len(ids) != len(ts) {
		return nil, fmt.Errorf("salesforce: update Tasks: %w", &Error{StatusCode: http.StatusBadRequest, ErrorCode: "BAD_REQUEST", Message: fmt.Sprintf("%d ids for %d Tasks", len(ids), len(ts))})
	}
	return c.saveTasks(ctx, http.MethodPatch, ids, ts)
}

// saveTasks sends Tasks through sObject Collections: creates (ids nil,
// POST) or updates (PATCH), grouped by the user they are written as.
func (c *Client) saveTasks(ctx context.Context, method string, ids []string, ts []Task) ([]SaveResult, error) {
	create := method == http.MethodPost
	results := make([]SaveResult, len(ts))
	type pending struct {
		idx    int
		fields map[string]any
	}
	groups := map[string][]pending{}
	var users []string
	for i, t := range ts {
		if create {
			t = t.normalize()
		} else {
			t = t.moveAccount()
		}
		if e := t.validate(); e != nil {
			results[i] = SaveResult{Errors: []Error{*e}}
			continue
		}
		f := t.fields(create)
		if !create {
			if !IsID(ids[i]) {
				results[i] = SaveResult{Errors: []Error{{StatusCode: http.StatusBadRequest, ErrorCode: "MALFORMED_ID", Message: "Task id: not a record id (checked before sending)", Fields: []string{"Id"}}}}
				continue
			}
			f["Id"] = ids[i]
		}
		user := ""
		if c.cfg.UserTokens != nil {
			user = t.AsUsername
		}
		if _, ok := groups[user]; !ok {
			users = append(users, user)
		}
		f["attributes"] = map[string]any{"type": "Task"}
		groups[user] = append(groups[user], pending{i, f})
	}
	verb := "create"
	if !create {
		verb = "update"
	}
	for _, user := range users {
		g := groups[user]
		for start := 0; start < len(g); start += maxCollection {
			batch := g[start:min(start+maxCollection, len(g))]
			records := make([]map[string]any, len(batch))
			for i, p := range batch {
				records[i] = p.fields
			}
			var out []SaveResult
			body := map[string]any{"allOrNone": false, "records": records}
			if err := c.do(ctx, c.tokensFor(user), method, "/composite/sobjects", body, &out); err != nil {
				return results, fmt.Errorf("salesforce: %s %d Tasks: %w", verb, len(ts), err)
			}
			if len(out) != len(batch) {
				return results, fmt.Errorf("salesforce: %s %d Tasks: %w", verb, len(ts), &Error{StatusCode: http.StatusBadGateway, ErrorCode: "BAD_RESPONSE", Message: fmt.Sprintf("%d results for %d records", len(out), len(batch))})
			}
			for i, p := range batch {
				for j := range out[i].Errors {
					out[i].Errors[j].StatusCode = http.StatusBadRequest
				}
				if !create && out[i].Success && out[i].ID == "" {
					out[i].ID = ids[p.idx]
				}
				results[p.idx] = out[i]
			}
		}
	}
	return results, nil
}

// CallTaskKey names one agent's Task of a call in FindCallTasks' answer;
// OwnerID is the 15-character form (ID15).
type CallTaskKey struct{ CallObject, OwnerID string }

// ID15 returns the case-sensitive 15-character form of a record id (an
// 18-character id without its checksum suffix).
func ID15(id string) string {
	if len(id) == 18 {
		return id[:15]
	}
	return id
}

// FindCallTasks returns the Tasks already written for calls, by CallObject
// and OwnerId (the oldest when there are several), with one SOQL query per
// 100 call ids. The outbox uses it before a create whose earlier attempt
// may have landed (lost answer, timeout, crash), so a retry never makes a
// second Task. Calls with no Task are absent from the map.
func (c *Client) FindCallTasks(ctx context.Context, callObjects []string) (map[CallTaskKey]string, error) {
	out := map[CallTaskKey]string{}
	seen := map[string]bool{}
	var uniq []string
	for _, co := range callObjects {
		if co != "" && !seen[co] {
			seen[co] = true
			uniq = append(uniq, co)
		}
	}
	for start := 0; start < len(uniq); start += 100 {
		chunk := uniq[start:min(start+100, len(uniq))]
		quoted := make([]string, len(chunk))
		for i, co := range chunk {
			quoted[i] = QuoteSOQL(co)
		}
		recs, err := c.Query(ctx, "SELECT Id, CallObject, OwnerId FROM Task WHERE CallObject IN ("+strings.Join(quoted, ", ")+") ORDER BY CreatedDate")
		if err != nil {
			return nil, fmt.Errorf("salesforce: find call Tasks: %w", err)
		}
		for _, r := range recs {
			k := CallTaskKey{r.String("CallObject"), ID15(r.String("OwnerId"))}
			if _, dup := out[k]; !dup {
				out[k] = r.ID()
			}
		}
	}
	return out, nil
}

// FindCallTask returns the Task that logs one agent's leg of a call: the
// call id in CallObject and the agent as owner (ErrNotFound when none). The
// adapter uses it before re-trying a create whose answer was lost, so a
// retry never makes a second Task.
func (c *Client) FindCallTask(ctx context.Context, callObject, ownerID string) (string, error) {
	if callObject == "" || !IsID(ownerID) {
		return "", fmt.Errorf("salesforce: find call Task: %w", &Error{StatusCode: http.StatusBadRequest, ErrorCode: "REQUIRED_FIELD_MISSING", Message: "CallObject and a valid OwnerId are required", Fields: []string{"CallObject", "OwnerId"}})
	}
	recs, err := c.Query(ctx, "SELECT Id FROM Task WHERE CallObject = "+QuoteSOQL(callObject)+" AND OwnerId = "+QuoteSOQL(ownerID)+" ORDER BY CreatedDate LIMIT 1")
	if err != nil {
		return "", fmt.Errorf("salesforce: find call Task: %w", err)
	}
	if len(recs) == 0 {
		return "", fmt.Errorf("salesforce: find call Task: %w", &Error{StatusCode: http.StatusNotFound, ErrorCode: "NOT_FOUND", Message: "no Task for this call and owner"})
	}
	return recs[0].ID(), nil
}

// FindTaskByCallObject returns the id of the oldest Task logged for the
// PBX call id, so a writer that lost an answer (dropped connection after
// a create, which is never repeated) can check before writing again.
// ErrNotFound when there is none.
func (c *Client) FindTaskByCallObject(ctx context.Context, callObject string) (string, error) {
	if callObject == "" {
		return "", fmt.Errorf("salesforce: find Task: %w", &Error{StatusCode: http.StatusBadRequest, ErrorCode: "REQUIRED_FIELD_MISSING", Message: "empty CallObject", Fields: []string{"CallObject"}})
	}
	recs, err := c.Query(ctx, "SELECT Id FROM Task WHERE CallObject = "+QuoteSOQL(callObject)+" ORDER BY CreatedDate LIMIT 1")
	if err != nil {
		return "", fmt.Errorf("salesforce: find Task by call: %w", err)
	}
	if len(recs) == 0 {
		return "", fmt.Errorf("salesforce: find Task by call: %w", &Error{StatusCode: http.StatusNotFound, ErrorCode: "NOT_FOUND", Message: "no Task for this call"})
	}
	return recs[0].ID(), nil
}
