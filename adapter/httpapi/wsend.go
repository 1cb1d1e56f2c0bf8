package httpapi

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/pbx"
)

// How and why sockets end. Close codes: RFC 6455 section 7.4.1 and the
// IANA WebSocket close code registry (1012 Service Restart, 1013 Try Again
// Later); 4401 is ours: the session ended, sign in again.
type closeReason struct {
	code websocket.StatusCode
	text string
	// reason is the log's reason (snake_case, no personal data).
	reason string
}

// StatusSessionEnded closes a socket whose session ended (log-out, expiry,
// revocation): the softphone signs in again.
const StatusSessionEnded websocket.StatusCode = 4401

var (
	closeResync       = closeReason{websocket.StatusTryAgainLater, "resync", "event_bus_reconnected"}
	closeTooSlow      = closeReason{websocket.StatusTryAgainLater, "too slow: resync", "too_slow"}
	closeSessionEnded = closeReason{StatusSessionEnded, "session ended: sign in again", "session_ended"}
	closeShutdown     = closeReason{websocket.StatusServiceRestart, "server shutting down: reconnect", "shutdown"}
	// Bad input from a client (RFC 6455 section 7.4.1: 1003 a type of
	// data it cannot accept, 1007 data not consistent with the type).
	closeBinary  = closeReason{websocket.StatusUnsupportedData, "binary message: send JSON text", "binary_message"}
	closeNotJSON = closeReason{websocket.StatusInvalidFramePayloadData, `not JSON: send {"type":"ping"} or {"type":"claim_pop","callId":...}`, "not_json"}
)

// EndSession ends every socket of a session on this instance at once
// (log-out). Sockets on other instances end at their next session check.
func (h *Hub) EndSession(sid string) {
	h.each(func(sk *socket) {
		if sk.sid == sid {
			sk.drop(closeSessionEnded)
		}
	})
}

// CloseAll ends every socket on this instance with close code 1012
// (Service Restart): the softphones reconnect, to another instance behind
// the load balancer.
func (h *Hub) CloseAll() {
	h.each(func(sk *socket) { sk.drop(closeShutdown) })
}

// WaitEmpty returns once no socket is left on this instance, or when ctx
// ends (used at shutdown, after CloseAll).
func (h *Hub) WaitEmpty(ctx context.Context) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for h.Count() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (h *Hub) each(f func(*socket)) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, m := range h.conns {
		for _, sk := range m {
			f(sk)
		}
	}
}

// sessionEnded checks, at each keep-alive, that the socket's session still
// lives (it may have expired or been revoked on another instance). A store
// that cannot be reached does not end the socket.
func (s *Server) sessionEnded(ctx context.Context, sid, userID string) (closeReason, bool) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := s.cfg.Auth.Resolve(cctx, sid, userID)
	if errors.Is(err, adapter.ErrUnauthorized) {
		return closeSessionEnded, true
	}
	return closeReason{}, false
}

// socketEnded logs why the server ended a socket.
func (s *Server) socketEnded(r closeReason) {
	ev := s.cfg.Log.Info()
	switch r.reason {
	case "too_slow", "ping_failed", "write_failed", "state_unavailable", "binary_message", "not_json":
		ev = s.cfg.Log.Warn()
	}
	ev = ev.Str("reason", r.reason)
	if r.code != 0 {
		ev = ev.Int("close_code", int(r.code))
	}
	ev.Msg("socket dropped")
}

// Pop claims: one tab of an agent pops each call. A claim is accepted only
// for a call offered to the agent's own phone that is ringing or answered
// (the softphone pops at either), and at most claimBurst at once then
// claimRate per second per socket, so a client cannot fill the store.
const (
	claimBurst = 10
	claimRate  = 2.0
	claimTTL   = time.Hour
)

// claimLimiter is a token bucket per socket.
type claimLimiter struct {
	mu     sync.Mutex
	now    func() time.Time
	tokens float64
	at     time.Time
}

func newClaimLimiter(now func() time.Time) *claimLimiter {
	if now == nil {
		now = time.Now
	}
	return &claimLimiter{now: now, tokens: claimBurst, at: now()}
}

func (l *claimLimiter) allow() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.now()
	if d := t.Sub(l.at); d > 0 {
		l.tokens = min(claimBurst, l.tokens+d.Seconds()*claimRate)
	}
	l.at = t
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}

type popClaim struct {
	Type    string     `json:"type"`
	CallID  string     `json:"callId"`
	Granted bool       `json:"granted"`
	Error   *errorBody `json:"error,omitempty"`
}

// claimPop answers one claim_pop message.
func (s *Server) claimPop(ctx context.Context, l *claimLimiter, ag adapter.Agent, tab, callID string) popClaim {
	refuse := func(code, msg string) popClaim {
		s.cfg.Log.Debug().Str("reason", code).Msg("pop claim refused")
		return popClaim{Type: "pop_claim", CallID: callID, Error: &errorBody{Code: code, Message: msg}}
	}
	if !l.allow() {
		return refuse("rate_limited", "too many pop claims: at most 2 a second")
	}
	if callID == "" || len(callID) > 128 {
		return refuse("invalid_input", "callId: required, at most 128 characters")
	}
	if ag.Extension == "" {
		return refuse("not_found", "no phone: log in to the phone first")
	}
	rec, err := s.cfg.Service.Store.Call(ctx, ag.Extension, callID)
	if err != nil {
		if errors.Is(err, adapter.ErrNotFound) {
			return refuse("not_found", "no such call on your phone")
		}
		return refuse("unavailable", "call store unavailable; try again")
	}
	if rec.Direction == pbx.Outbound || rec.PostCall || !(rec.State == pbx.Alerting || rec.State == pbx.Connected) {
		return refuse("not_allowed", "only a call ringing or answered on your phone pops")
	}
	ok, err := s.cfg.Service.Store.Claim(ctx, "pop:"+ag.UserID+":"+callID, tab, claimTTL)
	if err != nil {
		return refuse("unavailable", "call store unavailable; try again")
	}
	return popClaim{Type: "pop_claim", CallID: callID, Granted: ok}
}
