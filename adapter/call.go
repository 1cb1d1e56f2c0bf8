package adapter

import (
	"time"

	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/salesforce"
)

// CallRecord is what the adapter keeps about one call on one agent's device:
// the switch's view, the Salesforce matches and the call log. It is what the
// softphone shows (the agent API's CallView).
type CallRecord struct {
	ID        string        `json:"id"`
	Extension string        `json:"extension"`
	Direction pbx.Direction `json:"direction"`
	// State is the device's own connection state on the call.
	State   pbx.ConnState `json:"state"`
	ANI     string        `json:"ani,omitempty"`
	DNIS    string        `json:"dnis,omitempty"`
	Digits  string        `json:"digits,omitempty"`
	Queue   string        `json:"queue,omitempty"`
	ACD     bool          `json:"acd,omitempty"`
	Parties []pbx.Party   `json:"parties"`
	// RelatedID links a consultation call and the held call.
	RelatedID string `json:"relatedId,omitempty"`
	// Consult marks a consultation call (made to consult about a transfer
	// or conference, or received as one): part of the call it consults
	// about, not logged or wrapped up on its own.
	Consult bool `json:"consult,omitempty"`
	// Via is how the call first reached the device (new, transferred,
	// redirected, ...).
	Via pbx.Cause `json:"via,omitempty"`
	// Number is the other party's number as the agent sees it (ANI for an
	// inbound call, the dialed number for an outbound call): E.164 for an
	// external number (dialing prefixes taken off), "" when withheld.
	Number string `json:"number"`
	// Withheld: the caller withheld the number (ANI "anonymous",
	// "0000000000", ...; see phone.Withheld). Nothing is looked up.
	Withheld bool `json:"withheld,omitempty"`

	Started  time.Time `json:"started"`
	Answered time.Time `json:"answered,omitzero"`
	Ended    time.Time `json:"ended,omitzero"`

	// Matches are the Salesforce records found for the call; Pop says what
	// the softphone should pop (rule, matches, or a new record form).
	Matches []salesforce.Match    `json:"matches"`
	Pop     *salesforce.PopResult `json:"pop,omitempty"`
	// LookupError is set when the Salesforce lookup failed (the call still
	// rings; the agent can search by hand).
	LookupError string `json:"lookupError,omitempty"`
	// Lookup is LookupPending ("pending") while the Salesforce lookup
	// runs: the call rings at once and its matches follow in a later
	// push; empty once they are in.
	Lookup string `json:"lookup,omitempty"`

	Log CallLog `json:"log"`

	AccountCode        string `json:"accountCode,omitempty"`
	ClassificationCode string `json:"classificationCode,omitempty"`
	// Redirected: the agent sent the call elsewhere while it rang; such
	// calls are not logged (the guide).
	Redirected bool `json:"redirected,omitempty"`
	// PostCall is true after the agent left the call until wrap-up.
	PostCall bool `json:"postCall"`
	// TaskID is the Salesforce Task logged for the call, once written.
	TaskID string `json:"taskId,omitempty"`
	// SwitchSeq is the Seq (pbx.Event) of the last switch event of the
	// device applied to the record, so that an instance taking the
	// device over skips the events it replays that were applied already.
	SwitchSeq uint64 `json:"switchSeq,omitempty"`
}

// CallLog is what the agent wrote about a call.
type CallLog struct {
	Subject     string   `json:"subject"`
	Notes       string   `json:"notes"`
	QuickNotes  []string `json:"quickNotes"`
	WhoID       string   `json:"whoId,omitempty"`
	WhatID      string   `json:"whatId,omitempty"`
	Disposition string   `json:"disposition,omitempty"`
}

// Answered reports whether the device ever talked on the call.
func (c *CallRecord) wasAnswered() bool { return !c.Answered.IsZero() }

// Duration is the talk time: from answer to end (zero if never answered).
// A connected call lasts at least one second.
func (c *CallRecord) Duration() time.Duration {
	if c.Answered.IsZero() || c.Ended.IsZero() || c.Ended.Before(c.Answered) {
		return 0
	}
	d := c.Ended.Sub(c.Answered).Round(time.Second)
	if d < time.Second {
		d = time.Second
	}
	return d
}

// Missed reports whether an inbound call ended without being answered here.
func (c *CallRecord) Missed() bool {
	return c.Direction != pbx.Outbound && !c.wasAnswered() && !c.Redirected && c.isIncoming()
}

func (c *CallRecord) isIncoming() bool {
	if len(c.Parties) == 0 {
		return false
	}
	// The device is incoming when it was not the first party.
	return c.Parties[0].Number != c.Extension
}
