package adapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/salesforce"
)

// The agent's commands. Each acts on the agent's own device only: the
// extension comes from the agent's session, never from the request, so an
// agent cannot touch another agent's phone.

func (s *Service) device(a Agent) (string, error) {
	if a.Extension == "" {
		return "", fmt.Errorf("no extension: log in to a phone first: %w", ErrConflict)
	}
	return a.Extension, nil
}

// agentCall returns one of the agent's stored calls (ErrNotFound).
func (s *Service) agentCall(ctx context.Context, a Agent, callID string) (CallRecord, error) {
	ext, err := s.device(a)
	if err != nil {
		return CallRecord{}, err
	}
	if err := checkCallID(callID); err != nil {
		return CallRecord{}, err
	}
	rec, err := s.Store.Call(ctx, ext, callID)
	if err != nil {
		return CallRecord{}, fmt.Errorf("call %q: %w", clip(callID, 40), err)
	}
	return rec, nil
}

// CallOp names a call command that takes no argument.
type CallOp string

// Call commands without arguments.
const (
	OpAnswer     CallOp = "answer"
	OpClear      CallOp = "clear"
	OpHold       CallOp = "hold"
	OpRetrieve   CallOp = "retrieve"
	OpTransfer   CallOp = "transfer"
	OpConference CallOp = "conference"
)

// CallCommand runs a call command on the agent's device.
func (s *Service) CallCommand(ctx context.Context, a Agent, callID string, op CallOp) error {
	ext, err := s.device(a)
	if err != nil {
		return err
	}
	if err := checkCallID(callID); err != nil {
		return err
	}
	var f func(context.Context, string, string) error
	switch op {
	case OpAnswer:
		f = s.Switch.Answer
	case OpClear:
		f = s.Switch.Clear
	case OpHold:
		f = s.Switch.Hold
	case OpRetrieve:
		f = s.Switch.Retrieve
	case OpTransfer:
		f = s.Switch.Transfer
	case OpConference:
		f = s.Switch.Conference
	default:
		return fmt.Errorf("unknown call command %q: %w", clip(string(op), 20), ErrInvalid)
	}
	release, err := s.commandLock(ctx, ext)
	if err != nil {
		return err
	}
	defer release()
	if err := f(ctx, ext, callID); err != nil {
		return fmt.Errorf("%s call %s: %w", op, clip(callID, 40), err)
	}
	return nil
}

// commandLockTTL bounds how long a command holds its phone's command
// lock if its instance dies mid-command (a PBX action times out in 10 s).
const commandLockTTL = 15 * time.Second

// commandLock takes ext's command lock (a lease in the Store, so across
// instances) for one call command: two at once on one phone (a double
// click, or requests that reached two instances) race on the PBX; on
// Asterisk two Bridge actions for one retrieve pulled both parties out
// of each other's bridge and the caller was hung up. ErrConflict while
// another command runs; when the Store cannot answer, the command runs
// unlocked (call control before strictness).
func (s *Service) commandLock(ctx context.Context, ext string) (release func(), err error) {
	name, owner := "command:"+ext, randomString(12)
	ok, err := s.Store.Claim(ctx, name, owner, commandLockTTL)
	if err != nil {
		s.Log.Warn().Err(err).Str("extension", ext).Msg("command lock unavailable: running the command unlocked")
		return func() {}, nil
	}
	if !ok {
		return nil, fmt.Errorf("another command on extension %s is still running: try again in a moment: %w", ext, ErrConflict)
	}
	return func() { _ = s.Store.Release(context.WithoutCancel(ctx), name, owner) }, nil
}

func checkCallID(id string) error {
	if id == "" || len(id) > 128 {
		return fmt.Errorf("call id: required, at most 128 characters: %w", ErrInvalid)
	}
	return nil
}

// MakeCall dials number from the agent's device: the one path of the agent
// API, click-to-dial and the Flow API. number is read by Numbers.Dial (raw
// text as a Salesforce Phone field holds it is fine); its extension is
// sent as DTMF once the far end answers.
func (s *Service) MakeCall(ctx context.Context, a Agent, number string) (string, error) {
	ext, err := s.device(a)
	if err != nil {
		return "", err
	}
	d, dial, err := s.Numbers.Dial(number)
	if err != nil {
		return "", err
	}
	id, err := s.Switch.MakeCall(ctx, ext, dial)
	if err != nil {
		return "", fmt.Errorf("make call: %w", err)
	}
	if d.Extension != "" {
		s.armExtension(ctx, ext, id, d.Extension)
	}
	return id, nil
}

// Consult holds the call and dials number (transfer or conference).
func (s *Service) Consult(ctx context.Context, a Agent, callID, number string) (string, error) {
	ext, err := s.device(a)
	if err != nil {
		return "", err
	}
	if err := checkCallID(callID); err != nil {
		return "", err
	}
	if strings.TrimSpace(number) == "" {
		return "", fmt.Errorf("number: required (who to transfer or conference to): %w", ErrInvalid)
	}
	d, dial, err := s.Numbers.Dial(number)
	if err != nil {
		return "", err
	}
	release, err := s.commandLock(ctx, ext)
	if err != nil {
		return "", err
	}
	defer release()
	id, err := s.Switch.Consult(ctx, ext, callID, dial)
	if err != nil {
		return "", fmt.Errorf("consult: %w", err)
	}
	if d.Extension != "" {
		s.armExtension(ctx, ext, id, d.Extension)
	}
	return id, nil
}

// Redirect sends a ringing call to number.
func (s *Service) Redirect(ctx context.Context, a Agent, callID, number string) error {
	ext, err := s.device(a)
	if err != nil {
		return err
	}
	if err := checkCallID(callID); err != nil {
		return err
	}
	if strings.TrimSpace(number) == "" {
		return fmt.Errorf("number: required (where to redirect the call): %w", ErrInvalid)
	}
	d, dial, err := s.Numbers.Dial(number)
	if err != nil {
		return err
	}
	if d.Extension != "" {
		return fmt.Errorf("number: a redirected call leaves your phone, so no extension can be keyed on it: redirect to the main number: %w", ErrInvalid)
	}
	release, err := s.commandLock(ctx, ext)
	if err != nil {
		return err
	}
	defer release()
	if err := s.Switch.Redirect(ctx, ext, callID, dial); err != nil {
		return fmt.Errorf("redirect: %w", err)
	}
	return nil
}

// SendDTMF sends digits on a call.
func (s *Service) SendDTMF(ctx context.Context, a Agent, callID, digits string) error {
	ext, err := s.device(a)
	if err != nil {
		return err
	}
	if err := checkCallID(callID); err != nil {
		return err
	}
	if err := ValidateDigits(digits); err != nil {
		return err
	}
	if err := s.Switch.SendDTMF(ctx, ext, callID, digits); err != nil {
		return fmt.Errorf("dtmf: %w", err)
	}
	return nil
}

// SetCode sets an account ("account") or classification ("classification")
// code on a call.
func (s *Service) SetCode(ctx context.Context, a Agent, callID, kind, code string) error {
	ext, err := s.device(a)
	if err != nil {
		return err
	}
	if err := checkCallID(callID); err != nil {
		return err
	}
	if code == "" || len(code) > 64 {
		return fmt.Errorf("code: required, at most 64 characters: %w", ErrInvalid)
	}
	switch kind {
	case "account":
		err = s.Switch.SetAccountCode(ctx, ext, callID, code)
	case "classification":
		err = s.Switch.SetClassificationCode(ctx, ext, callID, code)
	default:
		return fmt.Errorf("code kind %q: %w", kind, ErrInvalid)
	}
	if err != nil {
		return fmt.Errorf("%s code: %w", kind, err)
	}
	// Keep the stored call (which may be in post-call) in step.
	rec, err := s.Store.UpdateCall(ctx, ext, callID, func(rec *CallRecord, exists bool) (CallChange, error) {
		if !exists {
			return CallKeep, ErrNotFound
		}
		if kind == "account" {
			rec.AccountCode = code
		} else {
			rec.ClassificationCode = code
		}
		return CallPut, nil
	})
	if err == nil {
		_ = s.Bus.Publish(ctx, ext, AgentEvent{Type: EventCall, Call: &rec})
	}
	return nil
}

// SetDND turns Do Not Disturb on or off.
func (s *Service) SetDND(ctx context.Context, a Agent, on bool) error {
	ext, err := s.device(a)
	if err != nil {
		return err
	}
	return s.Switch.SetDND(ctx, ext, on)
}

// SetMakeBusy turns Make Busy on (with a reason code) or off.
func (s *Service) SetMakeBusy(ctx context.Context, a Agent, on bool, reason string) error {
	ext, err := s.device(a)
	if err != nil {
		return err
	}
	if len(reason) > 64 {
		return fmt.Errorf("reason: at most 64 characters: %w", ErrInvalid)
	}
	return s.Switch.SetMakeBusy(ctx, ext, on, reason)
}

// CancelWorkTimer ends the agent's work timer.
func (s *Service) CancelWorkTimer(ctx context.Context, a Agent) error {
	ext, err := s.device(a)
	if err != nil {
		return err
	}
	return s.Switch.CancelWorkTimer(ctx, ext)
}

// State is everything the softphone shows, for a (re)connecting client.
type State struct {
	Seq    uint64          `json:"seq"`
	Agent  Agent           `json:"agent"`
	Device pbx.DeviceState `json:"device"`
	Calls  []CallRecord    `json:"calls"`
}

// CurrentState reads the device's event sequence, then the state: events
// after that seq may repeat what the state shows, which is safe.
func (s *Service) CurrentState(ctx context.Context, a Agent) (State, error) {
	var seq uint64
	if a.Extension != "" {
		var err error
		if seq, err = s.Bus.Seq(ctx, a.Extension); err != nil {
			return State{}, err
		}
	}
	return s.State(ctx, a, seq)
}

// State returns the agent's current state. seq is the agent's event
// sequence read before the state (events after it may repeat what the
// state shows; they carry full snapshots, so applying them again is safe).
func (s *Service) State(ctx context.Context, a Agent, seq uint64) (State, error) {
	st := State{Seq: seq, Agent: a, Calls: []CallRecord{}}
	if a.Extension == "" {
		st.Device = pbx.DeviceState{Device: pbx.Device{Kind: a.Kind}}
		return st, nil
	}
	snap, err := s.Switch.Snapshot(ctx, a.Extension)
	if err != nil {
		return State{}, fmt.Errorf("state of %s: %w", a.Extension, err)
	}
	st.Device = snap.State
	calls, err := s.Store.Calls(ctx, a.Extension)
	if err != nil {
		return State{}, err
	}
	st.Calls = calls
	return st, nil
}

// Search finds contacts for the search bar.
func (s *Service) Search(ctx context.Context, a Agent, term string) ([]salesforce.Match, error) {
	term = strings.TrimSpace(term)
	if len([]rune(term)) < 2 {
		return nil, fmt.Errorf("q: at least 2 characters: %w", ErrInvalid)
	}
	if len(term) > 100 {
		return nil, fmt.Errorf("q: at most 100 characters: %w", ErrInvalid)
	}
	ms, err := s.CRM.SearchContacts(ctx, term, 20)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	if ms == nil {
		ms = []salesforce.Match{}
	}
	return ms, nil
}

// Ready reports the first dependency that is not usable.
func (s *Service) Ready(ctx context.Context) (string, error) {
	if err := s.Store.Ping(ctx); err != nil {
		return "redis", err
	}
	if err := s.Switch.Ping(ctx); err != nil {
		return "pbx", err
	}
	if err := s.crmReady(ctx); err != nil {
		return "salesforce", err
	}
	return "", nil
}

// crmCheckEvery bounds how often readiness probes cost a Salesforce API
// call (probes every few seconds would eat the org's daily limit).
const crmCheckEvery = 30 * time.Second

func (s *Service) crmReady(ctx context.Context) error {
	s.mu.Lock()
	at, err := s.crmAt, s.crmErr
	s.mu.Unlock()
	if !at.IsZero() && time.Since(at) < crmCheckEvery {
		return err
	}
	err = s.CRM.Ping(ctx)
	s.mu.Lock()
	s.crmAt, s.crmErr = time.Now(), err
	s.mu.Unlock()
	return err
}

// IsNotFound reports whether err means a missing resource in any layer.
func IsNotFound(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, pbx.ErrUnknownCall) || errors.Is(err, pbx.ErrUnknownDevice) || errors.Is(err, salesforce.ErrNotFound)
}

// DialedRecord is the Salesforce record the agent clicked to dial
// (Open CTI onClickToDial: Lightning's recordId, objectType, recordName;
// Classic's objectId, objectName). The call takes it as its caller record
// and logs its Task against it: a Contact or Lead is the WhoId, any other
// record (Account, Opportunity, Case, ...) the WhatId (Salesforce's Task
// rules: WhoId is only a Contact or Lead). A User is neither.
type DialedRecord struct {
	// ID is the 15- or 18-character record id.
	ID string `json:"recordId"`
	// Type is the sObject API name; empty means: from the id's key prefix,
	// which works only for the standard prefixes of keyPrefixTypes (another
	// prefix without a Type is ErrInvalid naming record.objectType).
	Type string `json:"objectType,omitempty"`
	// Name is the record's name as Salesforce showed it (at most 255 characters).
	Name string `json:"name,omitempty"`
}

// keyPrefixTypes maps standard key prefixes to sObject names (Salesforce's
// "Standard Field Record ID Prefix Decoder").
var keyPrefixTypes = map[string]string{"003": "Contact", "00Q": "Lead", "001": "Account", "006": "Opportunity", "500": "Case", "701": "Campaign", "005": "User"}

func (r DialedRecord) check() (DialedRecord, error) {
	ok := len(r.ID) == 15 || len(r.ID) == 18
	for _, c := range r.ID {
		ok = ok && (c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z')
	}
	if !ok {
		return r, fmt.Errorf("record.recordId: a 15- or 18-character Salesforce id: %w", ErrInvalid)
	}
	want := keyPrefixTypes[r.ID[:3]]
	if r.Type == "" {
		// A custom object's prefix (a0B...) is the org's own: without its
		// name the Task link cannot be written (Salesforce answers
		// MALFORMED_ID), so it is asked for now rather than lost later.
		if want == "" {
			return r, fmt.Errorf("record.objectType: required for a record whose id starts with %s (not a standard object's prefix; e.g. \"objectType\":\"Invoice__c\"): %w", r.ID[:3], ErrInvalid)
		}
		r.Type = want
	}
	if len(r.Type) > 80 || strings.ContainsFunc(r.Type, func(c rune) bool {
		return !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z')
	}) {
		return r, fmt.Errorf("record.objectType: an sObject API name such as Contact: %w", ErrInvalid)
	}
	if (r.Type == "Contact" || r.Type == "Lead") && want != r.Type {
		return r, fmt.Errorf("record: %s is not a %s id (%s ids start with %s): %w", clip(r.ID, 18), r.Type, r.Type, map[string]string{"Contact": "003", "Lead": "00Q"}[r.Type], ErrInvalid)
	}
	if len(r.Name) > 255 {
		return r, fmt.Errorf("record.name: at most 255 characters: %w", ErrInvalid)
	}
	return r, nil
}

type dialedJSON struct {
	Number string       `json:"number"`
	Record DialedRecord `json:"record"`
}

const dialedTTL = 2 * time.Minute

func dialedKey(ext string) string { return "dialed:" + ext }

// MakeCallFor dials number like MakeCall, for the record the agent clicked:
// the record is remembered for the device before dialing (the switch's
// first event may come before MakeCall returns) and taken by the call's
// lookup (takeDialed). Errors: ErrInvalid for a bad record, else MakeCall's.
func (s *Service) MakeCallFor(ctx context.Context, a Agent, number string, r DialedRecord) (string, error) {
	r, err := r.check()
	if err != nil {
		return "", err
	}
	ext, err := s.device(a)
	if err != nil {
		return "", err
	}
	dialed := number
	if _, d, err := s.Numbers.Dial(number); err == nil {
		dialed = d // what the switch dials (no extension, letters read as digits)
	}
	b, _ := json.Marshal(dialedJSON{Number: dialed, Record: r})
	if err := s.Store.SetCache(ctx, dialedKey(ext), b, dialedTTL); err != nil {
		return "", fmt.Errorf("make call: remember the dialed record: %w", err)
	}
	return s.MakeCall(ctx, a, number)
}

// takeDialed gives a new outgoing call the record the agent clicked to
// dial it, if its number is the one dialed: the record becomes the only
// match (no "pick a record" step) and the Task's WhoId or WhatId.
func (s *Service) takeDialed(ctx context.Context, rec *CallRecord) bool {
	b, ok, err := s.Store.Cache(ctx, dialedKey(rec.Extension))
	if err != nil || !ok || len(b) == 0 {
		return false
	}
	var d dialedJSON
	if json.Unmarshal(b, &d) != nil || !(sameNumber(d.Number, rec.Number) || s.dialedAs(d.Number, rec.Number)) {
		return false
	}
	_ = s.Store.SetCache(ctx, dialedKey(rec.Extension), nil, time.Millisecond) // used: forget it
	r := d.Record
	if r.Name == "" {
		// Classic's click-to-dial gives no record name: read it from
		// Salesforce's matches for the number.
		lctx, cancel := context.WithTimeout(ctx, s.LookupTimeout)
		ms, err := s.CRM.FindByPhone(lctx, rec.Number)
		cancel()
		for _, m := range ms {
			if err == nil && len(m.ID) >= 15 && m.ID[:15] == r.ID[:15] { // a 15-character id is the 18's case-sensitive prefix
				r.ID, r.Name, r.Type = m.ID, m.Name, m.Type
			}
		}
	}
	rec.Matches = []salesforce.Match{{ID: r.ID, Name: r.Name, Type: r.Type, Phone: rec.Number}}
	switch r.Type {
	case "Contact", "Lead":
		rec.Log.WhoID = r.ID
	case "User":
	default:
		rec.Log.WhatID = r.ID
	}
	s.Log.Info().Str("call", rec.ID).Str("record_id", r.ID).Str("object_type", r.Type).Msg("click-to-dial record taken as the caller")
	return true
}

// dialedAs reports whether dialling text (which may hold an extension,
// vanity letters or dialing prefixes) called number, the call's canonical
// number.
func (s *Service) dialedAs(text, number string) bool {
	d, _, err := s.Numbers.Dial(text)
	return err == nil && d.Number == number
}

// sameNumber compares two phone numbers by their digits (the dialed form
// may carry a + or punctuation the switch drops).
func sameNumber(a, b string) bool {
	digits := func(s string) string {
		return strings.Map(func(c rune) rune {
			if c >= '0' && c <= '9' {
				return c
			}
			return -1
		}, s)
	}
	da, db := digits(a), digits(b)
	if da == "" || db == "" {
		return false
	}
	if len(da) < len(db) {
		da, db = db, da
	}
	return da == db || (len(db) >= 7 && strings.HasSuffix(da, db))
}
