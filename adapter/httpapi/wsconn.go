package httpapi

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"net"
	"net/http"
	"sync"
	"time"
)

// The memory of an idle socket. An idle agent costs one goroutine (the
// reader, parked in a read), the connection, coder/websocket's Conn with
// two small bufio buffers (ctlBufSize each), a keep-alive timer and the
// socket struct: no writer goroutine, no send channel, no kept read or
// write buffer. Pushes are written in one Write each from a pooled buffer
// by a goroutine that lives only while the socket has something to send.

// ctlBufSize is the size of the bufio buffers coder/websocket reads and
// writes frames through (instead of net/http's 4 KB ones). It holds a
// whole control frame (2-byte header + at most 125 bytes of payload, RFC
// 6455 section 5.5), so every frame coder/websocket writes (ping, pong,
// close) leaves in one Write; data frames never go through it (see
// writeText).
const ctlBufSize = 128

// leanWriter hands coder/websocket's Accept a connection with small bufio
// buffers of its own: net/http's hijacked 4 KB reader and writer are
// dropped as soon as the handshake is done.
//
// A handshake Accept refuses (no Upgrade header, a bad key, a foreign
// Origin) is not written: Accept answers those with http.Error's plain
// text, and every /api path answers JSON. refused keeps the status and
// text for the handler to answer {"error":...} with.
type leanWriter struct {
	http.ResponseWriter
	conn    net.Conn // the hijacked connection, once Hijack ran
	refused int      // the status Accept refused the handshake with
	why     bytes.Buffer
}

// WriteHeader passes the 101 on and keeps an error status back.
func (w *leanWriter) WriteHeader(code int) {
	if code >= 400 && w.conn == nil {
		w.refused = code
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write keeps the text of a refusal back.
func (w *leanWriter) Write(b []byte) (int, error) {
	if w.refused != 0 {
		return w.why.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *leanWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack takes the connection over from net/http. Bytes the client sent
// right after its handshake, which net/http may have read already, are
// read first.
func (w *leanWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		conn = &prefixConn{Conn: conn, pre: bytes.Clone(b)}
	}
	w.conn = conn
	return conn, bufio.NewReadWriter(bufio.NewReaderSize(conn, ctlBufSize), bufio.NewWriterSize(conn, ctlBufSize)), nil
}

// prefixConn reads pre before the connection.
type prefixConn struct {
	net.Conn
	pre []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// writeTimeout bounds one write to a socket; a socket that takes longer
// is closed (the client reconnects and resyncs).
const writeTimeout = 10 * time.Second

// framePool holds the buffers data frames are built in (header + payload,
// one Write each).
var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// appendTextFrame appends one final, unmasked text frame carrying p to b:
// RFC 6455 section 5.2 (FIN=1, opcode 0x1; a server never masks; payload
// length in 7 bits, or 126 + 16 bits, or 127 + 64 bits).
func appendTextFrame(b, p []byte) []byte {
	b = append(b, 0x81)
	switch n := len(p); {
	case n <= 125:
		b = append(b, byte(n))
	case n <= 0xFFFF:
		b = append(b, 126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, p...)
}

// frameWriter writes data frames straight to the connection, one Write
// per frame, under its own mutex. It shares the connection with
// coder/websocket, which writes only control frames on it (pong, ping,
// close), each in one Write too (ctlBufSize), so frames never interleave:
// the runtime serialises Writes on one connection.
type frameWriter struct {
	mu   sync.Mutex
	conn net.Conn
}

// writeText sends p as one text message within writeTimeout.
func (w *frameWriter) writeText(p []byte) error {
	bp := framePool.Get().(*[]byte)
	f := appendTextFrame((*bp)[:0], p)
	w.mu.Lock()
	w.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := w.conn.Write(f)
	w.conn.SetWriteDeadline(time.Time{})
	w.mu.Unlock()
	if cap(f) <= 64<<10 {
		*bp = f[:0]
		framePool.Put(bp)
	}
	return err
}
