package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-cti/switchboard/pbx"
	"github.com/switchboard-cti/switchboard/phone"
)

// MaxBodyBytes is the largest request body the control API reads.
const MaxBodyBytes = 64 << 10

// Handler returns the simulator's control API (routes under /sim/v1/; see
// README.md): place calls from outside, answer, hang up or send digits for
// the far party, list calls and devices, script external numbers; and the
// switch protocol (wire.go) that pbx/simremote drives: device commands,
// device snapshots and the events WebSocket.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/sim/v1/calls", s.routeCalls)
	mux.HandleFunc("/sim/v1/calls/{id}", s.routeCall)
	mux.HandleFunc("/sim/v1/calls/{id}/{action}", s.routeCallAction)
	mux.HandleFunc("/sim/v1/devices", s.routeDevices)
	mux.HandleFunc("/sim/v1/devices/{ext}", s.routeDevice)
	mux.HandleFunc("/sim/v1/devices/{ext}/{command}", s.routeCommand)
	mux.HandleFunc("/sim/v1/events", s.routeEvents)
	mux.HandleFunc("/sim/v1/numbers/{number}", s.routeNumber)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no route %s %s", r.Method, r.URL.Path))
	})
	return mux
}

// scriptJSON is Script on the wire; durations are Go durations ("3s").
type scriptJSON struct {
	AnswerAfter string `json:"answerAfter,omitempty"`
	HangupAfter string `json:"hangupAfter,omitempty"`
	Busy        bool   `json:"busy,omitempty"`
	NeverAnswer bool   `json:"neverAnswer,omitempty"`
	Digits      string `json:"digits,omitempty"`
}

func (j scriptJSON) script(field string) (Script, error) {
	var sc Script
	for _, d := range []struct {
		name string
		in   string
		out  *time.Duration
	}{{"answerAfter", j.AnswerAfter, &sc.AnswerAfter}, {"hangupAfter", j.HangupAfter, &sc.HangupAfter}} {
		if d.in == "" {
			continue
		}
		v, err := time.ParseDuration(d.in)
		if err != nil || v < 0 || v > 24*time.Hour {
			return Script{}, fmt.Errorf("%s%s: must be a duration like \"3s\" between 0 and 24h: %w", field, d.name, pbx.ErrInvalid)
		}
		*d.out = v
	}
	sc.Busy, sc.NeverAnswer, sc.Digits = j.Busy, j.NeverAnswer, j.Digits
	if sc.Digits != "" && !isDTMF(sc.Digits) {
		return Script{}, fmt.Errorf("%sdigits: must be up to %d of 0-9 * #: %w", field, MaxDigits, pbx.ErrInvalid)
	}
	return sc, nil
}

type placeCallJSON struct {
	From   string      `json:"from"`
	To     string      `json:"to"`
	DNIS   string      `json:"dnis"`
	Digits string      `json:"digits"`
	Queue  string      `json:"queue"`
	Script *scriptJSON `json:"script"`
}

func (s *Sim) routeCalls(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"calls": s.Calls()})
	case http.MethodPost:
		var in placeCallJSON
		if !readJSON(w, r, &in) {
			return
		}
		ec := ExternalCall{From: in.From, To: in.To, DNIS: in.DNIS, Digits: in.Digits, Queue: in.Queue}
		if msg := ec.fieldProblem(s.queue(ec.To) != nil); msg != "" {
			writeError(w, http.StatusBadRequest, "invalid_input", msg)
			return
		}
		if in.Script != nil {
			sc, err := in.Script.script("script.")
			if err != nil {
				writeErr(w, err)
				return
			}
			ec.Script = &sc
		}
		id, err := s.PlaceCall(r.Context(), ec)
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{"id": id})
	default:
		notAllowed(w, r, "GET, POST")
	}
}

// fieldProblem names the first bad field of a control API request;
// toQueue says whether To names a queue.
func (ec ExternalCall) fieldProblem(toQueue bool) string {
	switch {
	case ec.From == "":
		return "from: required, a phone number like +14155550123"
	case !isNumber(ec.From) && !phone.Withheld(ec.From):
		return "from: must be a phone number like +14155550123 or a withheld caller id like anonymous"
	case ec.To == "" && ec.Queue == "":
		return "to: required, an extension like 1001 or a queue number"
	case ec.To != "" && !isNumber(ec.To) && !toQueue:
		return "to: must be an extension like 1001 or a queue number like +18005550100"
	case ec.DNIS != "" && !isNumber(ec.DNIS):
		return "dnis: must be a phone number like +18005550100"
	case ec.Digits != "" && !isDTMF(ec.Digits):
		return fmt.Sprintf("digits: must be up to %d of 0-9 * #", MaxDigits)
	case len(ec.Queue) > 100:
		return "queue: must be a queue name of at most 100 characters"
	}
	return ""
}

func (s *Sim) routeCall(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		notAllowed(w, r, "GET")
		return
	}
	id := r.PathValue("id")
	c, ok := s.Call(id)
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("call %q: no such call in progress", id))
		return
	}
	far, _ := s.DigitsHeard(id)
	writeJSON(w, http.StatusOK, struct {
		pbx.Call
		// DigitsHeard: the DTMF the far end heard from devices.
		DigitsHeard string `json:"digitsHeard,omitempty"`
	}{c, far})
}

func (s *Sim) routeCallAction(w http.ResponseWriter, r *http.Request) {
	id, action := r.PathValue("id"), r.PathValue("action")
	if action != "answer" && action != "hangup" && action != "digits" {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no route %s %s: actions are answer, hangup, digits", r.Method, r.URL.Path))
		return
	}
	if r.Method != http.MethodPost {
		notAllowed(w, r, "POST")
		return
	}
	var err error
	switch action {
	case "answer":
		err = s.FarAnswer(r.Context(), id)
	case "hangup":
		err = s.FarHangup(r.Context(), id)
	case "digits":
		var in struct {
			Digits string `json:"digits"`
		}
		if !readJSON(w, r, &in) {
			return
		}
		if !isDTMF(in.Digits) {
			writeError(w, http.StatusBadRequest, "invalid_input", fmt.Sprintf("digits: required, 1-%d of 0-9 * #", MaxDigits))
			return
		}
		err = s.FarDigits(r.Context(), id, in.Digits)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sim) routeDevices(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		notAllowed(w, r, "GET")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": s.DeviceStates()})
}

func (s *Sim) routeNumber(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		notAllowed(w, r, "PUT")
		return
	}
	number := r.PathValue("number")
	if !isNumber(number) {
		writeError(w, http.StatusBadRequest, "invalid_input", "number: must be a phone number like +14155550123")
		return
	}
	if _, ok := s.devices[number]; ok {
		writeError(w, http.StatusBadRequest, "invalid_input", "number: "+number+" is an extension; scripts are for external numbers")
		return
	}
	var in scriptJSON
	if !readJSON(w, r, &in) {
		return
	}
	sc, err := in.script("")
	if err != nil {
		writeErr(w, err)
		return
	}
	s.SetNumberScript(number, sc)
	w.WriteHeader(http.StatusNoContent)
}

// readJSON decodes one JSON object with no unknown fields from a body of
// at most MaxBodyBytes, answering the error itself.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err == nil {
		if _, e := dec.Token(); e != io.EOF {
			err = errors.New("trailing data after the JSON object")
		}
	}
	if err == nil {
		return true
	}
	var tooBig *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body: larger than %d bytes", MaxBodyBytes))
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "invalid_input", "body: a JSON object is required")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		writeError(w, http.StatusBadRequest, "invalid_input", "body: malformed JSON")
	case errors.As(err, &typ):
		writeError(w, http.StatusBadRequest, "invalid_input", fmt.Sprintf("%s: must be a %s", typ.Field, typ.Type))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		writeError(w, http.StatusBadRequest, "invalid_input", strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)+": unknown field")
	default:
		writeError(w, http.StatusBadRequest, "invalid_input", "body: "+err.Error())
	}
	return false
}

// errorStatus maps a simulator error to its HTTP status and code.
func errorStatus(err error) (int, string) {
	switch {
	case errors.Is(err, pbx.ErrInvalid):
		return http.StatusBadRequest, "invalid_input"
	case errors.Is(err, pbx.ErrUnknownDevice), errors.Is(err, pbx.ErrUnknownCall):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, pbx.ErrLimit):
		return http.StatusConflict, "limit_reached"
	case errors.Is(err, pbx.ErrBusy), errors.Is(err, pbx.ErrDND):
		return http.StatusConflict, "busy"
	case errors.Is(err, pbx.ErrNotAllowed), errors.Is(err, pbx.ErrNotLoggedIn), errors.Is(err, pbx.ErrAuth):
		return http.StatusConflict, "not_allowed"
	}
	return http.StatusInternalServerError, "internal"
}

func writeErr(w http.ResponseWriter, err error) {
	status, code := errorStatus(err)
	writeError(w, status, code, strings.TrimPrefix(err.Error(), "sim: "))
}

func notAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", fmt.Sprintf("%s %s: use %s", r.Method, r.URL.Path, allow))
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
