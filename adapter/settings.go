package adapter

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-cti/switchboard/salesforce"
)

// Settings are an agent's own settings: the two tabs of the guide's Settings
// window.
type Settings struct {
	// MiVoice tab.
	Tooltips         bool   `json:"tooltips"`
	EditNumberToDial bool   `json:"editNumberToDial"`
	AutoSaveNotes    bool   `json:"autoSaveNotes"`
	Logs             bool   `json:"logs"`
	CallSubject      string `json:"callSubject"`
	// Salesforce tab.
	OutboundCallNotes bool `json:"outboundCallNotes"`
	InboundCallNotes  bool `json:"inboundCallNotes"`
	InternalCallNotes bool `json:"internalCallNotes"`
	// PopAt is "ringing" or "answered".
	PopAt string `json:"popAt"`
	// PopOrder lists the rules in the order to try; rules not listed are in
	// the "Do not pop" section. Null: the admin's default order.
	PopOrder []salesforce.PopRule `json:"popOrder"`
}

// Pop timing values.
const (
	PopAtRinging  = "ringing"
	PopAtAnswered = "answered"
)

// Limits on per-agent data.
const (
	MaxFavorites     = 50
	MaxCallSubject   = 255
	MaxNotes         = 32000
	MaxQuickNotes    = 20
	maxFavoriteField = 255
	HistoryAllSize   = 30
	HistoryListSize  = 10
)

// DefaultSettings are the settings of an agent who never changed them.
func DefaultSettings() Settings {
	return Settings{
		Tooltips:          true,
		EditNumberToDial:  false,
		AutoSaveNotes:     false,
		CallSubject:       "Call",
		OutboundCallNotes: true,
		InboundCallNotes:  true,
		InternalCallNotes: true,
		PopAt:             PopAtRinging,
	}
}

var knownRules = []salesforce.PopRule{"ani", "dnis", "digits", "new_contact"}

// Validate checks settings sent by a client.
func (s Settings) Validate() error {
	if s.PopAt != PopAtRinging && s.PopAt != PopAtAnswered {
		return fmt.Errorf("popAt: must be %q or %q: %w", PopAtRinging, PopAtAnswered, ErrInvalid)
	}
	if salesforce.UTF16Len(s.CallSubject) > MaxCallSubject {
		return fmt.Errorf("callSubject: at most %d characters: %w", MaxCallSubject, ErrTooLarge)
	}
	seen := map[salesforce.PopRule]bool{}
	for _, r := range s.PopOrder {
		if !slices.Contains(knownRules, r) {
			return fmt.Errorf("popOrder: unknown rule %q (use ani, dnis, digits, new_contact): %w", r, ErrInvalid)
		}
		if seen[r] {
			return fmt.Errorf("popOrder: rule %q listed twice: %w", r, ErrInvalid)
		}
		seen[r] = true
	}
	return nil
}

// UpdateSettings changes some of the agent's settings: apply (the HTTP
// layer's JSON decoder) writes the fields a client sent onto the stored
// settings, so fields it left out keep their stored values; "popOrder":
// null goes back to the admin's default order. The result is validated
// and stored (ErrInvalid, ErrTooLarge) and returned as Settings returns
// it, the default order filled in. Two updates at once: the later write
// wins whole (read-merge-write, no lock), as two full PUTs would.
func (s *Service) UpdateSettings(ctx context.Context, a Agent, apply func(*Settings) error) (Settings, error) {
	st, err := s.Store.Settings(ctx, a.UserID)
	if err != nil {
		return Settings{}, err
	}
	if err := apply(&st); err != nil {
		return Settings{}, err
	}
	if _, err := s.PutSettings(ctx, a, st); err != nil {
		return Settings{}, err
	}
	if st.PopOrder == nil {
		st.PopOrder = append([]salesforce.PopRule{}, s.DefaultPopOrder...)
	}
	return st, nil
}

// Favorite is a contact the agent keeps at hand.
type Favorite struct {
	// ID is the Salesforce record Id when the favorite is a record, else
	// the number itself.
	ID     string `json:"id"`
	Name   string `json:"name"`
	Number string `json:"number"`
	Type   string `json:"type,omitempty"`
}

// Validate checks a favorite sent by a client (the number itself is checked
// by Service.AddFavorite, which knows the site's region).
func (f *Favorite) Validate() error {
	f.Name = strings.TrimSpace(f.Name)
	f.Number = strings.TrimSpace(f.Number)
	if f.Number == "" {
		return fmt.Errorf("number: required: %w", ErrInvalid)
	}
	if f.ID == "" {
		f.ID = f.Number
	}
	if f.Name == "" {
		f.Name = f.Number
	}
	for _, v := range []string{f.ID, f.Name, f.Type} {
		if len(v) > maxFavoriteField {
			return fmt.Errorf("favorite: fields at most %d characters: %w", maxFavoriteField, ErrTooLarge)
		}
	}
	return nil
}

// HistoryList names a call history list.
type HistoryList string

// The four lists of the guide.
const (
	HistoryAll      HistoryList = "all"      // last 30 calls
	HistoryMissed   HistoryList = "missed"   // last 10 unanswered incoming
	HistoryReceived HistoryList = "received" // last 10 answered incoming
	HistoryOutgoing HistoryList = "outgoing" // last 10 made
)

// HistoryLists lists them in display order.
var HistoryLists = []HistoryList{HistoryAll, HistoryMissed, HistoryReceived, HistoryOutgoing}

// Size is how many entries a list keeps.
func (l HistoryList) Size() int {
	if l == HistoryAll {
		return HistoryAllSize
	}
	return HistoryListSize
}

// HistoryEntry is one call in the history lists.
type HistoryEntry struct {
	CallID string `json:"callId"`
	Number string `json:"number"`
	// Withheld: the caller withheld the number (Number is "").
	Withheld  bool      `json:"withheld,omitempty"`
	Name      string    `json:"name,omitempty"`
	RecordID  string    `json:"recordId,omitempty"`
	Type      string    `json:"type,omitempty"`
	Direction string    `json:"direction"`
	Missed    bool      `json:"missed"`
	Time      time.Time `json:"time"`
	Duration  int       `json:"duration"`
}

// Lists returns the lists an entry belongs to.
func (e HistoryEntry) Lists() []HistoryList {
	switch {
	case e.Direction == "outgoing":
		return []HistoryList{HistoryAll, HistoryOutgoing}
	case e.Missed:
		return []HistoryList{HistoryAll, HistoryMissed}
	default:
		return []HistoryList{HistoryAll, HistoryReceived}
	}
}
