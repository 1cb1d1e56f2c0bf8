package fakeorg

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// FaultKind is a kind of failure the org can be told to produce.
type FaultKind int

// The fault kinds.
const (
	// Latency delays the answer by Fault.Latency (or until the client
	// gives up), then answers normally.
	Latency FaultKind = iota + 1
	// Unavailable503 answers 503 with Salesforce's JSON error array.
	Unavailable503
	// ExpiredSession ends the caller's session and answers 401
	// INVALID_SESSION_ID (REST API only).
	ExpiredSession
	// LimitExceeded answers 403 REQUEST_LIMIT_EXCEEDED (REST API only).
	LimitExceeded
	// HTMLPage answers 200 with an HTML maintenance page, as a proxy or a
	// login redirect would.
	HTMLPage
	// DropConnection closes the connection without an answer.
	DropConnection
	// LostAnswer carries the request out (a create is saved) and then
	// closes the connection without the answer: an uncertain outcome.
	LostAnswer
	// LockRow answers 400 UNABLE_TO_LOCK_ROW, the transient error of a
	// record locked by another transaction (REST API only).
	LockRow
	// RefuseRecords answers an sObject Collections request with every
	// record refused with Fault.Code (as a validation rule of the org
	// would, e.g. FIELD_CUSTOM_VALIDATION_EXCEPTION); other requests with
	// 400 Fault.Code.
	RefuseRecords
)

// String names k.
func (k FaultKind) String() string {
	switch k {
	case Latency:
		return "Latency"
	case Unavailable503:
		return "Unavailable503"
	case ExpiredSession:
		return "ExpiredSession"
	case LimitExceeded:
		return "LimitExceeded"
	case HTMLPage:
		return "HTMLPage"
	case DropConnection:
		return "DropConnection"
	case LostAnswer:
		return "LostAnswer"
	case LockRow:
		return "LockRow"
	case RefuseRecords:
		return "RefuseRecords"
	}
	return "FaultKind(?)"
}

// Fault is an injected failure.
type Fault struct {
	// Kind is what happens.
	Kind FaultKind
	// Count is how many requests it affects; 0 means until ClearFaults.
	Count int
	// Latency is the delay for Kind Latency.
	Latency time.Duration
	// PathPrefix limits the fault to paths (relative to the org's root)
	// starting with it, e.g. "/services/data/v67.0/search"; empty means
	// every path.
	PathPrefix string
	// Method, when set, limits the fault to requests of that method.
	Method string
	// Code is the error code of RefuseRecords.
	Code string
	// Applied, when set on a LostAnswer fault, is called after the org
	// carried the request out and before the connection is closed: the
	// moment a client crashing after its write reached Salesforce would
	// die (a test kills the sending instance there). r is the request;
	// its Host names the address the client sent it to.
	Applied func(r *http.Request)
}

// Inject adds a fault. Faults apply in the order injected; the first one
// matching a request is used.
func (o *Org) Inject(f Fault) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.faults = append(o.faults, &f)
}

// ClearFaults removes every fault.
func (o *Org) ClearFaults() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.faults = nil
}

// takeFault returns the fault for r, using up one of its count.
func (o *Org) takeFault(r *http.Request) (Fault, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	rest := strings.HasPrefix(r.URL.Path, "/services/data/v")
	for i, f := range o.faults {
		if !strings.HasPrefix(r.URL.Path, f.PathPrefix) || f.Method != "" && f.Method != r.Method {
			continue
		}
		if (f.Kind == ExpiredSession || f.Kind == LimitExceeded || f.Kind == LockRow) && !rest {
			continue
		}
		got := *f
		if f.Count > 0 {
			f.Count--
			if f.Count == 0 {
				o.faults = append(o.faults[:i:i], o.faults[i+1:]...)
			}
		}
		return got, true
	}
	return Fault{}, false
}

const maintenancePage = `<!DOCTYPE html><html><head><title>Down for Maintenance</title></head>
<body><h1>Salesforce is down for maintenance</h1><p>Please try again later.</p></body></html>`

// withFaults applies injected faults before the org's handlers.
func (o *Org) withFaults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := o.takeFault(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		rest := strings.HasPrefix(r.URL.Path, "/services/data/v")
		if rest && f.Kind != Latency && f.Kind != LostAnswer {
			o.mu.Lock()
			o.requests++ // counted: the request reached the org
			o.mu.Unlock()
		}
		switch f.Kind {
		case Latency:
			t := time.NewTimer(f.Latency)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			}
			next.ServeHTTP(w, r)
		case Unavailable503:
			o.writeErrors(w, http.StatusServiceUnavailable, "SERVER_UNAVAILABLE", "Service temporarily unavailable")
		case ExpiredSession:
			if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
				o.mu.Lock()
				if s, ok := o.sessions[tok]; ok {
					s.revoked = true
					o.sessions[tok] = s
				}
				o.mu.Unlock()
			}
			o.writeErrors(w, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
		case LimitExceeded:
			o.writeErrors(w, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
		case HTMLPage:
			w.Header().Set("Content-Type", "text/html; charset=UTF-8")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(maintenancePage))
		case DropConnection:
			panic(http.ErrAbortHandler) // net/http closes the connection, answering nothing
		case LostAnswer:
			next.ServeHTTP(discard{h: http.Header{}}, r)
			if f.Applied != nil {
				f.Applied(r)
			}
			panic(http.ErrAbortHandler)
		case LockRow:
			o.writeErrors(w, http.StatusBadRequest, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record or 1 records")
		case RefuseRecords:
			var body struct {
				Records []json.RawMessage `json:"records"`
			}
			if !strings.HasSuffix(strings.TrimSuffix(r.URL.Path, "/"), "/composite/sobjects") || json.NewDecoder(r.Body).Decode(&body) != nil {
				o.writeErrors(w, http.StatusBadRequest, f.Code, "refused by a validation rule (injected)")
				return
			}
			out := make([]map[string]any, len(body.Records))
			for i := range out {
				out[i] = map[string]any{"success": false, "errors": []collectionErr{{StatusCode: f.Code, Message: "refused by a validation rule (injected)", Fields: []string{}}}}
			}
			o.writeJSON(w, http.StatusOK, out)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// discard is a ResponseWriter that throws the answer away (LostAnswer).
type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}
