package asterisk

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Wire limits of the AMI parser. A line longer than MaxLineBytes or a
// message with more than MaxFields keys is an error (the connection is then
// dropped and re-established), so a peer that never ends a line cannot make
// the reader hold unbounded memory.
const (
	MaxLineBytes = 64 << 10
	MaxFields    = 4096
)

// ErrProtocol: the peer sent something that is not AMI (an over-long line,
// too many keys, a bad banner).
var ErrProtocol = errors.New("ami: protocol error")

// Field is one "Key: Value" line of an AMI message.
type Field struct {
	Key, Value string
}

// Message is one AMI message (an Action, a Response or an Event): its
// fields in wire order. Keys compare case-insensitively and may repeat
// (TestEvent repeats State:, Originate takes several Variable: lines); every
// value is kept. Lines without a colon (the output of old Command
// responses) are kept with an empty Key.
type Message struct {
	Fields []Field
}

// NewAction returns an Action message; kv alternates keys and values.
func NewAction(action string, kv ...string) Message {
	m := Message{Fields: make([]Field, 0, 1+len(kv)/2)}
	m.Add("Action", action)
	for i := 0; i+1 < len(kv); i += 2 {
		m.Add(kv[i], kv[i+1])
	}
	return m
}

// Add appends a field.
func (m *Message) Add(key, value string) { m.Fields = append(m.Fields, Field{key, value}) }

// Set replaces every field key with one (appended when absent).
func (m *Message) Set(key, value string) {
	for i := range m.Fields {
		if strings.EqualFold(m.Fields[i].Key, key) {
			m.Fields[i].Value = value
			out := m.Fields[:i+1]
			for _, f := range m.Fields[i+1:] {
				if !strings.EqualFold(f.Key, key) {
					out = append(out, f)
				}
			}
			m.Fields = out
			return
		}
	}
	m.Add(key, value)
}

// Get returns the first value of key (case-insensitive), "" when absent.
func (m Message) Get(key string) string {
	v, _ := m.Lookup(key)
	return v
}

// Lookup returns the first value of key and whether it is present.
func (m Message) Lookup(key string) (string, bool) {
	for _, f := range m.Fields {
		if len(f.Key) == len(key) && strings.EqualFold(f.Key, key) {
			return f.Value, true
		}
	}
	return "", false
}

// All returns every value of key, in wire order.
func (m Message) All(key string) []string {
	var out []string
	for _, f := range m.Fields {
		if strings.EqualFold(f.Key, key) {
			out = append(out, f.Value)
		}
	}
	return out
}

// Event is the message's Event name ("" for a Response).
func (m Message) Event() string { return m.Get("Event") }

// ActionID is the message's ActionID.
func (m Message) ActionID() string { return m.Get("ActionID") }

// IsResponse reports whether the message is a Response to an Action.
func (m Message) IsResponse() bool { _, ok := m.Lookup("Response"); return ok }

// Err returns nil for "Response: Success" (or Goodbye/Follows/Pong), else
// an error carrying the Message field.
func (m Message) Err() error {
	r := m.Get("Response")
	switch strings.ToLower(r) {
	case "success", "follows", "goodbye", "pong":
		return nil
	}
	msg := m.Get("Message")
	if msg == "" {
		msg = "no message"
	}
	return &ResponseError{Response: r, Message: msg}
}

// ResponseError is an AMI "Response: Error" (or any response other than
// Success): Message is Asterisk's own text.
type ResponseError struct {
	Response, Message string
}

func (e *ResponseError) Error() string { return fmt.Sprintf("ami: %s: %s", e.Response, e.Message) }

// String renders the message in wire format (CRLF lines, blank line after).
func (m Message) String() string {
	var b bytes.Buffer
	_ = m.encode(&b)
	return b.String()
}

// encode writes the message; a CR or LF inside a key or value would let a
// caller inject another action, so it is refused.
func (m Message) encode(b *bytes.Buffer) error {
	for _, f := range m.Fields {
		if strings.ContainsAny(f.Key, "\r\n:") || strings.ContainsAny(f.Value, "\r\n") || f.Key == "" {
			return fmt.Errorf("ami: field %q: keys and values may not hold CR, LF (or a colon in a key)", f.Key)
		}
		b.WriteString(f.Key)
		b.WriteString(": ")
		b.WriteString(f.Value)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	return nil
}

// Reader reads AMI messages from a stream. Lines end in CRLF (a bare LF is
// accepted too); blank lines between messages are skipped, so a stray LF
// never yields an empty message.
type Reader struct {
	r *bufio.Reader
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 16<<10)}
}

// ReadBanner reads the greeting line ("Asterisk Call Manager/11.0.0") and
// returns the AMI protocol version after the slash. ErrProtocol if the
// line is not an AMI banner.
func (r *Reader) ReadBanner() (string, error) {
	line, err := r.line()
	if err != nil {
		return "", err
	}
	name, ver, ok := strings.Cut(line, "/")
	if !ok || !strings.Contains(name, "Call Manager") {
		return "", fmt.Errorf("%w: banner %q is not an AMI banner", ErrProtocol, truncate(line, 80))
	}
	return ver, nil
}

// ReadMessage reads the next message. It returns io.EOF at a clean end of
// stream, io.ErrUnexpectedEOF when the stream ends inside a message, and
// ErrProtocol (wrapped) for an over-long line or too many fields.
func (r *Reader) ReadMessage() (Message, error) {
	var m Message
	for {
		line, err := r.line()
		if err != nil {
			if err == io.EOF && len(m.Fields) > 0 {
				return m, io.ErrUnexpectedEOF
			}
			return m, err
		}
		if line == "" {
			if len(m.Fields) == 0 {
				continue // stray blank line between messages
			}
			return m, nil
		}
		if len(m.Fields) >= MaxFields {
			return Message{}, fmt.Errorf("%w: more than %d fields in one message", ErrProtocol, MaxFields)
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			m.Fields = append(m.Fields, Field{Value: line})
			continue
		}
		if len(v) > 0 && v[0] == ' ' {
			v = v[1:]
		}
		m.Fields = append(m.Fields, Field{Key: strings.TrimSpace(k), Value: v})
	}
}

// line reads one line without its CRLF or LF, refusing lines longer than
// MaxLineBytes without buffering them.
func (r *Reader) line() (string, error) {
	var long []byte
	for {
		frag, err := r.r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if len(long)+len(frag) > MaxLineBytes {
				return "", fmt.Errorf("%w: a line longer than %d bytes", ErrProtocol, MaxLineBytes)
			}
			long = append(long, frag...)
			continue
		}
		if err != nil {
			if len(frag) > 0 || len(long) > 0 {
				return "", io.ErrUnexpectedEOF
			}
			return "", err
		}
		if long != nil {
			frag = append(long, frag...)
			if len(frag) > MaxLineBytes+2 {
				return "", fmt.Errorf("%w: a line longer than %d bytes", ErrProtocol, MaxLineBytes)
			}
		}
		frag = frag[:len(frag)-1]
		if n := len(frag); n > 0 && frag[n-1] == '\r' {
			frag = frag[:n-1]
		}
		return string(frag), nil
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
