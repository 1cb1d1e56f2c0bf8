package sim

import (
	"errors"
	"net/http"

	"github.com/switchboard-cti/switchboard/pbx"
)

// The switch protocol lets Switchboard instances use one simulator running
// as its own process (`switchboard sim`) as their PBX, through the driver
// in pbx/simremote. It is version 1 (ProtocolVersion) and lives beside the
// control API under /sim/v1/ (Handler serves both). Every route answers
// errors as {"error":{"code":"...","message":"..."}} with the codes of
// WireErrors.
//
// Events: GET /sim/v1/events, a WebSocket (subprotocol Subprotocol). The
// server sends text messages only; the client sends none (pings aside).
// The first message is the sync, every later one a batch of events:
//
//	{"type":"sync","protocol":1,"codes":pbx.Codes,"devices":[pbx.Device, ...],"snapshots":[pbx.Snapshot, ...]}
//	{"type":"events","events":[pbx.Event, ...]}
//
// The sync lists every device (config order) and holds the snapshot of
// each device that has had an event (Seq > 0; State.Device names it),
// taken at the same instant the subscription began. A device without a
// snapshot is as configured: Seq 0, no calls, nothing set, logged in when
// it is a regular device (InitialState). Each device's next event has
// Seq = its snapshot's Seq + 1, and Seq then counts up by one per device. The server never drops an event silently: a client that
// falls SubscriberBufferAll events behind is closed with status
// CloseOverflow, and reconnects to get a fresh sync.
//
// Commands: POST /sim/v1/devices/{ext}/{command}, one per pbx.Switch
// command, named as in pbx.Command (plus acdLogout, hotDeskLogout and
// cancelWorkTimer); the body is a CommandRequest with exactly the fields
// the command takes (CommandFields), an empty body counts as {}. Answers:
// 200 {"callId":"..."} for makeCall and consult, 204 for the others.
//
// Snapshot of one device: GET /sim/v1/devices/{ext} answers a pbx.Snapshot.
const ProtocolVersion = 1

// Subprotocol is the WebSocket subprotocol of /sim/v1/events.
const Subprotocol = "switchboard-sim.v1"

// CloseOverflow is the WebSocket close status (private range 4000-4999)
// sent to an events client that fell too far behind: reconnect and resync.
const CloseOverflow = 4000

// SyncMessage is the first message on /sim/v1/events. Snapshots has only
// the devices that have had an event, so the sync of 10,000 idle devices
// stays small (about 60 bytes per device).
type SyncMessage struct {
	Type      string         `json:"type"` // "sync"
	Protocol  int            `json:"protocol"`
	Codes     pbx.Codes      `json:"codes"`
	Devices   []pbx.Device   `json:"devices"`
	Snapshots []pbx.Snapshot `json:"snapshots"`
}

// InitialState is the state of a device that has had no event yet: logged
// in when it is a regular device, nothing else set.
func InitialState(d pbx.Device) pbx.DeviceState {
	return pbx.DeviceState{Device: d, LoggedIn: d.Kind == pbx.KindRegular}
}

// EventsMessage is every later message on /sim/v1/events: events in the
// order the simulator emitted them.
type EventsMessage struct {
	Type   string      `json:"type"` // "events"
	Events []pbx.Event `json:"events"`
}

// CommandRequest is the body of POST /sim/v1/devices/{ext}/{command}; which
// fields a command takes is in CommandFields.
type CommandRequest struct {
	CallID  string `json:"callId,omitempty"`
	Number  string `json:"number,omitempty"`
	Digits  string `json:"digits,omitempty"`
	On      *bool  `json:"on,omitempty"`
	Reason  string `json:"reason,omitempty"`
	AgentID string `json:"agentId,omitempty"`
	PIN     string `json:"pin,omitempty"`
	Code    string `json:"code,omitempty"`
}

// CommandResponse is the 200 answer of makeCall and consult.
type CommandResponse struct {
	CallID string `json:"callId"`
}

// Commands of the switch protocol that pbx.Command does not name.
const (
	CmdACDLogout       = "acdLogout"
	CmdHotDeskLogout   = "hotDeskLogout"
	CmdCancelWorkTimer = "cancelWorkTimer"
)

// CommandFields lists, per command, the CommandRequest fields (by JSON
// name) it requires; "reason" of makeBusy may be empty. Any other field
// given is refused.
var CommandFields = map[string][]string{
	string(pbx.CmdMakeCall):       {"number"},
	string(pbx.CmdAnswer):         {"callId"},
	string(pbx.CmdClear):          {"callId"},
	string(pbx.CmdHold):           {"callId"},
	string(pbx.CmdRetrieve):       {"callId"},
	string(pbx.CmdConsult):        {"callId", "number"},
	string(pbx.CmdTransfer):       {"callId"},
	string(pbx.CmdConference):     {"callId"},
	string(pbx.CmdRedirect):       {"callId", "number"},
	string(pbx.CmdDTMF):           {"callId", "digits"},
	string(pbx.CmdDND):            {"on"},
	string(pbx.CmdMakeBusy):       {"on", "reason"},
	string(pbx.CmdACDLogin):       {"agentId"},
	CmdACDLogout:                  {},
	string(pbx.CmdHotDeskLogin):   {"pin"},
	CmdHotDeskLogout:              {},
	CmdCancelWorkTimer:            {},
	string(pbx.CmdAccountCode):    {"callId", "code"},
	string(pbx.CmdClassification): {"callId", "code"},
}

// WireErrors maps each pbx error to its HTTP status and error code on the
// switch protocol, one code per error so the driver gets the same error
// back (errors.Is). An error matching none is 500 "internal".
var WireErrors = []struct {
	Err    error
	Status int
	Code   string
}{
	{pbx.ErrInvalid, http.StatusBadRequest, "invalid_input"},
	{pbx.ErrUnknownDevice, http.StatusNotFound, "unknown_device"},
	{pbx.ErrUnknownCall, http.StatusNotFound, "unknown_call"},
	{pbx.ErrAuth, http.StatusForbidden, "login_refused"},
	{pbx.ErrLimit, http.StatusConflict, "limit_reached"},
	{pbx.ErrDND, http.StatusConflict, "do_not_disturb"},
	{pbx.ErrBusy, http.StatusConflict, "busy"},
	{pbx.ErrNotLoggedIn, http.StatusConflict, "not_logged_in"},
	{pbx.ErrNotAllowed, http.StatusConflict, "not_allowed"},
	{pbx.ErrUnavailable, http.StatusServiceUnavailable, "unavailable"},
	{pbx.ErrNotSupported, http.StatusNotImplemented, "not_supported"},
}

// WireError returns the pbx error an error code of the switch protocol
// stands for, or nil for a code it does not know.
func WireError(code string) error {
	for _, w := range WireErrors {
		if w.Code == code {
			return w.Err
		}
	}
	return nil
}

func wireStatus(err error) (int, string) {
	for _, w := range WireErrors {
		if errors.Is(err, w.Err) {
			return w.Status, w.Code
		}
	}
	return http.StatusInternalServerError, "internal"
}
