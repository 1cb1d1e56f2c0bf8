package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v5"
	"github.com/rs/zerolog"

	"github.com/switchboard-cti/switchboard/adapter"
)

// Hub holds this instance's agent sockets by extension and delivers bus
// events to them. A socket that cannot keep up is closed; its client
// reconnects and resyncs from /api/v1/state.
type Hub struct {
	log   zerolog.Logger
	mu    sync.RWMutex
	conns map[string]map[*socket]struct{}
}

// NewHub returns an empty hub.
func NewHub(log zerolog.Logger) *Hub {
	return &Hub{log: log, conns: map[string]map[*socket]struct{}{}}
}

// socket is one connected softphone tab.
type socket struct {
	ext  string
	sid  string
	send chan []byte
	// dropped is closed when the socket must end (too slow, resync,
	// session ended, shutdown); end says why.
	dropped  chan struct{}
	dropOnce sync.Once
	end      closeReason
}

// drop ends the socket with a close code and reason (first call wins).
func (sk *socket) drop(r closeReason) {
	sk.dropOnce.Do(func() { sk.end = r; close(sk.dropped) })
}

// sendBuffer is how many events a socket may lag behind before it is
// dropped.
const sendBuffer = 64

func (h *Hub) add(sk *socket) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.conns[sk.ext]
	if m == nil {
		m = map[*socket]struct{}{}
		h.conns[sk.ext] = m
	}
	m[sk] = struct{}{}
}

func (h *Hub) remove(sk *socket) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m := h.conns[sk.ext]; m != nil {
		delete(m, sk)
		if len(m) == 0 {
			delete(h.conns, sk.ext)
		}
	}
}

// Count returns the number of sockets connected to this instance.
func (h *Hub) Count() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	for _, m := range h.conns {
		n += len(m)
	}
	return n
}

// Deliver sends one event to every socket of ext on this instance. A
// resync event (ext "") closes every socket: clients reconnect and get a
// fresh snapshot.
func (h *Hub) Deliver(ext string, ev adapter.AgentEvent) {
	if ev.Type == adapter.EventResync {
		h.mu.RLock()
		for _, m := range h.conns {
			for sk := range m {
				sk.drop(closeResync)
			}
		}
		h.mu.RUnlock()
		return
	}
	h.mu.RLock()
	m := h.conns[ext]
	if len(m) == 0 {
		h.mu.RUnlock()
		return
	}
	b, err := json.Marshal(ev)
	if err != nil {
		h.mu.RUnlock()
		return
	}
	for sk := range m {
		select {
		case sk.send <- b:
		default:
			sk.drop(closeTooSlow)
		}
	}
	h.mu.RUnlock()
}

type clientMessage struct {
	Type   string `json:"type"`
	Token  string `json:"token,omitempty"`
	CallID string `json:"callId,omitempty"`
}

// websocket serves /api/v1/ws. The first message must authenticate
// ({"type":"auth","token":...}); then the state snapshot is sent, followed by
// every event with a higher seq.
func (s *Server) websocket(c *echo.Context) error {
	conn, err := websocket.Accept(c.Response(), c.Request(), nil)
	if err != nil {
		return nil // Accept wrote the HTTP error
	}
	defer conn.CloseNow()
	conn.SetReadLimit(16 << 10)
	ctx := c.Request().Context()

	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	var hello clientMessage
	err = readJSON(actx, conn, &hello)
	cancel()
	if err != nil || hello.Type != "auth" {
		s.socketEnded(closeReason{code: websocket.StatusPolicyViolation, reason: "no_auth_message"})
		conn.Close(websocket.StatusPolicyViolation, "first message must be {\"type\":\"auth\",\"token\":...}")
		return nil
	}
	ag, sid, err := s.resolve(c.Request(), hello.Token)
	if err != nil {
		_, _, msg := classify(err)
		s.socketEnded(closeReason{code: StatusSessionEnded, reason: "unauthorized"})
		writeJSON(ctx, conn, map[string]any{"type": "error", "error": errorBody{Code: "unauthorized", Message: msg}})
		conn.Close(4401, "unauthorized")
		return nil
	}
	sk := &socket{ext: ag.Extension, sid: sid, send: make(chan []byte, sendBuffer), dropped: make(chan struct{})}
	s.hub.add(sk) // sockets without a phone too: they end with their session
	defer s.hub.remove(sk)
	st, err := s.cfg.Service.CurrentState(ctx, ag)
	if err != nil {
		s.socketEnded(closeReason{code: websocket.StatusTryAgainLater, reason: "state_unavailable"})
		conn.Close(websocket.StatusTryAgainLater, "state unavailable")
		return nil
	}
	if err := writeJSON(ctx, conn, struct {
		Type string `json:"type"`
		adapter.State
	}{"snapshot", st}); err != nil {
		return nil
	}

	ctx, cancelAll := context.WithCancel(ctx)
	defer cancelAll()
	go s.readLoop(ctx, cancelAll, conn, ag, sid)

	ping := time.NewTicker(s.cfg.KeepAlive)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			conn.Close(websocket.StatusNormalClosure, "")
			return nil
		case <-sk.dropped:
			s.socketEnded(sk.end)
			if sk.end == closeSessionEnded {
				writeJSON(ctx, conn, map[string]any{"type": "error", "error": errorBody{Code: "unauthorized", Message: sk.end.text}})
			}
			conn.Close(sk.end.code, sk.end.text)
			return nil
		case b := <-sk.send:
			var head struct {
				Seq uint64 `json:"seq"`
			}
			_ = json.Unmarshal(b, &head)
			if head.Seq != 0 && head.Seq <= st.Seq {
				continue // already in the snapshot
			}
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := conn.Write(wctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				s.socketEnded(closeReason{reason: "write_failed"})
				return nil
			}
		case <-ping.C:
			if r, ended := s.sessionEnded(ctx, sid, ag.UserID); ended {
				sk.drop(r)
				continue
			}
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				s.socketEnded(closeReason{reason: "ping_failed"})
				return nil
			}
		}
	}
}

// readLoop answers the client's messages: ping, and claims of the screen
// pop of a call (exactly one tab of an agent pops each call).
func (s *Server) readLoop(ctx context.Context, done func(), conn *websocket.Conn, ag adapter.Agent, sid string) {
	defer done()
	tab := adapter.NewSessionID()
	claims := newClaimLimiter(s.cfg.Now)
	for {
		var m clientMessage
		if err := readJSON(ctx, conn, &m); err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) && ctx.Err() == nil {
				s.cfg.Log.Debug().Err(err).Msg("socket read ended")
			}
			return
		}
		switch m.Type {
		case "ping":
			writeJSON(ctx, conn, map[string]string{"type": "pong"})
		case "claim_pop":
			writeJSON(ctx, conn, s.claimPop(ctx, claims, ag, tab, m.CallID))
		default:
			writeJSON(ctx, conn, map[string]any{"type": "error", "error": errorBody{Code: "invalid_input", Message: "unknown message type; use ping or claim_pop"}})
		}
	}
}

func readJSON(ctx context.Context, conn *websocket.Conn, v any) error {
	_, b, err := conn.Read(ctx)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func writeJSON(ctx context.Context, conn *websocket.Conn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return conn.Write(wctx, websocket.MessageText, b)
}
