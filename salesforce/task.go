package salesforce

import (
	"context"
	"fmt"
	"net/http"
	"unicode/utf8"
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

// validate checks what Salesforce would reject, before anything is sent.
func (t Task) validate() *Error {
	for _, l := range taskLengths {
		if n := utf8.RuneCountInString(l.get(t)); n > l.max {
			return &Error{StatusCode: http.StatusBadRequest, ErrorCode: "STRING_TOO_LONG",
				Message: fmt.Sprintf("%s: %d characters, at most %d (checked before sending)", l.field, n, l.max), Fields: []string{l.field}}
		}
	}
	for _, f := range []struct{ name, id string }{{"WhoId", t.WhoID}, {"WhatId", t.WhatID}, {"OwnerId", t.OwnerID}} {
		if f.id != "" && !IsID(f.id) {
			return &Error{StatusCode: http.StatusBadRequest, ErrorCode: "MALFORMED_ID",
				Message: f.name + ": not a record id (checked before sending)", Fields: []string{f.name}}
		}
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
	if len(t.WhoID) >= 3 && t.WhoID[:3] == "001" && t.WhatID == "" {
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
func (c *Client) tokensFor(asUsername string) TokenSource {
	if asUsername != "" && c.cfg.UserTokens != nil {
		if ts := c.cfg.UserTokens(asUsername); ts != nil {
			return ts
		}
	}
	return c.cfg.Tokens
}

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
	if len(t.WhoID) >= 3 && t.WhoID[:3] == "001" && t.WhatID == "" {
		t.WhatID, t.WhoID = t.WhoID, ""
	}
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
	results := make([]SaveResult, len(ts))
	type pending struct {
		idx    int
		fields map[string]any
	}
	groups := map[string][]pending{}
	var users []string
	for i, t := range ts {
		t = t.normalize()
		if e := t.validate(); e != nil {
			results[i] = SaveResult{Errors: []Error{*e}}
			continue
		}
		user := ""
		if c.cfg.UserTokens != nil {
			user = t.AsUsername
		}
		if _, ok := groups[user]; !ok {
			users = append(users, user)
		}
		f := t.fields(true)
		f["attributes"] = map[string]any{"type": "Task"}
		groups[user] = append(groups[user], pending{i, f})
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
			if err := c.do(ctx, c.tokensFor(user), http.MethodPost, "/composite/sobjects", body, &out); err != nil {
				return results, fmt.Errorf("salesforce: create %d Tasks: %w", len(ts), err)
			}
			if len(out) != len(batch) {
				return results, fmt.Errorf("salesforce: create %d Tasks: %w", len(ts), &Error{StatusCode: http.StatusBadGateway, ErrorCode: "BAD_RESPONSE", Message: fmt.Sprintf("%d results for %d records", len(out), len(batch))})
			}
			for i, p := range batch {
				for j := range out[i].Errors {
					out[i].Errors[j].StatusCode = http.StatusBadRequest
				}
				results[p.idx] = out[i]
			}
		}
	}
	return results, nil
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
