package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-cti/switchboard/pbx"
)

// eventBatch is the most events one EventsMessage carries.
const eventBatch = 512

// eventsWriteTimeout bounds one write to an events client; a client that
// reads nothing for this long is dropped.
const eventsWriteTimeout = 10 * time.Second

// eventsPingEvery is how often the server pings an events client.
const eventsPingEvery = 10 * time.Second

// subscribeAllSynced subscribes to every device's events and returns
// every device and the snapshot of each that has had an event, taken at
// the same instant (under the lock), so the next event of a device follows
// its snapshot's Seq (0 without one).
func (s *Sim) subscribeAllSynced(ctx context.Context) (<-chan pbx.Event, func(), []pbx.Device, []pbx.Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, cancel := s.allSubs.Add(ctx, &s.mu, AllSubscriberBuffer)
	devs := make([]pbx.Device, 0, len(s.order))
	snaps := []pbx.Snapshot{}
	for _, d := range s.order {
		devs = append(devs, d.state.Device)
		if d.seq == 0 {
			continue // as configured (InitialState): every change is an event
		}
		snap := pbx.Snapshot{Seq: d.seq, State: d.state, Calls: []pbx.Call{}}
		for _, c := range sortedCalls(d.live) {
			snap.Calls = append(snap.Calls, c.snapshot())
		}
		snaps = append(snaps, snap)
	}
	return ch, cancel, devs, snaps
}

// routeEvents serves GET /sim/v1/events: the sync, then batches of events
// (see ProtocolVersion).
func (s *Sim) routeEvents(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		notAllowed(w, r, "GET")
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		writeError(w, http.StatusBadRequest, "invalid_input", "GET /sim/v1/events is a WebSocket (Upgrade: websocket, subprotocol "+Subprotocol+")")
		return
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{Subprotocol}})
	if err != nil {
		return // Accept answered the error
	}
	defer conn.CloseNow()
	ctx := conn.CloseRead(r.Context())
	events, cancel, devs, snaps := s.subscribeAllSynced(ctx)
	defer cancel()
	codes, _ := s.Codes(ctx)
	last := make(map[string]uint64, len(devs))
	for _, sn := range snaps {
		last[sn.State.Extension] = sn.Seq
	}
	if err := writeWS(ctx, conn, SyncMessage{Type: "sync", Protocol: ProtocolVersion, Codes: codes, Devices: devs, Snapshots: snaps}); err != nil {
		return
	}
	devs, snaps = nil, nil
	ping := time.NewTicker(eventsPingEvery)
	defer ping.Stop()
	batch := make([]pbx.Event, 0, eventBatch)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ping.C:
			pctx, pcancel := context.WithTimeout(ctx, eventsWriteTimeout)
			err := conn.Ping(pctx)
			pcancel()
			if err != nil {
				return
			}
			continue
		case ev, ok := <-events:
			if !ok {
				conn.Close(websocket.StatusGoingAway, "simulator stopping")
				return
			}
			batch = append(batch[:0], ev)
		}
	drain:
		for len(batch) < eventBatch {
			select {
			case ev, ok := <-events:
				if !ok {
					break drain
				}
				batch = append(batch, ev)
			default:
				break drain
			}
		}
		for _, ev := range batch {
			if ev.Seq != last[ev.Device]+1 {
				// The subscription dropped events: never send a gap.
				conn.Close(CloseOverflow, "events client too slow: reconnect and resync")
				return
			}
			last[ev.Device] = ev.Seq
		}
		if err := writeWS(ctx, conn, EventsMessage{Type: "events", Events: batch}); err != nil {
			return
		}
	}
}

func writeWS(ctx context.Context, conn *websocket.Conn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, eventsWriteTimeout)
	defer cancel()
	return conn.Write(wctx, websocket.MessageText, b)
}

// routeDevice serves GET /sim/v1/devices/{ext}: the device's pbx.Snapshot.
func (s *Sim) routeDevice(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		notAllowed(w, r, "GET")
		return
	}
	snap, err := s.Snapshot(r.Context(), r.PathValue("ext"))
	if err != nil {
		writeWireErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, snap)
}

// routeCommand serves POST /sim/v1/devices/{ext}/{command}.
func (s *Sim) routeCommand(w http.ResponseWriter, r *http.Request) {
	ext, name := r.PathValue("ext"), r.PathValue("command")
	fields, ok := CommandFields[name]
	if !ok {
		names := make([]string, 0, len(CommandFields))
		for n := range CommandFields {
			names = append(names, n)
		}
		slices.Sort(names)
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no command %q: commands are %s", name, strings.Join(names, ", ")))
		return
	}
	if r.Method != http.MethodPost {
		notAllowed(w, r, "POST")
		return
	}
	var in CommandRequest
	if !readCommand(w, r, &in) {
		return
	}
	if msg := commandProblem(name, fields, in); msg != "" {
		writeError(w, http.StatusBadRequest, "invalid_input", msg)
		return
	}
	id, err := s.Command(r.Context(), ext, name, in)
	if err != nil {
		writeWireErr(w, err)
		return
	}
	if id != "" {
		writeJSON(w, http.StatusOK, CommandResponse{CallID: id})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// commandProblem names the first field missing from or not taken by a
// command, or "".
func commandProblem(name string, fields []string, in CommandRequest) string {
	given := map[string]bool{
		"callId": in.CallID != "", "number": in.Number != "", "digits": in.Digits != "", "on": in.On != nil,
		"reason": in.Reason != "", "agentId": in.AgentID != "", "pin": in.PIN != "", "code": in.Code != "",
	}
	for _, f := range fields {
		if !given[f] && !(name == string(pbx.CmdMakeBusy) && f == "reason") {
			return fmt.Sprintf("%s: required by %s", f, name)
		}
	}
	for _, f := range []string{"callId", "number", "digits", "on", "reason", "agentId", "pin", "code"} {
		if given[f] && !slices.Contains(fields, f) {
			return fmt.Sprintf("%s: not taken by %s", f, name)
		}
	}
	return ""
}

// Command runs one switch-protocol command on ext; it returns the new
// call's id for makeCall and consult. The errors of the pbx.Switch method
// it calls; ErrInvalid for an unknown command.
func (s *Sim) Command(ctx context.Context, ext, name string, in CommandRequest) (string, error) {
	on := in.On != nil && *in.On
	switch name {
	case string(pbx.CmdMakeCall):
		return s.MakeCall(ctx, ext, in.Number)
	case string(pbx.CmdConsult):
		return s.Consult(ctx, ext, in.CallID, in.Number)
	case string(pbx.CmdAnswer):
		return "", s.Answer(ctx, ext, in.CallID)
	case string(pbx.CmdClear):
		return "", s.Clear(ctx, ext, in.CallID)
	case string(pbx.CmdHold):
		return "", s.Hold(ctx, ext, in.CallID)
	case string(pbx.CmdRetrieve):
		return "", s.Retrieve(ctx, ext, in.CallID)
	case string(pbx.CmdTransfer):
		return "", s.Transfer(ctx, ext, in.CallID)
	case string(pbx.CmdConference):
		return "", s.Conference(ctx, ext, in.CallID)
	case string(pbx.CmdRedirect):
		return "", s.Redirect(ctx, ext, in.CallID, in.Number)
	case string(pbx.CmdDTMF):
		return "", s.SendDTMF(ctx, ext, in.CallID, in.Digits)
	case string(pbx.CmdDND):
		return "", s.SetDND(ctx, ext, on)
	case string(pbx.CmdMakeBusy):
		return "", s.SetMakeBusy(ctx, ext, on, in.Reason)
	case string(pbx.CmdACDLogin):
		return "", s.ACDLogin(ctx, ext, in.AgentID)
	case CmdACDLogout:
		return "", s.ACDLogout(ctx, ext)
	case string(pbx.CmdHotDeskLogin):
		return "", s.HotDeskLogin(ctx, ext, in.PIN)
	case CmdHotDeskLogout:
		return "", s.HotDeskLogout(ctx, ext)
	case CmdCancelWorkTimer:
		return "", s.CancelWorkTimer(ctx, ext)
	case string(pbx.CmdAccountCode):
		return "", s.SetAccountCode(ctx, ext, in.CallID, in.Code)
	case string(pbx.CmdClassification):
		return "", s.SetClassificationCode(ctx, ext, in.CallID, in.Code)
	}
	return "", fmt.Errorf("sim: command %q: no such command: %w", name, pbx.ErrInvalid)
}

// readCommand decodes a CommandRequest (an empty body is {}), answering
// the error itself.
func readCommand(w http.ResponseWriter, r *http.Request, v *CommandRequest) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body: larger than %d bytes", MaxBodyBytes))
		return false
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_input", "body: "+err.Error())
		return false
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return true
	}
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	return readJSON(w, r, v)
}

// writeWireErr answers err with its switch-protocol status and code, and
// under "wraps" every protocol code the error wraps (an unreachable
// device can be busy and in DND at once).
func writeWireErr(w http.ResponseWriter, err error) {
	status, code := wireStatus(err)
	var wraps []string
	for _, we := range WireErrors {
		if errors.Is(err, we.Err) {
			wraps = append(wraps, we.Code)
		}
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": code, "message": strings.TrimPrefix(err.Error(), "sim: "), "wraps": wraps,
	}})
}
