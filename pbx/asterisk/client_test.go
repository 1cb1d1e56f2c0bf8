package asterisk

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestReaderFraming(t *testing.T) {
	in := "\r\n\nResponse: Success\r\nActionID: 1\r\nMessage: ok\r\n\r\n\n\r\n" +
		"Event: TestEvent\nState: A\nstate: B\n\n" +
		"Event: Odd\r\nKey:no-space\r\nEmpty:\r\nline without colon\r\n\r\n"
	r := NewReader(strings.NewReader(in))
	var got []Message
	for {
		m, err := r.ReadMessage()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	if len(got) != 3 {
		t.Fatalf("got %d messages, want 3: %v", len(got), got)
	}
	if diff := cmp.Diff([]string{"A", "B"}, got[1].All("STATE")); diff != "" {
		t.Errorf("repeated keys (-want +got):\n%s", diff)
	}
	if got[0].Get("actionid") != "1" || got[0].Err() != nil {
		t.Errorf("keys are case-insensitive: %v", got[0])
	}
	if got[2].Get("Key") != "no-space" || got[2].Get("Empty") != "" || got[2].Fields[3].Value != "line without colon" {
		t.Errorf("odd lines: %#v", got[2].Fields)
	}
}

func TestReaderRefusesEndlessLine(t *testing.T) {
	r := NewReader(io.MultiReader(strings.NewReader("Event: x\r\nKey: "), neverEnding{}))
	_, err := r.ReadMessage()
	if !errors.Is(err, ErrProtocol) {
		t.Fatalf("err = %v, want ErrProtocol", err)
	}
}

type neverEnding struct{}

func (neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestReaderTruncatedMessage(t *testing.T) {
	_, err := NewReader(strings.NewReader("Event: x\r\nKey: v")).ReadMessage()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want ErrUnexpectedEOF", err)
	}
	if _, err := NewReader(strings.NewReader("HTTP/1.1 200 OK\r\n")).ReadBanner(); !errors.Is(err, ErrProtocol) {
		t.Fatalf("banner err = %v, want ErrProtocol", err)
	}
}

func TestEncodeRefusesInjection(t *testing.T) {
	var b bytes.Buffer
	if err := NewAction("Originate", "Exten", "100\r\nAction: Hangup").encode(&b); err == nil {
		t.Fatal("a value with CRLF was encoded")
	}
}

// recorder is a Handler that keeps what it gets.
type recorder struct {
	mu        sync.Mutex
	events    []Message
	connected int
	down      int
	ch        chan string
}

func newRecorder() *recorder { return &recorder{ch: make(chan string, 4096)} }

func (r *recorder) Connected(ctx context.Context, banner string) {
	r.mu.Lock()
	r.connected++
	r.mu.Unlock()
	r.ch <- "connected " + banner
}
func (r *recorder) Event(m Message) {
	r.mu.Lock()
	r.events = append(r.events, m)
	r.mu.Unlock()
	r.ch <- "event " + m.Event()
}
func (r *recorder) Disconnected(err error) {
	r.mu.Lock()
	r.down++
	r.mu.Unlock()
	r.ch <- "down"
}

func (r *recorder) wait(t *testing.T, prefix string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case s := <-r.ch:
			if strings.HasPrefix(s, prefix) {
				return s
			}
		case <-deadline:
			t.Fatalf("no %q within 10s", prefix)
		}
	}
}

func TestClientReplaysRecordings(t *testing.T) {
	for _, name := range []string{"ast22.10-queue-answer-hold-unhold.ami", "ast16.28-queue-answer-hold.ami"} {
		t.Run(name, func(t *testing.T) {
			banner, body := recording(t, name)
			f := newFakeAMI(t, banner)
			rec := newRecorder()
			c := NewClient(testClientConfig(f.addr()), rec)
			ctx := runCtx(t)
			go c.Run(ctx)
			if got := rec.wait(t, "connected"); got != "connected "+banner {
				t.Errorf("got %q, want the banner's version %q", got, banner)
			}
			want := bytes.Count(body, []byte("\r\nEvent: ")) + btoi(bytes.HasPrefix(body, []byte("Event: ")))
			f.stream(append(body, []byte("Event: End\r\n\r\n")...))
			rec.wait(t, "event End")
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if got := len(rec.events) - 1; got != want {
				t.Errorf("got %d events, want %d", got, want)
			}
			if up, ver := c.Up(); !up || ver != banner {
				t.Errorf("Up() = %v, %q", up, ver)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestClientMatchesActionIDsAndLists(t *testing.T) {
	f := newFakeAMI(t, "11.0.0")
	f.answers["coreshowchannels"] = func(a Message) []Message {
		return listOf(a, "CoreShowChannelsComplete",
			Message{Fields: []Field{{"Event", "CoreShowChannel"}, {"Channel", "PJSIP/1001-00000001"}}},
			Message{Fields: []Field{{"Event", "CoreShowChannel"}, {"Channel", "PJSIP/trunk-00000000"}}})
	}
	f.answers["redirect"] = func(a Message) []Message {
		return []Message{{Fields: []Field{{"Response", "Error"}, {"ActionID", a.ActionID()}, {"Message", "Channel not specified"}}}}
	}
	rec := newRecorder()
	c := NewClient(testClientConfig(f.addr()), rec)
	go c.Run(runCtx(t))
	rec.wait(t, "connected")
	ctx := context.Background()

	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, evs, err := c.List(ctx, NewAction("CoreShowChannels"))
			if err != nil || len(evs) != 2 || evs[1].Get("Channel") != "PJSIP/trunk-00000000" {
				t.Errorf("List = %v, %v", evs, err)
			}
		}()
	}
	wg.Wait()
	_, err := c.Action(ctx, NewAction("Redirect"))
	var re *ResponseError
	if !errors.As(err, &re) || re.Message != "Channel not specified" {
		t.Errorf("Redirect err = %v, want the ResponseError", err)
	}
	seen := map[string]bool{}
	for _, a := range f.actions {
		if seen[a.ActionID()] {
			t.Errorf("ActionID %q used twice", a.ActionID())
		}
		seen[a.ActionID()] = true
	}
}

func TestClientMD5Login(t *testing.T) {
	f := newFakeAMI(t, "11.0.0")
	cfg := testClientConfig(f.addr())
	cfg.MD5 = true
	rec := newRecorder()
	go NewClient(cfg, rec).Run(runCtx(t))
	rec.wait(t, "connected")
}

func TestClientWrongSecretRetries(t *testing.T) {
	f := newFakeAMI(t, "11.0.0")
	cfg := testClientConfig(f.addr())
	cfg.Secret = "wrong"
	rec := newRecorder()
	c := NewClient(cfg, rec)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	// Two refused logins prove it retries; then it stops with ctx.
	for range 2 {
		f.waitAction(t, "Login")
	}
	if up, _ := c.Up(); up {
		t.Error("up with a wrong secret")
	}
	cancel()
	<-done
}

func TestClientReconnectsAfterDrop(t *testing.T) {
	f := newFakeAMI(t, "11.0.0")
	rec := newRecorder()
	c := NewClient(testClientConfig(f.addr()), rec)
	go c.Run(runCtx(t))
	rec.wait(t, "connected")
	f.drop()
	rec.wait(t, "down")
	rec.wait(t, "connected")
	if _, err := c.Action(context.Background(), NewAction("Ping")); err != nil {
		t.Fatalf("after reconnect: %v", err)
	}
}

func TestClientActionWhileDown(t *testing.T) {
	c := NewClient(testClientConfig("127.0.0.1:1"), newRecorder())
	_, err := c.Action(context.Background(), NewAction("Ping"))
	if !errors.Is(err, ErrDown) {
		t.Fatalf("err = %v, want ErrDown", err)
	}
}

func TestClientSlowConsumerNeverBlocksReader(t *testing.T) {
	f := newFakeAMI(t, "11.0.0")
	block := make(chan struct{})
	h := &blockingHandler{recorder: newRecorder(), block: block}
	c := NewClient(testClientConfig(f.addr()), h)
	go c.Run(runCtx(t))
	h.wait(t, "connected")
	var b bytes.Buffer
	for range 2000 {
		b.WriteString("Event: Newstate\r\nChannel: PJSIP/1001-00000001\r\n\r\n")
	}
	f.stream(b.Bytes())
	// The consumer is stuck, yet actions are answered: the reader runs.
	if _, err := c.Action(context.Background(), NewAction("Ping")); err != nil {
		t.Fatalf("action while the consumer is stuck: %v", err)
	}
	close(block)
}

type blockingHandler struct {
	*recorder
	block chan struct{}
}

func (h *blockingHandler) Event(m Message) { <-h.block }
