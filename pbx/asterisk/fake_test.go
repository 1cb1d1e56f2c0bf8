package asterisk

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// fakeAMI is a stand-in Asterisk Manager Interface: it speaks the wire
// format (banner, CRLF messages, ActionID echo, list actions), accepts one
// user, answers the actions the driver sends from a table, and can stream
// raw recordings to the connected client.
type fakeAMI struct {
	t       *testing.T
	ln      net.Listener
	banner  string
	secret  string
	answers map[string]func(a Message) []Message // by lower-case Action

	mu      sync.Mutex
	conn    net.Conn
	actions []Message
	logins  chan struct{}
	got     chan Message // every action after login
}

func newFakeAMI(t *testing.T, banner string) *fakeAMI {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeAMI{t: t, ln: ln, banner: banner, secret: "ctisecret", answers: map[string]func(Message) []Message{},
		logins: make(chan struct{}, 16), got: make(chan Message, 1024)}
	// What an idle Asterisk answers to the resync.
	f.answers["coreshowchannels"] = func(a Message) []Message { return listOf(a, "CoreShowChannelsComplete") }
	f.answers["queuestatus"] = func(a Message) []Message { return listOf(a, "QueueStatusComplete") }
	f.answers["dbget"] = func(a Message) []Message {
		return []Message{{Fields: []Field{{"Response", "Error"}, {"ActionID", a.ActionID()}, {"Message", "Database entry not found"}}}}
	}
	go f.serve()
	t.Cleanup(func() { ln.Close(); f.drop() })
	return f
}

// listOf answers a list action with events (each gets the ActionID) and
// the Complete event.
func listOf(a Message, complete string, events ...Message) []Message {
	out := []Message{{Fields: []Field{{"Response", "Success"}, {"ActionID", a.ActionID()}, {"EventList", "start"}, {"Message", "list will follow"}}}}
	for _, e := range events {
		e.Set("ActionID", a.ActionID())
		out = append(out, e)
	}
	return append(out, Message{Fields: []Field{{"Event", complete}, {"ActionID", a.ActionID()}, {"EventList", "Complete"}, {"ListItems", "0"}}})
}

func (f *fakeAMI) addr() string { return f.ln.Addr().String() }

func (f *fakeAMI) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conn = c
		f.mu.Unlock()
		go f.session(c)
	}
}

func (f *fakeAMI) write(c net.Conn, ms ...Message) {
	var b bytes.Buffer
	for _, m := range ms {
		_ = m.encode(&b)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_, _ = c.Write(b.Bytes())
}

func (f *fakeAMI) session(c net.Conn) {
	defer c.Close()
	_, _ = c.Write([]byte("Asterisk Call Manager/" + f.banner + "\r\n"))
	r := NewReader(c)
	challenge := "1234567890"
	for {
		a, err := r.ReadMessage()
		if err != nil {
			return
		}
		id := a.ActionID()
		ok := func(kv ...string) Message {
			m := Message{Fields: []Field{{"Response", "Success"}, {"ActionID", id}}}
			for i := 0; i+1 < len(kv); i += 2 {
				m.Add(kv[i], kv[i+1])
			}
			return m
		}
		switch act := strings.ToLower(a.Get("Action")); act {
		case "challenge":
			f.write(c, ok("Challenge", challenge))
		case "login":
			select {
			case f.got <- a:
			default:
			}
			sum := md5.Sum([]byte(challenge + f.secret))
			good := a.Get("Username") == "cti" && (a.Get("Secret") == f.secret || strings.EqualFold(a.Get("AuthType"), "md5") && a.Get("Key") == hex.EncodeToString(sum[:]))
			if !good {
				f.write(c, Message{Fields: []Field{{"Response", "Error"}, {"ActionID", id}, {"Message", "Authentication failed"}}})
				return
			}
			f.write(c, ok("Message", "Authentication accepted"))
			f.logins <- struct{}{}
		case "ping":
			f.write(c, ok("Ping", "Pong"))
		default:
			f.mu.Lock()
			f.actions = append(f.actions, a)
			h := f.answers[act]
			f.mu.Unlock()
			select {
			case f.got <- a:
			default:
			}
			if h != nil {
				f.write(c, h(a)...)
			} else {
				f.write(c, ok("Message", act+" done"))
			}
		}
	}
}

// stream writes raw bytes (a recording) to the current client.
func (f *fakeAMI) stream(raw []byte) {
	f.mu.Lock()
	c := f.conn
	f.mu.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := c.Write(raw); err != nil {
		f.t.Errorf("stream: %v", err)
	}
}

// drop cuts the current connection (a network failure or an Asterisk
// restart, as the client sees it).
func (f *fakeAMI) drop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conn != nil {
		f.conn.Close()
	}
}

func (f *fakeAMI) waitLogin(t *testing.T) {
	t.Helper()
	select {
	case <-f.logins:
	case <-time.After(10 * time.Second):
		t.Fatal("no login within 10s")
	}
}

// waitAction waits for the next action named name.
func (f *fakeAMI) waitAction(t *testing.T, name string) Message {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case a := <-f.got:
			if strings.EqualFold(a.Get("Action"), name) {
				return a
			}
		case <-deadline:
			t.Fatalf("no %s action within 10s", name)
		}
	}
}

// recording returns a capture without its banner and login response: the
// bytes Asterisk sent after login.
func recording(t *testing.T, name string) (banner string, body []byte) {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	line, rest, _ := bytes.Cut(raw, []byte("\r\n"))
	_, banner, _ = strings.Cut(string(line), "/")
	_, body, ok := bytes.Cut(rest, []byte("\r\n\r\n"))
	if !ok {
		t.Fatal("recording without login response")
	}
	return banner, body
}

func testClientConfig(addr string) ClientConfig {
	return ClientConfig{Addr: addr, Username: "cti", Secret: "ctisecret", MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond,
		PingInterval: time.Hour, Log: zerolog.Nop()}
}

func runCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}
