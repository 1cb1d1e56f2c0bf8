package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
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
	conns map[string][]*socket // by extension: an agent's tabs (usually one)
}

// NewHub returns an empty hub.
func NewHub(log zerolog.Logger) *Hub {
	return &Hub{log: log, conns: map[string][]*socket{}}
}

// sendQueue is how many events a socket may lag behind (while a write to
// it is under way) before it is dropped as too slow. The queue is only
// allocated while the socket is busy.
const sendQueue = 64

// outMsg is one queued push: the encoded event and its seq.
type outMsg struct {
	b   []byte
	seq uint64
}

// socket is one connected softphone tab. Its reader goroutine owns its
// life: when the connection ends, for whatever reason, the reader leaves
// the hub. Pushes go through push: written at once by a short-lived
// goroutine, queued while one is under way.
type socket struct {
	s    *Server
	conn *websocket.Conn
	out  frameWriter
	ag   adapter.Agent
	ext  string
	sid  string

	mu     sync.Mutex
	seq    uint64   // the snapshot's seq: events at or below it are in it
	queue  []outMsg // waiting while busy; nil when idle
	busy   bool     // a goroutine is writing (or the snapshot is being sent)
	ending bool     // the socket must end, with why
	why    closeReason
	dead   bool        // the connection is closed: nothing more to write
	keep   *time.Timer // next keep-alive
}

// push sends one encoded event (seq 0: not a device event). A socket that
// already has sendQueue events waiting is dropped as too slow.
func (sk *socket) push(b []byte, seq uint64) {
	sk.mu.Lock()
	if sk.ending || sk.dead {
		sk.mu.Unlock()
		return
	}
	if len(sk.queue) >= sendQueue {
		sk.ending, sk.why = true, closeTooSlow
		sk.queue = nil
		sk.mu.Unlock() // busy: the writer closes the socket when its write returns
		return
	}
	sk.queue = append(sk.queue, outMsg{b, seq})
	if sk.busy {
		sk.mu.Unlock()
		return
	}
	sk.busy = true
	sk.mu.Unlock()
	go sk.flush()
}

// drop ends the socket with a close code and reason (first call wins).
func (sk *socket) drop(r closeReason) {
	sk.mu.Lock()
	if sk.ending || sk.dead {
		sk.mu.Unlock()
		return
	}
	sk.ending, sk.why = true, r
	sk.queue = nil
	if sk.busy {
		sk.mu.Unlock() // the writer closes the socket when its write returns
		return
	}
	sk.busy = true
	sk.mu.Unlock()
	go sk.flush()
}

// flush writes what is queued, then returns (busy cleared), or closes the
// socket when it must end. Only one flush runs per socket (busy).
func (sk *socket) flush() {
	for {
		sk.mu.Lock()
		if sk.dead {
			sk.busy, sk.queue = false, nil
			sk.mu.Unlock()
			return
		}
		if sk.ending {
			r := sk.why
			sk.mu.Unlock()
			sk.finish(r)
			return
		}
		if len(sk.queue) == 0 {
			sk.busy, sk.queue = false, nil
			sk.mu.Unlock()
			return
		}
		m := sk.queue[0]
		sk.queue[0] = outMsg{}
		sk.queue = sk.queue[1:]
		snap := sk.seq
		sk.mu.Unlock()
		if m.seq != 0 && m.seq <= snap {
			continue // already in the snapshot
		}
		if err := sk.out.writeText(m.b); err != nil {
			sk.fail("write_failed")
			return
		}
	}
}

// finish closes the socket with r's code and reason (after telling a
// tab whose session ended why, in a message it can show).
func (sk *socket) finish(r closeReason) {
	sk.s.socketEnded(r)
	if r == closeSessionEnded {
		sk.writeJSON(map[string]any{"type": "error", "error": errorBody{Code: "unauthorized", Message: r.text}})
	}
	sk.conn.Close(r.code, r.text)
}

// fail closes a socket whose connection broke (no close handshake).
func (sk *socket) fail(reason string) {
	sk.mu.Lock()
	ended := sk.ending || sk.dead
	sk.dead = true
	sk.mu.Unlock()
	if !ended {
		sk.s.socketEnded(closeReason{reason: reason})
	}
	sk.conn.CloseNow()
}

func (sk *socket) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return sk.out.writeText(b)
}

// keepAlive runs every Config.KeepAlive, on a timer (no goroutine while
// it waits): it checks that the socket's session still lives (it may
// have expired or been revoked on another instance) and pings the client;
// no pong within writeTimeout closes the socket.
func (sk *socket) keepAlive() {
	if r, ended := sk.s.sessionEnded(context.Background(), sk.sid, sk.ag.UserID); ended {
		sk.drop(r)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	err := sk.conn.Ping(ctx)
	cancel()
	if err != nil {
		sk.fail("ping_failed")
		return
	}
	sk.mu.Lock()
	if !sk.dead && !sk.ending {
		sk.keep.Reset(sk.s.cfg.KeepAlive)
	}
	sk.mu.Unlock()
}

func (h *Hub) add(sk *socket) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.conns[sk.ext] = append(h.conns[sk.ext], sk)
}

func (h *Hub) remove(sk *socket) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.conns[sk.ext]
	i := slices.Index(m, sk)
	switch {
	case i < 0:
	case len(m) == 1:
		delete(h.conns, sk.ext)
	default:
		h.conns[sk.ext] = slices.Delete(m, i, i+1)
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
		h.each(func(sk *socket) { sk.drop(closeResync) })
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	m := h.conns[ext]
	if len(m) == 0 {
		return
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return
	}
	for _, sk := range m {
		sk.push(b, ev.Seq)
	}
}

type clientMessage struct {
	Type   string `json:"type"`
	Token  string `json:"token,omitempty"`
	CallID string `json:"callId,omitempty"`
}

// decodeClientMessage reads one message that is valid JSON: an object
// whose type (and callId, token) are strings; unknown fields are ignored.
// The error says what to fix, in JSON's words.
func decodeClientMessage(b []byte, m *clientMessage) error {
	if err := json.Unmarshal(b, m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fmt.Errorf("message: %s must be a string, not %s", te.Field, jsonKind(te.Value))
		}
		return errors.New(`message: must be a JSON object, e.g. {"type":"ping"}`)
	}
	return nil
}

// jsonKind names a json.UnmarshalTypeError's Value ("number 5", "bool")
// in JSON's words.
func jsonKind(v string) string {
	v, _, _ = strings.Cut(v, " ")
	if v == "bool" {
		return "boolean"
	}
	return v
}

// websocket serves /api/v1/ws. The first message must authenticate
// ({"type":"auth","token":...}); then the state snapshot is sent, followed by
// every event with a higher seq. The handler returns once the snapshot is
// out; the socket's reader goroutine (readLoop) carries on.
func (s *Server) websocket(c *echo.Context) error {
	lw := &leanWriter{ResponseWriter: c.Response()}
	conn, err := websocket.Accept(lw, c.Request(), nil)
	if err != nil {
		// Accept refused the handshake (a plain GET without Upgrade:
		// 426); lw kept its plain text back for the JSON answer.
		if lw.refused == 0 {
			return nil // it wrote its answer
		}
		code := codeForStatus(lw.refused)
		c.Response().Header().Del("Content-Type") // http.Error's text/plain
		msg := "/api/v1/ws is the agent WebSocket (docs/agent-api.md): " + strings.TrimSpace(lw.why.String())
		return c.JSON(lw.refused, map[string]errorBody{"error": {Code: code, Message: msg}})
	}
	conn.SetReadLimit(16 << 10)
	// Not the request's context: the socket outlives the request, and a
	// context kept by coder/websocket's reader would keep net/http's
	// connection state alive.
	ctx := context.Background()
	out := frameWriter{conn: lw.conn}

	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, raw, err := conn.Read(actx)
	cancel()
	var hello clientMessage
	if err == nil {
		err = json.Unmarshal(raw, &hello)
	}
	if err != nil || hello.Type != "auth" {
		s.socketEnded(closeReason{code: websocket.StatusPolicyViolation, reason: "no_auth_message"})
		conn.Close(websocket.StatusPolicyViolation, "first message must be {\"type\":\"auth\",\"token\":...}")
		return nil
	}
	ag, sid, err := s.resolve(c.Request(), hello.Token)
	if err != nil {
		_, _, msg := classify(err)
		s.socketEnded(closeReason{code: StatusSessionEnded, reason: "unauthorized"})
		if b, err := json.Marshal(map[string]any{"type": "error", "error": errorBody{Code: "unauthorized", Message: msg}}); err == nil {
			out.writeText(b)
		}
		conn.Close(StatusSessionEnded, "unauthorized")
		return nil
	}
	// busy until the snapshot is out: events meanwhile wait in the queue.
	sk := &socket{s: s, conn: conn, ag: ag, ext: ag.Extension, sid: sid, busy: true}
	sk.out.conn = lw.conn
	s.hub.add(sk) // sockets without a phone too: they end with their session
	st, err := s.cfg.Service.CurrentState(ctx, ag)
	if err != nil {
		s.hub.remove(sk)
		s.socketEnded(closeReason{code: websocket.StatusTryAgainLater, reason: "state_unavailable"})
		conn.Close(websocket.StatusTryAgainLater, "state unavailable")
		return nil
	}
	sk.mu.Lock()
	sk.seq = st.Seq
	sk.mu.Unlock()
	if err := sk.writeJSON(struct {
		Type string `json:"type"`
		adapter.State
	}{"snapshot", st}); err != nil {
		s.hub.remove(sk)
		conn.CloseNow()
		return nil
	}
	sk.mu.Lock()
	// The first keep-alive at a random point of the second half of the
	// period, so that sockets connected together (a restart) do not all
	// ping and check their sessions at the same moment every period.
	sk.keep = time.AfterFunc(s.cfg.KeepAlive/2+rand.N(s.cfg.KeepAlive/2+1), sk.keepAlive)
	sk.mu.Unlock()
	go s.readLoop(sk)
	sk.flush() // what came during the snapshot; then the socket is idle
	return nil
}

// readLoop answers the client's messages until the connection ends: ping,
// and claims of the screen pop of a call (exactly one tab of an agent pops
// each call). A message that is not JSON text closes the socket with 1003
// (binary) or 1007 (not JSON); one over 16 KB with 1009. JSON of the wrong
// shape ({"type":5}, [], a callId that is not a string) and an unknown
// type are answered {"type":"error","error":{"code":"invalid_input",...}}
// and the socket stays.
func (s *Server) readLoop(sk *socket) {
	defer func() {
		sk.mu.Lock()
		sk.dead = true
		sk.queue = nil
		if sk.keep != nil {
			sk.keep.Stop()
		}
		sk.mu.Unlock()
		s.hub.remove(sk)
		sk.conn.CloseNow()
	}()
	var tab string
	var claims *claimLimiter
	for {
		typ, b, err := sk.conn.Read(context.Background())
		if err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) && !errors.Is(err, net.ErrClosed) {
				s.cfg.Log.Debug().Err(err).Msg("socket read ended")
			}
			return
		}
		sk.mu.Lock()
		ending := sk.ending
		sk.mu.Unlock()
		if ending {
			continue // until the client answers the close
		}
		var m clientMessage
		if typ != websocket.MessageText {
			sk.drop(closeBinary)
			continue
		}
		if !json.Valid(b) {
			sk.drop(closeNotJSON)
			continue
		}
		if err := decodeClientMessage(b, &m); err != nil {
			// JSON of the wrong shape is the client's mistake to read
			// about, as an unknown type is: the socket stays.
			sk.writeJSON(map[string]any{"type": "error", "error": errorBody{Code: "invalid_input", Message: err.Error()}})
			continue
		}
		switch m.Type {
		case "ping":
			sk.out.writeText([]byte(`{"type":"pong"}`))
		case "claim_pop":
			if claims == nil {
				tab, claims = adapter.NewSessionID(), newClaimLimiter(s.cfg.Now)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			reply := s.claimPop(ctx, claims, sk.ag, tab, m.CallID)
			cancel()
			sk.writeJSON(reply)
		default:
			sk.writeJSON(map[string]any{"type": "error", "error": errorBody{Code: "invalid_input", Message: "unknown message type; use ping or claim_pop"}})
		}
	}
}
