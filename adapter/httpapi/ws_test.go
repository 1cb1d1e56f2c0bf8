package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cti/switchboard/adapter"
)

func seqOf(tb testing.TB, msg string) uint64 {
	tb.Helper()
	var m struct {
		Seq uint64 `json:"seq"`
	}
	if err := json.Unmarshal([]byte(msg), &m); err != nil {
		tb.Fatalf("%s: %v", msg, err)
	}
	return m.Seq
}

func TestASocketGetsItsSnapshotThenEveryLaterPushInOrder(t *testing.T) {
	env := newSocketEnv(t, 5)
	_, auth := env.agent(t, 1, "201")
	c, snap := env.connect(t, auth)
	defer c.CloseNow()
	if seqOf(t, snap) != 5 {
		t.Fatalf("snapshot %s, want seq 5", snap)
	}
	for _, seq := range []uint64{4, 5, 6, 7, 8} { // 4 and 5 are in the snapshot
		env.srv.Hub().Deliver("201", deviceEvent(seq))
	}
	var got []uint64
	for range 3 {
		got = append(got, seqOf(t, mustRead(t, c)))
	}
	if diff := cmp.Diff([]uint64{6, 7, 8}, got); diff != "" {
		t.Errorf("pushed seqs (-want +got):\n%s", diff)
	}
}

func TestTheSendQueueIsBoundedAndOverflowingItEndsTheSocketAsTooSlow(t *testing.T) {
	sk := &socket{busy: true} // a write is under way
	for i := range sendQueue {
		sk.push([]byte(`{}`), uint64(i+1))
	}
	if len(sk.queue) != sendQueue || sk.ending {
		t.Fatalf("%d queued, ending %v; want %d queued, not ending", len(sk.queue), sk.ending, sendQueue)
	}
	sk.push([]byte(`{}`), sendQueue+1)
	if !sk.ending || sk.why != closeTooSlow || sk.queue != nil {
		t.Fatalf("after one more: ending %v why %+v, %d queued; want too slow with the queue freed", sk.ending, sk.why, len(sk.queue))
	}
	sk.push([]byte(`{}`), sendQueue+2)
	if sk.queue != nil {
		t.Fatal("a socket that is ending queued a push")
	}
}

func TestASlowSocketIsClosedWithTryAgainLaterAndResyncsFullStateOnReconnect(t *testing.T) {
	env := newPipeSocketEnv(t, 10)
	_, auth := env.agent(t, 1, "201")
	call := adapter.CallRecord{}
	call.ID = "c1"
	env.store.calls["201"] = []adapter.CallRecord{call}
	c, _ := env.connect(t, auth)
	defer c.CloseNow()

	// The client reads nothing now: the first push blocks in its write (a
	// pipe holds no bytes), the next ones queue until the queue is full.
	for i := range sendQueue + 2 {
		env.srv.Hub().Deliver("201", deviceEvent(uint64(11+i)))
	}
	msgs, ce := readUntilClosed(t, c)
	if ce.Code != websocket.StatusTryAgainLater || ce.Reason != "too slow: resync" {
		t.Errorf("closed with %d %q, want 1013 \"too slow: resync\"", ce.Code, ce.Reason)
	}
	if len(msgs) > 1 {
		t.Errorf("%d pushes after the socket was found too slow, want at most the one under way", len(msgs))
	}
	env.waitEmpty(t)
	if !strings.Contains(env.logs.String(), `"reason":"too_slow"`) {
		t.Errorf("no too_slow log line in %s", env.logs)
	}

	// The softphone reconnects (live.js) and gets the whole state again.
	env.bus.seq = 11 + sendQueue + 1
	c2, snap := env.connect(t, auth)
	defer c2.CloseNow()
	var st struct {
		Seq   uint64               `json:"seq"`
		Calls []adapter.CallRecord `json:"calls"`
	}
	if err := json.Unmarshal([]byte(snap), &st); err != nil {
		t.Fatal(err)
	}
	if st.Seq != env.bus.seq || len(st.Calls) != 1 || st.Calls[0].ID != "c1" {
		t.Errorf("snapshot after reconnect: seq %d calls %+v; want seq %d and call c1", st.Seq, st.Calls, env.bus.seq)
	}
}

// socketGoroutines counts the goroutines running socket code (reader,
// writer, keep-alive, handler), and returns their stacks.
func socketGoroutines() (int, string) {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n, stacks := 0, ""
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "httpapi.(*Server).readLoop") || strings.Contains(g, "httpapi.(*socket).") || strings.Contains(g, "httpapi.(*Server).websocket") {
			n++
			stacks += g + "\n\n"
		}
	}
	return n, stacks
}

// socketGoroutinesSettle waits (up to 10 s) until want goroutines run
// socket code, all of them readers, and returns how many do.
func socketGoroutinesSettle(want int) (int, string) {
	deadline := time.Now().Add(10 * time.Second)
	n, stacks := socketGoroutines()
	for (n != want || strings.Count(stacks, "httpapi.(*Server).readLoop(") != want) && time.Now().Before(deadline) {
		runtime.Gosched()
		n, stacks = socketGoroutines()
	}
	return n, stacks
}

func TestAnIdleSocketRunsOneGoroutineAndNoneIsLeftWhenSocketsEnd(t *testing.T) {
	env := newSocketEnv(t, 0)
	const n = 20
	auths := make([][]byte, n)
	for i := range auths {
		_, auths[i] = env.agent(t, i, fmt.Sprintf("%d", 300+i))
	}
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		conns[i], _ = env.connect(t, auths[i])
	}
	if got, stacks := socketGoroutinesSettle(n); got != n || strings.Count(stacks, "httpapi.(*Server).readLoop(") != n {
		t.Errorf("%d idle sockets run %d goroutines, want %d readers:\n%s", n, got, n, stacks)
	}
	for i := range conns { // traffic: pushes, client pings and claims
		env.srv.Hub().Deliver(fmt.Sprintf("%d", 300+i), deviceEvent(1))
		mustRead(t, conns[i])
		conns[i].Write(context.Background(), websocket.MessageText, []byte(`{"type":"ping"}`))
		if got := mustRead(t, conns[i]); got != `{"type":"pong"}` {
			t.Fatalf("ping answered %s", got)
		}
	}
	// Half end from the client side, half from the server's (shutdown).
	for _, c := range conns[:n/2] {
		c.Close(websocket.StatusNormalClosure, "")
	}
	env.srv.Hub().CloseAll()
	for _, c := range conns[n/2:] {
		if _, ce := readUntilClosed(t, c); ce.Code != websocket.StatusServiceRestart {
			t.Errorf("closed with %d, want 1012", ce.Code)
		}
	}
	env.waitEmpty(t)
	if got, stacks := socketGoroutinesSettle(0); got != 0 {
		t.Errorf("%d socket goroutines left after every socket ended:\n%s", got, stacks)
	}
}

func TestBadInputOnTheSocketGetsAClearAnswerOrClose(t *testing.T) {
	env := newSocketEnv(t, 0)
	_, auth := env.agent(t, 1, "201")
	tests := []struct {
		name      string
		auth      []byte // nil: sign in first
		typ       websocket.MessageType
		msg       string
		wantReply string
		wantCode  websocket.StatusCode
	}{
		{"a first message that is not auth", []byte(`{"type":"ping"}`), 0, "", "", websocket.StatusPolicyViolation},
		{"a first message that is not JSON", []byte(`hello`), 0, "", "", websocket.StatusPolicyViolation},
		{"a token that is not ours", []byte(`{"type":"auth","token":"forged"}`), 0, "", `"unauthorized"`, StatusSessionEnded},
		{"an unknown message type", nil, websocket.MessageText, `{"type":"dance"}`, `"invalid_input"`, 0},
		{"a claim without a call id", nil, websocket.MessageText, `{"type":"claim_pop"}`, `"invalid_input"`, 0},
		{"a type that is a number", nil, websocket.MessageText, `{"type":5}`, `"invalid_input"`, 0},
		{"a claim whose call id is a number", nil, websocket.MessageText, `{"type":"claim_pop","callId":5}`, `callId must be a string`, 0},
		{"a JSON array", nil, websocket.MessageText, `[]`, `a JSON object`, 0},
		{"a JSON string", nil, websocket.MessageText, `"ping"`, `"invalid_input"`, 0},
		{"JSON null", nil, websocket.MessageText, `null`, `"invalid_input"`, 0},
		{"a message that is not JSON", nil, websocket.MessageText, `{"type":`, "", websocket.StatusInvalidFramePayloadData},
		{"a binary message", nil, websocket.MessageBinary, `{"type":"ping"}`, "", websocket.StatusUnsupportedData},
		{"JSON followed by more text", nil, websocket.MessageText, `{"type":"ping"} x`, "", websocket.StatusInvalidFramePayloadData},
		{"a message over 16 KB", nil, websocket.MessageText, `{"type":"ping","x":"` + strings.Repeat("x", 17<<10) + `"}`, "", websocket.StatusMessageTooBig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c *websocket.Conn
			if tc.auth != nil {
				c = env.dial(t, tc.auth)
			} else {
				c, _ = env.connect(t, auth)
				if err := c.Write(context.Background(), tc.typ, []byte(tc.msg)); err != nil {
					t.Fatal(err)
				}
			}
			defer c.CloseNow()
			if tc.wantCode == 0 {
				if got := mustRead(t, c); !strings.Contains(got, tc.wantReply) {
					t.Fatalf("answer %s, want one with %s", got, tc.wantReply)
				}
				c.Write(context.Background(), websocket.MessageText, []byte(`{"type":"ping"}`))
				if got := mustRead(t, c); got != `{"type":"pong"}` {
					t.Fatalf("after the error the socket answered %s, want a pong", got)
				}
				return
			}
			msgs, ce := readUntilClosed(t, c)
			if ce.Code != tc.wantCode || (ce.Reason == "" && tc.wantCode != websocket.StatusMessageTooBig) {
				t.Errorf("closed with %d %q, want %d and a reason", ce.Code, ce.Reason, tc.wantCode)
			}
			if tc.wantReply != "" && (len(msgs) != 1 || !strings.Contains(msgs[0], tc.wantReply)) {
				t.Errorf("messages before the close %q, want one with %s", msgs, tc.wantReply)
			}
		})
	}
	env.waitEmpty(t)
}

func TestTheSocketEndsWithSessionEndedAtLogOutAndAtTheKeepAliveCheck(t *testing.T) {
	env := newSocketEnv(t, 0)
	sid1, auth1 := env.agent(t, 1, "201")
	sid2, auth2 := env.agent(t, 2, "202")
	c1, _ := env.connect(t, auth1)
	defer c1.CloseNow()
	c2, _ := env.connect(t, auth2)
	defer c2.CloseNow()

	env.srv.Hub().EndSession(sid1) // log-out on this instance
	msgs, ce := readUntilClosed(t, c1)
	if ce.Code != StatusSessionEnded || len(msgs) != 1 || !strings.Contains(msgs[0], `"unauthorized"`) {
		t.Errorf("after log-out: %q then close %d %q; want an unauthorized error then 4401", msgs, ce.Code, ce.Reason)
	}

	// Revoked elsewhere: the next keep-alive finds it gone.
	env.store.endSession(sid2)
	var sk2 *socket
	env.srv.Hub().each(func(sk *socket) {
		if sk.sid == sid2 {
			sk2 = sk
		}
	})
	if sk2 == nil {
		t.Fatal("socket of session 2 not in the hub")
	}
	sk2.keepAlive()
	msgs, ce = readUntilClosed(t, c2)
	if ce.Code != StatusSessionEnded || len(msgs) != 1 {
		t.Errorf("after revocation: %q then close %d; want an unauthorized error then 4401", msgs, ce.Code)
	}
	env.waitEmpty(t)
}

func TestTheKeepAlivePingsALiveClientAndKeepsItsSocket(t *testing.T) {
	env := newSocketEnv(t, 0)
	_, auth := env.agent(t, 1, "201")
	c, _ := env.connect(t, auth)
	defer c.CloseNow()
	// The client reads in the background, as browsers do, so it answers
	// the ping with a pong.
	read := make(chan string, 1)
	go func() {
		_, b, err := c.Read(context.Background())
		if err != nil {
			read <- err.Error()
			return
		}
		read <- string(b)
	}()
	var sk *socket
	env.srv.Hub().each(func(s *socket) { sk = s })
	sk.keepAlive()
	sk.mu.Lock()
	ended := sk.ending || sk.dead
	sk.mu.Unlock()
	if ended {
		t.Fatal("keep-alive ended a live socket")
	}
	env.srv.Hub().Deliver("201", deviceEvent(1))
	if got := <-read; seqOf(t, got) != 1 {
		t.Fatalf("after the keep-alive got %s, want the push", got)
	}
}

func TestATextFrameIsFramedAsRFC6455Says(t *testing.T) {
	for _, n := range []int{0, 125, 126, 65535, 65536} {
		p := []byte(strings.Repeat("a", n))
		f := appendTextFrame(nil, p)
		var head []byte
		switch {
		case n <= 125:
			head = []byte{0x81, byte(n)}
		case n <= 65535:
			head = []byte{0x81, 126, byte(n >> 8), byte(n)}
		default:
			head = []byte{0x81, 127, 0, 0, 0, 0, 0, byte(n >> 16), byte(n >> 8), byte(n)}
		}
		if string(f[:len(head)]) != string(head) || string(f[len(head):]) != string(p) {
			t.Errorf("%d bytes: header % x, want % x", n, f[:len(head)], head)
		}
	}
}
