package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/pbx"
)

// The socket tests' stand-ins: a store with sessions, agents and calls in
// maps, a bus that only knows each device's seq, a switch that only
// answers snapshots. Any other method panics (nil embedded interface): the
// socket must not need it.

type fakeStore struct {
	adapter.Store
	mu       sync.Mutex
	sessions map[string]string // sid -> user id
	agents   map[string]adapter.Agent
	calls    map[string][]adapter.CallRecord // ext -> calls
}

func (f *fakeStore) Session(_ context.Context, sid string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	uid, ok := f.sessions[sid]
	if !ok {
		return "", adapter.ErrNotFound
	}
	return uid, nil
}

func (f *fakeStore) Agent(_ context.Context, uid string) (adapter.Agent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.agents[uid]
	if !ok {
		return adapter.Agent{}, adapter.ErrNotFound
	}
	return a, nil
}

func (f *fakeStore) Calls(_ context.Context, ext string) ([]adapter.CallRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]adapter.CallRecord{}, f.calls[ext]...), nil
}

func (f *fakeStore) endSession(sid string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sessions, sid)
}

type fakeBus struct {
	adapter.Bus
	seq uint64
}

func (b *fakeBus) Seq(context.Context, string) (uint64, error) { return b.seq, nil }

type fakeSwitch struct{ pbx.Switch }

func (fakeSwitch) Snapshot(_ context.Context, ext string) (pbx.Snapshot, error) {
	return pbx.Snapshot{State: pbx.DeviceState{Device: pbx.Device{Extension: ext, Kind: pbx.KindRegular}}}, nil
}

// deviceEvent is a device push with seq.
func deviceEvent(seq uint64) adapter.AgentEvent {
	return adapter.AgentEvent{Type: adapter.EventDevice, Seq: seq, Device: &pbx.DeviceState{Device: pbx.Device{Extension: "201"}}}
}

// socketEnv is a Server with agents ready to connect.
type socketEnv struct {
	srv   *Server
	store *fakeStore
	bus   *fakeBus
	url   string // ws://.../api/v1/ws
	http  *http.Client
	logs  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newSocketServer(tb testing.TB, seq uint64) (*socketEnv, *Server) {
	tb.Helper()
	st := &fakeStore{sessions: map[string]string{}, agents: map[string]adapter.Agent{}, calls: map[string][]adapter.CallRecord{}}
	bus := &fakeBus{seq: seq}
	logs := &syncBuffer{}
	log := zerolog.New(logs)
	svc := adapter.NewService(fakeSwitch{}, nil, st, bus, "test", log)
	s := New(Config{
		Service:   svc,
		Auth:      &adapter.Auth{Store: st},
		Tokens:    &TokenIssuer{Keys: []SigningKey{{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")}}, TTL: time.Hour, Issuer: "test", Audience: "test", Now: time.Now},
		Log:       log,
		KeepAlive: time.Hour, // tests call keepAlive themselves
	})
	return &socketEnv{srv: s, store: st, bus: bus, logs: logs}, s
}

// newSocketEnv serves the Server on a loopback port.
func newSocketEnv(tb testing.TB, seq uint64) *socketEnv {
	tb.Helper()
	env, s := newSocketServer(tb, seq)
	ts := httptest.NewServer(s)
	tb.Cleanup(ts.Close)
	env.url = "ws" + strings.TrimPrefix(ts.URL, "http") + "/api/v1/ws"
	env.http = ts.Client()
	return env
}

// newPipeSocketEnv serves the Server over synchronous in-memory pipes
// (net.Pipe): a write to a client blocks until that client reads, so a
// client that stops reading is slow at once, whatever the kernel buffers.
func newPipeSocketEnv(tb testing.TB, seq uint64) *socketEnv {
	tb.Helper()
	env, s := newSocketServer(tb, seq)
	ln := &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
	hs := &http.Server{Handler: s}
	go hs.Serve(ln)
	tb.Cleanup(func() { hs.Close() })
	env.url = "ws://pipe/api/v1/ws"
	env.http = &http.Client{Transport: &http.Transport{DialContext: ln.dial}}
	return env
}

type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error { l.once.Do(func() { close(l.done) }); return nil }

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	server, client := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// agent adds a signed-in agent on ext and returns its session id and the
// socket's auth message.
func (e *socketEnv) agent(tb testing.TB, n int, ext string) (sid string, auth []byte) {
	tb.Helper()
	uid := fmt.Sprintf("005TEST%08d", n)
	sid = fmt.Sprintf("sid-%d", n)
	e.store.mu.Lock()
	e.store.sessions[sid] = uid
	e.store.agents[uid] = adapter.Agent{UserID: uid, Name: "Agent", Extension: ext, HomeExtension: ext, Kind: pbx.KindRegular}
	e.store.mu.Unlock()
	tok, _, err := e.srv.Tokens().Issue(uid, sid)
	if err != nil {
		tb.Fatal(err)
	}
	return sid, []byte(`{"type":"auth","token":"` + tok + `"}`)
}

// dial opens a socket and sends auth; it does not read.
func (e *socketEnv) dial(tb testing.TB, auth []byte) *websocket.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, e.url, &websocket.DialOptions{HTTPClient: e.http})
	if err != nil {
		tb.Fatal(err)
	}
	c.SetReadLimit(1 << 20)
	if err := c.Write(ctx, websocket.MessageText, auth); err != nil {
		tb.Fatal(err)
	}
	return c
}

// connect opens a socket, signs in and reads the snapshot.
func (e *socketEnv) connect(tb testing.TB, auth []byte) (*websocket.Conn, string) {
	tb.Helper()
	c := e.dial(tb, auth)
	snap := mustRead(tb, c)
	if !strings.HasPrefix(snap, `{"type":"snapshot"`) {
		tb.Fatalf("first message %s, want the snapshot", snap)
	}
	return c, snap
}

func mustRead(tb testing.TB, c *websocket.Conn) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// readUntilClosed reads until the server closes the socket and returns
// the messages read and the close.
func readUntilClosed(tb testing.TB, c *websocket.Conn) ([]string, websocket.CloseError) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var msgs []string
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if !asClose(err, &ce) {
				tb.Fatalf("socket ended with %v, want a close frame", err)
			}
			return msgs, ce
		}
		msgs = append(msgs, string(b))
	}
}

func asClose(err error, ce *websocket.CloseError) bool { return errors.As(err, ce) }

// waitEmpty waits (up to 10 s) until no socket is left in the hub.
func (e *socketEnv) waitEmpty(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e.srv.Hub().WaitEmpty(ctx)
	if n := e.srv.Hub().Count(); n != 0 {
		tb.Fatalf("%d sockets still in the hub", n)
	}
}

var _ io.Writer = (*syncBuffer)(nil)
