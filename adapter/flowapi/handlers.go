package flowapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v5"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/phone"
	"github.com/switchboard-cti/switchboard/salesforce"
)

// A Flow names a user by Salesforce user Id: 15 or 18 letters and digits
// starting with the User key prefix 005 (Salesforce's record Id format).

// UserID checks a user Id and returns its 18-character form (the
// case-insensitive Id with its 3-character checksum, as the REST API
// returns Ids). ErrInvalid says what is wrong.
func UserID(id string) (string, error) {
	if !salesforce.IsID(id) || !strings.HasPrefix(id, "005") {
		return "", fmt.Errorf("userId %q: a Salesforce user Id is 15 or 18 letters and digits starting with 005 (in a Flow: {!$User.Id} or a User record's Id): %w", clip(id, 40), adapter.ErrInvalid)
	}
	id18 := To18(id[:15])
	if len(id) == 18 && !strings.EqualFold(id, id18) {
		return "", fmt.Errorf("userId %q: the last 3 characters are not this Id's checksum; copy the Id again: %w", id, adapter.ErrInvalid)
	}
	return id18, nil
}

// To18 adds the checksum suffix to a 15-character Salesforce Id: for each
// block of 5 characters, a bit per upper-case letter, read as an index into
// A-Z0-5.
func To18(id15 string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	suffix := make([]byte, 3)
	for b := 0; b < 3; b++ {
		n := 0
		for i := 0; i < 5; i++ {
			if c := id15[b*5+i]; c >= 'A' && c <= 'Z' {
				n |= 1 << i
			}
		}
		suffix[b] = alphabet[n]
	}
	return id15 + string(suffix)
}

// agent resolves a user to the phone it controls: the device the user is
// signed in to (hot desk, ACD set) as the softphone last saw it, else the
// regular phone named by the user's Extension field in Salesforce.
func (a *API) agent(ctx context.Context, rawID string) (adapter.Agent, error) {
	id, err := UserID(rawID)
	if err != nil {
		return adapter.Agent{}, err
	}
	if ag, err := a.svc.Store.Agent(ctx, id); err == nil && ag.Extension != "" {
		return ag, nil
	} else if err != nil && !errors.Is(err, adapter.ErrNotFound) {
		return adapter.Agent{}, err
	}
	u, err := a.user(ctx, id)
	if err != nil {
		return adapter.Agent{}, err
	}
	if u.Extension == "" {
		return adapter.Agent{}, fmt.Errorf("user %s has no phone: an admin sets the Extension field on the Salesforce user: %w", id, adapter.ErrConflict)
	}
	devices, err := a.svc.Switch.Devices(ctx)
	if err != nil {
		return adapter.Agent{}, err
	}
	for _, d := range devices {
		if d.Extension != u.Extension {
			continue
		}
		if d.Kind != pbx.KindRegular {
			return adapter.Agent{}, fmt.Errorf("user %s is not logged in to %s phone %s: they log in from the softphone first: %w", id, d.Kind, u.Extension, pbx.ErrNotLoggedIn)
		}
		return adapter.Agent{UserID: id, Username: u.Username, Name: u.Name, Extension: u.Extension, Kind: d.Kind, HomeExtension: u.Extension}, nil
	}
	return adapter.Agent{}, fmt.Errorf("user %s: extension %q is not on the phone system: an admin fixes the user's Extension field: %w", id, clip(u.Extension, 20), adapter.ErrConflict)
}

// userCacheTTL is how long a user read from Salesforce is reused: a Flow
// calling for the same user again costs no API call, and an admin's change
// of the phone mapping applies within a minute.
const userCacheTTL = time.Minute

// user reads a Salesforce user through a short cache in the store
// (ErrNotFound when there is none).
func (a *API) user(ctx context.Context, id string) (salesforce.User, error) {
	key := "flowuser:" + id
	if b, ok, err := a.svc.Store.Cache(ctx, key); err == nil && ok {
		var u salesforce.User
		if json.Unmarshal(b, &u) == nil && u.ID != "" {
			return u, nil
		}
	}
	u, err := a.users.User(ctx, id)
	if err != nil {
		if errors.Is(err, salesforce.ErrNotFound) {
			return salesforce.User{}, fmt.Errorf("user %s: no such Salesforce user: %w", id, adapter.ErrNotFound)
		}
		return salesforce.User{}, fmt.Errorf("user %s: %w", id, err)
	}
	if b, err := json.Marshal(u); err == nil {
		_ = a.svc.Store.SetCache(ctx, key, b, userCacheTTL)
	}
	return u, nil
}

// DialRequest is the body of click-to-dial.
type DialRequest struct {
	// Number to call: an extension or an external number.
	Number string `json:"number"`
}

// DialResponse says which call was started.
type DialResponse struct {
	CallID    string `json:"callId"`
	UserID    string `json:"userId"`
	Extension string `json:"extension"`
}

// clickToDial is POST /users/{userId}/calls: the call starts from the
// user's own phone (it rings or goes off-hook there first, as the switch
// does for the agent API's make-call).
func (a *API) clickToDial(c *echo.Context) error {
	var in DialRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Number) == "" {
		return fmt.Errorf("number: required (the number or extension to call): %w", adapter.ErrInvalid)
	}
	ctx := c.Request().Context()
	ag, err := a.agent(ctx, c.Param("userId"))
	if err != nil {
		return err
	}
	id, err := a.svc.MakeCall(ctx, ag, in.Number)
	if err != nil {
		return err
	}
	a.log.Info().Str("client", clientOf(c)).Str("user", ag.UserID).Str("call", id).Msg("flow click-to-dial")
	return c.JSON(http.StatusCreated, DialResponse{CallID: id, UserID: ag.UserID, Extension: ag.Extension})
}

func clientOf(c *echo.Context) string {
	s, _ := c.Get("client").(string)
	return s
}

// Presence is a user's availability on the phone system.
type Presence struct {
	UserID    string `json:"userId"`
	Extension string `json:"extension"`
	// DND: Do Not Disturb (takes precedence over Make Busy).
	DND      bool `json:"dnd"`
	MakeBusy bool `json:"makeBusy"`
	// Reason is the Make Busy reason code ("" when none).
	Reason    string `json:"reason"`
	LoggedIn  bool   `json:"loggedIn"`
	WorkTimer bool   `json:"workTimer"`
}

func (a *API) readPresence(ctx context.Context, ag adapter.Agent) (Presence, error) {
	snap, err := a.svc.Switch.Snapshot(ctx, ag.Extension)
	if err != nil {
		return Presence{}, err
	}
	st := snap.State
	return Presence{UserID: ag.UserID, Extension: ag.Extension, DND: st.DND, MakeBusy: st.MakeBusy,
		Reason: st.Reason, LoggedIn: st.LoggedIn, WorkTimer: st.WorkTimer}, nil
}

// presence is GET /users/{userId}/presence.
func (a *API) presence(c *echo.Context) error {
	ctx := c.Request().Context()
	ag, err := a.agent(ctx, c.Param("userId"))
	if err != nil {
		return err
	}
	p, err := a.readPresence(ctx, ag)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

// PresenceRequest changes DND and/or Make Busy; fields left out stay.
type PresenceRequest struct {
	DND      *bool `json:"dnd"`
	MakeBusy *bool `json:"makeBusy"`
	// Reason is a configured Make Busy reason code (GET /codes), only
	// with makeBusy true.
	Reason *string `json:"reason"`
}

// setPresence is PATCH /users/{userId}/presence.
func (a *API) setPresence(c *echo.Context) error {
	var in PresenceRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	if in.DND == nil && in.MakeBusy == nil {
		return fmt.Errorf("body: give dnd and/or makeBusy (true or false): %w", adapter.ErrInvalid)
	}
	reason := ""
	if in.Reason != nil {
		reason = strings.TrimSpace(*in.Reason)
	}
	if reason != "" && (in.MakeBusy == nil || !*in.MakeBusy) {
		return fmt.Errorf("reason: only with makeBusy true: %w", adapter.ErrInvalid)
	}
	ctx := c.Request().Context()
	if in.MakeBusy != nil && *in.MakeBusy {
		codes, err := a.svc.Switch.Codes(ctx)
		if err != nil {
			return err
		}
		if err := checkCode("reason", reason, codes.Reasons, len(codes.Reasons) > 0); err != nil {
			return err
		}
	}
	ag, err := a.agent(ctx, c.Param("userId"))
	if err != nil {
		return err
	}
	if in.DND != nil {
		if err := a.svc.SetDND(ctx, ag, *in.DND); err != nil {
			return err
		}
	}
	if in.MakeBusy != nil {
		if err := a.svc.SetMakeBusy(ctx, ag, *in.MakeBusy, reason); err != nil {
			return err
		}
	}
	p, err := a.readPresence(ctx, ag)
	if err != nil {
		return err
	}
	a.log.Info().Str("client", clientOf(c)).Str("user", ag.UserID).Bool("dnd", p.DND).Bool("make_busy", p.MakeBusy).Msg("flow presence set")
	return c.JSON(http.StatusOK, p)
}

// checkCode checks code against the configured codes, with a message that
// lists them.
func checkCode(field, code string, codes []pbx.Code, required bool) error {
	if code == "" {
		if required {
			return fmt.Errorf("%s: required, one of %s (GET %s/codes): %w", field, codeList(codes), Base, adapter.ErrInvalid)
		}
		return nil
	}
	if !slices.ContainsFunc(codes, func(c pbx.Code) bool { return c.Code == code }) {
		if len(codes) == 0 {
			return fmt.Errorf("%s: no codes are configured on the phone system; leave it out: %w", field, adapter.ErrInvalid)
		}
		return fmt.Errorf("%s %q: not a configured code; use one of %s: %w", field, clip(code, 40), codeList(codes), adapter.ErrInvalid)
	}
	return nil
}

func codeList(codes []pbx.Code) string {
	var s []string
	for _, c := range codes {
		s = append(s, c.Code)
	}
	return strings.Join(s, ", ")
}

// Record is a Salesforce record matched to a call.
type Record struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Name string `json:"name"`
}

// Call is a user's current call as a Flow sees it.
type Call struct {
	CallID    string `json:"callId"`
	Direction string `json:"direction"`
	// State is the user's own connection: alerting, connected, held, ...
	State  string `json:"state"`
	ANI    string `json:"ani"`
	DNIS   string `json:"dnis"`
	Digits string `json:"digits"`
	Queue  string `json:"queue"`
	// Number is the other party's number as the user sees it ("" when
	// Withheld).
	Number string `json:"number"`
	// Withheld: the caller withheld the number.
	Withheld           bool      `json:"withheld"`
	Started            time.Time `json:"started"`
	AccountCode        string    `json:"accountCode"`
	ClassificationCode string    `json:"classificationCode"`
	Matches            []Record  `json:"matches"`
}

// CurrentCall answers GET /users/{userId}/call: Active is false (and Call
// absent) when the user has no call.
type CurrentCall struct {
	UserID string `json:"userId"`
	Active bool   `json:"active"`
	Call   *Call  `json:"call,omitempty"`
}

// currentCall is GET /users/{userId}/call: the call the user is on (a
// connected call first, then a ringing one, then one on hold).
func (a *API) currentCall(c *echo.Context) error {
	ctx := c.Request().Context()
	ag, err := a.agent(ctx, c.Param("userId"))
	if err != nil {
		return err
	}
	st, err := a.svc.CurrentState(ctx, ag)
	if err != nil {
		return err
	}
	out := CurrentCall{UserID: ag.UserID}
	if rec := pickCall(st.Calls); rec != nil {
		out.Active = true
		call := Call{CallID: rec.ID, Direction: string(rec.Direction), State: string(rec.State), ANI: rec.ANI, DNIS: rec.DNIS,
			Digits: rec.Digits, Queue: rec.Queue, Number: rec.Number, Withheld: rec.Withheld, Started: rec.Started,
			AccountCode: rec.AccountCode, ClassificationCode: rec.ClassificationCode, Matches: []Record{}}
		for _, m := range rec.Matches {
			call.Matches = append(call.Matches, Record{ID: m.ID, Type: m.Type, Name: m.Name})
		}
		out.Call = &call
	}
	return c.JSON(http.StatusOK, out)
}

func pickCall(calls []adapter.CallRecord) *adapter.CallRecord {
	for _, want := range []pbx.ConnState{pbx.Connected, pbx.Alerting, pbx.Held} {
		for i := range calls {
			if !calls[i].PostCall && calls[i].State == want {
				return &calls[i]
			}
		}
	}
	for i := range calls {
		if !calls[i].PostCall {
			return &calls[i]
		}
	}
	return nil
}

// Codes lists the codes configured on the phone system.
type Codes struct {
	Reasons         []pbx.Code `json:"reasons"`
	Accounts        []pbx.Code `json:"accounts"`
	Classifications []pbx.Code `json:"classifications"`
	// ClassificationRequired: an ACD agent's work timer cannot end before
	// a classification code is set.
	ClassificationRequired bool `json:"classificationRequired"`
}

// codes is GET /codes.
func (a *API) codes(c *echo.Context) error {
	cs, err := a.svc.Switch.Codes(c.Request().Context())
	if err != nil {
		return err
	}
	nz := func(v []pbx.Code) []pbx.Code {
		if v == nil {
			return []pbx.Code{}
		}
		return v
	}
	return c.JSON(http.StatusOK, Codes{Reasons: nz(cs.Reasons), Accounts: nz(cs.Accounts), Classifications: nz(cs.Classifications), ClassificationRequired: cs.ClassificationRequired})
}

// LogCallRequest describes a call made or taken outside Switchboard (a
// mobile phone, another system) to log as a completed Task.
type LogCallRequest struct {
	// Number is the other party's number (required).
	Number string `json:"number"`
	// Direction is Inbound, Outbound or Internal (Task.CallType).
	Direction string `json:"direction"`
	Subject   string `json:"subject"`
	Notes     string `json:"notes"`
	// DurationSeconds is the talk time.
	DurationSeconds int `json:"durationSeconds"`
	// Disposition is the call result (Task.CallDisposition).
	Disposition string `json:"disposition"`
	// WhoID is a Contact or Lead; WhatID an Account, Case, Opportunity, ...
	WhoID  string `json:"whoId"`
	WhatID string `json:"whatId"`
	// ExternalCallID is the other system's call id (Task.CallObject). The
	// same id logged again updates the same Task.
	ExternalCallID string `json:"externalCallId"`
	// StartedAt is when the call started (RFC 3339; default now): the
	// Task's ActivityDate.
	StartedAt string `json:"startedAt"`
}

// The range of dates a Salesforce date field accepts (Task.ActivityDate):
// "The earliest valid date is 1700-01-01T00:00:00Z GMT ... The latest valid
// date is 4000-12-31T00:00:00Z GMT" (Salesforce Data Loader Guide, "Data
// Import Dates"). Compared as YYYY-MM-DD strings.
const (
	minTaskDate = "1700-01-01"
	maxTaskDate = "4000-12-31"
)

// LogCallResponse says the call log is queued in the outbox.
type LogCallResponse struct {
	Status string `json:"status"`
	// CallObject is the Task's CallObject (the external call id, or one
	// made up when none was given).
	CallObject string `json:"callObject"`
}

func (in *LogCallRequest) validate() error {
	var problems []string
	if strings.TrimSpace(in.Number) == "" {
		problems = append(problems, "number: required")
	} else if phone.Withheld(in.Number) {
		if in.Direction != "Inbound" {
			problems = append(problems, "number: a withheld caller id is only for an Inbound call")
		}
	} else if err := adapter.ValidateNumber(in.Number); err != nil {
		problems = append(problems, strings.TrimSuffix(err.Error(), ": "+adapter.ErrInvalid.Error()))
	}
	switch in.Direction {
	case "Inbound", "Outbound", "Internal":
	case "":
		problems = append(problems, "direction: required, Inbound, Outbound or Internal")
	default:
		problems = append(problems, fmt.Sprintf("direction %q: use Inbound, Outbound or Internal", clip(in.Direction, 20)))
	}
	if salesforce.UTF16Len(in.Subject) > adapter.MaxCallSubject {
		problems = append(problems, fmt.Sprintf("subject: at most %d characters (UTF-16 code units, as Salesforce counts)", adapter.MaxCallSubject))
	}
	if salesforce.UTF16Len(in.Notes) > adapter.MaxNotes {
		problems = append(problems, fmt.Sprintf("notes: at most %d characters (UTF-16 code units, as Salesforce counts)", adapter.MaxNotes))
	}
	if in.DurationSeconds < 0 || in.DurationSeconds > 7*24*3600 {
		problems = append(problems, "durationSeconds: 0 to 604800")
	}
	if salesforce.UTF16Len(in.Disposition) > 255 {
		problems = append(problems, "disposition: at most 255 characters (UTF-16 code units, as Salesforce counts)")
	}
	for _, f := range []struct{ name, v string }{{"whoId", in.WhoID}, {"whatId", in.WhatID}} {
		if f.v != "" && !salesforce.IsID(f.v) {
			problems = append(problems, fmt.Sprintf("%s %q: not a Salesforce record Id", f.name, clip(f.v, 20)))
		}
	}
	if len(in.ExternalCallID) > 200 {
		problems = append(problems, "externalCallId: at most 200 characters")
	}
	if in.StartedAt != "" {
		if t, err := time.Parse(time.RFC3339, in.StartedAt); err != nil {
			problems = append(problems, "startedAt: an RFC 3339 date-time like 2026-11-30T14:05:00Z")
		} else if d := t.UTC().Format(time.DateOnly); d < minTaskDate || d > maxTaskDate {
			problems = append(problems, fmt.Sprintf("startedAt: the date (UTC) must be from %s to %s, the range Salesforce date fields accept", minTaskDate, maxTaskDate))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %w", strings.Join(problems, "; "), adapter.ErrInvalid)
	}
	return nil
}

// logCall is POST /users/{userId}/tasks: the Task goes into the durable
// outbox (Store.EnqueueTask), which writes it to Salesforce with retries;
// 202 once it is stored.
func (a *API) logCall(c *echo.Context) error {
	var in LogCallRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	uid, err := UserID(c.Param("userId"))
	if err != nil {
		return err
	}
	// The owner must exist, or Salesforce would refuse the Task later.
	if _, err := a.svc.Store.Agent(ctx, uid); err != nil {
		if _, err := a.user(ctx, uid); err != nil {
			return err
		}
	}
	now := a.now()
	started := now
	if in.StartedAt != "" {
		started, _ = time.Parse(time.RFC3339, in.StartedAt)
	}
	callObject := in.ExternalCallID
	if callObject == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		callObject = "flow-" + hex.EncodeToString(b)
	}
	subject := in.Subject
	if subject == "" {
		subject = "Call"
	}
	task := salesforce.Task{
		Subject:               truncate(fmt.Sprintf("%s: %s %s", subject, in.Direction, taskNumber(in.Number)), 255),
		Description:           in.Notes,
		Status:                "Completed",
		Priority:              "Normal",
		ActivityDate:          started.UTC().Format(time.DateOnly),
		WhoID:                 in.WhoID,
		WhatID:                in.WhatID,
		OwnerID:               uid,
		TaskSubtype:           "Call",
		Type:                  "Call",
		CallType:              in.Direction,
		CallDurationInSeconds: in.DurationSeconds,
		CallObject:            callObject,
		CallDisposition:       in.Disposition,
	}
	job := adapter.TaskJob{Key: "flow:" + callObject + "/" + uid, UserID: uid, CallID: callObject, Task: task, Created: now}
	if err := a.svc.Store.EnqueueTask(ctx, job); err != nil {
		return fmt.Errorf("call log not queued; retry: %w", err)
	}
	a.log.Info().Str("client", clientOf(c)).Str("user", uid).Str("call_object", clip(callObject, 40)).Msg("flow call log queued")
	return c.JSON(http.StatusAccepted, LogCallResponse{Status: "queued", CallObject: callObject})
}

// taskNumber is the number a Task names, or that the caller withheld it.
func taskNumber(n string) string {
	if phone.Withheld(n) {
		return adapter.WithheldText
	}
	return n
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
