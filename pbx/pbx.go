// Package pbx is the contract between Switchboard and a telephone switch:
// the devices it has, the calls on them, the commands an agent's softphone
// may send, and the events the switch reports back.
//
// The contract speaks telephony (devices, calls, parties, connection
// states), in the spirit of CSTA, not the internals of any one switch. The
// embedded simulator (pbx/sim) and real PBX drivers implement Switch.
//
// pbx imports only the standard library; it knows nothing of Salesforce or
// of the adapter.
package pbx

import (
	"context"
	"errors"
	"time"
)

// DeviceKind says how a user reaches an extension (the guide's three kinds
// of user).
type DeviceKind string

// The kinds of device.
const (
	// KindRegular is a desk phone permanently assigned to one user.
	KindRegular DeviceKind = "regular"
	// KindHotDesk is an extension a user logs in to with a PIN.
	KindHotDesk DeviceKind = "hotdesk"
	// KindACD is a set an ACD agent logs in to with an agent id.
	KindACD DeviceKind = "acd"
)

// Device is one extension on the switch.
type Device struct {
	Extension string     `json:"extension"`
	Name      string     `json:"name"`
	Kind      DeviceKind `json:"kind"`
}

// Direction of a call as the switch sees it.
type Direction string

// Call directions.
const (
	Inbound  Direction = "inbound"  // from outside the switch to a device
	Outbound Direction = "outbound" // from a device to outside the switch
	Internal Direction = "internal" // between two devices of the switch
)

// ConnState is the state of one party's connection to a call.
type ConnState string

// Connection states.
const (
	// Alerting: the party's phone is ringing (or, for a far party, the call
	// is being delivered to it).
	Alerting ConnState = "alerting"
	// Connected: the party is talking (or, for the originator of a call
	// still ringing elsewhere, waiting for the far end to answer).
	Connected ConnState = "connected"
	// Held: the party put the call on hold.
	Held ConnState = "held"
	// ConsultHeld: the party put the call on hold to consult a third party
	// (transfer or conference in progress).
	ConsultHeld ConnState = "consultation_held"
	// Disconnected: the party has left the call.
	Disconnected ConnState = "disconnected"
)

// Party is one leg of a call.
type Party struct {
	// Number is the party's extension when Internal, else its external
	// number (E.164 where the switch knows it).
	Number   string    `json:"number"`
	Name     string    `json:"name,omitempty"`
	Internal bool      `json:"internal"`
	State    ConnState `json:"state"`
	// Since is when the party entered State.
	Since time.Time `json:"since"`
}

// Call is a snapshot of one call.
type Call struct {
	ID        string    `json:"id"`
	Direction Direction `json:"direction"`
	// ANI is the calling number, DNIS the number the caller dialed (for
	// calls from outside), Digits what the caller keyed in before the call
	// reached a device (IVR), Queue the name of the ACD queue that
	// delivered the call.
	ANI    string `json:"ani,omitempty"`
	DNIS   string `json:"dnis,omitempty"`
	Digits string `json:"digits,omitempty"`
	Queue  string `json:"queue,omitempty"`
	// ACD is true for calls delivered by an ACD queue.
	ACD bool `json:"acd,omitempty"`
	// Parties in the order they joined. At most MaxParties are not
	// Disconnected at any time.
	Parties []Party `json:"parties"`
	// RelatedID links a consultation call to the call it consults about
	// (and back), while a transfer or conference is in progress.
	RelatedID          string    `json:"relatedId,omitempty"`
	AccountCode        string    `json:"accountCode,omitempty"`
	ClassificationCode string    `json:"classificationCode,omitempty"`
	Created            time.Time `json:"created"`
	// Ended is set once every party is disconnected.
	Ended time.Time `json:"ended,omitzero"`
}

// Party returns the party for number (an extension or external number) and
// whether it is on the call.
func (c *Call) Party(number string) (Party, bool) {
	for i := len(c.Parties) - 1; i >= 0; i-- {
		if c.Parties[i].Number == number {
			return c.Parties[i], true
		}
	}
	return Party{}, false
}

// MaxParties is the largest conference the switch allows (the guide: up to
// five parties).
const MaxParties = 5

// DeviceState is what a device is doing apart from its calls.
type DeviceState struct {
	Device
	// DND takes precedence over MakeBusy.
	DND      bool   `json:"dnd"`
	MakeBusy bool   `json:"makeBusy"`
	Reason   string `json:"reason,omitempty"` // Make Busy reason code
	// LoggedIn: for hot-desk and ACD devices, whether a user or agent is
	// logged in; always true for regular devices.
	LoggedIn bool   `json:"loggedIn"`
	AgentID  string `json:"agentId,omitempty"` // ACD agent logged in
	// WorkTimer is set while the post-call work timer runs (ACD agents get
	// no ACD call until it ends or is cancelled).
	WorkTimer     bool      `json:"workTimer"`
	WorkTimerEnds time.Time `json:"workTimerEnds,omitzero"`
	// ClassificationPending: the work timer cannot be cancelled until a
	// classification code is set on the last ACD call.
	ClassificationPending bool `json:"classificationPending,omitempty"`
}

// EventType says what changed.
type EventType string

// Event types.
const (
	// CallUpdated: a call on the device changed; Event.Call is the new
	// snapshot.
	CallUpdated EventType = "call.updated"
	// CallEnded: the device has left the call for good (cleared,
	// transferred away, redirected, ...); Event.Call is the last snapshot.
	CallEnded EventType = "call.ended"
	// DeviceUpdated: DND, Make Busy, login or work timer changed;
	// Event.State is the new state.
	DeviceUpdated EventType = "device.updated"
	// DigitsReceived: a far party sent DTMF; Event.Digits holds them.
	DigitsReceived EventType = "call.digits"
)

// Cause says why an event happened, where the switch knows.
type Cause string

// Causes.
const (
	CauseNone        Cause = ""
	CauseNew         Cause = "new"       // a call was offered or made
	CauseAnswered    Cause = "answered"  // a party answered
	CauseHeld        Cause = "held"      // a party held
	CauseRetrieved   Cause = "retrieved" // a party retrieved
	CauseConsult     Cause = "consultation"
	CauseTransferred Cause = "transferred"
	CauseConferenced Cause = "conferenced"
	CauseRedirected  Cause = "redirected"
	CauseRecall      Cause = "recall"     // hold or transfer recall rang back
	CauseCleared     Cause = "cleared"    // normal hang-up
	CauseBusy        Cause = "busy"       // far party busy
	CauseNoAnswer    Cause = "no_answer"  // far party never answered
	CauseRejected    Cause = "rejected"   // refused by DND / Make Busy / not logged in
	CauseDigits      Cause = "digits"     // DTMF
	CauseCodes       Cause = "codes"      // account / classification code set
	CauseLogin       Cause = "login"      // hot-desk or ACD login/logout
	CauseWorkTimer   Cause = "work_timer" // work timer started/ended/cancelled
)

// Event is one change reported by the switch for one device.
type Event struct {
	// Seq increases by one for every event of Device, starting at 1. A gap
	// means events were dropped (slow subscriber): take a Snapshot.
	Seq    uint64       `json:"seq"`
	Device string       `json:"device"`
	Type   EventType    `json:"type"`
	Cause  Cause        `json:"cause,omitempty"`
	Call   *Call        `json:"call,omitempty"`
	State  *DeviceState `json:"state,omitempty"`
	Digits string       `json:"digits,omitempty"`
	Time   time.Time    `json:"time"`
}

// Snapshot is a device's state and calls at one sequence number, for a
// client that (re)connects: events with Seq > Snapshot.Seq follow it.
type Snapshot struct {
	Seq   uint64      `json:"seq"`
	State DeviceState `json:"state"`
	Calls []Call      `json:"calls"`
}

// Code is a Make Busy reason, account or classification code.
type Code struct {
	Code  string `json:"code"`
	Label string `json:"label"`
}

// Codes are the codes configured on the switch.
type Codes struct {
	Reasons         []Code `json:"reasons"`
	Accounts        []Code `json:"accounts"`
	Classifications []Code `json:"classifications"`
	// ClassificationRequired: the work timer of an ACD call cannot be
	// cancelled before a classification code is chosen.
	ClassificationRequired bool `json:"classificationRequired"`
}

// Errors a Switch returns, wrapped with context. Callers test them with
// errors.Is.
var (
	// ErrUnknownDevice: no such extension.
	ErrUnknownDevice = errors.New("unknown device")
	// ErrUnknownCall: no such call on the device.
	ErrUnknownCall = errors.New("unknown call")
	// ErrNotAllowed: the command is not allowed in the call's or device's
	// current state (e.g. transfer a call on hard hold).
	ErrNotAllowed = errors.New("not allowed in this state")
	// ErrBusy: the target device or number is busy.
	ErrBusy = errors.New("busy")
	// ErrDND: the target device is in Do Not Disturb.
	ErrDND = errors.New("do not disturb")
	// ErrLimit: a limit was reached (sixth conference party, ...).
	ErrLimit = errors.New("limit reached")
	// ErrInvalid: malformed input (bad digits, empty number, unknown code).
	ErrInvalid = errors.New("invalid input")
	// ErrAuth: wrong PIN or unknown agent id.
	ErrAuth = errors.New("login refused")
	// ErrNotLoggedIn: the hot-desk or ACD device has nobody logged in.
	ErrNotLoggedIn = errors.New("not logged in")
	// ErrUnavailable: the switch (or the link to it) is down.
	ErrUnavailable = errors.New("switch unavailable")
	// ErrNotSupported: this switch or its phones cannot do the command;
	// the wrapping message names what is missing (HTTP 501).
	ErrNotSupported = errors.New("not supported by this phone system")
)

// Command names a Switch command, for Capabilities.
type Command string

// The commands a softphone may offer.
const (
	CmdMakeCall       Command = "makeCall"
	CmdAnswer         Command = "answer"
	CmdClear          Command = "clear"
	CmdHold           Command = "hold"
	CmdRetrieve       Command = "retrieve"
	CmdConsult        Command = "consult"
	CmdTransfer       Command = "transfer"
	CmdConference     Command = "conference"
	CmdRedirect       Command = "redirect"
	CmdDTMF           Command = "dtmf"
	CmdDND            Command = "dnd"
	CmdMakeBusy       Command = "makeBusy"
	CmdACDLogin       Command = "acdLogin"
	CmdHotDeskLogin   Command = "hotDeskLogin"
	CmdWorkTimer      Command = "workTimer"
	CmdAccountCode    Command = "accountCode"
	CmdClassification Command = "classificationCode"
)

// Capable is implemented by a Switch that cannot do every command: it
// returns the commands it can do. A Switch that does not implement it can
// do them all (the simulator).
type Capable interface {
	Capabilities() map[Command]bool
}

// Switch is the call-control contract. Every method is safe for concurrent
// use. ext is always the agent's own extension: commands act on that
// device's connection to the call.
type Switch interface {
	// Devices lists every device.
	Devices(ctx context.Context) ([]Device, error)
	// Snapshot returns a device's state and calls. ErrUnknownDevice.
	Snapshot(ctx context.Context, ext string) (Snapshot, error)
	// Subscribe returns the device's events, in Seq order, until cancel is
	// called or ctx ends (then the channel is closed). A subscriber that
	// falls behind loses events and sees a Seq gap. ErrUnknownDevice.
	Subscribe(ctx context.Context, ext string) (events <-chan Event, cancel func(), err error)
	// Codes returns the configured reason, account and classification codes.
	Codes(ctx context.Context) (Codes, error)
	// Ping reports whether the switch is usable (ErrUnavailable).
	Ping(ctx context.Context) error

	// MakeCall dials number (an extension or external number) from ext.
	// ErrInvalid, ErrNotAllowed, ErrNotLoggedIn, ErrBusy, ErrDND.
	MakeCall(ctx context.Context, ext, number string) (callID string, err error)
	// Answer answers a call alerting at ext. ErrUnknownCall, ErrNotAllowed.
	Answer(ctx context.Context, ext, callID string) error
	// Clear disconnects ext from the call. During a consultation, clearing
	// the held call's owner completes an unsupervised transfer.
	Clear(ctx context.Context, ext, callID string) error
	// Hold puts ext's connected call on (hard) hold. ErrNotAllowed.
	Hold(ctx context.Context, ext, callID string) error
	// Retrieve reconnects ext to a held call. ErrNotAllowed.
	Retrieve(ctx context.Context, ext, callID string) error
	// Consult holds callID (consultation hold) and dials number; it returns
	// the consultation call. ErrNotAllowed for a call on hard hold.
	Consult(ctx context.Context, ext, callID, number string) (consultID string, err error)
	// Transfer completes a transfer of callID (either the held call or the
	// consultation call) to the consulted party, whether or not it has
	// answered; ext leaves both calls. ErrNotAllowed.
	Transfer(ctx context.Context, ext, callID string) error
	// Conference joins the consulted party to the held call; the original
	// parties are taken off hold. ErrLimit beyond MaxParties.
	Conference(ctx context.Context, ext, callID string) error
	// Redirect sends a call ringing at ext to number without answering;
	// the caller keeps hearing ringing, ext leaves the call.
	Redirect(ctx context.Context, ext, callID, number string) error
	// SendDTMF sends digits (0-9 * #) on ext's connected call. ErrInvalid.
	SendDTMF(ctx context.Context, ext, callID, digits string) error
	// SetDND turns Do Not Disturb on or off.
	SetDND(ctx context.Context, ext string, on bool) error
	// SetMakeBusy turns Make Busy on (with a configured reason code, or ""
	// when none are configured) or off. ErrInvalid for an unknown reason.
	SetMakeBusy(ctx context.Context, ext string, on bool, reason string) error
	// ACDLogin logs agentID in on ext (a KindACD device). ErrAuth.
	ACDLogin(ctx context.Context, ext, agentID string) error
	// ACDLogout logs the agent out of ext.
	ACDLogout(ctx context.Context, ext string) error
	// HotDeskLogin logs a user in to hot-desk extension ext with pin. ErrAuth.
	HotDeskLogin(ctx context.Context, ext, pin string) error
	// HotDeskLogout logs the user out of ext.
	HotDeskLogout(ctx context.Context, ext string) error
	// CancelWorkTimer ends ext's work timer. ErrNotAllowed while a
	// required classification code is missing.
	CancelWorkTimer(ctx context.Context, ext string) error
	// SetAccountCode tags a call with a configured account code. ErrInvalid.
	SetAccountCode(ctx context.Context, ext, callID, code string) error
	// SetClassificationCode tags an ACD call with a configured
	// classification code (also after it ended, during the work timer).
	SetClassificationCode(ctx context.Context, ext, callID, code string) error
}
